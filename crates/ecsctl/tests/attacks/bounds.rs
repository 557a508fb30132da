//! Resources and sizes are bounded: 4 TiB of memory, no memory limit, 100,000 desired
//! tasks and 10 MB of environment are refused with messages naming the field and who may
//! change the bound; a running container's `docker inspect` shows its memory and pids limits.

use crate::support::{Server, docker, expect_code, stderr, stdout};
use std::process::Output;
use std::time::Duration;

/// `ecsctl apply -f FILE` as the attacker. Runs as the unix socket's owner (admin) until
/// the roles land; the one place to switch to a `deployer` identity.
fn apply_as_attacker(s: &Server, path: &str, extra: &[&str]) -> Output {
    let mut args = vec!["apply", "-f", path];
    args.extend_from_slice(extra);
    s.run(&args)
}

/// `ecsctl apply -f FILE` as the admin (the unix socket's owner).
fn apply_as_admin(s: &Server, path: &str, extra: &[&str]) -> Output {
    let mut args = vec!["apply", "-f", path];
    args.extend_from_slice(extra);
    s.run(&args)
}

/// Asserts a refusal (exit 2) whose message holds every needle, and that nothing of
/// `object` was written.
fn refused(s: &Server, o: &Output, needles: &[&str], object: (&str, &str)) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "not refused: {o:?}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in:\n{err}");
    }
    let got = s.run(&["get", object.0, object.1]);
    assert_ne!(
        got.status.code(),
        Some(0),
        "{object:?} was written: {}",
        stdout(&got)
    );
}

fn taskdef(name: &str, container: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {name}}}\nspec:\n  containerDefinitions:\n    - {{name: app, image: ecsctl/busybox:local, command: [sleep, '600'], {container}}}\n"
    )
}

#[test]
fn four_tib_of_memory_is_refused() {
    let s = Server::start();
    let path = s.write("huge.yaml", &taskdef("huge", "memory: 4096 GiB"));
    let o = apply_as_attacker(&s, &path, &[]);
    refused(
        &s,
        &o,
        &[
            "taskdefinition/huge",
            "resource-bounds",
            "spec.containerDefinitions[0].memory: 4194304 MiB is more memory than this machine has",
        ],
        ("taskdefinition", "huge"),
    );
}

#[test]
fn a_task_definition_without_memory_is_refused() {
    let s = Server::start();
    let path = s.write("bare.yaml", &taskdef("bare", "cpu: 128"));
    let o = apply_as_attacker(&s, &path, &[]);
    refused(
        &s,
        &o,
        &[
            "memory or memoryReservation",
            "spec.containerDefinitions[0]",
        ],
        ("taskdefinition", "bare"),
    );
}

#[test]
fn a_hundred_thousand_desired_tasks_are_refused_until_an_admin_raises_the_cap() {
    let s = Server::start();
    let svc = "apiVersion: ecs/v1\nkind: Service\nmetadata: {name: flood}\nspec: {taskDefinition: flood, desiredCount: 100000}\n";
    let path = s.write(
        "flood.yaml",
        &(taskdef("flood", "memory: 8") + "---\n" + svc),
    );
    let o = apply_as_attacker(&s, &path, &[]);
    refused(
        &s,
        &o,
        &[
            "service/flood",
            "spec.desiredCount: 100000",
            "spec.policy.maxDesiredCount",
        ],
        ("service", "flood"),
    );
    assert!(s.containers("").is_empty(), "no task was started");
    // An admin may raise the caps: then the same write passes (dry run: nothing starts).
    let raise = "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: default}\nspec: {policy: {maxDesiredCount: 100000, maxTasks: 100000}}\n";
    expect_code(&apply_as_admin(&s, &s.write("raise.yaml", raise), &[]), 0);
    expect_code(&apply_as_admin(&s, &path, &["--dry-run"]), 0);
}

/// `POST /v1/apply` of `body` straight to the server's socket, as a client that skips the
/// CLI's own checks would (the CLI refuses files above 8 MiB before sending anything).
/// Returns the HTTP status and the answer.
fn post_apply_as_attacker(s: &Server, body: &[u8]) -> (u16, String) {
    let file = s.path().join("body.json");
    std::fs::write(&file, body).expect("write body");
    let socket = s.home().join("ecsctl.sock");
    let o = std::process::Command::new("curl")
        .args(["-sS", "--unix-socket"])
        .arg(&socket)
        .args([
            "-H",
            "content-type: application/json",
            "-w",
            "\n%{http_code}",
            "--data-binary",
        ])
        .arg(format!("@{}", file.display()))
        .arg("http://localhost/v1/apply")
        .output()
        .expect("run curl");
    let text = stdout(&o);
    let (answer, code) = text
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or(("", text.trim()));
    (code.parse().unwrap_or(0), answer.to_string())
}

fn head(text: &str) -> &str {
    &text[..text.len().min(2000)]
}

#[test]
fn ten_megabytes_of_environment_are_refused() {
    let s = Server::start();
    // Through the API: 10 MB in one variable.
    let td = serde_json::json!({"objects": [{"apiVersion": "ecs/v1", "kind": "TaskDefinition",
        "metadata": {"name": "env"}, "spec": {"containerDefinitions": [{"name": "app",
        "image": "ecsctl/busybox:local", "memory": 16,
        "environment": [{"name": "BIG", "value": "x".repeat(10_000_000)}]}]}}]});
    let (code, answer) = post_apply_as_attacker(&s, &serde_json::to_vec(&td).expect("json"));
    assert_eq!(code, 400, "{}", head(&answer));
    assert!(
        answer.contains("size-bounds")
            && answer.contains("64 KiB")
            && answer.contains("spec.containerDefinitions[0].environment[0]"),
        "{}",
        head(&answer)
    );
    assert!(
        answer.len() < 10_000,
        "the refusal does not echo the value back"
    );
    // Through the CLI, under its own 8 MiB file limit: the server refuses.
    let value = "x".repeat(7 << 20);
    let container = format!("memory: 16, environment: [{{name: BIG, value: '{value}'}}]");
    let path = s.write("env.yaml", &taskdef("env", &container));
    let o = apply_as_attacker(&s, &path, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "not refused: {}", head(&err));
    assert!(
        err.contains("size-bounds") && err.contains("64 KiB"),
        "{}",
        head(&err)
    );
    let got = s.run(&["get", "taskdefinition", "env"]);
    assert_ne!(got.status.code(), Some(0), "written: {}", stdout(&got));
}

#[test]
fn a_running_container_has_memory_and_pids_limits() {
    let s = Server::start();
    let td = "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: limited}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, command: [sleep, '600'], memory: 48}\n    - {name: side, image: ecsctl/busybox:local, command: [sleep, '600'], memoryReservation: 16, essential: false}\n";
    s.apply(td);
    let o = s.run(&["run-task", "--task-definition", "limited"]);
    expect_code(&o, 0);
    let id = stdout(&o).trim().to_string();
    s.wait_task(&id, Duration::from_secs(60), |t| {
        t["lastStatus"] == "RUNNING"
    });
    let inspect = |container: &str| -> (i64, i64) {
        let name = format!("ecsctl-{id}-{container}");
        let o = docker(&[
            "inspect",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
            &name,
        ]);
        let text = stdout(&o);
        let mut parts = text
            .split_whitespace()
            .map(|p| p.parse::<i64>().unwrap_or(-1));
        (parts.next().unwrap_or(-1), parts.next().unwrap_or(-1))
    };
    assert_eq!(inspect("app"), (48 << 20, 1024));
    let (side_memory, side_pids) = inspect("side");
    assert_eq!(side_pids, 1024);
    assert!(
        side_memory > 0,
        "a container with only a reservation is capped at the machine's memory, got {side_memory}"
    );
    expect_code(&s.run(&["stop-task", &id]), 0);
}
