//! Printers: aligned tables, YAML and JSON, and the kubectl-describe-like text.
//!
//! Objects arrive from the server as JSON and are read leniently here: a field a controller has
//! not written yet shows as `-` (or 0 for counts), never as an error.

pub mod columns;
pub mod describe;
pub mod fields;
pub mod lb;
pub mod progress;
pub mod table;

use anyhow::Result;
use serde_json::Value;

/// `-o` of `ecsctl get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Wide,
    Yaml,
    Json,
}

/// Writes to stdout, with every control character but newlines and tabs escaped
/// (`api::text::escape_keep_lines`): the last line of defence for text that came from the
/// server (tables and describe escape their cells already; JSON escapes in its own syntax).
/// A closed pipe ends the program quietly (as `head` expects); any other write error ends it
/// with one line.
pub fn emit(text: &str) {
    emit_raw(&api::text::escape_keep_lines(text));
}

/// Writes to stdout as it is: only for a container's own output (`ecsctl logs`), which is the
/// container's to shape, as `docker logs` prints it.
pub fn emit_raw(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!(
            "error: cannot write to stdout: {}",
            crate::error::io_reason(&e)
        );
        std::process::exit(1);
    }
}

/// Pretty JSON with a trailing newline. serde_json escapes C0 controls; DEL, C1 controls
/// and the bidirectional overrides are escaped here as `\uXXXX`, still valid JSON (they can
/// only be inside strings: outside them, pretty JSON has spaces and newlines alone).
pub fn json(v: &Value) -> Result<String> {
    let s = serde_json::to_string_pretty(v)?;
    let mut out = String::with_capacity(s.len() + 1);
    for c in s.chars() {
        if c != '\n' && api::text::is_control(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    Ok(out)
}

/// One YAML document.
pub fn yaml(v: &Value) -> Result<String> {
    let mut s = serde_saphyr::to_string(v)?;
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// A `---`-separated YAML stream, one document per item.
pub fn yaml_stream(items: &[Value]) -> Result<String> {
    let mut s = serde_saphyr::to_string_multiple(items)?;
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// Lower-case singular kind, as in `service/web created`.
pub fn kind_word(kind: api::Kind) -> String {
    kind.as_str().to_ascii_lowercase()
}

/// `kind/name` for a result line; `name` gets `:N` for task definition revisions.
pub fn ref_name(kind_text: &str, name: &str, revision: Option<u64>) -> String {
    let kind = api::Kind::parse_user(kind_text);
    let word = kind.map_or_else(|| kind_text.to_ascii_lowercase(), kind_word);
    match revision {
        Some(n) if kind.is_some_and(api::Kind::is_revisioned) && !name.contains(':') => {
            format!("{word}/{name}:{n}")
        }
        _ => format!("{word}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn result_names() {
        assert_eq!(
            ref_name("TaskDefinition", "web", Some(2)),
            "taskdefinition/web:2"
        );
        assert_eq!(
            ref_name("TaskDefinition", "web:3", Some(3)),
            "taskdefinition/web:3"
        );
        assert_eq!(ref_name("Service", "web", Some(7)), "service/web");
        assert_eq!(ref_name("Cluster", "default", None), "cluster/default");
    }

    #[test]
    fn json_and_yaml_escape_control_characters() {
        let v = json!({"reason": "a\u{1b}[2J\u{7f}\u{9b}\u{202e}\nb"});
        let j = json(&v).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&j).unwrap(),
            v,
            "still valid JSON, same value: {j}"
        );
        assert!(
            j.trim_end()
                .chars()
                .all(|c| c == '\n' || !api::text::is_control(c)),
            "{j:?}"
        );
        // The YAML emitter escapes C0 and C1 controls in double quotes itself.
        let y = yaml(&v).unwrap();
        assert!(!y.contains('\u{1b}') && !y.contains('\u{9b}'), "{y:?}");
    }

    #[test]
    fn yaml_streams_are_separated() {
        let s = yaml_stream(&[json!({"a": 1}), json!({"b": [1, 2]})]).unwrap();
        assert!(s.contains("a: 1\n---\nb:"), "{s}");
        assert_eq!(
            yaml(&json!({"x": "web", "i": "nginx:1.25", "count": 3})).unwrap(),
            "x: web\ni: nginx:1.25\ncount: 3\n"
        );
    }
}
