//! What etcd itself contributes to an apply: the latency of one bare put on the same cluster
//! (the floor under any write through it), and how many etcd requests one apply makes
//! (from etcd's own gRPC counters), which together explain the apply figure.

use etcd_harness::EtcdCluster;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `n` sequential puts of a 500-byte value through member 0's JSON gateway (the harness's
/// client: one connection per request), under a prefix no server uses.
pub fn puts(cluster: &EtcdCluster, n: usize) -> Vec<Duration> {
    let value = vec![b'v'; 500];
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let key = format!("/ha-bench-raw/k{i}");
        let t = Instant::now();
        cluster
            .put(0, key.as_bytes(), &value)
            .expect("a put on the etcd cluster");
        lat.push(t.elapsed());
    }
    lat
}

/// Unary gRPC calls of etcd's KV service answered so far, by method (`Range`, `Txn`, ...),
/// summed over `endpoints` (`HOST:PORT`), from each member's `GET /metrics`.
pub fn kv_calls(endpoints: &[String]) -> BTreeMap<String, u64> {
    let mut calls = BTreeMap::new();
    for endpoint in endpoints {
        for line in metrics(endpoint).lines() {
            let Some(labels) = line.strip_prefix("grpc_server_handled_total{") else {
                continue;
            };
            if !labels.contains(r#"grpc_service="etcdserverpb.KV""#) {
                continue;
            }
            let method = labels
                .split(r#"grpc_method=""#)
                .nth(1)
                .and_then(|rest| rest.split('"').next());
            let count = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
            if let (Some(method), Some(count)) = (method, count) {
                // Counters are printed as floats; they hold whole numbers.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let count = count as u64;
                *calls.entry(method.to_string()).or_insert(0) += count;
            }
        }
    }
    calls
}

/// The calls between two [`kv_calls`] readings.
pub fn difference(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(method, n)| {
            (
                method.clone(),
                n.saturating_sub(before.get(method).copied().unwrap_or(0)),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The body of `GET /metrics` of one member (HTTP/1.0: read to the end).
fn metrics(endpoint: &str) -> String {
    let mut conn = TcpStream::connect(endpoint).expect("connect to an etcd member");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set a read timeout");
    conn.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {endpoint}\r\n\r\n").as_bytes())
        .expect("ask etcd for its metrics");
    let mut out = String::new();
    conn.read_to_string(&mut out).expect("read etcd's metrics");
    out.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}
