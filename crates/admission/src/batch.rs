//! What a rule reads about the objects a Service or Task depends on, during one write: the
//! write's own copy when it carries one (it is about to be stored), else the store's.

use api::cluster::{ClusterPolicy, ClusterSpec};
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, Object, ObjectKey};
use store::{Store, StoreError};

/// The policy of `cluster`: from this write if it carries the Cluster, else the store (a
/// missing or undecodable Cluster has the default, closed, policy).
pub(crate) fn cluster_policy(
    store: &dyn Store,
    objects: &[Object],
    cluster: &str,
) -> Result<ClusterPolicy, StoreError> {
    let in_batch = objects
        .iter()
        .find(|o| o.kind == Kind::Cluster && o.metadata.name == cluster);
    let spec: ClusterSpec = match in_batch {
        Some(c) => c.spec_as().unwrap_or_default(),
        None => store
            .get(&ObjectKey::new(Kind::Cluster, None, cluster))?
            .and_then(|c| c.spec_as().ok())
            .unwrap_or_default(),
    };
    Ok(spec.policy.unwrap_or_default())
}

/// The task definition a Service or Task (`o`) runs: for a bare family, this write's copy
/// when it carries one (its newest revision), else the store's; `None` when there is none.
pub(crate) fn task_definition(
    store: &dyn Store,
    objects: &[Object],
    o: &Object,
) -> Result<Option<TaskDefinitionSpec>, StoreError> {
    let Some(reference) = o.spec.get("taskDefinition").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    let in_batch = objects.iter().find(|x| {
        x.kind == Kind::TaskDefinition && x.metadata.name == reference && !reference.contains(':')
    });
    Ok(match in_batch {
        Some(x) => x.spec_as().ok(),
        None => store
            .get(&ObjectKey::new(Kind::TaskDefinition, None, reference))?
            .and_then(|x| x.spec_as().ok()),
    })
}
