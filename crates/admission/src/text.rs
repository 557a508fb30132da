//! Text that will reach a terminal must be printable ([`Rule::TerminalSafeText`]): names,
//! descriptions, tags, reasons (`ecsctl stop-task --reason`), `startedBy`, `group`,
//! annotations, images, environment variable names... are printed by `get`, `describe` and
//! `events`, and a control character in one (an ESC sequence) would be obeyed by the
//! terminal of whoever looks at it. So every string of an object is refused when it holds a
//! control character (`api::text::is_control`), except the few fields that are a program's
//! input and never printed by ecsctl, where newlines and tabs are common (a multi-line
//! `sh -c` script, a PEM value in an environment variable):
//!
//! - `containerDefinitions[].command`, `entryPoint`, `healthCheck.command` and
//!   `environment[].value` of a TaskDefinition;
//! - the same fields of a Task's `overrides.containerOverrides[]`;
//! - a Secret's `value`.
//!
//! Map keys count as strings too. Pure: no store.

use crate::{Problem, Rule};
use api::text::{describe_char, escape, first_control};
use api::{Kind, Object};
use serde_json::Value;

/// Most problems reported per object (a 10,000-entry map of bad keys says enough in 20).
const MAX_PER_OBJECT: usize = 20;

/// One step of a path inside an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg<'a> {
    Key(&'a str),
    Index,
}

/// A path pattern of a field that may hold control characters: keys, and `Index` for any
/// array element.
type Pattern = &'static [Seg<'static>];

use Seg::{Index as I, Key as K};

/// Fields of a TaskDefinition's spec that are a program's input.
const TASK_DEFINITION: &[Pattern] = &[
    &[K("containerDefinitions"), I, K("command"), I],
    &[K("containerDefinitions"), I, K("entryPoint"), I],
    &[
        K("containerDefinitions"),
        I,
        K("healthCheck"),
        K("command"),
        I,
    ],
    &[
        K("containerDefinitions"),
        I,
        K("environment"),
        I,
        K("value"),
    ],
];
/// Fields of a Task's spec that are a program's input.
const TASK: &[Pattern] = &[
    &[K("overrides"), K("containerOverrides"), I, K("command"), I],
    &[
        K("overrides"),
        K("containerOverrides"),
        I,
        K("environment"),
        I,
        K("value"),
    ],
];
/// A Secret's value is injected, never printed.
const SECRET: &[Pattern] = &[&[K("value")]];

/// Every string of the object (metadata and spec; status is the controllers') that holds a
/// control character, outside the fields of the module's list.
pub fn check_object(obj: &Object) -> Vec<Problem> {
    let exempt: &[Pattern] = match obj.kind {
        Kind::TaskDefinition => TASK_DEFINITION,
        Kind::Task => TASK,
        Kind::Secret => SECRET,
        _ => &[],
    };
    let mut found = Vec::new();
    let metadata = serde_json::to_value(&obj.metadata).unwrap_or(Value::Null);
    walk(&metadata, "metadata", &mut Vec::new(), &[], &mut found);
    walk(&obj.spec, "spec", &mut Vec::new(), exempt, &mut found);
    found
        .into_iter()
        .take(MAX_PER_OBJECT)
        .map(|(path, c)| Problem {
            object: obj.key(),
            rule: Rule::TerminalSafeText,
            message: format!(
                "{path} contains the control character {}: text that ecsctl prints must not hold control characters (remove it; only command, entryPoint, healthCheck.command and environment values may)",
                describe_char(c)
            ),
        })
        .collect()
}

/// Collects `(path, character)` for every string below `v` with a control character.
fn walk<'a>(
    v: &'a Value,
    shown: &str,
    at: &mut Vec<Seg<'a>>,
    exempt: &[Pattern],
    found: &mut Vec<(String, char)>,
) {
    if found.len() >= MAX_PER_OBJECT {
        return;
    }
    match v {
        Value::String(s) => {
            if let Some((_, c)) = first_control(s)
                && !exempt.contains(&at.as_slice())
            {
                found.push((shown.to_string(), c));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Seg::Index);
                walk(item, &format!("{shown}[{i}]"), at, exempt, found);
                at.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let path = format!("{shown}.{}", escape(k));
                if let Some((_, c)) = first_control(k) {
                    found.push((format!("{path} (the key)"), c));
                }
                at.push(Seg::Key(k));
                walk(item, &path, at, exempt, found);
                at.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: Kind, name: &str, spec: Value) -> Object {
        Object::new(kind, name, spec)
    }

    #[test]
    fn control_characters_in_printed_fields_are_refused() {
        let task = obj(
            Kind::Task,
            "t1",
            json!({"taskDefinition": "web", "stoppedReason": "bye\u{1b}]0;owned\u{7}",
                   "startedBy": "ci\r", "group": "ok"}),
        );
        let problems = check_object(&task);
        let text: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        assert_eq!(problems.len(), 2, "{text:#?}");
        assert!(
            text[0].starts_with("spec.stoppedReason contains the control character U+001B (ESC)"),
            "{}",
            text[0]
        );
        assert!(
            text[1].starts_with("spec.startedBy contains the control character U+000D (CR)"),
            "{}",
            text[1]
        );
        assert!(problems.iter().all(|p| p.rule == Rule::TerminalSafeText));
    }

    #[test]
    fn program_input_may_hold_newlines() {
        let td = obj(
            Kind::TaskDefinition,
            "web",
            json!({"containerDefinitions": [{"name": "app", "image": "x", "memory": 8,
                "command": ["sh", "-c", "echo a\necho b"],
                "environment": [{"name": "PEM", "value": "-----BEGIN-----\nabc\n"}],
                "healthCheck": {"command": ["CMD-SHELL", "test -f /ok\t"]}}]}),
        );
        assert_eq!(check_object(&td), vec![]);
        let bad = obj(
            Kind::TaskDefinition,
            "web",
            json!({"containerDefinitions": [{"name": "app", "image": "x\u{9b}", "memory": 8,
                "environment": [{"name": "A\nB", "value": "v"}],
                "dockerLabels": {"k\u{1b}": "v"}}],
                "tags": [{"key": "team", "value": "a\u{202e}b"}]}),
        );
        let text: Vec<String> = check_object(&bad).into_iter().map(|p| p.message).collect();
        assert_eq!(text.len(), 4, "{text:#?}");
        assert!(
            text[0].starts_with("spec.containerDefinitions[0].image contains"),
            "{}",
            text[0]
        );
        assert!(
            text[1].starts_with("spec.containerDefinitions[0].environment[0].name contains"),
            "{}",
            text[1]
        );
        assert!(
            text[2].starts_with("spec.containerDefinitions[0].dockerLabels.k\\u{1b} (the key)"),
            "{}",
            text[2]
        );
        assert!(
            text[3].starts_with("spec.tags[0].value contains"),
            "{}",
            text[3]
        );
        let secret = obj(Kind::Secret, "pem", json!({"value": "a\nb"}));
        assert_eq!(check_object(&secret), vec![]);
    }

    #[test]
    fn annotations_are_checked_and_reports_are_bounded() {
        let mut o = obj(Kind::Service, "web", json!({"taskDefinition": "web"}));
        o.metadata
            .annotations
            .insert("note".into(), "\u{1b}[2J".into());
        let problems = check_object(&o);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .message
                .starts_with("metadata.annotations.note contains")
        );
        let many: serde_json::Map<String, Value> = (0..100)
            .map(|i| (format!("k{i}\u{1b}"), json!("v")))
            .collect();
        let o = obj(Kind::TaskDefinition, "web", json!({"x": many}));
        assert_eq!(check_object(&o).len(), MAX_PER_OBJECT);
    }
}
