//! Peer benchmark suite (issue 8): ecsctl against docker-compose and raw Docker API calls,
//! measured side by side in one run, printed as one table (metric | ecsctl | peer | ratio).
//!
//! - apply -> all RUNNING for 20 and 50 containers: one apply of a TaskDefinition + a Service
//!   (desiredCount N) until the API shows N tasks RUNNING, against `docker-compose up -d` of a
//!   compose file with one service of `scale: N`, and against creating and starting the N
//!   containers through the Docker API with 1, 4, 8 and 16 requests in flight; the target
//!   row compares with the fastest of those (`starts.rs`). Same image, command and memory
//!   limit (16 MiB) everywhere; bridge network (Docker's default `bridge`), no ports.
//! - failure -> replacement RUNNING: a service of 5 tasks; one task's container is killed and
//!   the time until the service has 5 RUNNING tasks again (a new task) is taken. Two ways of
//!   failing: `docker kill` (Docker's restart policy treats that as a manual stop and never
//!   restarts, so there is no peer) and a crash (SIGKILL of the container's process from the
//!   host), where the peer is compose's `restart: always` restarting the same container.
//! - rolling update of 10 tasks against the waits its configuration imposes (as the rollout
//!   bench: health check interval 5 s + stopTimeout 2 s).
//! - idle server with 50 tasks: CPU (from /proc/PID/stat) and VmRSS of `ecsctl server`
//!   against dockerd's over the same window, and dockerd's CPU with 50 idle containers under
//!   ecsctl (which reads their stats once per metrics interval) against under compose (nothing
//!   running beside them).
//!
//! Every figure is the median of PEERS_REPEAT runs (default 3; the range is shown beside it).
//! `cargo bench -p ecsctl --bench peers`, or `scripts/bench.sh` (builds the image first).
//! PEERS_IDLE_SECS (default 20) sets the idle window, PEERS_SIZES (default `20,50`) the
//! container counts of the apply rows, PEERS_IN_FLIGHT (default `1,4,8,16`) the raw API's
//! concurrencies, PEERS_COMPOSE=0 leaves compose out of them, PEERS_ONLY=starts runs
//! only the apply rows (to iterate on container starts quickly), and PEERS_BEFORE_BIN=PATH
//! adds another build of ecsctl (an earlier commit's `target/release/ecsctl`, copied aside)
//! to them: before and after, taking turns in one run. Only containers this run made are
//! touched: ecsctl's by the server's `ecsctl.instance` label, the peers' by
//! `ecsctl.bench=peers-PID` (compose project `ecsctlpeersPID`); all are removed at the end,
//! also when the run fails.

#[path = "../common/mod.rs"]
mod common;
mod docker;
mod ecsctl_side;
mod peer_side;
mod starts;

use docker::docker;
use ecsctl_side::{ecsctl_failover, ecsctl_idle, ecsctl_rollout};
use peer_side::{Compose, compose_idle, docker_restart};

use common::{DOCKER, remove_labelled};
use std::time::Duration;

const IMAGE: &str = "ecsctl/busybox:local";
/// Tasks of the failure-recovery service (one is killed at a time).
const FAILOVER_TASKS: usize = 5;
const HEALTH_INTERVAL: u64 = 5;
const STOP_TIMEOUT: u64 = 2;

fn sleeper_td() -> String {
    format!(
        r#"{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"sleeper"}},"spec":{{"containerDefinitions":[{{"name":"main","image":"{IMAGE}","memory":16,"stopTimeout":1,"command":["sleep","3600"]}}]}}}}"#
    )
}

fn service(name: &str, td: &str, n: usize) -> String {
    format!(
        r#"{{"apiVersion":"ecs/v1","kind":"Service","metadata":{{"name":"{name}"}},"spec":{{"taskDefinition":"{td}","desiredCount":{n}}}}}"#
    )
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Removes the peers' containers (by `ecsctl.bench` label) when dropped, also on a panic.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_labelled(&format!("ecsctl.bench={}", self.0));
    }
}

// ---- the table ----

fn median(v: &[Duration]) -> f64 {
    let mut s: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// `1.23 s` or `1.23 s (1.10-1.40)` for several samples.
fn secs_cell(v: &[Duration]) -> String {
    let m = median(v);
    if v.len() < 2 {
        return format!("{m:.2} s");
    }
    let min = v.iter().min().map_or(0.0, Duration::as_secs_f64);
    let max = v.iter().max().map_or(0.0, Duration::as_secs_f64);
    format!("{m:.2} s ({min:.2}-{max:.2})")
}

struct Row {
    metric: String,
    ecsctl: String,
    peer: String,
    ratio: String,
}

fn row(metric: impl Into<String>, ecsctl: String, peer: String, ratio: Option<f64>) -> Row {
    Row {
        metric: metric.into(),
        ecsctl,
        peer,
        ratio: ratio.map_or_else(|| "n/a".to_string(), |r| format!("{r:.2}")),
    }
}

fn main() {
    let repeat = env_or("PEERS_REPEAT", 3).max(1) as usize;
    let idle_secs = env_or("PEERS_IDLE_SECS", 20).max(1);
    let label = format!("peers-{}", std::process::id());
    let project = format!("ecsctlpeers{}", std::process::id());
    let _cleanup = Cleanup(label.clone());
    let (status, _) = docker("GET", "/_ping");
    assert_eq!(status, 200, "the Docker engine does not answer on {DOCKER}");
    assert_eq!(
        docker("GET", &format!("/images/{IMAGE}/json")).0,
        200,
        "image {IMAGE} missing: run scripts/build-images.sh"
    );
    let mut rows = Vec::new();

    // docker-compose's fixed cost per command (Python start-up, reading the file, asking
    // the engine), for reading the apply rows.
    let probe = Compose::new(&format!("{project}probe"), &label, 1, false);
    let compose_fixed: Vec<Duration> = (0..3).map(|_| probe.run(&["ps", "-q"])).collect();

    let sizes: Vec<usize> = std::env::var("PEERS_SIZES")
        .unwrap_or_else(|_| "20,50".to_string())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let sides = starts::sides();
    let mut loads = Vec::new();
    for n in sizes {
        let m = starts::measure(n, repeat, &sides, &project, &label, &mut loads);
        rows.extend(starts::rows(&m));
    }
    let only_starts = std::env::var("PEERS_ONLY").is_ok_and(|s| s == "starts");
    if only_starts {
        print_table(&rows, repeat, &compose_fixed, &loads);
        return;
    }

    eprintln!("[peers] failure -> replacement RUNNING");
    let (kills, crashes) = ecsctl_failover(repeat);
    let restarts = docker_restart(repeat, &format!("{project}restart"), &label);
    rows.push(row(
        "failure (`docker kill` of a task's container) -> replacement task RUNNING; peer: none (Docker's restart policy ignores `docker kill`)",
        secs_cell(&kills),
        "n/a".to_string(),
        None,
    ));
    rows.push(row(
        "failure (the container's process SIGKILLed: a crash) -> replacement task RUNNING; peer: compose `restart: always` restarting the same container",
        secs_cell(&crashes),
        secs_cell(&restarts),
        Some(median(&crashes) / median(&restarts)),
    ));

    eprintln!("[peers] rolling update");
    let rolls: Vec<Duration> = (0..repeat).map(|_| ecsctl_rollout()).collect();
    let imposed = (HEALTH_INTERVAL + STOP_TIMEOUT) as f64;
    rows.push(row(
        format!("rolling update of 10 tasks (min 100% / max 200%); peer: the waits its configuration imposes (health check interval {HEALTH_INTERVAL} s + stopTimeout {STOP_TIMEOUT} s; compose has no rolling update)"),
        secs_cell(&rolls),
        format!("{imposed:.2} s"),
        Some(median(&rolls) / imposed),
    ));

    eprintln!("[peers] idle with 50 tasks, {idle_secs} s");
    let idle = ecsctl_idle(idle_secs);
    let engine_alone = compose_idle(idle_secs, &format!("{project}idle"), &label);
    rows.push(row(
        format!(
            "idle CPU with 50 running tasks, over {idle_secs} s; peer: dockerd in the same window"
        ),
        format!("{:.2}% of a core", idle.server_cpu),
        format!("{:.2}% of a core", idle.dockerd_cpu),
        Some(idle.server_cpu / idle.dockerd_cpu),
    ));
    rows.push(row(
        "idle memory (VmRSS) with 50 running tasks; peer: dockerd",
        format!("{:.1} MiB", idle.server_rss),
        format!("{:.1} MiB", idle.dockerd_rss),
        Some(idle.server_rss / idle.dockerd_rss),
    ));
    rows.push(row(
        format!("dockerd CPU with 50 idle containers, over {idle_secs} s: under ecsctl (which reads their stats every 10 s); peer: under compose (nothing beside them)"),
        format!("{:.2}% of a core", idle.dockerd_cpu),
        format!("{:.2}% of a core", engine_alone),
        (engine_alone > 0.0).then(|| idle.dockerd_cpu / engine_alone),
    ));

    loads.push(starts::load_average()[0]);
    print_table(&rows, repeat, &compose_fixed, &loads);
}

fn print_table(rows: &[Row], repeat: usize, compose_fixed: &[Duration], loads: &[f64]) {
    println!();
    println!("| metric | ecsctl | peer | ratio (ecsctl / peer) |");
    println!("|---|---:|---:|---:|");
    for r in rows {
        println!("| {} | {} | {} | {} |", r.metric, r.ecsctl, r.peer, r.ratio);
    }
    println!();
    let (lo, hi) = loads.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), l| {
        (lo.min(*l), hi.max(*l))
    });
    println!(
        "Medians of {repeat} runs (range in brackets); the sides took turns, in reverse order on every other run. 1-minute load average during the runs: {lo:.2}-{hi:.2}. docker-compose's fixed cost per command (`docker-compose ps -q`, no containers): {}. Same image ({IMAGE}), command (sleep 3600), 16 MiB memory limit and bridge network on every side; no ports.",
        secs_cell(compose_fixed)
    );
}
