//! A highly available control plane end to end (issue 17): a three-member etcd cluster on
//! loopback ports (`etcd_harness`), two `ecsctl server`s sharing it (`--store etcd://...`,
//! `--no-local-agent`, a 3 s leader lease), and two hosts, each an extra Docker engine with
//! an `ecsctl agent` that knows both servers (`--server A,B`).
//!
//! Shown here: applies through either server are read through the other at once; `kill -9`
//! of the leading server hands the controllers to the standby within the lease + 5 s while
//! a loop of applies runs across the kill and loses none of those acknowledged, the agents
//! report through the survivor, and the service keeps its tasks (none replaced, none twice);
//! the killed server comes back as a standby; `kill -9` of an etcd member (its leader) stops neither applies nor a rollout.
//!
//! Images come from `scripts/build-images.sh`; etcd from `scripts/install-etcd.sh`.
// The Docker and etcd tiers (scripts/test.sh turns both on).
#![cfg(all(feature = "docker-tests", feature = "etcd-tests"))]

mod support;

use etcd_harness::EtcdCluster;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::Server;
use support::agents::*;

/// The servers' leader lease.
const LEASE: Duration = Duration::from_secs(3);
/// How long tasks may take from apply to RUNNING on the agents' engines.
const RUN_WITHIN: Duration = Duration::from_secs(30);

/// etcd, then the fleet on it: dropped in the other order (the fleet first).
struct Plane {
    fleet: Fleet,
    etcd: EtcdCluster,
}

fn start(name: &str) -> Plane {
    let etcd = EtcdCluster::start(3).expect("a three-member etcd");
    let prefix = format!(
        "/{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let url = etcd.store_url();
    let lease = format!("{}s", LEASE.as_secs());
    let fleet = Fleet::start_servers(
        name,
        &[Host::plain(), Host::plain()],
        &[
            "--store",
            &url,
            "--store-prefix",
            &prefix,
            "--no-local-agent",
            "--leader-lease",
            &lease,
        ],
        2,
    );
    Plane { fleet, etcd }
}

impl Plane {
    /// Server 0 (the fleet's first) or 1.
    fn server(&self, i: usize) -> &Server {
        match i {
            0 => &self.fleet.server,
            _ => &self.fleet.more_servers[i - 1].0,
        }
    }

    fn server_mut(&mut self, i: usize) -> &mut Server {
        match i {
            0 => &mut self.fleet.server,
            _ => &mut self.fleet.more_servers[i - 1].0,
        }
    }

    fn url(&self, i: usize) -> &str {
        match i {
            0 => &self.fleet.url,
            _ => &self.fleet.more_servers[i - 1].1,
        }
    }

    /// `ecsctl status -o json` of server `i` itself (no other server answers for it).
    fn status(&self, i: usize) -> Option<Value> {
        let o = self
            .server(i)
            .run(&["--server", self.url(i), "status", "-o", "json"]);
        o.status
            .success()
            .then(|| serde_json::from_str(&support::stdout(&o)).expect("status -o json"))
    }

    /// Which server leads, once both agree on it.
    fn leader(&self) -> usize {
        self.fleet
            .wait("one leader both servers name", RUN_WITHIN, || {
                let (a, b) = (self.status(0)?, self.status(1)?);
                let leaders = [a["leader"].clone(), b["leader"].clone()];
                let roles = [a["role"].clone(), b["role"].clone()];
                (leaders[0] == leaders[1] && leaders[0].is_string())
                    .then_some(())
                    .and_then(|()| match (roles[0].as_str(), roles[1].as_str()) {
                        (Some("leader"), Some("standby")) => Some(0),
                        (Some("standby"), Some("leader")) => Some(1),
                        _ => None,
                    })
            })
    }

    /// `ecsctl ARGS... --cluster C` through server `i` (and, if it is gone, the other).
    fn ok_via(&self, i: usize, args: &[&str]) -> String {
        let o = self.server(i).run(&self.fleet.in_cluster(args));
        assert!(
            o.status.success(),
            "ecsctl {args:?} via server {i}: {}\n{}",
            support::stderr(&o),
            self.report()
        );
        support::stdout(&o)
    }

    /// `ecsctl apply -f FILE` of `yaml` through server `i` (and, if it is gone, the other).
    fn apply_via(&self, i: usize, file: &str, yaml: &str) {
        let path = self.server(i).write(file, yaml);
        let o = self.server(i).run(&["apply", "-f", &path]);
        assert!(
            o.status.success(),
            "apply {file} via server {i}: {}\n{}",
            support::stderr(&o),
            self.report()
        );
    }

    fn report(&self) -> String {
        let mut out = self.fleet.report();
        for (i, (s, _)) in self.fleet.more_servers.iter().enumerate() {
            let log = s.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            out.push_str(&format!(
                "\nserver {} log:\n{}",
                i + 1,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        out
    }
}

/// A Secret of the test's cluster.
fn secret(name: &str, cluster: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: {name}, cluster: {cluster}}}\nspec: {{value: v-{name}}}\n"
    )
}

/// The names of the cluster's Secrets, read through server `i`.
fn secret_names(p: &Plane, i: usize) -> BTreeSet<String> {
    let list: Value =
        serde_json::from_str(&p.ok_via(i, &["get", "secrets", "-o", "json"])).expect("json");
    items(list).iter().map(|s| name(s).to_string()).collect()
}

#[test]
fn applies_through_either_server_are_read_through_the_other_at_once() {
    let p = start("ha-read");
    let leader = p.leader();
    let (a, b) = (p.status(0).unwrap(), p.status(1).unwrap());
    for s in [&a, &b] {
        assert_eq!(s["store"], p.etcd.store_url(), "{s:#}");
        assert_eq!(s["endpoints"].as_array().unwrap().len(), 3, "{s:#}");
        assert_eq!(s["leader"], [&a, &b][leader]["id"], "{s:#}");
    }
    assert_eq!(
        [&a, &b][leader]["leaderAddress"],
        p.url(leader),
        "the leader record names where it serves"
    );
    for i in 0..20 {
        let (via, other) = (i % 2, 1 - i % 2);
        let name = format!("s{i}");
        p.apply_via(via, &format!("s{i}.yaml"), &secret(&name, &p.fleet.cluster));
        // At once: the very next request, through the other server.
        let got = p.server(other).run(&[
            "--server",
            p.url(other),
            "get",
            "secret",
            &name,
            "--cluster",
            &p.fleet.cluster,
            "-o",
            "json",
        ]);
        assert!(
            got.status.success(),
            "secret {name} applied through server {via} is not read through server {other}: {}",
            support::stderr(&got)
        );
    }
    assert_eq!(secret_names(&p, 0), secret_names(&p, 1));
}

#[test]
fn the_standby_takes_over_a_killed_leader_and_no_acknowledged_apply_is_lost() {
    let mut p = start("ha-failover");
    let cluster = p.fleet.cluster.clone();
    p.fleet.apply(&format!(
        "{}---\n{}",
        task_definition("web", 16),
        service("web", &cluster, "web", 2, &[])
    ));
    let before = p
        .fleet
        .wait_tasks("web", "2 tasks RUNNING", RUN_WITHIN, |ts| {
            ts.iter().filter(|t| running(t)).count() == 2
        });
    let tasks_before: BTreeSet<String> = before
        .iter()
        .filter(|t| running(t))
        .map(|t| name(t).to_string())
        .collect();
    let leader = p.leader();
    let standby = 1 - leader;

    // Applies through the leader until it dies, then through the standby (the client moves
    // to the next server that answers), counted only when acknowledged (exit 0), from before
    // the kill until after the takeover.
    let stop = AtomicBool::new(false);
    let acknowledged = Mutex::new(Vec::new());
    let refused = Mutex::new(Vec::new());
    let writer_dir = p.server(standby).path().to_path_buf();
    let leader_pid = p
        .server_mut(leader)
        .child_mut()
        .expect("the leader runs")
        .id();
    let client = p.server(leader);
    let took_over = std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("ack-{i}");
                let path = writer_dir.join(format!("{name}.yaml"));
                std::fs::write(&path, secret(&name, &cluster)).expect("write");
                let o = client.run(&["apply", "-f", &path.display().to_string()]);
                if o.status.success() {
                    acknowledged.lock().unwrap().push(name);
                } else {
                    refused.lock().unwrap().push(support::stderr(&o));
                }
                i += 1;
            }
        });
        std::thread::sleep(Duration::from_secs(1));
        let killed_at = Instant::now();
        signal("KILL", leader_pid);
        let took_over = p
            .fleet
            .try_wait(LEASE + Duration::from_secs(5), || {
                (p.status(standby)?["role"] == "leader").then(|| killed_at.elapsed())
            })
            .unwrap_or_else(|| {
                panic!(
                    "the standby did not lead within the lease + 5 s\n{}",
                    p.report()
                )
            });
        // Keep writing under the new leader for a while.
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
        took_over
    });
    // Reaped already by the kill: this only forgets the process.
    p.server_mut(leader).kill9();
    eprintln!("timing: the standby led {took_over:?} after the kill (lease {LEASE:?})");
    let acknowledged = acknowledged.into_inner().unwrap();
    let refused = refused.into_inner().unwrap();
    eprintln!(
        "applies: {} acknowledged, {} refused",
        acknowledged.len(),
        refused.len()
    );
    assert!(
        acknowledged.len() >= 10,
        "too few applies to show anything: {} acknowledged; refused: {refused:#?}",
        acknowledged.len()
    );
    let stored = secret_names(&p, standby);
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !stored.contains(*n))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged applies are gone: {lost:?}",
        lost.len(),
        acknowledged.len()
    );

    // The agents follow the control plane: both report through the surviving server.
    p.fleet.wait_connected(&p.fleet.ids(), Instant::now());

    // The new leader's controllers keep the service as it was: the same two tasks, each
    // running once on the engines, none replaced, none added.
    std::thread::sleep(Duration::from_secs(3));
    let after = p.fleet.service_tasks("web");
    let running_after: BTreeSet<String> = after
        .iter()
        .filter(|t| running(t))
        .map(|t| name(t).to_string())
        .collect();
    assert_eq!(running_after, tasks_before, "{after:#?}\n{}", p.report());
    assert_eq!(
        after.iter().filter(|t| present(t)).count(),
        2,
        "a task was added: {after:#?}"
    );
    let on_engines: Vec<String> = (0..2)
        .flat_map(|i| p.fleet.engine_tasks(i).into_keys())
        .collect();
    assert_eq!(
        on_engines.iter().cloned().collect::<BTreeSet<_>>(),
        tasks_before
    );
    assert_eq!(on_engines.len(), 2, "a task runs twice: {on_engines:?}");
    // And they still act: a scale-out through the new leader.
    p.ok_via(standby, &["scale", "service", "web", "--replicas", "3"]);
    p.fleet
        .wait_tasks("web", "3 tasks RUNNING", RUN_WITHIN, |ts| {
            ts.iter().filter(|t| running(t)).count() == 3
        });

    // The old leader, restarted, stands by.
    p.server_mut(leader).spawn();
    let back = p
        .fleet
        .wait("the restarted server answers", RUN_WITHIN, || {
            p.status(leader)
        });
    assert_eq!(back["role"], "standby", "{back:#}");
    assert_eq!(p.leader(), standby);
}

#[test]
fn applies_and_a_rollout_go_on_when_an_etcd_member_is_killed() {
    let mut p = start("ha-etcd");
    let cluster = p.fleet.cluster.clone();
    p.fleet.apply(&format!(
        "{}---\n{}",
        task_definition("web", 16),
        service("web", &cluster, "web", 2, &[])
    ));
    p.fleet
        .wait_tasks("web", "2 tasks RUNNING", RUN_WITHIN, |ts| {
            ts.iter().filter(|t| running(t)).count() == 2
        });
    let member = p.etcd.leader().expect("etcd has a leader");
    p.etcd.kill(member).expect("kill the etcd member");
    eprintln!("killed etcd member {member} (its leader)");

    // Applies go on through both servers.
    for i in 0..6 {
        p.apply_via(
            i % 2,
            &format!("after-{i}.yaml"),
            &secret(&format!("after-{i}"), &cluster),
        );
    }
    // A rollout: a new revision (more memory) replaces both tasks.
    let before: BTreeSet<String> = p
        .fleet
        .service_tasks("web")
        .iter()
        .filter(|t| running(t))
        .map(|t| name(t).to_string())
        .collect();
    p.fleet.apply(&task_definition("web", 24));
    p.fleet.wait_tasks(
        "web",
        "2 tasks of revision 2 RUNNING, the old ones stopped",
        RUN_WITHIN * 2,
        |ts| {
            let new: Vec<&Value> = ts
                .iter()
                .filter(|t| running(t) && text(t, "/spec/taskDefinition").ends_with(":2"))
                .collect();
            new.len() == 2
                && ts
                    .iter()
                    .filter(|t| before.contains(name(t)))
                    .all(|t| !present(t))
        },
    );
    p.etcd.restart(member).expect("restart the etcd member");
}
