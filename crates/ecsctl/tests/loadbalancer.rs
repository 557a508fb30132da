//! The built-in load balancer in front of real tasks: requests spread over the tasks, a
//! killed task leaves rotation, a rolling update under load fails no request, and two
//! services share one listener by path prefix.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{Server, docker};

/// A free TCP port on loopback (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// GET http://127.0.0.1:port/path; (status, body) or None when the connection fails.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    Some((
        status,
        out.split_once("\r\n\r\n")
            .map(|(_, b)| b.trim().to_string())
            .unwrap_or_default(),
    ))
}

fn web_td(name: &str, text: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {name}}}\nspec:\n  networkMode: awsvpc\n  containerDefinitions:\n    - name: app\n      image: ecsctl/busybox:local\n      memory: 32\n      stopTimeout: 2\n      portMappings: [{{containerPort: 8080}}]\n      command: [sh, -c, 'mkdir -p /www/{name} && echo \"{text} $HOSTNAME\" > /www/index.html && cp /www/index.html /www/{name}/index.html && exec httpd -f -p 8080 -h /www']\n"
    )
}

fn service(name: &str, lb: &str, count: u32) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  taskDefinition: {name}\n  desiredCount: {count}\n  deploymentConfiguration: {{minimumHealthyPercent: 100, maximumPercent: 200}}\n  loadBalancers: [{{loadBalancerName: {lb}, containerName: app, containerPort: 8080}}]\n"
    )
}

fn lb(name: &str, port: u16, listener_extra: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: LoadBalancer\nmetadata: {{name: {name}}}\nspec:\n  listeners:\n    - port: {port}\n      protocol: HTTP\n{listener_extra}  healthCheck: {{path: /, intervalSeconds: 1, timeoutSeconds: 1, healthyThresholdCount: 2, unhealthyThresholdCount: 2}}\n  deregistrationDelaySeconds: 5\n"
    )
}

fn wait_healthy_spread(
    port: u16,
    expect: usize,
    within: Duration,
) -> std::collections::BTreeMap<String, u32> {
    let deadline = Instant::now() + within;
    loop {
        let mut seen = std::collections::BTreeMap::new();
        for _ in 0..(expect * 10) {
            if let Some((200, body)) = get(port, "/") {
                *seen.entry(body).or_insert(0u32) += 1;
            }
        }
        if seen.len() == expect {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {expect} backends: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn spreads_requests_drops_killed_tasks_and_rolls_without_errors() {
    let s = Server::start();
    let port = free_port();
    s.apply(&format!(
        "{}---\n{}---\n{}",
        web_td("web", "v1"),
        lb("front", port, "      defaultService: web\n"),
        service("web", "front", 3)
    ));
    wait_healthy_spread(port, 3, Duration::from_secs(30));
    // Steady state counts target health: all three are healthy in the load balancer then.
    let o = s.run(&["rollout", "status", "service/web", "--timeout", "30s"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // 300 requests spread over all three tasks.
    let mut per = std::collections::BTreeMap::new();
    for _ in 0..300 {
        let (status, body) = get(port, "/").expect("request");
        assert_eq!(status, 200);
        *per.entry(body).or_insert(0u32) += 1;
    }
    assert_eq!(per.len(), 3, "{per:?}");
    assert!(per.values().all(|n| *n >= 50), "round robin: {per:?}");

    // A killed task leaves rotation (a replacement joins when healthy).
    let victim = s.containers("label=ecsctl.container=app")[0].clone();
    assert!(docker(&["kill", &victim]).status.success());
    std::thread::sleep(Duration::from_secs(3));
    let mut failed = 0;
    for _ in 0..60 {
        match get(port, "/") {
            Some((200, _)) => {}
            _ => failed += 1,
        }
    }
    assert_eq!(failed, 0, "requests failed after a task was killed");
    wait_healthy_spread(port, 3, Duration::from_secs(30));

    // A rolling update under a steady request loop fails no request.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let load = std::thread::spawn(move || {
        let (mut ok, mut bad, mut v2) = (0u32, Vec::new(), 0u32);
        while !flag.load(std::sync::atomic::Ordering::Relaxed) && ok + (bad.len() as u32) < 2000 {
            match get(port, "/") {
                Some((200, body)) => {
                    ok += 1;
                    if body.starts_with("v2") {
                        v2 += 1;
                    }
                }
                other => bad.push(format!("{other:?}")),
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        (ok, bad, v2)
    });
    s.apply(&web_td("web", "v2"));
    let o = s.run(&["rollout", "status", "service/web", "--timeout", "60s"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, bad, v2) = load.join().expect("load thread");
    assert!(
        bad.is_empty(),
        "{} of {} requests failed during the rollout: {:?}",
        bad.len(),
        ok as usize + bad.len(),
        &bad[..bad.len().min(5)]
    );
    assert!(ok > 100 && v2 > 0, "ok {ok}, served by v2 {v2}");

    // The service said so in ECS's words.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = s.run(&["events"]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        if text.contains("(service web) registered ")
            && text.contains("targets in (load balancer front).")
            && text.contains("(service web) has begun draining connections on")
        {
            break;
        }
        assert!(Instant::now() < deadline, "events:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_services_behind_one_listener_by_path() {
    let s = Server::start();
    let port = free_port();
    let rules = "      rules:\n        - {priority: 10, pathPrefix: /api, service: api}\n      defaultService: site\n";
    s.apply(&format!(
        "{}---\n{}---\n{}---\n{}---\n{}",
        web_td("site", "site"),
        web_td("api", "api"),
        lb("shared", port, rules),
        service("site", "shared", 1),
        service("api", "shared", 1)
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let site = get(port, "/");
        let api = get(port, "/api/");
        if let (Some((200, a)), Some((200, b))) = (&site, &api) {
            assert!(a.starts_with("site"), "{a}");
            assert!(b.starts_with("api"), "{b}");
            break;
        }
        assert!(Instant::now() < deadline, "site {site:?}, api {api:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn tasks_reach_a_service_by_its_name() {
    let s = Server::start();
    let port = free_port();
    s.apply(&format!(
        "{}---\n{}---\n{}",
        web_td("api", "api"),
        lb("apilb", port, "      defaultService: api\n"),
        service("api", "apilb", 1)
    ));
    wait_healthy_spread(port, 1, Duration::from_secs(30));
    // The caller retries for up to 3 s, as a client starting beside a service would. (One CI
    // run saw its first request fail: then every server shared one cluster network, so `api`
    // also named another test's task, which was being removed; see the next test.)
    s.apply(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: caller}\nspec:\n  networkMode: awsvpc\n  containerDefinitions:\n    - {name: main, image: ecsctl/busybox:local, memory: 32, command: [sh, -c, 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://api:8080/ && exit 0; sleep 0.3; done; exit 1']}\n---\napiVersion: ecs/v1\nkind: Task\nmetadata: {name: caller-1}\nspec: {taskDefinition: caller}\n",
    );
    let st = s.wait_task("caller-1", Duration::from_secs(20), |st| {
        st["lastStatus"] == "STOPPED"
    });
    let main = st["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == "main")
        .cloned();
    assert_eq!(
        main.as_ref().map(|c| c["exitCode"].clone()),
        Some(serde_json::json!(0)),
        "{st:#}"
    );
    let o = s.run(&["logs", "caller-1"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("api "),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A task whose port speaks HTTP until a client asks to switch to the `echo` protocol, then
/// sends every line back prefixed with its hostname (busybox `nc` running a shell script).
const UPGRADING_TD: &str = r#"apiVersion: ecs/v1
kind: TaskDefinition
metadata: {name: chat}
spec:
  networkMode: awsvpc
  containerDefinitions:
    - name: app
      image: ecsctl/busybox:local
      memory: 32
      stopTimeout: 2
      portMappings: [{containerPort: 8080}]
      command:
        - sh
        - -c
        - |
          cat > /tmp/handler.sh <<'EOS'
          cr=$(printf '\r')
          read -r request
          upgrade=
          while read -r header; do
            header=${header%"$cr"}
            [ -z "$header" ] && break
            case "$header" in [Uu]pgrade:*) upgrade=1 ;; esac
          done
          if [ -n "$upgrade" ]; then
            printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n'
            while read -r line; do echo "$HOSTNAME:$line"; done
          else
            printf 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n'
          fi
          EOS
          exec nc -ll -p 8080 -e sh /tmp/handler.sh
"#;

#[test]
fn an_upgraded_connection_reaches_a_task_through_the_listener() {
    let s = Server::start();
    let port = free_port();
    s.apply(&format!(
        "{UPGRADING_TD}---\n{}---\n{}",
        lb("chatlb", port, "      defaultService: chat\n"),
        service("chat", "chatlb", 1)
    ));
    wait_healthy_spread(port, 1, Duration::from_secs(30));
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    conn.write_all(
        b"GET /chat HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
    )
    .expect("handshake");
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
        let n = conn.read(&mut buf).expect("101 answer");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&seen).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: echo"), "{head}");
    for word in ["hello", "again"] {
        conn.write_all(format!("{word}\n").as_bytes())
            .expect("send");
        let n = conn.read(&mut buf).expect("echo");
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(line.ends_with(&format!(":{word}\n")), "{line:?}");
    }
}

/// A self-signed certificate for `name` and its key in one PEM file; its path.
fn certificate_pem(dir: &std::path::Path, name: &str) -> String {
    let (crt, key) = (dir.join("web.crt"), dir.join("web.key"));
    support::self_signed(&crt, &key, name, &format!("DNS:{name}"));
    let pem = dir.join("web.pem");
    let text =
        std::fs::read_to_string(&crt).expect("crt") + &std::fs::read_to_string(&key).expect("key");
    std::fs::write(&pem, text).expect("pem");
    pem.display().to_string()
}

/// A TLS client trusting only the certificate in `pem`, offering `alpn`.
fn tls_client(pem: &str, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let cert = rustls::pki_types::CertificateDer::from_pem_file(pem).map_err(|e| e.to_string())?;
    roots.add(cert).map_err(|e| e.to_string())?;
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// GET / over TLS (SNI `name`, trusting the certificate in `pem`): status and body.
fn get_https(port: u16, name: &str, pem: &str) -> Result<(u16, String), String> {
    let config = tls_client(pem, &[])?;
    let server_name =
        rustls::pki_types::ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), server_name)
        .map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out); // a peer may skip close_notify
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("no response: {out:?}"))?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// GET / over TLS as HTTP/2 (ALPN h2, SNI `name`): the version and status of the answer.
fn get_h2(port: u16, name: &str, pem: &str) -> Result<(hyper::Version, u16), String> {
    let config = std::sync::Arc::new(tls_client(pem, &[b"h2"])?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        let server_name =
            rustls::pki_types::ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(server_name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (mut send, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tls),
        )
        .await
        .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = hyper::Request::get(format!("https://{name}/"))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let res = send.send_request(req).await.map_err(|e| e.to_string())?;
        Ok((res.version(), res.status().as_u16()))
    })
}

#[test]
fn an_https_listener_serves_with_a_certificate_from_a_secret() {
    let s = Server::start();
    let port = free_port();
    // Where the server reads secret files from by default (DATA_DIR/secrets).
    let pem = certificate_pem(&s.home().join("secrets"), "shop.example");
    let https_lb = format!(
        "apiVersion: ecs/v1\nkind: LoadBalancer\nmetadata: {{name: edge}}\nspec:\n  listeners:\n    - port: {port}\n      protocol: HTTPS\n      defaultService: shop\n      certificates: [{{certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/shop-cert'}}]\n  healthCheck: {{path: /, intervalSeconds: 1, timeoutSeconds: 1, healthyThresholdCount: 2, unhealthyThresholdCount: 2}}\n"
    );
    // The Secret is not there yet: the listener says why it does not listen.
    s.apply(&format!(
        "{}---\n{https_lb}---\n{}",
        web_td("shop", "shop"),
        service("shop", "edge", 1)
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&s.run(&["describe", "lb", "edge"]).stdout).into_owned();
        if text.contains("Secret shop-cert does not exist") {
            assert!(
                text.contains("HTTPS") && text.contains("shop-cert"),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Now it is, from a PEM file on this machine: HTTPS answers with the task's page.
    s.apply(&format!(
        "apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: shop-cert}}\nspec: {{fromFile: '{pem}'}}\n"
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match get_https(port, "shop.example", &pem) {
            Ok((200, body)) => {
                assert!(body.starts_with("shop "), "{body}");
                break;
            }
            other => assert!(Instant::now() < deadline, "{other:?}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Browsers and gRPC clients ask for HTTP/2; the task still gets HTTP/1.1 (busybox httpd).
    assert_eq!(
        get_h2(port, "shop.example", &pem),
        Ok((hyper::Version::HTTP_2, 200))
    );
    let text = String::from_utf8_lossy(&s.run(&["describe", "lb", "edge"]).stdout).into_owned();
    assert!(!text.contains("does not exist"), "{text}");
    // When the certificate expires, as read from it (`-days 2`).
    assert!(text.contains("shop-cert (expires "), "{text}");
    let o = s.run(&["get", "lb"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("{port}/HTTPS")),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Waits (30 s at most) until the service reports `count` RUNNING tasks.
fn wait_running(s: &Server, service: &str, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = s.run(&["get", "svc", service, "-o", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        if v["status"]["runningCount"] == count {
            return;
        }
        assert!(Instant::now() < deadline, "{v:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_servers_on_one_engine_do_not_see_each_others_services() {
    let (a, b) = (Server::start(), Server::start());
    for (s, text) in [(&a, "mine"), (&b, "theirs")] {
        s.apply(&format!(
            "{}---\n{}",
            web_td("api", text),
            "apiVersion: ecs/v1\nkind: Service\nmetadata: {name: api}\nspec: {taskDefinition: api, desiredCount: 1}\n"
        ));
    }
    // Both services have a RUNNING task before the lookups start.
    for s in [&a, &b] {
        wait_running(s, "api", 1);
    }
    // 20 lookups of `api` from a task of server a: only a's task answers.
    a.apply(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: caller}\nspec:\n  networkMode: awsvpc\n  containerDefinitions:\n    - {name: main, image: ecsctl/busybox:local, memory: 32, command: [sh, -c, 'n=0; until wget -q -O- http://api:8080/ >/dev/null; do n=$((n+1)); [ $n -gt 30 ] && exit 2; sleep 0.2; done; for i in $(seq 20); do wget -q -O- http://api:8080/ || echo failed; done']}\n---\napiVersion: ecs/v1\nkind: Task\nmetadata: {name: caller-1}\nspec: {taskDefinition: caller}\n",
    );
    a.wait_task("caller-1", Duration::from_secs(30), |st| {
        st["lastStatus"] == "STOPPED"
    });
    let logs = String::from_utf8_lossy(&a.run(&["logs", "caller-1"]).stdout).into_owned();
    let answers: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(answers.len(), 20, "{logs}");
    assert!(answers.iter().all(|l| l.starts_with("mine ")), "{logs}");
}

#[test]
fn service_connect_names_reach_the_service_and_what_needs_a_proxy_is_refused() {
    let s = Server::start();
    let td = web_td("shop", "shop").replace(
        "portMappings: [{containerPort: 8080}]",
        "portMappings: [{containerPort: 8080, name: http}]",
    );
    let svc = |alias_port: u16| {
        format!(
            "apiVersion: ecs/v1\nkind: Service\nmetadata: {{name: shop}}\nspec:\n  taskDefinition: shop\n  desiredCount: 1\n  serviceConnectConfiguration:\n    enabled: true\n    namespace: internal\n    services:\n      - portName: http\n        discoveryName: shop-http\n        clientAliases: [{{port: {alias_port}, dnsName: shop.internal}}]\n"
        )
    };
    s.apply(&format!("{td}---\n{}", svc(8080)));
    wait_running(&s, "shop", 1);
    s.apply(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: caller}\nspec:\n  networkMode: awsvpc\n  containerDefinitions:\n    - {name: main, image: ecsctl/busybox:local, memory: 32, command: [sh, -c, 'for n in shop.internal shop-http shop; do i=0; until wget -q -O- http://$n:8080/; do i=$((i+1)); [ $i -gt 15 ] && exit 1; sleep 0.2; done; done']}\n---\napiVersion: ecs/v1\nkind: Task\nmetadata: {name: caller-1}\nspec: {taskDefinition: caller}\n",
    );
    let st = s.wait_task("caller-1", Duration::from_secs(20), |st| {
        st["lastStatus"] == "STOPPED"
    });
    assert_eq!(st["containers"][0]["exitCode"], 0, "{st:#}");
    let logs = String::from_utf8_lossy(&s.run(&["logs", "caller-1"]).stdout).into_owned();
    assert_eq!(logs.matches("shop ").count(), 3, "{logs}");
    let text = String::from_utf8_lossy(&s.run(&["describe", "svc", "shop"]).stdout).into_owned();
    assert!(
        text.contains("shop-http (portName http), shop.internal:8080"),
        "{text}"
    );

    // Port 80 for a container listening on 8080 needs Service Connect's proxy: the new
    // deployment's task fails to start, saying so.
    s.apply(&svc(80));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = s.run(&["get", "tasks", "-o", "json"]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        if text.contains("client alias shop.internal:80 would need a proxy") {
            assert!(text.contains("set clientAliases[].port to 8080"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
