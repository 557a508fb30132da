//! Workload policy at apply time: a Service or Task whose task definition does something its
//! Cluster's policy refuses (privileged, host namespaces, added capabilities, host paths
//! outside the allowlist, the Docker socket) is refused on apply, naming the rule, so the
//! user hears it now rather than from a stopped task later.

use api::kinds::ClusterSpec;
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, Object, ObjectKey};
use store::{Store, StoreError};

/// One error line per refused object (`service/web: refused by the policy of cluster ...`).
pub(crate) fn check(store: &dyn Store, objects: &[Object]) -> Result<Vec<String>, StoreError> {
    let mut errors = Vec::new();
    for o in objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::Service | Kind::Task))
    {
        let Some(td_ref) = o.spec.get("taskDefinition").and_then(|v| v.as_str()) else {
            continue;
        };
        // The task definition may come in the same apply (its newest revision then).
        let family = td_ref.split(':').next().unwrap_or(td_ref);
        let in_batch = objects.iter().find(|x| {
            x.kind == Kind::TaskDefinition && x.metadata.name == family && !td_ref.contains(':')
        });
        let td = match in_batch {
            Some(x) => x.spec_as::<TaskDefinitionSpec>().ok(),
            None => store
                .get(&ObjectKey::new(Kind::TaskDefinition, None, td_ref))?
                .and_then(|x| x.spec_as().ok()),
        };
        let Some(td) = td else { continue };
        let cluster = o.metadata.cluster_or_default();
        let in_batch_cluster = objects
            .iter()
            .find(|x| x.kind == Kind::Cluster && x.metadata.name == cluster);
        let cluster_spec: ClusterSpec = match in_batch_cluster {
            Some(c) => c.spec_as().unwrap_or_default(),
            None => store
                .get(&ObjectKey::new(Kind::Cluster, None, cluster))?
                .and_then(|c| c.spec_as().ok())
                .unwrap_or_default(),
        };
        if let Err(why) =
            controllers::task::policy::check(&td, cluster, &cluster_spec.policy.unwrap_or_default())
        {
            errors.push(format!(
                "{}/{}: {why}",
                o.kind.as_str().to_ascii_lowercase(),
                o.metadata.name
            ));
        }
    }
    Ok(errors)
}
