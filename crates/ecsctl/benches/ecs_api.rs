//! ECS API latency through the real server (`--aws-api`), beside the same work through
//! ecsctl's own API in the same run: DescribeServices of 10 services against
//! `GET /v1/objects/services?cluster=...`, and RunTask against `POST /v1/apply` of the Task
//! object `ecsctl run-task` writes. Every ECS request is SigV4-signed (outside the timer, as a
//! client signs before sending) and verified by the server (inside it).
//! `cargo bench -p ecsctl --bench ecs_api`. Target: p99 < 5 ms for both ECS operations.
//!
//! The task definition names an image that does not exist, so RunTask's tasks stop at once
//! with TaskFailedToStart and no container: what is measured is the API, not Docker.

mod common;

use common::{Server, percentiles, request};
use server::ecsapi::{credentials, sigv4};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const N: usize = 1_000;
const CLUSTER: &str = "bench";
const SERVICES: usize = 10;
/// Requests of each paced row, and the pause before each.
const PACED: usize = 200;
const PACE: Duration = Duration::from_millis(50);

/// The key the server made for itself, and the ECS API's address.
struct Ecs {
    addr: SocketAddr,
    key_id: String,
    secret: String,
}

impl Ecs {
    fn of(server: &Server) -> Ecs {
        let text = std::fs::read_to_string(server.dir.path().join("aws-credentials"))
            .expect("the server's aws-credentials");
        let key = credentials::parse(&text)
            .expect("credentials")
            .into_iter()
            .next()
            .expect("one key");
        let url = std::fs::read_to_string(server.dir.path().join("aws-api-endpoint"))
            .expect("the server's aws-api-endpoint");
        let addr = url
            .trim()
            .trim_start_matches("http://")
            .parse()
            .expect("endpoint");
        Ecs {
            addr,
            key_id: key.access_key_id,
            secret: key.secret_access_key,
        }
    }

    /// The bytes of one signed request for `op` (`Connection: close`, as the unix-socket
    /// client of the other rows).
    fn signed(&self, op: &str, body: &str) -> Vec<u8> {
        let amz_date = sigv4::format_amz_date(time::OffsetDateTime::now_utc());
        let headers = vec![
            ("host".to_string(), self.addr.to_string()),
            (
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
            ("x-amz-date".to_string(), amz_date.clone()),
            (
                "x-amz-target".to_string(),
                format!("AmazonEC2ContainerServiceV20141113.{op}"),
            ),
        ];
        let req = sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: headers.clone(),
            body: body.as_bytes(),
        };
        let auth = sigv4::sign(
            &req,
            &self.key_id,
            &self.secret,
            "us-east-1",
            "ecs",
            &amz_date,
        )
        .expect("sign");
        let mut out = String::from("POST / HTTP/1.1\r\n");
        for (n, v) in headers
            .iter()
            .chain([("authorization".to_string(), auth)].iter())
        {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ));
        out.into_bytes()
    }

    /// Sends one signed request; returns the status and the body.
    fn send(&self, request: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(self.addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        s.write_all(request).expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

/// Times `n` runs each of `ecs` and `own`, taking turns (which goes first alternates), after
/// 50 unmeasured rounds, so that both see the same server state and the same noise: p50,
/// p99, max in ms of each.
fn measure_pair(
    n: usize,
    mut ecs: impl FnMut() -> Duration,
    mut own: impl FnMut(usize) -> Duration,
) -> ((f64, f64, f64), (f64, f64, f64)) {
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n + 50 {
        let (x, y) = if i % 2 == 0 {
            let x = ecs();
            (x, own(i))
        } else {
            let y = own(i);
            (ecs(), y)
        };
        if i >= 50 {
            a.push(x);
            b.push(y);
        }
    }
    (percentiles(a), percentiles(b))
}

fn row(what: &str, (p50, p99, max): (f64, f64, f64)) {
    println!("{what:<58} p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  max {max:>6.2} ms");
}

fn main() {
    let server = Server::start_logging(&["--aws-api", "tcp://127.0.0.1:0"], "error");
    let ecs = Ecs::of(&server);
    let socket = server.socket();
    let services: Vec<String> = (0..SERVICES).map(|i| format!(
        r#"{{"apiVersion":"ecs/v1","kind":"Service","metadata":{{"name":"svc{i}","cluster":"{CLUSTER}"}},"spec":{{"taskDefinition":"bench","desiredCount":0}}}}"#
    )).collect();
    server.apply(&format!(
        r#"[{{"apiVersion":"ecs/v1","kind":"Cluster","metadata":{{"name":"{CLUSTER}"}},"spec":{{}}}},{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"bench"}},"spec":{{"containerDefinitions":[{{"name":"app","image":"ecsctl-bench/absent:none","memory":16}}]}}}},{}]"#,
        services.join(",")
    ));
    println!(
        "{N} requests each, one at a time, the ECS API and ecsctl's own taking turns, after 50 unmeasured rounds; {SERVICES} services of desiredCount 0 in cluster {CLUSTER}"
    );

    let names: Vec<String> = (0..SERVICES).map(|i| format!("\"svc{i}\"")).collect();
    let describe = format!(
        r#"{{"cluster":"{CLUSTER}","services":[{}]}}"#,
        names.join(",")
    );
    let (ecs_describe, own_list) = measure_pair(
        N,
        || {
            let req = ecs.signed("DescribeServices", &describe);
            let t = Instant::now();
            let (status, body) = ecs.send(&req);
            let took = t.elapsed();
            assert_eq!(status, 200, "{body}");
            took
        },
        |_| {
            let t = Instant::now();
            let (status, body) = request(
                &socket,
                "GET",
                &format!("/v1/objects/services?cluster={CLUSTER}"),
                "",
            );
            let took = t.elapsed();
            assert_eq!(status, 200, "{body}");
            took
        },
    );
    row(
        "ECS DescribeServices, 10 services (signed, TCP)",
        ecs_describe,
    );
    row(
        "ecsctl GET /v1/objects/services?cluster= (unix socket)",
        own_list,
    );

    let run = format!(r#"{{"cluster":"{CLUSTER}","taskDefinition":"bench"}}"#);
    let ecs_run_task = |pause: Duration| {
        std::thread::sleep(pause);
        let req = ecs.signed("RunTask", &run);
        let t = Instant::now();
        let (status, body) = ecs.send(&req);
        let took = t.elapsed();
        assert_eq!(status, 200, "{body}");
        took
    };
    let own_apply_task = |pause: Duration, name: String| {
        std::thread::sleep(pause);
        let body = format!(
            r#"{{"objects":[{{"apiVersion":"ecs/v1","kind":"Task","metadata":{{"name":"{name}","cluster":"{CLUSTER}"}},"spec":{{"taskDefinition":"bench"}}}}]}}"#
        );
        let t = Instant::now();
        let (status, resp) = request(&socket, "POST", "/v1/apply", &body);
        let took = t.elapsed();
        assert_eq!(status, 200, "{resp}");
        took
    };
    let (ecs_run, own_run) = measure_pair(
        N,
        || ecs_run_task(Duration::ZERO),
        |i| own_apply_task(Duration::ZERO, format!("own-{i}")),
    );
    row("ECS RunTask (signed, TCP)", ecs_run);
    row("ecsctl POST /v1/apply of a Task (unix socket)", own_run);
    // The same, paced at 20 requests a second: each task's follow-up work (the controller
    // fails it, writes its status and events) is done before the next request arrives.
    let (ecs_paced, own_paced) = measure_pair(
        PACED,
        || ecs_run_task(PACE),
        |i| own_apply_task(PACE, format!("paced-{i}")),
    );
    row("ECS RunTask, 20 a second (signed, TCP)", ecs_paced);
    row("ecsctl POST /v1/apply of a Task, 20 a second", own_paced);
    let kept = common::list_objects(&server, &format!("tasks?cluster={CLUSTER}")).len();
    println!(
        "tasks started: {}; Task objects in the cluster at the end: {kept} (stopped ones are kept, bounded)",
        2 * (N + 50) + 2 * (PACED + 50)
    );
    println!(
        "p99 ratios ECS/own: DescribeServices {:.2}, RunTask {:.2} (paced {:.2}); target p99 < 5 ms (DescribeServices, paced RunTask): {}",
        ecs_describe.1 / own_list.1,
        ecs_run.1 / own_run.1,
        ecs_paced.1 / own_paced.1,
        if ecs_describe.1 < 5.0 && ecs_paced.1 < 5.0 {
            "met"
        } else {
            "MISSED"
        }
    );
}
