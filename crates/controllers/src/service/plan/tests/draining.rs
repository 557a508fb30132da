//! Tasks on a DRAINING container instance: replaced elsewhere within minimumHealthyPercent
//! and maximumPercent, as ECS's container instance draining does.

use super::*;

/// A steady service of `desired` tasks, then `drained` of them found on a DRAINING instance.
fn drained(desired: u32, min: u32, max: u32, drained: usize) -> Sim {
    let mut s = Sim::new(spec(desired, min, max, true));
    assert!(s.run_until_steady(20), "{:#?}", s.status);
    for (t, _) in s.tasks.iter_mut().take(drained) {
        t.on_draining = true;
    }
    s.log.clear();
    s
}

fn counts(p: &Plan) -> (u32, usize) {
    let starts = p
        .actions
        .iter()
        .map(|a| match a {
            Action::Start { count, .. } => *count,
            Action::Stop { .. } => 0,
        })
        .sum();
    let stops = p
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Stop { .. }))
        .count();
    (starts, stops)
}

/// Tasks not stopped that are still on the draining instance.
fn left_on_draining(s: &Sim) -> usize {
    s.tasks
        .iter()
        .filter(|(t, _)| t.on_draining && t.phase != TaskPhase::Stopped)
        .count()
}

#[test]
fn draining_replaces_tasks_within_the_deployment_bounds() {
    // desired 4, two tasks on a draining instance: (min %, max %) -> what the first pass
    // starts and stops.
    let table = [
        // Room for replacements and spare healthy tasks: both at once.
        (50, 200, 2, 2),
        // No healthy task may go: replacements first, the drained ones once they are healthy.
        (100, 200, 2, 0),
        (100, 150, 2, 0),
        // No room above the desired count: stop first, then replace.
        (50, 100, 0, 2),
        (0, 100, 0, 2),
        // One at a time: five tasks at most, three healthy at least.
        (75, 125, 1, 1),
    ];
    for (min, max, starts, stops) in table {
        let mut s = drained(4, min, max, 2);
        let first = s.step();
        assert_eq!(counts(&first), (starts, stops), "min {min} max {max}");
        for a in &first.actions {
            if let Action::Stop { task, reason } = a {
                assert!(
                    s.tasks.iter().any(|(t, _)| &t.id == task && t.on_draining),
                    "min {min} max {max}: only tasks on the draining instance stop, not {task}"
                );
                assert_eq!(reason, "Task replaced: its container instance is DRAINING");
            }
        }
        assert!(
            s.run_until_steady(20),
            "min {min} max {max}: {:#?}",
            s.status
        );
        let max_total = 4 * max / 100;
        let min_healthy = (4 * min).div_ceil(100);
        for (present, healthy) in &s.log {
            assert!(*present <= max_total, "min {min} max {max}: {:?}", s.log);
            assert!(*healthy >= min_healthy, "min {min} max {max}: {:?}", s.log);
        }
        assert_eq!(left_on_draining(&s), 0, "min {min} max {max}");
        assert_eq!(s.status.running_count, 4, "min {min} max {max}");
        assert_eq!(
            s.status.deployments.len(),
            1,
            "min {min} max {max}: draining makes no deployment"
        );
        assert_eq!(
            s.events()[0],
            "(service web) has reached a steady state.",
            "min {min} max {max}"
        );
    }
}

#[test]
fn min_100_max_100_cannot_drain_and_says_so() {
    // ECS: with a maximum of 100% replacements wait for the drained tasks to stop, and with
    // a minimum of 100% those wait for their replacements to be healthy.
    let mut s = drained(4, 100, 100, 2);
    for _ in 0..5 {
        let p = s.step();
        assert!(p.actions.is_empty(), "{:?}", p.actions);
    }
    assert_eq!(left_on_draining(&s), 2);
    let stalls = s
        .events()
        .iter()
        .filter(|e| e.contains("is unable to make progress"))
        .count();
    assert_eq!(stalls, 1, "{:?}", s.events());
}

#[test]
fn pending_tasks_on_a_draining_instance_stop_at_once() {
    let mut s = drained(2, 100, 200, 0);
    s.tasks[0].0.on_draining = true;
    s.tasks[0].0.phase = TaskPhase::Pending;
    s.tasks[0].0.healthy = false;
    let p = s.step();
    assert!(
        p.actions
            .iter()
            .any(|a| matches!(a, Action::Stop { task, .. } if *task == s.tasks[0].0.id)),
        "{:?}",
        p.actions
    );
    assert_eq!(counts(&p), (1, 1));
}

#[test]
fn without_room_elsewhere_drained_tasks_keep_running() {
    let mut s = drained(4, 100, 200, 2);
    s.placement = Some((
        0,
        "no container instance met all of its requirements. The closest matching (container-instance i-2) is DRAINING.".into(),
    ));
    for _ in 0..3 {
        let p = s.step();
        assert!(p.actions.is_empty(), "{:?}", p.actions);
    }
    assert_eq!(
        left_on_draining(&s),
        2,
        "nothing stops before it is replaced"
    );
    assert!(
        s.events()
            .iter()
            .any(|e| e.starts_with("(service web) was unable to place a task because")),
        "{:?}",
        s.events()
    );
    // Room appears (an instance joins): the move completes.
    s.placement = None;
    assert!(s.run_until_steady(20));
    assert_eq!(left_on_draining(&s), 0);
}

#[test]
fn a_converged_service_is_not_steady_while_tasks_remain_on_a_draining_instance() {
    let mut s = drained(3, 100, 200, 1);
    assert!(s.status.is_steady());
    let p = s.step();
    assert_eq!(p.requeue_after, Some(POLL));
    assert!(!s.status.is_steady(), "{:#?}", s.status.conditions);
    assert!(s.run_until_steady(20));
    assert!(s.status.is_steady());
    assert_eq!(left_on_draining(&s), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn draining_keeps_the_bounds_and_finishes_or_says_why(
        desired in 1u32..8, min in 0u32..=100, max in 100u32..=200, k in 1usize..8,
    ) {
        let k = k.min(desired as usize);
        let mut s = drained(desired, min, max, k);
        let max_total = desired * max / 100;
        let min_healthy = (desired * min).div_ceil(100);
        let mut steady = false;
        for _ in 0..60 {
            let p = s.step();
            let (present, healthy) = *s.log.last().unwrap();
            prop_assert!(present <= max_total, "present {present} > {max_total}: {:?}", s.log);
            prop_assert!(healthy >= min_healthy, "healthy {healthy} < {min_healthy}: {:?}", s.log);
            if p.actions.is_empty() && p.requeue_after.is_none() {
                steady = true;
                break;
            }
        }
        let stalled = s.events().iter().any(|e| e.contains("unable to make progress"));
        prop_assert!(steady || stalled, "neither drained nor said why: {:#?}", s.status);
        if steady {
            prop_assert_eq!(left_on_draining(&s), 0);
            prop_assert_eq!(s.status.running_count, desired);
        }
    }
}
