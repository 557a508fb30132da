//! Where the server listens (`--server`), the default data directory and the bearer token
//! file.

use crate::error::{io_reason, usage};
use anyhow::Result;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAddr {
    Unix(PathBuf),
    /// `host:port`
    Tcp(String),
    /// `host:port`, spoken to over TLS
    Https(String),
}

impl ServerAddr {
    /// Parses `unix:PATH`, `tcp://HOST:PORT`, `https://HOST:PORT` or a bare socket path.
    pub fn parse(s: &str) -> Result<Self> {
        let tcp = s
            .strip_prefix("tcp://")
            .map(|r| (r, false))
            .or_else(|| s.strip_prefix("https://").map(|r| (r, true)));
        if let Some((rest, tls)) = tcp {
            let rest = rest.trim_end_matches('/');
            match rest.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    Ok(if tls {
                        ServerAddr::Https(rest.to_string())
                    } else {
                        ServerAddr::Tcp(rest.to_string())
                    })
                }
                _ => Err(usage(format!(
                    "invalid server address {s:?}: expected {}://HOST:PORT",
                    if tls { "https" } else { "tcp" }
                ))),
            }
        } else if let Some(path) = s.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(usage(format!(
                    "invalid server address {s:?}: expected unix:PATH"
                )));
            }
            Ok(ServerAddr::Unix(PathBuf::from(path)))
        } else if s.contains("://") {
            Err(usage(format!(
                "invalid server address {s:?}: expected unix:PATH, a socket path, tcp://HOST:PORT or https://HOST:PORT"
            )))
        } else if s.is_empty() {
            Err(usage("empty server address"))
        } else {
            Ok(ServerAddr::Unix(PathBuf::from(s)))
        }
    }

    /// The default: the socket in the default data directory.
    pub fn default_socket() -> Result<Self> {
        Ok(ServerAddr::Unix(default_data_dir()?.join("ecsctl.sock")))
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ServerAddr::Tcp(a) => write!(f, "tcp://{a}"),
            ServerAddr::Https(a) => write!(f, "https://{a}"),
        }
    }
}

/// The addresses of `--server` (given once or more; each value one address or several
/// separated by commas), in order and without repeats. Each is checked with
/// [`ServerAddr::parse`], whose error names the bad one. No value at all: none (the caller
/// uses the default socket).
pub fn parse_servers<S: AsRef<str>>(values: &[S]) -> Result<Vec<ServerAddr>> {
    let mut out = Vec::new();
    for value in values {
        let value = value.as_ref();
        for part in value.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(usage(format!(
                    "empty server address in {value:?}: expected URL[,URL...]"
                )));
            }
            let addr = ServerAddr::parse(part)?;
            if !out.contains(&addr) {
                out.push(addr);
            }
        }
    }
    Ok(out)
}

/// `$ECSCTL_HOME`, else `~/.local/share/ecsctl`.
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("ECSCTL_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/ecsctl")),
        None => Err(usage(
            "cannot find the data directory: set ECSCTL_HOME (or HOME)",
        )),
    }
}

/// Reads a bearer token file: the first line, trimmed; an empty token is refused.
pub fn read_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(format!(
            "cannot read token file {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(usage(format!("token file {} is empty", path.display())));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        assert_eq!(
            ServerAddr::parse("unix:/tmp/x.sock").unwrap(),
            ServerAddr::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            ServerAddr::parse("/tmp/x.sock").unwrap(),
            ServerAddr::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            ServerAddr::parse("rel.sock").unwrap(),
            ServerAddr::Unix("rel.sock".into())
        );
        assert_eq!(
            ServerAddr::parse("tcp://127.0.0.1:7070").unwrap(),
            ServerAddr::Tcp("127.0.0.1:7070".into())
        );
        assert_eq!(
            ServerAddr::parse("tcp://[::1]:7070").unwrap(),
            ServerAddr::Tcp("[::1]:7070".into())
        );
        assert!(ServerAddr::parse("tcp://host").is_err());
        assert!(ServerAddr::parse("http://host:1").is_err());
        assert!(ServerAddr::parse("unix:").is_err());
        assert_eq!(
            ServerAddr::parse("unix:/a b").unwrap().to_string(),
            "unix:/a b"
        );
    }

    #[test]
    fn several_servers_parse_in_order() {
        let one = parse_servers(&["tcp://10.0.0.1:7070"]).unwrap();
        assert_eq!(one, [ServerAddr::Tcp("10.0.0.1:7070".into())]);
        let many = parse_servers(&[
            "https://10.0.0.1:7443, https://10.0.0.2:7443",
            "unix:/run/ecsctl.sock",
            // Repeats (here of the first) are dropped.
            "https://10.0.0.1:7443",
        ])
        .unwrap();
        assert_eq!(
            many,
            [
                ServerAddr::Https("10.0.0.1:7443".into()),
                ServerAddr::Https("10.0.0.2:7443".into()),
                ServerAddr::Unix("/run/ecsctl.sock".into()),
            ]
        );
        assert!(parse_servers::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_bad_server_among_several_is_named() {
        use crate::error::UsageError;
        let err =
            parse_servers(&["tcp://127.0.0.1:7070,http://10.0.0.2:7070,tcp://x:1"]).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        assert!(
            err.to_string()
                .starts_with("invalid server address \"http://10.0.0.2:7070\""),
            "{err}"
        );
        let err = parse_servers(&["tcp://127.0.0.1:7070", "tcp://10.0.0.2"]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid server address \"tcp://10.0.0.2\""),
            "{err}"
        );
        let err = parse_servers(&["tcp://127.0.0.1:7070,,tcp://10.0.0.2:1"]).unwrap_err();
        assert!(
            err.to_string().starts_with("empty server address in"),
            "{err}"
        );
        assert!(parse_servers(&[""]).is_err());
    }
}
