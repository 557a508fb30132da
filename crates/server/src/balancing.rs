//! Wires the built-in load balancer (`lb::LbManager`) to the controllers: the load balancer
//! controller (`controllers::loadbalancer`) drives it through [`LbBalancer`], the service
//! controller reads target health and draining through [`LbTraffic`], and the metrics sampler
//! reads request rates through [`LbRates`].

use controllers::loadbalancer::{Balancer, BalancerError};
use controllers::{Context, TargetHealth, Traffic};
use futures::future::BoxFuture;
use lb::LbManager;
use std::collections::BTreeMap;
use std::sync::Arc;

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

/// The built-in load balancer as the load balancer controller drives it.
#[derive(Debug, Clone)]
pub struct LbBalancer(pub LbManager);

impl Balancer for LbBalancer {
    fn upsert(&self, config: lb::LbConfig) -> BoxFuture<'_, Result<(), BalancerError>> {
        Box::pin(async move {
            self.0.upsert(config).await.map_err(|e| BalancerError {
                retry: e.is_retryable(),
                message: e.to_string(),
            })
        })
    }

    fn remove<'a>(&'a self, cluster: &'a str, name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.0.remove(cluster, name))
    }
}

/// Runs the load balancer controller on `manager` until `shutdown`, then closes every
/// listener.
pub async fn run(
    ctx: Context,
    manager: LbManager,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let balancer = Arc::new(LbBalancer(manager.clone()));
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    controllers::loadbalancer::run(ctx, balancer, stop).await;
    manager.shutdown().await;
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
