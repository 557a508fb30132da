//! The apply -> all RUNNING rows (issue 20): ecsctl against docker-compose and against the
//! raw Docker API at 1, 4, 8 and 16 create+start requests in flight, for each container
//! count. The sides take turns in a different order on every repeat (forward, then
//! backward), so that noise from the machine's other work falls on all of them; the load
//! average is taken before every repeat and printed with the table.

use crate::common::remove_labelled;
use crate::docker::{docker, docker_body};
use crate::ecsctl_side::ecsctl_up;
use crate::peer_side::compose_up;
use crate::{IMAGE, Row, median, row, secs_cell};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One way of getting `n` containers running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Ecsctl,
    /// ecsctl as another build (`PEERS_BEFORE_BIN`) has it: before and after in one run.
    Before,
    Compose,
    /// Raw Docker API calls, this many create+start sequences in flight.
    Api(usize),
}

/// What one size's repeats measured, side by side.
pub(crate) struct Measured {
    pub(crate) n: usize,
    pub(crate) sides: Vec<(Side, Vec<Duration>)>,
}

impl Measured {
    fn of(&self, side: Side) -> &[Duration] {
        self.sides
            .iter()
            .find(|(s, _)| *s == side)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// The raw-API concurrency with the lowest median, and that median.
    pub(crate) fn best_api(&self) -> Option<(usize, f64)> {
        self.sides
            .iter()
            .filter_map(|(s, v)| match s {
                Side::Api(k) if !v.is_empty() => Some((*k, median(v))),
                _ => None,
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// The 1-, 5- and 15-minute load averages (`/proc/loadavg`).
pub(crate) fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or(f64::NAN));
    [(); 3].map(|()| it.next().unwrap_or(f64::NAN))
}

/// Creates and starts `n` containers through the Docker API with `in_flight` requests
/// outstanding at a time (each worker creates, then starts, then takes the next index);
/// returns when every start has answered (Docker answers a start once the process runs).
pub(crate) fn docker_api_up(n: usize, label: &str, in_flight: usize) -> Duration {
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..in_flight.clamp(1, n.max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    create_start(label, i);
                }
            });
        }
    });
    t0.elapsed()
}

fn create_start(label: &str, i: usize) {
    let body = format!(
        r#"{{"Image":"{IMAGE}","Cmd":["sleep","3600"],"Labels":{{"ecsctl.bench":"{label}"}},"HostConfig":{{"Memory":16777216,"NetworkMode":"bridge"}}}}"#
    );
    let (status, resp) = docker_body(
        "POST",
        &format!("/containers/create?name={label}-api-{i}"),
        &body,
    );
    assert_eq!(status, 201, "{resp}");
    let id = serde_json::from_str::<Value>(&resp).unwrap_or_default()["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, resp) = docker("POST", &format!("/containers/{id}/start"));
    assert_eq!(status, 204, "{resp}");
}

/// Runs every side `repeat` times for `n` containers, alternating their order, and logs
/// each time with the load average.
pub(crate) fn measure(
    n: usize,
    repeat: usize,
    sides: &[Side],
    project: &str,
    label: &str,
    loads: &mut Vec<f64>,
) -> Measured {
    let mut out: Vec<(Side, Vec<Duration>)> = sides.iter().map(|s| (*s, Vec::new())).collect();
    for r in 0..repeat {
        let load = load_average();
        loads.push(load[0]);
        eprintln!(
            "[peers] apply -> RUNNING, {n} containers, run {}/{repeat} (load average {:.2} {:.2} {:.2})",
            r + 1,
            load[0],
            load[1],
            load[2]
        );
        let order: Vec<usize> = if r % 2 == 0 {
            (0..sides.len()).collect()
        } else {
            (0..sides.len()).rev().collect()
        };
        for i in order {
            let side = sides[i];
            let took = match side {
                Side::Ecsctl => ecsctl_up(n, None),
                Side::Before => ecsctl_up(n, before_bin().as_deref()),
                Side::Compose => compose_up(n, project, label),
                Side::Api(k) => {
                    let took = docker_api_up(n, label, k);
                    remove_labelled(&format!("ecsctl.bench={label}"));
                    took
                }
            };
            eprintln!("[peers]   {side:?}: {:.2} s", took.as_secs_f64());
            out[i].1.push(took);
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    Measured { n, sides: out }
}

/// The table rows of one size: compose, the raw API at each concurrency, and the target
/// row against the raw API's best concurrency.
pub(crate) fn rows(m: &Measured) -> Vec<Row> {
    let n = m.n;
    let ours = m.of(Side::Ecsctl);
    let mut rows = Vec::new();
    let before = m.of(Side::Before);
    if !before.is_empty() {
        rows.push(row(
            format!("apply -> all RUNNING, {n} containers; peer: ecsctl before (PEERS_BEFORE_BIN)"),
            secs_cell(ours),
            secs_cell(before),
            Some(median(ours) / median(before)),
        ));
    }
    let comp = m.of(Side::Compose);
    if !comp.is_empty() {
        rows.push(row(
            format!(
                "apply -> all RUNNING, {n} containers; peer: `docker-compose up -d` (scale: {n})"
            ),
            secs_cell(ours),
            secs_cell(comp),
            Some(median(ours) / median(comp)),
        ));
    }
    for (side, v) in &m.sides {
        if let Side::Api(k) = side {
            rows.push(row(
                format!("apply -> all RUNNING, {n} containers; peer: Docker API create+start, {k} in flight"),
                secs_cell(ours),
                secs_cell(v),
                Some(median(ours) / median(v)),
            ));
        }
    }
    if let Some((k, best)) = m.best_api() {
        if !before.is_empty() {
            rows.push(row(
                format!("apply -> all RUNNING, {n} containers, ecsctl before (PEERS_BEFORE_BIN); peer: Docker API at its best concurrency here ({k} in flight)"),
                secs_cell(before),
                format!("{best:.2} s"),
                Some(median(before) / best),
            ));
        }
        rows.push(row(
            format!("**apply -> all RUNNING, {n} containers; peer: Docker API at its best concurrency here ({k} in flight)** (target <= 1.05)"),
            secs_cell(ours),
            format!("{best:.2} s"),
            Some(median(ours) / best),
        ));
    }
    rows
}

/// Another build of ecsctl to run beside this one (`PEERS_BEFORE_BIN`).
fn before_bin() -> Option<std::path::PathBuf> {
    std::env::var_os("PEERS_BEFORE_BIN").map(Into::into)
}

/// The sides to run: ecsctl (and the build at `PEERS_BEFORE_BIN` when set), compose unless
/// `PEERS_COMPOSE=0`, and the raw API at each of `PEERS_IN_FLIGHT` (default `1,4,8,16`).
pub(crate) fn sides() -> Vec<Side> {
    let mut v = vec![Side::Ecsctl];
    if before_bin().is_some() {
        v.push(Side::Before);
    }
    if std::env::var("PEERS_COMPOSE").map_or(true, |s| s != "0") {
        v.push(Side::Compose);
    }
    let flights = std::env::var("PEERS_IN_FLIGHT").unwrap_or_else(|_| "1,4,8,16".to_string());
    v.extend(
        flights
            .split(',')
            .filter_map(|k| k.trim().parse().ok())
            .filter(|k: &usize| *k > 0)
            .map(Side::Api),
    );
    v
}
