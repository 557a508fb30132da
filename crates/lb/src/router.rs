//! HTTP routing: which service a request goes to, by host and path prefix rules (ALB listener
//! rules).
//!
//! Rules are tried in priority order, lowest first; rules without a priority come after those
//! with one, the most specific first (a host condition, then the longest path prefix), then in
//! the order written. The first rule whose conditions all match wins; otherwise the listener's
//! default service. A path prefix matches whole segments: `/api` matches `/api` and `/api/x`,
//! not `/apix` (a prefix ending in `/` matches anything under it). A host matches without its
//! port and case-insensitively; `*.example.com` matches any subdomain.

use api::kinds::Listener;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Router {
    rules: Vec<Rule>,
    default_service: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    host: Option<HostMatch>,
    path_prefix: Option<String>,
    service: String,
}

#[derive(Debug, Clone, PartialEq)]
enum HostMatch {
    Exact(String),
    /// `*.example.com`, kept as `.example.com`.
    Suffix(String),
}

impl HostMatch {
    fn new(pattern: &str) -> Self {
        let p = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
        match p.strip_prefix('*') {
            Some(rest) if rest.starts_with('.') => HostMatch::Suffix(rest.to_string()),
            _ => HostMatch::Exact(p),
        }
    }

    /// `host` without its port or trailing dot, in any case.
    fn matches(&self, host: &str) -> bool {
        match self {
            HostMatch::Exact(h) => h.eq_ignore_ascii_case(host),
            HostMatch::Suffix(s) => {
                host.len() > s.len()
                    && host.as_bytes()[host.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
            }
        }
    }
}

impl Router {
    pub fn new(listener: &Listener) -> Self {
        let mut indexed: Vec<_> = listener.rules.iter().enumerate().collect();
        indexed.sort_by_key(|(i, r)| {
            (
                r.priority.unwrap_or(u32::MAX),
                r.host.is_none(),
                std::cmp::Reverse(r.path_prefix.as_ref().map_or(0, String::len)),
                *i,
            )
        });
        let rules = indexed
            .into_iter()
            .map(|(_, r)| Rule {
                host: r.host.as_deref().map(HostMatch::new),
                path_prefix: r.path_prefix.clone(),
                service: r.service.clone(),
            })
            .collect();
        Router {
            rules,
            default_service: listener.default_service.clone(),
        }
    }

    /// The listener's default service (the only one a TCP listener uses).
    pub fn default_service(&self) -> Option<&str> {
        self.default_service.as_deref()
    }

    /// The service for a request with this Host header (or URI authority) and path.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&str> {
        let host = host.map(normalize_host);
        self.rules
            .iter()
            .find(|r| {
                r.host
                    .as_ref()
                    .is_none_or(|m| host.is_some_and(|h| m.matches(h)))
                    && r.path_prefix
                        .as_deref()
                        .is_none_or(|p| prefix_matches(p, path))
            })
            .map(|r| r.service.as_str())
            .or(self.default_service.as_deref())
    }
}

/// `Example.COM.:8080` -> `Example.COM`; `[::1]:80` -> `[::1]` (matched without regard to
/// case, so not lowercased: no copy per request).
fn normalize_host(host: &str) -> &str {
    let host = host.trim();
    let without_port = if host.starts_with('[') {
        host.find(']').map_or(host, |end| &host[..=end])
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    without_port.trim_end_matches('.')
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" || prefix.ends_with('/') {
        return path.starts_with(prefix);
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(v: serde_json::Value) -> Router {
        Router::new(&serde_json::from_value(v).expect("listener"))
    }

    #[test]
    fn path_prefixes_whole_segments_longest_first() {
        let r = router(
            serde_json::json!({"port": 80, "protocol": "HTTP", "defaultService": "web",
            "rules": [{"pathPrefix": "/api", "service": "api"},
                      {"pathPrefix": "/api/v2", "service": "api2"},
                      {"pathPrefix": "/static/", "service": "cdn"}]}),
        );
        assert_eq!(r.route(None, "/api"), Some("api"));
        assert_eq!(r.route(None, "/api/users"), Some("api"));
        assert_eq!(r.route(None, "/api/v2/users"), Some("api2"));
        assert_eq!(r.route(None, "/apix"), Some("web"));
        assert_eq!(r.route(None, "/static/a.css"), Some("cdn"));
        assert_eq!(r.route(None, "/"), Some("web"));
    }

    #[test]
    fn priorities_win_over_specificity() {
        let r = router(serde_json::json!({"port": 80, "protocol": "HTTP",
            "rules": [{"priority": 2, "pathPrefix": "/api/v2", "service": "api2"},
                      {"priority": 1, "pathPrefix": "/api", "service": "api"}]}));
        assert_eq!(r.route(None, "/api/v2/x"), Some("api"));
        assert_eq!(r.route(None, "/other"), None);
    }

    #[test]
    fn hosts_exact_wildcard_port_and_case() {
        let r = router(
            serde_json::json!({"port": 80, "protocol": "HTTP", "defaultService": "web",
            "rules": [{"host": "api.example.com", "service": "api"},
                      {"host": "*.shop.test", "pathPrefix": "/cart", "service": "cart"}]}),
        );
        assert_eq!(r.route(Some("API.example.com:8080"), "/"), Some("api"));
        assert_eq!(r.route(Some("eu.shop.test"), "/cart/1"), Some("cart"));
        assert_eq!(r.route(Some("eu.shop.test"), "/"), Some("web"));
        assert_eq!(r.route(Some("shop.test"), "/cart"), Some("web"));
        assert_eq!(r.route(None, "/cart"), Some("web"));
        assert_eq!(normalize_host("[::1]:8080"), "[::1]");
    }
}
