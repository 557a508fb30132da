//! `ecsctl get KIND [NAME]`: list or show objects as a table, YAML or JSON.

use super::{label_selector, parse_kind};
use crate::client::{Client, objects_path};
use crate::error::usage;
use crate::output::{self, Format, columns};
use anyhow::Result;
use serde_json::{Value, json};
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
}

pub async fn run(client: Client, args: Args) -> Result<()> {
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
        let obj = client
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
        return Ok(());
    }

    let query_cluster = (!args.all_clusters).then_some(cluster);
    let list = client
        .get(&objects_path(
            kind,
            None,
            query_cluster,
            selector.as_deref(),
        ))
        .await?;
    let items = list
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if args.output == Format::Json {
        out!("{}", output::json(&json!({ "items": items }))?);
        return Ok(());
    }
    if items.is_empty() {
        match query_cluster {
            Some(c) if kind.is_clustered() => {
                eprintln!("No {} found in cluster {c}.", kind.plural())
            }
            _ => eprintln!("No {} found.", kind.plural()),
        }
        return Ok(());
    }
    match args.output {
        Format::Yaml => out!("{}", output::yaml_stream(&items)?),
        _ => out!("{}", columns::table(kind, &items, opts, now).render()),
    }
    Ok(())
}
