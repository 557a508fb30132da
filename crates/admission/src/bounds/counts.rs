//! Caps on how many tasks a write may ask for: one Service's desiredCount and one apply's
//! standalone tasks at most the cluster's `maxDesiredCount`, and every task of a cluster
//! (the Services' desiredCounts and the standalone tasks not stopped) at most its
//! `maxTasks`. An Autoscaler's maxCapacity is a desiredCount to be: capped the same. The Cluster (and so its caps) may come in the same write.

use crate::batch::cluster_policy;
use crate::{Problem, Rule};
use api::service::ServiceSpec;
use api::task::{TaskSpec, TaskStatus};
use api::{Kind, Object};
use std::collections::{BTreeMap, BTreeSet};
use store::{ListQuery, Store, StoreError};

fn desired_count(o: &Object) -> u64 {
    o.spec_as::<ServiceSpec>()
        .ok()
        .and_then(|s| s.desired_count)
        .map_or(0, |c| u64::from(c.get()))
}

/// A standalone task that holds (or will hold) a place: not of a Service, not stopping.
fn is_standalone_live(o: &Object) -> bool {
    // The label first: a service's tasks (most of them) are not parsed at all.
    if o.metadata.labels.contains_key(runtime_service_label()) {
        return false;
    }
    let stopping = o.spec_as::<TaskSpec>().is_ok_and(|s| s.stop_requested());
    let stopped = || {
        o.status_as::<TaskStatus>()
            .is_ok_and(|s| s.last_status.is_terminal())
    };
    !stopping && !stopped()
}

/// The label the service controller puts on the tasks it creates (`runtime::labels::SERVICE`;
/// admission does not depend on the runtime crate).
fn runtime_service_label() -> &'static str {
    "ecsctl.service"
}

/// Every cap this write exceeds.
pub(super) fn check(store: &dyn Store, objects: &[Object]) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    let clusters: BTreeSet<&str> = objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::Service | Kind::Task | Kind::Autoscaler))
        .map(|o| o.metadata.cluster_or_default())
        .collect();
    for cluster in clusters {
        let policy = cluster_policy(store, objects, cluster)?;
        let ours = |o: &&Object| o.metadata.cluster_or_default() == cluster;
        let problem = |o: &Object, message: String| Problem {
            object: o.key(),
            rule: Rule::ResourceBounds,
            message,
        };
        let mut refused = false;
        for s in objects
            .iter()
            .filter(ours)
            .filter(|o| o.kind == Kind::Service)
        {
            let n = desired_count(s);
            if n > u64::from(policy.max_desired_count()) {
                refused = true;
                problems.push(problem(
                    s,
                    format!(
                        "spec.desiredCount: {n} tasks is more than cluster {cluster} allows per service ({}; an admin raises it with the Cluster's spec.policy.maxDesiredCount)",
                        policy.max_desired_count()
                    ),
                ));
            }
        }
        for a in objects
            .iter()
            .filter(ours)
            .filter(|o| o.kind == Kind::Autoscaler)
        {
            let max = a
                .spec
                .get("maxCapacity")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            if max > u64::from(policy.max_desired_count()) {
                refused = true;
                problems.push(problem(
                    a,
                    format!(
                        "spec.maxCapacity: {max} tasks is more than cluster {cluster} allows per service ({}; an admin raises it with the Cluster's spec.policy.maxDesiredCount)",
                        policy.max_desired_count()
                    ),
                ));
            }
        }
        let new_tasks: Vec<&Object> = objects
            .iter()
            .filter(ours)
            .filter(|o| o.kind == Kind::Task && is_standalone_live(o))
            .collect();
        if new_tasks.len() as u64 > u64::from(policy.max_desired_count()) {
            refused = true;
            problems.push(problem(
                new_tasks[0],
                format!(
                    "this write starts {} tasks in cluster {cluster}, more than it allows at once ({}; an admin raises it with the Cluster's spec.policy.maxDesiredCount)",
                    new_tasks.len(),
                    policy.max_desired_count()
                ),
            ));
        }
        if refused {
            continue;
        }
        if upper_bound(store, objects, cluster)? <= u64::from(policy.max_tasks()) {
            continue;
        }
        let (before, after) = cluster_totals(store, objects, cluster)?;
        if after > u64::from(policy.max_tasks()) && after > before {
            let first = objects
                .iter()
                .filter(ours)
                .find(|o| matches!(o.kind, Kind::Service | Kind::Task));
            if let Some(first) = first {
                problems.push(problem(
                    first,
                    format!(
                        "cluster {cluster} would hold {after} tasks (services' desiredCount and standalone tasks), more than its cap of {} (an admin raises it with the Cluster's spec.policy.maxTasks)",
                        policy.max_tasks()
                    ),
                ));
            }
        }
    }
    Ok(problems)
}

/// At least as many tasks as `cluster` holds after this write, found without reading a
/// task: every Service's desiredCount (as after the write), and every Task object stored
/// (stopped ones too) or written. Below the cap, the exact count is not needed.
fn upper_bound(store: &dyn Store, objects: &[Object], cluster: &str) -> Result<u64, StoreError> {
    let mut services: BTreeMap<String, u64> = store
        .list(&ListQuery::new(Kind::Service).in_cluster(cluster.to_string()))?
        .items
        .iter()
        .map(|s| (s.metadata.name.clone(), desired_count(s)))
        .collect();
    let mut written_tasks = 0;
    for o in objects
        .iter()
        .filter(|o| o.metadata.cluster_or_default() == cluster)
    {
        match o.kind {
            Kind::Service => {
                services.insert(o.metadata.name.clone(), desired_count(o));
            }
            Kind::Task => written_tasks += 1,
            _ => {}
        }
    }
    let stored_tasks = store.count(&ListQuery::new(Kind::Task).in_cluster(cluster.to_string()))?;
    Ok(services.values().sum::<u64>() + stored_tasks as u64 + written_tasks)
}

/// The tasks `cluster` holds before and after this write: every Service's desiredCount and
/// every standalone task that is not stopped.
fn cluster_totals(
    store: &dyn Store,
    objects: &[Object],
    cluster: &str,
) -> Result<(u64, u64), StoreError> {
    let mut services: BTreeMap<String, u64> = store
        .list(&ListQuery::new(Kind::Service).in_cluster(cluster.to_string()))?
        .items
        .iter()
        .map(|s| (s.metadata.name.clone(), desired_count(s)))
        .collect();
    let mut tasks: BTreeSet<String> = store
        .list(&ListQuery::new(Kind::Task).in_cluster(cluster.to_string()))?
        .items
        .iter()
        .filter(|t| is_standalone_live(t))
        .map(|t| t.metadata.name.clone())
        .collect();
    let before = services.values().sum::<u64>() + tasks.len() as u64;
    for o in objects
        .iter()
        .filter(|o| o.metadata.cluster_or_default() == cluster)
    {
        match o.kind {
            Kind::Service => {
                services.insert(o.metadata.name.clone(), desired_count(o));
            }
            Kind::Task if is_standalone_live(o) => {
                tasks.insert(o.metadata.name.clone());
            }
            Kind::Task => {
                tasks.remove(&o.metadata.name);
            }
            _ => {}
        }
    }
    let after = services.values().sum::<u64>() + tasks.len() as u64;
    Ok((before, after))
}
