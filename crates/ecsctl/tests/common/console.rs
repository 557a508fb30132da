//! A running `ecsctl console` and what the tests do with it: requests with or without the
//! session cookie, the session itself, the server's API read on its unix socket, and the
//! browser scripts of tests/browser/ (headless chromium through selenium).

use crate::support::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `ecsctl console`, killed on drop.
pub struct Console {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The printed path with its token (`/?token=...`).
    pub token_path: String,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_console(s: &Server) -> Console {
    let mut child = s
        .command(&["console", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ecsctl console");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the console's first line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let rest = url.strip_prefix("http://").expect("http://");
    let (addr, path) = rest.split_at(rest.find('/').expect("a path"));
    assert!(addr.starts_with("127.0.0.1:"), "{url}");
    assert!(path.starts_with("/?token=") && path.len() > 40, "{url}");
    Console {
        child,
        addr: addr.to_string(),
        token_path: path.to_string(),
    }
}

/// An HTTP/1.1 answer: status, head (lower-cased), body.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

pub fn request(addr: &str, path: &str, cookie: Option<&str>) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).expect("connect to the console");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n"
    )
    .expect("send the request");
    tcp
}

fn answer(text: &str) -> Answer {
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    Answer {
        status,
        head: head.to_lowercase(),
        body: body.to_string(),
    }
}

pub fn get(addr: &str, path: &str, cookie: Option<&str>) -> Answer {
    let mut text = String::new();
    request(addr, path, cookie)
        .read_to_string(&mut text)
        .expect("read the answer");
    answer(&text)
}

/// The `ecsctl_console=...` pair of a `Set-Cookie` header.
pub fn session_cookie(a: &Answer) -> String {
    let line = a
        .head
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie set: {}", a.head));
    assert!(line.contains("httponly"), "{line}");
    assert!(line.contains("samesite=strict"), "{line}");
    assert!(line.contains("path=/"), "{line}");
    line["set-cookie:".len()..]
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A session: the one-time URL traded for its cookie.
pub fn sign_in(c: &Console) -> String {
    let a = get(&c.addr, &c.token_path, None);
    assert_eq!(a.status, 303, "{}", a.head);
    session_cookie(&a)
}

/// `GET path` of the server's API on its unix socket (an admin's), as JSON; panics on a
/// status other than 200. HTTP/1.0, so that the body is not chunked.
pub fn api_get(s: &Server, path: &str) -> serde_json::Value {
    let mut sock = UnixStream::connect(s.home().join("ecsctl.sock")).expect("the server's socket");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(sock, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send the request");
    let mut text = String::new();
    sock.read_to_string(&mut text).expect("read the answer");
    let a = answer(&text);
    assert_eq!(a.status, 200, "GET {path}: {}", a.body);
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {}", a.body))
}

/// Installs the browser if needed (scripts/install-browser.sh) and returns the python of
/// its venv, which has selenium.
pub fn browser_python() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let install = std::process::Command::new(format!("{root}/scripts/install-browser.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/install-browser.sh");
    assert!(
        install.status.success(),
        "scripts/install-browser.sh failed"
    );
    String::from_utf8_lossy(&install.stdout)
        .lines()
        .last()
        .expect("the venv's python")
        .to_string()
}

/// A browser script of tests/browser/ running with `args`: its stdin, and its stdout's
/// lines as they come.
pub struct BrowserScript {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
}

impl Drop for BrowserScript {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run_browser_script(script: &str, args: &[&str]) -> BrowserScript {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut child = std::process::Command::new(browser_python())
        .arg(format!("{root}/crates/ecsctl/tests/browser/{script}"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the browser script");
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    BrowserScript { child, lines: rx }
}
