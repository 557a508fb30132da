//! ECS names on the real Docker engine: a service `Web_App` of family `My_App` in cluster
//! `Shop_Prod` runs, its containers carry the exact names in their labels, and another task of
//! the cluster reaches it by its DNS alias `web-app` on the cluster network.
//!
//! Images come from `scripts/build-images.sh`. Dropping the [`Server`] removes the containers
//! of its instance, even when the test fails.
#![cfg(feature = "docker-tests")]

mod support;

use std::time::{Duration, Instant};

use support::{Server, docker, expect_code, stderr, stdout};

const APP: &str = "\
apiVersion: ecs/v1
kind: Cluster
metadata:
  name: Shop_Prod
spec: {}
---
apiVersion: ecs/v1
kind: TaskDefinition
metadata:
  name: My_App
spec:
  networkMode: awsvpc
  containerDefinitions:
    - name: App_Main
      image: ecsctl/busybox:local
      command: [httpd, -f, -p, \"8080\", -h, /www]
      memory: 64
      stopTimeout: 1
      portMappings:
        - containerPort: 8080
---
apiVersion: ecs/v1
kind: Service
metadata:
  name: Web_App
  cluster: Shop_Prod
spec:
  taskDefinition: My_App
  desiredCount: 1
---
apiVersion: ecs/v1
kind: TaskDefinition
metadata:
  name: Probe_Client
spec:
  networkMode: awsvpc
  containerDefinitions:
    - name: probe
      image: ecsctl/busybox:local
      command: [sh, -c, \"until wget -q -O - http://web-app:8080/; do sleep 0.2; done; echo fetched >&2; exec sleep 3600\"]
      memory: 64
      stopTimeout: 1
";

#[track_caller]
fn eventually<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_service_with_ecs_names_runs_and_answers_on_its_dns_alias() {
    let s = Server::start();
    s.apply(APP);

    // The service's task runs, labelled with the exact names.
    let ps = eventually(Duration::from_secs(30), "Web_App's container", || {
        let o = docker(&[
            "ps",
            "--filter",
            &format!("label=ecsctl.instance={}", s.instance()),
            "--filter",
            "label=ecsctl.service=Web_App",
            "--filter",
            "label=ecsctl.container=App_Main",
            "--format",
            "{{.Names}};{{.Labels}}",
        ]);
        let out = stdout(&o);
        (!out.trim().is_empty()).then_some(out)
    });
    for label in [
        "ecsctl.cluster=Shop_Prod",
        "ecsctl.taskdef=My_App:1",
        "ecsctl.service=Web_App",
    ] {
        assert!(ps.contains(label), "{label} missing: {ps}");
    }
    assert!(
        ps.contains(".Shop_Prod.") && ps.contains(".App_Main;"),
        "{ps}"
    );
    let o = s.run(&[
        "get",
        "svc",
        "Web_App",
        "--cluster",
        "Shop_Prod",
        "-o",
        "json",
    ]);
    expect_code(&o, 0);

    // Another task of the cluster reaches it as `web-app`.
    let o = s.run(&[
        "run-task",
        "--task-definition",
        "Probe_Client",
        "--cluster",
        "Shop_Prod",
        "--wait",
        "--timeout",
        "30s",
    ]);
    expect_code(&o, 0);
    let id = stdout(&o).trim().to_string();
    let o = eventually(Duration::from_secs(20), "the probe's fetch", || {
        let o = s.run(&["logs", &id, "--cluster", "Shop_Prod"]);
        (o.status.success() && stderr(&o).contains("fetched")).then_some(o)
    });
    assert!(stdout(&o).contains("ecsctl busybox"), "{}", stdout(&o));
}
