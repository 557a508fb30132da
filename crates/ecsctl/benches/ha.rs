//! The etcd-backed control plane beside sled, in one run (issue 17): apply latency through a
//! real server, the delay from an acknowledged write to its watch event, and failover time.
//! `cargo bench -p ecsctl --bench ha` (or `scripts/bench.sh ha`); needs etcd
//! (`scripts/install-etcd.sh`), not Docker: every server runs with `--no-local-agent`. The
//! etcd side is one 3-member cluster on loopback from `etcd-harness`, each phase under a key
//! prefix of its own.
//!
//! - apply: 500 sequential `POST /v1/apply` of a new TaskDefinition revision (as the `apply`
//!   bench; 10 unmeasured ones first) over the unix socket of one server on sled and of a
//!   server on etcd (the leader, a standby beside it): p50/p99/max, the etcd/sled ratios and
//!   the target, etcd p99 under 20 ms. To say where the time goes: how many etcd
//!   requests those applies made (etcd's gRPC counters, from every member's `/metrics`
//!   before and after), the same through the server for a new Secret (no controller reacts
//!   to it, while past 10 revisions each TaskDefinition apply makes the leader's revision
//!   collector delete one), `Store::apply` with no server, and one bare etcd put.
//! - watch delay, from the moment a write is acknowledged to the moment its event arrives:
//!   (a) at the store level, what a controller sees: 300 `Store::apply` calls on `SledStore`
//!   and on `EtcdStore`, each waited for on a `watch()` of the same store (started at its
//!   current revision) polled by a thread of its own; (b) through the API: 300 applies of a
//!   new Secret on server A while `GET /v1/watch` streams from server B, both on etcd (what a
//!   standby, or any other server, sees). sled has one server only, so its column there has
//!   the write and the watch on that server. Below zero: the event came before the answer.
//! - failover: two servers on etcd with `--leader-lease 3s`, then `10s` (the default). The
//!   leader is SIGKILLed and the standby's `GET /v1/status` polled every 50 ms until it says
//!   `leader`; 3 rounds, the victim started again as a standby and the leadership stable (3
//!   agreeing polls), then a random wait of up to a third of the lease, before the next.
//!   Then 3 rounds of the graceful handover: SIGTERM (the leader resigns, revoking its
//!   lease) until the standby leads, after a random wait of up to the standby's 0.5 s
//!   campaign cycle (without those waits each round hits the same point of the cycles and
//!   the rounds repeat one sample). A crash failover should
//!   stay under lease + 1.05 s: the lease runs out at most one lease after the last
//!   keep-alive, etcd looks for expired leases every 500 ms, a standby tries to take the
//!   leadership every 500 ms and the status is polled every 50 ms.
//!
//! Prints progress on stderr and one markdown table (figure | etcd | sled | etcd/sled |
//! target or bound) on stdout. `HA_ROUNDS` (3) sets the failover rounds, `HA_LEASES`
//! (`3,10`) the leases in seconds. Every process and directory (etcd members, servers, their
//! data) is removed at the end, also when the run fails: each lives in a value whose `Drop`
//! kills and removes.

mod common;
#[path = "ha/etcd_side.rs"]
mod etcd_side;
#[path = "ha/failover.rs"]
mod failover;
#[path = "ha/latency.rs"]
mod latency;
#[path = "ha/node.rs"]
mod node;
#[path = "ha/stream.rs"]
mod stream;
#[path = "ha/table.rs"]
mod table;

use etcd_harness::EtcdCluster;
use node::Node;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{EtcdOptions, EtcdStore, SledStore, Store};
use table::{Both, Figures};

/// Measured TaskDefinition applies per backend.
const APPLIES: usize = 500;
/// Measured watched writes per backend and level (and bare etcd puts).
const WATCHED_WRITES: usize = 300;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `HA_LEASES`: lease lengths in whole seconds, `3,10` by default.
fn leases() -> Vec<Duration> {
    let spec = std::env::var("HA_LEASES").unwrap_or_else(|_| "3,10".to_string());
    let leases: Vec<Duration> = spec
        .split(',')
        .filter_map(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s >= 2)
        .map(Duration::from_secs)
        .collect();
    assert!(
        !leases.is_empty(),
        "HA_LEASES={spec:?}: give whole seconds, 2 or more, comma-separated"
    );
    leases
}

/// Server arguments for the etcd cluster at `url`, under `prefix`.
fn etcd_args<'a>(url: &'a str, prefix: &'a str) -> [&'a str; 5] {
    ["--no-local-agent", "--store", url, "--store-prefix", prefix]
}

/// Waits until `server`'s controllers are done with the writes so far (the revision
/// collector deletes a revision per new one past 10, and falls behind back-to-back applies).
fn settle(server: &Node) {
    let took = server.settle(Duration::from_secs(1));
    eprintln!(
        "[ha] the store was quiet for 1 s after {:.1} s",
        took.as_secs_f64()
    );
}

/// Through one server on sled: TaskDefinition applies, then Secret applies watched on the
/// same server.
fn sled_server(f: &mut Figures) {
    eprintln!("[ha] sled: one server, {APPLIES} applies, {WATCHED_WRITES} watched writes");
    let server = Node::start(&["--no-local-agent"]);
    f.td_apply.sled = latency::applies(&server.socket(), APPLIES);
    settle(&server);
    (f.http_watch.sled, f.secret_apply.sled) =
        latency::http_delays(&server.socket(), &server.socket(), WATCHED_WRITES);
}

/// Through servers on etcd: A (the leader) takes the TaskDefinition applies, with etcd's
/// request counters read around them; then Secret applies on A watched on B.
fn etcd_servers(f: &mut Figures, cluster: &EtcdCluster) {
    let url = cluster.store_url();
    eprintln!(
        "[ha] etcd: server A (leader) and B, {APPLIES} applies on A, {WATCHED_WRITES} writes on A watched on B"
    );
    let args = etcd_args(&url, "/ha-bench-api");
    let a = Node::start(&args);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !a.leads() {
        assert!(Instant::now() < deadline, "server A did not lead alone");
        std::thread::sleep(Duration::from_millis(20));
    }
    let b = Node::start(&args);
    let before = etcd_side::kv_calls(&cluster.endpoints());
    f.td_apply.etcd = latency::applies(&a.socket(), APPLIES);
    let after = etcd_side::kv_calls(&cluster.endpoints());
    f.td_apply_calls = (
        etcd_side::difference(&before, &after),
        APPLIES + latency::WARM_UP,
    );
    settle(&a);
    (f.http_watch.etcd, f.secret_apply.etcd) =
        latency::http_delays(&a.socket(), &b.socket(), WATCHED_WRITES);
}

/// At the store level, no server: `SledStore` and `EtcdStore` writes watched on the same
/// store. Returns etcd's version.
fn stores(f: &mut Figures, cluster: &EtcdCluster) -> String {
    eprintln!("[ha] store level: {WATCHED_WRITES} watched writes on SledStore and EtcdStore");
    let dir = tempfile::tempdir().expect("a directory for the sled store");
    let sled = SledStore::open(dir.path().join("store")).expect("open a sled store");
    let sled: (Vec<f64>, Vec<Duration>) =
        latency::store_delays(Arc::new(sled) as Arc<dyn Store>, WATCHED_WRITES);
    let mut options = EtcdOptions::from_url(&cluster.store_url()).expect("the harness's URL");
    options.prefix = "/ha-bench-store".to_string();
    let etcd = EtcdStore::connect(options).expect("connect to the etcd cluster");
    let version = etcd.server_version().unwrap_or_else(|e| e.to_string());
    let etcd = latency::store_delays(Arc::new(etcd) as Arc<dyn Store>, WATCHED_WRITES);
    f.store_watch = Both {
        etcd: etcd.0,
        sled: sled.0,
    };
    f.store_apply = Both {
        etcd: etcd.1,
        sled: sled.1,
    };
    version
}

fn main() {
    let started = Instant::now();
    let rounds = usize::try_from(env_or("HA_ROUNDS", 3).max(1)).unwrap_or(3);
    let leases = leases();
    let cluster = EtcdCluster::start(3).unwrap_or_else(|e| {
        panic!("cannot start a 3-member etcd cluster: {e} (scripts/install-etcd.sh installs etcd)")
    });
    let mut f = Figures::default();

    eprintln!("[ha] etcd alone: {WATCHED_WRITES} puts");
    f.etcd_puts = etcd_side::puts(&cluster, WATCHED_WRITES);
    sled_server(&mut f);
    etcd_servers(&mut f, &cluster);
    let version = stores(&mut f, &cluster);
    for lease in leases {
        eprintln!(
            "[ha] failover, --leader-lease {}s: {rounds} crashes, {rounds} handovers",
            lease.as_secs()
        );
        let prefix = format!("/ha-bench-failover-{}s", lease.as_secs());
        let r = failover::rounds(&cluster.store_url(), &prefix, lease, rounds);
        f.failovers.push((lease, r));
    }
    drop(cluster);

    println!();
    println!(
        "etcd {version}: 3 members on loopback (etcd-harness); every server `--no-local-agent`"
    );
    println!();
    table::print(&table::rows(&f));
    println!();
    println!(
        "Watch delays below zero: the event came before the writer had the answer. Whole run: {:.0} s.",
        started.elapsed().as_secs_f64()
    );
}
