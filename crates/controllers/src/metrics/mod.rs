//! Measured metrics: CPU and memory of every task (from one-shot engine stats readings) and the
//! request rate per target of every service (from the load balancer), kept as bounded
//! in-memory time series.
//!
//! Every series is a ring of `retention / resolution` buckets (e.g. 360 x 10 s = 1 h). A bucket
//! holds a sum and a count and knows which time slot it counts, so a sample costs O(1): a slot
//! left from an earlier lap of the ring is recognised and restarted instead of swept.
//! A service's average over a window is the mean over its tasks of each task's mean over the
//! buckets in the window. Each service also pools its tasks' samples in rings of its own, so
//! that its series (the console's charts) outlive the tasks a rollout stops.

pub mod sampler;

pub use sampler::{NoRequestRates, RequestRates, run_sampler, run_sampler_with};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// What a scaling policy or `ecsctl top` can ask about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// CPU used, % of the task's reserved CPU (may exceed 100).
    Cpu,
    /// Memory used, % of the task's memory reservation (or limit).
    Memory,
    /// Requests per second per target of the service's load balancer target group.
    RequestsPerTarget,
}

/// The latest values of one service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceMetrics {
    pub cluster: String,
    pub service: String,
    /// Tasks with samples.
    pub tasks: usize,
    /// Mean over its tasks' latest samples.
    pub cpu_percent: Option<f64>,
    pub memory_percent: Option<f64>,
    pub requests_per_target_per_sec: Option<f64>,
    /// The newest sample's time.
    pub at: Option<OffsetDateTime>,
}

/// The latest values of one task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskMetrics {
    pub cluster: String,
    pub service: Option<String>,
    pub task: String,
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub at: OffsetDateTime,
}

/// One bucket of a service's series: the means over its tasks (CPU, memory) and the request
/// rate, each absent when nothing was measured in that bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesPoint {
    /// The bucket's start.
    pub at: OffsetDateTime,
    pub cpu_percent: Option<f64>,
    pub memory_percent: Option<f64>,
    pub requests_per_target_per_sec: Option<f64>,
}

/// The time series of every task and service. Cheap to clone (shared inside).
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
    resolution: Duration,
    slots: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// By (cluster, task id).
    tasks: HashMap<(String, String), TaskSeries>,
    /// By (cluster, service).
    services: HashMap<(String, String), ServiceSeries>,
}

#[derive(Debug)]
struct TaskSeries {
    service: Option<String>,
    cpu: Ring,
    memory: Ring,
    last: (OffsetDateTime, f64, f64),
}

/// A service's own series: its request rate, and its tasks' samples pooled (what outlives
/// a stopped task: the console's charts).
#[derive(Debug)]
struct ServiceSeries {
    requests: Ring,
    /// The latest request rate, once there is one.
    last: Option<(OffsetDateTime, f64)>,
    cpu: Ring,
    memory: Ring,
}

impl ServiceSeries {
    fn new(slots: usize) -> Self {
        ServiceSeries {
            requests: Ring::new(slots),
            last: None,
            cpu: Ring::new(slots),
            memory: Ring::new(slots),
        }
    }
}

/// One bucket: the slot it counts (absolute: time / resolution), with a sum and a count.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    slot: i64,
    sum: f64,
    count: u32,
}

/// A fixed number of buckets; bucket `slot` lives at `slot mod len`.
#[derive(Debug)]
struct Ring {
    buckets: Vec<Bucket>,
}

impl Ring {
    fn new(len: usize) -> Self {
        Ring {
            // Slot i64::MIN is never a real slot: every bucket starts empty.
            buckets: vec![
                Bucket {
                    slot: i64::MIN,
                    ..Bucket::default()
                };
                len.max(1)
            ],
        }
    }

    fn index(&self, slot: i64) -> usize {
        // len fits in i64; rem_euclid is never negative.
        slot.rem_euclid(self.buckets.len() as i64) as usize
    }

    /// O(1): adds to the slot's bucket, restarting it when it held an older lap's slot.
    fn add(&mut self, slot: i64, value: f64) {
        let i = self.index(slot);
        let b = &mut self.buckets[i];
        if b.slot != slot {
            if b.slot > slot {
                return; // older than what the ring keeps
            }
            *b = Bucket {
                slot,
                sum: 0.0,
                count: 0,
            };
        }
        b.sum += value;
        b.count += 1;
    }

    /// Mean of the bucket means over slots `from..=to` (at most one lap), None when empty.
    fn mean(&self, from: i64, to: i64) -> Option<f64> {
        let len = self.buckets.len() as i64;
        let from = from.max(to - len + 1);
        let (mut sum, mut n) = (0.0, 0u32);
        for slot in from..=to {
            let b = &self.buckets[self.index(slot)];
            if b.slot == slot && b.count > 0 {
                sum += b.sum / f64::from(b.count);
                n += 1;
            }
        }
        (n > 0).then(|| sum / f64::from(n))
    }
}

impl Metrics {
    /// Series of `retention / resolution` buckets (at least one) of `resolution` each.
    pub fn new(resolution: Duration, retention: Duration) -> Self {
        let resolution = resolution.max(Duration::from_millis(1));
        let slots = retention.as_nanos().div_ceil(resolution.as_nanos()).max(1);
        Metrics {
            inner: Arc::default(),
            resolution,
            slots: usize::try_from(slots).unwrap_or(usize::MAX).min(1 << 20),
        }
    }

    /// The width of one bucket (and the sampling period).
    pub fn resolution(&self) -> Duration {
        self.resolution
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn slot(&self, at: OffsetDateTime) -> i64 {
        let slot = at
            .unix_timestamp_nanos()
            .div_euclid(self.resolution.as_nanos() as i128);
        i64::try_from(slot).unwrap_or(i64::MAX)
    }

    /// One sample of a task's container (cpu % of the task's reserved CPU, memory % of its
    /// reservation/limit).
    pub fn record_task(
        &self,
        cluster: &str,
        service: Option<&str>,
        task: &str,
        at: OffsetDateTime,
        cpu_percent: f64,
        memory_percent: f64,
    ) {
        let slot = self.slot(at);
        let mut inner = self.lock();
        if let Some(service) = service {
            let pooled = inner
                .services
                .entry((cluster.to_string(), service.to_string()))
                .or_insert_with(|| ServiceSeries::new(self.slots));
            pooled.cpu.add(slot, cpu_percent);
            pooled.memory.add(slot, memory_percent);
        }
        let s = inner
            .tasks
            .entry((cluster.to_string(), task.to_string()))
            .or_insert_with(|| TaskSeries {
                service: service.map(str::to_string),
                cpu: Ring::new(self.slots),
                memory: Ring::new(self.slots),
                last: (at, cpu_percent, memory_percent),
            });
        s.cpu.add(slot, cpu_percent);
        s.memory.add(slot, memory_percent);
        if at >= s.last.0 {
            s.last = (at, cpu_percent, memory_percent);
        }
    }

    /// Request rate per target of a service (from the load balancer), requests/s.
    pub fn record_requests(
        &self,
        cluster: &str,
        service: &str,
        at: OffsetDateTime,
        per_target_per_sec: f64,
    ) {
        let slot = self.slot(at);
        let mut inner = self.lock();
        let s = inner
            .services
            .entry((cluster.to_string(), service.to_string()))
            .or_insert_with(|| ServiceSeries::new(self.slots));
        s.requests.add(slot, per_target_per_sec);
        if s.last.is_none_or(|(last, _)| at >= last) {
            s.last = Some((at, per_target_per_sec));
        }
    }

    /// Forget a task (stopped).
    pub fn forget_task(&self, cluster: &str, task: &str) {
        self.lock()
            .tasks
            .remove(&(cluster.to_string(), task.to_string()));
    }

    /// Average of the metric over the service's tasks over the last `window` ending at `now`;
    /// None when there is no sample in the window (no data -> no scaling).
    pub fn service_average(
        &self,
        cluster: &str,
        service: &str,
        metric: MetricKind,
        window: Duration,
        now: OffsetDateTime,
    ) -> Option<f64> {
        let to = self.slot(now);
        let window = time::Duration::try_from(window).unwrap_or(time::Duration::MAX);
        // Buckets that start within the window (and the one holding `now`).
        let start = now
            .checked_sub(window)
            .unwrap_or(now)
            .unix_timestamp_nanos();
        let res = self.resolution.as_nanos() as i128;
        let from = i64::try_from(-((-start).div_euclid(res))).unwrap_or(i64::MIN + 1);
        let inner = self.lock();
        match metric {
            MetricKind::RequestsPerTarget => inner
                .services
                .get(&(cluster.to_string(), service.to_string()))?
                .requests
                .mean(from, to),
            MetricKind::Cpu | MetricKind::Memory => {
                let means: Vec<f64> = inner
                    .tasks
                    .iter()
                    .filter(|((c, _), s)| c == cluster && s.service.as_deref() == Some(service))
                    .filter_map(|(_, s)| match metric {
                        MetricKind::Cpu => s.cpu.mean(from, to),
                        _ => s.memory.mean(from, to),
                    })
                    .collect();
                mean(&means)
            }
        }
    }

    /// A service's series over the last `since` ending at `now`, one point per bucket that
    /// holds a sample (oldest first; a missing bucket is a gap), at most one lap of the ring.
    /// CPU and memory are the mean of its tasks' samples in the bucket (about one per task
    /// and bucket), stopped tasks' included: a rollout does not wipe the history.
    pub fn service_series(
        &self,
        cluster: &str,
        service: &str,
        since: Duration,
        now: OffsetDateTime,
    ) -> Vec<SeriesPoint> {
        let to = self.slot(now);
        let lap = i64::try_from(self.slots).unwrap_or(i64::MAX);
        let since = time::Duration::try_from(since).unwrap_or(time::Duration::MAX);
        let from = self
            .slot(now.checked_sub(since).unwrap_or(OffsetDateTime::UNIX_EPOCH))
            .max(to.saturating_sub(lap) + 1);
        let inner = self.lock();
        let Some(s) = inner
            .services
            .get(&(cluster.to_string(), service.to_string()))
        else {
            return Vec::new();
        };
        let res = self.resolution.as_nanos() as i128;
        (from..=to)
            .filter_map(|slot| {
                let point = SeriesPoint {
                    at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(slot) * res)
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    cpu_percent: s.cpu.mean(slot, slot),
                    memory_percent: s.memory.mean(slot, slot),
                    requests_per_target_per_sec: s.requests.mean(slot, slot),
                };
                (point.cpu_percent.is_some()
                    || point.memory_percent.is_some()
                    || point.requests_per_target_per_sec.is_some())
                .then_some(point)
            })
            .collect()
    }

    /// Latest values of every service with task samples or request rates, by cluster and name.
    pub fn services(&self) -> Vec<ServiceMetrics> {
        let inner = self.lock();
        let mut out: BTreeMap<(String, String), ServiceMetrics> = BTreeMap::new();
        let entry = |out: &mut BTreeMap<_, _>, c: &str, s: &str| {
            out.entry((c.to_string(), s.to_string()))
                .or_insert_with(|| ServiceMetrics {
                    cluster: c.to_string(),
                    service: s.to_string(),
                    tasks: 0,
                    cpu_percent: None,
                    memory_percent: None,
                    requests_per_target_per_sec: None,
                    at: None,
                })
                .clone()
        };
        let mut sums: HashMap<(String, String), (f64, f64)> = HashMap::new();
        for ((cluster, _), t) in &inner.tasks {
            let Some(service) = &t.service else { continue };
            let mut m = entry(&mut out, cluster, service);
            m.tasks += 1;
            m.at = m.at.max(Some(t.last.0));
            let key = (cluster.clone(), service.clone());
            let s = sums.entry(key.clone()).or_default();
            s.0 += t.last.1;
            s.1 += t.last.2;
            let n = m.tasks as f64;
            m.cpu_percent = Some(s.0 / n);
            m.memory_percent = Some(s.1 / n);
            out.insert(key, m);
        }
        for ((cluster, service), s) in &inner.services {
            let Some((at, rate)) = s.last else { continue };
            let mut m = entry(&mut out, cluster, service);
            m.requests_per_target_per_sec = Some(rate);
            m.at = m.at.max(Some(at));
            out.insert((cluster.clone(), service.clone()), m);
        }
        out.into_values().collect()
    }

    /// Latest values of every task, by cluster, service and id.
    pub fn tasks(&self) -> Vec<TaskMetrics> {
        let inner = self.lock();
        let mut out: Vec<TaskMetrics> = inner
            .tasks
            .iter()
            .map(|((cluster, task), s)| TaskMetrics {
                cluster: cluster.clone(),
                service: s.service.clone(),
                task: task.clone(),
                cpu_percent: s.last.1,
                memory_percent: s.last.2,
                at: s.last.0,
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.cluster, &a.service, &a.task).cmp(&(&b.cluster, &b.service, &b.task))
        });
        out
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests;
