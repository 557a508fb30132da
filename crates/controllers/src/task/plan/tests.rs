use super::*;
use serde_json::json;

fn td(v: serde_json::Value) -> TaskDefinitionSpec {
    serde_json::from_value(v).unwrap()
}

fn two_containers() -> TaskDefinitionSpec {
    td(json!({"containerDefinitions": [
        {"name": "db", "image": "x", "memory": 64, "essential": false,
         "healthCheck": {"command": ["CMD-SHELL", "true"]}},
        {"name": "app", "image": "x", "memory": 64,
         "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}
    ]}))
}

fn obs(state: RunState, health: Option<HealthState>) -> Observed {
    Observed {
        runtime_id: "id".into(),
        state,
        health,
        oom_killed: false,
        paused: false,
        bindings: vec![],
    }
}

struct World {
    td: TaskDefinitionSpec,
    status: TaskStatus,
    containers: BTreeMap<String, Observed>,
    netns: Option<Observed>,
    stop: Option<(StopCode, String)>,
    age: Duration,
    drained: bool,
}

impl World {
    fn new(td: TaskDefinitionSpec) -> Self {
        World {
            td,
            status: TaskStatus::default(),
            containers: BTreeMap::new(),
            netns: None,
            stop: None,
            age: Duration::ZERO,
            drained: true,
        }
    }
    fn plan(&self) -> Plan {
        plan(&Inputs {
            task_id: "t1",
            td: &self.td,
            task_definition: "web:1",
            stop_request: self.stop.clone(),
            status: &self.status,
            containers: &self.containers,
            netns: self.netns.as_ref(),
            private_ip: None,
            age: self.age,
            drained: self.drained,
            now: "2026-01-01T00:00:00Z",
        })
    }
    fn set(&mut self, name: &str, state: RunState, health: Option<HealthState>) {
        self.containers.insert(name.into(), obs(state, health));
    }
}

#[test]
fn creates_everything_first_then_starts_in_dependency_order() {
    let mut w = World::new(two_containers());
    let p = w.plan();
    assert_eq!(
        p.steps,
        vec![Step::Create("db".into()), Step::Create("app".into())]
    );
    assert_eq!(p.status.last_status, TaskPhase::Pending);
    w.status = p.status;
    w.set("db", RunState::Created, None);
    w.set("app", RunState::Created, None);
    let p = w.plan();
    assert_eq!(p.steps, vec![Step::Start("db".into())]);
    assert_eq!(p.status.last_status, TaskPhase::Activating);
    w.status = p.status;
    w.set("db", RunState::Running, Some(HealthState::Unknown));
    let p = w.plan();
    assert_eq!(p.steps, vec![], "app waits for db to be HEALTHY");
    assert_eq!(p.requeue_after, Some(POLL));
    w.set("db", RunState::Running, Some(HealthState::Healthy));
    let p = w.plan();
    assert_eq!(p.steps, vec![Step::Start("app".into())]);
    w.status = p.status;
    w.set("app", RunState::Running, None);
    let p = w.plan();
    assert_eq!(p.steps, vec![]);
    assert_eq!(p.status.last_status, TaskPhase::Running);
    assert_eq!(p.status.started_at.as_deref(), Some("2026-01-01T00:00:00Z"));
}

#[test]
fn converged_task_plans_nothing_and_keeps_its_status() {
    let mut w = World::new(td(
        json!({"containerDefinitions": [{"name": "app", "image": "x", "memory": 64}]}),
    ));
    w.set("app", RunState::Running, None);
    let first = w.plan();
    w.status = first.status.clone();
    let again = w.plan();
    assert_eq!(again.steps, vec![]);
    assert_eq!(
        again.status, first.status,
        "steady state: the status does not change"
    );
    assert_eq!(again.requeue_after, None);
}

#[test]
fn essential_exit_stops_the_task_with_its_code() {
    let mut w = World::new(two_containers());
    w.set("db", RunState::Running, Some(HealthState::Healthy));
    w.set("app", RunState::Exited(3), None);
    let p = w.plan();
    assert_eq!(p.status.desired_status, DesiredStatus::Stopped);
    assert_eq!(p.status.stop_code, Some(StopCode::EssentialContainerExited));
    assert!(
        p.status
            .stopped_reason
            .as_deref()
            .unwrap()
            .contains("app exited with code 3")
    );
    assert_eq!(
        p.steps,
        vec![Step::Stop {
            name: "db".into(),
            timeout: DEFAULT_STOP_TIMEOUT
        }]
    );
    assert_eq!(p.status.last_status, TaskPhase::Stopping);
    let app = p
        .status
        .containers
        .iter()
        .find(|c| c.name == "app")
        .unwrap();
    assert_eq!(
        (app.last_status.as_str(), app.exit_code),
        ("STOPPED", Some(3))
    );
}

#[test]
fn non_essential_exit_does_not_stop_the_task() {
    let mut w = World::new(two_containers());
    w.set("db", RunState::Exited(1), None);
    w.set("app", RunState::Running, None);
    let p = w.plan();
    assert_eq!(p.status.desired_status, DesiredStatus::Running);
    assert_eq!(p.status.last_status, TaskPhase::Running);
}

#[test]
fn stop_request_stops_dependents_first() {
    let mut w = World::new(two_containers());
    w.set("db", RunState::Running, Some(HealthState::Healthy));
    w.set("app", RunState::Running, None);
    w.stop = Some((StopCode::UserInitiated, "Task stopped by user".into()));
    let p = w.plan();
    assert_eq!(
        p.steps,
        vec![Step::Stop {
            name: "app".into(),
            timeout: DEFAULT_STOP_TIMEOUT
        }]
    );
    w.status = p.status;
    w.set("app", RunState::Exited(143), None);
    let p = w.plan();
    assert_eq!(
        p.steps,
        vec![Step::Stop {
            name: "db".into(),
            timeout: DEFAULT_STOP_TIMEOUT
        }]
    );
    w.status = p.status;
    w.set("db", RunState::Exited(0), None);
    let p = w.plan();
    assert_eq!(p.steps, vec![]);
    assert_eq!(p.status.last_status, TaskPhase::Stopped);
    assert_eq!(p.status.stop_code, Some(StopCode::UserInitiated));
    assert!(p.status.stopped_at.is_some());
}

#[test]
fn removed_container_stops_the_task_with_a_reason() {
    let mut w = World::new(two_containers());
    w.set("db", RunState::Running, Some(HealthState::Healthy));
    w.set("app", RunState::Running, None);
    w.status = w.plan().status;
    w.containers.remove("app");
    let p = w.plan();
    assert_eq!(p.status.stop_code, Some(StopCode::EssentialContainerExited));
    assert!(
        p.status
            .stopped_reason
            .as_deref()
            .unwrap()
            .contains("removed outside ecsctl")
    );
}

#[test]
fn failed_dependency_fails_the_task() {
    let mut w = World::new(td(json!({"containerDefinitions": [
        {"name": "init", "image": "x", "memory": 64, "essential": false},
        {"name": "app", "image": "x", "memory": 64, "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]}
    ]})));
    w.set("init", RunState::Exited(2), None);
    w.set("app", RunState::Created, None);
    let p = w.plan();
    assert_eq!(p.status.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        p.status
            .stopped_reason
            .as_deref()
            .unwrap()
            .contains("init exited with code 2"),
        "{:?}",
        p.status.stopped_reason
    );
    assert_eq!(p.status.last_status, TaskPhase::Stopped);
}

#[test]
fn start_timeout_fails_a_waiting_container() {
    let mut w = World::new(two_containers());
    w.set("db", RunState::Running, Some(HealthState::Unknown));
    w.set("app", RunState::Created, None);
    w.age = Duration::from_secs(301);
    let p = w.plan();
    assert_eq!(p.status.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        p.status
            .stopped_reason
            .as_deref()
            .unwrap()
            .contains("timed out")
    );
}

#[test]
fn awsvpc_provisions_the_namespace_first_and_removes_it_last() {
    let mut w = World::new(td(
        json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "app", "image": "x", "memory": 64}]}),
    ));
    let p = w.plan();
    assert_eq!(
        (p.steps.clone(), p.status.last_status),
        (vec![Step::EnsureNetns], TaskPhase::Provisioning)
    );
    w.status = p.status;
    w.netns = Some(obs(RunState::Running, None));
    assert_eq!(w.plan().steps, vec![Step::Create("app".into())]);
    w.set("app", RunState::Exited(0), None);
    let p = w.plan();
    assert_eq!(
        (p.steps.clone(), p.status.last_status),
        (vec![Step::RemoveNetns], TaskPhase::Deprovisioning)
    );
    w.status = p.status;
    w.netns = None;
    assert_eq!(w.plan().status.last_status, TaskPhase::Stopped);
}

#[test]
fn task_health_is_the_worst_essential_health() {
    let mut w = World::new(td(json!({"containerDefinitions": [
        {"name": "a", "image": "x", "memory": 64, "healthCheck": {"command": ["CMD", "true"]}},
        {"name": "b", "image": "x", "memory": 64, "healthCheck": {"command": ["CMD", "true"]}},
        {"name": "c", "image": "x", "memory": 64, "essential": false, "healthCheck": {"command": ["CMD", "true"]}}
    ]})));
    w.set("a", RunState::Running, Some(HealthState::Healthy));
    w.set("b", RunState::Running, Some(HealthState::Unknown));
    w.set("c", RunState::Running, Some(HealthState::Unhealthy));
    assert_eq!(w.plan().status.health_status, HealthState::Unknown);
    w.set("b", RunState::Running, Some(HealthState::Healthy));
    assert_eq!(
        w.plan().status.health_status,
        HealthState::Healthy,
        "non-essential health does not count"
    );
    w.set("a", RunState::Running, Some(HealthState::Unhealthy));
    assert_eq!(w.plan().status.health_status, HealthState::Unhealthy);
}

#[test]
fn awslogs_names_a_local_log_group_and_stream() {
    let mut w = World::new(td(
        json!({"containerDefinitions": [{"name": "app", "image": "x", "memory": 64,
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}}}]}),
    ));
    w.set("app", RunState::Running, None);
    let c = &w.plan().status.containers[0];
    assert_eq!(
        (c.log_group.as_deref(), c.log_stream.as_deref()),
        (Some("/ecs/web"), Some("web/app/t1"))
    );
}

#[test]
fn a_task_drains_from_its_load_balancer_before_sigterm() {
    let mut w = World::new(two_containers());
    w.set("db", RunState::Running, Some(HealthState::Healthy));
    w.set("app", RunState::Running, None);
    w.stop = Some((StopCode::ServiceSchedulerInitiated, "scaled in".into()));
    w.drained = false;
    let p = w.plan();
    assert_eq!(
        (p.steps.clone(), p.status.last_status),
        (vec![], TaskPhase::Deactivating)
    );
    w.status = p.status;
    w.drained = true;
    assert!(matches!(w.plan().steps[..], [Step::Stop { .. }]));
}

#[test]
fn a_paused_essential_container_makes_the_task_unhealthy() {
    let mut w = World::new(td(
        json!({"containerDefinitions": [{"name": "app", "image": "x", "memory": 64}]}),
    ));
    w.set("app", RunState::Running, None);
    assert_eq!(w.plan().status.health_status, HealthState::Unknown);
    w.containers.get_mut("app").unwrap().paused = true;
    let p = w.plan();
    assert_eq!(p.status.health_status, HealthState::Unhealthy);
    assert_eq!(
        p.status.containers[0].reason.as_deref(),
        Some("container was paused outside ecsctl")
    );
}

/// What the control plane writes for a task of a lost instance (`instance::monitor`).
fn stopped_by_loss(status: &TaskStatus) -> TaskStatus {
    crate::instance::monitor::stopped_by_loss(
        status,
        "i-1",
        Duration::from_secs(31),
        "2026-01-01T00:00:00Z",
    )
}

#[test]
fn a_task_stopped_while_its_agent_was_away_is_stopped_and_removed_never_run_again() {
    let mut w = World::new(two_containers());
    w.set("db", RunState::Running, Some(HealthState::Healthy));
    w.set("app", RunState::Running, None);
    w.status = w.plan().status;
    assert_eq!(w.status.last_status, TaskPhase::Running);
    // The agent went silent; the control plane stopped the task (and a service replaced it).
    w.status = stopped_by_loss(&w.status);
    let stopped_at = w.status.stopped_at.clone();

    // The agent is back with both containers still running: stopped, dependents first,
    // while the task stays STOPPED (a STOPPING would be a task coming back to life).
    let p = w.plan();
    assert_eq!(
        p.steps,
        vec![Step::Stop {
            name: "app".into(),
            timeout: DEFAULT_STOP_TIMEOUT
        }]
    );
    assert_eq!(p.status.last_status, TaskPhase::Stopped);
    assert_eq!(p.status.desired_status, DesiredStatus::Stopped);
    assert_eq!(p.status.stop_code, Some(StopCode::TerminationNotice));
    assert_eq!(p.requeue_after, Some(POLL));
    w.status = p.status;
    w.set("app", RunState::Exited(143), None);
    let p = w.plan();
    assert_eq!(
        p.steps,
        vec![Step::Stop {
            name: "db".into(),
            timeout: DEFAULT_STOP_TIMEOUT
        }]
    );
    w.status = p.status;
    w.set("db", RunState::Exited(0), None);

    // Nothing runs: its containers go (a replacement runs elsewhere).
    let p = w.plan();
    assert_eq!(
        p.steps,
        vec![Step::Remove("db".into()), Step::Remove("app".into())]
    );
    assert_eq!(p.status.last_status, TaskPhase::Stopped);
    let app = p
        .status
        .containers
        .iter()
        .find(|c| c.name == "app")
        .unwrap();
    assert_eq!(
        (app.last_status, app.exit_code),
        (ContainerPhase::Stopped, Some(143))
    );
    w.status = p.status;
    w.containers.clear();

    // Gone: nothing more to do, and the record keeps what it said.
    let p = w.plan();
    assert_eq!(p.steps, vec![]);
    assert_eq!(p.requeue_after, None);
    assert_eq!(p.status.last_status, TaskPhase::Stopped);
    assert_eq!(p.status.stopped_at, stopped_at);
    assert!(
        p.status
            .stopped_reason
            .as_deref()
            .unwrap()
            .contains("container instance i-1 lost its agent")
    );
    let app = p
        .status
        .containers
        .iter()
        .find(|c| c.name == "app")
        .unwrap();
    assert_eq!(
        (app.last_status, app.exit_code, app.reason.as_deref()),
        (ContainerPhase::Stopped, Some(143), None),
        "removed by ecsctl, not outside it"
    );
    assert_eq!(p.status, w.status, "steady");
}

#[test]
fn an_awsvpc_task_stopped_without_its_agent_loses_its_namespace_too() {
    let mut w = World::new(td(
        json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "app", "image": "x", "memory": 64}]}),
    ));
    w.netns = Some(obs(RunState::Running, None));
    w.set("app", RunState::Exited(137), None);
    w.status = stopped_by_loss(&TaskStatus::default());
    assert_eq!(
        w.plan().steps,
        vec![Step::Remove("app".into()), Step::RemoveNetns]
    );
}

#[test]
fn a_stopped_task_keeps_its_containers_but_never_runs_again() {
    let mut w = World::new(td(
        json!({"containerDefinitions": [{"name": "app", "image": "x", "memory": 64}]}),
    ));
    w.set("app", RunState::Running, None);
    w.status = w.plan().status;
    w.set("app", RunState::Exited(1), None);
    let p = w.plan();
    assert_eq!(p.status.last_status, TaskPhase::Stopped);
    w.status = p.status;
    // Stopped on its own: the exited container stays (its logs are read from it).
    let p = w.plan();
    assert_eq!((p.steps, p.requeue_after), (vec![], None));
    // Started again outside ecsctl: stopped, and the task stays STOPPED with its reason.
    w.set("app", RunState::Running, None);
    let p = w.plan();
    assert_eq!(
        p.steps,
        vec![Step::Stop {
            name: "app".into(),
            timeout: DEFAULT_STOP_TIMEOUT
        }]
    );
    assert_eq!(p.status.last_status, TaskPhase::Stopped);
    assert_eq!(p.status.stop_code, Some(StopCode::EssentialContainerExited));
}
