//! What only the fake has: injected failures, crashes, the call log, an engine that goes
//! away, determinism. (What both runtimes do is in the contract suite.)

use std::collections::BTreeMap;
use std::time::Duration;

use ecsctl_runtime::{
    ContainerId, ContainerRuntime, ContainerSpec, ContainerState, EventAction, FakeRuntime,
    HealthStatus, LogStream, Op, PortSpec, RuntimeError, Stats,
};
use futures::StreamExt;

const IMAGE: &str = "busybox";

fn fake() -> FakeRuntime {
    FakeRuntime::with_images([IMAGE])
}

async fn running(rt: &FakeRuntime, name: &str) -> ContainerId {
    let id = rt
        .create(&ContainerSpec::new(name, IMAGE))
        .await
        .expect("create");
    rt.start(&id).await.expect("start");
    id
}

#[tokio::test(start_paused = true)]
async fn images_resolve_like_docker() {
    let rt = fake();
    assert!(rt.image_exists("busybox:latest").await.unwrap());
    assert!(!rt.image_exists("busybox:1.36").await.unwrap());
    let err = rt.create(&ContainerSpec::new("web", "busybox:1.36")).await;
    assert_eq!(err, Err(RuntimeError::ImageNotFound("busybox:1.36".into())));
    rt.remove_image("busybox");
    let err = rt.create(&ContainerSpec::new("web", "busybox")).await;
    assert_eq!(err, Err(RuntimeError::ImageNotFound("busybox".into())));
}

#[tokio::test(start_paused = true)]
async fn injected_failures_fail_once_and_change_nothing() {
    let rt = fake();
    rt.fail_next(Op::Create, RuntimeError::Unavailable("down".into()));
    let spec = ContainerSpec::new("web", IMAGE);
    assert_eq!(
        rt.create(&spec).await,
        Err(RuntimeError::Unavailable("down".into()))
    );
    assert!(rt.containers().is_empty());
    let id = rt.create(&spec).await.unwrap();

    rt.fail_next(Op::Start, RuntimeError::Other("boom".into()));
    rt.fail_next(Op::Start, RuntimeError::Other("boom again".into()));
    assert!(rt.start(&id).await.is_err());
    assert!(rt.start(&id).await.is_err());
    assert_eq!(rt.container("web").unwrap().state, ContainerState::Created);
    rt.start(&id).await.unwrap();
    assert_eq!(rt.container("web").unwrap().state, ContainerState::Running);

    rt.fail_next(Op::Events, RuntimeError::Unavailable("no events".into()));
    let first = rt.events(&BTreeMap::new()).next().await;
    assert!(matches!(first, Some(Err(RuntimeError::Unavailable(_)))));
}

#[tokio::test(start_paused = true)]
async fn crash_and_oom_end_the_process_with_events() {
    let rt = fake();
    let mut events = rt.events(&BTreeMap::new());
    let a = running(&rt, "web-a").await;
    let b = running(&rt, "web-b").await;
    rt.crash(&a, 3).unwrap();
    rt.oom_kill(&b).unwrap();
    let a_info = rt.inspect(&a).await.unwrap();
    assert_eq!(
        (a_info.state, a_info.exit_code),
        (ContainerState::Exited, Some(3))
    );
    let b_info = rt.inspect(&b).await.unwrap();
    assert_eq!((b_info.exit_code, b_info.oom_killed), (Some(137), true));
    assert!(matches!(rt.crash(&a, 1), Err(RuntimeError::Conflict(_))));

    let mut actions = Vec::new();
    for _ in 0..7 {
        let e = events.next().await.unwrap().unwrap();
        actions.push((e.name.unwrap(), e.action));
    }
    let expected = [
        ("web-a", EventAction::Create),
        ("web-a", EventAction::Start),
        ("web-b", EventAction::Create),
        ("web-b", EventAction::Start),
        ("web-a", EventAction::Die { exit_code: 3 }),
        ("web-b", EventAction::Oom),
        ("web-b", EventAction::Die { exit_code: 137 }),
    ];
    for (got, want) in actions.iter().zip(expected.iter()) {
        assert_eq!((got.0.as_str(), &got.1), (want.0, &want.1));
    }
}

#[tokio::test(start_paused = true)]
async fn the_call_log_tells_reads_from_writes() {
    let rt = fake();
    let id = running(&rt, "web").await;
    rt.clear_calls();
    rt.inspect(&id).await.unwrap();
    rt.list(&BTreeMap::new(), true).await.unwrap();
    assert_eq!(rt.mutating_call_count(), 0, "reads are not writes");
    rt.stop(&id, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rt.call_count(Op::Stop), 1);
    assert_eq!(rt.mutating_call_count(), 1);
    let calls = rt.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[2].op, Op::Stop);
    assert_eq!(calls[2].target, id.as_str());
}

#[tokio::test(start_paused = true)]
async fn an_engine_that_goes_away_fails_calls_and_ends_event_streams() {
    let rt = fake();
    let mut events = rt.events(&BTreeMap::new());
    rt.set_unavailable(true);
    assert!(matches!(rt.ping().await, Err(RuntimeError::Unavailable(_))));
    assert!(matches!(
        events.next().await,
        Some(Err(RuntimeError::Unavailable(_)))
    ));
    assert!(
        events.next().await.is_none(),
        "a stream ends after its error"
    );
    rt.set_unavailable(false);
    rt.ping().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn ids_ports_and_times_are_deterministic() {
    async fn scene() -> Vec<(ContainerId, Vec<u16>, String)> {
        let rt = fake();
        let mut out = Vec::new();
        for name in ["web-a", "web-b"] {
            let spec = ContainerSpec {
                ports: vec![PortSpec::tcp(80), PortSpec::tcp(81)],
                ..ContainerSpec::new(name, IMAGE)
            };
            let id = rt.create(&spec).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
            rt.start(&id).await.unwrap();
            let info = rt.inspect(&id).await.unwrap();
            let ports = info.ports.iter().map(|p| p.host_port).collect();
            out.push((id, ports, info.started_at.unwrap().to_string()));
        }
        out
    }
    let first = scene().await;
    assert_eq!(first, scene().await);
    assert_eq!(first[0].1, [49153, 49154]);
    assert_eq!(first[1].1, [49155, 49156]);
    assert_ne!(first[0].0, first[1].0);
}

#[tokio::test(start_paused = true)]
async fn fixed_host_ports_cannot_be_shared() {
    let rt = fake();
    let spec = |name: &str| ContainerSpec {
        ports: vec![PortSpec {
            host_port: Some(8080),
            ..PortSpec::tcp(80)
        }],
        ..ContainerSpec::new(name, IMAGE)
    };
    let a = rt.create(&spec("web-a")).await.unwrap();
    let b = rt.create(&spec("web-b")).await.unwrap();
    rt.start(&a).await.unwrap();
    assert!(matches!(rt.start(&b).await, Err(RuntimeError::Other(_))));
    rt.stop(&a, Duration::from_secs(1)).await.unwrap();
    rt.start(&b).await.unwrap();
    assert_eq!(rt.inspect(&b).await.unwrap().ports[0].host_port, 8080);
}

#[tokio::test(start_paused = true)]
async fn removal_behind_our_back_is_seen_in_events_not_calls() {
    let rt = fake();
    let id = running(&rt, "web").await;
    let mut events = rt.events(&BTreeMap::new());
    rt.clear_calls();
    rt.remove_externally(&id).unwrap();
    assert!(rt.calls().is_empty());
    let actions: Vec<EventAction> = events
        .by_ref()
        .take(2)
        .map(|e| e.unwrap().action)
        .collect()
        .await;
    assert_eq!(
        actions,
        [EventAction::Die { exit_code: 137 }, EventAction::Destroy]
    );
    assert!(matches!(
        rt.inspect(&id).await,
        Err(RuntimeError::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn stats_health_and_logs_are_settable() {
    let rt = fake();
    let id = running(&rt, "web").await;
    assert_eq!(rt.stats(&id).await.unwrap().cpu_total_ns, 0);
    let sample = Stats {
        cpu_total_ns: 1_000,
        memory_bytes: 4096,
        memory_limit_bytes: 8192,
        at: time::OffsetDateTime::UNIX_EPOCH,
    };
    rt.set_stats(&id, sample.clone()).unwrap();
    assert_eq!(rt.stats(&id).await.unwrap(), sample);

    rt.set_health(&id, HealthStatus::Unhealthy).unwrap();
    assert_eq!(
        rt.inspect(&id).await.unwrap().health,
        Some(HealthStatus::Unhealthy)
    );

    let mut follow = rt.logs(&id, true, None);
    rt.push_log(&id, LogStream::Stderr, "warning").unwrap();
    let line = follow.next().await.unwrap().unwrap();
    assert_eq!(
        (line.stream, line.text.as_str()),
        (LogStream::Stderr, "warning")
    );
    rt.remove(&id, true).await.unwrap();
    assert!(
        follow.next().await.is_none(),
        "follow ends with the container"
    );
    assert!(
        matches!(rt.stats(&id).await, Err(RuntimeError::NotFound(_))),
        "no stats of a removed container"
    );
}

#[tokio::test(start_paused = true)]
async fn usable_as_a_shared_trait_object() {
    let rt: std::sync::Arc<dyn ContainerRuntime> = std::sync::Arc::new(fake());
    let id = rt.create(&ContainerSpec::new("web", IMAGE)).await.unwrap();
    let rt2 = rt.clone();
    tokio::spawn(async move { rt2.start(&id).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rt.list(&BTreeMap::new(), false).await.unwrap().len(), 1);
}
