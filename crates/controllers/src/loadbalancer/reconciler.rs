//! One load balancer's reconcile: read what decides its desired state, compute it, and hand it
//! to the balancer when it differs from what was handed last.

use super::plan::{self, Inputs};
use super::reach::{Reach, family};
use super::{BalancerError, CERTIFICATE_REREAD, LbController};
use crate::Context;
use api::balancer::CertificatePem;
use api::kinds::LoadBalancerSpec;
use api::task::TaskStatus;
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, ObjectKey};
use reconcile::Action;
use runtime::labels;
use std::collections::BTreeMap;
use store::ListQuery;
use tracing::{debug, warn};

/// Why a load balancer reconcile failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum LoadBalancerError {
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// The balancer could not apply the state, and trying again may help.
    #[error(transparent)]
    Balancer(#[from] BalancerError),
}

/// Reconciles one LoadBalancer. Waits for a change, or looks again after
/// [`CERTIFICATE_REREAD`] when it has HTTPS certificates to re-read.
pub async fn reconcile_load_balancer(
    ctx: &Context,
    lbs: &LbController,
    key: &ObjectKey,
) -> Result<Action, LoadBalancerError> {
    let cluster = key.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    let spec = match ctx.store.get(key).await? {
        Some(obj) => match obj.spec_as::<LoadBalancerSpec>() {
            Ok(spec) => Some(spec),
            Err(e) => {
                // Admission validates specs, so this is an object written around it: not
                // served, and nothing to retry until it changes.
                warn!(lb = %key.name, %cluster, error = %e, "unreadable spec; not served");
                None
            }
        },
        None => None,
    };
    let Some(spec) = spec else {
        lbs.applied().remove(key);
        if lbs.reach.remove(key) {
            debug!(lb = %key.name, %cluster, "removing");
            lbs.balancer.remove(cluster, &key.name).await;
        }
        return Ok(Action::await_change());
    };

    let services = ctx
        .store
        .list(&ListQuery::new(Kind::Service).in_cluster(cluster))
        .await?
        .items;
    let attached = plan::attached(&key.name, cluster, &services);
    let secrets = plan::certificate_secrets(&spec);
    // Published before the tasks are read: a task that changes after the read below is then
    // mapped to this load balancer by its event.
    lbs.reach.set(key, reach(&spec, &attached, &secrets));

    let mut tasks = Vec::new();
    for (svc, _) in &attached {
        let query = ListQuery::new(Kind::Task)
            .in_cluster(cluster)
            .with_label(labels::SERVICE, svc.metadata.name.clone());
        tasks.extend(ctx.store.list(&query).await?.items);
    }
    let mut task_definitions: BTreeMap<String, TaskDefinitionSpec> = BTreeMap::new();
    let mut families = Vec::new();
    for status in tasks
        .iter()
        .filter_map(|t| t.status_as::<TaskStatus>().ok())
    {
        let name = status.task_definition;
        if name.is_empty() || task_definitions.contains_key(&name) {
            continue;
        }
        families.push(family(&name).to_string());
        let td_key = ObjectKey::new(Kind::TaskDefinition, None, &name);
        if let Some(td) = ctx.store.get(&td_key).await?
            && let Ok(td) = td.spec_as::<TaskDefinitionSpec>()
        {
            task_definitions.insert(name, td);
        }
    }
    lbs.reach.add_families(key, families);

    let config = plan::lb_config(Inputs {
        name: &key.name,
        cluster,
        spec: &spec,
        services: &services,
        tasks: &tasks,
        task_definitions: &task_definitions,
        certificates: certificates(ctx, cluster, &secrets).await?,
    });
    if lbs.applied().get(key) != Some(&config) {
        let targets: usize = config.targets.values().map(Vec::len).sum();
        debug!(lb = %key.name, %cluster, targets, draining = config.draining.len(), "applying");
        match lbs.balancer.upsert(config.clone()).await {
            Ok(()) => {}
            Err(e) if e.retry => {
                lbs.applied().remove(key);
                return Err(e.into());
            }
            // Recorded in the listener statuses (`describe lb`); applying the same state
            // again would not help, so it waits for a change.
            Err(e) => warn!(lb = %key.name, %cluster, error = %e, "load balancer applied in part"),
        }
        lbs.applied().insert(key.clone(), config);
    }
    Ok(if secrets.is_empty() {
        Action::await_change()
    } else {
        Action::requeue(CERTIFICATE_REREAD)
    })
}

/// What the load balancer depends on, as far as its spec and services say.
fn reach(
    spec: &LoadBalancerSpec,
    attached: &[(&api::Object, api::service::ServiceSpec)],
    secrets: &[String],
) -> Reach {
    let named = spec.listeners.iter().flat_map(|l| {
        l.default_service
            .iter()
            .cloned()
            .chain(l.rules.iter().map(|r| r.service.clone()))
    });
    Reach {
        services: attached
            .iter()
            .map(|(s, _)| s.metadata.name.clone())
            .chain(named)
            .collect(),
        families: attached
            .iter()
            .map(|(_, s)| family(&s.task_definition).to_string())
            .collect(),
        secrets: secrets.iter().cloned().collect(),
    }
}

/// The values of the Secrets the HTTPS listeners name, read now: a changed Secret (or file,
/// or environment variable) reaches the listener at the next reconcile. Only Secrets of the
/// load balancer's own `cluster`, as for tasks.
/// On the blocking pool: a Secret may be a file to read.
async fn certificates(
    ctx: &Context,
    cluster: &str,
    secrets: &[String],
) -> Result<BTreeMap<String, CertificatePem>, store::StoreError> {
    let (names, reader) = (secrets.to_vec(), ctx.secrets.clone());
    let cluster = cluster.to_string();
    ctx.store
        .run(move |s| {
            Ok(names
                .into_iter()
                .map(|name| {
                    let pem = match crate::task::secrets::value(s, &reader, &cluster, &name) {
                        Ok(pem) => CertificatePem::Pem(pem),
                        Err(why) => CertificatePem::Unavailable(why.to_string()),
                    };
                    (name, pem)
                })
                .collect())
        })
        .await
}
