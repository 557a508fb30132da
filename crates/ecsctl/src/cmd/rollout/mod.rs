//! `ecsctl rollout status|history|undo|restart service/NAME`: follow, list, undo and restart
//! a service's deployments.

pub mod wait;

use super::parse_duration;
use super::service_update::service_name;
use crate::actions::{self, get_service, status_of};
use crate::client::Client;
use crate::output::fields::{human_duration, parse_time};
use crate::output::table::Table;
use anyhow::Result;
use api::service::DeploymentSummary;
use std::time::Duration;
use time::OffsetDateTime;

/// Follow, list, undo or restart the deployments of a service
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl rollout status service/web                # progress until the rollout is over
  ecsctl rollout history service/web               # the service's deployments
  ecsctl rollout undo service/web                  # back to the previous task definition
  ecsctl rollout undo service/web --to-revision 3  # to web:3
  ecsctl rollout restart service/web               # replace every task (force new deployment)")]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    Status(StatusArgs),
    History(HistoryArgs),
    Undo(UndoArgs),
    Restart(RestartArgs),
}

/// Which service, in which cluster.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// `service/NAME`, or `service` followed by NAME
    #[arg(value_name = "service/NAME")]
    pub service: String,
    /// The service name, when the first argument is just `service`
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

impl Target {
    fn resolve(&self) -> Result<(String, String)> {
        let name = service_name(&self.service, self.name.as_deref())?;
        let cluster = self
            .cluster
            .clone()
            .unwrap_or_else(|| api::DEFAULT_CLUSTER.to_string());
        Ok((cluster, name))
    }
}

/// Wait until the service's current rollout is over
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl rollout status service/web
  ecsctl rollout status svc/web --cluster prod --timeout 10m
  ecsctl apply -f web.yaml && ecsctl rollout status service/web

Prints a line whenever the progress changes, e.g.
  Waiting for deployment ecs-svc/4817... (web:2): 1 of 3 tasks running, 3 old tasks left...
When stderr is a terminal (TERM not dumb), a bar per deployment is redrawn there instead
(running/desired, rollout state, failed tasks); NO_COLOR turns its colors off.
Exits 0 once the deployment for the service's current spec is COMPLETED and the service is in
steady state; 1 when that deployment FAILED (the circuit breaker tripped; the message says
whether the service rolled back, and to what) or when the timeout passed.")]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
    /// How long to wait
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// List a service's deployments, oldest first
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl rollout history service/web
  ecsctl rollout history svc/web --cluster prod

STATUS is PRIMARY (the deployment being rolled out or running), ACTIVE (still draining) or
INACTIVE; ROLLOUT is IN_PROGRESS, COMPLETED or FAILED. The newest 10 deployments are kept.")]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: Target,
}

/// Go back to the previous task definition (or to revision N)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl rollout undo service/web                  # to the task definition deployed before
  ecsctl rollout undo service/web --to-revision 3  # to web:3
  ecsctl rollout undo service/web && ecsctl rollout status service/web

Sets the service's spec.taskDefinition to `family:N` (compare-and-swap), which pins the
revision: later revisions of the family are not deployed until the spec changes again.")]
pub struct UndoArgs {
    #[command(flatten)]
    pub target: Target,
    /// The revision of the service's task definition family to go back to
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub to_revision: Option<u64>,
}

/// Replace every task of a service with a new deployment of the same task definition
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl rollout restart service/web
  ecsctl rollout restart service/web && ecsctl rollout status service/web

The same as ECS's --force-new-deployment: sets the annotation ecsctl.dev/force-deployment to
the current time; the new deployment replaces the tasks within the service's rolling bounds.")]
pub struct RestartArgs {
    #[command(flatten)]
    pub target: Target,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    match args.command {
        Sub::Status(a) => status(&client, a).await,
        Sub::History(a) => history(&client, a).await,
        Sub::Undo(a) => undo(&client, a).await,
        Sub::Restart(a) => restart(&client, a).await,
    }
}

async fn status(client: &Client, args: StatusArgs) -> Result<()> {
    let (cluster, name) = args.target.resolve()?;
    // Fail at once (not after the timeout) on a service that is not there.
    get_service(client, &cluster, &name).await?;
    let deadline = tokio::time::Instant::now() + args.timeout;
    wait::wait_rollout(client, &cluster, &name, deadline, args.timeout).await
}

async fn history(client: &Client, args: HistoryArgs) -> Result<()> {
    let (cluster, name) = args.target.resolve()?;
    let svc = get_service(client, &cluster, &name).await?;
    let st = status_of(&svc);
    if st.deployments.is_empty() {
        outln!("No deployments of service/{name} yet.");
        return Ok(());
    }
    out!(
        "{}",
        history_table(&st.deployments, OffsetDateTime::now_utc()).render()
    );
    Ok(())
}

fn history_table(deployments: &[DeploymentSummary], now: OffsetDateTime) -> Table {
    let mut t = Table::new(&[
        "id",
        "status",
        "task definition",
        "rollout",
        "created",
        "reason",
    ]);
    for d in deployments {
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        t.push(vec![
            d.id.clone(),
            dash(d.status.as_str()),
            dash(&d.task_definition),
            dash(d.rollout_state.as_str()),
            parse_time(&d.created_at).map_or_else(
                || "-".to_string(),
                |c| format!("{} ago", human_duration(now - c)),
            ),
            dash(&d.rollout_state_reason),
        ]);
    }
    t
}

async fn undo(client: &Client, args: UndoArgs) -> Result<()> {
    let (cluster, name) = args.target.resolve()?;
    let plan = actions::plan_rollback(client, &cluster, &name, args.to_revision)
        .await
        .map_err(|e| match e.downcast::<actions::NothingToRollBackTo>() {
            Ok(none) => anyhow::anyhow!("{none}: use --to-revision N"),
            Err(e) => e,
        })?;
    let target = plan.to;
    if actions::roll_back(client, &cluster, &name, &target).await? {
        outln!("service/{name} rolled back to {target}");
    } else {
        outln!("service/{name} skipped rollback: its task definition is already {target}");
    }
    Ok(())
}

async fn restart(client: &Client, args: RestartArgs) -> Result<()> {
    let (cluster, name) = args.target.resolve()?;
    actions::force_new_deployment(client, &cluster, &name).await?;
    outln!("service/{name} restarted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::tests::dep;

    #[test]
    fn history_rows() {
        let now = parse_time("2024-01-01T00:05:00Z").unwrap();
        let mut d = dep("ecs-svc/1", "PRIMARY", "web:1", "COMPLETED");
        d.rollout_state_reason = "ECS deployment completed.".into();
        let mut e = dep("ecs-svc/2", "", "", "");
        e.created_at.clear();
        assert_eq!(
            history_table(&[d, e], now).render(),
            "ID          STATUS    TASK DEFINITION   ROLLOUT     CREATED   REASON\n\
             ecs-svc/1   PRIMARY   web:1             COMPLETED   5m ago    ECS deployment completed.\n\
             ecs-svc/2   -         -                 -           -         -\n"
        );
    }
}
