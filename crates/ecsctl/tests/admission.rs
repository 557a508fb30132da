//! One admission chain for every writer, through the real binary: what `ecsctl apply` refuses,
//! a watched directory (`--watch`) and `ecsctl sync` refuse too, naming the rule and the
//! file; what `ecsctl delete` may not delete, a sync does not prune.

mod support;

use std::fs;
use std::time::{Duration, Instant};
use support::{Server, stderr, stdout};

const PRIVILEGED: &str = "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: root}\nspec:\n  containerDefinitions:\n    - {name: app, image: busybox, memory: 32, privileged: true}\n---\napiVersion: ecs/v1\nkind: Service\nmetadata: {name: root}\nspec: {taskDefinition: root, desiredCount: 1}\n";
const SHADOW: &str =
    "apiVersion: ecs/v1\nkind: Secret\nmetadata: {name: shadow}\nspec: {fromFile: /etc/shadow}\n";
const HOME_VAR: &str =
    "apiVersion: ecs/v1\nkind: Secret\nmetadata: {name: home}\nspec: {fromEnv: HOME}\n";
const DEFAULT_CLUSTER: &str = "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: default}\nspec: {policy: {allowHostNetwork: false}}\n";

/// `get syncs` until it shows `needle` (and returns it), for up to 5 s.
fn syncs_showing(s: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = stdout(&s.run(&["get", "syncs"]));
        if text.contains(needle) {
            return text;
        }
        assert!(Instant::now() < deadline, "{needle:?} not in:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_writer_is_refused_what_apply_is_refused() {
    let mut s = Server::offline();
    let deploy = s.path().join("deploy");
    fs::create_dir(&deploy).expect("mkdir");
    fs::write(deploy.join("cluster.yaml"), DEFAULT_CLUSTER).expect("write");
    let d = fs::canonicalize(&deploy)
        .expect("canon")
        .display()
        .to_string();
    s.serve(&["--watch", &d], &[]);
    syncs_showing(&s, "Synced");

    let cases = [
        (
            "root.yaml",
            PRIVILEGED,
            "spec.policy.allowPrivileged",
            "service/root",
        ),
        ("shadow.yaml", SHADOW, "--secret-files-dir", "secret/shadow"),
        ("home.yaml", HOME_VAR, "--secret-env-prefix", "secret/home"),
    ];
    for (file, manifest, rule, object) in cases {
        // ecsctl apply: refused, nothing written.
        let path = s.write(file, manifest);
        let o = s.run(&["apply", "-f", &path]);
        assert_eq!(o.status.code(), Some(2), "{file}: {o:?}");
        assert!(
            stderr(&o).contains(rule) && stderr(&o).contains(object),
            "{}",
            stderr(&o)
        );

        // The watched directory: the sync fails, `get syncs` names the file and the rule.
        fs::write(deploy.join(file), manifest).expect("write");
        let text = syncs_showing(&s, rule);
        assert!(text.contains("Error"), "{text}");
        assert!(text.contains(&format!("{file}: {object}: ")), "{text}");

        // ecsctl sync: the same refusal.
        let o = s.run(&["sync", &d]);
        assert_ne!(o.status.code(), Some(0), "{o:?}");
        assert!(stderr(&o).contains(rule), "{}", stderr(&o));

        fs::remove_file(deploy.join(file)).expect("rm");
        syncs_showing(&s, "Synced");
        let kind_name: Vec<&str> = object.split('/').collect();
        let o = s.run(&["get", kind_name[0], kind_name[1]]);
        assert_eq!(o.status.code(), Some(1), "never written: {o:?}");
    }

    // A directory that declared the default cluster and drops it: kept, as `delete` would.
    fs::remove_file(deploy.join("cluster.yaml")).expect("rm");
    let o = s.run(&["sync", &d]);
    assert!(o.status.success(), "{o:?}");
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("cluster/default is no longer in") && said.contains("cannot be deleted"),
        "{said}"
    );
    assert!(s.run(&["get", "cluster", "default"]).status.success());
    let o = s.run(&["delete", "cluster", "default"]);
    assert_ne!(o.status.code(), Some(0), "{o:?}");
    assert!(
        stderr(&o).contains("the default cluster cannot be deleted"),
        "{o:?}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "docker-tests"),
    ignore = "runs containers: the Docker tier (--features docker-tests)"
)]
fn secrets_read_only_what_the_operator_allows() {
    let mut s = Server::offline();
    support::ensure_image();
    let allowed = s.path().join("keys");
    fs::create_dir(&allowed).expect("mkdir");
    fs::write(allowed.join("db"), "db-value\n").expect("write");
    // A link placed in the directory that leads out of it.
    std::os::unix::fs::symlink("/etc/hostname", allowed.join("escape")).expect("symlink");
    let dir = fs::canonicalize(&allowed)
        .expect("canon")
        .display()
        .to_string();
    s.serve(&["--secret-files-dir", &dir], &[]);

    let secret = |name: &str, file: &str| {
        format!(
            "apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: {name}}}\nspec: {{fromFile: {dir}/{file}}}\n"
        )
    };
    let o = s.run(&["apply", "-f", &s.write("db.yaml", &secret("db", "db"))]);
    assert!(o.status.success(), "{o:?}");
    // `..` is refused at apply; the link passes apply (it is a name inside the directory)
    // and is refused when a task would read it.
    let o = s.run(&[
        "apply",
        "-f",
        &s.write("up.yaml", &secret("up", "../../etc/hostname")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = s.run(&[
        "apply",
        "-f",
        &s.write("escape.yaml", &secret("escape", "escape")),
    ]);
    assert!(o.status.success(), "{o:?}");

    let task = |name: &str, secret: &str| {
        format!(
            "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {name}}}\nspec:\n  containerDefinitions:\n    - name: app\n      image: {}\n      command: [sh, -c, 'echo \"got=$S\"; sleep 30']\n      memory: 32\n      stopTimeout: 1\n      secrets: [{{name: S, valueFrom: {secret}}}]\n",
            support::IMAGE
        )
    };
    s.apply(&task("reads-db", "db"));
    s.apply(&task("reads-escape", "escape"));
    let run = |td: &str| {
        let o = s.run(&["run-task", "--task-definition", td]);
        assert!(o.status.success(), "{o:?}");
        stdout(&o).trim().to_string()
    };
    let escaped = run("reads-escape");
    let t = s.wait_task(&escaped, Duration::from_secs(20), |t| {
        t["lastStatus"] == "STOPPED"
    });
    let reason = t["stoppedReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("ResourceInitializationError") && reason.contains("outside"),
        "{t}"
    );
    let fine = run("reads-db");
    s.wait_task(&fine, Duration::from_secs(20), |t| {
        t["lastStatus"] == "RUNNING"
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stdout(&s.run(&["logs", &fine])).contains("got=db-value") {
        assert!(
            Instant::now() < deadline,
            "{}",
            stdout(&s.run(&["logs", &fine]))
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
