//! The task endpoint, as ECS's agent serves it at 169.254.170.2: each container's metadata
//! (v4) and, for a task with a role, its AWS credentials. This module is pure: the ids and
//! tokens in the URLs containers get, the environment variables that carry them, and the
//! JSON answers ([`metadata`], [`credentials`]). The HTTP server is the `server` crate's.
//!
//! Ids and tokens are HMAC-SHA256 of the task's cluster, id (and container) under a key kept
//! in the agent's data directory: unguessable without the key, and the same after a restart
//! of the agent, with nothing stored per task.

pub mod credentials;
pub mod metadata;

use ring::hmac;
use std::fmt;

/// The address ECS's agent serves the task endpoint at; AWS SDKs accept a credentials URI
/// over plain HTTP only for it or a loopback host (botocore's `ContainerMetadataFetcher`
/// allows `169.254.170.2`, `localhost` and `127.0.0.1`, any port).
pub const ADDRESS: &str = "169.254.170.2";

/// The variables each container gets (ECS's names).
pub const METADATA_URI_V4: &str = "ECS_CONTAINER_METADATA_URI_V4";
pub const CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const AUTHORIZATION_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// Hex digits of an id in a URL (128 bits of the HMAC).
const ID_HEX: usize = 32;

/// Where an agent's task endpoint is reached (`http://169.254.170.2:PORT`), and the key its
/// ids and tokens are made with.
#[derive(Clone)]
pub struct TaskEndpoint {
    base: String,
    key: hmac::Key,
}

impl fmt::Debug for TaskEndpoint {
    // Never print the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskEndpoint")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl TaskEndpoint {
    /// An endpoint at `base` (`http://HOST:PORT`, no trailing `/`) with this secret key.
    pub fn new(base: impl Into<String>, key: &[u8]) -> Self {
        TaskEndpoint {
            base: base.into().trim_end_matches('/').to_string(),
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// `http://HOST:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn tag(&self, parts: &[&str]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        for p in parts {
            // Length-prefixed, so that no two lists of parts sign the same bytes.
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p.as_bytes());
        }
        ctx.sign()
    }

    fn id(&self, parts: &[&str]) -> String {
        let mut s = hex::encode(self.tag(parts).as_ref());
        s.truncate(ID_HEX);
        s
    }

    /// The id in one container's metadata URI (`/v4/<id>`).
    pub fn metadata_id(&self, cluster: &str, task: &str, container: &str) -> String {
        self.id(&["v4", cluster, task, container])
    }

    /// The id in a task's credentials URI (`/v2/credentials/<id>`).
    pub fn credentials_id(&self, cluster: &str, task: &str) -> String {
        self.id(&["credentials", cluster, task])
    }

    /// The token a task's containers send with `Authorization` for its credentials.
    pub fn token(&self, cluster: &str, task: &str) -> String {
        hex::encode(self.tag(&["token", cluster, task]).as_ref())
    }

    /// Whether `token` is the task's (compared in constant time).
    pub fn token_is(&self, cluster: &str, task: &str, token: &str) -> bool {
        let Ok(bytes) = hex::decode(token.trim()) else {
            return false;
        };
        let mut ctx_parts = Vec::new();
        for p in ["token", cluster, task] {
            ctx_parts.extend_from_slice(&(p.len() as u64).to_be_bytes());
            ctx_parts.extend_from_slice(p.as_bytes());
        }
        hmac::verify(&self.key, &ctx_parts, &bytes).is_ok()
    }

    /// The environment one container of a task gets: its metadata URI, and with a role the
    /// credentials URI and the task's token.
    pub fn env(
        &self,
        cluster: &str,
        task: &str,
        container: &str,
        with_role: bool,
    ) -> Vec<(String, String)> {
        let mut env = vec![(
            METADATA_URI_V4.to_string(),
            format!(
                "{}/v4/{}",
                self.base,
                self.metadata_id(cluster, task, container)
            ),
        )];
        if with_role {
            env.push((
                CREDENTIALS_FULL_URI.to_string(),
                format!(
                    "{}/v2/credentials/{}",
                    self.base,
                    self.credentials_id(cluster, task)
                ),
            ));
            env.push((AUTHORIZATION_TOKEN.to_string(), self.token(cluster, task)));
        }
        env
    }
}

/// The hosts AWS SDKs accept in `AWS_CONTAINER_CREDENTIALS_FULL_URI` over plain HTTP
/// (botocore's `ContainerMetadataFetcher._ALLOWED_HOSTS`, and loopback addresses in newer
/// releases).
pub fn sdk_accepts_host(host: &str) -> bool {
    host == ADDRESS
        || host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> TaskEndpoint {
        TaskEndpoint::new(
            "http://169.254.170.2:41234/",
            b"0123456789abcdef0123456789abcdef",
        )
    }

    #[test]
    fn ids_and_tokens_are_stable_and_distinct() {
        let a = ep();
        let b = ep();
        assert_eq!(
            a.metadata_id("c", "t1", "app"),
            b.metadata_id("c", "t1", "app")
        );
        assert_ne!(
            a.metadata_id("c", "t1", "app"),
            a.metadata_id("c", "t1", "web")
        );
        assert_ne!(
            a.metadata_id("c", "t1", "app"),
            a.metadata_id("d", "t1", "app")
        );
        // Parts are length-prefixed: ("ab", "c") and ("a", "bc") differ.
        assert_ne!(a.credentials_id("ab", "c"), a.credentials_id("a", "bc"));
        assert_eq!(a.metadata_id("c", "t1", "app").len(), 32);
        let other_key = TaskEndpoint::new("http://x", b"another key of enough length....");
        assert_ne!(other_key.token("c", "t1"), a.token("c", "t1"));
        assert!(a.token_is("c", "t1", &a.token("c", "t1")));
        assert!(!a.token_is("c", "t2", &a.token("c", "t1")));
        assert!(!a.token_is("c", "t1", ""));
        assert!(!a.token_is("c", "t1", "zz"));
    }

    #[test]
    fn env_has_the_metadata_uri_and_credentials_only_with_a_role() {
        let e = ep();
        let plain = e.env("default", "t1", "app", false);
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].0, METADATA_URI_V4);
        assert!(
            plain[0].1.starts_with("http://169.254.170.2:41234/v4/"),
            "{plain:?}"
        );
        let role = e.env("default", "t1", "app", true);
        let get = |k: &str| role.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let uri = get(CREDENTIALS_FULL_URI).unwrap();
        assert_eq!(
            uri,
            format!(
                "http://169.254.170.2:41234/v2/credentials/{}",
                e.credentials_id("default", "t1")
            )
        );
        assert_eq!(get(AUTHORIZATION_TOKEN), Some(e.token("default", "t1")));
    }

    /// AWS SDKs refuse a plain-HTTP credentials URI whose host is not one they allow; the
    /// URI containers get must use one (no Python image here to run botocore itself).
    #[test]
    fn the_credentials_uri_host_is_one_aws_sdks_allow() {
        let role = ep().env("default", "t1", "app", true);
        let uri = &role
            .iter()
            .find(|(n, _)| n == CREDENTIALS_FULL_URI)
            .unwrap()
            .1;
        let host = uri
            .strip_prefix("http://")
            .and_then(|r| r.split(':').next())
            .unwrap();
        assert!(sdk_accepts_host(host), "{uri}");
        assert!(!sdk_accepts_host("172.17.0.1"));
        assert!(sdk_accepts_host("127.0.0.1"));
    }
}
