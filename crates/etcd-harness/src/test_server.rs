//! A one-connection HTTP server on a loopback port, for the unit tests of the HTTP client and
//! the gateway calls (the real etcd tier is behind the `etcd-tests` feature).
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::thread;

/// Serves one connection: records the request, answers with `reply`.
pub(crate) fn one_shot(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        // Read until the end of headers plus the announced body.
        loop {
            let n = conn.read(&mut buf).unwrap();
            assert_ne!(n, 0, "the client closed before sending a whole request");
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                if request.len() >= end + 4 + length {
                    break;
                }
            }
        }
        conn.write_all(reply).unwrap();
        request
    });
    (addr, server)
}
