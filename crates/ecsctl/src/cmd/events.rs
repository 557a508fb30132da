//! `ecsctl events [--cluster C | -A] [-w]`: the services' and tasks' events (ECS's words),
//! oldest first, then (with -w) each new one as it happens.

use crate::client::{Client, objects_path};
use crate::output::fields::{human_duration, parse_time};
use crate::output::table::Table;
use anyhow::Result;
use api::service::{Event, ServiceStatus};
use api::task::TaskStatus;
use api::wire::{ObjectList, SyncList};
use api::{Kind, Object};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Show the events of services and tasks, newest last
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl events                    # every service event of the default cluster
  ecsctl events --cluster prod
  ecsctl events -A                 # all clusters (with a CLUSTER column)
  ecsctl events -w                 # then print new events as they happen (until Ctrl-C)

Events are ECS's: `(service web) has started 2 tasks: (task ...).`, `(service web) has reached
a steady state.`, circuit breaker trips and rollbacks; a task's are its `ecsctl exec`s. Each
service and task keeps its newest 100.")]
pub struct Args {
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Events of all clusters
    #[arg(short = 'A', long, conflicts_with = "cluster")]
    pub all_clusters: bool,
    /// After listing, print each new event (until Ctrl-C)
    #[arg(short = 'w', long)]
    pub watch: bool,
}

/// One event of one service or task (or GitOps source).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    at: Option<OffsetDateTime>,
    cluster: String,
    id: String,
    message: String,
    /// `service/NAME`, `task/ID` or `sync/DIR`.
    object: String,
}

/// The events of one service or task, oldest first (the status keeps them newest first).
fn rows_of(obj: &Object) -> Vec<Row> {
    let cluster = obj.metadata.cluster.clone().unwrap_or_default();
    let name = &obj.metadata.name;
    // A status this release cannot read has no events to show.
    let (events, object): (Vec<Event>, String) = match obj.kind {
        Kind::Service => (
            obj.status_as::<ServiceStatus>().unwrap_or_default().events,
            format!("service/{name}"),
        ),
        Kind::Task => (
            obj.status_as::<TaskStatus>().unwrap_or_default().events,
            format!("task/{name}"),
        ),
        _ => return Vec::new(),
    };
    let mut rows: Vec<Row> = events
        .into_iter()
        .map(|e| Row {
            at: parse_time(&e.created_at),
            cluster: cluster.clone(),
            id: e.id,
            message: e.message,
            object: object.clone(),
        })
        .collect();
    rows.reverse();
    rows
}

/// The events of the GitOps sources (`GET /v1/syncs`), oldest first.
fn sync_rows(syncs: &SyncList) -> Vec<Row> {
    let mut rows = Vec::new();
    for s in &syncs.items {
        let source = &s.source;
        for e in s.events.iter().rev() {
            rows.push(Row {
                at: parse_time(&e.at),
                cluster: "-".to_string(),
                id: format!("{}{}", e.at, e.message),
                message: e.message.clone(),
                object: format!("sync/{source}"),
            });
        }
    }
    rows
}

/// All objects' events merged by time; an object's own order is kept among equal times.
fn merge(objects: &[Object]) -> Vec<Row> {
    let mut rows: Vec<Row> = objects.iter().flat_map(rows_of).collect();
    rows.sort_by_key(|r| r.at);
    rows
}

/// The cells of a row.
fn cells(r: &Row, with_cluster: bool, now: OffsetDateTime) -> Vec<String> {
    let age =
        r.at.map_or_else(|| "-".to_string(), |t| human_duration(now - t));
    let mut v = Vec::new();
    if with_cluster {
        v.push(r.cluster.clone());
    }
    v.extend([age, r.object.clone(), r.message.clone()]);
    // Messages quote what users wrote (reasons, names): shown, never obeyed by the terminal.
    v.into_iter()
        .map(|c| api::text::escape(&c).into_owned())
        .collect()
}

fn headers(with_cluster: bool) -> Vec<&'static str> {
    let mut h = Vec::new();
    if with_cluster {
        h.push("cluster");
    }
    h.extend(["age", "object", "message"]);
    h
}

/// Pads the cells of a watched row to the listing's column widths.
fn line(cells: &[String], widths: &[usize]) -> String {
    let mut s = String::new();
    for (i, c) in cells.iter().enumerate() {
        s.push_str(c);
        if i + 1 < cells.len() {
            let w = widths.get(i).copied().unwrap_or(0);
            s.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 3));
        }
    }
    s.trim_end().to_string()
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    let query_cluster = (!args.all_clusters).then_some(cluster);
    let list: ObjectList = client
        .get(&objects_path(Kind::Service, None, query_cluster, None))
        .await?;
    let tasks: ObjectList = client
        .get(&objects_path(Kind::Task, None, query_cluster, None))
        .await?;
    let now = OffsetDateTime::now_utc();
    let mut rows = merge(&[list.items, tasks.items].concat());
    // GitOps sources' events (failed syncs, syncs that changed something) come along.
    if let Ok(syncs) = client.get::<SyncList>("/v1/syncs").await {
        rows.extend(sync_rows(&syncs));
        rows.sort_by_key(|r| r.at);
    }
    let with_cluster = args.all_clusters;
    let mut table = Table::new(&headers(with_cluster));
    for r in &rows {
        table.push(cells(r, with_cluster, now));
    }
    if rows.is_empty() && !args.watch {
        match query_cluster {
            Some(c) => outln!("No events in cluster {c}."),
            None => outln!("No events."),
        }
        return Ok(());
    }
    out!("{}", table.render());
    if !args.watch {
        return Ok(());
    }
    let from = list.revision;
    // Column widths of the listing, so that later rows line up under its header.
    let mut widths: Vec<usize> = headers(with_cluster).iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(cells(r, with_cluster, now)) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut seen: BTreeSet<(String, String, String)> = rows
        .into_iter()
        .map(|r| (r.cluster, r.object, r.id))
        .collect();
    let mut stream = client.watch(from).await?;
    while let Some(event) = stream.next::<Value>().await? {
        // Every kind comes down the watch, some perhaps of a newer server than this CLI:
        // only what reads as a Service or a Task matters here.
        let Ok(obj) = Object::deserialize(&event.object) else {
            continue;
        };
        if !matches!(obj.kind, Kind::Service | Kind::Task) {
            continue;
        }
        let in_cluster = obj.metadata.cluster.as_deref();
        if query_cluster.is_some_and(|c| in_cluster != Some(c)) {
            continue;
        }
        let now = OffsetDateTime::now_utc();
        for r in rows_of(&obj) {
            if seen.insert((r.cluster.clone(), r.object.clone(), r.id.clone())) {
                outln!("{}", line(&cells(&r, with_cluster, now), &widths));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(name: &str, events: &[(&str, &str, &str)]) -> Object {
        let events: Vec<Value> = events
            .iter()
            .map(|(id, at, m)| json!({"id": id, "createdAt": at, "message": m}))
            .collect();
        serde_json::from_value(json!({"apiVersion": "ecs/v1", "kind": "Service",
               "metadata": {"name": name, "cluster": "default"},
               "status": {"events": events}}))
        .unwrap()
    }

    #[test]
    fn events_merge_oldest_first_and_line_up() {
        let a = svc(
            "web",
            &[
                (
                    "3",
                    "2024-01-01T00:00:05Z",
                    "(service web) has reached a steady state.",
                ),
                (
                    "2",
                    "2024-01-01T00:00:01Z",
                    "(service web) has started 1 tasks: (task x).",
                ),
                (
                    "1",
                    "2024-01-01T00:00:01Z",
                    "(service web) deployment started.",
                ),
            ],
        );
        let b = svc(
            "api",
            &[(
                "1",
                "2024-01-01T00:00:03Z",
                "(service api) has reached a steady state.",
            )],
        );
        let mut task = svc(
            "t1",
            &[(
                "e1",
                "2024-01-01T00:00:02Z",
                "(task t1) execute command in container app by admin (unix socket) started: sh",
            )],
        );
        task.kind = Kind::Task;
        let rows = merge(&[a, b, task]);
        let order: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.object.as_str(), r.id.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("service/web", "1"),
                ("service/web", "2"),
                ("task/t1", "e1"),
                ("service/api", "1"),
                ("service/web", "3")
            ]
        );
        let now = parse_time("2024-01-01T00:01:00Z").unwrap();
        let mut t = Table::new(&headers(false));
        for r in &rows[..2] {
            t.push(cells(r, false, now));
        }
        assert_eq!(
            t.render(),
            "AGE   OBJECT        MESSAGE\n\
             59s   service/web   (service web) deployment started.\n\
             59s   service/web   (service web) has started 1 tasks: (task x).\n"
        );
        assert_eq!(
            line(&cells(&rows[3], true, now), &[7, 3, 11]),
            "default   57s   service/api   (service api) has reached a steady state."
        );
    }
}
