//! The host policy holds at task start: path spellings, a symlink planted by one task for the
//! next, allowlists that hold the engine's socket, security options, and volumes of another
//! cluster or not made by ecsctl.
//!
//! Every request an attacker makes goes through [`attacker`], as a `deployer` of every
//! cluster (`*`); what only an admin may do (a Cluster's policy) through [`admin`].

use crate::support::roles::{As, RoleServer};
use crate::support::stderr;
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

/// `ecsctl apply -f` of `yaml` as the attacker (a deployer of the cluster).
fn attacker(s: &RoleServer, yaml: &str) -> Output {
    apply(s, As::Deployer, yaml)
}

/// `ecsctl apply -f` of `yaml` as an admin.
fn admin(s: &RoleServer, yaml: &str) -> Output {
    apply(s, As::Admin, yaml)
}

fn apply(s: &RoleServer, who: As, yaml: &str) -> Output {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = s.write(
        &format!("host-{}.yaml", N.fetch_add(1, Ordering::Relaxed)),
        yaml,
    );
    s.run_as(who, &["apply", "-f", &path])
}

fn ok(o: &Output) {
    assert!(o.status.success(), "apply failed: {}", stderr(o));
}

/// The refusal's text, after checking that it is one (exit 2) and names every part.
fn refused(o: &Output, parts: &[&str]) {
    assert_eq!(o.status.code(), Some(2), "not refused: {o:?}");
    let e = stderr(o);
    for p in parts {
        assert!(e.contains(p), "{p:?} not in: {e}");
    }
}

fn cluster(name: &str, policy: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {{name: {name}}}\nspec: {{policy: {policy}}}\n"
    )
}

/// A task definition with one container mounting volume `v` at /v, and a task of it.
fn task(name: &str, cluster: &str, volume: &str, extra: &str, command: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {name}}}\nspec:\n  volumes: [{{name: v, {volume}}}]\n  containerDefinitions:\n    - name: app\n      image: ecsctl/busybox:local\n      memory: 32\n      command: [sh, -c, {command:?}]\n      mountPoints: [{{sourceVolume: v, containerPath: /v}}]\n{extra}---\napiVersion: ecs/v1\nkind: Task\nmetadata: {{name: {name}, cluster: {cluster}}}\nspec: {{taskDefinition: {name}}}\n"
    )
}

/// The task's status once it is STOPPED.
fn stopped(s: &RoleServer, cluster: &str, name: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let o = s.run(&["get", "task", name, "--cluster", cluster, "-o", "json"]);
        if o.status.success() {
            let v: Value = serde_json::from_slice(&o.stdout).expect("json");
            if v["status"]["lastStatus"] == "STOPPED" {
                return v["status"].clone();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "task {name} did not stop\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker")
}

#[test]
fn path_spellings_and_engine_holding_allowlists_are_refused_at_apply() {
    let s = RoleServer::start("*", &[]);
    for path in [
        "/etc//shadow",
        "/tmp/x/../..",
        "/var/run/./docker.sock",
        "/srv/data/",
        "etc",
    ] {
        let o = attacker(
            &s,
            &task(
                "spell",
                "default",
                &format!("host: {{sourcePath: {path:?}}}"),
                "",
                "true",
            ),
        );
        refused(&o, &["spec.volumes[0].host.sourcePath", path]);
    }
    for (path, rule) in [
        ("/var/run/docker.sock", "allowDockerSocket"),
        ("/run/containerd/containerd.sock", "allowDockerSocket"),
        ("/run", "container engine"),
        ("/var/lib/docker/volumes", "container engine"),
    ] {
        let o = attacker(
            &s,
            &task(
                "sock",
                "default",
                &format!("host: {{sourcePath: {path}}}"),
                "",
                "true",
            ),
        );
        refused(&o, &["task/sock", rule]);
    }
    for entry in ["/run", "/var/run", "/var", "/", "/run/docker.sock"] {
        let o = admin(
            &s,
            &cluster("wide", &format!("{{hostPathAllowlist: [{entry}]}}")),
        );
        refused(&o, &["spec.policy.hostPathAllowlist[0]", entry]);
    }
    let o = s.run(&["get", "cluster", "wide"]);
    assert_eq!(o.status.code(), Some(1), "never written: {o:?}");
}

#[test]
fn a_symlink_planted_by_one_task_does_not_lead_the_next_out() {
    let s = RoleServer::start("*", &[]);
    let shared = s.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    let shared = shared.canonicalize().expect("canon").display().to_string();
    ok(&admin(
        &s,
        &cluster("planted", &format!("{{hostPathAllowlist: [{shared}]}}")),
    ));
    // A first task may write in the allowlisted directory: it plants links out of it.
    // Into the server's store too: the attacker can guess where the data directory is.
    let home = s.home().canonicalize().expect("home").display().to_string();
    let plant = format!(
        "ln -s /etc /v/etc && ln -s /var/run/docker.sock /v/engine && ln -s /dev/null /v/null && ln -s {home}/store /v/store"
    );
    ok(&attacker(
        &s,
        &task(
            "plant",
            "planted",
            &format!("host: {{sourcePath: {shared}}}"),
            "",
            &plant,
        ),
    ));
    let first = stopped(&s, "planted", "plant");
    assert_eq!(first["containers"][0]["exitCode"], 0, "{first}");
    assert!(
        std::fs::symlink_metadata(format!("{shared}/etc")).is_ok(),
        "the link was planted"
    );

    // The second task names the links: its path is inside the allowlist as written.
    for (link, why) in [
        ("etc", "resolved to /etc"),
        ("engine", "allowDockerSocket"),
        ("null", "allowDevices"),
        ("store", "server's own data"),
    ] {
        let name = format!("use-{link}");
        let o = attacker(
            &s,
            &task(
                &name,
                "planted",
                &format!("host: {{sourcePath: {shared}/{link}}}"),
                "",
                "cat /v/shadow",
            ),
        );
        ok(&o);
        let st = stopped(&s, "planted", &name);
        assert_eq!(st["stopCode"], "TaskFailedToStart", "{st}");
        let reason = st["stoppedReason"].as_str().unwrap_or_default();
        for part in ["volume v", why] {
            assert!(reason.contains(part), "{part:?} not in {reason}");
        }
        assert!(
            s.containers(&format!("label=ecsctl.task={name}"))
                .is_empty(),
            "no container was made for {name}"
        );
    }
}

#[test]
fn seccomp_unconfined_needs_allow_privileged() {
    let s = RoleServer::start("*", &[]);
    let opts = "      dockerSecurityOptions: [seccomp=unconfined]\n";
    ok(&admin(&s, &cluster("sec", "{}")));
    let o = attacker(&s, &task("unconfined", "sec", "host: {}", opts, "sleep 60"));
    refused(
        &o,
        &[
            "task/unconfined",
            "seccomp=unconfined",
            "spec.policy.allowPrivileged",
        ],
    );
    let o = attacker(
        &s,
        &task(
            "apparmor",
            "sec",
            "host: {}",
            "      dockerSecurityOptions: [apparmor=unconfined]\n",
            "sleep 60",
        ),
    );
    refused(&o, &["apparmor=unconfined", "spec.policy.allowPrivileged"]);
    // no-new-privileges only takes privileges away: it passes.
    ok(&attacker(
        &s,
        &task(
            "nnp",
            "sec",
            "host: {}",
            "      dockerSecurityOptions: [no-new-privileges]\n",
            "sleep 60",
        ),
    ));

    ok(&admin(&s, &cluster("sec", "{allowPrivileged: true}")));
    ok(&attacker(
        &s,
        &task("unconfined", "sec", "host: {}", opts, "sleep 60"),
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let id = loop {
        if let Some(id) = s.containers("label=ecsctl.task=unconfined").pop() {
            break id;
        }
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(100));
    };
    let o = docker(&["inspect", "-f", "{{json .HostConfig.SecurityOpt}}", &id]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("seccomp=unconfined"),
        "{o:?}"
    );
}

/// Removes a Docker volume this test made, even when the test fails.
struct VolumeGuard(String);

impl Drop for VolumeGuard {
    fn drop(&mut self) {
        let _ = docker(&["volume", "rm", "-f", &self.0]);
    }
}

#[test]
fn another_cluster_s_volume_and_a_foreign_volume_are_not_mountable() {
    let s = RoleServer::start("*", &[]);
    ok(&admin(
        &s,
        &format!("{}---\n{}", cluster("va", "{}"), cluster("vb", "{}")),
    ));
    let shared = "dockerVolumeConfiguration: {scope: shared, autoprovision: true}";
    ok(&attacker(
        &s,
        &task("writer", "va", shared, "", "echo secret > /v/file"),
    ));
    assert_eq!(stopped(&s, "va", "writer")["containers"][0]["exitCode"], 0);
    // The same task definition volume in cluster vb is another volume: the file is not there.
    let probe = task("reader", "vb", shared, "", "test ! -e /v/file");
    ok(&attacker(&s, &probe));
    let st = stopped(&s, "vb", "reader");
    assert_eq!(
        st["containers"][0]["exitCode"], 0,
        "cluster vb read va's file: {st}"
    );

    let instance = s.instance();
    let o = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=ecsctl.instance={instance}"),
    ]);
    let names = String::from_utf8_lossy(&o.stdout).to_string();
    let va = format!("ecsctl-{instance}.va.v");
    assert!(
        names.contains(&va) && names.contains(&format!("ecsctl-{instance}.vb.v")),
        "{names}"
    );
    let o = docker(&["volume", "inspect", "-f", "{{json .Labels}}", &va]);
    let labels: Value = serde_json::from_slice(&o.stdout).expect("labels");
    assert_eq!(labels["ecsctl.cluster"], "va");
    assert_eq!(labels["ecsctl.managed"], "true");

    // A volume squatting on the name cluster vc would use, not made by ecsctl: never mounted.
    let squat = format!("ecsctl-{instance}.vc.v");
    let _guard = VolumeGuard(squat.clone());
    let o = docker(&["volume", "create", &squat]);
    assert!(o.status.success(), "{o:?}");
    ok(&admin(&s, &cluster("vc", "{}")));
    ok(&attacker(&s, &task("squatted", "vc", shared, "", "ls /v")));
    let st = stopped(&s, "vc", "squatted");
    assert_eq!(st["stopCode"], "TaskFailedToStart", "{st}");
    let reason = st["stoppedReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("not made by ecsctl") && reason.contains(&squat),
        "{reason}"
    );
    // Without autoprovision, only a volume ecsctl made for the cluster: vd has none.
    ok(&admin(&s, &cluster("vd", "{}")));
    let existing = "dockerVolumeConfiguration: {scope: shared, autoprovision: false}";
    ok(&attacker(&s, &task("missing", "vd", existing, "", "ls /v")));
    let st = stopped(&s, "vd", "missing");
    assert!(
        st["stoppedReason"]
            .as_str()
            .unwrap_or_default()
            .contains("autoprovision"),
        "{st}"
    );
}

#[test]
fn a_task_s_own_volume_goes_with_the_task() {
    let s = RoleServer::start("*", &[]);
    ok(&attacker(
        &s,
        &task("scratch", "default", "host: {}", "", "echo x > /v/x"),
    ));
    stopped(&s, "default", "scratch");
    let volume = &format!("ecsctl-{}.default.scratch.v", s.instance());
    let o = docker(&["volume", "inspect", "-f", "{{json .Labels}}", volume]);
    assert!(o.status.success(), "the task's volume exists: {o:?}");
    let labels: Value = serde_json::from_slice(&o.stdout).expect("labels");
    assert_eq!(labels["ecsctl.task"], "scratch");
    assert_eq!(labels["ecsctl.instance"], s.instance().as_str());

    let o = s.run(&["delete", "task", "scratch"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while docker(&["volume", "inspect", volume]).status.success() {
        assert!(
            std::time::Instant::now() < deadline,
            "{volume} outlived its task\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
