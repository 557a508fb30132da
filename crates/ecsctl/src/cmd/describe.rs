//! `ecsctl describe KIND NAME`: spec summary, status and recent events of one object.

use super::parse_kind;
use crate::client::{Client, objects_path};
use crate::output::describe::{describe, instance_tasks, security_group_members};
use anyhow::Result;
use time::OffsetDateTime;

/// Show one object in detail: spec summary, status, events, and why tasks stopped
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl describe service web              # deployments, counts and recent events
  ecsctl describe td web:2                 # containers, ports, health checks, dependencies
  ecsctl describe task 3f2a9c --cluster prod   # status, stop code and reason
  ecsctl describe lb web                   # listeners, targets with health, reason and traffic
  ecsctl describe sg api                   # rules in words, and the tasks in the group
  ecsctl describe ci 3b9f0c2a71d4 --cluster shop   # an instance: resources, attributes, its tasks")]
pub struct Args {
    /// The kind of object
    pub kind: String,
    /// Its name (for task definitions `family` = latest revision, or `family:N`)
    pub name: String,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let kind = parse_kind(&args.kind)?;
    let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    let obj: serde_json::Value = match client
        .get(&objects_path(kind, Some(&args.name), Some(cluster), None))
        .await
    {
        // The cluster's `default` group exists without an object: EC2's default rules.
        Err(e)
            if kind == api::Kind::SecurityGroup
                && args.name == api::securitygroup::DEFAULT_GROUP
                && crate::error::is_not_found(&e) =>
        {
            serde_json::json!({"apiVersion": "ecs/v1", "kind": "SecurityGroup",
                "metadata": {"name": api::securitygroup::DEFAULT_GROUP, "cluster": cluster},
                "spec": api::securitygroup::SecurityGroupSpec::default_group()})
        }
        r => r?,
    };
    let now = OffsetDateTime::now_utc();
    out!("{}", describe(&obj, now));
    if kind == api::Kind::ContainerInstance {
        // Tasks of any cluster: the server's own instance takes those of clusters without
        // instances of their own.
        let tasks: api::wire::ObjectList<serde_json::Value> = client
            .get(&objects_path(api::Kind::Task, None, None, None))
            .await?;
        out!("{}", instance_tasks(&args.name, &tasks.items));
    }
    if kind == api::Kind::SecurityGroup {
        let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
        let tasks: api::wire::ObjectList<serde_json::Value> = client
            .get(&objects_path(api::Kind::Task, None, Some(cluster), None))
            .await?;
        out!("{}", security_group_members(&args.name, &tasks.items));
    }
    if kind == api::Kind::LoadBalancer {
        let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
        let live: Option<api::wire::LoadBalancerStatus> = client
            .get(&format!(
                "/v1/loadbalancers/{}/status?cluster={cluster}",
                args.name
            ))
            .await?;
        out!("{}", crate::output::lb::live_status(live.as_ref(), now));
    }
    Ok(())
}
