//! Who may use the console: the holder of the one-time token printed at start, and after
//! that the browser holding the session cookie it was given in exchange.
//!
//! The token is good once: a second visit of the printed URL (another browser, a link
//! copied from shell history) gets nothing. Secrets are compared in constant time.
//!
//! Beside each session it keeps that session's anti-forgery token (a random value that the
//! action forms carry and [`Auth::check_csrf`] compares) and the flash message its next page
//! shows (what the last action did).

use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
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

/// The form field that carries the anti-forgery token.
pub const CSRF_FIELD: &str = "csrf";

/// A message for the session's next page: what an action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flash {
    pub message: String,
}

/// What the console keeps for one session.
#[derive(Debug)]
struct Session {
    /// The anti-forgery token of its forms.
    csrf: String,
    flash: Option<Flash>,
}

/// The one-time token and the sessions it opened (by session id).
#[derive(Debug)]
pub struct Auth {
    /// `None` once used.
    token: Mutex<Option<String>>,
    sessions: Mutex<HashMap<String, Session>>,
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Auth {
    /// Access through `token`, good for one visit.
    pub fn new(token: String) -> Self {
        Auth {
            token: Mutex::new(Some(token)),
            sessions: Mutex::new(HashMap::new()),
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
                self.sessions().insert(
                    session.clone(),
                    Session {
                        csrf: random_secret(),
                        flash: None,
                    },
                );
                Some(session)
            }
            _ => None,
        }
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the session of a request's `Cookie` header, found by comparing every
    /// session id in constant time; `None` without one.
    fn with_session<T>(
        &self,
        cookie_header: Option<&str>,
        f: impl FnOnce(&mut Session) -> T,
    ) -> Option<T> {
        let id = cookie_header.and_then(session_cookie)?;
        let mut sessions = self.sessions();
        let mut found = None;
        for (key, session) in sessions.iter_mut() {
            if same(key, id) {
                found = Some(session);
            }
        }
        found.map(f)
    }

    /// Whether a request's `Cookie` header holds a session this console opened.
    pub fn allows(&self, cookie_header: Option<&str>) -> bool {
        self.with_session(cookie_header, |_| ()).is_some()
    }

    /// The anti-forgery token of the session in `cookie_header`, for its forms.
    pub fn csrf(&self, cookie_header: Option<&str>) -> Option<String> {
        self.with_session(cookie_header, |s| s.csrf.clone())
    }

    /// Whether `given` is the anti-forgery token of the session in `cookie_header`
    /// (compared in constant time); false without a session or a token.
    pub fn check_csrf(&self, cookie_header: Option<&str>, given: Option<&str>) -> bool {
        let Some(given) = given else {
            return false;
        };
        self.with_session(cookie_header, |s| same(&s.csrf, given))
            .unwrap_or(false)
    }

    /// Leaves `flash` for the session's next page.
    pub fn set_flash(&self, cookie_header: Option<&str>, flash: Flash) {
        self.with_session(cookie_header, |s| s.flash = Some(flash));
    }

    /// The session's flash message, once.
    pub fn take_flash(&self, cookie_header: Option<&str>) -> Option<Flash> {
        self.with_session(cookie_header, |s| s.flash.take())
            .flatten()
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
    fn each_session_has_its_own_csrf_token() {
        let auth = Auth::new("t0k".into());
        let session = auth.redeem("t0k").unwrap();
        let cookie = format!("{COOKIE}={session}");
        let csrf = auth.csrf(Some(&cookie)).expect("a token for the session");
        assert_eq!(csrf.len(), 64);
        assert_ne!(csrf, session, "the token is not the session id");
        assert!(auth.check_csrf(Some(&cookie), Some(&csrf)));
        assert!(!auth.check_csrf(Some(&cookie), None));
        assert!(!auth.check_csrf(Some(&cookie), Some("")));
        assert!(!auth.check_csrf(Some(&cookie), Some(&csrf[1..])));
        assert!(!auth.check_csrf(Some(&cookie), Some(&session)));
        assert!(!auth.check_csrf(None, Some(&csrf)), "no session, no action");
        assert!(!auth.check_csrf(Some(&format!("{COOKIE}=x")), Some(&csrf)));
        assert_eq!(auth.csrf(None), None);
    }

    #[test]
    fn a_flash_is_shown_once() {
        let auth = Auth::new("t0k".into());
        let cookie = format!("{COOKIE}={}", auth.redeem("t0k").unwrap());
        assert_eq!(auth.take_flash(Some(&cookie)), None);
        let flash = Flash {
            message: "service web scaled to 3".into(),
        };
        auth.set_flash(Some(&cookie), flash.clone());
        auth.set_flash(None, flash.clone());
        assert_eq!(auth.take_flash(Some(&cookie)), Some(flash));
        assert_eq!(auth.take_flash(Some(&cookie)), None);
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
