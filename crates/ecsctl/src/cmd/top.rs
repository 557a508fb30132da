//! `ecsctl top services|tasks [--cluster C | -A]`: the latest measured CPU, memory and request
//! rates, as `kubectl top` shows them.

use crate::client::{Client, encode};
use crate::output::fields::{human_duration, parse_time};
use crate::output::table::Table;
use anyhow::Result;
use api::wire::{MetricsList, ServiceMetrics, TaskMetrics};
use time::OffsetDateTime;

/// Show measured CPU, memory and request rates of services or tasks
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl top services              # per service: tasks, mean CPU%, MEMORY%, requests/s per target
  ecsctl top tasks                 # per task of the default cluster
  ecsctl top tasks --cluster prod
  ecsctl top services -A           # all clusters (with a CLUSTER column)

CPU% is of the task's reserved CPU (task cpu, else the sum of its containers'; one core when
none), so a task may show more than 100%. MEMORY% is of its memory (reservation), else of its
limit. The server records a sample per task every --metrics-interval (10s by default); AGE is
how old the shown sample is.")]
pub struct Args {
    /// services or tasks
    #[arg(value_parser = ["services", "service", "svc", "tasks", "task"])]
    pub what: String,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// All clusters
    #[arg(short = 'A', long, conflicts_with = "cluster")]
    pub all_clusters: bool,
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_string(), |p| format!("{p:.0}%"))
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{r:.2}"))
}

fn age(at: Option<&str>, now: OffsetDateTime) -> String {
    at.and_then(parse_time)
        .map_or_else(|| "-".to_string(), |t| human_duration(now - t))
}

/// What `top` shows: services or tasks.
#[derive(Debug)]
enum Items {
    Services(Vec<ServiceMetrics>),
    Tasks(Vec<TaskMetrics>),
}

impl Items {
    fn is_empty(&self) -> bool {
        match self {
            Items::Services(v) => v.is_empty(),
            Items::Tasks(v) => v.is_empty(),
        }
    }
}

/// The table of `items`.
fn table(items: &Items, with_cluster: bool, now: OffsetDateTime) -> Table {
    let mut headers: Vec<&str> = Vec::new();
    if with_cluster {
        headers.push("cluster");
    }
    match items {
        Items::Services(_) => headers.extend([
            "name",
            "tasks",
            "cpu%",
            "memory%",
            "req/s per target",
            "age",
        ]),
        Items::Tasks(_) => headers.extend(["id", "service", "cpu%", "memory%", "age"]),
    }
    let mut t = Table::new(&headers);
    let cluster = |c: &str| with_cluster.then(|| c.to_string());
    match items {
        Items::Services(services) => {
            for s in services {
                let v = &s.values;
                t.push(
                    cluster(&s.cluster)
                        .into_iter()
                        .chain([
                            s.service.clone(),
                            v.tasks.to_string(),
                            percent(v.cpu_percent),
                            percent(v.memory_percent),
                            rate(v.requests_per_target_per_sec),
                            age(v.at.as_deref(), now),
                        ])
                        .collect(),
                );
            }
        }
        Items::Tasks(tasks) => {
            for m in tasks {
                t.push(
                    cluster(&m.cluster)
                        .into_iter()
                        .chain([
                            m.task.clone(),
                            m.service.clone().unwrap_or_else(|| "-".to_string()),
                            percent(Some(m.cpu_percent)),
                            percent(Some(m.memory_percent)),
                            age(Some(&m.at), now),
                        ])
                        .collect(),
                );
            }
        }
    }
    t
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let services = args.what.starts_with("s");
    let which = if services { "services" } else { "tasks" };
    let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    let mut path = format!("/v1/metrics/{which}");
    if !args.all_clusters {
        path.push_str(&format!("?cluster={}", encode(cluster)));
    }
    let items = if services {
        Items::Services(client.get::<MetricsList<_>>(&path).await?.items)
    } else {
        Items::Tasks(client.get::<MetricsList<_>>(&path).await?.items)
    };
    if items.is_empty() {
        match args.all_clusters {
            false => outln!("No metrics of {which} in cluster {cluster} yet."),
            true => outln!("No metrics of {which} yet."),
        }
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    out!("{}", table(&items, args.all_clusters, now).render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_line_up() {
        let now = parse_time("2026-01-01T00:00:10Z").unwrap();
        let items = Items::Services(
            serde_json::from_value(json!([
                json!({"cluster": "default", "service": "web", "tasks": 2, "cpuPercent": 412.4,
                   "memoryPercent": 3.2, "requestsPerTargetPerSec": 1.5,
                   "at": "2026-01-01T00:00:05Z"}),
                json!({"cluster": "default", "service": "api", "tasks": 0, "cpuPercent": null,
                   "memoryPercent": null, "requestsPerTargetPerSec": 0.25, "at": null}),
            ]))
            .unwrap(),
        );
        assert_eq!(
            table(&items, false, now).render(),
            "NAME   TASKS   CPU%   MEMORY%   REQ/S PER TARGET   AGE\n\
             web    2       412%   3%        1.50               5s\n\
             api    0       -      -         0.25               -\n"
        );
        let tasks = Items::Tasks(
            serde_json::from_value(json!([{"cluster": "prod", "service": null, "task": "abc",
                                "cpuPercent": 0.4, "memoryPercent": 1.0,
                                "at": "2026-01-01T00:00:09Z"}]))
            .unwrap(),
        );
        assert_eq!(
            table(&tasks, true, now).render(),
            "CLUSTER   ID    SERVICE   CPU%   MEMORY%   AGE\n\
             prod      abc   -         0%     1%        1s\n"
        );
    }
}
