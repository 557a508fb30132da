//! Validation throughput on the real-world ECS corpus (one thread).
//! `cargo bench -p ecsctl-api --bench validate`. Target: >= 5,000 documents/s on one core.

use ecsctl_api::parse::{ParseOptions, parse_source};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/ecs");
    let mut files = Vec::new();
    for sub in ["taskdefs", "services"] {
        for e in std::fs::read_dir(dir.join(sub)).expect("corpus").flatten() {
            let text = std::fs::read_to_string(e.path()).expect("readable");
            files.push((e.file_name().to_string_lossy().into_owned(), text));
        }
    }
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let opts = ParseOptions::default();
    // warm-up
    for (n, t) in &files {
        let _ = parse_source(n, t, &opts);
    }
    let rounds = 30;
    let start = Instant::now();
    let mut docs = 0usize;
    let mut accepted = 0usize;
    for _ in 0..rounds {
        for (n, t) in &files {
            docs += 1;
            if parse_source(n, t, &opts).is_ok() {
                accepted += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "validate: {docs} documents ({} files x {rounds}, {:.1} KiB each pass, {accepted} accepted) in {secs:.3} s = {:.0} documents/s on one thread (target >= 5000)",
        files.len(),
        bytes as f64 / 1024.0,
        docs as f64 / secs
    );
}
