//! Helpers of the console's end-to-end tests (`console*.rs`): a running `ecsctl console`,
//! plain HTTP/1.1 requests to it with or without the session cookie, server-sent event
//! streams, and the headless browser scripts of tests/browser/ (they talk in lines on their
//! stdin and stdout: READY, then GO from the test, then OK).

use super::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
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

/// `ecsctl console` as the server's usual client.
pub fn start_console(s: &Server) -> Console {
    start_console_with(s, &[])
}

/// `ecsctl GLOBAL... console` (e.g. `--server URL --token-file F`: another identity).
pub fn start_console_with(s: &Server, global: &[&str]) -> Console {
    let mut args = global.to_vec();
    args.extend_from_slice(&["console", "--listen", "127.0.0.1:0"]);
    let mut child = s
        .command(&args)
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

impl Answer {
    /// The `Location` header's value.
    pub fn location(&self) -> Option<&str> {
        self.head
            .lines()
            .find_map(|l| l.strip_prefix("location:"))
            .map(str::trim)
    }
}

/// Sends `METHOD path` with `headers` (`Name: value` lines) and `body`; the stream to read.
pub fn send(addr: &str, method: &str, path: &str, headers: &[String], body: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).expect("connect to the console");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    write!(tcp, "{head}\r\n{body}").expect("send the request");
    tcp
}

/// `GET path` with the session cookie (`ecsctl_console=...`) or without, not yet read.
pub fn request(addr: &str, path: &str, cookie: Option<&str>) -> TcpStream {
    let headers: Vec<String> = cookie.map(|c| format!("Cookie: {c}")).into_iter().collect();
    send(addr, "GET", path, &headers, "")
}

/// Reads a whole answer.
pub fn read_answer(mut tcp: TcpStream) -> Answer {
    let mut text = String::new();
    tcp.read_to_string(&mut text).expect("read the answer");
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
    read_answer(request(addr, path, cookie))
}

/// `POST path` of a form body, with extra header lines.
pub fn post(addr: &str, path: &str, headers: &[String], form: &str) -> Answer {
    read_answer(send(addr, "POST", path, headers, form))
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

/// `GET path` of the server's own API on its unix socket (an admin's), as JSON; panics on a
/// status other than 200. HTTP/1.0, so that the body is not chunked.
pub fn api_get(s: &Server, path: &str) -> serde_json::Value {
    let mut sock = UnixStream::connect(s.home().join("ecsctl.sock")).expect("the server's socket");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(sock, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send the request");
    let mut text = String::new();
    sock.read_to_string(&mut text).expect("read the answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "GET {path}: {head}\n{body}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
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

/// A browser script of tests/browser/ running, killed on drop. It talks in lines: most print
/// READY when their page is open, wait for GO (the test changes something meanwhile), then
/// print OK or FAIL.
pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Runs `tests/browser/SCRIPT BASE_URL TOKEN_PATH SCREENSHOT_DIR EXTRA...` with the
    /// python of [`browser_python`].
    pub fn start(script: &str, c: &Console, extra: &[&str]) -> Browser {
        let mut child = std::process::Command::new(browser_python())
            .arg(format!(
                "{}/tests/browser/{script}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .arg(format!("http://{}", c.addr))
            .arg(&c.token_path)
            .arg(env!("CARGO_TARGET_TMPDIR"))
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the browser script");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take().expect("stdin");
        Browser {
            child,
            stdin,
            lines,
        }
    }

    /// The script's next line, within `within` (panics without one).
    pub fn line(&mut self, within: Duration) -> String {
        match self.lines.recv_timeout(within) {
            Ok(l) => l,
            Err(e) => panic!("the browser script said nothing within {within:?}: {e}"),
        }
    }

    /// Tells the script `line` (e.g. GO).
    pub fn tell(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("tell the browser script");
    }

    /// Waits for READY (panics with what came instead).
    pub fn ready(&mut self, within: Duration) {
        let line = self.line(within);
        assert_eq!(line, "READY", "the browser did not get ready");
    }

    /// Tells it to go on, and insists on OK and a clean exit.
    pub fn go_and_pass(mut self, within: Duration) {
        self.tell("GO");
        let verdict = self.line(within);
        assert_eq!(verdict, "OK", "the browser script's verdict");
        assert!(self.finish(), "the browser script failed");
    }

    /// Waits for the script to end; whether it succeeded.
    pub fn finish(mut self) -> bool {
        self.child.wait().is_ok_and(|s| s.success())
    }
}

/// Waits for the service's rollout, so that no container is still being created when the
/// server's drop guard removes them.
pub fn settle(s: &Server, service: &str) {
    let o = s.run(&[
        "rollout",
        "status",
        &format!("service/{service}"),
        "--timeout",
        "60s",
    ]);
    assert!(o.status.success(), "{}", super::stderr(&o));
}

/// Asserts that the screenshot `name` was saved in target/tmp/ (and is no empty file).
pub fn assert_screenshot(name: &str) {
    let path = format!("{}/{name}", env!("CARGO_TARGET_TMPDIR"));
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(len > 1000, "{path}: {len} bytes");
}
