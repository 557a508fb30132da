//! Contract: what can be watched and asked: events, health, logs, exec, stats.

use super::*;

pub async fn events_report_start_and_die(h: &dyn Harness) {
    let mut events = h.rt().events(&run_labels(h));
    let spec = sh(h, "exit7", "sleep 0.2; exit 7");
    h.program(
        &spec.name,
        FakeBehavior {
            exit_after: Some((Duration::from_millis(200), 7)),
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    let mut seen: Vec<RuntimeEvent> = Vec::new();
    let collected = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = events.next().await {
            let e = e.expect("event");
            let is_die = e.id == id && matches!(e.action, EventAction::Die { .. });
            seen.push(e);
            if is_die {
                break;
            }
        }
    })
    .await;
    assert!(collected.is_ok(), "no Die event within 10 s: {seen:?}");
    let mine: Vec<&RuntimeEvent> = seen.iter().filter(|e| e.id == id).collect();
    let start = mine.iter().position(|e| e.action == EventAction::Start);
    let die = mine
        .iter()
        .position(|e| e.action == EventAction::Die { exit_code: 7 });
    assert!(
        matches!((start, die), (Some(s), Some(d)) if s < d),
        "{mine:?}"
    );
    let last = mine.last().expect("events");
    assert_eq!(
        last.labels.get(TEST_LABEL).map(String::as_str),
        Some(h.run_id())
    );
    assert_eq!(last.name.as_deref(), Some(spec.name.as_str()));
}

async fn health_becomes(h: &dyn Harness, base: &str, script: &str, expected: HealthStatus) {
    let spec = ContainerSpec {
        health_check: Some(HealthSpec {
            test: vec!["CMD-SHELL".into(), script.into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            retries: 1,
            start_period: Duration::ZERO,
        }),
        ..sh(h, base, IDLE)
    };
    h.program(
        &spec.name,
        FakeBehavior {
            health: Some(expected),
            ..idle()
        },
    );
    let mut events = h.rt().events(&run_labels(h));
    let id = create_and_start(h, &spec).await;
    let first = h.rt().inspect(&id).await.expect("inspect").health;
    assert!(
        matches!(first, Some(HealthStatus::Starting)) || first == Some(expected),
        "{first:?}"
    );
    wait_until(h, &id, Duration::from_secs(10), |i| {
        i.health == Some(expected)
    })
    .await;
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(e)) = events.next().await {
            if e.id == id && e.action == EventAction::HealthStatus(expected) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(event, Ok(true), "no {expected} event");
}

pub async fn health_check_healthy(h: &dyn Harness) {
    health_becomes(h, "healthy", "true", HealthStatus::Healthy).await;
}

pub async fn health_check_unhealthy(h: &dyn Harness) {
    health_becomes(h, "unhealthy", "exit 1", HealthStatus::Unhealthy).await;
}

pub async fn logs_return_the_output(h: &dyn Harness) {
    let spec = sh(h, "logs", "echo hello; echo oops >&2; echo bye");
    h.program(
        &spec.name,
        FakeBehavior {
            output: vec![
                (LogStream::Stdout, "hello".into()),
                (LogStream::Stderr, "oops".into()),
                (LogStream::Stdout, "bye".into()),
            ],
            exit_after: Some((Duration::ZERO, 0)),
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    wait_until(h, &id, Duration::from_secs(5), |i| {
        i.state == ContainerState::Exited
    })
    .await;

    let lines: Vec<_> = h.rt().logs(&id, false, None).collect().await;
    let lines: Vec<_> = lines.into_iter().map(|l| l.expect("log line")).collect();
    let text: Vec<(LogStream, &str)> = lines.iter().map(|l| (l.stream, l.text.as_str())).collect();
    // stdout and stderr are separate pipes: only the order within each is certain.
    let stdout: Vec<&str> = text
        .iter()
        .filter(|(s, _)| *s == LogStream::Stdout)
        .map(|(_, t)| *t)
        .collect();
    assert_eq!(stdout, ["hello", "bye"], "{text:?}");
    assert!(text.contains(&(LogStream::Stderr, "oops")), "{text:?}");
    assert!(lines.iter().all(|l| l.timestamp.is_some()));

    let tail: Vec<_> = h.rt().logs(&id, false, Some(1)).collect().await;
    assert_eq!(tail.len(), 1, "{tail:?}");
}

pub async fn logs_follow_until_exit(h: &dyn Harness) {
    let spec = sh(h, "follow", "echo one; sleep 0.5; echo two");
    h.program(
        &spec.name,
        FakeBehavior {
            output: vec![
                (LogStream::Stdout, "one".into()),
                (LogStream::Stdout, "two".into()),
            ],
            exit_after: Some((Duration::from_millis(500), 0)),
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    let lines = tokio::time::timeout(
        Duration::from_secs(10),
        h.rt().logs(&id, true, None).collect::<Vec<_>>(),
    )
    .await
    .expect("a followed log ends when the container exits");
    let text: Vec<String> = lines.into_iter().map(|l| l.expect("line").text).collect();
    assert_eq!(text, ["one", "two"]);
}

pub async fn exec_runs_in_the_container(h: &dyn Harness) {
    let spec = sh(h, "exec", IDLE);
    h.program(
        &spec.name,
        FakeBehavior {
            exec_output: ExecOutput {
                exit_code: 0,
                stdout: "hi\n".into(),
                stderr: String::new(),
            },
            ..idle()
        },
    );
    let id = h.rt().create(&spec).await.expect("create");
    let cmd: Vec<String> = ["echo", "hi"].map(String::from).into();
    let early = h.rt().exec(&id, &cmd).await;
    assert!(matches!(early, Err(RuntimeError::Conflict(_))), "{early:?}");
    h.rt().start(&id).await.expect("start");
    let out = h.rt().exec(&id, &cmd).await.expect("exec");
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.stdout, "hi\n");
}

pub async fn stats_read_the_counters(h: &dyn Harness) {
    let spec = ContainerSpec {
        memory_bytes: Some(64 * 1024 * 1024),
        ..sh(h, "stats", IDLE)
    };
    let id = create_and_start(h, &spec).await;
    let first = tokio::time::timeout(Duration::from_secs(5), h.rt().stats(&id))
        .await
        .expect("a reading within 5 s")
        .expect("reading");
    assert_eq!(first.memory_limit_bytes, 64 * 1024 * 1024);
    let second = h.rt().stats(&id).await.expect("reading");
    assert!(second.cpu_total_ns >= first.cpu_total_ns);
    assert!(second.at >= first.at);
}
