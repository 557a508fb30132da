//! Access keys in the AWS shared-credentials format, as `--aws-credentials FILE` holds them
//! (and as the server writes the key it makes for itself):
//!
//! ```text
//! [ci]
//! aws_access_key_id = AKIAECSCTLCI0000001
//! aws_secret_access_key = ...
//! ecsctl_role = deployer          # optional: admin (default), deployer, viewer, agent
//! ecsctl_clusters = shop,staging  # optional: * (default) or a comma-separated list
//! ```
//!
//! The role and clusters mean what they mean on a `--tokens` line; a non-admin must name its
//! clusters (`*` for all), so that a forgotten line never means "everywhere".

use std::collections::BTreeSet;
use std::fmt;

/// One access key.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The profile (`[name]`) it comes from, for logs.
    pub profile: String,
    /// `aws_access_key_id`.
    pub access_key_id: String,
    /// `aws_secret_access_key`.
    pub secret_access_key: String,
    /// `ecsctl_role`: `admin`, `deployer`, `viewer` or `agent`.
    pub role: String,
    /// `ecsctl_clusters`: `None` for every cluster, else these.
    pub clusters: Option<BTreeSet<String>>,
}

impl fmt::Debug for Credential {
    // Never print a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("profile", &self.profile)
            .field("access_key_id", &self.access_key_id)
            .field("role", &self.role)
            .field("clusters", &self.clusters)
            .finish_non_exhaustive()
    }
}

/// What is wrong with a credentials file, at which line (1-based; 0: the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CredentialsError {
    /// The line at fault.
    pub line: usize,
    /// What is wrong and what to write instead; never holds a secret.
    pub message: String,
}

const ROLES: [&str; 4] = ["admin", "deployer", "viewer", "agent"];

/// A profile being read.
#[derive(Default)]
struct Section {
    line: usize,
    name: String,
    key: Option<String>,
    secret: Option<String>,
    role: Option<String>,
    clusters: Option<String>,
}

impl Section {
    fn finish(self) -> Result<Credential, CredentialsError> {
        let err = |message: String| CredentialsError {
            line: self.line,
            message,
        };
        let key = self
            .key
            .clone()
            .ok_or_else(|| err(format!("profile [{}] has no aws_access_key_id", self.name)))?;
        let secret = self.secret.clone().ok_or_else(|| {
            err(format!(
                "profile [{}] has no aws_secret_access_key",
                self.name
            ))
        })?;
        if secret.len() < 16 {
            return Err(err(format!(
                "profile [{}]: aws_secret_access_key is shorter than 16 characters (it could be guessed)",
                self.name
            )));
        }
        let role = self.role.clone().unwrap_or_else(|| "admin".to_string());
        if !ROLES.contains(&role.as_str()) {
            return Err(err(format!(
                "profile [{}]: ecsctl_role {role:?} is not one of {}",
                self.name,
                ROLES.join(", ")
            )));
        }
        let clusters = match self.clusters.as_deref().map(str::trim) {
            None if role != "admin" => {
                return Err(err(format!(
                    "profile [{}]: a {role} must name its clusters (ecsctl_clusters = a,b or * for every cluster)",
                    self.name
                )));
            }
            None | Some("*") => None,
            Some(list) => {
                let set: BTreeSet<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
                if set.is_empty() {
                    return Err(err(format!(
                        "profile [{}]: ecsctl_clusters is empty (name clusters, or * for all)",
                        self.name
                    )));
                }
                Some(set)
            }
        };
        Ok(Credential {
            profile: self.name,
            access_key_id: key,
            secret_access_key: secret,
            role,
            clusters,
        })
    }
}

/// Parses a credentials file's text. Every profile must carry a key id and a secret; key
/// ids must be unique.
pub fn parse(text: &str) -> Result<Vec<Credential>, CredentialsError> {
    let mut out: Vec<Credential> = Vec::new();
    let mut current: Option<Section> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            if let Some(done) = current.take() {
                out.push(done.finish()?);
            }
            current = Some(Section {
                line,
                name: name.trim().to_string(),
                ..Section::default()
            });
            continue;
        }
        let err = |message: String| CredentialsError { line, message };
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(err("expected [profile] or key = value".into()));
        };
        let Some(section) = current.as_mut() else {
            return Err(err("a key = value before any [profile]".into()));
        };
        let value = value.split(" #").next().unwrap_or("").trim().to_string();
        match key.trim() {
            "aws_access_key_id" => section.key = Some(value),
            "aws_secret_access_key" => section.secret = Some(value),
            "ecsctl_role" => section.role = Some(value),
            "ecsctl_clusters" => section.clusters = Some(value),
            // Other AWS settings (region, output...) mean nothing to the server.
            _ => {}
        }
    }
    if let Some(done) = current.take() {
        out.push(done.finish()?);
    }
    if out.is_empty() {
        return Err(CredentialsError {
            line: 0,
            message: "no [profile] with aws_access_key_id and aws_secret_access_key".into(),
        });
    }
    for (i, c) in out.iter().enumerate() {
        if out[..i].iter().any(|o| o.access_key_id == c.access_key_id) {
            return Err(CredentialsError {
                line: 0,
                message: format!(
                    "access key {} appears in two profiles (the second is [{}])",
                    c.access_key_id, c.profile
                ),
            });
        }
    }
    Ok(out)
}

/// The keys of one profile of an AWS shared-credentials file (`~/.aws/credentials`), as an
/// SDK reads them: what a Role with `profile: NAME` hands to its tasks.
#[derive(Clone, PartialEq, Eq)]
pub struct ProfileKeys {
    /// `aws_access_key_id`.
    pub access_key_id: String,
    /// `aws_secret_access_key`.
    pub secret_access_key: String,
    /// `aws_session_token`, for temporary credentials.
    pub session_token: Option<String>,
}

impl fmt::Debug for ProfileKeys {
    // Never print a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileKeys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The keys of the profile `name` in a shared-credentials file's text. Unlike [`parse`],
/// other profiles may be anything an AWS credentials file holds (SSO, role chains, no keys
/// at all); only `name` must carry a key id and a secret.
pub fn find_profile(text: &str, name: &str) -> Result<ProfileKeys, String> {
    let mut current: Option<&str> = None;
    let (mut key, mut secret, mut token) = (None, None, None);
    let mut found = false;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(section) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            current = Some(section.trim());
            found |= current == Some(name);
            continue;
        }
        if current != Some(name) {
            continue;
        }
        if let Some((k, v)) = trimmed.split_once('=') {
            let v = v.trim().to_string();
            match k.trim() {
                "aws_access_key_id" => key = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    if !found {
        return Err(format!("there is no profile [{name}]"));
    }
    match (key, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(ProfileKeys {
            access_key_id,
            secret_access_key,
            session_token: token.filter(|t| !t.is_empty()),
        }),
        _ => Err(format!(
            "profile [{name}] has no aws_access_key_id and aws_secret_access_key"
        )),
    }
}

/// Makes a new admin key from 30 random bytes, in the format AWS keys have (`AKIA` and 16
/// upper-case characters; a 40-character secret).
pub fn generate(profile: &str) -> Result<Credential, ring::error::Unspecified> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 40];
    ring::rand::SystemRandom::new().fill(&mut bytes)?;
    const ID: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let id: String = bytes[..16]
        .iter()
        .map(|b| char::from(ID[usize::from(*b) % ID.len()]))
        .collect();
    let mut more = [0u8; 40];
    ring::rand::SystemRandom::new().fill(&mut more)?;
    let secret: String = more
        .iter()
        .map(|b| char::from(SECRET[usize::from(*b) % SECRET.len()]))
        .collect();
    Ok(Credential {
        profile: profile.to_string(),
        access_key_id: format!("AKIA{id}"),
        secret_access_key: secret,
        role: "admin".to_string(),
        clusters: None,
    })
}

/// The file text of one credential (what [`parse`] reads back).
pub fn render(c: &Credential) -> String {
    let mut s = format!(
        "[{}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        c.profile, c.access_key_id, c.secret_access_key
    );
    if c.role != "admin" {
        s.push_str(&format!("ecsctl_role = {}\n", c.role));
    }
    if let Some(set) = &c.clusters {
        let list: Vec<&str> = set.iter().map(String::as_str).collect();
        s.push_str(&format!("ecsctl_clusters = {}\n", list.join(",")));
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn profiles_with_roles_and_clusters() {
        let text = "# keys\n[default]\naws_access_key_id = AKIAADMIN\naws_secret_access_key = 0123456789abcdef0123\nregion = us-east-1\n\n[ci]\naws_access_key_id=AKIACI\naws_secret_access_key=abcdefghijklmnopqrstu\necsctl_role = deployer\necsctl_clusters = shop, staging\n";
        let creds = parse(text).unwrap();
        assert_eq!(creds.len(), 2);
        assert_eq!(creds[0].role, "admin");
        assert_eq!(creds[0].clusters, None);
        assert_eq!(creds[1].profile, "ci");
        assert_eq!(creds[1].role, "deployer");
        let clusters: Vec<&str> = creds[1]
            .clusters
            .as_ref()
            .unwrap()
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(clusters, ["shop", "staging"]);
    }

    #[test]
    fn broken_files_say_where() {
        let no_secret = "[a]\naws_access_key_id = AKIA1\n";
        assert!(
            parse(no_secret)
                .unwrap_err()
                .message
                .contains("aws_secret_access_key")
        );
        let deployer_everywhere = "[a]\naws_access_key_id = AKIA1\naws_secret_access_key = 0123456789abcdef0\necsctl_role = deployer\n";
        assert!(
            parse(deployer_everywhere)
                .unwrap_err()
                .message
                .contains("ecsctl_clusters")
        );
        let bad_role = "[a]\naws_access_key_id = AKIA1\naws_secret_access_key = 0123456789abcdef0\necsctl_role = root\n";
        assert!(parse(bad_role).unwrap_err().message.contains("not one of"));
        let twice = "[a]\naws_access_key_id = K\naws_secret_access_key = 0123456789abcdef0\n[b]\naws_access_key_id = K\naws_secret_access_key = 0123456789abcdef1\n";
        assert!(parse(twice).unwrap_err().message.contains("two profiles"));
        assert_eq!(parse("").unwrap_err().line, 0);
        assert_eq!(parse("x = y\n").unwrap_err().line, 1);
        let short = "[a]\naws_access_key_id = K\naws_secret_access_key = short\n";
        assert!(parse(short).unwrap_err().message.contains("16"));
    }

    #[test]
    fn one_profile_of_a_users_credentials_file() {
        let text = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n[sso]\nsso_session = x\n[app]\naws_access_key_id=ASIAAPP\naws_secret_access_key = s2\naws_session_token = tok\n";
        let app = find_profile(text, "app").unwrap();
        assert_eq!(app.access_key_id, "ASIAAPP");
        assert_eq!(app.secret_access_key, "s2");
        assert_eq!(app.session_token.as_deref(), Some("tok"));
        assert_eq!(find_profile(text, "default").unwrap().session_token, None);
        assert!(
            find_profile(text, "sso")
                .unwrap_err()
                .contains("no aws_access_key_id")
        );
        assert!(
            find_profile(text, "nope")
                .unwrap_err()
                .contains("no profile [nope]")
        );
        assert!(!format!("{app:?}").contains("s2"));
    }

    #[test]
    fn generated_keys_round_trip_and_differ() {
        let a = generate("ecsctl").unwrap();
        let b = generate("ecsctl").unwrap();
        assert_ne!(a.access_key_id, b.access_key_id);
        assert!(a.access_key_id.starts_with("AKIA") && a.access_key_id.len() == 20);
        assert_eq!(a.secret_access_key.len(), 40);
        assert_eq!(parse(&render(&a)).unwrap(), vec![a]);
    }
}
