//! DescribeServices and ListServices.

use super::{
    Found, cluster_arg, cluster_exists, describe_found, find, run, service_arg, tombstone,
};
use crate::ecs::input::{Page, parse as input, with_next_token};
use crate::ecs::{Caller, EcsState};
use admission::access;
use api::Kind;
use ecsapi::EcsError;
use ecsapi::arn::Arn;
use serde::Deserialize;
use serde_json::{Value, json};
use store::ListQuery;
use time::OffsetDateTime;

/// Services one DescribeServices may name.
const MAX_DESCRIBED: usize = 10;

/// May `caller` read the services of `cluster`? AccessDeniedException otherwise.
fn may_read(caller: &Caller, cluster: &str) -> Result<(), EcsError> {
    access::authorize_list(&caller.identity, Kind::Service, Some(cluster))
        .map_err(|f| EcsError::access_denied(f.to_string()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    cluster: Option<String>,
    services: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

/// DescribeServices: up to 10 services by name or ARN; those that do not exist (or were
/// deleted over an hour ago) in `failures` with reason MISSING. A deleted service is
/// DRAINING while its tasks stop, then INACTIVE.
pub(in crate::ecs) async fn describe(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DescribeInput = input(body)?;
    if req.services.is_empty() || req.services.len() > MAX_DESCRIBED {
        return Err(EcsError::invalid_parameter(format!(
            "services: between 1 and {MAX_DESCRIBED} services per DescribeServices"
        )));
    }
    if let Some(bad) = req.include.iter().find(|i| *i != "TAGS") {
        return Err(EcsError::invalid_parameter(format!(
            "include {bad:?} is not one of TAGS"
        )));
    }
    let tags = !req.include.is_empty();
    let cluster = cluster_arg(req.cluster.as_deref())?;
    may_read(caller, &cluster)?;
    let caller = caller.clone();
    run(state, move |s| {
        let now = OffsetDateTime::now_utc();
        cluster_exists(s, &cluster)?;
        let (mut services, mut failures) = (Vec::new(), Vec::new());
        for asked in &req.services {
            let target = service_arg(Some(&cluster), asked)?;
            let found = match &target {
                Some((c, n)) => find(s, c, n, now)?.map(|f| (c, n, f)),
                None => None,
            };
            match found {
                Some((c, n, f)) => services.push(describe_found(s, &caller, c, n, &f, tags, now)?),
                None => {
                    let arn = if asked.starts_with("arn:") {
                        asked.clone()
                    } else {
                        Arn::service(&caller.region, &caller.account_id, &cluster, asked)
                            .to_string()
                    };
                    failures.push(json!({"arn": arn, "reason": "MISSING"}));
                }
            }
        }
        Ok(json!({"services": services, "failures": failures}))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    cluster: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    launch_type: Option<String>,
    scheduling_strategy: Option<String>,
    resource_management_type: Option<String>,
}

/// ListServices: the ARNs of a cluster's ACTIVE and DRAINING services, in name order, 10 a
/// page unless asked for up to 100, filtered by launch type and scheduling strategy.
pub(in crate::ecs) async fn list(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: ListInput = input(body)?;
    let page = Page::new(req.max_results, req.next_token.as_deref(), 10, 100)?;
    for (field, value, allowed) in [
        (
            "launchType",
            &req.launch_type,
            &["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"][..],
        ),
        (
            "schedulingStrategy",
            &req.scheduling_strategy,
            &["REPLICA", "DAEMON"][..],
        ),
        (
            "resourceManagementType",
            &req.resource_management_type,
            &["CUSTOMER", "ECS"][..],
        ),
    ] {
        if let Some(v) = value
            && !allowed.contains(&v.as_str())
        {
            return Err(EcsError::invalid_parameter(format!(
                "{field} {v:?} is not one of {}",
                allowed.join(", ")
            )));
        }
    }
    let cluster = cluster_arg(req.cluster.as_deref())?;
    may_read(caller, &cluster)?;
    let caller = caller.clone();
    run(state, move |s| {
        let now = OffsetDateTime::now_utc();
        cluster_exists(s, &cluster)?;
        // Every service here is the customer's own.
        if req.resource_management_type.as_deref() == Some("ECS") {
            return Ok(json!({"serviceArns": []}));
        }
        let keep = |spec: &Value| {
            req.launch_type
                .as_ref()
                .is_none_or(|l| super::shape::launch_type(spec).as_ref() == Some(l))
                && req
                    .scheduling_strategy
                    .as_ref()
                    .is_none_or(|st| super::shape::scheduling_strategy(spec) == *st)
        };
        let mut names: Vec<String> = s
            .list(&ListQuery::new(Kind::Service).in_cluster(cluster.clone()))?
            .items
            .into_iter()
            .filter(|o| keep(&o.spec))
            .map(|o| o.metadata.name)
            .collect();
        for (name, t) in tombstone::list(s, Some(&cluster), now)? {
            let draining = matches!(find(s, &cluster, &name, now)?, Some(Found::Deleted(_)))
                && tombstone::tasks_left(s, &cluster, &name)?.2;
            if draining && keep(&t.snapshot.spec) {
                names.push(name);
            }
        }
        names.sort();
        names.dedup();
        let arns = names
            .into_iter()
            .map(|n| {
                let arn =
                    Arn::service(&caller.region, &caller.account_id, &cluster, &n).to_string();
                (n, arn)
            })
            .collect();
        let (arns, token) = page.take(arns, false);
        Ok(with_next_token(json!({ "serviceArns": arns }), token))
    })
    .await
}
