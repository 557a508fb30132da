//! `ecsctl get KIND [NAME]`: list or show objects as a table, YAML or JSON.

use super::{label_selector, parse_kind};
use crate::client::{Client, objects_path};
use crate::error::usage;
use crate::output::{self, Format, columns};
use anyhow::Result;
use api::wire::{Health, ObjectList, WatchEventType};
use api::{Kind, Object};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

/// List objects of a kind, or show one
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl get services                      # services of the default cluster
  ecsctl get svc -A                        # services of every cluster
  ecsctl get td                            # every task definition revision (family:N)
  ecsctl get td web                        # the latest revision of family web; web:2 for one
  ecsctl get tasks --cluster prod -o wide
  ecsctl get svc -l team=shop -o yaml
  ecsctl get svc web -o json
  ecsctl get tasks -w                      # the table, then a row whenever a task changes

KIND is singular, plural or short: cluster(s)/cl, taskdefinition(s)/td, service(s)/svc, task(s),
autoscaler(s)/as, loadbalancer(s)/lb, deployment(s)/deploy.")]
pub struct Args {
    /// The kind of object
    pub kind: String,
    /// One object's name (for task definitions `family` = latest revision, or `family:N`)
    pub name: Option<String>,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// List across all clusters
    #[arg(short = 'A', long, conflicts_with = "cluster")]
    pub all_clusters: bool,
    /// Only objects with these labels (KEY=VALUE, repeatable or comma-separated)
    #[arg(short = 'l', long = "selector", value_name = "KEY=VALUE")]
    pub selector: Vec<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// After listing, print a row each time one of these objects changes (until Ctrl-C)
    #[arg(short = 'w', long)]
    pub watch: bool,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    if matches!(args.kind.to_ascii_lowercase().as_str(), "syncs" | "sync") {
        return super::sync::status(client, args.output == Format::Json).await;
    }
    let kind = parse_kind(&args.kind)?;
    let selector = label_selector(&args.selector)?;
    let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    let opts = columns::Options {
        wide: args.output == Format::Wide,
        cluster: args.all_clusters || args.output == Format::Wide,
    };
    let now = OffsetDateTime::now_utc();

    if let Some(name) = &args.name {
        if args.all_clusters {
            return Err(usage(
                "an object cannot be fetched by name across all clusters: use --cluster",
            ));
        }
        // A watch from the revision read before the object misses no later change.
        let from = if args.watch {
            Some(client.get::<Health>("/v1/health").await?.revision)
        } else {
            None
        };
        let obj: Value = client
            .get(&objects_path(kind, Some(name), Some(cluster), None))
            .await?;
        out!(
            "{}",
            match args.output {
                Format::Json => output::json(&obj)?,
                Format::Yaml => output::yaml(&obj)?,
                Format::Table | Format::Wide =>
                    columns::table(kind, std::slice::from_ref(&obj), opts, now).render(),
            }
        );
        if let Some(from) = from {
            let filter = Filter {
                kind,
                cluster: Some(cluster.to_string()),
                labels: Vec::new(),
                name: Some(name.clone()),
            };
            let printer = WatchPrinter::new(kind, opts, args.output, vec![obj], true);
            return watch(&client, from, filter, printer).await;
        }
        return Ok(());
    }

    let query_cluster = (!args.all_clusters).then_some(cluster);
    let list: ObjectList<Value> = client
        .get(&objects_path(
            kind,
            None,
            query_cluster,
            selector.as_deref(),
        ))
        .await?;
    let items = list.items;
    let filter = Filter {
        kind,
        cluster: query_cluster.map(str::to_string),
        labels: selector
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        name: None,
    };
    let watch_from = args.watch.then_some(list.revision);
    let printed_table = if args.output == Format::Json {
        out!("{}", output::json(&json!({ "items": items }))?);
        false
    } else if items.is_empty() {
        match query_cluster {
            Some(c) if kind.is_clustered() => {
                eprintln!("No {} found in cluster {c}.", kind.plural())
            }
            _ => eprintln!("No {} found.", kind.plural()),
        }
        false
    } else {
        match args.output {
            Format::Yaml => out!("{}", output::yaml_stream(&items)?),
            _ => out!("{}", columns::table(kind, &items, opts, now).render()),
        }
        true
    };
    match watch_from {
        Some(from) => {
            let printer = WatchPrinter::new(kind, opts, args.output, items, printed_table);
            watch(&client, from, filter, printer).await
        }
        None => Ok(()),
    }
}

/// Which watch events `get -w` shows.
#[derive(Debug)]
struct Filter {
    kind: Kind,
    /// `None`: every cluster.
    cluster: Option<String>,
    labels: Vec<(String, String)>,
    /// `get KIND NAME -w`: that object only (for task definitions `family` or `family:N`).
    name: Option<String>,
}

impl Filter {
    fn matches(&self, obj: &Object) -> bool {
        let meta = &obj.metadata;
        if obj.kind != self.kind {
            return false;
        }
        if let Some(c) = self.cluster.as_deref().filter(|_| self.kind.is_clustered())
            && meta.cluster_or_default() != c
        {
            return false;
        }
        let labels_match = self
            .labels
            .iter()
            .all(|(k, v)| meta.labels.get(k) == Some(v));
        let name_matches = self
            .name
            .as_deref()
            .is_none_or(|want| match want.split_once(':') {
                Some((family, n)) => meta.name == family && meta.revision == n.parse().ok(),
                None => meta.name == want,
            });
        labels_match && name_matches
    }
}

/// Prints the objects a watch reports, in the format of the listing before it. Table rows
/// are laid out with the listed rows, so that they line up with them.
#[derive(Debug)]
struct WatchPrinter {
    kind: Kind,
    opts: columns::Options,
    format: Format,
    listed: Vec<Value>,
    header_printed: bool,
}

impl WatchPrinter {
    fn new(
        kind: Kind,
        opts: columns::Options,
        format: Format,
        listed: Vec<Value>,
        header_printed: bool,
    ) -> Self {
        WatchPrinter {
            kind,
            opts,
            format,
            listed,
            header_printed,
        }
    }

    /// The text for one changed object (`deleted`: its last state, marked so).
    fn render(&mut self, obj: &Value, deleted: bool, now: OffsetDateTime) -> Result<String> {
        Ok(match self.format {
            Format::Json => output::json(obj)?,
            Format::Yaml => format!("---\n{}", output::yaml(obj)?),
            Format::Table | Format::Wide => {
                let mut rows = self.listed.clone();
                rows.push(obj.clone());
                let table = columns::table(self.kind, &rows, self.opts, now).render();
                let mut out = String::new();
                if !self.header_printed {
                    out.push_str(table.lines().next().unwrap_or(""));
                    out.push('\n');
                    self.header_printed = true;
                    // Later rows line up with the header printed now.
                    self.listed.push(obj.clone());
                }
                out.push_str(table.lines().last().unwrap_or(""));
                if deleted {
                    out.push_str("   (deleted)");
                }
                out.push('\n');
                out
            }
        })
    }
}

/// Follows `/v1/watch?from=FROM` and prints every change `filter` lets through, until the
/// server ends the stream (or Ctrl-C); with several servers, the watch goes on at another
/// when one goes away. Writes the listing already showed are skipped.
async fn watch(
    client: &Client,
    from: u64,
    filter: Filter,
    mut printer: WatchPrinter,
) -> Result<()> {
    // resourceVersion already shown, by object: the watch may repeat writes the list had.
    let mut shown: HashMap<String, u64> = printer
        .listed
        .iter()
        .filter_map(|o| {
            let o = Object::deserialize(o).ok()?;
            Some((identity(&o), o.metadata.resource_version?))
        })
        .collect();
    let mut stream = client.watch(from).await?;
    while let Some(event) = stream.next::<Value>().await? {
        // The event is printed as the server sent it; it is read as an Object to be judged.
        // Every kind comes down the watch, some perhaps of a newer server than this CLI:
        // what does not read as an Object is none of the kinds `get` lists.
        let Ok(obj) = Object::deserialize(&event.object) else {
            continue;
        };
        if !filter.matches(&obj) {
            continue;
        }
        let deleted = event.event_type == WatchEventType::Deleted;
        let id = identity(&obj);
        let version = obj.metadata.resource_version.unwrap_or(0);
        if deleted {
            shown.remove(&id);
        } else {
            if shown.get(&id).is_some_and(|seen| *seen >= version) {
                continue;
            }
            shown.insert(id, version);
        }
        out!(
            "{}",
            printer.render(&event.object, deleted, OffsetDateTime::now_utc())?
        );
    }
    Ok(())
}

/// `cluster/name:revision`: which object a watch event is about.
fn identity(obj: &Object) -> String {
    let meta = &obj.metadata;
    format!(
        "{}/{}/{}:{}",
        obj.kind.as_str(),
        meta.cluster.as_deref().unwrap_or_default(),
        meta.name,
        meta.revision.map(|n| n.to_string()).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, cluster: Option<&str>, last: &str) -> Value {
        let mut o = json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": name, "labels": {"team": "shop"}},
                           "spec": {"taskDefinition": "web:1"}, "status": {"lastStatus": last}});
        if let Some(c) = cluster {
            o["metadata"]["cluster"] = json!(c);
        }
        o
    }

    fn obj(v: Value) -> Object {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn watch_filters() {
        let f = Filter {
            kind: Kind::Task,
            cluster: Some("default".into()),
            labels: vec![("team".into(), "shop".into())],
            name: None,
        };
        assert!(f.matches(&obj(task("a", None, "RUNNING"))));
        assert!(f.matches(&obj(task("a", Some("default"), "RUNNING"))));
        assert!(!f.matches(&obj(task("a", Some("prod"), "RUNNING"))));
        let mut other_team = task("a", None, "RUNNING");
        other_team["metadata"]["labels"]["team"] = json!("ops");
        assert!(!f.matches(&obj(other_team)));
        let mut svc = task("a", None, "RUNNING");
        svc["kind"] = json!("Service");
        assert!(!f.matches(&obj(svc)));

        let td = |rev: u64| {
            obj(json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition",
                       "metadata": {"name": "web", "revision": rev}}))
        };
        let by_name = |n: &str| Filter {
            kind: Kind::TaskDefinition,
            cluster: Some("default".into()),
            labels: Vec::new(),
            name: Some(n.into()),
        };
        assert!(by_name("web").matches(&td(3)));
        assert!(by_name("web:3").matches(&td(3)));
        assert!(!by_name("web:2").matches(&td(3)));
        assert!(!by_name("api").matches(&td(3)));
    }

    #[test]
    fn watch_rows_line_up_with_the_listing() {
        let now = OffsetDateTime::now_utc();
        let listed = vec![task("a-long-task-id", None, "PENDING")];
        let mut p = WatchPrinter::new(
            Kind::Task,
            columns::Options::default(),
            Format::Table,
            listed.clone(),
            true,
        );
        let table = columns::table(Kind::Task, &listed, columns::Options::default(), now).render();
        let row = p.render(&task("b", None, "RUNNING"), false, now).unwrap();
        assert_eq!(row.lines().count(), 1, "{row}");
        let status_col = table.find("LAST STATUS").unwrap();
        assert_eq!(&row[status_col..status_col + 7], "RUNNING", "{table}{row}");
        let gone = p.render(&task("b", None, "STOPPED"), true, now).unwrap();
        assert!(gone.trim_end().ends_with("(deleted)"), "{gone}");

        // Nothing listed: the first row brings the header.
        let mut p = WatchPrinter::new(
            Kind::Task,
            columns::Options::default(),
            Format::Table,
            Vec::new(),
            false,
        );
        let first = p.render(&task("b", None, "RUNNING"), false, now).unwrap();
        assert!(first.starts_with("ID "), "{first}");
        assert_eq!(first.lines().count(), 2);
        let second = p.render(&task("b", None, "STOPPED"), false, now).unwrap();
        assert_eq!(second.lines().count(), 1);
    }
}
