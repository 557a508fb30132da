//! `ecsctl diff -f PATH...`: what apply would change, as a unified diff of live vs local.

use crate::client::{Client, objects_path};
use crate::error::{Reported, is_not_found, usage};
use crate::input;
use crate::output::{self, kind_word};
use anyhow::Result;
use api::Kind;
use api::parse::ParseOptions;
use api::secret::SecretStatus;
use api::wire::{ApplyAction, ApplyRequest, ApplyResponse};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use similar::TextDiff;
use std::io::IsTerminal;

/// Show what `apply -f` would change, as a unified diff of live vs local
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl diff -f web.yaml
  ecsctl diff -f manifests/ && echo up to date

Compares labels and spec; for a task definition, against its latest revision. An object that
does not exist yet shows as all added.

EXIT CODES (as kubectl diff):
  0  no differences
  1  differences found
  2  usage or input error (invalid manifests)
  3  any other error (e.g. the server cannot be reached)")]
pub struct Args {
    /// A manifest file, a directory (recursive), or `-` for stdin
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true, num_args = 1..)]
    pub files: Vec<String>,
    /// In ECS JSON, warn about (instead of refusing) ECS fields ecsctl does not implement yet
    #[arg(long)]
    pub warn_unknown: bool,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let loaded = input::load(
        &args.files,
        &ParseOptions {
            warn_unknown: args.warn_unknown,
        },
        "",
    )?;
    if loaded.is_empty() {
        return Err(usage(format!(
            "no objects found in {}",
            args.files.join(", ")
        )));
    }
    let color = std::io::stdout().is_terminal();
    let mut differ = false;
    for l in &loaded {
        let o = &l.object;
        let cluster = o.metadata.cluster_or_default();
        let live = match client
            .get(&objects_path(
                o.kind,
                Some(&o.metadata.name),
                Some(cluster),
                None,
            ))
            .await
        {
            Ok(v) => Some(v),
            Err(e) if is_not_found(&e) => None,
            Err(e) => return Err(e),
        };
        let mut local = serde_json::to_value(o)?;
        let mut live = live;
        if o.kind == Kind::Secret {
            hide_secret_values(&client, &mut local, live.as_mut()).await?;
        }
        let old = match &live {
            Some(v) => output::yaml(&comparable(v))?,
            None => String::new(),
        };
        let new = output::yaml(&comparable(&local))?;
        if old == new {
            continue;
        }
        differ = true;
        let id = format!("{}/{}", kind_word(o.kind), o.metadata.name);
        let text = unified(&old, &new, &format!("live/{id}"), &format!("local/{id}"));
        out!("{}", if color { colorize(&text) } else { text });
    }
    if differ {
        Err(Reported(1).into())
    } else {
        Ok(())
    }
}

/// A Secret's value is never printed: both sides show `(hidden, N bytes)`, and whether the
/// server holds the same value is asked of the server (a dry-run apply with the live labels,
/// so that only the value can make a difference), since only it has the value.
async fn hide_secret_values(
    client: &Client,
    local: &mut Value,
    live: Option<&mut Value>,
) -> Result<()> {
    let Some(value) = local.pointer("/spec/value").and_then(Value::as_str) else {
        if let Some(live) = live {
            hide(live, held_bytes(live), "");
        }
        return Ok(());
    };
    let local_bytes = value.len() as u64;
    let same = match &live {
        Some(l) if held_bytes(l).is_some() => {
            let mut probe = local.clone();
            probe["metadata"]["labels"] =
                l.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
            probe["metadata"]["annotations"] = l
                .pointer("/metadata/annotations")
                .cloned()
                .unwrap_or(json!({}));
            let answer: ApplyResponse = client
                .post(
                    "/v1/apply?dryRun=true",
                    &ApplyRequest {
                        objects: vec![probe],
                    },
                )
                .await?;
            answer.results.first().map(|r| r.action) == Some(ApplyAction::Unchanged)
        }
        _ => false,
    };
    if let Some(live) = live {
        hide(live, held_bytes(live), "");
    }
    hide(
        local,
        Some(local_bytes),
        if same { "" } else { ", changed" },
    );
    Ok(())
}

/// The size of the value the server holds for a live Secret (its SecretStatus), if it holds
/// one from a manifest.
fn held_bytes(live: &Value) -> Option<u64> {
    let status = SecretStatus::deserialize(live.get("status")?).ok()?;
    status.value_bytes.map(|n| n as u64)
}

fn hide(obj: &mut Value, bytes: Option<u64>, note: &str) {
    if let (Some(n), Some(spec)) = (bytes, obj.get_mut("spec").and_then(Value::as_object_mut)) {
        spec.insert("value".into(), json!(format!("(hidden, {n} bytes{note})")));
    }
}

/// The part of an object apply sets: labels and spec, keys sorted so that order never differs.
fn comparable(obj: &Value) -> Value {
    let labels = obj
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    sorted(json!({ "metadata": { "labels": labels }, "spec": spec }))
}

/// Keys sorted at every depth: the order a manifest wrote them in is no change (here and in
/// the console's task definition diff).
pub(crate) fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

fn colorize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let code = if body.starts_with("---") || body.starts_with("+++") {
            "1"
        } else if body.starts_with('-') {
            "31"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m"));
            if line.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_matter() {
        let a = json!({"metadata": {"name": "x", "labels": {"b": "1", "a": "2"}}, "spec": {"z": 1, "a": {"y": 2, "x": 1}}});
        let b = json!({"spec": {"a": {"x": 1, "y": 2}, "z": 1}, "metadata": {"labels": {"a": "2", "b": "1"}, "resourceVersion": 5},
                       "status": {"runningCount": 1}});
        assert_eq!(
            output::yaml(&comparable(&a)).unwrap(),
            output::yaml(&comparable(&b)).unwrap()
        );
    }

    #[test]
    fn unified_headers() {
        let d = unified("a: 1\n", "a: 2\n", "live/service/web", "local/service/web");
        assert!(
            d.starts_with("--- live/service/web\n+++ local/service/web\n@@"),
            "{d}"
        );
        assert!(d.contains("-a: 1\n+a: 2\n"), "{d}");
        let c = colorize(&d);
        assert!(c.contains("\x1b[31m-a: 1\x1b[0m\n"), "{c:?}");
    }
}
