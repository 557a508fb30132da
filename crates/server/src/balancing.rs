//! Wires the built-in load balancer to the store: whenever load balancers, services, task
//! definitions or tasks change, the targets are recomputed (`controllers::balancing`) and
//! handed to the `LbManager`; the controllers see target health and draining through the
//! `Traffic` adapter.

use controllers::{Context, TargetHealth, Traffic};
use lb::{CertificatePem, LbConfig, LbManager, Target};
use std::collections::BTreeMap;
use std::time::Duration;
use store::ListQuery;

/// How often targets are recomputed even without a change (safety net).
const RESYNC: Duration = Duration::from_secs(10);
/// Changes arriving within this window are handled together.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// The load balancer as the controllers see it.
#[derive(Debug, Clone)]
pub struct LbTraffic(pub LbManager);

impl Traffic for LbTraffic {
    fn target_health(&self, task_id: &str) -> Option<TargetHealth> {
        self.0.target_health(task_id)
    }
    fn drained(&self, task_id: &str) -> bool {
        self.0.drained(task_id)
    }
}

/// Request rates per healthy target, for the metrics sampler.
#[derive(Debug, Clone)]
pub struct LbRates(pub LbManager);

impl controllers::metrics::RequestRates for LbRates {
    /// Per service: the mean `rate_per_sec` over its healthy targets (in every load balancer).
    fn rates(&self) -> Vec<(String, String, f64)> {
        per_target_rates(&self.0.snapshot())
    }
}

fn per_target_rates(snapshot: &[lb::LbStatus]) -> Vec<(String, String, f64)> {
    let mut by_service: BTreeMap<(String, String), (f64, u32)> = BTreeMap::new();
    for status in snapshot {
        for t in &status.targets {
            if t.service.is_empty() || t.health != lb::TargetHealth::Healthy {
                continue;
            }
            let e = by_service
                .entry((status.cluster.clone(), t.service.clone()))
                .or_default();
            e.0 += t.rate_per_sec;
            e.1 += 1;
        }
    }
    by_service
        .into_iter()
        .map(|((c, s), (sum, n))| (c, s, sum / f64::from(n)))
        .collect()
}

/// Keeps the load balancers in line with the store until `shutdown`.
pub async fn run(
    ctx: Context,
    manager: LbManager,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(RESYNC);
    let mut last: Option<Vec<LbConfig>> = None;
    loop {
        let from = ctx.store.revision();
        let desired = desired(&ctx);
        if last.as_ref() != Some(&desired) {
            if let Err(e) = manager.sync(desired.clone()).await {
                tracing::warn!(error = %e, "load balancer");
            }
            last = Some(desired);
        }
        let mut watch = match ctx.store.watch(from) {
            Ok(w) => w,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            _ = tick.tick() => {}
            ev = watch.next() => {
                if ev.is_none() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                tokio::time::sleep(DEBOUNCE).await;
            }
        }
    }
    manager.shutdown().await;
}

/// Completes when shutdown is signalled (the guard `wait_for` returns is dropped inside).
async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

fn desired(ctx: &Context) -> Vec<LbConfig> {
    let list = |kind| {
        ctx.store
            .list(&ListQuery::new(kind))
            .map(|l| l.items)
            .unwrap_or_default()
    };
    let load_balancers = list(api::Kind::LoadBalancer);
    if load_balancers.is_empty() {
        return Vec::new();
    }
    let services = list(api::Kind::Service);
    let tasks = list(api::Kind::Task);
    let task_definitions: BTreeMap<String, api::taskdef::TaskDefinitionSpec> =
        list(api::Kind::TaskDefinition)
            .into_iter()
            .filter_map(|o| Some((o.display_name(), o.spec_as().ok()?)))
            .collect();
    let world = controllers::balancing::World {
        load_balancers: &load_balancers,
        services: &services,
        tasks: &tasks,
        task_definitions: &task_definitions,
    };
    let target = |(task_id, addr): (String, std::net::SocketAddr)| Target { task_id, addr };
    controllers::balancing::desired(&world)
        .into_iter()
        .map(|d| LbConfig {
            certificates: certificates(ctx, &d.spec),
            name: d.name,
            cluster: d.cluster,
            spec: d.spec,
            targets: d
                .targets
                .into_iter()
                .map(|(s, ts)| (s, ts.into_iter().map(target).collect()))
                .collect(),
            draining: d.draining.into_iter().map(target).collect(),
        })
        .collect()
}

/// The values of the Secrets the HTTPS listeners name, read now: a changed Secret (or file,
/// or environment variable) reaches the listener at the next recomputation.
fn certificates(
    ctx: &Context,
    spec: &api::kinds::LoadBalancerSpec,
) -> BTreeMap<String, CertificatePem> {
    spec.listeners
        .iter()
        .flat_map(|l| &l.certificates)
        .filter_map(|c| api::secret::named_secret("certificateArn", &c.certificate_arn).ok())
        .map(|name| {
            let pem = match controllers::task::secrets::value(&*ctx.store, &*ctx.secret_env, &name)
            {
                Ok(pem) => CertificatePem::Pem(pem),
                Err(why) => CertificatePem::Unavailable(why),
            };
            (name, pem)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb::{LbStatus, TargetStatus};

    fn target(service: &str, task: &str, health: lb::TargetHealth, rate: f64) -> TargetStatus {
        TargetStatus {
            service: service.to_string(),
            task_id: task.to_string(),
            addr: ([127, 0, 0, 1], 8080).into(),
            health,
            requests: 0,
            in_flight: 0,
            rate_per_sec: rate,
        }
    }

    #[test]
    fn rates_are_the_mean_over_healthy_targets() {
        let lb = |cluster: &str, targets| LbStatus {
            name: "lb".to_string(),
            cluster: cluster.to_string(),
            listeners: Vec::new(),
            targets,
        };
        let snapshot = vec![
            lb(
                "default",
                vec![
                    target("web", "a", lb::TargetHealth::Healthy, 10.0),
                    target("web", "b", lb::TargetHealth::Healthy, 20.0),
                    target("web", "c", lb::TargetHealth::Initial, 99.0),
                    target("", "d", lb::TargetHealth::Draining, 99.0),
                    target("api", "e", lb::TargetHealth::Initial, 5.0),
                ],
            ),
            lb(
                "prod",
                vec![target("web", "f", lb::TargetHealth::Healthy, 3.0)],
            ),
        ];
        assert_eq!(
            per_target_rates(&snapshot),
            vec![
                ("default".to_string(), "web".to_string(), 15.0),
                ("prod".to_string(), "web".to_string(), 3.0),
            ]
        );
    }
}
