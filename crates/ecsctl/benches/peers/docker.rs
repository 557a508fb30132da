//! The Docker Engine API spoken directly on its socket, and what /proc says about a process
//! (CPU share, dockerd's pid): the measuring tools both sides share.

use crate::common::DOCKER;
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;

/// One Docker Engine API request on its socket.
pub(crate) fn docker(method: &str, path: &str) -> (u16, String) {
    docker_body(method, path, "")
}

/// One Docker Engine API request with a JSON body; the answer's body de-chunked (Docker
/// sends larger answers, such as an inspect, with chunked transfer encoding).
pub(crate) fn docker_body(method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = UnixStream::connect(DOCKER).expect("connect to the Docker socket");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .expect("write to the Docker socket");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .expect("read from the Docker socket");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let rest = raw.get(split + 4..).unwrap_or_default();
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = if head.contains("\r\ntransfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The payload of a chunked HTTP/1.1 body.
pub(crate) fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&rest[..eol]);
        let size =
            usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        let data = &rest[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        rest = data[size..].strip_prefix(b"\r\n").unwrap_or(&data[size..]);
    }
    out
}

pub(crate) fn inspect(id: &str) -> Value {
    let (_, body) = docker("GET", &format!("/containers/{id}/json"));
    serde_json::from_str(&body).unwrap_or_default()
}

pub(crate) fn container_pid(id: &str) -> u64 {
    let pid = inspect(id)["State"]["Pid"].as_u64().unwrap_or(0);
    assert!(pid > 0, "container {id} has no process");
    pid
}

pub(crate) fn kill9(pid: u64) {
    let st = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -9 {pid} failed");
}

/// % of one core for `ticks` (USER_HZ = 100) over `secs`.
pub(crate) fn core_pct(ticks: u64, secs: u64) -> f64 {
    ticks as f64 / 100.0 / secs as f64 * 100.0
}

pub(crate) fn dockerd_pid() -> u32 {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "dockerd")
        })
        .expect("no dockerd process")
}
