//! `ecsctl validate -f PATH...`: the checks of apply, offline.

use crate::error::usage;
use crate::input;
use anyhow::Result;
use api::parse::ParseOptions;

/// Check manifests without a server: every error, with file, line and column
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl validate -f manifests/            # check a whole directory
  ecsctl validate -f task-def.json --warn-unknown
  ecsctl validate -f - < web.yaml          # from stdin

Prints `N documents valid` and exits 0, or prints each problem as
`FILE:LINE:COL: FIELD: message` and exits 2.")]
pub struct Args {
    /// A manifest file, a directory (recursive), or `-` for stdin
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true, num_args = 1..)]
    pub files: Vec<String>,
    /// In ECS JSON, warn about (instead of refusing) ECS fields ecsctl does not implement yet
    #[arg(long)]
    pub warn_unknown: bool,
}

pub fn run(args: Args) -> Result<()> {
    let loaded = input::load(
        &args.files,
        &ParseOptions {
            warn_unknown: args.warn_unknown,
        },
        "",
    )?;
    if loaded.is_empty() {
        return Err(usage(format!(
            "no objects found in {}",
            args.files.join(", ")
        )));
    }
    let n = loaded.len();
    outln!("{n} document{} valid", if n == 1 { "" } else { "s" });
    Ok(())
}
