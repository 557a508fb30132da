//! `ecsctl apply -f PATH...`: validate everything locally, then send it in one all-or-nothing request.

use super::parse_duration;
use super::rollout::wait::wait_rollout;
use crate::client::Client;
use crate::error::usage;
use crate::input;
use crate::output::ref_name;
use anyhow::Result;
use api::Kind;
use api::parse::ParseOptions;
use api::wire::{ApplyRequest, ApplyResponse};
use std::time::Duration;

/// Create or update objects from manifest files, directories or stdin
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl apply -f web.yaml                 # one file (YAML, or ECS JSON)
  ecsctl apply -f manifests/               # every *.yaml, *.yml, *.json below a directory
  ecsctl apply -f td.json -f svc.yaml      # several paths; all or nothing
  cat web.yaml | ecsctl apply -f -         # from stdin
  ecsctl apply -f manifests/ --dry-run     # show what would change, write nothing
  ecsctl apply -f web.yaml --wait --timeout 10m   # then wait for every service's rollout

All documents are validated before anything is sent; one bad document means nothing is written.
Each object prints one line: `service/web created`, `taskdefinition/web:2 created`,
`cluster/default unchanged`. With --wait, progress lines follow until every applied service
has finished its rollout and reached a steady state (as `ecsctl rollout status`, bars per
deployment when stderr is a terminal); the exit code is 1 if a rollout failed (circuit breaker)
or the timeout passed.")]
pub struct Args {
    /// A manifest file, a directory (recursive), or `-` for stdin
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true, num_args = 1..)]
    pub files: Vec<String>,
    /// Compute and print the results without writing anything
    #[arg(long)]
    pub dry_run: bool,
    /// In ECS JSON, warn about (instead of refusing) ECS fields ecsctl does not implement yet
    #[arg(long)]
    pub warn_unknown: bool,
    /// Then wait until every applied service has rolled out and reached a steady state
    #[arg(long, conflicts_with = "dry_run")]
    pub wait: bool,
    /// How long --wait waits (for all services together)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration, requires = "wait")]
    pub timeout: Duration,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let opts = ParseOptions {
        warn_unknown: args.warn_unknown,
    };
    let loaded = input::load(&args.files, &opts, "; nothing was applied")?;
    if loaded.is_empty() {
        return Err(usage(format!(
            "no objects found in {}",
            args.files.join(", ")
        )));
    }
    let request = ApplyRequest {
        objects: loaded.iter().map(|l| &l.object).collect(),
    };
    let answer: ApplyResponse = client
        .post(&format!("/v1/apply?dryRun={}", args.dry_run), &request)
        .await?;
    // The server re-validates with the same rules: skip the warnings already printed above.
    let local: Vec<&str> = loaded
        .iter()
        .flat_map(|d| &d.warnings)
        .map(|w| w.message.as_str())
        .collect();
    for w in &answer.warnings {
        if !local.iter().any(|m| w.ends_with(m)) {
            eprintln!("warning: {}", api::text::escape(w));
        }
    }
    let suffix = if args.dry_run { " (dry run)" } else { "" };
    let mut services = Vec::new();
    for r in answer.results {
        outln!(
            "{} {}{suffix}",
            ref_name(r.kind.as_str(), &r.name, r.revision),
            r.action.as_str()
        );
        if r.kind == Kind::Service {
            services.push((r.cluster, r.name));
        }
    }
    if args.wait {
        let deadline = tokio::time::Instant::now() + args.timeout;
        for (cluster, name) in &services {
            let cluster = cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
            wait_rollout(&client, cluster, name, deadline, args.timeout).await?;
        }
    }
    Ok(())
}
