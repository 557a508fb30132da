//! Helpers of the console's end-to-end tests (`console.rs`, `console_task.rs`): a running
//! `ecsctl console`, plain HTTP/1.1 requests to it with or without the session cookie, and
//! the headless browser scripts of tests/browser/ (a READY / GO / OK exchange on their
//! stdin and stdout).

use super::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

impl Console {
    /// Trades the one-time token for the session cookie (`ecsctl_console=...`).
    pub fn login(&self) -> String {
        let a = get(&self.addr, &self.token_path, None);
        assert_eq!(a.status, 303, "{}", a.head);
        session_cookie(&a)
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

pub fn get(addr: &str, path: &str, cookie: Option<&str>) -> Answer {
    let mut text = String::new();
    request(addr, path, cookie)
        .read_to_string(&mut text)
        .expect("read the answer");
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

/// An open server-sent-events stream: its lines (without `\r`) as they arrive, read by a
/// thread, after its head (whose status it checks is 200).
pub struct SseStream {
    _tcp: TcpStream,
    lines: mpsc::Receiver<String>,
}

impl SseStream {
    pub fn open(addr: &str, path: &str, cookie: &str) -> SseStream {
        let tcp = request(addr, path, Some(cookie));
        let mut reader = BufReader::new(tcp.try_clone().expect("clone the socket"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if tx
                    .send(line.trim_end_matches(['\r', '\n']).to_string())
                    .is_err()
                {
                    break;
                }
                line.clear();
            }
        });
        let sse = SseStream {
            _tcp: tcp,
            lines: rx,
        };
        let status = sse
            .line_within(Duration::from_secs(10))
            .expect("a status line");
        assert!(status.contains(" 200 "), "{status}");
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let line = sse
                .line_within(end.saturating_duration_since(Instant::now()))
                .expect("the SSE head");
            if line.is_empty() {
                break;
            }
            assert!(
                !line.to_lowercase().starts_with("content-type:")
                    || line.contains("text/event-stream"),
                "{line}"
            );
        }
        sse
    }

    /// The next line, if one comes within `within`.
    pub fn line_within(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// The next event (its name and data) until `deadline`.
    pub fn event_until(&self, deadline: Instant) -> Option<(String, String)> {
        let (mut name, mut data) = (String::from("message"), None::<String>);
        loop {
            let line = self.line_within(deadline.saturating_duration_since(Instant::now()))?;
            if line.is_empty() {
                if let Some(data) = data.take() {
                    return Some((name, data));
                }
                continue;
            }
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                let d = d.strip_prefix(' ').unwrap_or(d);
                data = Some(match data {
                    Some(before) => format!("{before}\n{d}"),
                    None => d.to_string(),
                });
            }
        }
    }
}

/// Installs chromium, its driver and selenium (scripts/install-browser.sh); the venv's
/// python.
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

/// A browser script of tests/browser/ running: it prints READY when its page is open, waits
/// for a line on stdin (the test changes something meanwhile), then prints OK or FAIL.
pub struct BrowserScript {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Drop for BrowserScript {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BrowserScript {
    /// Runs `tests/browser/SCRIPT BASE_URL TOKEN_PATH SCREENSHOT_DIR EXTRA...`.
    pub fn start(python: &str, script: &str, c: &Console, extra: &[&str]) -> BrowserScript {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut child = std::process::Command::new(python)
            .arg(format!("{root}/crates/ecsctl/tests/browser/{script}"))
            .arg(format!("http://{}", c.addr))
            .arg(&c.token_path)
            .arg(env!("CARGO_TARGET_TMPDIR"))
            .args(extra)
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
        BrowserScript {
            stdin: child.stdin.take(),
            child,
            lines: rx,
        }
    }

    /// Waits for READY (panics with what came instead).
    pub fn ready(&mut self, within: Duration) {
        let ready = self.lines.recv_timeout(within);
        assert_eq!(
            ready.as_deref(),
            Ok("READY"),
            "the browser did not get ready"
        );
    }

    /// Tells it to go on, and insists on OK and a clean exit.
    pub fn go_and_pass(mut self, within: Duration) {
        let mut stdin = self.stdin.take().expect("stdin");
        writeln!(stdin, "GO").expect("tell the browser");
        let verdict = self.lines.recv_timeout(within);
        let status = self.child.wait().expect("the browser script");
        assert_eq!(verdict.as_deref(), Ok("OK"), "{verdict:?}");
        assert!(status.success());
    }
}

/// Asserts that the screenshot `name` was saved in target/tmp/ (and is no empty file).
pub fn assert_screenshot(name: &str) {
    let path = format!("{}/{name}", env!("CARGO_TARGET_TMPDIR"));
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(len > 1000, "{path}: {len} bytes");
}
