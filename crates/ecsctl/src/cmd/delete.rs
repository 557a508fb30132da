//! `ecsctl delete KIND NAME` and `ecsctl delete -f PATH...`.

use super::parse_kind;
use crate::client::{Client, objects_path};
use crate::error::{Reported, is_not_found, usage};
use crate::input;
use crate::output::{kind_word, ref_name};
use anyhow::Result;
use api::Kind;
use api::parse::ParseOptions;
use api::wire::DeleteResponse;

/// Delete objects by name, or those described in manifests
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl delete service web                # one service of the default cluster
  ecsctl delete td web:2                   # one task definition revision
  ecsctl delete td web                     # every revision of family web
  ecsctl delete -f manifests/              # everything the manifests describe
  ecsctl delete svc old --ignore-not-found

Exits 1 when an object does not exist, unless --ignore-not-found.")]
pub struct Args {
    /// The kind of object
    #[arg(required_unless_present = "files")]
    pub kind: Option<String>,
    /// Its name
    #[arg(required_unless_present = "files")]
    pub name: Option<String>,
    /// Delete the objects described in these manifests (file, directory or `-`)
    #[arg(short = 'f', long = "filename", value_name = "PATH", num_args = 1.., conflicts_with_all = ["kind", "name"])]
    pub files: Vec<String>,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Treat "not found" as success
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// One object to delete.
struct Target {
    kind: Kind,
    cluster: Option<String>,
    name: String,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let mut targets = Vec::new();
    if !args.files.is_empty() {
        for l in input::load(
            &args.files,
            &ParseOptions::default(),
            "; nothing was deleted",
        )? {
            let o = l.object;
            targets.push(Target {
                kind: o.kind,
                cluster: o.metadata.cluster.clone(),
                name: o.metadata.name,
            });
        }
        if targets.is_empty() {
            return Err(usage(format!(
                "no objects found in {}",
                args.files.join(", ")
            )));
        }
        // Dependents first: the reverse of the order objects are applied in.
        let rank = |k: Kind| Kind::ALL.iter().position(|x| *x == k).unwrap_or(0);
        targets.sort_by_key(|t| std::cmp::Reverse(rank(t.kind)));
    } else if let (Some(kind), Some(name)) = (&args.kind, &args.name) {
        let kind = parse_kind(kind)?;
        if !kind.is_user_writable() {
            return Err(usage(format!(
                "{} are owned by ecsctl and cannot be deleted by hand",
                kind.plural()
            )));
        }
        targets.push(Target {
            kind,
            cluster: args.cluster.clone(),
            name: name.clone(),
        });
    }

    let mut missing = false;
    for t in targets {
        let cluster = t.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
        match client
            .delete(&objects_path(t.kind, Some(&t.name), Some(cluster), None))
            .await
        {
            Ok(answer) => print_deleted(&answer, &t),
            Err(e) if is_not_found(&e) => {
                if !args.ignore_not_found {
                    eprintln!("{}/{} not found", kind_word(t.kind), t.name);
                    missing = true;
                }
            }
            Err(e) => return Err(e),
        }
    }
    if missing {
        Err(Reported(1).into())
    } else {
        Ok(())
    }
}

fn print_deleted(answer: &DeleteResponse, t: &Target) {
    if answer.deleted.is_empty() {
        outln!("{}/{} deleted", kind_word(t.kind), t.name);
    }
    for d in &answer.deleted {
        outln!("{} deleted", ref_name(d.kind.as_str(), &d.name, d.revision));
    }
}
