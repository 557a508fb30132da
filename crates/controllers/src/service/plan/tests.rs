use super::*;
use proptest::prelude::*;
use serde_json::json;

mod draining;

fn spec(desired: u32, min: u32, max: u32, breaker: bool) -> ServiceSpec {
    serde_json::from_value(json!({
        "taskDefinition": "web", "desiredCount": desired,
        "deploymentConfiguration": {"minimumHealthyPercent": min, "maximumPercent": max,
            "deploymentCircuitBreaker": {"enable": breaker, "rollback": true}}
    }))
    .unwrap()
}

const T0: i64 = 1_767_225_600;

/// A world of tasks that start (RUNNING and healthy one round after they are started, or
/// failing when their task definition is "bad") and stop one round after they are asked to.
struct Sim {
    spec: ServiceSpec,
    generation: u64,
    td: String,
    status: ServiceStatus,
    tasks: Vec<(TaskView, String)>,
    round: i64,
    next: u32,
    log: Vec<(u32, u32)>, // (present, healthy) after each round's actions
    placement: Option<(u32, String)>,
    task_config: String,
    daemon_instances: u32,
}

impl Sim {
    fn new(spec: ServiceSpec) -> Self {
        Sim {
            spec,
            generation: 1,
            td: "web:1".into(),
            status: ServiceStatus::default(),
            tasks: vec![],
            round: 0,
            next: 0,
            log: vec![],
            daemon_instances: 1,
            placement: None,
            task_config: String::new(),
        }
    }
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(T0 + self.round).unwrap()
    }
    fn views(&self) -> Vec<TaskView> {
        self.tasks.iter().map(|(v, _)| v.clone()).collect()
    }
    fn step(&mut self) -> Plan {
        self.round += 1;
        let now = self.now();
        let id1 = format!("ecs-svc/{}", self.round * 2);
        let id2 = format!("ecs-svc/{}", self.round * 2 + 1);
        let views = self.views();
        let p = plan(&Inputs {
            service: "web",
            spec: &self.spec,
            generation: self.generation,
            task_definition: &self.td,
            force_token: "",
            task_config_token: &self.task_config,
            status: &self.status,
            tasks: &views,
            now,
            backoff_cap: Duration::from_secs(60),
            new_ids: [&id1, &id2],
            daemon_instances: self.daemon_instances,
            placement: self.placement.clone(),
        });
        self.status = p.status.clone();
        // Progress of what was already there.
        for (t, td) in &mut self.tasks {
            if t.phase == TaskPhase::Stopped {
                continue;
            }
            if t.stopping {
                t.phase = TaskPhase::Stopped;
                t.healthy = false;
                t.stopped_at = Some(now);
            } else if t.phase == TaskPhase::Pending {
                if td.starts_with("bad") {
                    t.phase = TaskPhase::Stopped;
                    t.failed = true;
                    t.stopped_at = Some(now);
                } else {
                    t.phase = TaskPhase::Running;
                    t.healthy = true;
                    t.started_at = Some(now);
                }
            }
        }
        for a in &p.actions {
            match a {
                Action::Stop { task, .. } => {
                    let t = self
                        .tasks
                        .iter_mut()
                        .find(|(t, _)| &t.id == task)
                        .expect("known task");
                    assert!(t.0.phase != TaskPhase::Stopped, "stop of a stopped task");
                    t.0.stopping = true;
                }
                Action::Start {
                    deployment,
                    task_definition,
                    count,
                } => {
                    for _ in 0..*count {
                        self.next += 1;
                        self.tasks.push((
                            TaskView {
                                id: format!("t{}", self.next),
                                deployment: deployment.clone(),
                                task_definition: task_definition.clone(),
                                phase: TaskPhase::Pending,
                                stopping: false,
                                healthy: false,
                                unhealthy: false,
                                started_at: None,
                                stopped_at: None,
                                failed: false,
                                registered: false,
                                on_draining: false,
                            },
                            task_definition.clone(),
                        ));
                    }
                }
            }
        }
        let present = self
            .tasks
            .iter()
            .filter(|(t, _)| t.phase != TaskPhase::Stopped)
            .count() as u32;
        let healthy = self
            .tasks
            .iter()
            .filter(|(t, _)| t.healthy && !t.stopping)
            .count() as u32;
        self.log.push((present, healthy));
        p
    }
    fn run_until_steady(&mut self, rounds: usize) -> bool {
        for _ in 0..rounds {
            let p = self.step();
            if p.actions.is_empty() && p.requeue_after.is_none() {
                return true;
            }
        }
        false
    }
    fn deploy(&mut self, td: &str) {
        self.generation += 1;
        self.td = td.into();
        self.log.clear();
    }
    fn events(&self) -> Vec<String> {
        self.status
            .events
            .iter()
            .map(|e| e.message.clone())
            .collect()
    }
}

#[test]
fn first_deployment_starts_desired_tasks_and_reaches_steady_state() {
    let mut s = Sim::new(spec(3, 100, 200, true));
    assert!(s.run_until_steady(10));
    assert_eq!(s.status.running_count, 3);
    assert_eq!(s.status.deployments.len(), 1);
    assert_eq!(s.status.deployments[0].rollout_state, "COMPLETED");
    let ev = s.events();
    assert_eq!(ev[0], "(service web) has reached a steady state.");
    assert!(ev.iter().any(|e| e.contains("deployment completed")));
    // Steady: nothing more to do, no new events.
    let before = s.status.clone();
    let p = s.step();
    assert!(p.actions.is_empty());
    assert_eq!(p.status, before);
}

#[test]
fn rolling_update_respects_min_100_max_200() {
    let mut s = Sim::new(spec(3, 100, 200, true));
    assert!(s.run_until_steady(10));
    s.deploy("web:2");
    assert!(s.run_until_steady(20));
    for (present, healthy) in &s.log {
        assert!(*present <= 6, "{:?}", s.log);
        assert!(*healthy >= 3, "{:?}", s.log);
    }
    let d = &s.status.deployments;
    assert_eq!(d.iter().filter(|d| d.status.is_primary()).count(), 1);
    assert_eq!(d.last().unwrap().task_definition, "web:2");
    assert_eq!(d[0].status, api::service::DeploymentStatus::Inactive);
}

#[test]
fn a_change_of_what_tasks_take_at_start_rolls_them_all() {
    let mut s = Sim::new(spec(2, 100, 200, true));
    s.task_config = "sc-1".into();
    assert!(s.run_until_steady(10));
    assert_eq!(s.status.deployments.len(), 1, "the first deployment only");
    let first: Vec<String> = s.tasks.iter().map(|(t, _)| t.id.clone()).collect();
    s.task_config = "sc-2".into();
    assert!(s.run_until_steady(20));
    let d = &s.status.deployments;
    assert_eq!(d.iter().filter(|d| d.status.is_primary()).count(), 1);
    assert_eq!(
        (
            d[0].status.as_str(),
            d.last().unwrap().task_definition.as_str()
        ),
        ("INACTIVE", "web:1")
    );
    let running: Vec<&String> = s
        .tasks
        .iter()
        .filter(|(t, _)| t.phase == TaskPhase::Running && !t.stopping)
        .map(|(t, _)| &t.id)
        .collect();
    assert_eq!(running.len(), 2);
    assert!(
        running.iter().all(|id| !first.contains(id)),
        "{running:?} {first:?}"
    );
    // Steady again: the same token forces nothing more.
    let p = s.step();
    assert!(p.actions.is_empty());
}

#[test]
fn rolling_update_respects_min_50_max_100() {
    let mut s = Sim::new(spec(3, 50, 100, true));
    assert!(s.run_until_steady(10));
    s.deploy("web:2");
    assert!(s.run_until_steady(20));
    for (present, healthy) in &s.log {
        assert!(*present <= 3, "{:?}", s.log);
        assert!(*healthy >= 2, "{:?}", s.log);
    }
}

#[test]
fn circuit_breaker_trips_after_three_failures_and_rolls_back() {
    let mut s = Sim::new(spec(3, 100, 200, true));
    assert!(s.run_until_steady(10));
    s.deploy("bad:2");
    assert!(s.run_until_steady(30), "{:#?}", s.status);
    let failed = s
        .status
        .deployments
        .iter()
        .find(|d| d.task_definition == "bad:2")
        .unwrap();
    assert_eq!(failed.rollout_state, "FAILED");
    assert!(failed.failed_tasks >= 3);
    let primary = s
        .status
        .deployments
        .iter()
        .find(|d| d.status.is_primary())
        .unwrap();
    assert_eq!(primary.task_definition, "web:1");
    assert_eq!(primary.rolled_back_from, failed.id);
    assert_eq!(primary.rollout_state, "COMPLETED");
    for (_, healthy) in &s.log {
        assert!(
            *healthy >= 3,
            "old tasks were never all stopped: {:?}",
            s.log
        );
    }
    assert!(
        s.events()
            .iter()
            .any(|e| e.contains("deployment failed: tasks failed to start"))
    );
    // The rollback adopted the running web:1 tasks: none of them was replaced.
    let web1_started = s.tasks.iter().filter(|(_, td)| td == "web:1").count();
    assert_eq!(
        web1_started, 3,
        "healthy web:1 tasks were not replaced by identical ones"
    );
    // The pass that tripped the breaker did not also report throttling of the rollback.
    assert!(
        !s.events()
            .iter()
            .any(|e| e.contains("unable to consistently start")),
        "{:?}",
        s.events()
    );
    // A later change that is not about the task definition (scale) does not bring bad:2 back.
    let bad_before = s.tasks.iter().filter(|(_, td)| td == "bad:2").count();
    s.spec = spec(4, 100, 200, true);
    s.generation += 1;
    assert!(s.run_until_steady(20));
    assert_eq!(
        s.status
            .deployments
            .iter()
            .find(|d| d.status.is_primary())
            .unwrap()
            .task_definition,
        "web:1"
    );
    assert_eq!(
        s.tasks.iter().filter(|(_, td)| td == "bad:2").count(),
        bad_before,
        "no bad:2 task started again"
    );
    // The rollback sticks until the user changes the service again.
    s.step();
    assert_eq!(
        s.status
            .deployments
            .iter()
            .find(|d| d.status.is_primary())
            .unwrap()
            .task_definition,
        "web:1"
    );
}

#[test]
fn failing_first_deployment_throttles_starts() {
    let mut s = Sim::new(spec(1, 100, 200, false));
    s.td = "bad:1".into();
    for _ in 0..8 {
        s.step();
    }
    assert!(!s.status.throttled_until.is_empty());
    assert!(
        s.events()
            .iter()
            .any(|e| e == "(service web) is unable to consistently start tasks successfully.")
    );
    let started = s.tasks.len();
    let p = s.step();
    assert!(
        p.actions.iter().all(|a| !matches!(a, Action::Start { .. })) || s.tasks.len() == started
    );
}

#[test]
fn scale_out_and_in() {
    let mut s = Sim::new(spec(3, 100, 200, true));
    assert!(s.run_until_steady(10));
    s.spec = spec(5, 100, 200, true);
    s.generation += 1;
    assert!(s.run_until_steady(10));
    assert_eq!(s.status.running_count, 5);
    s.spec = spec(1, 100, 200, true);
    s.generation += 1;
    assert!(s.run_until_steady(10));
    assert_eq!(s.status.running_count, 1);
    assert_eq!(
        s.status.deployments.len(),
        1,
        "scaling makes no new deployment"
    );
}

#[test]
fn impossible_bounds_stall_with_an_event() {
    let mut s = Sim::new(spec(1, 100, 150, true));
    assert!(s.run_until_steady(10));
    s.deploy("web:2");
    for _ in 0..5 {
        s.step();
    }
    assert!(
        s.events()
            .iter()
            .any(|e| e.contains("is unable to make progress")),
        "{:?}",
        s.events()
    );
    assert_eq!(
        s.events()
            .iter()
            .filter(|e| e.contains("unable to make progress"))
            .count(),
        1,
        "said once"
    );
}

#[test]
fn unhealthy_tasks_are_replaced_after_the_grace_period() {
    let mut s = Sim::new(spec(2, 100, 200, true));
    assert!(s.run_until_steady(10));
    s.tasks[0].0.unhealthy = true;
    s.tasks[0].0.healthy = false;
    let p = s.step();
    assert!(p.actions.iter().any(
        |a| matches!(a, Action::Stop { task, reason } if task == "t1" && reason.contains("health"))
    ));
    assert!(s.run_until_steady(10));
    assert_eq!(s.status.running_count, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn bounds_hold_and_rollouts_converge(desired in 0u32..8, min in 0u32..=100, max in 100u32..=200, bad_first in any::<bool>()) {
        let mut s = Sim::new(spec(desired, min, max, true));
        prop_assert!(s.run_until_steady(30));
        s.deploy(if bad_first { "bad:2" } else { "web:2" });
        let max_total = desired * max / 100;
        let min_healthy = (desired * min).div_ceil(100);
        let mut steady = false;
        for _ in 0..60 {
            let p = s.step();
            let (present, healthy) = *s.log.last().unwrap();
            prop_assert!(present <= max_total, "present {present} > {max_total}");
            prop_assert!(healthy >= min_healthy, "healthy {healthy} < {min_healthy}: {:?}", s.log);
            if p.actions.is_empty() && p.requeue_after.is_none() {
                steady = true;
                break;
            }
        }
        let stalled = s.events().iter().any(|e| e.contains("unable to make progress"));
        let throttled = !s.status.throttled_until.is_empty();
        let failed = s.status.deployments.iter().any(|d| d.rollout_state.is_failed());
        prop_assert!(steady || stalled || throttled || failed, "neither converged nor said why: {:#?}", s.status);
    }
}

#[test]
fn tasks_that_do_not_fit_are_not_started_and_the_reason_is_an_event() {
    let mut s = Sim::new(spec(3, 100, 200, true));
    s.placement = Some((
        1,
        "no container instance met all of its requirements. The closest matching (container-instance i-1) has insufficient memory available.".into(),
    ));
    s.step();
    assert_eq!(s.tasks.len(), 1);
    let ev = s.events();
    assert!(ev.iter().any(|e| e == "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance i-1) has insufficient memory available."), "{ev:?}");
    assert!(!ev.iter().any(|e| e.contains("unable to make progress")));
}

#[test]
fn load_balancer_registrations_and_drains_are_events() {
    let spec: ServiceSpec = serde_json::from_value(json!({
        "taskDefinition": "web", "desiredCount": 2,
        "loadBalancers": [{"loadBalancerName": "front", "containerName": "app", "containerPort": 80}]
    }))
    .unwrap();
    let mut s = Sim::new(spec);
    assert!(s.run_until_steady(10));
    for (t, _) in &mut s.tasks {
        t.registered = true;
    }
    s.step();
    assert!(
        s.events()
            .iter()
            .any(|e| e == "(service web) registered 2 targets in (load balancer front)."),
        "{:?}",
        s.events()
    );
    // A registered task the scheduler stops (here: unhealthy) is drained first.
    s.tasks[0].0.unhealthy = true;
    s.tasks[0].0.healthy = false;
    s.step();
    assert!(
        s.events()
            .iter()
            .any(|e| e == "(service web) has begun draining connections on 1 tasks."),
        "{:?}",
        s.events()
    );
    let n = s.events().len();
    s.step();
    assert!(
        s.events()[..s.events().len() - n]
            .iter()
            .all(|e| !e.contains("registered")),
        "said once"
    );
}

#[test]
fn tasks_start_in_bounded_batches() {
    let mut s = Sim::new(spec(35, 100, 200, true));
    let first = s.step();
    let started: Vec<u32> = first
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { count, .. } => Some(*count),
            _ => None,
        })
        .collect();
    assert_eq!(started, [MAX_STARTS_PER_PASS]);
    assert_eq!(first.requeue_after, Some(POLL), "the next batch follows");
    assert!(s.run_until_steady(20));
    assert_eq!(s.status.running_count, 35);
}

#[test]
fn a_daemon_service_runs_one_task_per_instance_it_may_run_on() {
    let spec: ServiceSpec = serde_json::from_value(serde_json::json!({
        "taskDefinition": "web", "schedulingStrategy": "DAEMON"}))
    .unwrap();
    let mut s = Sim::new(spec);
    s.daemon_instances = 3;
    for _ in 0..6 {
        s.step();
    }
    let live = s.tasks.iter().filter(|(t, _)| t.active()).count();
    assert_eq!(live, 3);
    // An instance went away (drained, lost): one task fewer.
    s.daemon_instances = 2;
    for _ in 0..6 {
        s.step();
    }
    let live = s.tasks.iter().filter(|(t, _)| t.active()).count();
    assert_eq!(live, 2);
}
