//! The apply request decoder (`POST /v1/apply` before the store) under random input, in the
//! normal test run: a bounded proptest stand-in for the cargo-fuzz target `api_request`
//! (fuzz/, `scripts/fuzz.sh`), with the same checks. Inputs: arbitrary bytes, a soup of JSON
//! syntax and manifest words, and real request bodies (the objects of manifests/ and
//! tests/corpus/ecs) with random edits of their JSON tree. Whatever the body,
//! `decode_apply_request`:
//! - does not panic, and answers within a bounded time;
//! - refuses with a message (and no empty detail), or accepts only writable kinds, and what
//!   it accepts encodes and decodes again to the same objects.
//!
//! Bodies the fuzzers found a problem with are kept in tests/fuzz_regressions/ and replayed
//! here. Failure persistence is off; a failure prints the shrunk input: save it there.

#[allow(dead_code)]
#[path = "../../api/tests/fuzzing/mod.rs"]
mod fuzzing;

use ecsctl_server::decode_apply_request;
use fuzzing::{config, files_under, repo_root};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// Longest time one body may take (a debug build on a loaded machine: generous).
const SLOW: Duration = Duration::from_secs(5);

fn check(body: &[u8]) {
    let start = Instant::now();
    match decode_apply_request(body) {
        Ok(objects) => {
            for o in &objects {
                assert!(o.kind.is_user_writable(), "accepted a {} object", o.kind);
            }
            let again = json!({ "objects": objects }).to_string();
            match decode_apply_request(again.as_bytes()) {
                Ok(back) => assert_eq!(back, objects, "re-encoding changed the objects"),
                Err(e) => panic!("our own encoding is refused: {e:?}\n{again}"),
            }
        }
        Err((error, details)) => {
            assert!(!error.is_empty(), "a refusal without a message");
            assert!(details.iter().all(|d| !d.is_empty()), "an empty detail");
        }
    }
    let took = start.elapsed();
    assert!(took < SLOW, "took {took:?} for {} bytes", body.len());
}

/// Request bodies as the CLI sends them: the objects of every seed manifest that parses
/// (as JSON trees), and the committed seeds of the fuzz target.
fn seed_bodies() -> &'static [Value] {
    static SEEDS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = repo_root();
        let mut files = files_under(&root.join("manifests"));
        files.extend(files_under(&root.join("tests/corpus/ecs")));
        let mut bodies: Vec<Value> = files
            .iter()
            .filter(|p| api::source::is_manifest_name(p))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|text| {
                let opts = api::parse::ParseOptions { warn_unknown: true };
                api::parse::parse_source("seed", &text, &opts).ok()
            })
            .map(|docs| {
                let objects: Vec<&api::Object> = docs.iter().map(|d| &d.object).collect();
                json!({ "objects": objects })
            })
            .collect();
        bodies.extend(
            files_under(&root.join("fuzz/seeds/api_request"))
                .iter()
                .filter_map(|p| std::fs::read(p).ok())
                .filter_map(|b| serde_json::from_slice(&b).ok()),
        );
        assert!(bodies.len() > 10, "seed manifests not found under {root:?}");
        bodies
    })
}

/// JSON syntax, awkward numbers and escapes, and the words of objects.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\"\"",
    " ",
    "\n",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "-1",
    "1.5",
    "1e400",
    "-1e400",
    "4294967296",
    "18446744073709551616",
    "-9223372036854775809",
    "0.0000001",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\\\"",
    "\\n",
    "\u{feff}",
    "é",
    "{\"objects\": [",
    "]}",
    "\"objects\"",
    "\"apiVersion\"",
    "\"ecs/v1\"",
    "\"kind\"",
    "\"TaskDefinition\"",
    "\"Service\"",
    "\"Cluster\"",
    "\"Task\"",
    "\"Autoscaler\"",
    "\"LoadBalancer\"",
    "\"Secret\"",
    "\"Deployment\"",
    "\"metadata\"",
    "\"name\"",
    "\"web\"",
    "\"cluster\"",
    "\"labels\"",
    "\"resourceVersion\"",
    "\"uid\"",
    "\"generation\"",
    "\"revision\"",
    "\"spec\"",
    "\"status\"",
    "\"containerDefinitions\"",
    "\"image\"",
    "\"memory\"",
    "\"cpu\"",
    "\"portMappings\"",
    "\"containerPort\"",
    "\"desiredCount\"",
    "\"taskDefinition\"",
    "\"listeners\"",
    "\"port\"",
];

/// A string of fragments, often JSON-shaped, seldom valid.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let word = prop_oneof![
        8 => select(FRAGMENTS).prop_map(String::from),
        1 => "[a-z0-9_-]{1,8}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(word, 0..60).prop_map(|v| v.concat().into_bytes())
}

/// Random JSON with object words as keys.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..70_000).prop_map(Value::from),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(Value::Number),
        select(FRAGMENTS).prop_map(|s| Value::from(s.trim_matches('"'))),
        "[ -~]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((select(FRAGMENTS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.trim_matches('"').to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// One random edit of a JSON tree, at the node with that preorder index.
#[derive(Debug, Clone)]
enum TreeEdit {
    Replace(Index, Value),
    SetKey(Index, &'static str, Value),
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

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// The node with preorder index `n`.
fn nth_node<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        Value::Array(items) => items.iter_mut().find_map(|c| nth_node(c, n)),
        Value::Object(m) => m.values_mut().find_map(|c| nth_node(c, n)),
        _ => None,
    }
}

fn apply_tree_edit(doc: &mut Value, edit: &TreeEdit) {
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
            m.insert(k.trim_matches('"').to_string(), v.clone());
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

/// A real request body with edits of its tree, then sometimes a cut or an inserted
/// fragment in the text.
fn mutated_body() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<Index>(),
        prop::collection::vec(arb_tree_edit(), 0..4),
        proptest::option::weighted(0.2, (any::<Index>(), select(FRAGMENTS), any::<bool>())),
    )
        .prop_map(|(pick, edits, text_edit)| {
            let bodies = seed_bodies();
            let mut body = bodies[pick.index(bodies.len())].clone();
            for e in &edits {
                apply_tree_edit(&mut body, e);
            }
            let mut text = body.to_string().into_bytes();
            if let Some((at, fragment, cut)) = text_edit {
                let at = at.index(text.len() + 1);
                if cut {
                    text.truncate(at);
                } else {
                    text.splice(at..at, fragment.bytes());
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&body);
    }

    #[test]
    fn json_token_soup(body in soup()) {
        check(&body);
    }

    #[test]
    fn mutated_real_requests(body in mutated_body()) {
        check(&body);
    }
}

/// What the CLI sends for every seed manifest is accepted.
#[test]
fn seeds_are_accepted() {
    for body in seed_bodies() {
        let text = body.to_string();
        if text.contains("\"Deployment\"") {
            continue; // a seed of the fuzz target that must be refused
        }
        if let Err(e) = decode_apply_request(text.as_bytes()) {
            panic!("refused: {e:?}\n{text}");
        }
    }
}

/// Found by probing the size limits (the fuzzers' inputs stay under 64 KiB): an unknown
/// field's name was compared by edit distance with every known field, time that grew with
/// its length: ~25 s of a server thread for a 4 MB name in a release build (the body limit
/// is 16 MiB). Now a name far longer than any candidate is not measured.
#[test]
fn long_unknown_field_is_cheap() {
    let key = "x".repeat(4 << 20);
    let body = json!({"objects": [{
        "apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"taskDefinition": "web", key: 1},
    }]});
    check(body.to_string().as_bytes());
}

/// Every body a fuzzer found a problem with, kept in tests/fuzz_regressions/.
#[test]
fn fuzz_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for f in files_under(&dir)
        .iter()
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
    {
        eprintln!("replaying {}", f.display());
        check(&std::fs::read(f).expect("readable"));
    }
}
