//! ECS's tag rules, with no I/O: at most 50 tags on a resource, keys of 1..128 and values
//! of 0..256 characters (letters, digits, spaces and `+ - = . _ : / @`), the `aws:` prefix
//! reserved; and what TagResource and UntagResource make of a resource's tags.

use api::taskdef::Tag;
use ecsapi::EcsError;

/// Most tags one resource may carry.
pub(crate) const MAX_TAGS: usize = 50;
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c)
}

fn reserved(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// A tag key as ECS accepts it from a user.
pub(crate) fn check_key(key: &str) -> Result<(), EcsError> {
    let n = key.chars().count();
    if n == 0 || n > MAX_KEY {
        return Err(EcsError::invalid_parameter(format!(
            "tag key {key:?}: must be 1 to {MAX_KEY} characters"
        )));
    }
    if !key.chars().all(allowed) {
        return Err(EcsError::invalid_parameter(format!(
            "tag key {key:?}: only letters, numbers, spaces and + - = . _ : / @ are allowed"
        )));
    }
    if reserved(key) {
        return Err(EcsError::invalid_parameter(format!(
            "tag key {key:?}: the aws: prefix is reserved for AWS use"
        )));
    }
    Ok(())
}

/// Tags as ECS accepts them from a user (RunTask, CreateCluster, TagResource).
pub(crate) fn check(tags: &[Tag]) -> Result<(), EcsError> {
    for t in tags {
        check_key(&t.key)?;
        if t.value.chars().count() > MAX_VALUE {
            return Err(EcsError::invalid_parameter(format!(
                "tag {:?}: a value is at most {MAX_VALUE} characters",
                t.key
            )));
        }
        if !t.value.chars().all(allowed) {
            return Err(EcsError::invalid_parameter(format!(
                "tag {:?}: only letters, numbers, spaces and + - = . _ : / @ are allowed in a value",
                t.key
            )));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(EcsError::invalid_parameter(format!(
            "{} tags: a resource has at most {MAX_TAGS}",
            tags.len()
        )));
    }
    Ok(())
}

/// `existing` with `new` added (a key already there takes the new value), in the order the
/// keys were first given; refused beyond [`MAX_TAGS`].
pub(crate) fn merged(existing: &[Tag], new: &[Tag]) -> Result<Vec<Tag>, EcsError> {
    check(new)?;
    let mut out = existing.to_vec();
    for t in new {
        match out.iter_mut().find(|o| o.key == t.key) {
            Some(o) => o.value = t.value.clone(),
            None => out.push(t.clone()),
        }
    }
    if out.len() > MAX_TAGS {
        return Err(EcsError::invalid_parameter(format!(
            "the resource would have {} tags: at most {MAX_TAGS}",
            out.len()
        )));
    }
    Ok(out)
}

/// `existing` without the tags `keys` name (a key it does not carry is no error, as in ECS).
pub(crate) fn without(existing: &[Tag], keys: &[String]) -> Result<Vec<Tag>, EcsError> {
    if keys.len() > MAX_TAGS {
        return Err(EcsError::invalid_parameter(format!(
            "tagKeys: at most {MAX_TAGS} keys"
        )));
    }
    for k in keys {
        check_key(k)?;
    }
    Ok(existing
        .iter()
        .filter(|t| !keys.contains(&t.key))
        .cloned()
        .collect())
}

/// Tags in ECS's wire shape.
pub(crate) fn to_json(tags: &[Tag]) -> serde_json::Value {
    serde_json::Value::Array(
        tags.iter()
            .map(|t| serde_json::json!({"key": t.key, "value": t.value}))
            .collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn keys_values_and_the_reserved_prefix() {
        assert!(check(&[tag("team", "shop"), tag("cost center", "a/b@c+1=2")]).is_ok());
        assert!(check(&[tag("", "x")]).is_err());
        assert!(check(&[tag(&"k".repeat(129), "")]).is_err());
        assert!(check(&[tag(&"k".repeat(128), &"v".repeat(256))]).is_ok());
        assert!(check(&[tag("k", &"v".repeat(257))]).is_err());
        assert!(check(&[tag("AWS:owner", "x")]).is_err());
        assert!(check(&[tag("aws", "x")]).is_ok());
        assert!(check(&[tag("a;b", "x")]).is_err());
        assert!(check(&[tag("a", "x\n")]).is_err());
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "")).collect();
        assert!(check(&many).is_err());
    }

    #[test]
    fn merging_replaces_values_and_counts_the_total() {
        let out = merged(
            &[tag("a", "1"), tag("b", "2")],
            &[tag("b", "3"), tag("c", "4")],
        )
        .unwrap();
        assert_eq!(out, [tag("a", "1"), tag("b", "3"), tag("c", "4")]);
        let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "")).collect();
        assert!(merged(&fifty, &[tag("k0", "again")]).is_ok());
        assert!(merged(&fifty, &[tag("new", "")]).is_err());
    }

    #[test]
    fn removing_keys() {
        let out = without(&[tag("a", "1"), tag("b", "2")], &["a".into(), "zz".into()]).unwrap();
        assert_eq!(out, [tag("b", "2")]);
        assert!(without(&[], &["aws:x".into()]).is_err());
    }
}
