//! Who may use the console: the holder of the one-time token printed at start, and after
//! that the browser holding the session cookie it was given in exchange.
//!
//! The token is good once: a second visit of the printed URL (another browser, a link
//! copied from shell history) gets nothing. Secrets are compared in constant time.

use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashSet;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "ecsctl_console";

/// A random secret: 32 bytes from the system's generator, as 64 hex digits.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // The system's generator fails only when the OS has no entropy source at all.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random number generator failed");
    hex::encode(bytes)
}

/// The one-time token and the sessions it opened.
#[derive(Debug)]
pub struct Auth {
    /// `None` once used.
    token: Mutex<Option<String>>,
    sessions: Mutex<HashSet<String>>,
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Auth {
    /// Access through `token`, good for one visit.
    pub fn new(token: String) -> Self {
        Auth {
            token: Mutex::new(Some(token)),
            sessions: Mutex::new(HashSet::new()),
        }
    }

    /// Trades the one-time token for a new session id; `None` when the token is wrong or
    /// was used already.
    pub fn redeem(&self, token: &str) -> Option<String> {
        let mut slot = self.token.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_deref() {
            Some(t) if same(t, token) => {
                *slot = None;
                let session = random_secret();
                self.sessions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(session.clone());
                Some(session)
            }
            _ => None,
        }
    }

    /// Whether a request's `Cookie` header holds a session this console opened.
    pub fn allows(&self, cookie_header: Option<&str>) -> bool {
        let Some(id) = cookie_header.and_then(session_cookie) else {
            return false;
        };
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.iter().any(|s| same(s, id))
    }
}

/// The session id in a `Cookie` header (`a=b; ecsctl_console=ID`).
pub fn session_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value for a session: not readable from scripts, not sent by other sites.
pub fn set_cookie(session: &str) -> String {
    format!("{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_opens_one_session_once() {
        let auth = Auth::new("t0k".into());
        assert_eq!(auth.redeem("wrong"), None);
        let session = auth.redeem("t0k").expect("the token works once");
        assert_eq!(auth.redeem("t0k"), None, "the token works only once");
        let header = format!("theme=dark; {COOKIE}={session}");
        assert!(auth.allows(Some(&header)));
    }

    #[test]
    fn a_wrong_token_does_not_use_it_up() {
        let auth = Auth::new("t0k".into());
        assert_eq!(auth.redeem("t0"), None);
        assert_eq!(auth.redeem(""), None);
        assert!(auth.redeem("t0k").is_some());
    }

    #[test]
    fn requests_need_the_session_cookie() {
        let auth = Auth::new("t0k".into());
        let session = auth.redeem("t0k").unwrap();
        assert!(!auth.allows(None));
        assert!(!auth.allows(Some("")));
        assert!(!auth.allows(Some(&format!("{COOKIE}="))));
        assert!(
            !auth.allows(Some(&format!("{COOKIE}=t0k"))),
            "the token is no session"
        );
        assert!(!auth.allows(Some(&format!("other={session}"))));
        assert!(!auth.allows(Some(&format!("{COOKIE}={session}x"))));
        assert!(auth.allows(Some(&format!("{COOKIE}={session}"))));
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site() {
        let c = set_cookie("abc");
        assert!(c.starts_with("ecsctl_console=abc;"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"));
    }

    #[test]
    fn secrets_are_random_and_long() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
