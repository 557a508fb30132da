//! DescribeTasks and ListTasks: the Task objects of a cluster, as `ecsctl get tasks` reads
//! them, in ECS's shapes. Stopped tasks stay describable while the task controller keeps
//! them (the newest 100 stopped tasks of each cluster).

use super::shape::{self, Context};
use crate::ecs::input::{Page, parse as input, with_next_token};
use crate::ecs::{Caller, EcsState, denied, store_error};
use admission::access;
use api::service::{LaunchType, ServiceSpec};
use api::task::{TaskSpec, TaskStatus};
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, Object, ObjectKey};
use ecsapi::EcsError;
use ecsapi::arn::{self, Arn};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use store::{ListQuery, Store, StoreError};

/// ListTasks' page size when `maxResults` is not given, and its largest.
const MAX_RESULTS: usize = 100;
/// Most tasks one DescribeTasks names.
const MAX_DESCRIBE: usize = 100;

/// The cluster a request names (`default` when it names none).
pub(crate) fn cluster_param(cluster: Option<&str>) -> Result<String, EcsError> {
    match cluster {
        None | Some("") => Ok(api::DEFAULT_CLUSTER.to_string()),
        Some(c) => arn::cluster_name(c).ok_or_else(EcsError::cluster_not_found),
    }
}

/// A task named by id or ARN in `cluster`: its id, or `None` when the argument is no task
/// id or ARN, or the ARN names another cluster.
pub(crate) fn task_id(cluster: &str, id_or_arn: &str) -> Option<String> {
    let (in_arn, id) = arn::in_cluster("task", id_or_arn)?;
    match in_arn {
        Some(c) if c != cluster => None,
        _ => Some(id),
    }
}

/// The cluster exists.
pub(crate) fn cluster_exists(s: &dyn Store, cluster: &str) -> Result<bool, StoreError> {
    Ok(s.get(&ObjectKey::new(Kind::Cluster, None, cluster))?
        .is_some())
}

/// What describing tasks reads besides the tasks (each once per request): the revisions
/// they run and their services' launch types.
#[derive(Default)]
pub(crate) struct Lookups {
    revisions: HashMap<String, Option<TaskDefinitionSpec>>,
    services: HashMap<(String, String), Option<LaunchType>>,
}

impl Lookups {
    fn revision(
        &mut self,
        s: &dyn Store,
        task: &Object,
    ) -> Result<Option<TaskDefinitionSpec>, StoreError> {
        let Ok(spec) = task.spec_as::<TaskSpec>() else {
            return Ok(None);
        };
        let name = shape::revision_of(task, &spec);
        if let Some(found) = self.revisions.get(&name) {
            return Ok(found.clone());
        }
        let found = s
            .get(&ObjectKey::new(Kind::TaskDefinition, None, &name))?
            .and_then(|o| o.spec_as::<TaskDefinitionSpec>().ok());
        self.revisions.insert(name, found.clone());
        Ok(found)
    }

    fn service_launch_type(
        &mut self,
        s: &dyn Store,
        task: &Object,
    ) -> Result<Option<LaunchType>, StoreError> {
        let Some(service) = task.metadata.labels.get(runtime::labels::SERVICE) else {
            return Ok(None);
        };
        let cluster = shape::cluster_of(task).to_string();
        let k = (cluster, service.clone());
        if let Some(found) = self.services.get(&k) {
            return Ok(*found);
        }
        let found = s
            .get(&ObjectKey::new(Kind::Service, Some(&k.0), &k.1))?
            .and_then(|o| o.spec_as::<ServiceSpec>().ok())
            .and_then(|spec| spec.launch_type);
        self.services.insert(k, found);
        Ok(found)
    }

    /// The task in ECS's shape.
    pub fn describe(
        &mut self,
        s: &dyn Store,
        caller: &Caller,
        task: &Object,
        include_tags: bool,
    ) -> Result<Value, StoreError> {
        let td = self.revision(s, task)?;
        let service_launch_type = self.service_launch_type(s, task)?;
        Ok(shape::describe(
            task,
            &Context {
                caller,
                task_definition: td.as_ref(),
                service_launch_type,
                include_tags,
            },
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DescribeInput {
    cluster: Option<String>,
    tasks: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

/// DescribeTasks: the tasks asked for; those that do not exist in the cluster in
/// `failures` with reason MISSING (what the `tasks-running` waiter fails on).
pub(crate) async fn describe(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DescribeInput = input(body)?;
    if let Some(bad) = req.include.iter().find(|i| *i != "TAGS") {
        return Err(EcsError::invalid_parameter(format!(
            "include {bad:?} is not TAGS"
        )));
    }
    if req.tasks.is_empty() {
        return Err(EcsError::invalid_parameter("Tasks cannot be empty."));
    }
    if req.tasks.len() > MAX_DESCRIBE {
        return Err(EcsError::invalid_parameter(format!(
            "tasks: at most {MAX_DESCRIBE} per DescribeTasks"
        )));
    }
    let include_tags = !req.include.is_empty();
    let cluster = cluster_param(req.cluster.as_deref())?;
    access::authorize_list(&caller.identity, Kind::Task, Some(&cluster))
        .map_err(|f| denied(f.into()))?;
    let caller = caller.clone();
    state
        .store
        .run(move |s| {
            if !cluster_exists(s, &cluster)? {
                return Ok(Err(EcsError::cluster_not_found()));
            }
            let mut lookups = Lookups::default();
            let (mut tasks, mut failures) = (Vec::new(), Vec::new());
            for asked in &req.tasks {
                let found = match task_id(&cluster, asked) {
                    Some(id) => s.get(&ObjectKey::new(Kind::Task, Some(&cluster), &id))?,
                    None => None,
                };
                match found {
                    Some(t) => tasks.push(lookups.describe(s, &caller, &t, include_tags)?),
                    None => {
                        let arn = match task_id(&cluster, asked) {
                            Some(id) if !asked.starts_with("arn:") => {
                                Arn::task(&caller.region, &caller.account_id, &cluster, &id)
                                    .to_string()
                            }
                            _ => asked.clone(),
                        };
                        failures.push(json!({"arn": arn, "reason": "MISSING"}));
                    }
                }
            }
            Ok(Ok(json!({"tasks": tasks, "failures": failures})))
        })
        .await
        .map_err(store_error)?
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListInput {
    cluster: Option<String>,
    container_instance: Option<String>,
    family: Option<String>,
    started_by: Option<String>,
    service_name: Option<String>,
    desired_status: Option<String>,
    launch_type: Option<LaunchType>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// What ListTasks keeps.
struct Filter {
    family: Option<String>,
    started_by: Option<String>,
    service: Option<String>,
    /// `None`: PENDING, which no task's desiredStatus ever is (as in ECS).
    stopped: Option<bool>,
    launch_type: Option<LaunchType>,
    /// The container instance the tasks run on (its id).
    instance: Option<String>,
}

impl Filter {
    fn keeps(&self, t: &Object, service_launch_type: Option<LaunchType>) -> bool {
        let Some(want_stopped) = self.stopped else {
            return false;
        };
        let Ok(spec) = t.spec_as::<TaskSpec>() else {
            return false;
        };
        let st: TaskStatus = t.status_as().unwrap_or_default();
        let stopped =
            spec.stop_requested() || st.desired_status.is_stopped() || st.last_status.is_terminal();
        stopped == want_stopped
            && self
                .family
                .as_ref()
                .is_none_or(|f| shape::family_of(t).as_ref() == Some(f))
            && self
                .started_by
                .as_ref()
                .is_none_or(|b| spec.started_by.as_ref() == Some(b))
            && self
                .service
                .as_ref()
                .is_none_or(|svc| t.metadata.labels.get(runtime::labels::SERVICE) == Some(svc))
            && self
                .instance
                .as_ref()
                .is_none_or(|i| st.container_instance.as_ref() == Some(i))
            && self.launch_type.is_none_or(|l| {
                spec.launch_type
                    .or(service_launch_type)
                    .unwrap_or(LaunchType::Ec2)
                    == l
            })
    }
}

/// ListTasks: the ARNs of a cluster's tasks that pass the filters, in id order, a page at a
/// time.
pub(crate) async fn list(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: ListInput = input(body)?;
    let instance = match req.container_instance.as_deref() {
        None => None,
        Some(i) => Some(
            arn::in_cluster("container-instance", i)
                .map(|(_, id)| id)
                .ok_or_else(|| {
                    EcsError::invalid_parameter(format!(
                        "containerInstance {i:?} is not a container instance id or ARN"
                    ))
                })?,
        ),
    };
    if req.started_by.is_some()
        && (req.family.is_some() || req.service_name.is_some() || req.launch_type.is_some())
    {
        return Err(EcsError::invalid_parameter(
            "startedBy must be the only filter when it is given (with cluster and desiredStatus)",
        ));
    }
    let stopped = match req.desired_status.as_deref() {
        None | Some("RUNNING") => Some(false),
        Some("STOPPED") => Some(true),
        Some("PENDING") => None,
        Some(other) => {
            return Err(EcsError::invalid_parameter(format!(
                "desiredStatus {other:?} is not RUNNING, PENDING or STOPPED"
            )));
        }
    };
    let service = match req.service_name.as_deref() {
        None => None,
        Some(s) => Some(
            arn::in_cluster("service", s)
                .map(|(_, name)| name)
                .ok_or_else(|| {
                    EcsError::invalid_parameter(format!(
                        "serviceName {s:?} is not a service name or ARN"
                    ))
                })?,
        ),
    };
    let page = Page::new(
        req.max_results,
        req.next_token.as_deref(),
        MAX_RESULTS,
        MAX_RESULTS,
    )?;
    let filter = Filter {
        family: req.family,
        started_by: req.started_by,
        service,
        stopped,
        launch_type: req.launch_type,
        instance,
    };
    let cluster = cluster_param(req.cluster.as_deref())?;
    access::authorize_list(&caller.identity, Kind::Task, Some(&cluster))
        .map_err(|f| denied(f.into()))?;
    let caller = caller.clone();
    let ids = state
        .store
        .run(move |s| {
            if !cluster_exists(s, &cluster)? {
                return Ok(Err(EcsError::cluster_not_found()));
            }
            let mut lookups = Lookups::default();
            let mut ids = Vec::new();
            for t in s
                .list(&ListQuery::new(Kind::Task).in_cluster(cluster.clone()))?
                .items
            {
                if !caller.identity.may_read(&t) {
                    continue;
                }
                let launch = if filter.launch_type.is_some() {
                    lookups.service_launch_type(s, &t)?
                } else {
                    None
                };
                if filter.keeps(&t, launch) {
                    let arn = shape::task_arn(&caller, &t);
                    ids.push((t.metadata.name, arn));
                }
            }
            ids.sort();
            Ok(Ok(ids))
        })
        .await
        .map_err(store_error)??;
    let (arns, token) = page.take(ids, false);
    Ok(with_next_token(json!({ "taskArns": arns }), token))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn task_arguments_in_their_cluster() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(task_id("shop", id).as_deref(), Some(id));
        let arn = format!("arn:aws:ecs:eu-west-1:1:task/shop/{id}");
        assert_eq!(task_id("shop", &arn).as_deref(), Some(id));
        assert_eq!(task_id("default", &arn), None);
        assert_eq!(
            task_id("default", &format!("arn:aws:ecs:eu-west-1:1:task/{id}")).as_deref(),
            Some(id)
        );
        assert_eq!(
            task_id("shop", "arn:aws:ecs:eu-west-1:1:service/shop/web"),
            None
        );
        assert_eq!(cluster_param(None).unwrap(), "default");
        assert_eq!(
            cluster_param(Some("arn:aws:ecs:eu-west-1:1:cluster/shop")).unwrap(),
            "shop"
        );
    }

    #[test]
    fn filters() {
        let task = |spec: Value, labels: &[(&str, &str)], status: Value| {
            let mut o = Object::new(Kind::Task, "t", spec);
            for (k, v) in labels {
                o.metadata.labels.insert(k.to_string(), v.to_string());
            }
            o.status = status;
            o
        };
        let running = json!({"taskDefinition": "web:2", "lastStatus": "RUNNING"});
        let t = task(
            json!({"taskDefinition": "web", "startedBy": "ci"}),
            &[(runtime::labels::SERVICE, "front")],
            running.clone(),
        );
        let all = Filter {
            family: None,
            started_by: None,
            service: None,
            stopped: Some(false),
            launch_type: None,
            instance: None,
        };
        assert!(all.keeps(&t, None));
        assert!(
            !Filter {
                stopped: None,
                ..all_like(&all)
            }
            .keeps(&t, None)
        );
        assert!(
            !Filter {
                stopped: Some(true),
                ..all_like(&all)
            }
            .keeps(&t, None)
        );
        assert!(
            Filter {
                family: Some("web".into()),
                ..all_like(&all)
            }
            .keeps(&t, None)
        );
        assert!(
            !Filter {
                family: Some("we".into()),
                ..all_like(&all)
            }
            .keeps(&t, None)
        );
        assert!(
            Filter {
                service: Some("front".into()),
                ..all_like(&all)
            }
            .keeps(&t, None)
        );
        assert!(
            !Filter {
                started_by: Some("cd".into()),
                ..all_like(&all)
            }
            .keeps(&t, None)
        );
        let fargate = Filter {
            launch_type: Some(LaunchType::Fargate),
            ..all_like(&all)
        };
        assert!(!fargate.keeps(&t, None) && fargate.keeps(&t, Some(LaunchType::Fargate)));
        let stopping = task(
            json!({"taskDefinition": "web", "desiredStatus": "STOPPED"}),
            &[],
            running,
        );
        assert!(
            Filter {
                stopped: Some(true),
                ..all_like(&all)
            }
            .keeps(&stopping, None)
        );
    }

    fn all_like(f: &Filter) -> Filter {
        Filter {
            family: f.family.clone(),
            started_by: f.started_by.clone(),
            service: f.service.clone(),
            stopped: f.stopped,
            launch_type: f.launch_type,
            instance: f.instance.clone(),
        }
    }
}
