//! `ecsctl drain INSTANCE` and `ecsctl undrain INSTANCE`: set a container instance DRAINING
//! (it takes no new tasks; the service controller moves its service tasks elsewhere) or
//! ACTIVE again, through `PUT /v1/instances/{id}/state`.

use crate::client::{Client, encode};
use anyhow::Result;
use api::instance::InstanceStatus;
use api::wire::{InstanceStateRequest, InstanceStateResponse};

/// Drain a container instance: no new tasks go there, its service tasks move elsewhere
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl get containerinstances                # the instances and their status
  ecsctl drain 3f2a9c0e4b7d                    # before taking its host down
  ecsctl drain 3f2a9c0e4b7d --cluster prod
  ecsctl describe ci 3f2a9c0e4b7d              # the tasks still on it

As ECS drains a container instance: it takes no new tasks at once; its services' PENDING tasks
stop at once, and their RUNNING ones are replaced on other instances within each service's
maximumPercent (replacements start first where it leaves room) and stopped only while
minimumHealthyPercent stays met. With both at 100% a service cannot move (its events say so).
Tasks that belong to no service (run-task) keep running: stop them with `ecsctl stop-task`.
The instance is drained once no task runs on it. Only an admin token may drain.")]
pub struct DrainArgs {
    /// The container instance id (`ecsctl get ci` lists them)
    #[arg(value_name = "INSTANCE")]
    pub instance: String,
    /// The instance's cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

/// Make a drained container instance ACTIVE again: new tasks may go there
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl undrain 3f2a9c0e4b7d
  ecsctl undrain 3f2a9c0e4b7d --cluster prod

Tasks that moved away stay where they went; new tasks (a scale-out, a deployment, run-task)
may be placed on the instance again. Only an admin token may undrain.")]
pub struct UndrainArgs {
    /// The container instance id (`ecsctl get ci` lists them)
    #[arg(value_name = "INSTANCE")]
    pub instance: String,
    /// The instance's cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

pub async fn drain(client: Client, args: DrainArgs) -> Result<()> {
    set_state(
        &client,
        &args.instance,
        args.cluster.as_deref(),
        InstanceStatus::Draining,
    )
    .await
}

pub async fn undrain(client: Client, args: UndrainArgs) -> Result<()> {
    set_state(
        &client,
        &args.instance,
        args.cluster.as_deref(),
        InstanceStatus::Active,
    )
    .await
}

async fn set_state(
    client: &Client,
    instance: &str,
    cluster: Option<&str>,
    status: InstanceStatus,
) -> Result<()> {
    let cluster = cluster.unwrap_or(api::DEFAULT_CLUSTER);
    let answer: InstanceStateResponse<serde_json::Value> = client
        .put(
            &state_path(instance, cluster),
            &InstanceStateRequest { status },
        )
        .await?;
    outln!("{}", said(instance, status, answer.changed));
    Ok(())
}

/// `/v1/instances/{id}/state?cluster=`.
fn state_path(instance: &str, cluster: &str) -> String {
    format!(
        "/v1/instances/{}/state?cluster={}",
        encode(instance),
        encode(cluster)
    )
}

/// `containerinstance/ID draining`, or `... already draining` when nothing changed.
fn said(instance: &str, status: InstanceStatus, changed: bool) -> String {
    let word = status.as_str().to_ascii_lowercase();
    if changed {
        format!("containerinstance/{instance} {word}")
    } else {
        format!("containerinstance/{instance} already {word}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_words() {
        assert_eq!(
            state_path("i/1", "prod"),
            "/v1/instances/i%2F1/state?cluster=prod"
        );
        assert_eq!(
            said("3f2a", InstanceStatus::Draining, true),
            "containerinstance/3f2a draining"
        );
        assert_eq!(
            said("3f2a", InstanceStatus::Active, false),
            "containerinstance/3f2a already active"
        );
    }
}
