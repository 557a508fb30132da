use super::*;
use api::instance::InstanceResources;
use api::task::ContainerStatus;

fn at(s: &str) -> OffsetDateTime {
    crate::timefmt::parse_rfc3339(s).unwrap()
}

fn key(kind: Kind, name: &str) -> ObjectKey {
    ObjectKey::new(kind, Some("hosts"), name)
}

fn instance_status(connected: bool) -> ContainerInstanceStatus {
    ContainerInstanceStatus {
        agent_connected: connected,
        registered_resources: InstanceResources {
            cpu: 2048,
            memory: 4096,
            ports: vec![],
        },
        remaining_resources: InstanceResources {
            cpu: 1024,
            memory: 3072,
            ports: vec![8080],
        },
        running_tasks_count: 2,
        last_heartbeat: "2026-01-01T00:00:00Z".into(),
        ..Default::default()
    }
}

fn running(phase: TaskPhase) -> TaskStatus {
    TaskStatus {
        last_status: phase,
        containers: vec![ContainerStatus {
            name: "app".into(),
            runtime_id: Some("c1".into()),
            last_status: ContainerPhase::Running,
            ..Default::default()
        }],
        ..Default::default()
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn heartbeats_count_silence_from_when_the_value_last_moved() {
    let mut beats = Heartbeats::default();
    let t0 = at("2026-01-01T00:00:00Z");
    let t1 = at("2026-01-01T00:00:20Z");
    let t2 = at("2026-01-01T00:00:40Z");
    // First seen: silent from now, whatever time the agent wrote (its clock may differ).
    assert_eq!(beats.observe("a", "2025-12-31T23:00:00Z", t0), t0);
    assert_eq!(beats.observe("a", "2025-12-31T23:00:00Z", t1), t0);
    // It moved: silent from this look on.
    assert_eq!(beats.observe("a", "2025-12-31T23:00:10Z", t2), t2);
    // Forgotten once deregistered: back as new.
    beats.retain(&HashSet::new());
    assert_eq!(beats.observe("a", "2025-12-31T23:00:10Z", t2), t2);
}

#[test]
fn a_silent_instance_is_disconnected_and_its_live_tasks_stopped() {
    let (a, b, local) = (
        key(Kind::ContainerInstance, "a"),
        key(Kind::ContainerInstance, "b"),
        key(Kind::ContainerInstance, "local"),
    );
    let (sa, sb, sl) = (
        instance_status(true),
        instance_status(true),
        instance_status(true),
    );
    let long_ago = at("2026-01-01T00:00:00Z");
    let now = at("2026-01-01T00:00:31Z");
    let instances = [
        InstanceView {
            key: &a,
            resource_version: Some(7),
            status: &sa,
            quiet_since: long_ago,
        },
        // Quiet for less than the timeout.
        InstanceView {
            key: &b,
            resource_version: Some(8),
            status: &sb,
            quiet_since: at("2026-01-01T00:00:02Z"),
        },
        // The server's own is never lost.
        InstanceView {
            key: &local,
            resource_version: Some(9),
            status: &sl,
            quiet_since: long_ago,
        },
    ];
    let (t1, t2, t3, t4) = (
        key(Kind::Task, "t1"),
        key(Kind::Task, "t2"),
        key(Kind::Task, "t3"),
        key(Kind::Task, "t4"),
    );
    let (r1, pending, stopped, r4) = (
        running(TaskPhase::Running),
        running(TaskPhase::Pending),
        TaskStatus {
            last_status: TaskPhase::Stopped,
            ..Default::default()
        },
        running(TaskPhase::Running),
    );
    let tasks = [
        TaskView {
            key: &t1,
            resource_version: Some(11),
            instance: "a",
            status: &r1,
        },
        TaskView {
            key: &t2,
            resource_version: Some(12),
            instance: "a",
            status: &pending,
        },
        TaskView {
            key: &t3,
            resource_version: Some(13),
            instance: "a",
            status: &stopped,
        },
        TaskView {
            key: &t4,
            resource_version: Some(14),
            instance: "b",
            status: &r4,
        },
    ];
    let lost = plan(&instances, &tasks, "local", TIMEOUT, now);
    assert_eq!(lost.len(), 1, "{lost:?}");
    let l = &lost[0];
    assert_eq!(l.instance, a);
    assert_eq!(l.silent_for, Duration::from_secs(31));
    let d = l.disconnect.as_ref().unwrap();
    assert_eq!(
        d.resource_version,
        Some(7),
        "compare and swap on what was read"
    );
    assert!(!d.status.agent_connected);
    assert_eq!(d.status.running_tasks_count, 0);
    assert_eq!(d.status.remaining_resources, sa.registered_resources);
    assert_eq!(d.status.last_heartbeat, sa.last_heartbeat);
    let stopped: Vec<&str> = l.stop.iter().map(|w| w.key.name.as_str()).collect();
    assert_eq!(stopped, ["t1", "t2"], "the STOPPED one is left alone");
    for w in &l.stop {
        let s = &w.status;
        assert_eq!(s.last_status, TaskPhase::Stopped);
        assert_eq!(s.desired_status, DesiredStatus::Stopped);
        assert_eq!(s.stop_code, Some(StopCode::TerminationNotice));
        assert!(!s.stop_code.unwrap().is_failure());
        assert_eq!(
            s.stopped_reason.as_deref(),
            Some(
                "Task stopped because its container instance a lost its agent (no heartbeat for 31s)"
            )
        );
        assert_eq!(s.stopped_at.as_deref(), Some("2026-01-01T00:00:31Z"));
        assert_eq!(s.containers[0].last_status, ContainerPhase::Stopped);
        assert_eq!(s.containers[0].runtime_id.as_deref(), Some("c1"));
    }
    assert_eq!(l.stop[0].resource_version, Some(11));

    // Once marked, the next look finds only what is left: nothing.
    let (sa2, s1, s2) = (
        d.status.clone(),
        l.stop[0].status.clone(),
        l.stop[1].status.clone(),
    );
    let instances = [InstanceView {
        status: &sa2,
        ..instances[0].clone()
    }];
    let tasks = [
        TaskView {
            status: &s1,
            ..tasks[0].clone()
        },
        TaskView {
            status: &s2,
            ..tasks[1].clone()
        },
    ];
    assert_eq!(plan(&instances, &tasks, "local", TIMEOUT, now), vec![]);
}

#[test]
fn a_disconnected_instance_still_gets_its_remaining_tasks_stopped() {
    // A write that lost a race last time: the instance says disconnected, a task does not.
    let a = key(Kind::ContainerInstance, "a");
    let sa = instance_status(false);
    let instances = [InstanceView {
        key: &a,
        resource_version: Some(7),
        status: &sa,
        quiet_since: at("2026-01-01T00:00:00Z"),
    }];
    let t1 = key(Kind::Task, "t1");
    let r1 = running(TaskPhase::Running);
    let tasks = [TaskView {
        key: &t1,
        resource_version: Some(11),
        instance: "a",
        status: &r1,
    }];
    let lost = plan(
        &instances,
        &tasks,
        "local",
        TIMEOUT,
        at("2026-01-01T00:05:00Z"),
    );
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].disconnect, None);
    assert_eq!(lost[0].stop.len(), 1);
}

#[test]
fn a_task_already_stopping_keeps_its_reason() {
    let stopping = TaskStatus {
        desired_status: DesiredStatus::Stopped,
        last_status: TaskPhase::Stopping,
        stop_code: Some(StopCode::EssentialContainerExited),
        stopped_reason: Some("Essential container in task exited".into()),
        stopping_at: Some("2026-01-01T00:00:01Z".into()),
        ..Default::default()
    };
    let s = stopped_by_loss(&stopping, "a", TIMEOUT, "2026-01-01T00:01:00Z");
    assert_eq!(s.last_status, TaskPhase::Stopped);
    assert_eq!(s.stop_code, Some(StopCode::EssentialContainerExited));
    assert_eq!(
        s.stopped_reason.as_deref(),
        Some("Essential container in task exited")
    );
    assert_eq!(s.stopping_at.as_deref(), Some("2026-01-01T00:00:01Z"));
    assert_eq!(s.stopped_at.as_deref(), Some("2026-01-01T00:01:00Z"));
}
