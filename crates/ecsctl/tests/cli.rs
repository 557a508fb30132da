//! End-to-end tests: the real `ecsctl` binary against a real `ecsctl server` on a temp data dir.
//!
//! Services here ask for 0 tasks, so no container is ever started: these tests exercise the CLI,
//! the HTTP API and the store, not Docker.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Server, expect_code, stderr, stdout};

const TD: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata:
  name: web
spec:
  containerDefinitions:
    - name: web
      image: nginx:1.25
      memory: 128
      portMappings:
        - containerPort: 80
";

const SVC: &str = "\
apiVersion: ecs/v1
kind: Service
metadata:
  name: web
  labels:
    team: shop
spec:
  taskDefinition: web
  desiredCount: 0
";

#[test]
fn apply_creates_then_is_unchanged_then_configures() {
    let s = Server::start_without_image();
    let dir = s.path().join("m").display().to_string();
    s.write("m/td.yaml", TD);
    s.write("m/svc.yaml", SVC);

    let o = s.run(&["apply", "-f", &dir]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("taskdefinition/web:1 created\n"), "{out}");
    assert!(out.contains("service/web created\n"), "{out}");

    let o = s.run(&["apply", "-f", &dir]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("taskdefinition/web") && l.ends_with(" unchanged")),
        "{out}"
    );
    assert!(out.contains("service/web unchanged\n"), "{out}");

    // A new image makes revision 2; a new desired count configures the service.
    s.write("m/td.yaml", &TD.replace("nginx:1.25", "nginx:1.27"));
    s.write(
        "m/svc.yaml",
        &SVC.replace(
            "desiredCount: 0",
            "desiredCount: 0\n  healthCheckGracePeriodSeconds: 30",
        ),
    );
    let o = s.run(&["apply", "-f", &dir, "--dry-run"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("service/web configured (dry run)\n"),
        "{}",
        stdout(&o)
    );
    let o = s.run(&["apply", "-f", &dir]);
    expect_code(&o, 0);
    let out = stdout(&o);
    // A new revision of an existing family reads as `configured`, named by its new revision.
    assert!(out.contains("taskdefinition/web:2 configured\n"), "{out}");
    assert!(out.contains("service/web configured\n"), "{out}");

    // Every revision is listed.
    let o = s.run(&["get", "td"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("NAME    CONTAINERS   CPU   MEMORY   NETWORK MODE   AGE"),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.starts_with("web:1 ")), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("web:2 ")), "{out}");

    let o = s.run(&["get", "taskdefinitions", "-o", "json"]);
    expect_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2), "{v}");

    let o = s.run(&["get", "svc", "web", "-o", "yaml"]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("kind: Service"), "{}", stdout(&o));

    let o = s.run(&["get", "svc", "-l", "team=shop"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o)
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("web ")),
        "{}",
        stdout(&o)
    );
    let o = s.run(&["get", "svc", "-l", "team=other"]);
    expect_code(&o, 0);
    assert_eq!(stderr(&o), "No services found in cluster default.\n");

    let o = s.run(&["describe", "td", "web"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("Name:") && out.contains("web:2") && out.contains("nginx:1.27"),
        "{out}"
    );
}

#[test]
fn apply_from_stdin() {
    let s = Server::start_without_image();
    let o = s.run_stdin(&["apply", "-f", "-"], &format!("{TD}---\n{SVC}"));
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("service/web created\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn one_bad_file_in_a_directory_applies_nothing() {
    let s = Server::start_without_image();
    let dir = s.path().join("m").display().to_string();
    s.write("m/a-td.yaml", TD);
    s.write(
        "m/b-svc.yaml",
        &SVC.replace("desiredCount: 0", "desiredCount: 0\n  bogusField: 1"),
    );
    let o = s.run(&["apply", "-f", &dir]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("b-svc.yaml:"), "{err}");
    assert!(err.contains("bogusField"), "{err}");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));

    let o = s.run(&["get", "td"]);
    expect_code(&o, 0);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert_eq!(stderr(&o), "No taskdefinitions found.\n");
}

#[test]
fn diff_exit_codes() {
    let s = Server::start_without_image();
    let td = s.write("td.yaml", TD);
    // Nothing live yet: everything is new.
    let o = s.run(&["diff", "-f", &td]);
    expect_code(&o, 1);
    assert!(
        stdout(&o).starts_with("--- live/taskdefinition/web\n+++ local/taskdefinition/web\n"),
        "{}",
        stdout(&o)
    );

    expect_code(&s.run(&["apply", "-f", &td]), 0);
    let o = s.run(&["diff", "-f", &td]);
    expect_code(&o, 0);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));

    s.write("td.yaml", &TD.replace("memory: 128", "memory: 256"));
    let o = s.run(&["diff", "-f", &td]);
    expect_code(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains("-      memory: 128") || out.contains("-    memory: 128"),
        "{out}"
    );
    assert!(
        out.contains("+      memory: 256") || out.contains("+    memory: 256"),
        "{out}"
    );

    let bad = s.write(
        "bad.yaml",
        "kind: Service\nmetadata: {name: x}\nspec: {nope: 1}\n",
    );
    expect_code(&s.run(&["diff", "-f", &bad]), 2);
}

#[test]
fn delete_by_name_and_by_file() {
    let s = Server::start_without_image();
    let td = s.write("td.yaml", TD);
    let svc = s.write("svc.yaml", SVC);
    expect_code(&s.run(&["apply", "-f", &td, "-f", &svc]), 0);

    let o = s.run(&["delete", "service", "web"]);
    expect_code(&o, 0);
    assert_eq!(stdout(&o), "service/web deleted\n");

    let o = s.run(&["delete", "svc", "web"]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("service/web not found"),
        "{}",
        stderr(&o)
    );
    expect_code(&s.run(&["delete", "svc", "web", "--ignore-not-found"]), 0);

    let o = s.run(&["delete", "-f", &td]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("taskdefinition/web"), "{}", stdout(&o));
    assert!(stdout(&o).contains(" deleted"), "{}", stdout(&o));
    let o = s.run(&["get", "td"]);
    assert_eq!(stderr(&o), "No taskdefinitions found.\n");
}

#[test]
fn server_not_running_is_one_clear_line() {
    let s = Server::offline();
    let o = s.run(&["get", "services"]);
    expect_code(&o, 1);
    let err = stderr(&o);
    let sock = s.home().join("ecsctl.sock");
    assert!(
        err.starts_with(&format!(
            "error: cannot reach the ecsctl server at unix:{}: is `ecsctl server` running? (",
            sock.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A stale socket file (a server that died) reads "connection refused".
    fs::create_dir_all(s.home()).expect("mkdir");
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("bind"));
    let err = stderr(&s.run(&["get", "services"]));
    assert!(
        err.ends_with("is `ecsctl server` running? (connection refused)\n"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let s = Server::offline();
    let o = s.run(&["get", "pods"]);
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains("unknown kind \"pods\""),
        "{}",
        stderr(&o)
    );
    expect_code(&s.run(&["apply"]), 2);
    expect_code(&s.run(&["get", "svc", "--server", "http://x:1"]), 2);
    expect_code(&s.run(&["get", "svc", "--server", "tcp://127.0.0.1:1"]), 2);
    let o = s.run(&["server", "--listen", "tcp://127.0.0.1:0"]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("--token-file"), "{}", stderr(&o));
}

/// Where no etcd listens (port 1 on loopback): a server given it must fail, not hang.
const NO_ETCD: &str = "etcd://127.0.0.1:1";

/// `ecsctl server`'s etcd flags, given wrong: each exits 2 naming the flag and what to give,
/// before the server opens anything (its data directory is never made, no etcd is dialled).
#[test]
fn server_etcd_flag_mistakes_exit_2_naming_the_flag() {
    let s = Server::offline();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--store", "bogus"],
            &["--store \"bogus\": expected sled or etcd://HOST:PORT[,HOST:PORT...]"],
        ),
        (
            &["--store", "etcd://nohostport"],
            &["--store", "\"nohostport\" is not HOST:PORT"],
        ),
        (
            &["--store", "etcd://127.0.0.1:1,:2379"],
            &["--store", "\":2379\" is not HOST:PORT"],
        ),
        // The etcd companions of a sled store.
        (
            &["--store-prefix", "x"],
            &[
                "--store-prefix",
                "apply to an etcd store (--store etcd://HOST:PORT)",
            ],
        ),
        (
            &["--store", "sled", "--etcd-ca", "ca.pem"],
            &[
                "--etcd-ca",
                "apply to an etcd store (--store etcd://HOST:PORT)",
            ],
        ),
        (
            &["--store", NO_ETCD, "--store-prefix", "nodash"],
            &["--store-prefix \"nodash\"", "starts with /"],
        ),
        (
            &["--store", NO_ETCD, "--etcd-cert", "client.pem"],
            &["--etcd-key <FILE>", "required"],
        ),
        (
            &["--store", NO_ETCD, "--etcd-key", "client.key"],
            &["--etcd-cert <FILE>", "required"],
        ),
        (
            &["--store", NO_ETCD, "--leader-lease", "1s"],
            &["--leader-lease", "give whole seconds, 2s or more"],
        ),
        (
            &["--store", NO_ETCD, "--leader-lease", "1500ms"],
            &["--leader-lease", "give whole seconds, 2s or more"],
        ),
        (
            &["--store", NO_ETCD, "--leader-lease", "soon"],
            &["--leader-lease"],
        ),
    ];
    for (args, says) in cases {
        let mut argv = vec!["server"];
        argv.extend_from_slice(args);
        let started = Instant::now();
        let o = s.run(&argv);
        expect_code(&o, 2);
        let err = stderr(&o);
        for needle in *says {
            assert!(err.contains(needle), "{args:?}: no {needle:?} in:\n{err}");
        }
        // Before anything: no connection attempt (that would take etcd's request timeout),
        // no data directory.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{args:?}: took {:?}",
            started.elapsed()
        );
        assert!(!s.home().exists(), "{args:?}: made {}", s.home().display());
    }
}

/// A server whose etcd is not there exits non-zero within the store's request timeout
/// (10 s) and a little, saying it cannot reach etcd at that address; one whose TLS files
/// cannot be used exits at once as on any other bad flag (2), naming the flag and the file.
#[test]
fn a_server_that_cannot_use_its_etcd_exits_saying_why() {
    let s = Server::offline();
    // (server_until_exit fails the test if it takes longer.)
    let (o, _) = server_until_exit(&s, &["--store", NO_ETCD], Duration::from_secs(15));
    assert!(!o.status.success(), "{o:?}");
    let err = stderr(&o);
    assert!(
        err.contains("cannot use the etcd store at 127.0.0.1:1"),
        "{err}"
    );
    assert!(err.contains("etcd is unavailable"), "{err}");
    // The member's own answer, after its address.
    assert!(
        err.to_lowercase()
            .contains("127.0.0.1:1: connection refused"),
        "{err}"
    );

    let missing = s.path().join("missing-ca.pem");
    let (o, took) = server_until_exit(
        &s,
        &[
            "--store",
            NO_ETCD,
            "--etcd-ca",
            &missing.display().to_string(),
        ],
        Duration::from_secs(5),
    );
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("--etcd-ca {}", missing.display())),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// Runs `ecsctl server ARGS...` on `s`'s home until it exits, for at most `limit` (then kills
/// it and fails the test): its output and how long it ran.
fn server_until_exit(
    s: &Server,
    args: &[&str],
    limit: Duration,
) -> (std::process::Output, Duration) {
    /// Kills the server if the test fails before it exits.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let out_path = s.path().join("server.out");
    let err_path = s.path().join("server.err");
    let mut argv = vec!["server"];
    argv.extend_from_slice(args);
    let started = Instant::now();
    let mut running = Running(
        s.command(&argv)
            .stdout(fs::File::create(&out_path).expect("stdout file"))
            .stderr(fs::File::create(&err_path).expect("stderr file"))
            .spawn()
            .expect("spawn ecsctl server"),
    );
    let status = loop {
        if let Some(status) = running.0.try_wait().expect("wait for the server") {
            break status;
        }
        assert!(
            started.elapsed() < limit,
            "ecsctl server {args:?} still runs after {limit:?}:\n{}",
            fs::read_to_string(&err_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let output = std::process::Output {
        status,
        stdout: fs::read(&out_path).expect("stdout"),
        stderr: fs::read(&err_path).expect("stderr"),
    };
    (output, took)
}

#[test]
fn validate_reports_every_type_error_with_its_line() {
    let s = Server::offline();
    let f = s.write(
        "bad.yaml",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n  containerDefinitions:\n    - name: app\n      image: 5\n      memory: 64\n      portMapings: []\n    - name: side\n      image: busybox\n      memory: lots\n",
    );
    let o = s.run(&["validate", "-f", &f]);
    expect_code(&o, 2);
    let err = stderr(&o);
    for line in [
        format!("{f}:7:14: spec.containerDefinitions[0].image: expected a string, got 5"),
        format!("{f}:9:20: spec.containerDefinitions[0].portMapings: unknown field"),
        format!("{f}:12:15: spec.containerDefinitions[1].memory: expected memory in MiB"),
    ] {
        assert!(err.lines().any(|l| l.starts_with(&line)), "{line}\n{err}");
    }
    assert!(err.contains("3 problems found"), "{err}");
}

#[test]
fn validate_is_offline() {
    let s = Server::offline();
    s.write("m/td.yaml", TD);
    s.write("m/svc.yaml", SVC);
    s.write("m/.hidden/broken.yaml", "this: [is not valid");
    s.write("m/notes.txt", "not a manifest");
    let dir = s.path().join("m").display().to_string();
    let o = s.run(&["validate", "-f", &dir]);
    expect_code(&o, 0);
    assert_eq!(stdout(&o), "2 documents valid\n");

    let bad = s.write("m/zz.yaml", "apiVersion: ecs/v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  taskDefinition: web\n  desiredCount: -1\n");
    let o = s.run(&["validate", "-f", &dir]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.lines().any(|l| l.starts_with(&format!("{bad}:7:"))),
        "{err}"
    );

    let bin = s.path().join("m/bin.yaml");
    fs::write(&bin, b"kind: \xff\n").expect("write");
    let o = s.run(&["validate", "-f", &bin.display().to_string()]);
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains(&format!(
            "{}: not a text file (invalid UTF-8 at byte 6)",
            bin.display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn schema_out_and_check() {
    let s = Server::offline();
    let out = s.path().join("schemas");
    let out_s = out.display().to_string();
    expect_code(&s.run(&["schema", "--out", &out_s]), 0);
    assert!(out.join("all.json").exists());
    expect_code(&s.run(&["schema", "--check", &out_s]), 0);

    let o = s.run(&["schema"]);
    expect_code(&o, 0);
    assert_eq!(
        stdout(&o),
        fs::read_to_string(out.join("all.json")).expect("all.json")
    );

    fs::write(out.join("all.json"), "{}\n").expect("write");
    let o = s.run(&["schema", "--check", &out_s]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains(&format!("stale: {out_s}/all.json")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_command_has_examples() {
    let s = Server::offline();
    for cmd in [
        "server", "apply", "get", "describe", "delete", "diff", "validate", "schema", "scale",
        "rollout", "events", "drain", "undrain", "console",
    ] {
        let o = s.run(&[cmd, "--help"]);
        expect_code(&o, 0);
        assert!(stdout(&o).contains("EXAMPLES:"), "{cmd}: {}", stdout(&o));
    }
    for sub in ["status", "history", "undo", "restart"] {
        let o = s.run(&["rollout", sub, "--help"]);
        expect_code(&o, 0);
        assert!(
            stdout(&o).contains("EXAMPLES:"),
            "rollout {sub}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn scale_and_rollout_name_a_service() {
    let s = Server::offline();
    for args in [
        &["scale", "web", "--replicas", "2"][..],
        &["scale", "task/abc", "--replicas", "2"],
        &["scale", "service", "web"],
        &["scale", "service/web", "--replicas", "-1"],
        &["rollout", "status", "web"],
        &["rollout", "undo", "service/web", "--to-revision", "0"],
        &["rollout", "history"],
        &["events", "-A", "--cluster", "prod"],
    ] {
        let o = s.run(args);
        expect_code(&o, 2);
    }
}

#[test]
fn tcp_needs_the_token() {
    let mut s = Server::offline();
    let token = s.write("token", "s3cret\n");
    let wrong = s.write("wrong", "nope\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("tcp://127.0.0.1:{port}");
    s.serve(
        &["--listen", &addr, "--token-file", &token],
        &["--server", &addr, "--token-file", &token],
    );

    let o = s.run(&["get", "clusters", "--server", &addr, "--token-file", &token]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("default"), "{}", stdout(&o));
    let o = s.run(&["get", "clusters", "--server", &addr, "--token-file", &wrong]);
    expect_code(&o, 1);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = s.run(&["get", "clusters", "--server", &addr]);
    expect_code(&o, 2);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut s = Server::start_without_image();
    let pid = s.child_mut().map(|c| c.id()).expect("server");
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = s.child_mut().expect("server").try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            // Dropping `s` kills it.
            panic!("server did not stop on SIGTERM:\n{}", s.log());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}:\n{}", s.log());
    assert!(
        !s.home().join("ecsctl.sock").exists(),
        "the socket file is removed"
    );
    let o = s.run(&["get", "svc"]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("is `ecsctl server` running?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn describe_and_get_of_missing_objects_fail() {
    let s = Server::start_without_image();
    let o = s.run(&["describe", "service", "nope"]);
    expect_code(&o, 1);
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
    expect_code(&s.run(&["get", "td", "nope:3"]), 1);
    let o = s.run(&["describe", "cluster", "default"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).starts_with("Name:             default\nKind:             Cluster\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn drain_and_undrain_say_what_changed() {
    let s = Server::start_without_image();
    let o = s.run(&["get", "ci", "-o", "json"]);
    expect_code(&o, 0);
    let list: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let id = list["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("the server's instance: {list}"))
        .to_string();
    for (args, said) in [
        (["drain", id.as_str()], "draining"),
        (["drain", id.as_str()], "already draining"),
        (["undrain", id.as_str()], "active"),
        (["undrain", id.as_str()], "already active"),
    ] {
        let o = s.run(&args);
        expect_code(&o, 0);
        assert_eq!(
            stdout(&o),
            format!("containerinstance/{id} {said}\n"),
            "{args:?}"
        );
    }
    let o = s.run(&["drain", "ghost", "--cluster", "default"]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("container instance ghost not found in cluster default"),
        "{}",
        stderr(&o)
    );
    expect_code(&s.run(&["drain"]), 2);
}

/// Every corpus file that validates also applies through the real binary and server, one
/// `ecsctl apply -f FILE` each; the rejected ones change nothing.
#[test]
fn accepted_corpus_files_apply() {
    let s = Server::start_without_image();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/ecs");
    let mut files: Vec<PathBuf> = ["taskdefs", "services"]
        .iter()
        .flat_map(|d| {
            fs::read_dir(corpus.join(d))
                .expect("corpus")
                .flatten()
                .map(|e| e.path())
        })
        .collect();
    files.sort();
    let (mut applied, mut rejected) = (0, 0);
    for f in &files {
        let f = f.display().to_string();
        let valid = s.run(&["validate", "-f", &f]).status.success();
        let o = s.run(&["apply", "-f", &f]);
        if valid {
            expect_code(&o, 0);
            assert!(
                stdout(&o).contains(" created") || stdout(&o).contains(" configured"),
                "{f}: {}",
                stdout(&o)
            );
            applied += 1;
        } else {
            expect_code(&o, 2);
            rejected += 1;
        }
    }
    assert_eq!((applied, rejected), (51, 48));
    // Two wildfly files share a family: the second applied is revision 2 of it.
    let o = s.run(&["get", "td", "wildfly:2"]);
    expect_code(&o, 0);
    let o = s.run(&["get", "svc", "-A", "-o", "json"]);
    let items: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(
        items["items"].as_array().map(Vec::len),
        Some(3),
        "{}",
        stdout(&o)
    );
    // ECS names are kept as written.
    assert!(
        items["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["metadata"]["name"] == "MythicalMysfits-Service"
                && i["metadata"]["cluster"] == "MythicalMysfits-Cluster"),
        "{}",
        stdout(&o)
    );
}

/// ECS names through the CLI: ECS JSON files with `My_App`, `Web_App` and `Shop_Prod` make
/// objects of exactly those names, `get` finds them by them, and a name whose DNS alias is
/// taken is refused naming both.
#[test]
fn ecs_names_keep_their_case_through_the_cli() {
    let s = Server::start_without_image();
    s.write(
        "ecs/td.json",
        r#"{"family": "My_App", "containerDefinitions": [{"name": "App_Main", "image": "nginx:1.25", "memory": "128"}]}"#,
    );
    s.write(
        "ecs/svc.json",
        r#"{"serviceName": "Web_App", "cluster": "Shop_Prod", "taskDefinition": "My_App", "desiredCount": 0, "clientToken": "t-1"}"#,
    );
    s.write(
        "cluster.yaml",
        "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: Shop_Prod}\nspec: {}\n",
    );
    let o = s.run(&[
        "apply",
        "-f",
        &s.path().join("cluster.yaml").display().to_string(),
    ]);
    expect_code(&o, 0);
    let o = s.run(&["apply", "-f", &s.path().join("ecs").display().to_string()]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("taskdefinition/My_App:1 created"), "{out}");
    assert!(out.contains("service/Web_App created"), "{out}");
    assert!(!stderr(&o).contains("stored as"), "{}", stderr(&o));

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
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["metadata"]["name"], "Web_App");
    assert_eq!(v["spec"]["taskDefinition"], "My_App");
    let o = s.run(&["get", "td", "My_App"]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("My_App"), "{}", stdout(&o));
    let o = s.run(&["get", "svc", "web-app", "--cluster", "Shop_Prod"]);
    assert_ne!(o.status.code(), Some(0), "only the exact name finds it");

    s.write(
        "clash.json",
        r#"{"serviceName": "web-app", "cluster": "Shop_Prod", "taskDefinition": "My_App", "desiredCount": 0}"#,
    );
    let o = s.run(&[
        "apply",
        "-f",
        &s.path().join("clash.json").display().to_string(),
    ]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("alias-clash")
            && err.contains("service/web-app")
            && err.contains("service/Web_App"),
        "{err}"
    );
}
