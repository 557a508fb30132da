//! Reading an operation's JSON input into its typed request, and the paging every ECS
//! `List*` operation shares (`maxResults`, `nextToken`).

use ecsapi::EcsError;
use serde_json::Value;

/// The operation's request, or ECS's `SerializationException` naming what did not fit.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, EcsError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            EcsError::serialization(e.inner().to_string())
        } else {
            EcsError::serialization(format!("{path}: {}", e.inner()))
        }
    })
}

/// ECS's rule for the name in `field` (`clusterName`, `serviceName`), the one rule every
/// ecsctl name follows (`api::names`).
pub(crate) fn check_name(field: &str, name: &str) -> Result<(), EcsError> {
    api::names::check_ecs_name(name)
        .map_err(|e| EcsError::invalid_parameter(format!("{field}: {e}")))
}

/// One page of a `List*` answer: at most `max` items after the item `after` (the sort key
/// of the last item of the page before, carried in `nextToken`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    max: usize,
    after: Option<String>,
}

impl Page {
    /// The page a request asks for. `default` and `limit` are the operation's page sizes in
    /// ECS (ListServices gives 10 unless asked for more, up to 100).
    pub fn new(
        max_results: Option<i64>,
        next_token: Option<&str>,
        default: usize,
        limit: usize,
    ) -> Result<Page, EcsError> {
        let max = match max_results {
            None => default,
            Some(n) if n >= 1 && n <= limit as i64 => n as usize,
            Some(n) => {
                return Err(EcsError::invalid_parameter(format!(
                    "maxResults {n}: must be between 1 and {limit}"
                )));
            }
        };
        let after = match next_token.filter(|t| !t.is_empty()) {
            None => None,
            Some(token) => Some(
                hex::decode(token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        EcsError::invalid_parameter("nextToken is not one this operation returned")
                    })?,
            ),
        };
        Ok(Page { max, after })
    }

    /// This page of `items` (sort key and item, in the order the operation lists them:
    /// ascending keys, or descending when `descending`), and the `nextToken` of the page
    /// after it, if there is one.
    pub fn take<T>(&self, items: Vec<(String, T)>, descending: bool) -> (Vec<T>, Option<String>) {
        let after = self.after.as_deref();
        let mut rest = items.into_iter().filter(|(key, _)| match after {
            None => true,
            Some(a) if descending => key.as_str() < a,
            Some(a) => key.as_str() > a,
        });
        let mut page = Vec::new();
        let mut last = None;
        for (key, item) in rest.by_ref().take(self.max) {
            page.push(item);
            last = Some(key);
        }
        let token = match (rest.next(), last) {
            (Some(_), Some(last)) => Some(hex::encode(last.as_bytes())),
            _ => None,
        };
        (page, token)
    }
}

/// Adds `nextToken` to a `List*` answer when there is a page after this one.
pub(crate) fn with_next_token(mut out: Value, token: Option<String>) -> Value {
    if let Some(t) = token {
        out["nextToken"] = Value::String(t);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn items(keys: &[&str]) -> Vec<(String, String)> {
        keys.iter()
            .map(|k| (k.to_string(), k.to_uppercase()))
            .collect()
    }

    #[test]
    fn pages_follow_one_another_to_the_end() {
        let first = Page::new(Some(2), None, 10, 100).unwrap();
        let (page, token) = first.take(items(&["a", "b", "c"]), false);
        assert_eq!(page, ["A", "B"]);
        let token = token.unwrap();
        let second = Page::new(Some(2), Some(&token), 10, 100).unwrap();
        let (page, token) = second.take(items(&["a", "b", "c"]), false);
        assert_eq!((page, token), (vec!["C".to_string()], None));
    }

    #[test]
    fn descending_pages_and_exact_fits() {
        let first = Page::new(Some(2), None, 10, 100).unwrap();
        let (page, token) = first.take(items(&["c", "b", "a"]), true);
        assert_eq!(page, ["C", "B"]);
        let next = Page::new(Some(2), token.as_deref(), 10, 100).unwrap();
        assert_eq!(next.take(items(&["c", "b", "a"]), true).0, ["A"]);
        let (page, token) = first.take(items(&["a", "b"]), false);
        assert_eq!((page.len(), token), (2, None));
    }

    #[test]
    fn names_follow_ecs_rules() {
        assert!(check_name("serviceName", "web_App-1").is_ok());
        let e = check_name("serviceName", "a/b").unwrap_err();
        assert!(e.message.starts_with("serviceName: "), "{e}");
        assert!(check_name("clusterName", "").is_err());
        assert!(check_name("clusterName", &"a".repeat(256)).is_err());
    }

    #[test]
    fn sizes_and_tokens_are_checked() {
        assert!(Page::new(Some(0), None, 10, 100).is_err());
        assert!(Page::new(Some(101), None, 10, 100).is_err());
        assert!(Page::new(None, Some("zz"), 10, 100).is_err());
        let default = Page::new(None, Some(""), 10, 100).unwrap();
        let keys: Vec<String> = (0..12).map(|i| format!("{i:02}")).collect();
        let all: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), k.clone())).collect();
        assert_eq!(default.take(all, false).0.len(), 10);
    }
}
