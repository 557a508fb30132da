//! `ecsctl sync DIR`: make the store what a directory says, once (for CI), through the
//! server; and `ecsctl syncs` / `ecsctl get syncs`: the status of every synced directory.

use crate::client::Client;
use crate::error::{ApiError, Reported, usage};
use crate::output::progress::{Busy, Mode};
use crate::output::ref_name;
use crate::output::table::Table;
use anyhow::Result;
use api::wire::{SyncList, SyncRequest, SyncResponse};
use std::path::PathBuf;

/// Sync a directory of manifests once: apply everything, prune what it owned and dropped
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl sync ./deploy                 # apply the directory, prune objects it no longer holds
  ecsctl sync ./deploy --dry-run       # what would be applied and pruned; nothing written
  ecsctl sync ./deploy --no-prune      # apply only

Every object applied is annotated with ecsctl.dev/source (the directory) and
ecsctl.dev/source-file. Pruning deletes only objects carrying this directory as their source:
never objects applied by hand or from another directory. If any file is invalid nothing is
applied; the problems are printed as FILE:LINE:COL: ... and the exit code is 2.
The server syncs only the directories it watches (--watch) and those below its --sync-root;
any other directory is refused before it is read.")]
pub struct Args {
    /// The directory (recursive: *.yaml, *.yml, *.json; hidden entries skipped)
    pub dir: PathBuf,
    /// Show what would be applied and pruned without writing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Do not delete objects whose documents left the directory
    #[arg(long)]
    pub no_prune: bool,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let dir = std::fs::canonicalize(&args.dir).map_err(|e| {
        usage(format!(
            "{}: {}",
            args.dir.display(),
            crate::error::io_reason(&e)
        ))
    })?;
    if !dir.is_dir() {
        return Err(usage(format!("{}: not a directory", args.dir.display())));
    }
    let dir_shown = dir.display().to_string();
    let body = SyncRequest {
        dir,
        dry_run: args.dry_run,
        prune: !args.no_prune,
    };
    // The server syncs in one request: on a terminal, a spinner says so meanwhile.
    let busy = match Mode::detect() {
        Mode::Live { color } => Some(Busy::new(color, &format!("syncing {}", dir_shown))),
        Mode::Plain => None,
    };
    let answer = client.post::<_, SyncResponse>("/v1/sync", &body).await;
    if let Some(b) = busy {
        b.finish();
    }
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            if let Some(api) = e.downcast_ref::<ApiError>()
                && api.status == 400
                && !api.details.is_empty()
            {
                for d in &api.details {
                    eprintln!("{}", api::text::escape(d));
                }
                eprintln!("error: {}", api::text::escape(&api.message));
                return Err(Reported(2).into());
            }
            return Err(e);
        }
    };
    for w in &answer.warnings {
        eprintln!("warning: {}", api::text::escape(w));
    }
    let suffix = if args.dry_run { " (dry run)" } else { "" };
    for r in &answer.applied {
        outln!(
            "{} {}{suffix}",
            ref_name(r.kind.as_str(), &r.name, r.revision),
            r.action.as_str()
        );
    }
    let verb = if args.no_prune {
        "would be pruned (--no-prune)"
    } else {
        "pruned"
    };
    for p in &answer.pruned {
        outln!(
            "{} {verb}{suffix}",
            ref_name(p.kind.as_str(), &p.name, None)
        );
    }
    for d in &answer.drift {
        eprintln!(
            "drift: {} had been changed by hand; restored",
            api::text::escape(d)
        );
    }
    Ok(())
}

/// `ecsctl syncs` / `ecsctl get syncs [-o json]`.
pub async fn status(client: Client, json_output: bool) -> Result<()> {
    let answer: SyncList = client.get("/v1/syncs").await?;
    if json_output {
        outln!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let items = answer.items;
    if items.is_empty() {
        eprintln!("No synced directories (ecsctl server --watch DIR, ecsctl sync DIR).");
        return Ok(());
    }
    let mut t = Table::new(&[
        "SOURCE",
        "STATE",
        "REVISION",
        "LAST APPLIED",
        "OBJECTS",
        "ERRORS",
    ]);
    let mut details = Vec::new();
    for s in &items {
        let or_dash = |t: Option<&str>| t.unwrap_or("-").to_string();
        let source = s.source.clone();
        t.push(vec![
            source.clone(),
            s.state.as_str().to_string(),
            or_dash(s.revision.as_deref()).chars().take(12).collect(),
            or_dash(s.last_applied_at.as_deref()),
            s.objects.to_string(),
            s.errors.len().to_string(),
        ]);
        if !s.drift.is_empty() {
            details.push(format!("{source}: drift restored: {}", s.drift.join(", ")));
        }
        for e in &s.errors {
            details.push(format!("{source}: {e}"));
        }
    }
    out!("{}", t.render());
    for d in details {
        outln!("{d}");
    }
    Ok(())
}
