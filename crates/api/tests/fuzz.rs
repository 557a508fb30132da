//! The manifest parser under random input, in the normal test run: a bounded proptest
//! stand-in for the cargo-fuzz target `parse_manifest` (fuzz/, `scripts/fuzz.sh`), with the
//! same checks. Inputs: arbitrary bytes, a soup of YAML syntax and manifest words, and real
//! manifests (manifests/, tests/corpus/ecs, tests/schema/invalid) with random edits, of the
//! text and of the tree. Whatever the input, `parse_source`:
//! - does not panic, and answers within a bounded time;
//! - gives every error a line and column inside the text (except the few about the whole
//!   file: empty, binary, too large);
//! - accepts only what the server accepts too, and what it accepts, written back out as
//!   JSON, parses into the same object.
//!
//! Inputs the fuzzers found are kept in tests/fuzz_regressions/ and replayed here. Failure
//! persistence is off (no stray files); a failure prints the shrunk input: save it there.

use ecsctl_api::parse::{ParseOptions, parse_source};
use ecsctl_api::{Diagnostic, Object};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SOURCE: &str = "fuzz.yaml";

/// Longest time one input may take (a debug build on a loaded machine: generous).
const SLOW: Duration = Duration::from_secs(5);

/// `cases` per property; PROPTEST_CASES=N runs longer (a soak, by hand).
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Parses `text` as the CLI does, with and without --warn-unknown, and checks the result.
fn check(text: &str) {
    let start = Instant::now();
    match parse_source(SOURCE, text, &ParseOptions::default()) {
        Ok(docs) => docs.iter().for_each(|d| check_accepted(&d.object)),
        Err(errors) => {
            check_errors(text, &errors);
            let opts = ParseOptions { warn_unknown: true };
            match parse_source(SOURCE, text, &opts) {
                Ok(docs) => docs.iter().for_each(|d| check_accepted(&d.object)),
                Err(errors) => check_errors(text, &errors),
            }
        }
    }
    let took = start.elapsed();
    assert!(took < SLOW, "took {took:?} for {} bytes", text.len());
}

/// Every error names a line and column inside the text, except the few that are about the
/// whole file (empty, binary, too large).
fn check_errors(text: &str, errors: &[Diagnostic]) {
    assert!(!errors.is_empty(), "an error result without errors");
    let lines = yaml_lines(text);
    for e in errors {
        let shown = e.to_string();
        assert!(shown.starts_with(SOURCE), "{shown}");
        assert!(!e.message.is_empty(), "{shown}");
        match (e.line, e.column) {
            (Some(line), Some(column)) => {
                assert!(line >= 1 && column >= 1, "{shown}");
                assert!(line <= lines + 1, "line {line} of {lines}: {shown}");
            }
            (None, None) => {
                let whole_file = e.document.is_none()
                    && e.path.is_empty()
                    && (e.message.starts_with("no documents")
                        || e.message.contains("NUL byte")
                        || e.message.contains("bytes; the limit is"));
                assert!(whole_file, "an error without a location: {shown}");
            }
            _ => panic!("a line without a column or the reverse: {e:?}"),
        }
    }
}

/// How many lines YAML sees: CR LF, a lone LF and a lone CR each end one.
fn yaml_lines(text: &str) -> u32 {
    let breaks =
        text.matches('\n').count() + text.matches('\r').count() - text.matches("\r\n").count();
    breaks as u32 + 1
}

/// What the CLI accepts, the server accepts (it decodes the JSON and validates again), and
/// the object written back as a manifest (`get -o json`) parses into the same object.
fn check_accepted(obj: &Object) {
    let json = serde_json::to_string(obj).expect("an object serializes");
    let back: Object = serde_json::from_str(&json).expect("the server decodes what we send");
    assert_eq!(&back, obj, "JSON round trip changed the object");
    if let Err(e) = ecsctl_api::validate::validate_object(&back) {
        panic!("accepted by parse_source, refused by validate_object: {e:?}\n{json}");
    }
    match parse_source("again.json", &json, &ParseOptions::default()) {
        Ok(docs) => {
            assert_eq!(docs.len(), 1, "{json}");
            assert_eq!(&docs[0].object, obj, "re-import changed the object");
        }
        Err(e) => panic!("our own output does not parse again: {e:?}\n{json}"),
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file under `dir`, sorted (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The real manifests and ECS JSON files the mutations start from.
fn seeds() -> &'static [String] {
    static SEEDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = repo_root();
        let mut files = files_under(&root.join("manifests"));
        files.extend(files_under(&root.join("tests/corpus/ecs")));
        files.extend(files_under(&root.join("tests/schema/invalid")));
        let seeds: Vec<String> = files
            .iter()
            .filter(|p| ecsctl_api::source::is_manifest_name(p))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect();
        assert!(seeds.len() > 10, "seed manifests not found under {root:?}");
        seeds
    })
}

/// YAML syntax, manifest words and awkward scalars.
const FRAGMENTS: &[&str] = &[
    "\n",
    "\n",
    "\n",
    "  ",
    "  ",
    "    ",
    "- ",
    "- ",
    ": ",
    ": ",
    "? ",
    ",",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "#",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!int ",
    "!!map ",
    "!x ",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "|\n",
    "|-\n",
    ">+\n",
    "\t",
    "\r\n",
    "\u{feff}",
    "é",
    "😀",
    "\\u0041",
    "\\",
    "~",
    "null",
    "true",
    "yes",
    "no",
    "0",
    "-1",
    "65536",
    "1.5",
    ".inf",
    "-.inf",
    ".nan",
    "0x1F",
    "0o17",
    "1e400",
    "4294967296",
    "-9223372036854775809",
    "18446744073709551616",
    "\"\"",
    "''",
    "apiVersion",
    "ecs/v1",
    "kind",
    "TaskDefinition",
    "Service",
    "Cluster",
    "Task",
    "Autoscaler",
    "LoadBalancer",
    "Deployment",
    "metadata",
    "name",
    "web",
    "Web_App",
    "cluster",
    "labels",
    "annotations",
    "resourceVersion",
    "uid",
    "spec",
    "status",
    "family",
    "serviceName",
    "taskDefinition",
    "containerDefinitions",
    "image",
    "essential",
    "memory",
    "memoryReservation",
    "cpu",
    "0.5 vCPU",
    "1 GB",
    "512 MiB",
    "portMappings",
    "containerPort",
    "hostPort",
    "protocol",
    "tcp",
    "healthCheck",
    "command",
    "CMD-SHELL",
    "interval",
    "retries",
    "dependsOn",
    "containerName",
    "condition",
    "START",
    "HEALTHY",
    "environment",
    "secrets",
    "valueFrom",
    "mountPoints",
    "sourceVolume",
    "containerPath",
    "volumes",
    "host",
    "sourcePath",
    "networkMode",
    "awsvpc",
    "bridge",
    "ulimits",
    "linuxParameters",
    "desiredCount",
    "deploymentConfiguration",
    "maximumPercent",
    "minimumHealthyPercent",
    "loadBalancers",
    "listeners",
    "port",
    "rules",
    "pathPrefix",
    "defaultService",
    "minCapacity",
    "maxCapacity",
    "targetTracking",
    "metric",
    "targetValue",
    "policy",
    "allowPrivileged",
    "overrides",
    "containerOverrides",
    "count",
    "{{ .Env.X }}",
    "${X}",
    "<NAME>",
    "arn:aws:ecs:us-east-1:1:task-definition/web:3",
    "web:1",
    "web:0",
    "web:x",
];

/// What goes between two fragments of the soup.
const SEPARATORS: &[&str] = &["", " ", "\n", "\n  ", "\n    ", ": ", "\n- ", ", "];

/// A string of fragments and random bits, with separators that make YAML structure likely.
fn soup() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        6 => select(FRAGMENTS).prop_map(String::from),
        1 => "[a-z0-9_-]{1,12}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec((word, select(SEPARATORS)), 0..80).prop_map(|v| {
        v.into_iter().fold(String::new(), |mut s, (w, sep)| {
            s.push_str(&w);
            s.push_str(sep);
            s
        })
    })
}

/// Random JSON with manifest field names as keys, so the typed decode gets past the top.
fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..70_000).prop_map(Value::from),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(Value::Number),
        select(FRAGMENTS).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((select(FRAGMENTS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// The seeds' documents as JSON trees (positions dropped).
fn seed_documents() -> &'static [serde_json::Value] {
    static DOCS: std::sync::OnceLock<Vec<serde_json::Value>> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        seeds()
            .iter()
            .filter_map(|s| ecsctl_api::source::parse_stream("seed", s).ok())
            .flatten()
            .map(|n| n.to_json())
            .collect()
    })
}

/// One random edit of a JSON tree, at the node with that preorder index.
#[derive(Debug, Clone)]
enum TreeEdit {
    Replace(Index, serde_json::Value),
    SetKey(Index, &'static str, serde_json::Value),
    RemoveKey(Index, Index),
    Duplicate(Index),
    Stringify(Index),
}

fn arb_tree_edit() -> impl Strategy<Value = TreeEdit> {
    prop_oneof![
        4 => (any::<Index>(), arb_json()).prop_map(|(i, v)| TreeEdit::Replace(i, v)),
        2 => (any::<Index>(), select(FRAGMENTS), arb_json())
            .prop_map(|(i, k, v)| TreeEdit::SetKey(i, k, v)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, k)| TreeEdit::RemoveKey(i, k)),
        1 => any::<Index>().prop_map(TreeEdit::Duplicate),
        1 => any::<Index>().prop_map(TreeEdit::Stringify),
    ]
}

fn count_nodes(v: &serde_json::Value) -> usize {
    1 + match v {
        serde_json::Value::Array(items) => items.iter().map(count_nodes).sum(),
        serde_json::Value::Object(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// The node with preorder index `n`.
fn nth_node<'a>(v: &'a mut serde_json::Value, n: &mut usize) -> Option<&'a mut serde_json::Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        serde_json::Value::Array(items) => items.iter_mut().find_map(|c| nth_node(c, n)),
        serde_json::Value::Object(m) => m.values_mut().find_map(|c| nth_node(c, n)),
        _ => None,
    }
}

fn apply_tree_edit(doc: &mut serde_json::Value, edit: &TreeEdit) {
    use serde_json::Value;
    let at = match edit {
        TreeEdit::Replace(i, _)
        | TreeEdit::SetKey(i, ..)
        | TreeEdit::RemoveKey(i, _)
        | TreeEdit::Duplicate(i)
        | TreeEdit::Stringify(i) => i.index(count_nodes(doc)),
    };
    let Some(node) = nth_node(doc, &mut { at }) else {
        return;
    };
    match (edit, node) {
        (TreeEdit::Replace(_, v), node) => *node = v.clone(),
        (TreeEdit::SetKey(_, k, v), Value::Object(m)) => {
            m.insert(k.to_string(), v.clone());
        }
        (TreeEdit::RemoveKey(_, k), Value::Object(m)) if !m.is_empty() => {
            let key = m.keys().nth(k.index(m.len())).cloned().unwrap_or_default();
            m.remove(&key);
        }
        (TreeEdit::Duplicate(_), Value::Array(items)) if !items.is_empty() => {
            items.push(items[0].clone());
        }
        (TreeEdit::Stringify(_), node) if !node.is_string() => {
            *node = Value::String(node.to_string());
        }
        _ => {}
    }
}

/// A real document with edits at the level of its tree (so it stays well-formed and gets
/// deep into validation), written out as JSON.
fn tree_mutated() -> impl Strategy<Value = String> {
    (
        any::<Index>(),
        prop::collection::vec(arb_tree_edit(), 1..4),
        any::<bool>(),
    )
        .prop_map(|(pick, edits, pretty)| {
            let docs = seed_documents();
            let mut doc = docs[pick.index(docs.len())].clone();
            for e in &edits {
                apply_tree_edit(&mut doc, e);
            }
            if pretty {
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            } else {
                doc.to_string()
            }
        })
}

/// One random edit of a text.
#[derive(Debug, Clone)]
enum Edit {
    Insert(Index, &'static str),
    Delete(Index, usize),
    Truncate(Index),
    DuplicateLine(Index),
    DeleteLine(Index),
    SwapLines(Index, Index),
    Indent(Index, usize),
    ReplaceChar(Index, char),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), select(FRAGMENTS)).prop_map(|(i, s)| Edit::Insert(i, s)),
        2 => (any::<Index>(), 1usize..24).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => any::<Index>().prop_map(Edit::DuplicateLine),
        1 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        1 => (any::<Index>(), 1usize..5).prop_map(|(i, n)| Edit::Indent(i, n)),
        2 => (any::<Index>(), any::<char>()).prop_map(|(i, c)| Edit::ReplaceChar(i, c)),
    ]
}

/// A char boundary of `s` picked by `i`.
fn boundary(s: &str, i: Index) -> usize {
    let mut at = i.index(s.len() + 1);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply_edit(text: &mut String, edit: &Edit) {
    let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
    match edit {
        Edit::Insert(i, s) => text.insert_str(boundary(text, *i), s),
        Edit::Delete(i, n) => {
            let from = boundary(text, *i);
            let to = (from..=text.len())
                .filter(|&j| text.is_char_boundary(j))
                .nth(*n)
                .unwrap_or(text.len());
            text.replace_range(from..to, "");
        }
        Edit::Truncate(i) => text.truncate(boundary(text, *i)),
        Edit::ReplaceChar(i, c) => {
            let at = boundary(text, *i);
            if let Some(old) = text[at..].chars().next() {
                text.replace_range(at..at + old.len_utf8(), &c.to_string());
            }
        }
        Edit::DuplicateLine(i) => {
            let at = i.index(lines.len());
            lines.insert(at, lines[at].clone());
            *text = lines.join("\n");
        }
        Edit::DeleteLine(i) => {
            lines.remove(i.index(lines.len()));
            *text = lines.join("\n");
        }
        Edit::SwapLines(a, b) => {
            let n = lines.len();
            lines.swap(a.index(n), b.index(n));
            *text = lines.join("\n");
        }
        Edit::Indent(i, n) => {
            let at = i.index(lines.len());
            lines[at].insert_str(0, &" ".repeat(*n));
            *text = lines.join("\n");
        }
    }
}

fn mutated() -> impl Strategy<Value = String> {
    (any::<Index>(), prop::collection::vec(arb_edit(), 1..5)).prop_map(|(pick, edits)| {
        let seeds = seeds();
        let mut text = seeds[pick.index(seeds.len())].clone();
        for e in &edits {
            apply_edit(&mut text, e);
        }
        text
    })
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn yaml_token_soup(text in soup()) {
        check(&text);
    }

    #[test]
    fn tree_mutated_real_manifests(text in tree_mutated()) {
        check(&text);
    }

    #[test]
    fn mutated_real_manifests(text in mutated()) {
        check(&text);
    }
}

/// The seeds themselves pass the checks (most are accepted: the round trip runs on them).
#[test]
fn seeds_pass() {
    for s in seeds() {
        check(s);
    }
}

/// Found by probing the size limits (the fuzzers' inputs stay under 64 KiB): an unknown
/// kind made `humanize::closest` measure its edit distance to every kind name, time that
/// grew with its length: ~7 s for 4 MB in a release build. Now a name far longer than any
/// candidate is not measured.
#[test]
fn long_unknown_kind_is_cheap() {
    let long = "S".repeat(2 << 20);
    check(&format!(
        "apiVersion: ecs/v1\nkind: {long}\nmetadata: {{name: x}}\nspec: {{}}\n"
    ));
}

/// Every input a fuzzer found a problem with, kept in tests/fuzz_regressions/.
#[test]
fn fuzz_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let files: Vec<PathBuf> = files_under(&dir)
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    for f in &files {
        let bytes = std::fs::read(f).expect("readable");
        eprintln!("replaying {}", f.display());
        check(&String::from_utf8_lossy(&bytes));
    }
}
