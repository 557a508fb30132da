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

extern crate ecsctl_api as api;

mod fuzzing;

use fuzzing::{config, files_under, repo_root};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest time one input may take (a debug build on a loaded machine: generous).
const SLOW: Duration = Duration::from_secs(5);

/// [`fuzzing::checks::check_manifest`], within a bounded time (a hang guard: a debug build
/// on a loaded machine takes milliseconds).
fn check(text: &str) {
    let start = Instant::now();
    fuzzing::checks::check_manifest(text);
    let took = start.elapsed();
    assert!(took < SLOW, "took {took:?} for {} bytes", text.len());
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
