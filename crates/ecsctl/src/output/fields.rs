//! Lenient reading of JSON fields, and ages as kubectl prints them.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The value at a JSON pointer, as text (strings bare, numbers and booleans printed);
/// `None` when absent, null, or not a scalar.
pub fn text(v: &Value, ptr: &str) -> Option<String> {
    scalar(v.pointer(ptr)?)
}

/// A scalar as text; control characters in a string are escaped (`\u{1b}`), since what the
/// server sends may quote what a user wrote.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(api::text::escape(s).into_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The text at `ptr`, or `-`.
pub fn or_dash(v: &Value, ptr: &str) -> String {
    text(v, ptr).unwrap_or_else(|| "-".to_string())
}

/// The number at `ptr`, or 0 (counts that no controller has written yet).
pub fn count(v: &Value, ptr: &str) -> String {
    text(v, ptr).unwrap_or_else(|| "0".to_string())
}

/// The array at `ptr`, or an empty one.
pub fn array<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Parses an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// The age of an object from its `metadata.creationTimestamp`, or `-`.
pub fn age(obj: &Value, now: OffsetDateTime) -> String {
    text(obj, "/metadata/creationTimestamp")
        .and_then(|t| parse_time(&t))
        .map_or_else(|| "-".to_string(), |t| human_duration(now - t))
}

/// Ages as kubectl prints them: `45s`, `3m20s`, `25m`, `5h10m`, `20h`, `3d4h`, `40d`, `2y`.
pub fn human_duration(d: time::Duration) -> String {
    let secs = d.whole_seconds().max(0);
    let (m, h, day) = (60, 3600, 86400);
    if secs < 2 * m {
        format!("{secs}s")
    } else if secs < 10 * m {
        let s = secs % m;
        if s == 0 {
            format!("{}m", secs / m)
        } else {
            format!("{}m{s}s", secs / m)
        }
    } else if secs < 3 * h {
        format!("{}m", secs / m)
    } else if secs < 8 * h {
        let mm = (secs % h) / m;
        if mm == 0 {
            format!("{}h", secs / h)
        } else {
            format!("{}h{mm}m", secs / h)
        }
    } else if secs < 2 * day {
        format!("{}h", secs / h)
    } else if secs < 8 * day {
        let hh = (secs % day) / h;
        if hh == 0 {
            format!("{}d", secs / day)
        } else {
            format!("{}d{hh}h", secs / day)
        }
    } else if secs < 2 * 365 * day {
        format!("{}d", secs / day)
    } else {
        format!("{}y", secs / (365 * day))
    }
}

/// `k=v,k2=v2` of `metadata.labels`, or `<none>`.
pub fn labels(obj: &Value) -> String {
    match obj.pointer("/metadata/labels").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k}={}", scalar(v).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
        _ => "<none>".to_string(),
    }
}

/// `family:N` for a task definition revision, the plain name otherwise.
pub fn display_name(obj: &Value) -> String {
    let name = or_dash(obj, "/metadata/name");
    match text(obj, "/metadata/revision") {
        Some(n)
            if obj.get("kind").and_then(Value::as_str) == Some("TaskDefinition")
                && !name.contains(':') =>
        {
            format!("{name}:{n}")
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::Duration;

    #[test]
    fn durations_read_like_kubectl() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (200, "3m20s"),
            (600, "10m"),
            (3 * 3600 + 600, "3h10m"),
            (9 * 3600, "9h"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (40 * 86400, "40d"),
            (800 * 86400, "2y"),
            (-5, "0s"),
        ] {
            assert_eq!(human_duration(Duration::seconds(secs)), want, "{secs}");
        }
    }

    #[test]
    fn lenient_fields() {
        let o = json!({"kind": "TaskDefinition", "metadata": {"name": "web", "revision": 2, "labels": {"a": "b"}},
                        "spec": {"cpu": "256", "memory": 512, "x": null}});
        assert_eq!(display_name(&o), "web:2");
        assert_eq!(or_dash(&o, "/spec/cpu"), "256");
        assert_eq!(or_dash(&o, "/spec/memory"), "512");
        assert_eq!(or_dash(&o, "/spec/x"), "-");
        assert_eq!(count(&o, "/status/runningCount"), "0");
        assert_eq!(labels(&o), "a=b");
        let now = parse_time("2024-01-01T00:10:00Z").unwrap();
        let o = json!({"metadata": {"creationTimestamp": "2024-01-01T00:00:00Z"}});
        assert_eq!(age(&o, now), "10m");
    }
}
