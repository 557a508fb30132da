//! `ecsctl scale service NAME --replicas N`: set a service's desiredCount (compare-and-swap).

use super::service_update::service_name;
use crate::actions;
use crate::client::Client;
use anyhow::Result;

/// Set the desired task count of a service
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl scale service web --replicas 5              # keep 5 tasks of web running
  ecsctl scale svc/web --replicas 0 --cluster prod   # stop all of them (the service stays)
  ecsctl scale service web --replicas 3 && ecsctl rollout status service/web

The change is written with compare-and-swap: a concurrent change of the service is never lost.
The service controller starts or stops tasks at once; `ecsctl rollout status` waits for them.")]
pub struct Args {
    /// `service/NAME`, or `service` followed by NAME
    #[arg(value_name = "service/NAME | service")]
    pub service: String,
    /// The service name, when the first argument is just `service`
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// The new desired count
    #[arg(long, value_name = "N")]
    pub replicas: u32,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let name = service_name(&args.service, args.name.as_deref())?;
    let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    let replicas = args.replicas;
    actions::scale(&client, cluster, &name, replicas).await?;
    outln!("service/{name} scaled to {replicas}");
    Ok(())
}
