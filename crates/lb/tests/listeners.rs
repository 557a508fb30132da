//! Listener lifecycle: TCP pass-through, idempotent sync, rebinding, bind errors, shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use ecsctl_lb::{LbError, LbManager, Target, TargetHealth};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP echo server (not HTTP: TCP listeners must not need it).
async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_listener_passes_bytes_through() {
    let (e1, e2) = (echo_server().await, echo_server().await);
    let port = free_port();
    let s = spec(serde_json::json!({
        "listeners": [{"port": port, "protocol": "TCP", "defaultService": "db"}],
        "healthCheck": {"intervalSeconds": 1, "healthyThresholdCount": 1}}));
    let mut cfg = config("db", s, &[]);
    cfg.targets.insert(
        "db".into(),
        vec![
            Target {
                task_id: "e1".into(),
                addr: e1,
            },
            Target {
                task_id: "e2".into(),
                addr: e2,
            },
        ],
    );
    let lbs = LbManager::new();
    lbs.sync(vec![cfg]).await.unwrap();
    // TCP connect checks: an echo server is healthy without speaking HTTP.
    wait_health(&lbs, "e1", Duration::from_secs(2), is_healthy).await;
    wait_health(&lbs, "e2", Duration::from_secs(2), is_healthy).await;
    for i in 0..4u8 {
        let mut c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let payload: Vec<u8> = (0..=255u8).cycle().take(100_000).map(|b| b ^ i).collect();
        c.write_all(&payload).await.unwrap();
        c.shutdown().await.unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, payload);
    }
    let snap = lbs.snapshot();
    let counts: Vec<u64> = snap[0].targets.iter().map(|t| t.requests).collect();
    assert_eq!(counts, vec![2, 2], "connections round robin");
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_config_twice_keeps_the_socket_and_connections() {
    let b = Backend::start("same").await;
    let port = free_port();
    let s = spec(serde_json::json!({
        "listeners": [{"port": port, "protocol": "HTTP", "defaultService": "web"}],
        "healthCheck": fast_checks()}));
    let cfg = config("web", s.clone(), &[("web", &[&b])]);
    let lbs = LbManager::new();
    lbs.sync(vec![cfg.clone()]).await.unwrap();
    wait_health(&lbs, "same", Duration::from_secs(3), is_healthy).await;

    // One raw keep-alive connection, used before and after the syncs.
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let ask = |path: &'static str| async move {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
    };
    conn.write_all(&ask("/").await).await.unwrap();
    assert!(read_response(&mut conn).await.ends_with("same"));

    lbs.sync(vec![cfg.clone()]).await.unwrap();
    assert_eq!(
        lbs.target_health("same"),
        Some(TargetHealth::Healthy),
        "health kept"
    );
    // Changed rules and a new target: still no rebind, the open connection keeps working.
    let b2 = Backend::start("other").await;
    let mut changed = config("web", s, &[("web", &[&b]), ("api", &[&b2])]);
    changed.spec.listeners[0].rules =
        serde_json::from_value(serde_json::json!([{"pathPrefix": "/api", "service": "api"}]))
            .unwrap();
    lbs.sync(vec![changed]).await.unwrap();
    assert_eq!(
        lbs.target_health("same"),
        Some(TargetHealth::Healthy),
        "health kept"
    );
    conn.write_all(&ask("/api").await).await.unwrap();
    assert!(read_response(&mut conn).await.ends_with("other"));
    assert_eq!(
        lbs.snapshot()[0]
            .targets
            .iter()
            .find(|t| t.task_id == "same")
            .unwrap()
            .requests,
        1
    );
    lbs.shutdown().await;
}

/// Reads one small response (Content-Length framed) and returns it as text.
async fn read_response(conn: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "connection closed: {}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap();
            if body.len() >= len {
                return text;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_error_names_the_lb_and_port_and_the_rest_still_works() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    let free = free_port();
    let b = Backend::start("bind").await;
    let s = spec(serde_json::json!({"listeners": [
        {"port": busy, "protocol": "HTTP", "defaultService": "web"},
        {"port": free, "protocol": "HTTP", "defaultService": "web"}]}));
    let lbs = LbManager::new();
    let err = lbs
        .sync(vec![config("shop", s.clone(), &[("web", &[&b])])])
        .await
        .unwrap_err();
    assert!(
        matches!(err, LbError::Bind { port, .. } if port == busy),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("load balancer shop") && text.contains(&format!("port {busy}")),
        "{text}"
    );
    let snap = lbs.snapshot();
    let l = &snap[0].listeners;
    assert!(
        !l[0].bound && l[0].error.as_deref().is_some_and(|e| e.contains("in use")),
        "{l:?}"
    );
    assert!(l[1].bound && l[1].error.is_none());
    let r = Client::new()
        .get(&format!("http://127.0.0.1:{free}/"))
        .await
        .unwrap();
    assert_eq!(r.body, "bind");

    // Once the port is free, the next sync binds it.
    drop(taken);
    lbs.sync(vec![config("shop", s, &[("web", &[&b])])])
        .await
        .unwrap();
    assert!(lbs.snapshot()[0].listeners.iter().all(|l| l.bound));
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_and_moved_listeners_close_and_rebind() {
    let b = Backend::start("mv").await;
    let (p1, p2) = (free_port(), free_port());
    let on = |port: u16| {
        spec(
            serde_json::json!({"listeners": [{"port": port, "protocol": "HTTP", "defaultService": "web"}]}),
        )
    };
    let lbs = LbManager::new();
    lbs.sync(vec![config("web", on(p1), &[("web", &[&b])])])
        .await
        .unwrap();
    assert!(TcpStream::connect(("127.0.0.1", p1)).await.is_ok());
    lbs.sync(vec![config("web", on(p2), &[("web", &[&b])])])
        .await
        .unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", p1)).await.is_err(),
        "old port closed"
    );
    assert_eq!(
        Client::new()
            .get(&format!("http://127.0.0.1:{p2}/"))
            .await
            .unwrap()
            .body,
        "mv"
    );
    // HTTP -> TCP on the same port: closed and bound again.
    let mut tcp = on(p2);
    tcp.listeners[0].protocol = api::kinds::LbProtocol::Tcp;
    lbs.sync(vec![config("web", tcp, &[("web", &[&b])])])
        .await
        .unwrap();
    assert!(lbs.snapshot()[0].listeners[0].bound);
    lbs.sync(vec![]).await.unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", p2)).await.is_err(),
        "removed LB closed"
    );
    assert!(lbs.snapshot().is_empty());
    assert_eq!(lbs.target_health("mv"), None);
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_listeners_and_bad_addresses_are_reported() {
    let port = free_port();
    let s = spec(serde_json::json!({"listeners": [
        {"port": port, "protocol": "HTTP", "defaultService": "web"},
        {"port": 81, "protocol": "HTTP", "address": "not-an-ip"}]}));
    let lbs = LbManager::new();
    let mut other = config("b", s.clone(), &[]);
    other.spec.listeners.truncate(1);
    let err = lbs
        .sync(vec![config("a", s, &[]), other])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("invalid address \"not-an-ip\""), "{text}");
    assert!(
        text.contains(&format!("port {port}")) && text.contains("listener of load balancer a"),
        "{text}"
    );
    lbs.shutdown().await;
    assert!(lbs.snapshot().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_reports_its_own_errors_and_remove_frees_the_address() {
    let port = free_port();
    let s = spec(serde_json::json!({"listeners": [
        {"port": port, "protocol": "HTTP", "defaultService": "web"}]}));
    let lbs = LbManager::new();
    lbs.upsert(config("a", s.clone(), &[])).await.unwrap();
    // b wants a's address: the error is b's; a keeps serving.
    let err = lbs.upsert(config("b", s.clone(), &[])).await.unwrap_err();
    assert!(
        matches!(err, LbError::Conflict { ref lb, .. } if lb == "b"),
        "{err}"
    );
    assert!(!err.is_retryable());
    // Upserting a again reports nothing of b's.
    lbs.upsert(config("a", s, &[])).await.unwrap();
    let bound = |name: &str| {
        lbs.snapshot()
            .iter()
            .find(|l| l.name == name)
            .is_some_and(|l| l.listeners.iter().all(|x| x.bound))
    };
    assert!(bound("a") && !bound("b"));
    // Once a is gone, b gets the address without being asked again.
    lbs.remove("default", "a").await;
    assert!(bound("b"));
    assert!(lbs.snapshot().iter().all(|l| l.name != "a"));
    assert!(lbs.local_addr("default", "b", port).await.is_some());
    lbs.shutdown().await;
}
