//! Protocol upgrades (WebSocket and the like) through an HTTP listener: the handshake reaches
//! a target, its 101 answer reaches the client, and bytes then flow both ways.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use ecsctl_lb::LbManager;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn spec_for(port: u16) -> api::kinds::LoadBalancerSpec {
    spec(serde_json::json!({
        "listeners": [{"port": port, "protocol": "HTTP", "defaultService": "web"}],
        "healthCheck": fast_checks(),
    }))
}

/// Sends an upgrade request for `path` and returns the response head (lowercased) and the
/// connection, positioned after the head.
async fn handshake(port: u16, path: &str) -> (String, BufReader<TcpStream>) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: chat.example\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut conn = BufReader::new(conn);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read_line(&mut line))
            .await
            .expect("response head within 5 s")
            .unwrap();
        if n == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    (head, conn)
}

async fn read_some(conn: &mut BufReader<TcpStream>) -> String {
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_connection_carries_bytes_both_ways_and_counts_as_in_flight() {
    let b = Backend::start("ws").await;
    let port = free_port();
    let lbs = LbManager::new();
    lbs.sync(vec![config("web", spec_for(port), &[("web", &[&b])])])
        .await
        .unwrap();

    let (head, mut conn) = handshake(port, "/upgrade").await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: echo\r\n"), "{head}");
    assert!(head.contains("connection: upgrade\r\n"), "{head}");
    assert!(head.contains("x-backend: ws\r\n"), "{head}");
    for word in ["hello", "again"] {
        conn.get_mut().write_all(word.as_bytes()).await.unwrap();
        assert_eq!(read_some(&mut conn).await, format!("ws:{word}"));
    }
    // While the tunnel is open the target has a request in flight, so draining waits for it.
    assert_eq!(lbs.snapshot()[0].targets[0].in_flight, 1);
    drop(conn);
    wait_until(Duration::from_secs(2), "tunnel closed", || {
        lbs.snapshot()[0].targets[0].in_flight == 0
    })
    .await;
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_declines_the_upgrade_answers_as_usual() {
    let b = Backend::start("plain").await;
    let port = free_port();
    let lbs = LbManager::new();
    lbs.sync(vec![config("web", spec_for(port), &[("web", &[&b])])])
        .await
        .unwrap();
    // `/` ignores the Upgrade header: an ordinary 200 with a body, and the connection stays
    // HTTP.
    let (head, mut conn) = handshake(port, "/").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("upgrade:"), "{head}");
    assert_eq!(read_some(&mut conn).await, "plain");
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_listener_ends_its_upgraded_connections() {
    let b = Backend::start("ws").await;
    let port = free_port();
    let lbs = LbManager::new();
    lbs.sync(vec![config("web", spec_for(port), &[("web", &[&b])])])
        .await
        .unwrap();
    let (head, mut conn) = handshake(port, "/upgrade").await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    lbs.sync(Vec::new()).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("the tunnel closes within 5 s");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    lbs.shutdown().await;
}
