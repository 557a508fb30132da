//! Reading YAML (and JSON, which is YAML too) into a tree that remembers where every value
//! came from, so that any error, however late it is found, can name a line and column.

use crate::diag::Diagnostic;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// Inputs larger than this are refused before parsing.
pub const MAX_SOURCE_BYTES: usize = 8 * 1024 * 1024;

/// File extensions read as manifests (any case) when a directory is applied or synced.
pub const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Whether a file name is a manifest's (`*.yaml`, `*.yml`, `*.json`): one rule for
/// `ecsctl apply -f DIR` and GitOps syncs.
pub fn is_manifest_name(p: &std::path::Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        MANIFEST_EXTENSIONS
            .iter()
            .any(|m| e.eq_ignore_ascii_case(m))
    })
}
/// A stream with more documents than this is refused (serde-saphyr's budget enforces it
/// while parsing, as it does nesting depth, node and alias counts).
pub const MAX_DOCUMENTS: usize = 1_024;

/// A value with the position (1-based line and column) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: u32,
    pub column: u32,
    pub value: NodeValue,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Scalar(serde_json::Value),
    Seq(Vec<Node>),
    /// Keys keep their order; duplicates were refused by the parser.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The node's value as JSON (positions dropped).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            NodeValue::Scalar(v) => v.clone(),
            NodeValue::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            NodeValue::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The child at a map key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The deepest node along `path` (`a.b[2].c`), and whether the whole path was found.
    /// Errors about a missing field point at the object that lacks it.
    pub fn locate(&self, path: &str) -> (&Node, bool) {
        let mut node = self;
        let mut rest = path;
        loop {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            if rest.is_empty() {
                return (node, true);
            }
            match node.step(rest) {
                Some((next, after)) => (node, rest) = (next, after),
                None => return (node, false),
            }
        }
    }

    /// The child the start of `path` names and the path after it: `[N]` in a list, else the
    /// longest key of a map that `path` starts with, followed by `.`, `[` or the end (keys
    /// may hold dots and brackets themselves: `metadata.labels.ecsctl.dev/source`).
    fn step<'p>(&self, path: &'p str) -> Option<(&Node, &'p str)> {
        match &self.value {
            NodeValue::Seq(items) => {
                let inner = path.strip_prefix('[')?;
                let close = inner.find(']')?;
                let i: usize = inner[..close].parse().ok()?;
                Some((items.get(i)?, &inner[close + 1..]))
            }
            NodeValue::Map(entries) => entries
                .iter()
                .filter(|(k, _)| {
                    !k.is_empty()
                        && path.starts_with(k.as_str())
                        && matches!(path[k.len()..].chars().next(), None | Some('.' | '['))
                })
                .max_by_key(|(k, _)| k.len())
                .map(|(k, n)| (n, &path[k.len()..])),
            NodeValue::Scalar(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<NodeValue>::deserialize(d)?;
        Ok(Node {
            line: s.referenced.line() as u32,
            column: s.referenced.column() as u32,
            value: s.value,
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        serde_json::Number::from_f64(v)
            .map(|n| NodeValue::Scalar(serde_json::Value::Number(n)))
            .ok_or_else(|| E::custom("non-finite numbers (.inf, .nan) are not allowed"))
    }
    fn visit_str<E>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(v.into()))
    }
    fn visit_string<E>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(v.into()))
    }
    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(serde_json::Value::Null))
    }
    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar(serde_json::Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<KeyScalar>()? {
            let v = map.next_value::<Node>()?;
            entries.push((k.0, v));
        }
        Ok(NodeValue::Map(entries))
    }
}

/// A mapping key: any scalar, kept as its text.
struct KeyScalar(String);

impl<'de> Deserialize<'de> for KeyScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Keys are read as text, so `y:` or `on:` stay keys and do not turn into booleans.
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyScalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a plain mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyScalar, E> {
                Ok(KeyScalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyScalar, E> {
                Ok(KeyScalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyScalar, E> {
                Ok(KeyScalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyScalar, E> {
                Ok(KeyScalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyScalar, E> {
                Ok(KeyScalar(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<KeyScalar, E> {
                Ok(KeyScalar("null".into()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Parses a YAML stream (or a JSON document) into positioned trees, one per document.
/// Empty documents are skipped. Size, document count, nesting depth and alias expansion
/// are bounded so that hostile input fails fast.
pub fn parse_stream(source: &str, text: &str) -> Result<Vec<Node>, Diagnostic> {
    if text.len() > MAX_SOURCE_BYTES {
        return Err(Diagnostic::source_level(
            source,
            format!(
                "file is {} bytes; the limit is {} bytes (split it into several files)",
                text.len(),
                MAX_SOURCE_BYTES
            ),
        ));
    }
    if text.contains('\0') {
        return Err(Diagnostic::source_level(
            source,
            "file holds binary data (a NUL byte), not YAML or JSON",
        ));
    }
    let options = serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
    };
    let docs: Vec<Option<Node>> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| yaml_error(source, &e))?;
    let docs: Vec<Node> = docs
        .into_iter()
        .flatten()
        .filter(|n| n.value != NodeValue::Scalar(serde_json::Value::Null))
        .collect();
    Ok(docs)
}

fn yaml_error(source: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let loc = e.location();
    let mut message = e.to_string();
    // The library prefixes its own position; we print ours in front instead.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    if message.starts_with("cannot deserialize null into string") {
        // The only strings read straight from YAML are mapping keys (see `KeyScalar`).
        message =
            "a mapping key is empty or null (`: value` or `~: value`): every key needs a name"
                .to_string();
    }
    if message.contains("recursion limit exceeded") {
        message = "budget breached: Depth".to_string();
    }
    if let Some(breach) = message.strip_prefix("budget breached: ") {
        let what = breach.split([' ', '{']).next().unwrap_or(breach);
        message = match what {
            "Documents" => format!(
                "more than {MAX_DOCUMENTS} documents in one file; split it into several files"
            ),
            "Depth" => "nested too deeply (more than 64 levels)".to_string(),
            "Aliases" | "Anchors" | "Events" | "Nodes" => {
                format!(
                    "the document expands to too many values ({what} limit; is it a YAML alias bomb?)"
                )
            }
            _ => format!("the document exceeds a size limit ({what})"),
        };
        return Diagnostic {
            source: source.to_string(),
            document: None,
            line: loc.map(|l| l.line() as u32),
            column: loc.map(|l| l.column() as u32),
            path: String::new(),
            message,
        };
    }
    Diagnostic {
        source: source.to_string(),
        document: None,
        line: loc.map(|l| l.line() as u32),
        column: loc.map(|l| l.column() as u32),
        path: String::new(),
        message: format!("invalid YAML: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_kept() {
        let docs = parse_stream(
            "t.yaml",
            "a: 1\nb:\n  - x: [1, 2]\n    y: hi\n---\nc: true\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        let (n, found) = docs[0].locate("b[0].y");
        assert!(found);
        assert_eq!((n.line, n.column), (4, 8));
        let (n, found) = docs[0].locate("b[0].x[1]");
        assert!(found);
        assert_eq!((n.line, n.column), (3, 12));
        let (n, found) = docs[0].locate("b[0].zzz");
        assert!(!found);
        assert_eq!(n.line, 3);
        assert_eq!(docs[1].to_json(), serde_json::json!({"c": true}));
    }

    #[test]
    fn scalars_keep_yaml_types() {
        let docs = parse_stream(
            "t.yaml",
            "a: 8080\nb: \"8080\"\nc: 1.5\nd: ~\ny: yes\nn: false\n",
        )
        .unwrap();
        assert_eq!(
            docs[0].to_json(),
            serde_json::json!({"a": 8080, "b": "8080", "c": 1.5, "d": null, "y": "yes", "n": false})
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_stream("t.yaml", "a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn json_parses() {
        let docs = parse_stream("t.json", "{\n\t\"a\": [1,\n\t\t{\"b\": \"c\"}]\n}\n").unwrap();
        assert_eq!(docs[0].to_json(), serde_json::json!({"a": [1, {"b": "c"}]}));
    }
}
