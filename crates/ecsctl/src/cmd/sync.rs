//! `ecsctl sync DIR`: make the store what a directory says, once (for CI), through the
//! server; and `ecsctl syncs` / `ecsctl get syncs`: the status of every synced directory.

use crate::client::Client;
use crate::error::{ApiError, Reported, usage};
use crate::output::ref_name;
use crate::output::table::Table;
use anyhow::Result;
use serde_json::{Value, json};
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
applied; the problems are printed as FILE:LINE:COL: ... and the exit code is 2.")]
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
    let body = json!({ "dir": dir, "dryRun": args.dry_run, "prune": !args.no_prune });
    let answer = match client.post("/v1/sync", &body).await {
        Ok(a) => a,
        Err(e) => {
            if let Some(api) = e.downcast_ref::<ApiError>()
                && api.status == 400
                && !api.details.is_empty()
            {
                for d in &api.details {
                    eprintln!("{d}");
                }
                eprintln!("error: {}", api.message);
                return Err(Reported(2).into());
            }
            return Err(e);
        }
    };
    let list = |k: &str| {
        answer
            .get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for w in list("warnings") {
        eprintln!("warning: {}", w.as_str().unwrap_or_default());
    }
    let suffix = if args.dry_run { " (dry run)" } else { "" };
    for r in list("applied") {
        let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("?");
        let revision = r.get("revision").and_then(Value::as_u64);
        outln!(
            "{} {}{suffix}",
            ref_name(field("kind"), field("name"), revision),
            field("action")
        );
    }
    let verb = if args.no_prune {
        "would be pruned (--no-prune)"
    } else {
        "pruned"
    };
    for p in list("pruned") {
        let field = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("?");
        outln!(
            "{} {verb}{suffix}",
            ref_name(field("kind"), field("name"), None)
        );
    }
    for d in list("drift") {
        eprintln!(
            "drift: {} had been changed by hand; restored",
            d.as_str().unwrap_or_default()
        );
    }
    Ok(())
}

/// `ecsctl syncs` / `ecsctl get syncs [-o json]`.
pub async fn status(client: Client, json_output: bool) -> Result<()> {
    let answer = client.get("/v1/syncs").await?;
    if json_output {
        outln!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let items = answer
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
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
        let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
        let errors: Vec<String> = s
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect();
        t.push(vec![
            text("source"),
            text("state"),
            text("revision").chars().take(12).collect(),
            text("lastAppliedAt"),
            s.get("objects").map_or("0".into(), Value::to_string),
            errors.len().to_string(),
        ]);
        let drift: Vec<&str> = s
            .get("drift")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !drift.is_empty() {
            details.push(format!(
                "{}: drift restored: {}",
                text("source"),
                drift.join(", ")
            ));
        }
        for e in errors {
            details.push(format!("{}: {e}", text("source")));
        }
    }
    out!("{}", t.render());
    for d in details {
        outln!("{d}");
    }
    Ok(())
}
