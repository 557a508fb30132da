//! `POST /v1/tasks/{id}/exec` on the fully wired server (FakeRuntime): refusals come as
//! plain answers before anything runs, an accepted exec streams frames both ways (stdin and
//! its end, window sizes, output, the exit code), and each one is recorded on the task.
#![allow(clippy::unwrap_used)]

mod support;

use api::wire::exec::{EXEC_PROTOCOL, Frame, FrameDecoder};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use runtime::FakeRuntime;
use serde_json::{Value, json};
use support::{Server, td};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

fn task(name: &str, exec: bool) -> Value {
    let mut spec = json!({"taskDefinition": "web"});
    if exec {
        spec["enableExecuteCommand"] = json!(true);
    }
    json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": name}, "spec": spec})
}

/// What an exec request got: a refusal (status and body), or the upgraded connection.
enum Answer {
    Refused(StatusCode, Value),
    Upgraded(TokioIo<hyper::upgrade::Upgraded>),
}

async fn exec(server: &Server, task: &str, body: Value, upgrade: bool) -> Answer {
    let stream = UnixStream::connect(&server.socket).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn.with_upgrades());
    let mut req = Request::builder()
        .method("POST")
        .uri(format!("/v1/tasks/{task}/exec?cluster=default"))
        .header("host", "localhost")
        .header("content-type", "application/json");
    if upgrade {
        req = req
            .header("connection", "upgrade")
            .header("upgrade", EXEC_PROTOCOL);
    }
    let req = req
        .body(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap())))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Answer::Upgraded(TokioIo::new(hyper::upgrade::on(resp).await.unwrap()));
    }
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Answer::Refused(status, serde_json::from_slice(&body).unwrap())
}

fn refused(a: Answer) -> (StatusCode, String) {
    match a {
        Answer::Refused(s, body) => (s, body["error"].as_str().unwrap_or_default().to_string()),
        Answer::Upgraded(_) => panic!("expected a refusal, the exec was accepted"),
    }
}

/// Sends `send`, then reads frames until the last one: (stdout, stderr, last frame).
async fn session(a: Answer, send: &[Frame]) -> (Vec<u8>, Vec<u8>, Frame) {
    let Answer::Upgraded(mut io) = a else {
        panic!("the exec was refused")
    };
    for f in send {
        io.write_all(&f.encode()).await.unwrap();
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 4096];
    loop {
        while let Some(f) = decoder.next_frame().unwrap() {
            match f {
                Frame::Stdout(b) => out.extend(b),
                Frame::Stderr(b) => err.extend(b),
                last if last.is_last() => return (out, err, last),
                other => panic!("a client frame from the server: {other:?}"),
            }
        }
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), io.read(&mut buf))
            .await
            .expect("the exec stream stalled")
            .unwrap();
        assert!(n > 0, "the stream ended without an exit code");
        decoder.extend(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_checks_streams_and_records() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let (status, body) = server
        .apply(vec![td("busybox"), task("on", true), task("off", false)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for t in ["on", "off"] {
        server
            .wait_for(
                &format!("/v1/objects/tasks/{t}?cluster=default"),
                "running",
                |t| t["status"]["lastStatus"] == "RUNNING",
            )
            .await;
    }

    // Refusals, each before anything runs.
    let (s, e) = refused(exec(&server, "on", json!({"command": ["true"]}), false).await);
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e.contains(EXEC_PROTOCOL), "{e}");
    let (s, e) = refused(exec(&server, "off", json!({"command": ["true"]}), true).await);
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        e.contains("execute command was not enabled when task off was run"),
        "{e}"
    );
    let (s, _) = refused(exec(&server, "gone", json!({"command": ["true"]}), true).await);
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = refused(exec(&server, "on", json!({"command": []}), true).await);
    assert_eq!(
        (s, e.as_str()),
        (StatusCode::BAD_REQUEST, "exec: no command to run")
    );
    let (s, e) = refused(
        exec(
            &server,
            "on",
            json!({"command": ["true"], "container": "db"}),
            true,
        )
        .await,
    );
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(e.contains("its containers are app"), "{e}");
    assert!(fake.execs().is_empty(), "nothing ran: {:?}", fake.execs());

    // stdin reaches the command, and its end ends `cat`.
    let a = exec(
        &server,
        "on",
        json!({"command": ["cat"], "stdin": true}),
        true,
    )
    .await;
    let (out, err, last) = session(
        a,
        &[
            Frame::Stdin(b"hello ".to_vec()),
            Frame::Stdin(b"there".to_vec()),
            Frame::StdinEnd,
        ],
    )
    .await;
    assert_eq!(
        (out.as_slice(), err.as_slice(), last),
        (&b"hello there"[..], &b""[..], Frame::Exit(0))
    );

    // Exit codes and stderr; a command that cannot run is the engine's 126.
    let a = exec(
        &server,
        "on",
        json!({"command": ["sh", "-c", "exit 3"]}),
        true,
    )
    .await;
    assert_eq!(session(a, &[]).await.2, Frame::Exit(3));
    let a = exec(&server, "on", json!({"command": ["nope"]}), true).await;
    let (_, err, last) = session(a, &[]).await;
    assert_eq!(last, Frame::Exit(126));
    assert!(String::from_utf8_lossy(&err).contains("\"nope\""));

    // A terminal: its size at start, then each resize, reach the engine.
    let a = exec(
        &server,
        "on",
        json!({"command": ["cat"], "stdin": true, "tty": true, "size": {"cols": 80, "rows": 24}}),
        true,
    )
    .await;
    let resize = Frame::Resize(api::wire::WindowSize {
        cols: 120,
        rows: 40,
    });
    assert_eq!(
        session(a, &[resize, Frame::StdinEnd]).await.2,
        Frame::Exit(0)
    );
    let tty = fake.execs().into_iter().find(|e| e.tty).unwrap();
    assert_eq!(tty.sizes, vec![(80, 24), (120, 40)]);

    // Each exec is two events on the task, newest first; refused ones none.
    let t = server
        .wait_for("/v1/objects/tasks/on?cluster=default", "events", |t| {
            t["status"]["events"]
                .as_array()
                .is_some_and(|e| e.len() == 8)
        })
        .await;
    let messages: Vec<&str> = t["status"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    // (Each end is recorded after the exit code is sent: the next exec's start may come first.)
    let at = |m: &str| {
        messages
            .iter()
            .position(|x| *x == m)
            .unwrap_or_else(|| panic!("no event {m:?} in {messages:#?}"))
    };
    let by = "(task on) execute command in container app by admin (unix socket)";
    assert!(at(&format!("{by} started: cat")) > at(&format!("{by} exited with code 0: cat")));
    at(&format!("{by} exited with code 3: sh -c 'exit 3'"));
    at(&format!("{by} exited with code 126: nope"));
    let off = server
        .call(
            hyper::Method::GET,
            "/v1/objects/tasks/off?cluster=default",
            None,
        )
        .await
        .1;
    assert!(off["status"].get("events").is_none(), "{off:#}");
    // The task controller keeps the events as it reports the task.
    assert_eq!(t["status"]["lastStatus"], "RUNNING");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shutting_down_ends_an_open_exec_with_an_error_frame() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let (status, body) = server.apply(vec![td("busybox"), task("on", true)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .wait_for("/v1/objects/tasks/on?cluster=default", "running", |t| {
            t["status"]["lastStatus"] == "RUNNING"
        })
        .await;
    // `cat` waits for stdin, which never ends: only the shutdown ends the session.
    let a = exec(
        &server,
        "on",
        json!({"command": ["cat"], "stdin": true}),
        true,
    )
    .await;
    let reading = tokio::spawn(async move { session(a, &[Frame::Stdin(b"x".to_vec())]).await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    server.stop().await;
    let (out, _, last) = reading.await.unwrap();
    assert_eq!(out, b"x");
    assert_eq!(
        last,
        Frame::Error("the ecsctl server is shutting down".into())
    );
}
