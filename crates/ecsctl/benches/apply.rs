//! Apply latency through the real server: 1,000 TaskDefinition applies (each a new revision),
//! one request at a time over the unix socket, against Docker's own API doing a comparable
//! persisted write (create + remove a volume) over its socket in the same run.
//! `cargo bench -p ecsctl --bench apply`. Target: p99 < 10 ms per apply.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const N: usize = 1_000;

/// One HTTP/1.1 request with `Connection: close`; returns the status code and body.
fn request(socket: &Path, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = UnixStream::connect(socket).expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(v[v.len() / 2]),
        ms(v[v.len() * 99 / 100]),
        ms(v[v.len() - 1]),
    )
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("ecsctl.sock");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_ecsctl"))
            .args(["server", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ecsctl server"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(socket.exists() && request(&socket, "GET", "/v1/health", "").0 == 200) {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut lat = Vec::with_capacity(N);
    let start = Instant::now();
    for i in 0..N {
        let body = format!(
            r#"{{"objects":[{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"bench"}},"spec":{{"containerDefinitions":[{{"name":"app","image":"busybox","memory":64,"environment":[{{"name":"I","value":"{i}"}}]}}]}}}}]}}"#
        );
        let t = Instant::now();
        let (status, resp) = request(&socket, "POST", "/v1/apply", &body);
        lat.push(t.elapsed());
        assert_eq!(status, 200, "{resp}");
    }
    let total = start.elapsed();
    let (p50, p99, max) = percentiles(lat);
    println!(
        "ecsctl apply (1 TaskDefinition revision per request, flushed): {N} in {:.2} s, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms (target p99 < 10 ms)",
        total.as_secs_f64()
    );

    let docker = Path::new("/var/run/docker.sock");
    if docker.exists() && request(docker, "GET", "/_ping", "").0 == 200 {
        let mut dlat = Vec::with_capacity(N / 5);
        for i in 0..N / 5 {
            let name = format!("ecsctl-bench-{}-{i}", std::process::id());
            let t = Instant::now();
            let (status, resp) = request(
                docker,
                "POST",
                "/volumes/create",
                &format!(r#"{{"Name":"{name}","Labels":{{"ecsctl.bench":"true"}}}}"#),
            );
            dlat.push(t.elapsed());
            assert_eq!(status, 201, "{resp}");
            request(docker, "DELETE", &format!("/volumes/{name}"), "");
        }
        let (d50, d99, _) = percentiles(dlat);
        println!(
            "docker volume create (its API, same socket client): {} requests, p50 {d50:.2} ms, p99 {d99:.2} ms; ecsctl/docker p50 ratio {:.2}, p99 ratio {:.2}",
            N / 5,
            p50 / d50,
            p99 / d99
        );
    } else {
        println!("docker not reachable: no reference measurement");
    }
}
