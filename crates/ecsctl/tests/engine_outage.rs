//! The Docker engine unreachable at start: the server still serves its API, stores what is
//! applied, and reports the runtime as unavailable (controllers retry until it answers).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ecsctl");

#[test]
fn server_runs_and_says_so_without_an_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let mut server = Command::new(BIN)
        .arg("server")
        .env("ECSCTL_HOME", &home)
        .env(
            "DOCKER_HOST",
            format!("unix://{}/no-docker.sock", dir.path().display()),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let socket = home.join("ecsctl.sock");
    let health = || -> Option<serde_json::Value> {
        let mut s = UnixStream::connect(&socket).ok()?;
        s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        serde_json::from_str(out.split_once("\r\n\r\n")?.1).ok()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let h = loop {
        if let Some(h) = health() {
            break h;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(h["status"], "ok");
    assert_eq!(h["runtime"]["state"], "unavailable", "{h}");
    // Applies still work: desired state is stored for when the engine answers.
    let manifest = dir.path().join("td.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, memory: 16}\n",
    )
    .expect("write");
    let o = Command::new(BIN)
        .args(["apply", "-f"])
        .arg(&manifest)
        .env("ECSCTL_HOME", &home)
        .output()
        .expect("apply");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = server.kill();
    let _ = server.wait();
}
