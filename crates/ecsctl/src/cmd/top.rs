//! `ecsctl top services|tasks [--cluster C | -A]`: the latest measured CPU, memory and request
//! rates, as `kubectl top` shows them.

use crate::client::{Client, encode};
use crate::output::fields::{human_duration, parse_time};
use crate::output::table::Table;
use anyhow::Result;
use serde_json::Value;
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

fn percent(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_string(), |p| format!("{p:.0}%"))
}

fn rate(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_string(), |r| format!("{r:.2}"))
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_string()
}

fn age(v: &Value, now: OffsetDateTime) -> String {
    v.get("at")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .map_or_else(|| "-".to_string(), |t| human_duration(now - t))
}

/// The table of `items` (`services` or `tasks`).
fn table(services: bool, items: &[Value], with_cluster: bool, now: OffsetDateTime) -> Table {
    let mut headers: Vec<&str> = Vec::new();
    if with_cluster {
        headers.push("cluster");
    }
    if services {
        headers.extend([
            "name",
            "tasks",
            "cpu%",
            "memory%",
            "req/s per target",
            "age",
        ]);
    } else {
        headers.extend(["id", "service", "cpu%", "memory%", "age"]);
    }
    let mut t = Table::new(&headers);
    for i in items {
        let mut row = Vec::new();
        if with_cluster {
            row.push(text(i, "cluster"));
        }
        if services {
            row.extend([
                text(i, "service"),
                i.get("tasks")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
                    .to_string(),
                percent(i, "cpuPercent"),
                percent(i, "memoryPercent"),
                rate(i, "requestsPerTargetPerSec"),
                age(i, now),
            ]);
        } else {
            row.extend([
                text(i, "task"),
                text(i, "service"),
                percent(i, "cpuPercent"),
                percent(i, "memoryPercent"),
                age(i, now),
            ]);
        }
        t.push(row);
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
    let answer = client.get(&path).await?;
    let items = answer
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.is_empty() {
        match args.all_clusters {
            false => outln!("No metrics of {which} in cluster {cluster} yet."),
            true => outln!("No metrics of {which} yet."),
        }
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    out!(
        "{}",
        table(services, &items, args.all_clusters, now).render()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_line_up() {
        let now = parse_time("2026-01-01T00:00:10Z").unwrap();
        let items = vec![
            json!({"cluster": "default", "service": "web", "tasks": 2, "cpuPercent": 412.4,
                   "memoryPercent": 3.2, "requestsPerTargetPerSec": 1.5,
                   "at": "2026-01-01T00:00:05Z"}),
            json!({"cluster": "default", "service": "api", "tasks": 0, "cpuPercent": null,
                   "memoryPercent": null, "requestsPerTargetPerSec": 0.25, "at": null}),
        ];
        assert_eq!(
            table(true, &items, false, now).render(),
            "NAME   TASKS   CPU%   MEMORY%   REQ/S PER TARGET   AGE\n\
             web    2       412%   3%        1.50               5s\n\
             api    0       -      -         0.25               -\n"
        );
        let tasks = vec![json!({"cluster": "prod", "service": null, "task": "abc",
                                "cpuPercent": 0.4, "memoryPercent": 1.0,
                                "at": "2026-01-01T00:00:09Z"})];
        assert_eq!(
            table(false, &tasks, true, now).render(),
            "CLUSTER   ID    SERVICE   CPU%   MEMORY%   AGE\n\
             prod      abc   -         0%     1%        1s\n"
        );
    }
}
