//! `ecsctl apply -f PATH...`: validate everything locally, then send it in one all-or-nothing request.

use crate::client::Client;
use crate::error::usage;
use crate::input;
use crate::output::ref_name;
use anyhow::Result;
use api::parse::ParseOptions;
use serde_json::{Value, json};

/// Create or update objects from manifest files, directories or stdin
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl apply -f web.yaml                 # one file (YAML, or ECS JSON)
  ecsctl apply -f manifests/               # every *.yaml, *.yml, *.json below a directory
  ecsctl apply -f td.json -f svc.yaml      # several paths; all or nothing
  cat web.yaml | ecsctl apply -f -         # from stdin
  ecsctl apply -f manifests/ --dry-run     # show what would change, write nothing

All documents are validated before anything is sent; one bad document means nothing is written.
Each object prints one line: `service/web created`, `taskdefinition/web:2 created`,
`cluster/default unchanged`.")]
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
    let objects = loaded
        .iter()
        .map(|l| serde_json::to_value(&l.object))
        .collect::<Result<Vec<_>, _>>()?;
    let answer = client
        .post(
            &format!("/v1/apply?dryRun={}", args.dry_run),
            &json!({ "objects": objects }),
        )
        .await?;
    // The server re-validates with the same rules: skip the warnings already printed above.
    let local: Vec<&str> = loaded
        .iter()
        .flat_map(|d| &d.warnings)
        .map(|w| w.message.as_str())
        .collect();
    for w in answer
        .get("warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let w = w.as_str().map_or_else(|| w.to_string(), str::to_string);
        if !local.iter().any(|m| w.ends_with(m)) {
            eprintln!("warning: {w}");
        }
    }
    let suffix = if args.dry_run { " (dry run)" } else { "" };
    for r in answer
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("?");
        let revision = r.get("revision").and_then(Value::as_u64);
        outln!(
            "{} {}{suffix}",
            ref_name(field("kind"), field("name"), revision),
            field("action")
        );
    }
    Ok(())
}
