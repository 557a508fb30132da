//! `ecsctl exec` on real Docker, through the real binary over TCP with tokens: a command's
//! exit code comes back as ecsctl's, stdin reaches it (`-i`), `-t` gives it a terminal, it
//! is refused where execute command is off (and to a viewer), and each exec is an event on
//! the task.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh).
#![cfg(feature = "docker-tests")]

mod support;

use serde_json::Value;
use std::process::Output;
use std::time::Duration;
use support::roles::{As, RoleServer};
use support::{expect_code, stderr, stdout};

/// A task definition of `containers` (each a sleeping busybox that stops at once on SIGTERM).
fn task_definition(family: &str, containers: &[&str]) -> String {
    let defs: String = containers
        .iter()
        .map(|c| {
            format!(
                "    - {{name: {c}, image: ecsctl/busybox:local, memory: 16, stopTimeout: 1, command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 0.2; done']}}\n"
            )
        })
        .collect();
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {family}}}\nspec:\n  containerDefinitions:\n{defs}"
    )
}

/// `ecsctl exec` as `who`, with `stdin` on its standard input.
fn exec_as(s: &RoleServer, who: As, args: &[&str], stdin: &str) -> Output {
    let token = s.path().join(match who {
        As::Admin => "admin.token",
        As::Deployer => "deployer.token",
        As::Viewer => "viewer.token",
    });
    let token = token.display().to_string();
    let mut all = vec![
        "--server",
        s.url.as_str(),
        "--token-file",
        token.as_str(),
        "exec",
    ];
    all.extend_from_slice(args);
    s.run_stdin(&all, stdin)
}

/// Waits for a RUNNING task of `service` and returns its id.
fn running_task(s: &RoleServer, service: &str) -> String {
    running_task_where(s, service, |_| true)
}

/// Waits for a RUNNING task of `service` for which `pred` holds and returns its id.
fn running_task_where(s: &RoleServer, service: &str, pred: impl Fn(&Value) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = s.get_json(As::Admin, &["tasks"]);
        let found = list["items"].as_array().and_then(|items| {
            items.iter().find(|t| {
                t["metadata"]["labels"]["ecsctl.service"] == service
                    && t["status"]["lastStatus"] == "RUNNING"
                    && pred(t)
            })
        });
        if let Some(t) = found {
            return t["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no RUNNING task of {service}: {list:#}\nserver log:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn exec_streams_stdin_output_and_the_exit_code_and_records_events() {
    let s = RoleServer::start("default", &[]);
    s.apply(&format!(
        "{}---\napiVersion: ecs/v1\nkind: Service\nmetadata: {{name: shell}}\nspec: {{taskDefinition: execd, desiredCount: 1, enableExecuteCommand: true}}\n",
        task_definition("execd", &["app"])
    ));
    let task = running_task(&s, "shell");
    let t = task.as_str();
    let spec = s.get_json(As::Admin, &["task", t]);
    assert_eq!(spec["spec"]["enableExecuteCommand"], true, "{spec:#}");

    // The command's exit code is ecsctl's.
    let o = exec_as(&s, As::Deployer, &[t, "--", "sh", "-c", "exit 3"], "");
    expect_code(&o, 3);
    // stdin reaches the command and ends with the pipe.
    let o = exec_as(&s, As::Deployer, &["-i", t, "--", "cat"], "hi\n");
    expect_code(&o, 0);
    assert_eq!(stdout(&o), "hi\n");
    // stdout and stderr stay apart without a terminal.
    let o = exec_as(
        &s,
        As::Deployer,
        &[t, "--", "sh", "-c", "echo out; echo err >&2"],
        "",
    );
    expect_code(&o, 0);
    assert_eq!(
        (stdout(&o).as_str(), stderr(&o).as_str()),
        ("out\n", "err\n")
    );
    // -t gives it a terminal; without, it has none.
    let o = exec_as(&s, As::Deployer, &["-t", t, "--", "tty"], "");
    expect_code(&o, 0);
    assert!(stdout(&o).starts_with("/dev/pts/"), "{}", stdout(&o));
    let o = exec_as(&s, As::Deployer, &[t, "--", "sh", "-c", "test -t 1"], "");
    expect_code(&o, 1);
    // A command that is not there: the engine's 126, and its words.
    let o = exec_as(&s, As::Deployer, &[t, "--", "no-such-command"], "");
    expect_code(&o, 126);
    assert!(stdout(&o).contains("no-such-command") || stderr(&o).contains("no-such-command"));

    // A viewer may read the task but not run commands in it.
    let o = exec_as(&s, As::Viewer, &[t, "--", "true"], "");
    expect_code(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("forbidden: role viewer")
            && err.contains("(rule: role-permissions)")
            && err.lines().count() == 1,
        "{err}"
    );

    // Each exec is an event on the task: who, which container, what, and how it ended.
    let o = s.run_as(As::Deployer, &["describe", "task", t]);
    expect_code(&o, 0);
    let described = stdout(&o);
    assert!(
        described.contains(&format!(
            "(task {t}) execute command in container app by deployer (tokens:"
        )) && described.contains("exited with code 3: sh -c 'exit 3'")
            && described.contains("exited with code 0: cat"),
        "{described}"
    );
    assert!(
        !described.contains("viewer"),
        "a refused exec runs nothing: {described}"
    );
    // ... and in `ecsctl events`, beside the services'.
    let o = s.run_as(As::Deployer, &["events"]);
    expect_code(&o, 0);
    let events = stdout(&o);
    assert!(
        events.contains(&format!("task/{t}"))
            && events.contains("exited with code 3: sh -c 'exit 3'")
            && events.contains("(service shell) has started 1 tasks"),
        "{events}"
    );
}

#[test]
fn exec_is_refused_where_execute_command_is_off() {
    let s = RoleServer::start("default", &[]);
    s.apply(&format!(
        "{}---\n{}",
        task_definition("plain", &["app"]),
        task_definition("pair", &["app", "side"])
    ));
    let run = |args: &[&str]| -> String {
        let mut all = vec!["run-task", "--wait"];
        all.extend_from_slice(args);
        let o = s.run_as(As::Deployer, &all);
        expect_code(&o, 0);
        stdout(&o).trim().to_string()
    };
    // Off by default, as in ECS.
    let off = run(&["--task-definition", "plain"]);
    let o = exec_as(&s, As::Deployer, &[&off, "--", "true"], "");
    expect_code(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("execute command was not enabled when task")
            && err.contains(&off)
            && err.lines().count() == 1,
        "{err}"
    );

    // Turned on by run-task; a task of two containers needs -c.
    let on = run(&["--task-definition", "pair", "--enable-execute-command"]);
    let o = exec_as(&s, As::Deployer, &[&on, "--", "true"], "");
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains("(app, side): name one with -c"),
        "{}",
        stderr(&o)
    );
    let o = exec_as(&s, As::Deployer, &["-c", "db", &on, "--", "true"], "");
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("its containers are app, side"),
        "{}",
        stderr(&o)
    );
    let o = exec_as(
        &s,
        As::Deployer,
        &["-c", "side", &on, "--", "sh", "-c", "exit 7"],
        "",
    );
    expect_code(&o, 7);

    // A service's tasks get it from the service: turned on, a restart's tasks take commands.
    let service = |exec: bool| {
        format!(
            "apiVersion: ecs/v1\nkind: Service\nmetadata: {{name: later}}\nspec: {{taskDefinition: plain, desiredCount: 1, enableExecuteCommand: {exec}}}\n"
        )
    };
    s.apply(&service(false));
    let before = running_task(&s, "later");
    let o = exec_as(&s, As::Deployer, &[&before, "--", "true"], "");
    expect_code(&o, 1);
    assert!(
        stderr(&o)
            .contains("then `ecsctl rollout restart service/later` starts tasks that have it"),
        "{}",
        stderr(&o)
    );
    s.apply(&service(true));
    let o = s.run_as(As::Deployer, &["rollout", "restart", "service/later"]);
    expect_code(&o, 0);
    let after = running_task_where(&s, "later", |t| t["spec"]["enableExecuteCommand"] == true);
    let o = exec_as(&s, As::Deployer, &[&after, "--", "sh", "-c", "exit 4"], "");
    expect_code(&o, 4);

    // A stopped task takes no commands.
    let o = s.run_as(As::Deployer, &["stop-task", &on, "--wait"]);
    expect_code(&o, 0);
    let o = exec_as(&s, As::Deployer, &["-c", "side", &on, "--", "true"], "");
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("is not in RUNNING state (last status STOPPED"),
        "{}",
        stderr(&o)
    );
}
