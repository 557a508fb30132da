//! The example manifests in manifests/ are valid.

use ecsctl_api::parse::{ParseOptions, parse_source};
use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("manifests dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn example_manifests_validate_without_warnings() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../manifests");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(files.len() >= 4);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} must start with the schema line",
            f.display()
        );
        let docs = parse_source(&f.display().to_string(), &text, &ParseOptions::default())
            .unwrap_or_else(|e| {
                panic!(
                    "{}",
                    e.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            });
        for d in docs {
            assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        }
    }
}

#[test]
fn invalid_examples_are_rejected_with_a_location() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/schema/invalid");
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    assert!(files.len() >= 8);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        let errs = parse_source("x.yaml", &text, &ParseOptions::default())
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", f.display()));
        assert!(errs.iter().all(|e| e.line.is_some()), "{errs:?}");
    }
}

#[test]
fn readme_yaml_examples_validate() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let mut blocks = 0;
    for (i, block) in readme.split("```yaml\n").skip(1).enumerate() {
        let yaml = block.split("```").next().unwrap_or_default();
        let source = format!("README.md yaml block {}", i + 1);
        parse_source(&source, yaml, &ParseOptions::default()).unwrap_or_else(|e| {
            panic!(
                "{}",
                e.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        blocks += 1;
    }
    assert!(blocks >= 1, "README.md has YAML examples");
}
