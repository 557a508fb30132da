//! The harness against real etcd: replication across members, losing and regaining a
//! member, the flags ecsctl relies on, and a drop that leaves nothing behind (also after a
//! panic).
// The etcd tier: built with `--features etcd-tests` (scripts/test.sh, after
// scripts/install-etcd.sh), so that `cargo test --workspace` needs no etcd.
#![cfg(feature = "etcd-tests")]
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use etcd_harness::{CertPair, EtcdCluster, HarnessError, TestPki};
use serde_json::json;

#[test]
fn three_members_replicate_and_survive_losing_one() {
    let mut cluster = EtcdCluster::start(3).unwrap();
    let endpoints = cluster.endpoints();
    assert_eq!(endpoints.len(), 3);
    assert_eq!(
        endpoints.iter().collect::<HashSet<_>>().len(),
        3,
        "{endpoints:?}"
    );
    assert!(
        endpoints.iter().all(|e| e.starts_with("127.0.0.1:")),
        "{endpoints:?}"
    );
    assert_eq!(
        cluster.store_url(),
        format!("etcd://{}", endpoints.join(","))
    );
    assert!((0..3).all(|m| cluster.health(m)));

    // Written through one member, read through another.
    cluster.put(0, b"/ecsctl/a", b"one").unwrap();
    assert_eq!(cluster.get(2, b"/ecsctl/a").unwrap(), Some(b"one".to_vec()));
    assert_eq!(cluster.get(1, b"/ecsctl/missing").unwrap(), None);

    // The leader down: the other two elect a new one among themselves and take writes.
    let leader = cluster.leader().unwrap();
    let survivors: Vec<usize> = (0..3).filter(|&m| m != leader).collect();
    let pid = cluster.pid(leader).unwrap();
    cluster.kill(leader).unwrap();
    assert!(!cluster.is_running(leader));
    assert_eq!(cluster.pid(leader), None);
    assert!(
        !process_exists(pid),
        "member {leader} (pid {pid}) still exists after kill"
    );
    assert!(!cluster.health(leader));
    assert!(matches!(
        cluster.get(leader, b"/ecsctl/a"),
        Err(HarnessError::Http { .. })
    ));
    assert!(matches!(
        cluster.wait_healthy(&[leader]),
        Err(HarnessError::NotRunning(_))
    ));
    cluster.wait_healthy(&survivors).unwrap();
    let new_leader = cluster.leader().unwrap();
    assert!(
        survivors.contains(&new_leader),
        "{new_leader} leads after {leader} died"
    );
    cluster.put(survivors[0], b"/ecsctl/b", b"two").unwrap();
    cluster
        .put(survivors[1], b"/ecsctl/a", b"one again")
        .unwrap();
    assert_eq!(
        cluster.get(survivors[1], b"/ecsctl/b").unwrap(),
        Some(b"two".to_vec())
    );

    // Back on its ports and data, it catches up on what it missed.
    cluster.restart(leader).unwrap();
    assert!(cluster.is_running(leader));
    assert!(cluster.health(leader));
    assert_eq!(cluster.endpoints(), endpoints);
    assert_eq!(
        cluster.get(leader, b"/ecsctl/b").unwrap(),
        Some(b"two".to_vec())
    );
    assert_eq!(
        cluster.get(leader, b"/ecsctl/a").unwrap(),
        Some(b"one again".to_vec())
    );
}

/// Losing a follower costs no election: the leader keeps its quorum and writes go on at once.
#[test]
fn losing_a_follower_interrupts_nothing() {
    let mut cluster = EtcdCluster::start(3).unwrap();
    let leader = cluster.leader().unwrap();
    let follower = (0..3).find(|&m| m != leader).unwrap();
    let other = (0..3).find(|&m| m != leader && m != follower).unwrap();
    cluster.kill(follower).unwrap();
    cluster.put(other, b"k", b"v").unwrap();
    assert_eq!(cluster.get(leader, b"k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(cluster.leader(), Some(leader));
    cluster.restart(follower).unwrap();
    assert_eq!(cluster.get(follower, b"k").unwrap(), Some(b"v".to_vec()));
}

#[test]
fn a_lost_quorum_comes_back_with_restart_all() {
    let mut cluster = EtcdCluster::start(3).unwrap();
    cluster.put(0, b"k", b"before").unwrap();
    cluster.kill(0).unwrap();
    cluster.kill(1).unwrap();
    // One of three alone has no leader: etcd says unhealthy and refuses linearizable reads.
    assert!(!cluster.health(2));
    assert!(matches!(
        cluster.wait_healthy(&[0]),
        Err(HarnessError::NotRunning(_))
    ));
    cluster.restart_all().unwrap();
    assert!((0..3).all(|m| cluster.is_running(m) && cluster.health(m)));
    assert_eq!(cluster.get(0, b"k").unwrap(), Some(b"before".to_vec()));
}

/// ecsctl writes one apply as one transaction: more operations than etcd's default
/// `--max-txn-ops` (128) and a request larger than its default `--max-request-bytes` (1.5 MiB)
/// must be accepted.
#[test]
fn large_transactions_like_ecsctls_applies_are_accepted() {
    let cluster = EtcdCluster::start(1).unwrap();
    let value = B64.encode(vec![b'x'; 8 * 1024]);
    let success: Vec<_> = (0..500)
        .map(|i| json!({"requestPut": {"key": B64.encode(format!("/big/{i:03}")), "value": value}}))
        .collect();
    // 500 operations of 8 KiB: ~5.5 MB once base64 (about 4 MB as etcd's protobuf request).
    let reply = cluster
        .gateway(0, "/v3/kv/txn", &json!({"success": success}))
        .unwrap();
    assert_eq!(reply["succeeded"], true, "{reply}");
    assert_eq!(
        cluster.get(0, b"/big/499").unwrap(),
        Some(vec![b'x'; 8 * 1024])
    );
}

#[test]
fn drop_kills_every_member_and_removes_the_directory() {
    let cluster = EtcdCluster::start(3).unwrap();
    let pids: Vec<u32> = (0..3).map(|m| cluster.pid(m).unwrap()).collect();
    let dir = cluster.dir().to_path_buf();
    assert!(dir.join("m0.etcd").is_dir());
    assert!(cluster.log_path(2).is_file());
    assert_eq!(processes_mentioning(&dir).len(), 3);

    drop(cluster);
    assert_nothing_left(&pids, &dir);
}

#[test]
fn a_panicking_test_leaves_nothing_behind_either() {
    let mut seen: Option<(Vec<u32>, PathBuf)> = None;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut cluster = EtcdCluster::start(2).unwrap();
        cluster.kill(1).unwrap();
        cluster.restart(1).unwrap();
        seen = Some((
            (0..2).map(|m| cluster.pid(m).unwrap()).collect(),
            cluster.dir().to_path_buf(),
        ));
        panic!("a failing assertion in a test");
    }));
    assert!(outcome.is_err());
    let (pids, dir) = seen.unwrap();
    assert_nothing_left(&pids, &dir);
}

fn assert_nothing_left(pids: &[u32], dir: &Path) {
    for pid in pids {
        assert!(!process_exists(*pid), "etcd pid {pid} survived the drop");
    }
    assert_eq!(processes_mentioning(dir), Vec::<u32>::new());
    assert!(!dir.exists(), "{} survived the drop", dir.display());
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Every process whose command line names `dir` (each member's `--data-dir` is inside it), so
/// that a leaked member is found even if its pid were reused by something else.
fn processes_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&needle))
        })
        .collect()
}

/// A TLS cluster: the client ports present the given certificate (checked by `openssl
/// s_client` against the CA), refuse a client without a certificate when asked to, and the
/// harness's own calls, health and restarts work as on a plain cluster.
#[test]
fn a_tls_cluster_serves_https_and_the_harness_still_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path(), "etcd").unwrap();
    let mut cluster = EtcdCluster::start_tls(2, &pki.server_files(true)).unwrap();
    assert!((0..2).all(|m| cluster.health(m)));
    cluster.put(0, b"/ecsctl/tls", b"yes").unwrap();
    assert_eq!(
        cluster.get(1, b"/ecsctl/tls").unwrap(),
        Some(b"yes".to_vec())
    );
    assert!(cluster.leader().is_some());

    for endpoint in cluster.endpoints() {
        let with_cert = s_client(&endpoint, &pki.ca, Some(&pki.client), &[]);
        assert!(
            with_cert.contains("Verify return code: 0 (ok)"),
            "{with_cert}"
        );
        assert!(with_cert.contains("CN = etcd-server"), "{with_cert}");
        // TLS 1.2: the server checks the client's certificate within the handshake (in 1.3
        // it says so after, and s_client may be gone by then).
        let without_cert = s_client(&endpoint, &pki.ca, None, &["-tls1_2"]);
        assert!(
            without_cert.contains("alert bad certificate"),
            "{without_cert}"
        );
        // A plain HTTP request to an https port gets no answer from etcd's API.
        let plain = raw_exchange(&endpoint, b"GET /health HTTP/1.0\r\n\r\n");
        assert!(!plain.contains("\"health\""), "{plain}");
    }

    cluster.kill(1).unwrap();
    cluster.restart(1).unwrap();
    assert!(cluster.health(1));
    let again = s_client(&cluster.endpoints()[1], &pki.ca, Some(&pki.client), &[]);
    assert!(again.contains("Verify return code: 0 (ok)"), "{again}");
}

/// `openssl s_client ARGS` to `endpoint` trusting `ca` (with a client certificate if given):
/// what it printed.
fn s_client(endpoint: &str, ca: &Path, client: Option<&CertPair>, args: &[&str]) -> String {
    let mut command = std::process::Command::new("openssl");
    command
        .args(["s_client", "-connect", endpoint, "-CAfile"])
        .arg(ca)
        .args(args);
    if let Some(client) = client {
        command
            .arg("-cert")
            .arg(&client.cert)
            .arg("-key")
            .arg(&client.key);
    }
    let o = command.stdin(std::process::Stdio::null()).output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Sends `request` to `endpoint` as it is and reads whatever comes back until the peer
/// closes (or 5 s pass).
fn raw_exchange(endpoint: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(endpoint).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

/// Set in the child process of [`members_left_by_a_killed_test_process_are_reaped`].
const ORPHAN_MAKER: &str = "ECSCTL_HARNESS_ORPHAN_MAKER";

/// A test process killed outright (SIGKILL: no unwinding, no `Drop`) leaves its members
/// running; the next process that starts a cluster (or calls `reap_orphans`) stops them and
/// removes their directory. The killed process is this test binary run again for
/// [`orphan_maker`] alone.
#[test]
fn members_left_by_a_killed_test_process_are_reaped() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "orphan_maker", "--ignored", "--nocapture"])
        .env(ORPHAN_MAKER, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.starts_with("orphan ")))
        .expect("the child started a cluster");
    let mut words = line.split(' ').skip(1);
    let pid: u32 = words.next().unwrap().parse().unwrap();
    let dir = PathBuf::from(words.next().unwrap());
    let running = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s.rsplit_once(')').unwrap().1.trim_start().starts_with('Z'))
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(running(pid), "the member outlives its killed test process");
    assert!(dir.exists());

    // Another test process may reap it first: the outcome is what counts.
    etcd_harness::reap_orphans();
    let deadline = Instant::now() + Duration::from_secs(10);
    while (running(pid) || dir.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!running(pid), "member {pid} still runs");
    assert!(!dir.exists(), "{} is still there", dir.display());
}

/// The child of [`members_left_by_a_killed_test_process_are_reaped`]: starts a cluster, says
/// where, and waits to be killed.
#[test]
#[ignore = "the child process of members_left_by_a_killed_test_process_are_reaped"]
fn orphan_maker() {
    if std::env::var_os(ORPHAN_MAKER).is_none() {
        return;
    }
    let cluster = EtcdCluster::start(1).unwrap();
    println!(
        "orphan {} {}",
        cluster.pid(0).unwrap(),
        cluster.dir().display()
    );
    std::thread::sleep(std::time::Duration::from_secs(60));
    drop(cluster);
}
