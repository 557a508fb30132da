//! Contract: a container's life (create, start, stop, kill, remove), naming and errors.

use super::*;

pub async fn ping_answers(h: &dyn Harness) {
    let v = h.rt().ping().await.expect("ping");
    assert!(!v.api_version.is_empty(), "{v:?}");
    assert!(h.rt().image_exists(h.image()).await.expect("image_exists"));
    // What every memory limit and a Cluster's capacity are held to.
    let m = h.rt().machine().await.expect("machine");
    assert!(m.cpus > 0 && m.memory_bytes >= 64 << 20, "{m:?}");
}

pub async fn create_start_inspect_running(h: &dyn Harness) {
    let spec = sh(h, "run", IDLE);
    let id = h.rt().create(&spec).await.expect("create");
    let created = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(created.state, ContainerState::Created);
    assert_eq!(created.exit_code, None);
    assert_eq!(created.name, spec.name);
    assert_eq!(created.id, id);

    h.rt().start(&id).await.expect("start");
    let running = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(running.state, ContainerState::Running);
    assert!(running.started_at.is_some());
    assert_eq!(running.image, h.image());
    assert_eq!(
        running.labels.get(TEST_LABEL).map(String::as_str),
        Some(h.run_id())
    );
    assert!(running.ip_addresses.contains_key("bridge"), "{running:?}");
    // Inspect by name works too.
    let by_name = h.rt().inspect(&ContainerId::from(spec.name.as_str())).await;
    assert_eq!(by_name.expect("inspect by name").id, id);
    // Starting again does nothing.
    h.rt().start(&id).await.expect("second start");

    // Stopped before its trap is set, it would ignore SIGTERM and die by SIGKILL (137).
    wait_for_line(h, &id, IDLE_READY, Duration::from_secs(10)).await;
    h.rt()
        .stop(&id, Duration::from_secs(5))
        .await
        .expect("stop");
    let stopped = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(stopped.state, ContainerState::Exited);
    assert_eq!(stopped.exit_code, Some(0));
    assert!(stopped.finished_at.is_some());
    // Stopping a stopped container does nothing.
    h.rt()
        .stop(&id, Duration::from_secs(1))
        .await
        .expect("second stop");
    h.rt().remove(&id, false).await.expect("remove");
    let gone = h.rt().inspect(&id).await;
    assert!(matches!(gone, Err(RuntimeError::NotFound(_))), "{gone:?}");
}

pub async fn stop_records_the_exit_code(h: &dyn Harness) {
    let spec = sh(
        h,
        "trap3",
        "trap 'exit 3' TERM; echo trapped; while true; do sleep 0.1; done",
    );
    h.program(
        &spec.name,
        FakeBehavior {
            on_term: SignalReaction::Exit(3),
            output: vec![(LogStream::Stdout, "trapped".into())],
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    // A SIGTERM before the trap is set would be ignored (the shell is PID 1).
    wait_for_line(h, &id, "trapped", Duration::from_secs(10)).await;
    let began = Instant::now();
    h.rt()
        .stop(&id, Duration::from_secs(10))
        .await
        .expect("stop");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "took {:?}",
        began.elapsed()
    );
    let info = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(info.state, ContainerState::Exited);
    assert_eq!(info.exit_code, Some(3));
}

pub async fn stop_kills_after_the_timeout(h: &dyn Harness) {
    let spec = sh(
        h,
        "stubborn",
        "trap '' TERM; while true; do sleep 0.1; done",
    );
    h.program(
        &spec.name,
        FakeBehavior {
            on_term: SignalReaction::Ignore,
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    let began = Instant::now();
    h.rt()
        .stop(&id, Duration::from_secs(1))
        .await
        .expect("stop");
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "SIGKILL came early: {took:?}"
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let info = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(info.exit_code, Some(137));
}

pub async fn kill_sends_a_signal(h: &dyn Harness) {
    let id = create_and_start(h, &sh(h, "kill", IDLE)).await;
    h.rt().kill(&id, "SIGKILL").await.expect("kill");
    let info = wait_until(h, &id, Duration::from_secs(5), |i| {
        i.state == ContainerState::Exited
    })
    .await;
    assert_eq!(info.exit_code, Some(137));
    let again = h.rt().kill(&id, "SIGKILL").await;
    assert!(matches!(again, Err(RuntimeError::Conflict(_))), "{again:?}");
}

pub async fn missing_image_is_image_not_found(h: &dyn Harness) {
    let image = format!("ecsctl/no-such-image:{}", h.run_id());
    assert!(!h.rt().image_exists(&image).await.expect("image_exists"));
    let spec = ContainerSpec {
        labels: run_labels(h),
        ..ContainerSpec::new(name(h, "noimage"), image.clone())
    };
    let began = Instant::now();
    let err = h.rt().create(&spec).await.expect_err("create must fail");
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "took {:?}",
        began.elapsed()
    );
    assert_eq!(err, RuntimeError::ImageNotFound(image.clone()));
    assert!(err.to_string().contains(&image), "{err}");
}

pub async fn duplicate_name_is_conflict(h: &dyn Harness) {
    let spec = sh(h, "dup", IDLE);
    h.rt().create(&spec).await.expect("create");
    let err = h
        .rt()
        .create(&spec)
        .await
        .expect_err("second create must fail");
    assert!(
        matches!(&err, RuntimeError::Conflict(m) if m.contains(&spec.name)),
        "{err:?}"
    );
}

pub async fn unknown_ids_are_not_found(h: &dyn Harness) {
    let unknown = ContainerId::from(name(h, "never-created").as_str());
    let removed = h.rt().remove(&unknown, true).await;
    assert!(
        matches!(removed, Err(RuntimeError::NotFound(_))),
        "{removed:?}"
    );
    let inspected = h.rt().inspect(&unknown).await;
    assert!(
        matches!(inspected, Err(RuntimeError::NotFound(_))),
        "{inspected:?}"
    );
    let started = h.rt().start(&unknown).await;
    assert!(
        matches!(started, Err(RuntimeError::NotFound(_))),
        "{started:?}"
    );
    let stopped = h.rt().stop(&unknown, Duration::from_secs(1)).await;
    assert!(
        matches!(stopped, Err(RuntimeError::NotFound(_))),
        "{stopped:?}"
    );
    let logs = h.rt().logs(&unknown, false, None).next().await;
    assert!(
        matches!(logs, Some(Err(RuntimeError::NotFound(_)))),
        "{logs:?}"
    );
}

pub async fn remove_running_needs_force(h: &dyn Harness) {
    let id = create_and_start(h, &sh(h, "rm", IDLE)).await;
    let err = h.rt().remove(&id, false).await;
    assert!(matches!(err, Err(RuntimeError::Conflict(_))), "{err:?}");
    h.rt().remove(&id, true).await.expect("forced remove");
    let gone = h.rt().inspect(&id).await;
    assert!(matches!(gone, Err(RuntimeError::NotFound(_))), "{gone:?}");
}

pub async fn list_filters_by_labels(h: &dyn Harness) {
    let mut a = sh(h, "list-a", IDLE);
    a.labels.insert("role".into(), "a".into());
    let mut b = sh(h, "list-b", IDLE);
    b.labels.insert("role".into(), "b".into());
    let a_id = create_and_start(h, &a).await;
    let b_id = h.rt().create(&b).await.expect("create b");

    let mut only_a = run_labels(h);
    only_a.insert("role".into(), "a".into());
    let listed = h.rt().list(&only_a, true).await.expect("list");
    assert_eq!(listed.iter().map(|c| &c.id).collect::<Vec<_>>(), [&a_id]);
    assert_eq!(listed[0].name, a.name);
    assert_eq!(listed[0].state, ContainerState::Running);

    let running = h.rt().list(&run_labels(h), false).await.expect("list");
    assert_eq!(running.iter().map(|c| &c.id).collect::<Vec<_>>(), [&a_id]);
    let all = h.rt().list(&run_labels(h), true).await.expect("list all");
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .any(|c| c.id == b_id && c.state == ContainerState::Created)
    );
}

pub async fn invalid_specs_are_refused(h: &dyn Harness) {
    let spec = ContainerSpec {
        ports: vec![PortSpec::tcp(80)],
        network: NetworkAttach::None,
        ..sh(h, "invalid", IDLE)
    };
    let err = h.rt().create(&spec).await;
    assert!(matches!(err, Err(RuntimeError::InvalidSpec(_))), "{err:?}");
    let bad_name = ContainerSpec::new("-bad", h.image());
    let err = h.rt().create(&bad_name).await;
    assert!(matches!(err, Err(RuntimeError::InvalidSpec(_))), "{err:?}");
}
