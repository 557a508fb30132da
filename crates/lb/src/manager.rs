//! [`LbManager`]: the desired state in (`upsert` and `remove` one load balancer, or `sync`
//! them all), the observed state out.

use crate::config::{self, Settings};
use crate::error::LbError;
use crate::lbstate::LbRuntime;
use crate::listener::{ListenerHandle, Route};
use crate::router::Router;
use crate::types::{CertificateStatus, LbConfig, LbStatus, ListenerStatus, TargetHealth};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

type LbKey = (String, String); // (cluster, name)

/// Every load balancer of the server. Cheap to clone (an `Arc` inside).
#[derive(Clone, Debug)]
pub struct LbManager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Read by health and status queries (sync methods); replaced by `sync`.
    lbs: RwLock<BTreeMap<LbKey, Arc<LbRuntime>>>,
    /// Bound listeners and the desired state they were bound for. Only `upsert`, `remove`,
    /// `sync` and `shutdown` touch them, one at a time.
    applied: tokio::sync::Mutex<Applied>,
}

/// What the manager was last asked for, and the listeners bound for it.
#[derive(Debug, Default)]
struct Applied {
    listeners: HashMap<SocketAddr, ListenerHandle>,
    /// The desired state of every load balancer. Kept because load balancers share the
    /// host's addresses: a change of one (or its removal) can free or take an address another
    /// one wants, so every change is applied over all of them (in key order: the first one
    /// keeps a contested address).
    configs: BTreeMap<LbKey, LbConfig>,
}

impl Default for LbManager {
    fn default() -> Self {
        Self::new()
    }
}

/// A listener `sync` wants, before it is bound.
struct Wanted {
    key: LbKey,
    protocol: api::kinds::LbProtocol,
    route: Route,
    /// HTTPS: the configuration built from its certificates; `None` when they are unusable
    /// (a listener already bound then keeps the certificates it has).
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl LbManager {
    pub fn new() -> Self {
        LbManager {
            inner: Arc::new(Inner {
                lbs: RwLock::default(),
                applied: tokio::sync::Mutex::default(),
            }),
        }
    }

    fn lbs(&self) -> Vec<Arc<LbRuntime>> {
        let lbs = self.inner.lbs.read().unwrap_or_else(|e| e.into_inner());
        lbs.values().cloned().collect()
    }

    /// Desired state of one load balancer (added, or replacing what it was). Idempotent, as
    /// [`LbManager::sync`]; the errors returned are this load balancer's (those of the others,
    /// which it may free an address for, stay in their listener statuses).
    pub async fn upsert(&self, config: LbConfig) -> Result<(), LbError> {
        let mut applied = self.inner.applied.lock().await;
        let key = (config.cluster.clone(), config.name.clone());
        applied.configs.insert(key.clone(), config);
        let desired: Vec<LbConfig> = applied.configs.values().cloned().collect();
        let errors = self.apply(&mut applied.listeners, &desired).await;
        let mine = errors
            .into_iter()
            .filter(|e| e.lb() == Some((&key.0, &key.1)))
            .collect();
        LbError::collect(mine).map_or(Ok(()), Err)
    }

    /// Removes one load balancer: closes its listeners and forgets its targets. Another load
    /// balancer that wanted one of its addresses gets it now.
    pub async fn remove(&self, cluster: &str, name: &str) {
        let mut applied = self.inner.applied.lock().await;
        let key = (cluster.to_string(), name.to_string());
        if applied.configs.remove(&key).is_none() {
            return;
        }
        let desired: Vec<LbConfig> = applied.configs.values().cloned().collect();
        // What is left to report belongs to the other load balancers, whose statuses say it.
        let _ = self.apply(&mut applied.listeners, &desired).await;
    }

    /// Desired state of every load balancer (those not named are removed). Idempotent: binds
    /// new listeners, rebinds changed ones (address or protocol), closes removed ones; adds and
    /// removes targets without disturbing requests in flight. Everything that can be applied
    /// is; the errors (bind errors name the LB and port) are returned together and kept in the
    /// listener statuses. Of two listeners that want one address, the first in `desired` gets it.
    pub async fn sync(&self, desired: Vec<LbConfig>) -> Result<(), LbError> {
        let mut applied = self.inner.applied.lock().await;
        applied.configs = desired
            .iter()
            .map(|c| ((c.cluster.clone(), c.name.clone()), c.clone()))
            .collect();
        let errors = self.apply(&mut applied.listeners, &desired).await;
        LbError::collect(errors).map_or(Ok(()), Err)
    }

    /// Makes the listeners and the load balancers' runtimes what `desired` says; the errors
    /// of every load balancer.
    async fn apply(
        &self,
        listeners: &mut HashMap<SocketAddr, ListenerHandle>,
        desired: &[LbConfig],
    ) -> Vec<LbError> {
        let mut errors = Vec::new();
        let old = self.lbs();
        let mut lbs: BTreeMap<LbKey, Arc<LbRuntime>> = BTreeMap::new();
        let mut wanted: HashMap<SocketAddr, Wanted> = HashMap::new();
        let mut statuses: BTreeMap<LbKey, Vec<(SocketAddr, ListenerStatus)>> = BTreeMap::new();

        for cfg in desired {
            let key = (cfg.cluster.clone(), cfg.name.clone());
            let rt = old
                .iter()
                .find(|r| r.cluster == cfg.cluster && r.name == cfg.name)
                .cloned()
                .unwrap_or_else(|| LbRuntime::new(&cfg.name, &cfg.cluster));
            rt.apply(cfg, settings(cfg, &mut errors));
            let mut lb_statuses = Vec::new();
            for l in &cfg.spec.listeners {
                let mut status = ListenerStatus {
                    port: l.port.get(),
                    protocol: l.protocol,
                    address: l
                        .address
                        .clone()
                        .unwrap_or_else(|| config::DEFAULT_ADDRESS.to_string()),
                    bound: false,
                    error: None,
                    certificates: certificate_names(l),
                };
                let addr = match config::bind_addr(&cfg.name, &cfg.cluster, l) {
                    Ok(addr) => addr,
                    Err(e) => {
                        status.error = Some(e.to_string());
                        errors.push(e);
                        lb_statuses.push((SocketAddr::from(([0, 0, 0, 0], 0)), status));
                        continue;
                    }
                };
                if let Some(other) = wanted.get(&addr) {
                    let e = LbError::Conflict {
                        lb: cfg.name.clone(),
                        cluster: cfg.cluster.clone(),
                        port: addr.port(),
                        addr,
                        other: other.key.1.clone(),
                    };
                    status.error = Some(e.to_string());
                    errors.push(e);
                    lb_statuses.push((SocketAddr::from(([0, 0, 0, 0], 0)), status));
                    continue;
                }
                let mut tls = None;
                if l.protocol == api::kinds::LbProtocol::Https {
                    match crate::tls::server_config(l, &cfg.certificates) {
                        Ok((config, expiry)) => {
                            for (c, t) in status.certificates.iter_mut().zip(expiry) {
                                c.not_after = t.and_then(rfc3339);
                            }
                            tls = Some(config);
                        }
                        Err(e) => {
                            let e = LbError::Certificate {
                                lb: cfg.name.clone(),
                                cluster: cfg.cluster.clone(),
                                port: addr.port(),
                                certificate: e.certificate,
                                reason: e.reason,
                            };
                            tracing::warn!(error = %e, "HTTPS listener certificates not usable");
                            status.error = Some(e.to_string());
                            errors.push(e);
                        }
                    }
                }
                wanted.insert(
                    addr,
                    Wanted {
                        tls,
                        key: key.clone(),
                        protocol: l.protocol,
                        route: Route {
                            lb: cfg.name.clone(),
                            balancer: rt.balancer.clone(),
                            router: Router::new(l),
                            port: l.port.get(),
                        },
                    },
                );
                lb_statuses.push((addr, status));
            }
            statuses.insert(key.clone(), lb_statuses);
            lbs.insert(key, rt);
        }

        // Close what is no longer wanted (or wanted with another protocol) first, so that its
        // port is free for whatever binds it next.
        let stale: Vec<SocketAddr> = listeners
            .iter()
            .filter(|(addr, h)| wanted.get(addr).is_none_or(|w| w.protocol != h.protocol))
            .map(|(addr, _)| *addr)
            .collect();
        for addr in stale {
            if let Some(handle) = listeners.remove(&addr) {
                handle.close().await;
            }
        }
        let mut bind_errors: HashMap<SocketAddr, String> = HashMap::new();
        for (addr, w) in wanted {
            if let Some(handle) = listeners.get_mut(&addr) {
                handle.set_route(w.key, w.route);
                if let Some(tls) = w.tls {
                    handle.set_tls(tls);
                }
                continue;
            }
            if w.protocol == api::kinds::LbProtocol::Https && w.tls.is_none() {
                continue; // not bound: its status says why
            }
            let lb = w.key.clone();
            match ListenerHandle::bind(addr, w.protocol, w.key, w.route, w.tls).await {
                Ok(handle) => {
                    listeners.insert(addr, handle);
                }
                Err(source) => {
                    let e = LbError::Bind {
                        lb: lb.1.clone(),
                        cluster: lb.0.clone(),
                        port: addr.port(),
                        addr,
                        source,
                    };
                    tracing::warn!(error = %e, "listener not bound");
                    bind_errors.insert(addr, e.to_string());
                    errors.push(e);
                }
            }
        }
        for (key, list) in statuses {
            let Some(rt) = lbs.get(&key) else { continue };
            let list = list
                .into_iter()
                .map(|(addr, mut s)| {
                    if s.error.is_none() {
                        s.error = bind_errors.get(&addr).cloned();
                    }
                    // An HTTPS listener whose new certificates are unusable may still serve
                    // with its earlier ones: bound, with the error beside it.
                    s.bound = addr.port() != 0
                        && listeners
                            .get(&addr)
                            .is_some_and(|h| h.lb == key && h.protocol == s.protocol);
                    s
                })
                .collect();
            rt.set_listeners(list);
        }
        *self.inner.lbs.write().unwrap_or_else(|e| e.into_inner()) = lbs;
        errors
    }

    /// Health of one target as the LB's health checks see it (`None`: not a target). A task
    /// registered in several places reports its worst registered health.
    pub fn target_health(&self, task_id: &str) -> Option<TargetHealth> {
        let mut registered = Vec::new();
        let mut draining = false;
        for lb in self.lbs() {
            let (r, d) = lb.health_of(task_id);
            registered.extend(r);
            draining |= d;
        }
        let rank = |h: &TargetHealth| match h {
            TargetHealth::Unhealthy(_) => 0,
            TargetHealth::Initial => 1,
            _ => 2,
        };
        registered
            .into_iter()
            .min_by_key(rank)
            .or(draining.then_some(TargetHealth::Draining))
    }

    /// True once a task's targets (in any LB) were deregistered and either have no request in
    /// flight or were deregistered longer than the LB's deregistration delay ago (or the task
    /// is not a target anywhere).
    pub fn drained(&self, task_id: &str) -> bool {
        self.lbs().iter().all(|lb| lb.drained(task_id))
    }

    /// Listeners, targets with health and reason, request counts and rates, for `describe lb`.
    pub fn snapshot(&self) -> Vec<LbStatus> {
        self.lbs()
            .iter()
            .map(|lb| {
                let (listeners, targets) = lb.status();
                LbStatus {
                    name: lb.name.clone(),
                    cluster: lb.cluster.clone(),
                    listeners,
                    targets,
                }
            })
            .collect()
    }

    /// The address a listener of `port` is bound to (the ephemeral one when `port` is 0).
    pub async fn local_addr(&self, cluster: &str, name: &str, port: u16) -> Option<SocketAddr> {
        let applied = self.inner.applied.lock().await;
        applied
            .listeners
            .iter()
            .find(|(addr, h)| h.lb.0 == cluster && h.lb.1 == name && addr.port() == port)
            .map(|(_, h)| h.local_addr)
    }

    /// Stops every listener (server shutdown) and every health check.
    pub async fn shutdown(&self) {
        let mut applied = self.inner.applied.lock().await;
        applied.configs.clear();
        for (_, handle) in applied.listeners.drain() {
            handle.close().await;
        }
        for lb in self.lbs() {
            lb.unbind_all();
        }
        self.inner
            .lbs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// The Secrets an HTTPS listener names as certificates (as written when a reference names
/// none); their expiry is filled in once they are read.
fn certificate_names(l: &api::kinds::Listener) -> Vec<CertificateStatus> {
    l.certificates
        .iter()
        .map(|c| CertificateStatus {
            name: api::secret::named_secret("certificateArn", &c.certificate_arn)
                .unwrap_or_else(|_| c.certificate_arn.clone()),
            not_after: None,
        })
        .collect()
}

fn rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The LB's settings; an invalid matcher is reported and replaced by the default (`200`) so
/// that the rest of the LB still works.
fn settings(cfg: &LbConfig, errors: &mut Vec<LbError>) -> Settings {
    let (settings, error) = Settings::from_spec(&cfg.name, &cfg.cluster, &cfg.spec);
    errors.extend(error);
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_is_shareable_and_made_outside_a_runtime() {
        fn shareable<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
        shareable::<LbManager>();
        let lbs = LbManager::new();
        assert!(lbs.snapshot().is_empty());
        assert_eq!(lbs.target_health("t"), None);
        assert!(lbs.drained("t"));
    }
}
