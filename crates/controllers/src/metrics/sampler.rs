//! The sampler: once per resolution, one one-shot stats reading of every running container of
//! this server, and a record per task into [`Metrics`], plus the load balancer's request rates.
//!
//! Containers are followed through the engine's events (start, die, destroy) and a resync by
//! listing every 30 s. Readings are one-shot requests rather than kept-open stats streams: a
//! stream makes the engine collect stats every second for each container (measured: dockerd
//! at 3.75% of a core for 50 idle containers), a reading once per resolution costs it one
//! cgroup read. CPU comes from the difference of cumulative CPU time between two records, so
//! a record covers the whole period.

use super::Metrics;
use crate::Context;
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, ObjectKey};
use futures::StreamExt;
use runtime::{ContainerId, EventAction, RuntimeEvent, labels};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// How often the running containers are listed again (missed events).
pub const RESYNC: Duration = Duration::from_secs(30);
/// Stats readings in flight at once.
const READINGS_AT_ONCE: usize = 8;
/// CPU units of one core (ECS: 1024 = 1 vCPU).
const UNITS_PER_CORE: f64 = 1024.0;

/// Request rates per target of every service behind a load balancer:
/// `(cluster, service, requests per second per healthy target)`.
pub trait RequestRates: Send + Sync {
    fn rates(&self) -> Vec<(String, String, f64)>;
}

/// No load balancer: no request rates.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRequestRates;

impl RequestRates for NoRequestRates {
    fn rates(&self) -> Vec<(String, String, f64)> {
        Vec::new()
    }
}

/// Samples every running managed container of this server into `metrics` until `shutdown`
/// (no request rates).
pub async fn run_sampler(ctx: Context, metrics: Metrics, shutdown: impl Future<Output = ()>) {
    run_sampler_with(ctx, metrics, Arc::new(NoRequestRates), shutdown).await;
}

/// [`run_sampler`], also recording `rates` once per resolution.
pub async fn run_sampler_with(
    ctx: Context,
    metrics: Metrics,
    rates: Arc<dyn RequestRates>,
    shutdown: impl Future<Output = ()>,
) {
    let mut s = Sampler {
        ctx,
        metrics,
        containers: HashMap::new(),
        reservations: HashMap::new(),
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let mut resync = tokio::time::interval(RESYNC);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut record = tokio::time::interval(s.metrics.resolution());
    record.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut events = s.ctx.runtime.events(&s.ctx.owned(&[]));
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = resync.tick() => s.resync().await,
            _ = record.tick() => {
                s.read().await;
                s.record().await;
                let now = (s.ctx.now)();
                for (cluster, service, rate) in rates.rates() {
                    s.metrics.record_requests(&cluster, &service, now, rate);
                }
            }
            ev = events.next() => match ev {
                Some(Ok(ev)) => s.event(ev),
                Some(Err(e)) => tracing::debug!(error = %e, "metrics: engine events"),
                None => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    events = s.ctx.runtime.events(&s.ctx.owned(&[]));
                    s.resync().await;
                }
            },
        }
    }
}

/// A task's reserved CPU (units) and memory (bytes, None: the containers' limits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reservation {
    pub cpu_units: f64,
    pub memory_bytes: Option<f64>,
}

impl Reservation {
    /// Task-level cpu, else the sum of the containers' cpu, else one core; task-level memory,
    /// else the sum of the containers' memoryReservation (or memory).
    pub fn of(td: &TaskDefinitionSpec) -> Self {
        let cs = &td.container_definitions;
        let cpu: u64 = td.cpu.map(|c| u64::from(c.0)).unwrap_or_else(|| {
            cs.iter()
                .filter_map(|c| c.cpu)
                .map(|c| u64::from(c.0))
                .sum()
        });
        let mib: u64 = td.memory.map(|m| u64::from(m.0)).unwrap_or_else(|| {
            cs.iter()
                .filter_map(|c| c.memory_reservation.or(c.memory))
                .map(|m| u64::from(m.0))
                .sum()
        });
        Reservation {
            cpu_units: if cpu == 0 { UNITS_PER_CORE } else { cpu as f64 },
            memory_bytes: (mib > 0).then_some(mib as f64 * 1024.0 * 1024.0),
        }
    }
}

impl Default for Reservation {
    fn default() -> Self {
        Reservation {
            cpu_units: UNITS_PER_CORE,
            memory_bytes: None,
        }
    }
}

/// CPU used between two cumulative readings, as % of `reserved_units` (1024 = one core).
/// None when no time passed or the counter went back (a restarted container).
pub fn cpu_percent(
    prev: (u64, OffsetDateTime),
    cur: (u64, OffsetDateTime),
    reserved_units: f64,
) -> Option<f64> {
    let wall = (cur.1 - prev.1).whole_nanoseconds();
    if wall <= 0 || cur.0 < prev.0 || reserved_units <= 0.0 {
        return None;
    }
    let cores = (cur.0 - prev.0) as f64 / wall as f64;
    Some(cores * UNITS_PER_CORE / reserved_units * 100.0)
}

/// One reading of a container's cumulative counters.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    cpu_ns: u64,
    memory: u64,
    limit: u64,
    at: OffsetDateTime,
}

/// A container being sampled.
#[derive(Debug)]
struct Followed {
    cluster: String,
    service: Option<String>,
    task: String,
    taskdef: Option<String>,
    /// The newest reading.
    latest: Option<Point>,
    /// The reading of the previous record.
    base: Option<Point>,
    /// Cores used over the last period, memory and limit bytes.
    usage: Option<(f64, u64, u64)>,
}

struct Sampler {
    ctx: Context,
    metrics: Metrics,
    containers: HashMap<ContainerId, Followed>,
    reservations: HashMap<String, Reservation>,
}

impl Sampler {
    fn follow(&mut self, id: &ContainerId, labels_of: &BTreeMap<String, String>) {
        if labels_of.get(runtime::labels::NETNS).map(String::as_str) == Some("true") {
            return; // the awsvpc namespace holder sleeps; it is no task container
        }
        if self.containers.contains_key(id) {
            return;
        }
        let (Some(cluster), Some(task)) =
            (labels_of.get(labels::CLUSTER), labels_of.get(labels::TASK))
        else {
            return;
        };
        self.containers.insert(
            id.clone(),
            Followed {
                cluster: cluster.clone(),
                service: labels_of.get(labels::SERVICE).cloned(),
                task: task.clone(),
                taskdef: labels_of.get(labels::TASKDEF).cloned(),
                latest: None,
                base: None,
                usage: None,
            },
        );
    }

    fn unfollow(&mut self, id: &ContainerId) {
        if let Some(f) = self.containers.remove(id)
            && !self
                .containers
                .values()
                .any(|o| o.cluster == f.cluster && o.task == f.task)
        {
            self.metrics.forget_task(&f.cluster, &f.task);
        }
    }

    fn event(&mut self, ev: RuntimeEvent) {
        match ev.action {
            EventAction::Start => self.follow(&ev.id, &ev.labels),
            EventAction::Die { .. } | EventAction::Destroy => self.unfollow(&ev.id),
            _ => {}
        }
    }

    async fn resync(&mut self) {
        let list = match self.ctx.runtime.list(&self.ctx.owned(&[]), false).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "metrics: cannot list containers");
                return;
            }
        };
        let running: HashMap<ContainerId, BTreeMap<String, String>> = list
            .into_iter()
            .filter(|c| c.state.is_alive())
            .map(|c| (c.id, c.labels))
            .collect();
        let gone: Vec<ContainerId> = self
            .containers
            .keys()
            .filter(|id| !running.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            self.unfollow(&id);
        }
        for (id, l) in &running {
            self.follow(id, l);
        }
    }

    async fn reservation(&mut self, taskdef: Option<&str>) -> Reservation {
        let Some(td) = taskdef else {
            return Reservation::default();
        };
        if let Some(r) = self.reservations.get(td) {
            return *r;
        }
        let found = self
            .ctx
            .store
            .get(&ObjectKey::new(Kind::TaskDefinition, None, td))
            .await
            .ok()
            .flatten()
            .and_then(|o| o.spec_as::<TaskDefinitionSpec>().ok())
            .map(|s| Reservation::of(&s));
        match found {
            // Revisions are immutable: cache only what was found.
            Some(r) => {
                self.reservations.insert(td.to_string(), r);
                r
            }
            None => Reservation::default(),
        }
    }

    /// A new reading of every followed container (a failed one keeps the previous reading).
    async fn read(&mut self) {
        let rt = self.ctx.runtime.clone();
        let ids: Vec<ContainerId> = self.containers.keys().cloned().collect();
        let readings: Vec<(ContainerId, runtime::Result<runtime::Stats>)> =
            futures::stream::iter(ids)
                .map(|id| {
                    let rt = rt.clone();
                    async move {
                        let r = rt.stats(&id).await;
                        (id, r)
                    }
                })
                .buffer_unordered(READINGS_AT_ONCE)
                .collect()
                .await;
        for (id, r) in readings {
            match (r, self.containers.get_mut(&id)) {
                (Ok(s), Some(f)) => {
                    f.latest = Some(Point {
                        cpu_ns: s.cpu_total_ns,
                        memory: s.memory_bytes,
                        limit: s.memory_limit_bytes,
                        at: s.at,
                    });
                }
                (Err(e), _) => {
                    tracing::debug!(container = %id, error = %e, "metrics: no stats reading")
                }
                (Ok(_), None) => {}
            }
        }
    }

    /// One record per task whose containers have a new reading since the previous record.
    async fn record(&mut self) {
        let now = (self.ctx.now)();
        // (cluster, task) -> (service, taskdef, cores, memory, limit, fresh)
        type Acc = (Option<String>, Option<String>, f64, u64, u64, bool);
        let mut tasks: BTreeMap<(String, String), Acc> = BTreeMap::new();
        for f in self.containers.values_mut() {
            let cur = f.latest;
            let mut fresh = false;
            if let Some(cur) = cur {
                match f.base {
                    Some(b) if cur.at > b.at => {
                        let wall = (cur.at - b.at).whole_nanoseconds() as f64;
                        let cores = cur.cpu_ns.saturating_sub(b.cpu_ns) as f64 / wall;
                        f.usage = Some((cores, cur.memory, cur.limit));
                        f.base = Some(cur);
                        fresh = true;
                    }
                    Some(_) => {}
                    None => f.base = Some(cur),
                }
            }
            let acc = tasks
                .entry((f.cluster.clone(), f.task.clone()))
                .or_insert_with(|| (f.service.clone(), f.taskdef.clone(), 0.0, 0, 0, false));
            if let Some((cores, mem, limit)) = f.usage {
                acc.2 += cores;
                acc.3 += mem;
                acc.4 += limit;
            }
            acc.5 |= fresh;
        }
        for ((cluster, task), (service, taskdef, cores, mem, limit, fresh)) in tasks {
            if !fresh {
                continue;
            }
            let r = self.reservation(taskdef.as_deref()).await;
            let cpu = cores * UNITS_PER_CORE / r.cpu_units * 100.0;
            let denom = r.memory_bytes.unwrap_or(limit as f64);
            let memory = if denom > 0.0 {
                mem as f64 / denom * 100.0
            } else {
                0.0
            };
            self.metrics
                .record_task(&cluster, service.as_deref(), &task, now, cpu, memory);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_225_600 + secs)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn cpu_percent_of_the_reservation() {
        // One core busy for 10 s against a quarter core reserved: 400 %.
        let p = cpu_percent((0, t(0)), (10_000_000_000, t(10)), 256.0);
        assert_eq!(p, Some(400.0));
        // Half a core on one core's reservation: 50 %.
        let p = cpu_percent((1_000, t(0)), (1_000 + 500_000_000, t(1)), 1024.0);
        assert_eq!(p, Some(50.0));
        // Idle.
        assert_eq!(cpu_percent((5, t(0)), (5, t(2)), 1024.0), Some(0.0));
        // No time passed, or the counter went back.
        assert_eq!(cpu_percent((0, t(1)), (10, t(1)), 1024.0), None);
        assert_eq!(cpu_percent((10, t(0)), (5, t(1)), 1024.0), None);
    }

    #[test]
    fn reservations_follow_ecs() {
        let td = |v: serde_json::Value| -> TaskDefinitionSpec {
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
        };
        let r = Reservation::of(&td(serde_json::json!({
            "family": "a", "cpu": "512", "memory": "1024",
            "containerDefinitions": [{"name": "a", "image": "i", "cpu": 128, "memory": 64}]
        })));
        assert_eq!(r.cpu_units, 512.0);
        assert_eq!(r.memory_bytes, Some(1024.0 * 1024.0 * 1024.0));
        let r = Reservation::of(&td(serde_json::json!({
            "family": "a",
            "containerDefinitions": [
                {"name": "a", "image": "i", "cpu": 128, "memoryReservation": 64, "memory": 128},
                {"name": "b", "image": "i", "cpu": 128, "memory": 32}
            ]
        })));
        assert_eq!(r.cpu_units, 256.0);
        assert_eq!(r.memory_bytes, Some(96.0 * 1024.0 * 1024.0));
        let r = Reservation::of(&td(serde_json::json!({
            "family": "a", "containerDefinitions": [{"name": "a", "image": "i"}]
        })));
        assert_eq!(r, Reservation::default());
    }
}
