//! One load balancer's runtime state: its settings, its targets (with their health checkers)
//! and the balancer its listeners read.

use crate::balance::{Balancer, BalancerCell, Pool};
use crate::config::{self, CheckKind, Settings};
use crate::health::Checker;
use crate::target::{State, TargetState};
use crate::types::{LbConfig, ListenerStatus, TargetHealth, TargetStatus};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

type TargetKey = (String, SocketAddr);

#[derive(Debug)]
struct Entry {
    state: Arc<TargetState>,
    kind: CheckKind,
    /// Running while the target is registered; dropped (stopped) when it drains.
    checker: Option<Checker>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The config last applied, to make a repeated `sync` a no-op.
    applied: Option<(LbConfig, Settings)>,
    targets: HashMap<TargetKey, Entry>,
    listeners: Vec<ListenerStatus>,
}

#[derive(Debug)]
pub(crate) struct LbRuntime {
    pub name: String,
    pub cluster: String,
    pub balancer: Arc<BalancerCell>,
    inner: Mutex<Inner>,
}

impl LbRuntime {
    pub fn new(name: &str, cluster: &str) -> Arc<Self> {
        Arc::new(LbRuntime {
            name: name.to_string(),
            cluster: cluster.to_string(),
            balancer: Arc::default(),
            inner: Mutex::default(),
        })
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings targets, health checkers and the balancer to `cfg`. Targets that stay keep their
    /// state, counters and requests in flight; a target moved to `draining` stops getting new
    /// requests at once.
    pub fn apply(&self, cfg: &LbConfig, settings: Settings) {
        let mut inner = self.inner();
        if inner
            .applied
            .as_ref()
            .is_some_and(|(c, s)| c == cfg && *s == settings)
        {
            return;
        }
        let health_changed = inner
            .applied
            .as_ref()
            .is_none_or(|(_, s)| s.health != settings.health);
        let mut seen = HashSet::new();
        let mut pools: HashMap<String, Vec<Arc<TargetState>>> = HashMap::new();
        for (service, targets) in &cfg.targets {
            let kind = config::check_kind(&cfg.spec, service);
            for t in targets {
                let key = (t.task_id.clone(), t.addr);
                if !seen.insert(key.clone()) {
                    continue;
                }
                let entry = match inner.targets.remove(&key) {
                    Some(e) if e.state.service == *service => {
                        if e.state.state() == State::Draining {
                            e.state.reregister();
                        }
                        e
                    }
                    _ => Entry {
                        state: TargetState::new(&t.task_id, t.addr, service),
                        kind,
                        checker: None,
                    },
                };
                let mut entry = entry;
                if entry.checker.is_none() || health_changed || entry.kind != kind {
                    entry.kind = kind;
                    entry.checker = Some(Checker::start(
                        self.name.clone(),
                        entry.state.clone(),
                        settings.health.clone(),
                        kind,
                    ));
                }
                pools
                    .entry(service.clone())
                    .or_default()
                    .push(entry.state.clone());
                inner.targets.insert(key, entry);
            }
        }
        for t in &cfg.draining {
            let key = (t.task_id.clone(), t.addr);
            if !seen.insert(key.clone()) {
                continue; // registered again: registration wins
            }
            let entry = inner.targets.entry(key).or_insert_with(|| Entry {
                state: TargetState::new(&t.task_id, t.addr, ""),
                kind: CheckKind::Tcp,
                checker: None,
            });
            if entry.state.state() != State::Draining {
                tracing::info!(lb = %self.name, task = %t.task_id, addr = %t.addr, "target draining");
            }
            entry.state.drain();
            entry.checker = None;
        }
        inner.targets.retain(|key, _| seen.contains(key));
        self.balancer.store(Balancer {
            algorithm: Some(settings.algorithm),
            slow_start: settings.slow_start,
            pools: pools.into_iter().map(|(s, t)| (s, Pool::new(t))).collect(),
        });
        inner.applied = Some((cfg.clone(), settings));
    }

    pub fn set_listeners(&self, listeners: Vec<ListenerStatus>) {
        self.inner().listeners = listeners;
    }

    pub fn unbind_all(&self) {
        for l in &mut self.inner().listeners {
            l.bound = false;
        }
    }

    /// Health of the task's targets here: `Some(registered ones)` or `Some(Draining)`.
    pub fn health_of(&self, task_id: &str) -> (Vec<TargetHealth>, bool) {
        let inner = self.inner();
        let mut registered = Vec::new();
        let mut draining = false;
        for e in inner
            .targets
            .values()
            .filter(|e| e.state.task_id == task_id)
        {
            match e.state.health() {
                TargetHealth::Draining => draining = true,
                h => registered.push(h),
            }
        }
        (registered, draining)
    }

    /// False while one of the task's targets is registered, or draining with requests in
    /// flight for less than the deregistration delay.
    pub fn drained(&self, task_id: &str) -> bool {
        let inner = self.inner();
        let delay = inner
            .applied
            .as_ref()
            .map_or(config::DEFAULT_DEREGISTRATION_DELAY, |(_, s)| {
                s.deregistration_delay
            });
        inner
            .targets
            .values()
            .filter(|e| e.state.task_id == task_id)
            .all(|e| e.state.drained(delay))
    }

    pub fn status(&self) -> (Vec<ListenerStatus>, Vec<TargetStatus>) {
        let inner = self.inner();
        let mut targets: Vec<TargetStatus> = inner
            .targets
            .values()
            .map(|e| TargetStatus {
                service: e.state.service.clone(),
                task_id: e.state.task_id.clone(),
                addr: e.state.addr,
                health: e.state.health(),
                requests: e.state.stats.requests(),
                in_flight: e.state.stats.in_flight(),
                rate_per_sec: e.state.stats.rate_per_sec(),
            })
            .collect();
        targets.sort_by(|a, b| {
            (&a.service, &a.task_id, a.addr).cmp(&(&b.service, &b.task_id, b.addr))
        });
        (inner.listeners.clone(), targets)
    }
}
