//! Starting and stopping the server: socket mode, stale sockets, a second server, TCP auth.
#![allow(clippy::unwrap_used)]

mod support;

use bytes::Bytes;
use ecsctl_server::{Listen, ServerError};
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use support::{Server, api_only, spawn, svc, wait_ready};

#[tokio::test]
async fn socket_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start().await;
    let mode = std::fs::metadata(&server.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The store holds Secret values: only this user may read it.
    let store = server.data_dir.join("store");
    let mode = std::fs::metadata(&store).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "{}", store.display());
    server.stop().await;
}

#[tokio::test]
async fn an_existing_store_directory_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let store = data_dir.join("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = data_dir.join("ecsctl.sock");
    let (stop, task) = spawn(&data_dir, &socket);
    wait_ready(&socket).await;
    let mode = std::fs::metadata(&store).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn refuses_to_start_twice_on_one_socket() {
    let server = Server::start().await;
    let other = tempfile::tempdir().unwrap();
    let config = api_only(other.path(), Listen::Unix(server.socket.clone()));
    let err = ecsctl_server::run(config, std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(err, ServerError::AlreadyRunning(_)), "{err}");
    // The running server still answers.
    let (status, _) = server.call(Method::GET, "/v1/health", None).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn restarts_over_a_stale_socket_and_keeps_data() {
    let server = Server::start().await;
    server.apply(vec![svc("web", 1)]).await;
    let Server {
        _dir,
        data_dir,
        socket,
        stop,
        task,
    } = server;
    drop(stop);
    task.await.unwrap().unwrap();
    // A socket file nobody answers on, as a crash leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());

    let (stop, task) = spawn(&data_dir, &socket);
    wait_ready(&socket).await;
    let server = Server {
        _dir,
        data_dir,
        socket,
        stop: Some(stop),
        task,
    };
    let (status, body) = server
        .call(Method::GET, "/v1/objects/services/web", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, health) = server.call(Method::GET, "/v1/health", None).await;
    assert_eq!(
        health["revision"], 2,
        "the default cluster is not created twice"
    );
    server.stop().await;
}

#[tokio::test]
async fn tcp_needs_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let empty = api_only(
        dir.path(),
        Listen::Tcp {
            addr: "127.0.0.1:0".parse().unwrap(),
            token: String::new(),
            tls: None,
        },
    );
    assert!(matches!(
        ecsctl_server::run(empty, std::future::pending()).await,
        Err(ServerError::Config(_))
    ));
    // Beyond loopback, a token alone is not enough: it would cross the network in clear text.
    let open = api_only(
        dir.path(),
        Listen::Tcp {
            addr: "0.0.0.0:0".parse().unwrap(),
            token: "s3cret".to_string(),
            tls: None,
        },
    );
    match ecsctl_server::run(open, std::future::pending()).await {
        Err(ServerError::Config(m)) => assert!(m.contains("--tls-cert"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = api_only(
        dir.path(),
        Listen::Tcp {
            addr,
            token: "s3cret".to_string(),
            tls: None,
        },
    );
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "Debug never shows the token"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ecsctl_server::run(config, async move {
        let _ = stopped.await;
    }));

    let get = |token: Option<&'static str>| async move {
        for _ in 0..200 {
            if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                let mut req = Request::builder()
                    .uri("/v1/health")
                    .header("host", "localhost");
                if let Some(t) = token {
                    req = req.header("authorization", format!("Bearer {t}"));
                }
                let resp = sender
                    .send_request(req.body(Full::new(Bytes::new())).unwrap())
                    .await
                    .unwrap();
                return resp.status();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not start");
    };
    assert_eq!(get(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some("wrong")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some("s3cret")).await, StatusCode::OK);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
