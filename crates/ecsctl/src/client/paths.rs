//! Request paths: percent-encoding and the objects endpoint.

/// Percent-encodes one URL path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/v1/objects/{plural}[/{name}]` with optional `cluster` and `labelSelector` query parameters.
pub fn objects_path(
    kind: api::Kind,
    name: Option<&str>,
    cluster: Option<&str>,
    label_selector: Option<&str>,
) -> String {
    let mut path = format!("/v1/objects/{}", kind.plural());
    if let Some(n) = name {
        path.push('/');
        path.push_str(&encode(n));
    }
    let mut query = Vec::new();
    if let Some(c) = cluster.filter(|_| kind.is_clustered()) {
        query.push(format!("cluster={}", encode(c)));
    }
    if let Some(l) = label_selector.filter(|l| !l.is_empty()) {
        query.push(format!("labelSelector={}", encode(l)));
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Kind;

    #[test]
    fn object_paths() {
        assert_eq!(
            objects_path(Kind::Service, None, Some("default"), None),
            "/v1/objects/services?cluster=default"
        );
        assert_eq!(
            objects_path(Kind::Service, Some("web"), Some("prod"), Some("a=b,c=d")),
            "/v1/objects/services/web?cluster=prod&labelSelector=a%3Db%2Cc%3Dd"
        );
        // Task definitions are account-wide: no cluster parameter.
        assert_eq!(
            objects_path(Kind::TaskDefinition, Some("web:2"), Some("x"), None),
            "/v1/objects/taskdefinitions/web:2"
        );
        assert_eq!(
            objects_path(Kind::Task, Some("a/b"), None, None),
            "/v1/objects/tasks/a%2Fb"
        );
    }
}
