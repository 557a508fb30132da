//! Turns serde's messages into ecsctl's: "expected X, got Y", with hints.

/// Rewrites one serde error message.
pub fn serde_message(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("invalid type: ")
        && let Some((got, expected)) = rest.split_once(", expected ")
    {
        let got = describe_unexpected(got);
        let mut m = format!("expected {}, got {got}", plain(expected));
        if got.starts_with('"') && crate::names::has_placeholder(&got) {
            m.push_str(" (an unrendered template placeholder)");
        }
        return m;
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ")
        && let Some((got, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {expected}, got {}", describe_unexpected(got));
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `")
        && let Some((got, tail)) = rest.split_once('`')
    {
        let options = tail
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .replace('`', "");
        let mut m = format!("expected one of {options}, got {got:?}");
        if looks_like_template(got) {
            m.push_str(" (an unrendered template placeholder)");
        }
        return m;
    }
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some((field, tail)) = rest.split_once('`')
    {
        let known: Vec<&str> = tail
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s)
            .collect();
        let mut m = format!("unknown field {field:?}");
        if let Some(best) = closest(field, &known) {
            m.push_str(&format!(" (did you mean {best:?}?)"));
        }
        return m;
    }
    if let Some(rest) = msg.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return format!("missing required field {field:?}");
    }
    msg.to_string()
}

/// serde's names for shapes, in the words of YAML users.
fn plain(expected: &str) -> String {
    expected
        .replace("a sequence", "a list")
        .replace("struct ", "")
}

fn describe_unexpected(got: &str) -> String {
    if let Some(s) = got.strip_prefix("string ") {
        return s.to_string();
    }
    for prefix in ["integer ", "floating point ", "boolean "] {
        if let Some(v) = got.strip_prefix(prefix) {
            return v.trim_matches('`').to_string();
        }
    }
    match got {
        "map" => "a map".into(),
        "sequence" => "a list".into(),
        "unit value" | "null" => "null".into(),
        other => other.to_string(),
    }
}

/// Whether a value looks like a template placeholder nobody rendered
/// (`{{ must_env "X" }}`, `${VAR}`, `<CLUSTER_NAME>`, `{INSERT ...}`).
pub fn looks_like_template(s: &str) -> bool {
    s.contains("{{")
        || s.contains("${")
        || (s.starts_with('<') && s.ends_with('>'))
        || (s.starts_with('{') && s.ends_with('}'))
}

/// The known name closest to `field` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(field: &str, known: &[&'a str]) -> Option<&'a str> {
    let f = field.to_ascii_lowercase();
    let len = f.chars().count();
    known
        .iter()
        // The distance is at least the difference in length: names too far apart are skipped
        // unmeasured, so that a huge input (a 4 MB field name) costs no more than reading it.
        .filter(|k| len.abs_diff(k.chars().count()) <= (k.len() / 3).max(2))
        .map(|k| (levenshtein(&f, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min()
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites() {
        assert_eq!(
            serde_message("invalid type: string \"http\", expected an integer 1..65535"),
            "expected an integer 1..65535, got \"http\""
        );
        assert_eq!(
            serde_message(
                "unknown variant `{{networkmode}}`, expected one of `bridge`, `host`, `awsvpc`, `none`"
            ),
            "expected one of bridge, host, awsvpc, none, got \"{{networkmode}}\" (an unrendered template placeholder)"
        );
        assert_eq!(
            serde_message(
                "unknown field `portBindings`, expected one of `name`, `image`, `portMappings`"
            ),
            "unknown field \"portBindings\" (did you mean \"portMappings\"?)"
        );
        assert_eq!(
            serde_message("missing field `image`"),
            "missing required field \"image\""
        );
        assert_eq!(
            serde_message("invalid type: map, expected a string"),
            "expected a string, got a map"
        );
    }
}
