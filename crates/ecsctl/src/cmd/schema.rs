//! `ecsctl schema [--out DIR | --check DIR]`: the JSON Schemas of the manifest kinds, offline.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::error::Reported;

/// The file holding every kind's schema in one.
const ALL: &str = "all.json";

/// Print or write the JSON Schemas of the manifest kinds (for editors and CI)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl schema > ecsctl.schema.json       # the all-kinds schema on stdout
  ecsctl schema --out schemas/             # one file per kind, plus all.json
  ecsctl schema --check schemas/           # CI: exit 1 if schemas/ is stale or incomplete

In an editor with the YAML language server:
  # yaml-language-server: $schema=../schemas/all.json")]
pub struct Args {
    /// Write each schema into DIR (created if missing)
    #[arg(long, value_name = "DIR", conflicts_with = "check")]
    pub out: Option<std::path::PathBuf>,
    /// Compare DIR with what would be written; exit 1 listing stale, missing or extra files
    #[arg(long, value_name = "DIR")]
    pub check: Option<std::path::PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let schemas = rendered()?;
    if let Some(dir) = &args.out {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (name, text) in &schemas {
            let path = dir.join(name);
            fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
        eprintln!("wrote {} schemas to {}", schemas.len(), dir.display());
        return Ok(());
    }
    if let Some(dir) = &args.check {
        let problems = check(dir, &schemas);
        if problems.is_empty() {
            eprintln!(
                "{} schemas in {} are up to date",
                schemas.len(),
                dir.display()
            );
            return Ok(());
        }
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!(
            "error: schemas in {0} are out of date: run `ecsctl schema --out {0}`",
            dir.display()
        );
        return Err(Reported(1).into());
    }
    let (_, all) = schemas
        .iter()
        .find(|(n, _)| n == ALL)
        .context("the api crate produced no all-kinds schema (all.json)")?;
    out!("{all}");
    Ok(())
}

/// Every (file name, text): pretty JSON with a trailing newline.
fn rendered() -> Result<Vec<(String, String)>> {
    api::schema::all_schemas()
        .into_iter()
        .map(|(name, v)| {
            let mut text = serde_json::to_string_pretty(&v)?;
            text.push('\n');
            Ok((name, text))
        })
        .collect()
}

/// `stale: DIR/x.json`, `missing: ...`, `unexpected: ...` for each difference.
fn check(dir: &Path, schemas: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, text) in schemas {
        let path = dir.join(name);
        match fs::read_to_string(&path) {
            Ok(existing) if existing == *text => {}
            Ok(_) => problems.push(format!("stale: {}", path.display())),
            Err(_) => problems.push(format!("missing: {}", path.display())),
        }
    }
    let expected: BTreeSet<&str> = schemas.iter().map(|(n, _)| n.as_str()).collect();
    let mut extra: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !expected.contains(n.as_str()))
        .collect();
    extra.sort();
    problems.extend(
        extra
            .into_iter()
            .map(|n| format!("unexpected: {}", dir.join(n).display())),
    );
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_each_difference() {
        let d = tempfile::tempdir().unwrap();
        let schemas = vec![
            ("a.json".to_string(), "{}\n".to_string()),
            ("b.json".to_string(), "{\"x\": 1}\n".to_string()),
            ("c.json".to_string(), "{}\n".to_string()),
        ];
        fs::write(d.path().join("a.json"), "{}\n").unwrap();
        fs::write(d.path().join("b.json"), "{}\n").unwrap();
        fs::write(d.path().join("old.json"), "{}\n").unwrap();
        fs::write(d.path().join("README.md"), "hi").unwrap();
        let dir = d.path().display();
        assert_eq!(
            check(d.path(), &schemas),
            [
                format!("stale: {dir}/b.json"),
                format!("missing: {dir}/c.json"),
                format!("unexpected: {dir}/old.json")
            ]
        );
        fs::write(d.path().join("b.json"), "{\"x\": 1}\n").unwrap();
        fs::write(d.path().join("c.json"), "{}\n").unwrap();
        fs::remove_file(d.path().join("old.json")).unwrap();
        assert!(check(d.path(), &schemas).is_empty());
    }
}
