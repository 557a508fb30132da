//! The `--tokens` file: one identity per line, `TOKEN ROLE [CLUSTER[,CLUSTER...]|*]`, and
//! finding the identity a request's bearer token belongs to without telling, by timing,
//! which entry (if any) matched.
//!
//! ```text
//! # token                           role      clusters
//! 3f9c1d0e6b2a47f8a1c5d9e0b7f4a2c6  admin
//! 9a8b7c6d5e4f30211203f4e5d6c7b8a9  deployer  shop,shop-staging
//! 0f1e2d3c4b5a69788796a5b4c3d2e1f0  viewer    *
//! ```
//!
//! Blank lines and lines starting with `#` are skipped. An admin acts on every cluster (its
//! list may be left out, or be `*`); every other role must name its clusters (`*` for all):
//! a forgotten list must not quietly mean "everywhere".

use super::{Identity, Role, Scope};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use subtle::ConstantTimeEq;

/// The shortest token accepted: shorter ones can be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

/// The identities of a tokens file (and the `--token-file` token, an admin).
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<(String, Identity)>,
}

impl fmt::Debug for Tokens {
    // Never print a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(_, id)| id))
            .finish()
    }
}

/// What is wrong with a tokens file, at which line (1-based; 0 for the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TokenFileError {
    /// The line at fault.
    pub line: usize,
    /// What is wrong, and what to write instead. Never holds a token.
    pub message: String,
}

impl Tokens {
    /// Parses a tokens file's text. Identities are named `{source}:{line}` in logs.
    pub fn parse(text: &str, source: &str) -> Result<Tokens, TokenFileError> {
        let mut entries = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let err = |message: String| TokenFileError { line, message };
            let fields: Vec<&str> = trimmed.split_whitespace().collect();
            let (token, role, clusters) = match fields.as_slice() {
                [token, role] => (*token, *role, None),
                [token, role, clusters] => (*token, *role, Some(*clusters)),
                [_] => {
                    return Err(err(
                        "expected TOKEN ROLE [CLUSTER[,CLUSTER...]|*], found only a token"
                            .to_string(),
                    ));
                }
                _ => {
                    return Err(err(format!(
                        "expected TOKEN ROLE [CLUSTER[,CLUSTER...]|*], found {} fields (cluster lists take no spaces: shop,web)",
                        fields.len()
                    )));
                }
            };
            check_token(token).map_err(err)?;
            let role = Role::parse(role).ok_or_else(|| {
                let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                err(format!(
                    "unknown role {role:?}: expected one of {}",
                    roles.join(", ")
                ))
            })?;
            let clusters = scope(role, clusters).map_err(err)?;
            if let Some(first) = seen.insert(token.to_string(), line) {
                return Err(err(format!(
                    "the same token as line {first}: each token must name one identity"
                )));
            }
            let identity = Identity {
                name: format!("{source}:{line}"),
                role,
                clusters,
                principal: fingerprint(token),
            };
            entries.push((token.to_string(), identity));
        }
        Ok(Tokens { entries })
    }

    /// Adds `token` as an admin named `name` (the `--token-file` token). Refused when the
    /// file gives the same token another identity.
    pub fn with_admin(mut self, token: &str, name: &str) -> Result<Tokens, TokenFileError> {
        if let Some((_, id)) = self.entries.iter().find(|(t, _)| t == token) {
            return Err(TokenFileError {
                line: 0,
                message: format!(
                    "the token of {name} is also the token of {}: give each identity its own",
                    id.name
                ),
            });
        }
        self.entries
            .push((token.to_string(), Identity::admin(name)));
        Ok(self)
    }

    /// How many identities there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The identity whose token is `sent`, if any. Every entry is compared, in time that
    /// does not depend on where the bytes differ, and the loop never stops early, so the
    /// answer's timing does not say which entry matched.
    pub fn identify(&self, sent: &[u8]) -> Option<&Identity> {
        let mut found = None;
        for (token, identity) in &self.entries {
            let same: bool = token.as_bytes().ct_eq(sent).into();
            // Tokens are unique (checked when parsed), so at most one entry matches.
            found = if same { Some(identity) } else { found };
        }
        found
    }
}

/// A token: printable ASCII without spaces (it travels in an HTTP header), long enough.
fn check_token(token: &str) -> Result<(), String> {
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token must be printable ASCII (it travels in an HTTP header)".to_string());
    }
    if token.len() < MIN_TOKEN_LEN {
        return Err(format!(
            "the token is {} characters long; use at least {MIN_TOKEN_LEN} (e.g. `openssl rand -hex 16`)",
            token.len()
        ));
    }
    Ok(())
}

/// The clusters of a line: `*`, a comma-separated list of ECS cluster names, or nothing
/// (admins only).
fn scope(role: Role, clusters: Option<&str>) -> Result<Scope, String> {
    let Some(list) = clusters else {
        return match role {
            Role::Admin => Ok(Scope::All),
            _ => Err(format!(
                "role {role} needs its clusters: add `*` for every cluster, or CLUSTER[,CLUSTER...]"
            )),
        };
    };
    if list == "*" {
        return Ok(Scope::All);
    }
    if role == Role::Admin {
        return Err(format!(
            "an admin acts on every cluster: drop {list:?} (or write `*`), or make the token a deployer of those clusters"
        ));
    }
    let mut set = BTreeSet::new();
    for name in list.split(',') {
        check_cluster_name(name)?;
        set.insert(name.to_string());
    }
    Ok(Scope::Clusters(set))
}

/// ECS cluster names: 1..255 letters, digits, `-` and `_`.
fn check_cluster_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(
            "an empty cluster name in the list (write CLUSTER[,CLUSTER...] without empty items)"
                .to_string(),
        );
    }
    if name.len() > 255
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{name:?} is not a cluster name (1..255 letters, digits, '-' and '_'); `*` means every cluster"
        ));
    }
    Ok(())
}

/// `token:` and 16 hex digits of the token's FNV-1a hash: tells tokens apart in stored
/// objects (an agent's instance names its owner so) without storing the token. Not a
/// secret-keeping hash: the server compares tokens themselves, never fingerprints.
fn fingerprint(token: &str) -> String {
    let mut h = api::hash::Fnv::new();
    h.write(token.as_bytes());
    format!("token:{:016x}", h.finish())
}
