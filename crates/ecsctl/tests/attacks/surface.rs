//! The server's surface: connections without a token, `ecsctl sync` of host directories,
//! listeners on privileged ports and public addresses, control characters that would reach a
//! terminal, and fields accepted but not applied.
//!
//! What a deployer may send goes through [`as_deployer`]. `ecsctl sync` is an admin's (a
//! deployer is refused it by role), so the sync roots are tried as the unix socket's owner,
//! the admin, whom they bind too; connections without a token have no identity at all.

use crate::support::roles::{As, RoleServer};
use crate::support::{Server, stderr, stdout};
use std::io::Read;
use std::net::TcpStream;
use std::process::Output;
use std::time::{Duration, Instant};

/// Runs one client command as the admin (the unix socket's owner).
fn as_user(s: &Server, args: &[&str]) -> Output {
    s.run(args)
}

/// Runs one client command as a deployer of every cluster.
fn as_deployer(s: &RoleServer, args: &[&str]) -> Output {
    s.run_as(As::Deployer, args)
}

fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("local address")
        .port()
}

#[test]
fn sync_of_etc_is_refused_without_reading_it() {
    let s = Server::start_without_image();
    let o = as_user(&s, &["sync", "/etc"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let said = text(&o);
    assert!(
        said.contains("/etc is not a directory this server syncs")
            && said.contains("ecsctl server --sync-root DIR"),
        "{said}"
    );
    for file in ["passwd", "shadow", "hosts", ".yaml"] {
        assert!(
            !said.contains(file),
            "the answer shows /etc was read: {said}"
        );
    }
    let o = as_user(&s, &["get", "syncs"]);
    assert!(
        !stdout(&o).contains("/etc"),
        "nothing recorded: {}",
        text(&o)
    );

    // The operator's root: a directory below it syncs.
    let mut s = Server::offline();
    s.write(
        "deploy/app/td.yaml",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: synced}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, memory: 32}\n",
    );
    let root = s.path().join("deploy").display().to_string();
    s.serve(&["--sync-root", &root], &[]);
    let o = as_user(&s, &["sync", &format!("{root}/app")]);
    assert!(
        o.status.success() && stdout(&o).contains("taskdefinition/synced:1 created"),
        "{}",
        text(&o)
    );
    let o = as_user(&s, &["sync", "/etc"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(&root), "names the roots: {}", text(&o));
}

const LISTENER_80: &str = "apiVersion: ecs/v1\nkind: LoadBalancer\nmetadata: {name: web}\nspec:\n  listeners: [{port: 80, protocol: HTTP, defaultService: web}]\n";

#[test]
fn a_listener_on_port_80_is_refused_until_the_policy_allows_it() {
    let s = RoleServer::start("*", &[]);
    let lb = s.write("lb.yaml", LISTENER_80);
    let o = as_deployer(&s, &["apply", "-f", &lb]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("listener-policy")
            && text(&o).contains("spec.listeners[0].port 80 is a privileged port")
            && text(&o).contains("spec.policy.allowPrivilegedPorts"),
        "{}",
        text(&o)
    );
    let o = as_deployer(&s, &["get", "lb"]);
    assert!(!stdout(&o).contains("web"), "nothing written: {}", text(&o));

    // A listener on every address (a port the OS picked, so nothing is taken): refused too.
    let public = s.write(
        "public.yaml",
        &format!(
            "apiVersion: ecs/v1\nkind: LoadBalancer\nmetadata: {{name: public}}\nspec:\n  listeners: [{{port: {}, protocol: TCP, address: 0.0.0.0, defaultService: web}}]\n",
            free_port()
        ),
    );
    let o = as_deployer(&s, &["apply", "-f", &public]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("spec.policy.allowPublicListeners"),
        "{}",
        text(&o)
    );

    // The cluster's policy allows both: admitted (a dry run, so that the server does not
    // take port 80 of this machine).
    let policy = s.write(
        "cluster.yaml",
        "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: default}\nspec:\n  policy: {allowPrivilegedPorts: true, allowPublicListeners: true}\n",
    );
    let o = s.run(&["apply", "-f", &policy]);
    assert!(o.status.success(), "{}", text(&o));
    for file in [&lb, &public] {
        let o = as_deployer(&s, &["apply", "-f", file, "--dry-run"]);
        assert!(
            o.status.success() && stdout(&o).contains("created (dry run)"),
            "{}",
            text(&o)
        );
    }
}

const SLEEPER: &str = "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: sleeper}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, memory: 32, stopTimeout: 1, command: [sh, -c, 'exec sleep 3600']}\n";

#[test]
fn a_stop_reason_with_escape_sequences_is_refused() {
    let s = RoleServer::start("*", &[]);
    let td = s.write("td.yaml", SLEEPER);
    let o = s.run(&["apply", "-f", &td]);
    assert!(o.status.success(), "{}", text(&o));
    let o = s.run(&[
        "run-task",
        "--task-definition",
        "sleeper",
        "--wait",
        "--timeout",
        "30s",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let id = stdout(&o).trim().to_string();

    // Retitle the window, clear the screen, and a C1 CSI for terminals that read it.
    let reason = "done\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";
    let o = as_deployer(&s, &["stop-task", &id, "--reason", reason]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let said = text(&o);
    assert!(
        said.contains("terminal-safe-text")
            && said.contains("spec.stoppedReason contains the control character U+001B (ESC)"),
        "{said}"
    );
    assert!(
        !said.contains('\u{1b}') && !said.contains('\u{9b}'),
        "the refusal itself printed the sequence: {said:?}"
    );
    // Nothing changed: the task runs on.
    let task = s.task(&id);
    assert_eq!(
        task["spec"]["desiredStatus"].as_str().unwrap_or("RUNNING"),
        "RUNNING",
        "{task}"
    );
    let o = s.run(&["describe", "task", &id]);
    assert!(!text(&o).contains('\u{1b}'), "{}", text(&o));

    // A plain reason stops it.
    let o = as_deployer(&s, &["stop-task", &id, "--reason", "done", "--wait"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_task_definition_with_links_warns_that_they_are_not_applied() {
    let s = RoleServer::start("*", &[]);
    let td = s.write(
        "links.yaml",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n  containerDefinitions:\n    - {name: db, image: ecsctl/busybox:local, memory: 32}\n    - {name: app, image: ecsctl/busybox:local, memory: 32, links: [db]}\n",
    );
    let o = as_deployer(&s, &["apply", "-f", &td]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("taskdefinition/web:1 created"),
        "{}",
        text(&o)
    );
    assert!(
        stderr(&o)
            .contains("spec.containerDefinitions[1].links: accepted but not applied by ecsctl"),
        "{}",
        text(&o)
    );
}

#[test]
fn idle_connections_without_a_token_do_not_hold_the_server() {
    let mut s = Server::offline();
    let token = s.write("token", "t0ken-surface\n");
    let port = free_port();
    let url = format!("tcp://127.0.0.1:{port}");
    let client = ["--server", url.as_str(), "--token-file", token.as_str()];
    s.serve(&["--listen", &url, "--token-file", &token], &client);

    let mut idle = Vec::new();
    for _ in 0..150 {
        idle.push(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    }
    let start = Instant::now();
    let o = as_user(&s, &[&client[..], &["get", "clusters"]].concat());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "served only after {:?}",
        start.elapsed()
    );
    // The server closes every one of them within its header timeout (10 s), plus slack.
    let deadline = Instant::now() + Duration::from_secs(20);
    for mut c in idle {
        let left = deadline.saturating_duration_since(Instant::now());
        c.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("timeout");
        let mut buf = [0u8; 256];
        loop {
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue, // a 408 before the close
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("an idle connection stayed open: {e}"),
            }
        }
    }
    let o = as_user(&s, &[&client[..], &["get", "clusters"]].concat());
    assert!(o.status.success(), "{}", text(&o));
}
