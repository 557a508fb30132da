//! The Docker engine unreachable at start: the server still serves its API, stores what is
//! applied, and reports the runtime as unavailable (controllers retry until it answers).

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use support::Server;

#[test]
fn server_runs_and_says_so_without_an_engine() {
    let mut s = Server::offline();
    let docker_host = format!("unix://{}/no-docker.sock", s.path().display());
    s.set_env(&[("DOCKER_HOST", docker_host.as_str()), ("RUST_LOG", "warn")]);
    s.serve(&[], &[]);
    let socket = s.home().join("ecsctl.sock");
    let mut conn = UnixStream::connect(&socket).expect("connect");
    conn.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut out = String::new();
    conn.read_to_string(&mut out).expect("response");
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let h: serde_json::Value = serde_json::from_str(body).expect("health JSON");
    assert_eq!(h["status"], "ok");
    assert_eq!(h["runtime"]["state"], "unavailable", "{h}");
    // Applies still work: desired state is stored for when the engine answers.
    s.apply(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, memory: 16}\n",
    );
    let o = s.run(&["get", "td", "web"]);
    support::expect_code(&o, 0);
}
