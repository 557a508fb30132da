//! Resources and sizes are bounded: 4 TiB of memory, no memory limit, 100,000 desired
//! tasks and 10 MB of environment, tried by a `deployer`, are refused with messages naming
//! the field and who may change the bound; an admin may raise a cap, a deployer may not; a
//! running container's `docker inspect` shows its memory and pids limits.

use crate::support::roles::{As, RoleServer};
use crate::support::{docker, expect_code, stderr, stdout};
use std::process::Output;

/// `ecsctl apply -f FILE EXTRA...` as `who`.
fn apply(s: &RoleServer, who: As, path: &str, extra: &[&str]) -> Output {
    let mut args = vec!["apply", "-f", path];
    args.extend_from_slice(extra);
    s.run_as(who, &args)
}

/// Asserts a refusal by the server's bounds (exit 2) whose message holds every needle,
/// and that nothing of `object` was written.
#[track_caller]
fn refused(s: &RoleServer, o: &Output, needles: &[&str], object: (&str, &str)) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "not refused: {}", head(&err));
    for n in needles {
        assert!(err.contains(n), "{n:?} not in:\n{}", head(&err));
    }
    let got = s.run_as(As::Admin, &["get", object.0, object.1]);
    assert_ne!(
        got.status.code(),
        Some(0),
        "{object:?} was written: {}",
        stdout(&got)
    );
}

fn head(text: &str) -> &str {
    &text[..text.len().min(2000)]
}

fn taskdef(name: &str, container: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {name}}}\nspec:\n  containerDefinitions:\n    - {{name: app, image: ecsctl/busybox:local, command: [sleep, '600'], {container}}}\n"
    )
}

#[test]
fn four_tib_of_memory_is_refused() {
    let s = RoleServer::start("default", &[]);
    let path = s
        .server
        .write("huge.yaml", &taskdef("huge", "memory: 4096 GiB"));
    let o = apply(&s, As::Deployer, &path, &[]);
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
    let s = RoleServer::start("default", &[]);
    let path = s.server.write("bare.yaml", &taskdef("bare", "cpu: 128"));
    let o = apply(&s, As::Deployer, &path, &[]);
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
    let s = RoleServer::start("default", &[]);
    let svc = "apiVersion: ecs/v1\nkind: Service\nmetadata: {name: flood}\nspec: {taskDefinition: flood, desiredCount: 100000}\n";
    let path = s.server.write(
        "flood.yaml",
        &(taskdef("flood", "memory: 8") + "---\n" + svc),
    );
    let o = apply(&s, As::Deployer, &path, &[]);
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
    assert!(s.server.containers("").is_empty(), "no task was started");
    // Raising the caps is a Cluster write: a deployer may not, an admin may; then the same
    // write passes (dry run: nothing starts).
    let raise = "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: default}\nspec: {policy: {maxDesiredCount: 100000, maxTasks: 100000}}\n";
    let raise = s.server.write("raise.yaml", raise);
    let o = apply(&s, As::Deployer, &raise, &[]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("role deployer"), "{}", stderr(&o));
    expect_code(&apply(&s, As::Admin, &raise, &[]), 0);
    expect_code(&apply(&s, As::Deployer, &path, &["--dry-run"]), 0);
}

/// `POST /v1/apply` of `body` straight to the server as a deployer, as a client that skips
/// the CLI's own checks would (the CLI refuses files above 8 MiB before sending anything).
/// Returns the HTTP status and the answer.
fn post_apply_as_deployer(s: &RoleServer, body: &[u8]) -> (u16, String) {
    let file = s.server.path().join("body.json");
    std::fs::write(&file, body).expect("write body");
    let token = std::fs::read_to_string(s.server.path().join("deployer.token")).expect("token");
    let url = format!("{}/v1/apply", s.url.replacen("tcp://", "http://", 1));
    let o = std::process::Command::new("curl")
        .args(["-sS", "-H", "content-type: application/json", "-H"])
        .arg(format!("authorization: Bearer {}", token.trim()))
        .args(["-w", "\n%{http_code}", "--data-binary"])
        .arg(format!("@{}", file.display()))
        .arg(url)
        .output()
        .expect("run curl");
    let text = stdout(&o);
    let (answer, code) = text
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or(("", text.trim()));
    (code.parse().unwrap_or(0), answer.to_string())
}

#[test]
fn ten_megabytes_of_environment_are_refused() {
    let s = RoleServer::start("default", &[]);
    // Through the API: 10 MB in one variable.
    let td = serde_json::json!({"objects": [{"apiVersion": "ecs/v1", "kind": "TaskDefinition",
        "metadata": {"name": "env"}, "spec": {"containerDefinitions": [{"name": "app",
        "image": "ecsctl/busybox:local", "memory": 16,
        "environment": [{"name": "BIG", "value": "x".repeat(10_000_000)}]}]}}]});
    let (code, answer) = post_apply_as_deployer(&s, &serde_json::to_vec(&td).expect("json"));
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
    let path = s.server.write("env.yaml", &taskdef("env", &container));
    let o = apply(&s, As::Deployer, &path, &[]);
    refused(
        &s,
        &o,
        &["size-bounds", "64 KiB"],
        ("taskdefinition", "env"),
    );
}

#[test]
fn a_running_container_has_memory_and_pids_limits() {
    let s = RoleServer::start("default", &[]);
    let td = "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: limited}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, command: [sleep, '600'], memory: 48}\n    - {name: side, image: ecsctl/busybox:local, command: [sleep, '600'], memoryReservation: 16, essential: false}\n";
    let path = s.server.write("limited.yaml", td);
    expect_code(&apply(&s, As::Deployer, &path, &[]), 0);
    let o = s.run_as(
        As::Deployer,
        &["run-task", "--task-definition", "limited", "--wait"],
    );
    expect_code(&o, 0);
    let id = stdout(&o).trim().to_string();
    let inspect = |container: &str| -> (i64, i64) {
        let found = docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=ecsctl.task={id}"),
            "--filter",
            &format!("label=ecsctl.container={container}"),
        ]);
        let name = String::from_utf8_lossy(&found.stdout).trim().to_string();
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
    expect_code(&s.run_as(As::Deployer, &["stop-task", &id]), 0);
}
