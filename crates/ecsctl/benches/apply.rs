//! Apply latency through the real server: 1,000 TaskDefinition applies (each a new revision),
//! one request at a time over the unix socket, against Docker's own API doing a comparable
//! persisted write (create + remove a volume) over its socket in the same run.
//! `cargo bench -p ecsctl --bench apply`. Target: p99 < 10 ms per apply.

mod common;

use common::{Server, percentiles, request};
use std::path::Path;
use std::time::Instant;

const N: usize = 1_000;

fn main() {
    let server = Server::start();
    let socket = server.socket();
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
