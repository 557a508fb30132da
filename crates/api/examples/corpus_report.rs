//! Prints, for every file of the ECS corpus, whether it validates and why not.
//! `cargo run -p ecsctl-api --example corpus_report -- ../shared/corpus/ecs`
use ecsctl_api::parse::{ParseOptions, parse_source};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus/ecs".into());
    let mut files: Vec<_> = ["taskdefs", "services"]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(format!("{dir}/{d}"))
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match parse_source(&name, &text, &ParseOptions::default()) {
            Ok(docs) => println!("OK   {name} ({} warnings)", docs[0].warnings.len()),
            Err(e) => {
                for d in e {
                    println!("FAIL {d}");
                }
            }
        }
    }
}
