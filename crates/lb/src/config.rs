//! A LoadBalancer spec resolved into the settings the proxy uses, with the defaults filled in.

use crate::error::LbError;
use api::kinds::{LbAlgorithm, LbProtocol, Listener, LoadBalancerSpec};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Default bind address of a listener: loopback, so nothing is exposed unless the spec says so.
pub(crate) const DEFAULT_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// ECS's default deregistration delay.
pub(crate) const DEFAULT_DEREGISTRATION_DELAY: Duration = Duration::from_secs(300);

/// Per-LB settings that requests and health checks read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub algorithm: LbAlgorithm,
    pub deregistration_delay: Duration,
    pub slow_start: Duration,
    pub health: HealthSettings,
}

/// Target health check settings (ALB defaults).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HealthSettings {
    pub path: String,
    pub port: Option<u16>,
    pub interval: Duration,
    pub timeout: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub matcher: Matcher,
}

/// How a service's targets are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckKind {
    /// GET the health check path and compare the status with the matcher (ALB).
    Http,
    /// A TCP connect is success (NLB).
    Tcp,
}

/// HTTP status codes that count as healthy: `200`, `200-299`, `200,302`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matcher(Vec<(u16, u16)>);

impl Matcher {
    /// `200`, the default.
    pub fn ok() -> Matcher {
        Matcher(vec![(200, 200)])
    }

    pub fn parse(text: &str) -> Option<Matcher> {
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
                None => {
                    let code = part.parse().ok()?;
                    (code, code)
                }
            };
            if !(100..=599).contains(&lo) || !(100..=599).contains(&hi) || lo > hi {
                return None;
            }
            ranges.push((lo, hi));
        }
        Some(Matcher(ranges))
    }

    pub fn matches(&self, code: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

impl Settings {
    /// The settings of a spec with defaults filled in. An invalid matcher is reported and
    /// replaced by the default (`200`), so that the rest of the LB still works.
    pub fn from_spec(
        name: &str,
        cluster: &str,
        spec: &LoadBalancerSpec,
    ) -> (Self, Option<LbError>) {
        let hc = spec.health_check.clone().unwrap_or_default();
        let mut error = None;
        let matcher = match hc.matcher {
            None => Matcher::ok(),
            Some(text) => Matcher::parse(&text).unwrap_or_else(|| {
                error = Some(LbError::InvalidMatcher {
                    lb: name.to_string(),
                    cluster: cluster.to_string(),
                    matcher: text.clone(),
                });
                Matcher::ok()
            }),
        };
        let secs = |v: Option<u32>, default: u64| Duration::from_secs(v.map_or(default, u64::from));
        let interval = secs(hc.interval_seconds, 30).max(Duration::from_secs(1));
        let settings = Settings {
            algorithm: spec.algorithm.unwrap_or(LbAlgorithm::RoundRobin),
            deregistration_delay: spec
                .deregistration_delay_seconds
                .map_or(DEFAULT_DEREGISTRATION_DELAY, |s| {
                    Duration::from_secs(s.into())
                }),
            slow_start: secs(spec.slow_start_seconds, 0),
            health: HealthSettings {
                path: hc.path.unwrap_or_else(|| "/".to_string()),
                port: hc.port.map(|p| p.get()),
                interval,
                timeout: secs(hc.timeout_seconds, 5).max(Duration::from_millis(100)),
                healthy_threshold: hc.healthy_threshold_count.unwrap_or(5).max(1),
                unhealthy_threshold: hc.unhealthy_threshold_count.unwrap_or(2).max(1),
                matcher,
            },
        };
        (settings, error)
    }
}

/// HTTP checks for services an HTTP listener routes to, TCP connects for those only TCP
/// listeners use (an NLB's targets need not speak HTTP). A service no listener names gets
/// HTTP checks when the LB has an HTTP listener.
pub(crate) fn check_kind(spec: &LoadBalancerSpec, service: &str) -> CheckKind {
    let names = |l: &Listener| {
        l.default_service.as_deref() == Some(service)
            || l.rules.iter().any(|r| r.service == service)
    };
    let http = spec.listeners.iter().filter(|l| l.protocol.is_http());
    let any_http = spec.listeners.iter().any(|l| l.protocol.is_http());
    let http_names = http.clone().any(names);
    let tcp_names = spec
        .listeners
        .iter()
        .filter(|l| l.protocol == LbProtocol::Tcp)
        .any(names);
    if http_names || (any_http && !tcp_names) {
        CheckKind::Http
    } else {
        CheckKind::Tcp
    }
}

/// The socket address a listener binds: its address (default 127.0.0.1) and port.
pub(crate) fn bind_addr(name: &str, cluster: &str, l: &Listener) -> Result<SocketAddr, LbError> {
    let port = l.port.get();
    let ip = match l.address.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_ADDRESS,
        Some("localhost") => DEFAULT_ADDRESS,
        Some(text) => text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| LbError::InvalidAddress {
                lb: name.to_string(),
                cluster: cluster.to_string(),
                port,
                address: text.to_string(),
            })?,
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_codes_and_ranges() {
        let m = Matcher::parse("200-299,302").expect("valid");
        assert!(m.matches(200) && m.matches(204) && m.matches(302));
        assert!(!m.matches(301) && !m.matches(500));
        assert!(Matcher::parse("200").expect("valid").matches(200));
        assert!(Matcher::parse("abc").is_none());
        assert!(Matcher::parse("300-200").is_none());
        assert!(Matcher::parse("").is_none());
    }

    fn spec(yaml: serde_json::Value) -> LoadBalancerSpec {
        serde_json::from_value(yaml).expect("spec")
    }

    #[test]
    fn defaults_are_alb_and_ecs() {
        let s = spec(serde_json::json!({"listeners": [{"port": 8080, "protocol": "HTTP"}]}));
        let (st, error) = Settings::from_spec("web", "default", &s);
        assert!(error.is_none());
        assert_eq!(st.algorithm, LbAlgorithm::RoundRobin);
        assert_eq!(st.deregistration_delay, Duration::from_secs(300));
        assert_eq!(st.health.path, "/");
        assert_eq!(st.health.interval, Duration::from_secs(30));
        assert_eq!(st.health.timeout, Duration::from_secs(5));
        assert_eq!(
            (st.health.healthy_threshold, st.health.unhealthy_threshold),
            (5, 2)
        );
        assert!(st.health.matcher.matches(200) && !st.health.matcher.matches(201));
        let addr = bind_addr("web", "default", &s.listeners[0]).expect("addr");
        assert_eq!(addr, "127.0.0.1:8080".parse().expect("addr"));
    }

    #[test]
    fn addresses() {
        let s = spec(serde_json::json!({"listeners": [
            {"port": 80, "protocol": "HTTP", "address": "0.0.0.0"},
            {"port": 81, "protocol": "HTTP", "address": "::1"},
            {"port": 82, "protocol": "HTTP", "address": "example.com"}]}));
        assert_eq!(
            bind_addr("a", "c", &s.listeners[0]).expect("addr"),
            "0.0.0.0:80".parse().expect("addr")
        );
        assert_eq!(
            bind_addr("a", "c", &s.listeners[1]).expect("addr"),
            "[::1]:81".parse().expect("addr")
        );
        let e = bind_addr("a", "c", &s.listeners[2]).expect_err("not an ip");
        assert!(e.to_string().contains("port 82"), "{e}");
    }

    #[test]
    fn check_kinds() {
        let s = spec(serde_json::json!({"listeners": [
            {"port": 80, "protocol": "HTTP", "defaultService": "web",
             "rules": [{"pathPrefix": "/api", "service": "api"}]},
            {"port": 5432, "protocol": "TCP", "defaultService": "db"}]}));
        assert_eq!(check_kind(&s, "web"), CheckKind::Http);
        assert_eq!(check_kind(&s, "api"), CheckKind::Http);
        assert_eq!(check_kind(&s, "db"), CheckKind::Tcp);
        assert_eq!(check_kind(&s, "other"), CheckKind::Http);
        let tcp = spec(serde_json::json!({"listeners": [{"port": 5432, "protocol": "TCP"}]}));
        assert_eq!(check_kind(&tcp, "db"), CheckKind::Tcp);
    }
}
