//! CreateCluster, DescribeClusters, ListClusters and DeleteCluster: ECS clusters are the
//! Cluster objects `ecsctl get clusters` lists, written through the admission chain with the
//! caller's identity.

use super::input::{Page, check_name, parse as input, with_next_token};
use super::tags::rules as tags_rules;
use super::{Caller, EcsState, admit_and_apply, denied, store_error};
use admission::access;
use api::cluster::{ClusterSpec, ContainerInsights};
use api::taskdef::Tag;
use api::{Kind, Object, ObjectKey};
use ecsapi::EcsError;
use ecsapi::arn::{self, Arn};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{ListQuery, Store};

/// ListClusters' page size when `maxResults` is not given, and its largest.
const MAX_RESULTS: usize = 100;

/// A cluster as ECS describes it, with its services and tasks counted (and its tags when
/// `include_tags`).
fn describe_one(
    s: &dyn Store,
    caller: &Caller,
    name: &str,
    status: &str,
    include_tags: bool,
) -> Result<Value, store::StoreError> {
    let spec: ClusterSpec = s
        .get(&ObjectKey::new(Kind::Cluster, None, name))?
        .and_then(|o| o.spec_as().ok())
        .unwrap_or_default();
    let insights = spec
        .container_insights
        .unwrap_or(ContainerInsights::Disabled);
    let tags = if include_tags {
        tags_rules::to_json(&spec.tags)
    } else {
        json!([])
    };
    let in_cluster = |kind| {
        let mut q = ListQuery::new(kind);
        q.cluster = Some(name.to_string());
        s.list(&q)
    };
    let services = in_cluster(Kind::Service)?.items.len();
    let instances = in_cluster(Kind::ContainerInstance)?
        .items
        .iter()
        .filter(|o| {
            o.status_as::<api::instance::ContainerInstanceStatus>()
                .is_ok_and(|st| st.status != api::instance::InstanceStatus::Inactive)
        })
        .count();
    let tasks = in_cluster(Kind::Task)?.items;
    let phase = |t: &Object| {
        t.status
            .get("lastStatus")
            .and_then(Value::as_str)
            .unwrap_or("PROVISIONING")
            .to_string()
    };
    let running = tasks.iter().filter(|t| phase(t) == "RUNNING").count();
    let pending = tasks
        .iter()
        .filter(|t| {
            !matches!(
                phase(t).as_str(),
                "RUNNING" | "STOPPED" | "DEPROVISIONING" | "STOPPING"
            )
        })
        .count();
    Ok(json!({
        "clusterArn": Arn::cluster(&caller.region, &caller.account_id, name).to_string(),
        "clusterName": name,
        "status": status,
        "registeredContainerInstancesCount": instances,
        "runningTasksCount": running,
        "pendingTasksCount": pending,
        "activeServicesCount": services,
        "statistics": [],
        "tags": tags,
        "settings": [{"name": "containerInsights", "value": insights.as_str()}],
        "capacityProviders": [],
        "defaultCapacityProviderStrategy": [],
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    cluster_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    settings: Vec<SettingInput>,
    configuration: Option<Value>,
    #[serde(default)]
    capacity_providers: Vec<Value>,
    #[serde(default)]
    default_capacity_provider_strategy: Vec<Value>,
    service_connect_defaults: Option<Value>,
}

/// A cluster setting as ECS writes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingInput {
    name: String,
    value: String,
}

/// The containerInsights value the settings give (the last one given), `None` when they
/// give none; any other setting refused.
fn container_insights(settings: &[SettingInput]) -> Result<Option<ContainerInsights>, EcsError> {
    let mut out = None;
    for s in settings {
        if s.name != "containerInsights" {
            return Err(EcsError::invalid_parameter(format!(
                "settings: {:?} is not a cluster setting (containerInsights is the only one)",
                s.name
            )));
        }
        out = Some(match s.value.as_str() {
            "enabled" => ContainerInsights::Enabled,
            "disabled" => ContainerInsights::Disabled,
            "enhanced" => ContainerInsights::Enhanced,
            v => {
                return Err(EcsError::invalid_parameter(format!(
                    "settings: containerInsights {v:?} is not enabled, disabled or enhanced"
                )));
            }
        });
    }
    Ok(out)
}

/// CreateCluster: makes the Cluster object, with its tags and containerInsights setting
/// (an existing cluster is returned as it is, as ECS does).
pub(super) async fn create(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: CreateInput = input(body)?;
    // What ecsctl cannot honour is refused, never dropped silently.
    let unsupported = [
        ("configuration", req.configuration.is_some()),
        ("capacityProviders", !req.capacity_providers.is_empty()),
        (
            "defaultCapacityProviderStrategy",
            !req.default_capacity_provider_strategy.is_empty(),
        ),
        (
            "serviceConnectDefaults",
            req.service_connect_defaults.is_some(),
        ),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(EcsError::invalid_parameter(format!(
            "CreateCluster: {field} is not supported by ecsctl yet (leave it out; a cluster's policy and capacity are set with `ecsctl apply`)"
        )));
    }
    let name = req
        .cluster_name
        .unwrap_or_else(|| api::DEFAULT_CLUSTER.to_string());
    check_name("clusterName", &name)?;
    tags_rules::check(&req.tags)?;
    let spec = ClusterSpec {
        container_insights: container_insights(&req.settings)?,
        tags: req.tags,
        ..ClusterSpec::default()
    };
    let object = Object::with_spec(Kind::Cluster, &name, &spec)
        .map_err(|e| EcsError::server(e.to_string()))?;
    access::authorize_apply(&caller.identity, std::slice::from_ref(&object))
        .map_err(|f| denied(f.into()))?;
    let (admission, who) = (state.admission.clone(), caller.identity.clone());
    let caller_view = caller.clone();
    let done = state
        .store
        .run(move |s| {
            let key = ObjectKey::new(Kind::Cluster, None, &name);
            if s.get(&key)?.is_none() {
                if let Err(e) = admit_and_apply(&admission, &who, s, vec![object], &name)? {
                    return Ok(Err(e));
                }
                tracing::info!(cluster = name, identity = %who.name, "created a cluster (ECS API)");
            }
            Ok(Ok(describe_one(s, &caller_view, &name, "ACTIVE", true)?))
        })
        .await
        .map_err(store_error)??;
    Ok(json!({ "cluster": done }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    clusters: Option<Vec<String>>,
    #[serde(default)]
    include: Vec<String>,
}

/// DescribeClusters: the clusters asked for (`default` when none is named); those that do
/// not exist, or that the caller may not read, in `failures` with reason MISSING.
pub(super) async fn describe(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DescribeInput = input(body)?;
    const INCLUDE: [&str; 5] = [
        "ATTACHMENTS",
        "CONFIGURATIONS",
        "SETTINGS",
        "STATISTICS",
        "TAGS",
    ];
    if let Some(bad) = req.include.iter().find(|i| !INCLUDE.contains(&i.as_str())) {
        return Err(EcsError::invalid_parameter(format!(
            "include {bad:?} is not one of {}",
            INCLUDE.join(", ")
        )));
    }
    let include_tags = req.include.iter().any(|i| i == "TAGS");
    let asked = req
        .clusters
        .unwrap_or_else(|| vec![api::DEFAULT_CLUSTER.to_string()]);
    if asked.len() > 100 {
        return Err(EcsError::invalid_parameter(
            "clusters: at most 100 clusters per DescribeClusters",
        ));
    }
    let caller_view = caller.clone();
    state
        .store
        .run(move |s| {
            let (mut clusters, mut failures) = (Vec::new(), Vec::new());
            for asked in asked {
                let found = match arn::cluster_name(&asked) {
                    Some(name) => s
                        .get(&ObjectKey::new(Kind::Cluster, None, &name))?
                        .filter(|o| caller_view.identity.may_read(o)),
                    None => None,
                };
                match found {
                    Some(o) => clusters.push(describe_one(
                        s,
                        &caller_view,
                        &o.metadata.name,
                        "ACTIVE",
                        include_tags,
                    )?),
                    None => {
                        let arn = if asked.starts_with("arn:") {
                            asked
                        } else {
                            Arn::cluster(&caller_view.region, &caller_view.account_id, &asked)
                                .to_string()
                        };
                        failures.push(json!({"arn": arn, "reason": "MISSING"}));
                    }
                }
            }
            Ok(json!({"clusters": clusters, "failures": failures}))
        })
        .await
        .map_err(store_error)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// ListClusters: the ARNs of the clusters the caller may read, in name order, a page at a
/// time (`nextToken` names the last cluster of the page before).
pub(super) async fn list(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: ListInput = input(body)?;
    let page = Page::new(
        req.max_results,
        req.next_token.as_deref(),
        MAX_RESULTS,
        MAX_RESULTS,
    )?;
    let who = caller.identity.clone();
    let names: Vec<String> = state
        .store
        .run(move |s| {
            Ok(s.list(&ListQuery::new(Kind::Cluster))?
                .items
                .into_iter()
                .filter(|o| who.may_read(o))
                .map(|o| o.metadata.name)
                .collect())
        })
        .await
        .map_err(store_error)?;
    let mut names: Vec<String> = names;
    names.sort();
    let arns = names
        .into_iter()
        .map(|n| {
            let arn = Arn::cluster(&caller.region, &caller.account_id, &n).to_string();
            (n, arn)
        })
        .collect();
    let (arns, token) = page.take(arns, false);
    Ok(with_next_token(json!({ "clusterArns": arns }), token))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteInput {
    cluster: String,
}

/// DeleteCluster: refused while services or tasks that are not stopped remain (ECS's
/// ClusterContainsServicesException / ClusterContainsTasksException); the default cluster
/// is never deleted.
pub(super) async fn delete(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DeleteInput = input(body)?;
    let name = arn::cluster_name(&req.cluster).ok_or_else(EcsError::cluster_not_found)?;
    let key = ObjectKey::new(Kind::Cluster, None, &name);
    state
        .admission
        .admit_delete_as(&caller.identity, &key)
        .map_err(denied)?;
    let caller_view = caller.clone();
    state
        .store
        .run(move |s| {
            if s.get(&key)?.is_none() {
                return Ok(Err(EcsError::cluster_not_found()));
            }
            let described = describe_one(s, &caller_view, &name, "INACTIVE", true)?;
            let services = described["activeServicesCount"].as_u64().unwrap_or(0);
            if services > 0 {
                return Ok(Err(EcsError::cluster_contains_services(format!(
                    "The Cluster cannot be deleted while Services are active ({services} in {name}; delete them first)."
                ))));
            }
            let tasks = described["runningTasksCount"].as_u64().unwrap_or(0)
                + described["pendingTasksCount"].as_u64().unwrap_or(0);
            if tasks > 0 {
                return Ok(Err(EcsError::cluster_contains_tasks(format!(
                    "The Cluster cannot be deleted while Tasks are active ({tasks} in {name}; stop them first)."
                ))));
            }
            s.delete(&key)?;
            tracing::info!(cluster = name, identity = %caller_view.identity.name, "deleted a cluster (ECS API)");
            Ok(Ok(json!({ "cluster": described })))
        })
        .await
        .map_err(store_error)?
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateInput {
    cluster: String,
    #[serde(default)]
    settings: Vec<SettingInput>,
    configuration: Option<Value>,
    service_connect_defaults: Option<Value>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct InsightsPatch {
    container_insights: ContainerInsights,
}

/// UpdateCluster (and UpdateClusterSettings, its settings alone): sets the cluster's
/// containerInsights setting, kept in its spec and reported; `configuration` and
/// `serviceConnectDefaults` are refused.
pub(super) async fn update(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: UpdateInput = input(body)?;
    let unsupported = [
        ("configuration", req.configuration.is_some()),
        (
            "serviceConnectDefaults",
            req.service_connect_defaults.is_some(),
        ),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(EcsError::invalid_parameter(format!(
            "UpdateCluster: {field} is not supported by ecsctl (no execute-command logging or Cloud Map namespaces locally)"
        )));
    }
    let insights = container_insights(&req.settings)?;
    let name = arn::cluster_name(&req.cluster).ok_or_else(EcsError::cluster_not_found)?;
    access::authorize(
        &caller.identity,
        &access::Action::on(access::Verb::Write, Kind::Cluster, None, &name),
    )
    .map_err(|f| denied(f.into()))?;
    let (admission, caller_view) = (state.admission.clone(), caller.clone());
    state
        .store
        .run(move |s| {
            let key = ObjectKey::new(Kind::Cluster, None, &name);
            let Some(o) = s.get(&key)? else {
                return Ok(Err(EcsError::cluster_not_found()));
            };
            if let Some(value) = insights {
                let mut object = o.cas_request();
                if let Err(e) = object.merge_spec(&InsightsPatch {
                    container_insights: value,
                }) {
                    return Ok(Err(EcsError::server(e.to_string())));
                }
                let what = format!("cluster {name}");
                if let Err(e) = admit_and_apply(&admission, &caller_view.identity, s, vec![object], &what)? {
                    return Ok(Err(e));
                }
                tracing::info!(cluster = name, insights = value.as_str(), identity = %caller_view.identity.name, "updated a cluster (ECS API)");
            }
            Ok(Ok(json!({ "cluster": describe_one(s, &caller_view, &name, "ACTIVE", true)? })))
        })
        .await
        .map_err(store_error)?
}
