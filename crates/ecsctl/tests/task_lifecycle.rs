//! The task lifecycle on real Docker, through the real binary: essential and non-essential
//! exits, dependsOn HEALTHY, containers killed behind our back, and a server killed with -9.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::time::{Duration, Instant};
use support::{Server, docker};

fn td(name: &str, containers: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {name}}}\nspec:\n  containerDefinitions:\n{containers}"
    )
}

fn task(id: &str, td: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: Task\nmetadata: {{name: {id}}}\nspec: {{taskDefinition: {td}}}\n"
    )
}

const SLEEPER: &str = "    - {name: main, image: ecsctl/busybox:local, memory: 32, stopTimeout: 2, command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 0.2; done']}\n";

#[test]
fn essential_exit_stops_the_task_and_non_essential_does_not() {
    let s = Server::start();
    s.apply(&td(
        "exits",
        "    - {name: side, image: ecsctl/busybox:local, memory: 32, essential: false, command: [sh, -c, 'sleep 0.5; exit 1']}\n    - {name: main, image: ecsctl/busybox:local, memory: 32, stopTimeout: 2, command: [sh, -c, 'sleep 2; exit 3']}\n",
    ));
    s.apply(&task("t-exit", "exits"));
    // side exits first (code 1): the task keeps running.
    let st = s.wait_task("t-exit", Duration::from_secs(10), |st| {
        st["containers"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["name"] == "side" && c["exitCode"] == 1))
    });
    assert_eq!(st["lastStatus"], "RUNNING", "{st:#}");
    // main exits 3: the task stops with EssentialContainerExited and the code.
    let st = s.wait_task("t-exit", Duration::from_secs(10), |st| {
        st["lastStatus"] == "STOPPED"
    });
    assert_eq!(st["stopCode"], "EssentialContainerExited", "{st:#}");
    let main = st["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "main")
        .unwrap()
        .clone();
    assert_eq!(main["exitCode"], 3);
    let d = s.run(&["describe", "task", "t-exit"]);
    let text = String::from_utf8_lossy(&d.stdout);
    assert!(
        text.contains("EssentialContainerExited") && text.contains("main exited with code 3"),
        "{text}"
    );
}

#[test]
fn depends_on_healthy_waits_for_the_health_check() {
    let s = Server::start();
    s.apply(&td(
        "healthy",
        "    - {name: db, image: ecsctl/busybox:local, memory: 32, stopTimeout: 1, command: [sh, -c, 'sleep 2; touch /tmp/ready; sleep 600'], healthCheck: {command: [CMD-SHELL, 'test -f /tmp/ready'], interval: 5, timeout: 2, retries: 3}}\n    - {name: app, image: ecsctl/busybox:local, memory: 32, stopTimeout: 1, command: [sleep, '600'], dependsOn: [{containerName: db, condition: HEALTHY}]}\n",
    ));
    s.apply(&task("t-dep", "healthy"));
    let st = s.wait_task("t-dep", Duration::from_secs(10), |st| {
        st["lastStatus"] == "ACTIVATING"
    });
    let app = st["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "app")
        .unwrap()
        .clone();
    assert_eq!(
        app["lastStatus"], "PENDING",
        "app must wait for db to be HEALTHY: {st:#}"
    );
    let st = s.wait_task("t-dep", Duration::from_secs(20), |st| {
        st["lastStatus"] == "RUNNING"
    });
    let db = st["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "db")
        .unwrap()
        .clone();
    assert_eq!(db["healthStatus"], "HEALTHY", "{st:#}");
}

#[test]
fn missing_image_fails_fast_and_docker_kill_is_seen_at_once() {
    let s = Server::start();
    s.apply(&td(
        "ghost",
        "    - {name: main, image: 'nobody/nothing:404', memory: 32}\n",
    ));
    let t0 = Instant::now();
    s.apply(&task("t-ghost", "ghost"));
    let st = s.wait_task("t-ghost", Duration::from_secs(5), |st| {
        st["lastStatus"] == "STOPPED"
    });
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(st["stopCode"], "TaskFailedToStart");
    assert!(
        st["stoppedReason"]
            .as_str()
            .unwrap()
            .contains("nobody/nothing:404"),
        "{st:#}"
    );

    s.apply(&td("sleeper", SLEEPER));
    s.apply(&task("t-kill", "sleeper"));
    let st = s.wait_task("t-kill", Duration::from_secs(10), |st| {
        st["lastStatus"] == "RUNNING"
    });
    let main = st["containers"][0]["runtimeId"]
        .as_str()
        .unwrap()
        .to_string();
    let killed = docker(&["kill", &main]);
    assert!(killed.status.success());
    let t0 = Instant::now();
    let st = s.wait_task("t-kill", Duration::from_secs(5), |st| {
        st["desiredStatus"] == "STOPPED"
    });
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "noticed after {:?} (events, not polling)",
        t0.elapsed()
    );
    assert_eq!(st["stopCode"], "EssentialContainerExited");
}

#[test]
fn kill_9_and_restart_adopts_every_container() {
    let mut s = Server::start();
    s.apply(&td("sleeper", SLEEPER));
    let ids: Vec<String> = (0..10).map(|i| format!("t-adopt-{i}")).collect();
    let manifests: String = ids
        .iter()
        .map(|id| task(id, "sleeper"))
        .collect::<Vec<_>>()
        .join("---\n");
    s.apply(&manifests);
    for id in &ids {
        s.wait_task(id, Duration::from_secs(30), |st| {
            st["lastStatus"] == "RUNNING"
        });
    }
    let before = s.containers("");
    assert_eq!(before.len(), 10);
    s.kill9();
    s.spawn();
    // Give the restarted server time to resync and act, then check nothing was duplicated.
    std::thread::sleep(Duration::from_secs(2));
    for id in &ids {
        assert_eq!(s.task(id)["lastStatus"], "RUNNING");
    }
    assert_eq!(
        s.containers(""),
        before,
        "the same 10 containers, no new ones"
    );
    let all = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=ecsctl.instance={}", s.instance()),
    ]);
    assert_eq!(String::from_utf8_lossy(&all.stdout).lines().count(), 10);
}

#[test]
fn an_oom_killed_container_stops_the_task_saying_so() {
    let s = Server::start();
    s.apply(&td(
        "hog",
        "    - {name: main, image: ecsctl/busybox:local, memory: 8, command: [sh, -c, 'x=$(head -c 100000000 /dev/zero | tr \"\\\\0\" a); sleep 600']}\n",
    ));
    s.apply(&task("t-oom", "hog"));
    let st = s.wait_task("t-oom", Duration::from_secs(20), |st| {
        st["lastStatus"] == "STOPPED"
    });
    assert_eq!(st["stopCode"], "EssentialContainerExited", "{st:#}");
    let reason = st["stoppedReason"].as_str().unwrap_or_default().to_string();
    let main = st["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "main")
        .unwrap()
        .clone();
    assert!(
        reason.contains("OutOfMemoryError")
            || main["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("OutOfMemoryError"),
        "{st:#}"
    );
}

#[test]
fn a_container_paused_behind_our_back_is_replaced() {
    let s = Server::start();
    s.apply(&td("sleeper", SLEEPER));
    s.apply("apiVersion: ecs/v1\nkind: Service\nmetadata: {name: paused}\nspec: {taskDefinition: sleeper, desiredCount: 1}\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let ids = s.containers("label=ecsctl.service=paused");
        if ids.len() == 1 {
            break ids[0].clone();
        }
        assert!(Instant::now() < deadline, "the service never ran its task");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(docker(&["pause", &first]).status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ids = s.containers("label=ecsctl.service=paused");
        if ids.len() == 1 && ids[0] != first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the paused task was not replaced: {ids:?}\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
