//! A minimal blocking HTTP client for talking to a member on loopback: `GET /health` and
//! JSON `POST`s to the gateway. One request per connection.
//!
//! It speaks HTTP/1.0 so that etcd's Go server answers with a plain body read to end of stream
//! (no chunked transfer coding to undo), which keeps this a few dozen lines instead of an HTTP
//! client dependency.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::HarnessError;

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// `GET path` on `addr`, the whole exchange bounded by `timeout` per I/O step.
pub(crate) fn get(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> Result<Response, HarnessError> {
    exchange("GET", addr, path, None, timeout)
}

/// `POST path` on `addr` with a JSON body.
pub(crate) fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Response, HarnessError> {
    exchange("POST", addr, path, Some(body), timeout)
}

fn exchange(
    method: &'static str,
    addr: SocketAddr,
    path: &str,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<Response, HarnessError> {
    let fail = |reason: String| HarnessError::Http {
        method,
        url: format!("http://{addr}{path}"),
        reason,
    };
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| fail(format!("connect: {e}")))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| fail(format!("set timeouts: {e}")))?;

    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(body) = body {
        request.push_str("Content-Type: application/json\r\n");
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    stream
        .write_all(&bytes)
        .map_err(|e| fail(format!("send: {e}")))?;

    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| fail(format!("receive: {e}")))?;
    parse(&raw).map_err(fail)
}

/// Splits a complete HTTP/1.x response into status and body.
fn parse(raw: &[u8]) -> Result<Response, String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {} bytes", raw.len()))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .filter(|_| status_line.starts_with("HTTP/1."))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("transfer-encoding") && value.trim() != "identity"
        })
    });
    if chunked {
        return Err("transfer-encoded body (not expected for an HTTP/1.0 request)".into());
    }
    Ok(Response {
        status,
        body: raw[head_end + 4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::{Ipv4Addr, TcpListener};

    use super::*;
    use crate::test_server::one_shot;

    #[test]
    fn posts_json_with_length_and_reads_body_to_end() {
        let (addr, server) =
            one_shot(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":1}");
        let response = post_json(addr, "/v3/kv/put", b"{\"a\":1}", Duration::from_secs(5)).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"{\"ok\":1}");
        let request = String::from_utf8(server.join().unwrap()).unwrap();
        assert!(
            request.starts_with("POST /v3/kv/put HTTP/1.0\r\n"),
            "{request}"
        );
        assert!(request.contains("Content-Length: 7\r\n"), "{request}");
        assert!(request.contains("Connection: close\r\n"), "{request}");
        assert!(request.ends_with("\r\n\r\n{\"a\":1}"), "{request}");
    }

    #[test]
    fn error_statuses_are_responses_not_errors() {
        let (addr, server) =
            one_shot(b"HTTP/1.1 503 Service Unavailable\r\n\r\n{\"health\":\"false\"}");
        let response = get(addr, "/health", Duration::from_secs(5)).unwrap();
        assert_eq!(response.status, 503);
        assert_eq!(response.body, b"{\"health\":\"false\"}");
        assert!(
            String::from_utf8(server.join().unwrap())
                .unwrap()
                .starts_with("GET /health ")
        );
    }

    #[test]
    fn malformed_and_chunked_responses_are_errors() {
        assert!(
            parse(b"HTTP/1.0 200 OK\r\n")
                .unwrap_err()
                .contains("no end of headers")
        );
        assert!(
            parse(b"SSH-2.0\r\n\r\n")
                .unwrap_err()
                .contains("bad status line")
        );
        assert!(
            parse(b"HTTP/1.1 abc\r\n\r\n")
                .unwrap_err()
                .contains("bad status line")
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        assert!(parse(chunked).unwrap_err().contains("transfer-encoded"));
    }

    #[test]
    fn nobody_listening_is_an_http_error_naming_the_url() {
        let addr = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap();
        // The listener is dropped: the port refuses connections.
        let err = get(addr, "/health", Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, HarnessError::Http { method: "GET", .. }));
        assert!(
            err.to_string().contains(&format!("http://{addr}/health")),
            "{err}"
        );
    }
}
