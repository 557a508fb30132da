//! The host policy at task start, on the fully wired server over a `FakeRuntime` (the host
//! paths are real, in a temp dir): what a container binds is the resolved path, a symlink
//! planted in an allowlisted directory stops the task with a reason, Docker volumes are named
//! and labelled per server, cluster and task, a volume ecsctl did not make is never mounted,
//! and a task's own volumes go with it.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::{ContainerRuntime, ContainerState, FakeRuntime, MountSource, labels};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use support::Server;

fn cluster(name: &str, policy: Value) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": name},
        "spec": {"policy": policy}})
}

fn taskdef(name: &str, volumes: Value, extra: Value) -> Value {
    let mut c = json!({"name": "app", "image": "busybox", "memory": 64,
        "mountPoints": [{"sourceVolume": "v", "containerPath": "/v"}]});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": name},
        "spec": {"volumes": volumes, "containerDefinitions": [c]}})
}

fn task(name: &str, cluster: &str, td: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "Task",
        "metadata": {"name": name, "cluster": cluster}, "spec": {"taskDefinition": td}})
}

async fn status(server: &Server, cluster: &str, name: &str, what: &str) -> Value {
    let path = format!("/v1/objects/tasks/{name}?cluster={cluster}");
    server
        .wait_for(&path, what, |v| {
            matches!(
                v["status"]["lastStatus"].as_str(),
                Some("RUNNING" | "STOPPED")
            )
        })
        .await["status"]
        .clone()
}

fn bind_of(fake: &FakeRuntime, task: &str, container: &str) -> MountSource {
    support::spec_of(fake, task, container).unwrap().mounts[0]
        .source
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_paths_are_resolved_and_the_real_path_is_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let allowed = root.join("allowed");
    std::fs::create_dir_all(allowed.join("data")).unwrap();
    // The allowlist may name a link: it counts for what it leads to.
    std::os::unix::fs::symlink(&allowed, root.join("alias")).unwrap();
    // What a first task could plant in a directory it may write.
    std::os::unix::fs::symlink("/etc", allowed.join("etc")).unwrap();

    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let alias = root.join("alias").display().to_string();
    let host = |p: String| json!([{"name": "v", "host": {"sourcePath": p}}]);
    let (code, body) = server
        .apply(vec![
            cluster("a", json!({"hostPathAllowlist": [alias.clone()]})),
            taskdef("ok", host(format!("{alias}/data")), json!({})),
            task("ok", "a", "ok"),
            taskdef("link", host(format!("{alias}/etc")), json!({})),
            task("link", "a", "link"),
        ])
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");

    let ok = status(&server, "a", "ok", "ok runs").await;
    assert_eq!(ok["lastStatus"], "RUNNING", "{ok}");
    assert_eq!(
        bind_of(&fake, "ok", "app"),
        MountSource::Bind(allowed.join("data")),
        "the resolved path is bound, not the spelling"
    );

    let link = status(&server, "a", "link", "link stops").await;
    assert_eq!(link["stopCode"], "TaskFailedToStart", "{link}");
    let reason = link["stoppedReason"].as_str().unwrap();
    for part in [
        "volume v",
        "resolved to /etc",
        "spec.policy.hostPathAllowlist",
    ] {
        assert!(reason.contains(part), "{part:?} not in {reason}");
    }
    assert!(
        support::spec_of(&fake, "link", "app").is_none(),
        "nothing was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_are_per_cluster_and_only_ecsctl_s() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let shared = |auto: bool| json!([{"name": "v", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": auto}}]);
    let mut objects = vec![
        cluster("a", json!({})),
        cluster("b", json!({})),
        taskdef("data", shared(true), json!({})),
        taskdef("existing", shared(false), json!({})),
        taskdef("scratch", json!([{"name": "v"}]), json!({})),
        task("a1", "a", "data"),
        task("b1", "b", "data"),
        task("s1", "a", "scratch"),
    ];
    let (code, body) = server.apply(std::mem::take(&mut objects)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    for (c, t) in [("a", "a1"), ("b", "b1"), ("a", "s1")] {
        let s = status(&server, c, t, t).await;
        assert_eq!(s["lastStatus"], "RUNNING", "{s}");
    }
    let name = |task: &str| match bind_of(&fake, task, "app") {
        MountSource::Volume(n) => n,
        other => panic!("{other:?}"),
    };
    let (va, vb, vs) = (name("a1"), name("b1"), name("s1"));
    assert_ne!(va, vb, "cluster b never mounts cluster a's volume");
    let vols = fake.volumes();
    let a = &vols[&va].labels;
    assert_eq!(
        (
            a[labels::MANAGED].as_str(),
            a[labels::CLUSTER].as_str(),
            a[labels::VOLUME].as_str()
        ),
        ("true", "a", "v")
    );
    assert!(a.contains_key(labels::INSTANCE) && !a.contains_key(labels::TASK));
    assert_eq!(vols[&vb].labels[labels::CLUSTER], "b");
    assert_eq!(vols[&vs].labels[labels::TASK], "s1");

    // autoprovision false: only an ecsctl volume that exists. Cluster a's does.
    let (code, body) = server.apply(vec![task("a2", "a", "existing")]).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        status(&server, "a", "a2", "a2").await["lastStatus"],
        "RUNNING"
    );
    // A volume under the name that ecsctl did not make (no labels) is never mounted.
    let foreign = va.replace(".a.", ".c.");
    fake.create_volume(&foreign, &BTreeMap::new(), &BTreeMap::new())
        .await
        .unwrap();
    let (code, body) = server
        .apply(vec![cluster("c", json!({})), task("c1", "c", "data")])
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let s = status(&server, "c", "c1", "c1 refused").await;
    assert_eq!(s["stopCode"], "TaskFailedToStart", "{s}");
    let reason = s["stoppedReason"].as_str().unwrap();
    assert!(
        reason.contains("volume v") && reason.contains("not made by ecsctl"),
        "{reason}"
    );
    // Nor one that does not exist, without autoprovision.
    let (code, body) = server
        .apply(vec![cluster("d", json!({})), task("d1", "d", "existing")])
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let s = status(&server, "d", "d1", "d1 refused").await;
    assert_eq!(s["stopCode"], "TaskFailedToStart", "{s}");
    let reason = s["stoppedReason"].as_str().unwrap();
    assert!(reason.contains("autoprovision"), "{reason}");

    // A task's own volume goes with the task; shared ones stay.
    let (code, _) = server
        .call(Method::DELETE, "/v1/objects/tasks/s1?cluster=a", None)
        .await;
    assert!(code.is_success(), "{code}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while fake.volumes().contains_key(&vs) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{vs} was not removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(fake.volumes().contains_key(&va));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_options_need_allow_privileged_at_apply_and_at_start() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let seccomp = json!({"dockerSecurityOptions": ["seccomp=unconfined"]});
    let td = taskdef("sec", json!([{"name": "v"}]), seccomp);
    let (code, body) = server
        .apply(vec![
            cluster("p", json!({})),
            td.clone(),
            task("t0", "p", "sec"),
        ])
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.to_string().contains("spec.policy.allowPrivileged"),
        "{body}"
    );

    let open = cluster("p", json!({"allowPrivileged": true}));
    let service = json!({"apiVersion": "ecs/v1", "kind": "Service",
        "metadata": {"name": "sec", "cluster": "p"}, "spec": {"taskDefinition": "sec", "desiredCount": 1}});
    let (code, body) = server.apply(vec![open, td, service]).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let running = || {
        fake.containers()
            .into_iter()
            .find(|c| c.state == ContainerState::Running && c.labels.contains_key(labels::SERVICE))
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let first = loop {
        if let Some(c) = running() {
            break c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service's task did not run"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        fake.spec_of(&first.name).unwrap().security_opt,
        ["seccomp=unconfined"]
    );

    // The policy tightens; the service's next task (written by its controller, not through
    // admission) is refused when it starts.
    let (code, body) = server.apply(vec![cluster("p", json!({}))]).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    fake.crash(&first.id, 1).unwrap();
    let tasks = server
        .wait_for("/v1/objects/tasks?cluster=p", "a refused task", |v| {
            v["items"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|t| t["status"]["stopCode"] == "TaskFailedToStart")
            })
        })
        .await;
    let refused = tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"]["stopCode"] == "TaskFailedToStart")
        .unwrap();
    let reason = refused["status"]["stoppedReason"].as_str().unwrap();
    assert!(
        reason.contains("seccomp=unconfined") && reason.contains("spec.policy.allowPrivileged"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_s_own_data_is_never_bound() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let data = server.data_dir.canonicalize().unwrap();
    let parent = data.parent().unwrap().display().to_string();
    let host = |p: String| json!([{"name": "v", "host": {"sourcePath": p}}]);
    let (code, body) = server
        .apply(vec![
            cluster("own", json!({"hostPathAllowlist": [parent.clone()]})),
            taskdef(
                "store",
                host(format!("{}/store", data.display())),
                json!({}),
            ),
            task("store", "own", "store"),
            taskdef("around", host(parent.clone()), json!({})),
            task("around", "own", "around"),
        ])
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    for name in ["store", "around"] {
        let s = status(&server, "own", name, name).await;
        assert_eq!(s["stopCode"], "TaskFailedToStart", "{s}");
        let reason = s["stoppedReason"].as_str().unwrap();
        assert!(reason.contains("server's own data"), "{reason}");
    }
}
