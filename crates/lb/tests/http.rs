//! HTTP listeners end to end on loopback: balancing, health, routing, retries, draining.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use ecsctl_lb::{LbManager, TargetHealth};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

fn http_spec(port: u16, extra: serde_json::Value) -> api::kinds::LoadBalancerSpec {
    let mut v = serde_json::json!({
        "listeners": [{"port": port, "protocol": "HTTP", "defaultService": "web"}],
        "healthCheck": fast_checks(),
    });
    if let (Some(obj), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in extra {
            obj.insert(k.clone(), val.clone());
        }
    }
    spec(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spreads_300_requests_over_three_backends() {
    let bs = [
        Backend::start("a").await,
        Backend::start("b").await,
        Backend::start("c").await,
    ];
    let port = free_port();
    let lbs = LbManager::new();
    let refs: Vec<&Backend> = bs.iter().collect();
    lbs.sync(vec![config(
        "web",
        http_spec(port, serde_json::json!({})),
        &[("web", &refs)],
    )])
    .await
    .unwrap();
    for b in &bs {
        wait_health(&lbs, &b.name, Duration::from_secs(3), is_healthy).await;
    }
    let client = Client::new();
    let url = format!("http://127.0.0.1:{port}/");
    let mut seen: HashMap<String, u32> = HashMap::new();
    for _ in 0..300 {
        let r = client.get(&url).await.unwrap();
        assert_eq!(r.status, 200);
        *seen.entry(r.body).or_default() += 1;
    }
    for b in &bs {
        let n = seen.get(&b.name).copied().unwrap_or(0);
        assert!((90..=110).contains(&n), "{}: {n} of 300 ({seen:?})", b.name);
    }
    let snap = lbs.snapshot();
    assert_eq!(snap.len(), 1);
    assert!(snap[0].listeners[0].bound);
    let total: u64 = snap[0].targets.iter().map(|t| t.requests).sum();
    assert_eq!(total, 300);
    assert!(
        snap[0]
            .targets
            .iter()
            .all(|t| t.in_flight == 0 && t.rate_per_sec > 0.0)
    );
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_backend_leaves_rotation_without_failed_requests_and_comes_back() {
    let bs = [
        Backend::start("k1").await,
        Backend::start("k2").await,
        Backend::start("k3").await,
    ];
    let port = free_port();
    let lbs = LbManager::new();
    let refs: Vec<&Backend> = bs.iter().collect();
    let cfg = config(
        "web",
        http_spec(port, serde_json::json!({})),
        &[("web", &refs)],
    );
    lbs.sync(vec![cfg.clone()]).await.unwrap();
    for b in &bs {
        wait_health(&lbs, &b.name, Duration::from_secs(3), is_healthy).await;
    }

    // A steady, bounded request loop: 4 workers, at most 20,000 requests in all.
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (stop, failed, sent) = (stop.clone(), failed.clone(), sent.clone());
        let client = Client::new();
        let url = format!("http://127.0.0.1:{port}/");
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) && sent.fetch_add(1, Ordering::Relaxed) < 20_000 {
                match client.get(&url).await {
                    Ok(r) if r.status == 200 => {}
                    Ok(r) => {
                        eprintln!("failed: {} {}", r.status, r.body);
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        eprintln!("failed: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    bs[1].kill();
    // Within interval 1 s x unhealthy threshold 2 (+ slack for a loaded machine).
    let took = wait_health(&lbs, "k2", Duration::from_secs(4), is_unhealthy).await;
    eprintln!("killed backend unhealthy after {took:?}");
    assert!(
        took <= Duration::from_millis(2500),
        "unhealthy after {took:?}"
    );
    assert_eq!(
        lbs.target_health("k2"),
        Some(TargetHealth::Unhealthy("Connection refused".into()))
    );
    let count = |lbs: &LbManager| {
        lbs.snapshot()[0]
            .targets
            .iter()
            .find(|t| t.task_id == "k2")
            .unwrap()
            .requests
    };
    let before = count(&lbs);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&lbs), before, "an unhealthy target gets no requests");

    // The same task comes back on the same port: healthy again after 2 checks, then served.
    let back = Backend::start_on("k2", bs[1].addr).await;
    wait_health(&lbs, "k2", Duration::from_secs(4), is_healthy).await;
    wait_until(Duration::from_secs(2), "k2 serves again", || {
        back.hits.load(Ordering::Relaxed) > 0
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    eprintln!("{} requests, none failed", sent.load(Ordering::Relaxed));
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed client requests");
    assert!(sent.load(Ordering::Relaxed) > 100);
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_path_prefix_and_host() {
    let (web, api, admin) = (
        Backend::start("web-1").await,
        Backend::start("api-1").await,
        Backend::start("admin-1").await,
    );
    let port = free_port();
    let s = spec(serde_json::json!({
        "listeners": [{"port": port, "protocol": "HTTP", "defaultService": "web", "rules": [
            {"priority": 10, "pathPrefix": "/api", "service": "api"},
            {"priority": 5, "host": "admin.local", "service": "admin"}]}],
        "healthCheck": fast_checks()}));
    let lbs = LbManager::new();
    lbs.sync(vec![config(
        "shop",
        s,
        &[("web", &[&web]), ("api", &[&api]), ("admin", &[&admin])],
    )])
    .await
    .unwrap();
    let client = Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: &str, host: Option<&str>| {
        let (client, url, host) = (
            client.clone(),
            format!("{base}{path}"),
            host.map(str::to_string),
        );
        async move {
            client
                .send("GET", &url, host.as_deref(), "")
                .await
                .unwrap()
                .body
        }
    };
    // Initial targets serve while no target of their service is healthy yet.
    assert_eq!(get("/", None).await, "web-1");
    assert_eq!(get("/api/users?x=1", None).await, "api-1");
    assert_eq!(get("/api", None).await, "api-1");
    assert_eq!(get("/apiary", None).await, "web-1");
    assert_eq!(
        get("/api/users", Some("admin.local:8080")).await,
        "admin-1",
        "priority 5 first"
    );
    assert_eq!(get("/", Some("shop.local")).await, "web-1");
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_target_is_503_with_the_service_named() {
    let port = free_port();
    let lbs = LbManager::new();
    let sick = Backend::start("sick").await;
    sick.health.store(500, Ordering::Relaxed);
    let s = spec(serde_json::json!({
        "listeners": [{"port": port, "protocol": "HTTP", "defaultService": "web",
            "rules": [{"pathPrefix": "/sick", "service": "sick"}]}],
        "healthCheck": fast_checks()}));
    lbs.sync(vec![config("web", s, &[("sick", &[&sick])])])
        .await
        .unwrap();
    let client = Client::new();
    let r = client
        .get(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.body.as_str()),
        (503, "no healthy target for service web\n")
    );

    wait_health(&lbs, "sick", Duration::from_secs(4), is_unhealthy).await;
    assert_eq!(
        lbs.target_health("sick"),
        Some(TargetHealth::Unhealthy(
            "Health checks failed with these codes: [500]".into()
        ))
    );
    let r = client
        .get(&format!("http://127.0.0.1:{port}/sick"))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.body.as_str()),
        (503, "no healthy target for service sick\n")
    );
    let snap = lbs.snapshot();
    assert_eq!(
        snap[0].targets[0].health.reason(),
        Some("Health checks failed with these codes: [500]")
    );
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_reach_the_target() {
    let b = Backend::start("fwd").await;
    let port = free_port();
    let lbs = LbManager::new();
    lbs.sync(vec![config(
        "web",
        http_spec(port, serde_json::json!({})),
        &[("web", &[&b])],
    )])
    .await
    .unwrap();
    let client = Client::new();
    let r = client
        .send(
            "GET",
            &format!("http://127.0.0.1:{port}/x"),
            Some("shop.example"),
            "",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.echo,
        format!("xff=127.0.0.1;proto=http;port={port};host=shop.example"),
        "X-Forwarded-For/Proto/Port added, Host kept"
    );
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_failing_mid_request_is_502_and_posts_are_not_retried() {
    let (a, b) = (Backend::start("m1").await, Backend::start("m2").await);
    let port = free_port();
    let lbs = LbManager::new();
    lbs.sync(vec![config(
        "web",
        http_spec(port, serde_json::json!({})),
        &[("web", &[&a, &b])],
    )])
    .await
    .unwrap();
    let client = Client::new();
    let r = client
        .send(
            "POST",
            &format!("http://127.0.0.1:{port}/drop"),
            None,
            "order=1",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.starts_with("bad gateway: target m"), "{}", r.body);
    assert_eq!(
        a.hits.load(Ordering::Relaxed) + b.hits.load(Ordering::Relaxed),
        1,
        "a POST reached one target once"
    );
    // A GET that fails the same way is tried on the other target too, then reported.
    let r = client
        .get(&format!("http://127.0.0.1:{port}/drop"))
        .await
        .unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(
        a.hits.load(Ordering::Relaxed) + b.hits.load(Ordering::Relaxed),
        3
    );
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_target_finishes_in_flight_request_and_gets_no_new_ones() {
    let (old, new) = (Backend::start("old").await, Backend::start("new").await);
    let port = free_port();
    let lbs = LbManager::new();
    let s = http_spec(port, serde_json::json!({}));
    lbs.sync(vec![config("web", s.clone(), &[("web", &[&old])])])
        .await
        .unwrap();
    assert!(!lbs.drained("old"), "registered is not drained");
    let client = Client::new();
    let slow = {
        let client = client.clone();
        let url = format!("http://127.0.0.1:{port}/slow?ms=1500");
        tokio::spawn(async move { client.get(&url).await })
    };
    wait_until(Duration::from_secs(2), "slow request in flight", || {
        lbs.snapshot()[0].targets[0].in_flight == 1
    })
    .await;

    let mut cfg = config("web", s, &[("web", &[&new])]);
    cfg.draining = vec![old.target()];
    lbs.sync(vec![cfg]).await.unwrap();
    assert_eq!(lbs.target_health("old"), Some(TargetHealth::Draining));
    assert!(!lbs.drained("old"), "a request is in flight");
    for _ in 0..20 {
        let r = client
            .get(&format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap();
        assert_eq!(r.body, "new");
    }
    let r = slow.await.unwrap().unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "old"));
    wait_until(Duration::from_secs(1), "drained after the request", || {
        lbs.drained("old")
    })
    .await;
    assert!(lbs.drained("never-registered"));
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_ends_after_the_deregistration_delay() {
    let b = Backend::start("lingering").await;
    let port = free_port();
    let lbs = LbManager::new();
    let s = http_spec(port, serde_json::json!({"deregistrationDelaySeconds": 1}));
    lbs.sync(vec![config("web", s.clone(), &[("web", &[&b])])])
        .await
        .unwrap();
    let client = Client::new();
    let url = format!("http://127.0.0.1:{port}/slow?ms=4000");
    let slow = tokio::spawn(async move { client.get(&url).await });
    wait_until(Duration::from_secs(2), "in flight", || {
        lbs.snapshot()[0].targets[0].in_flight == 1
    })
    .await;
    let mut cfg = config("web", s, &[]);
    cfg.draining = vec![b.target()];
    lbs.sync(vec![cfg]).await.unwrap();
    assert!(!lbs.drained("lingering"));
    let took = wait_until(Duration::from_secs(3), "drained by delay", || {
        lbs.drained("lingering")
    })
    .await;
    assert!(took >= Duration::from_millis(900), "{took:?}");
    slow.abort();
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_retried_on_another_target() {
    let alive = Backend::start("alive").await;
    let dead = Backend::start("dead").await;
    dead.kill();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let port = free_port();
    let lbs = LbManager::new();
    // Right after registration both are initial (one failed check is below the threshold of
    // 2), so round robin sends every other request to the dead one first.
    lbs.sync(vec![config(
        "web",
        http_spec(port, serde_json::json!({})),
        &[("web", &[&dead, &alive])],
    )])
    .await
    .unwrap();
    let client = Client::new();
    let url = format!("http://127.0.0.1:{port}/");
    for _ in 0..10 {
        let r = client.get(&url).await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "alive"));
    }
    // A refused connection carried nothing, so even a POST goes to the next target.
    for _ in 0..2 {
        let r = client.send("POST", &url, None, "x=1").await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "alive"));
    }
    let snap = lbs.snapshot();
    let dead_attempts = snap[0]
        .targets
        .iter()
        .find(|t| t.task_id == "dead")
        .unwrap()
        .requests;
    assert!(
        dead_attempts >= 5,
        "dead target was tried {dead_attempts} times"
    );
    assert_eq!(lbs.target_health("dead"), Some(TargetHealth::Initial));
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge_is_served_too() {
    use http_body_util::{BodyExt, Empty};
    let b = Backend::start("h2c").await;
    let port = free_port();
    let lbs = LbManager::new();
    lbs.sync(vec![config(
        "web",
        http_spec(port, serde_json::json!({})),
        &[("web", &[&b])],
    )])
    .await
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(format!("http://shop.example:{port}/"))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let res = send.send_request(req).await.unwrap();
    assert_eq!(res.version(), hyper::Version::HTTP_2);
    assert_eq!(res.status(), 200);
    let echo = res.headers()["x-echo"].to_str().unwrap().to_string();
    assert!(
        echo.ends_with(&format!("host=shop.example:{port}")),
        "{echo}"
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"h2c");
    lbs.shutdown().await;
}
