//! Wires the built-in load balancer to the store: whenever load balancers, services, task
//! definitions or tasks change, the targets are recomputed (`controllers::balancing`) and
//! handed to the `LbManager`; the controllers see target health and draining through the
//! `Traffic` adapter.

use controllers::{Context, TargetHealth, Traffic};
use lb::{LbConfig, LbManager, Target};
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
        self.0.target_health(task_id).map(|h| match h {
            lb::TargetHealth::Initial => TargetHealth::Initial,
            lb::TargetHealth::Healthy => TargetHealth::Healthy,
            lb::TargetHealth::Unhealthy(r) => TargetHealth::Unhealthy(r),
            lb::TargetHealth::Draining => TargetHealth::Draining,
        })
    }
    fn drained(&self, task_id: &str) -> bool {
        self.0.drained(task_id)
    }
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
