//! Object names and what is derived from them.
//!
//! Every kind's name is an ECS name ([`check_ecs_name`]): 1..255 letters, digits, `-` and `_`,
//! case kept, as ECS names clusters, task definition families and services. Kinds ECS does not
//! have (Autoscaler, LoadBalancer, Secret) follow the same rule, so one rule holds everywhere.
//! The name is the object's identity: `Web_App` and `web-app` are two objects, as in ECS.
//!
//! Where something stricter than an ECS name is needed (a DNS name on a cluster network), it
//! is derived with [`dns_alias`], the one function that makes DNS names out of object names.
//! Two objects whose aliases are the same are refused at apply time (the admission crate's
//! alias rule), so an alias always names one object.

use crate::hash::Fnv;
use crate::humanize::looks_like_template;

/// Longest ECS name.
pub const MAX_NAME: usize = 255;

/// Longest DNS label (RFC 1035).
pub const MAX_DNS_LABEL: usize = 63;

/// The rule as messages and schemas state it.
pub const ECS_NAME_RULE: &str = "letters, digits, '-' and '_', 1..255 characters";

/// The JSON Schema pattern of an ECS name.
pub const ECS_NAME_PATTERN: &str = r"^[A-Za-z0-9_-]{1,255}$";

/// Whether `name` is an ECS name: 1..255 of `[A-Za-z0-9_-]`.
pub fn is_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks an ECS name; the error says what is wrong (an unrendered placeholder, a character
/// ECS refuses, the length) without naming the field, which the caller adds.
pub fn check_ecs_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if looks_like_template(name) || has_shell_variable(name) {
        return Err(format!("{name:?} is an unrendered template placeholder"));
    }
    if name.len() > MAX_NAME {
        return Err(format!(
            "{name:?} is {} characters long; an ECS name has at most {MAX_NAME}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "{name:?} is not a valid ECS name: it contains {c:?} (ECS names use {ECS_NAME_RULE})"
        ));
    }
    Ok(())
}

/// The DNS name derived from an object name: lower case, `_` as `-`, no `-` at either end,
/// within 63 characters. A name that is already a DNS label is its own alias (so the names
/// older releases stored, folded to DNS labels, keep their aliases). A longer name keeps its
/// first characters and ends with a hash of the whole name, so that long names that differ
/// only at the end get different aliases.
pub fn dns_alias(name: &str) -> String {
    let folded: String = name
        .chars()
        .map(|c| match c {
            '_' => '-',
            c if c.is_ascii_alphanumeric() || c == '-' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    let trimmed = folded.trim_matches('-');
    if !trimmed.is_empty() && trimmed.len() <= MAX_DNS_LABEL {
        return trimmed.to_string();
    }
    let mut h = Fnv::new();
    h.write(name.as_bytes());
    let suffix = format!("{:08x}", h.finish() & 0xffff_ffff);
    // Room for the head, a '-' and the 8 hex digits.
    let head: String = trimmed
        .chars()
        .take(MAX_DNS_LABEL - 1 - suffix.len())
        .collect();
    let head = head.trim_end_matches('-');
    if head.is_empty() {
        format!("n-{suffix}")
    } else {
        format!("{head}-{suffix}")
    }
}

/// Whether `s` holds a shell-style variable nobody expanded (`$VAR`, `${VAR}`): `$` followed
/// by a letter, `_` or `{`.
pub fn has_shell_variable(s: &str) -> bool {
    s.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'_' || w[1] == b'{'))
}

/// Whether `s` (an ARN, an id, a name, an image) holds a placeholder nobody rendered:
/// `${VAR}`, `$VAR`, `{{ ... }}`, `<NAME>` or `{NAME}`, whole or inside the value
/// (`arn:aws:iam::<ACCOUNT_ID>:role/x`).
pub fn has_placeholder(s: &str) -> bool {
    looks_like_template(s)
        || has_shell_variable(s)
        || has_bracketed_word(s, '<', '>')
        || has_bracketed_word(s, '{', '}')
}

/// Whether `s` holds `open WORD close`, WORD a letter or `_` then letters, digits, `_`, `-`,
/// `.` or spaces (`<ACCOUNT_ID>`, `{region}`).
fn has_bracketed_word(s: &str, open: char, close: char) -> bool {
    s.split(open).skip(1).any(|rest| {
        let Some((word, _)) = rest.split_once(close) else {
            return false;
        };
        word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_names_keep_case_and_underscores() {
        for ok in ["Web_App", "web-app", "a", "_x_", "-", &"x".repeat(255)] {
            assert_eq!(check_ecs_name(ok), Ok(()), "{ok}");
            assert!(is_ecs_name(ok), "{ok}");
        }
        let e = check_ecs_name("web.app").unwrap_err();
        assert!(
            e.contains("contains '.'") && e.contains("ECS names use"),
            "{e}"
        );
        let e = check_ecs_name(&"x".repeat(256)).unwrap_err();
        assert!(e.contains("256 characters"), "{e}");
        assert_eq!(check_ecs_name(""), Err("must not be empty".into()));
        for placeholder in ["${FAMILY}", "$FAMILY", "{{ must_env `X` }}", "<NAME>"] {
            let e = check_ecs_name(placeholder).unwrap_err();
            assert!(e.contains("unrendered template placeholder"), "{e}");
        }
    }

    #[test]
    fn dns_aliases_are_dns_labels() {
        assert_eq!(dns_alias("Web_App"), "web-app");
        assert_eq!(dns_alias("web-app"), "web-app");
        assert_eq!(dns_alias("_Api_"), "api");
        assert_eq!(dns_alias("Shop_Prod"), "shop-prod");
        let long_a = format!("{}a", "Svc_".repeat(60));
        let long_b = format!("{}b", "Svc_".repeat(60));
        let (a, b) = (dns_alias(&long_a), dns_alias(&long_b));
        assert_ne!(a, b);
        for alias in [&a, &b, &dns_alias("___"), &dns_alias(&"x".repeat(255))] {
            assert_eq!(crate::validate::check_dns_label(alias), Ok(()), "{alias}");
            assert!(alias.len() <= MAX_DNS_LABEL, "{alias}");
            assert!(
                alias
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{alias}"
            );
            assert!(!alias.starts_with('-') && !alias.ends_with('-'), "{alias}");
        }
        assert!(dns_alias("___").starts_with("n-"));
        // A name that is a DNS label already is its own alias (what old stores hold).
        let label = "x".repeat(63);
        assert_eq!(dns_alias(&label), label);
        // Stable: the same name gives the same alias on every run.
        assert_eq!(dns_alias(&long_a), a);
    }

    #[test]
    fn placeholders_are_seen_in_any_value() {
        for p in [
            "arn:aws:iam::${ACCOUNT}:role/x",
            "arn:aws:iam::$ACCOUNT_ID:role/x",
            "subnet-{{ .Subnet }}",
            "<SUBNET_ID>",
            "arn:aws:iam::<ACCOUNT_ID>:role/ecsTaskExecutionRole",
            "arn:aws:ecs:{region}:123456789012:cluster/x",
        ] {
            assert!(has_placeholder(p), "{p}");
        }
        for literal in [
            "arn:aws:iam::123456789012:role/x",
            "subnet-0abc",
            "price: 5$",
            "$1",
            "a < b > c",
        ] {
            assert!(!has_placeholder(literal), "{literal}");
        }
    }
}
