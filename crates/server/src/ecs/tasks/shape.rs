//! A Task object in ECS's `Task` shape (DescribeTasks, RunTask, StopTask), with no I/O:
//! its status (`api::task::TaskStatus`) mapped to lastStatus, containers, times in epoch
//! seconds; its spec to desiredStatus, overrides, group, startedBy, tags.

use crate::ecs::Caller;
use api::Object;
use api::service::LaunchType;
use api::task::{TaskOverride, TaskSpec, TaskStatus};
use api::taskdef::TaskDefinitionSpec;
use ecsapi::arn::Arn;
use serde_json::{Map, Value, json};

/// What a task's description needs besides the task.
pub(crate) struct Context<'a> {
    pub caller: &'a Caller,
    /// The revision the task runs, when it still exists.
    pub task_definition: Option<&'a TaskDefinitionSpec>,
    /// The launch type of the task's service, for a service's task.
    pub service_launch_type: Option<LaunchType>,
    /// `include: [TAGS]` was asked.
    pub include_tags: bool,
}

/// An RFC 3339 time as the epoch seconds AWS JSON carries ([`crate::ecs::epoch`]), to the
/// millisecond.
pub(crate) fn epoch_millis(rfc3339: &str) -> Option<Value> {
    let secs = crate::ecs::epoch(rfc3339)?;
    serde_json::Number::from_f64((secs * 1000.0).round() / 1000.0).map(Value::Number)
}

/// The task's cluster.
pub(crate) fn cluster_of(task: &Object) -> &str {
    task.metadata.cluster_or_default()
}

/// The task's ARN, `task/CLUSTER/ID`.
pub(crate) fn task_arn(caller: &Caller, task: &Object) -> String {
    Arn::task(
        &caller.region,
        &caller.account_id,
        cluster_of(task),
        &task.metadata.name,
    )
    .to_string()
}

/// `family:N` the task runs: as resolved in its status, else as its spec names it.
pub(crate) fn revision_of(task: &Object, spec: &TaskSpec) -> String {
    let st: TaskStatus = task.status_as().unwrap_or_default();
    if st.task_definition.is_empty() {
        spec.task_definition.clone()
    } else {
        st.task_definition
    }
}

/// The task definition family of a task.
pub(crate) fn family_of(task: &Object) -> Option<String> {
    let spec: TaskSpec = task.spec_as().ok()?;
    let rev = revision_of(task, &spec);
    Some(match rev.rsplit_once(':') {
        Some((family, _)) => family.to_string(),
        None => rev,
    })
}

/// The launch type a task reports: RunTask's, its service's, else EC2.
pub(crate) fn launch_type(spec: &TaskSpec, service: Option<LaunchType>) -> &'static str {
    match spec.launch_type.or(service).unwrap_or(LaunchType::Ec2) {
        LaunchType::Ec2 => "EC2",
        LaunchType::Fargate => "FARGATE",
        LaunchType::External => "EXTERNAL",
        LaunchType::ManagedInstances => "MANAGED_INSTANCES",
    }
}

fn set(out: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        out.insert(key.to_string(), v);
    }
}

/// Overrides in ECS's shape (task cpu and memory as strings).
fn overrides(o: Option<&TaskOverride>) -> Value {
    let Some(o) = o else {
        return json!({"containerOverrides": [], "inferenceAcceleratorOverrides": []});
    };
    let containers: Vec<Value> = o
        .container_overrides
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("name".into(), json!(c.name));
            set(&mut m, "command", c.command.as_ref().map(|c| json!(c)));
            if !c.environment.is_empty() {
                m.insert(
                    "environment".into(),
                    serde_json::to_value(&c.environment).unwrap_or(Value::Null),
                );
            }
            set(&mut m, "cpu", c.cpu.map(|v| json!(v.0)));
            set(&mut m, "memory", c.memory.map(|v| json!(v.0)));
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("containerOverrides".into(), Value::Array(containers));
    m.insert("inferenceAcceleratorOverrides".into(), json!([]));
    set(&mut m, "cpu", o.cpu.map(|v| json!(v.0.to_string())));
    set(&mut m, "memory", o.memory.map(|v| json!(v.0.to_string())));
    Value::Object(m)
}

/// The task in ECS's `Task` shape.
pub(crate) fn describe(task: &Object, cx: &Context<'_>) -> Value {
    let spec: TaskSpec = task.spec_as().unwrap_or_else(|_| TaskSpec::new("", None));
    let st: TaskStatus = task.status_as().unwrap_or_default();
    let caller = cx.caller;
    let arn = task_arn(caller, task);
    let cluster = cluster_of(task);
    let revision = revision_of(task, &spec);
    let (family, rev) = match revision.rsplit_once(':') {
        Some((f, n)) => (f.to_string(), n.parse::<u64>().ok()),
        None => (revision.clone(), None),
    };
    let td_arn = match rev {
        Some(n) => Arn::task_definition(&caller.region, &caller.account_id, &family, n).to_string(),
        None => format!(
            "arn:aws:ecs:{}:{}:task-definition/{family}",
            caller.region, caller.account_id
        ),
    };
    // A stop asked for shows at once, before the task controller reports it.
    let desired = if spec.stop_requested() {
        "STOPPED"
    } else {
        st.desired_status.as_str()
    };
    let td = cx.task_definition;
    let over = spec.overrides.as_ref();
    let containers: Vec<Value> = st
        .containers
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert(
                "containerArn".into(),
                json!(format!(
                    "arn:aws:ecs:{}:{}:container/{cluster}/{}/{}",
                    caller.region, caller.account_id, task.metadata.name, c.name
                )),
            );
            m.insert("taskArn".into(), json!(arn));
            m.insert("name".into(), json!(c.name));
            m.insert("image".into(), json!(c.image));
            set(&mut m, "runtimeId", c.runtime_id.as_ref().map(|v| json!(v)));
            m.insert("lastStatus".into(), json!(c.last_status.as_str()));
            set(&mut m, "exitCode", c.exit_code.map(|v| json!(v)));
            set(&mut m, "reason", c.reason.as_ref().map(|v| json!(v)));
            m.insert("healthStatus".into(), json!(c.health_status.as_str()));
            let bindings: Vec<Value> = c
                .network_bindings
                .iter()
                .map(|b| {
                    json!({"bindIP": b.host_ip, "containerPort": b.container_port,
                           "hostPort": b.host_port, "protocol": b.protocol})
                })
                .collect();
            m.insert("networkBindings".into(), Value::Array(bindings));
            let interfaces: Vec<Value> = st
                .private_ip
                .iter()
                .map(|ip| json!({"privateIpv4Address": ip}))
                .collect();
            m.insert("networkInterfaces".into(), Value::Array(interfaces));
            let def = td.and_then(|d| d.container_definitions.iter().find(|d| d.name == c.name));
            let o = over.and_then(|o| o.container_overrides.iter().find(|o| o.name == c.name));
            let cpu = o.and_then(|o| o.cpu).or(def.and_then(|d| d.cpu));
            set(&mut m, "cpu", cpu.map(|v| json!(v.0.to_string())));
            let memory = o.and_then(|o| o.memory).or(def.and_then(|d| d.memory));
            set(&mut m, "memory", memory.map(|v| json!(v.0.to_string())));
            Value::Object(m)
        })
        .collect();
    let created = st
        .created_at
        .as_deref()
        .or(task.metadata.creation_timestamp.as_deref())
        .and_then(epoch_millis);
    let mut out = Map::new();
    out.insert("taskArn".into(), json!(arn));
    out.insert(
        "clusterArn".into(),
        json!(Arn::cluster(&caller.region, &caller.account_id, cluster).to_string()),
    );
    out.insert("taskDefinitionArn".into(), json!(td_arn));
    out.insert("lastStatus".into(), json!(st.last_status.as_str()));
    out.insert("desiredStatus".into(), json!(desired));
    out.insert("healthStatus".into(), json!(st.health_status.as_str()));
    out.insert("containers".into(), Value::Array(containers));
    // The server's own instance is in the default cluster, whichever cluster the task is in.
    set(
        &mut out,
        "containerInstanceArn",
        st.container_instance.as_ref().map(|id| {
            json!(
                Arn::container_instance(
                    &caller.region,
                    &caller.account_id,
                    api::DEFAULT_CLUSTER,
                    id
                )
                .to_string()
            )
        }),
    );
    out.insert("overrides".into(), overrides(over));
    out.insert(
        "launchType".into(),
        json!(launch_type(&spec, cx.service_launch_type)),
    );
    out.insert(
        "group".into(),
        json!(
            spec.group
                .clone()
                .unwrap_or_else(|| format!("family:{family}"))
        ),
    );
    set(
        &mut out,
        "startedBy",
        spec.started_by.as_ref().map(|v| json!(v)),
    );
    let cpu = over.and_then(|o| o.cpu).or(td.and_then(|d| d.cpu));
    set(&mut out, "cpu", cpu.map(|v| json!(v.0.to_string())));
    let memory = over.and_then(|o| o.memory).or(td.and_then(|d| d.memory));
    set(&mut out, "memory", memory.map(|v| json!(v.0.to_string())));
    set(&mut out, "createdAt", created.clone());
    // The local agent is always connected.
    out.insert("connectivity".into(), json!("CONNECTED"));
    set(&mut out, "connectivityAt", created);
    set(
        &mut out,
        "startedAt",
        st.started_at.as_deref().and_then(epoch_millis),
    );
    set(
        &mut out,
        "stoppingAt",
        st.stopping_at.as_deref().and_then(epoch_millis),
    );
    let stopped_at = st.stopped_at.as_deref().and_then(epoch_millis);
    set(&mut out, "stoppedAt", stopped_at.clone());
    set(&mut out, "executionStoppedAt", stopped_at);
    let stop_code = st
        .stop_code
        .or(spec.stop_code.filter(|_| spec.stop_requested()));
    set(&mut out, "stopCode", stop_code.map(|c| json!(c.as_str())));
    let reason = st.stopped_reason.clone().or(spec
        .stopped_reason
        .clone()
        .filter(|_| spec.stop_requested()));
    set(&mut out, "stoppedReason", reason.map(|r| json!(r)));
    set(
        &mut out,
        "version",
        task.metadata.resource_version.map(|v| json!(v)),
    );
    out.insert(
        "enableExecuteCommand".into(),
        json!(spec.execute_command_enabled()),
    );
    out.insert("attachments".into(), json!([]));
    out.insert("attributes".into(), json!([]));
    if cx.include_tags {
        out.insert("tags".into(), crate::ecs::tags::rules::to_json(&spec.tags));
    }
    Value::Object(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            identity: admission::access::Identity::admin("test"),
            region: "eu-west-1".into(),
            account_id: "123456789012".into(),
        }
    }

    fn task(spec: Value, status: Value) -> Object {
        let mut o = Object::new(api::Kind::Task, "0123456789abcdef0123456789abcdef", spec);
        o.metadata.cluster = Some("shop".into());
        o.metadata.resource_version = Some(9);
        o.status = status;
        o
    }

    #[test]
    fn a_running_task_in_ecs_words() {
        let caller = caller();
        let cx = Context {
            caller: &caller,
            task_definition: None,
            service_launch_type: None,
            include_tags: false,
        };
        let t = task(
            json!({"taskDefinition": "web", "startedBy": "ci", "launchType": "FARGATE",
                   "tags": [{"key": "a", "value": "b"}],
                   "overrides": {"cpu": 512, "containerOverrides": [{"name": "app", "command": ["x"]}]}}),
            json!({"taskDefinition": "web:3", "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                   "healthStatus": "HEALTHY", "createdAt": "2026-01-01T00:00:00Z",
                   "startedAt": "2026-01-01T00:00:01.5Z",
                   "containers": [{"name": "app", "image": "busybox", "lastStatus": "RUNNING",
                       "healthStatus": "UNKNOWN", "essential": true, "runtimeId": "c1",
                       "networkBindings": [{"containerPort": 80, "hostPort": 32768,
                           "hostIp": "127.0.0.1", "protocol": "tcp"}]}]}),
        );
        let d = describe(&t, &cx);
        let arn = "arn:aws:ecs:eu-west-1:123456789012:task/shop/0123456789abcdef0123456789abcdef";
        assert_eq!(d["taskArn"], arn);
        assert_eq!(
            d["taskDefinitionArn"],
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"
        );
        assert_eq!(
            d["clusterArn"],
            "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
        );
        assert_eq!(
            (&d["lastStatus"], &d["desiredStatus"]),
            (&json!("RUNNING"), &json!("RUNNING"))
        );
        assert_eq!(d["group"], "family:web");
        assert_eq!(d["launchType"], "FARGATE");
        assert_eq!(d["cpu"], "512");
        assert_eq!(d["createdAt"], json!(1767225600.0));
        assert_eq!(d["startedAt"], json!(1767225601.5));
        assert_eq!(d["version"], 9);
        assert_eq!(
            d["overrides"]["containerOverrides"][0]["command"],
            json!(["x"])
        );
        let c = &d["containers"][0];
        assert_eq!(c["taskArn"], arn);
        assert_eq!(c["networkBindings"][0]["bindIP"], "127.0.0.1");
        assert_eq!(c["runtimeId"], "c1");
        assert!(d.get("tags").is_none() && d.get("stopCode").is_none());
    }

    #[test]
    fn a_stop_asked_for_shows_before_the_controller_reports_it() {
        let caller = caller();
        let cx = Context {
            caller: &caller,
            task_definition: None,
            service_launch_type: Some(LaunchType::External),
            include_tags: true,
        };
        let t = task(
            json!({"taskDefinition": "web:1", "group": "service:web", "desiredStatus": "STOPPED",
                   "stopCode": "UserInitiated", "stoppedReason": "bad deploy"}),
            json!({"lastStatus": "RUNNING", "desiredStatus": "RUNNING", "healthStatus": "UNKNOWN"}),
        );
        let d = describe(&t, &cx);
        assert_eq!(d["desiredStatus"], "STOPPED");
        assert_eq!(d["stopCode"], "UserInitiated");
        assert_eq!(d["stoppedReason"], "bad deploy");
        assert_eq!(d["group"], "service:web");
        assert_eq!(d["launchType"], "EXTERNAL");
        assert_eq!(d["tags"], json!([]));
        assert_eq!(family_of(&t).as_deref(), Some("web"));
    }
}
