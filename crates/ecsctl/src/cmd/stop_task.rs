//! `ecsctl stop-task ID`: ask a task to stop (spec.desiredStatus STOPPED, stopCode
//! UserInitiated), written with compare-and-swap so a concurrent change is never lost.

use super::parse_duration;
use super::run_task::{Goal, wait_for};
use crate::actions::{self, Stop};
use crate::client::Client;
use anyhow::Result;
use std::time::Duration;

/// The reason recorded when none is given (ECS's words).
const DEFAULT_REASON: &str = "Task stopped by user";

/// Stop a running task
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl stop-task 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01
  ecsctl stop-task 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 --cluster prod --reason \"bad deploy\"
  ecsctl stop-task 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 --wait     # until it is STOPPED

The task's containers get their stop signal (SIGTERM), then SIGKILL after their stopTimeout.
The task keeps stopCode UserInitiated and the reason: `ecsctl describe task ID` shows them.
Stopping a task that is already stopping or stopped changes nothing.")]
pub struct Args {
    /// The task id
    pub id: String,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Why the task is stopped (recorded as its stoppedReason)
    #[arg(long, value_name = "TEXT", default_value = DEFAULT_REASON)]
    pub reason: String,
    /// Wait until the task is STOPPED
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, requires = "wait")]
    pub timeout: Duration,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    if actions::stop_task(&client, cluster, &args.id, &args.reason).await? == Stop::Stopped {
        outln!("task/{} already stopped", args.id);
        return Ok(());
    }
    outln!("task/{} stopping", args.id);
    if args.wait {
        wait_for(
            &client,
            cluster,
            std::slice::from_ref(&args.id),
            Goal::Stopped,
            args.timeout,
        )
        .await?;
        outln!("task/{} stopped", args.id);
    }
    Ok(())
}
