//! Identities and roles: a deployer of cluster `shop` cannot write another cluster's
//! objects, change a Cluster's policy or have its tasks read another cluster's Secrets; an
//! admin can; SIGHUP swaps the identities of a running server.

use crate::support::roles::{As, RoleServer};
use crate::support::{IMAGE, expect_code, stderr, stdout};
use std::time::{Duration, Instant};

const SHOP: &str = "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: shop}\nspec: {}\n";

fn service(cluster: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: web}}\nspec:\n  containerDefinitions:\n    - {{name: app, image: {IMAGE}, memory: 32, command: [sleep, '300']}}\n---\napiVersion: ecs/v1\nkind: Service\nmetadata: {{name: web, cluster: {cluster}}}\nspec: {{taskDefinition: web, desiredCount: 0}}\n"
    )
}

/// The one line a refusal prints, checked to name the role, the rule and the way to allow it.
#[track_caller]
fn refused(o: &std::process::Output, rule: &str) -> String {
    expect_code(o, 1);
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        lines[0].starts_with("error: forbidden: role deployer (clusters: shop) may not "),
        "{err}"
    );
    assert!(err.contains(&format!("(rule: {rule})")), "{err}");
    err
}

#[test]
fn a_deployer_cannot_write_another_cluster_or_a_cluster_policy() {
    let s = RoleServer::start("shop", &[]);
    expect_code(&s.apply_as(As::Admin, "shop", SHOP), 0);

    // Its own cluster: fine. Another cluster: refused, and nothing of the apply is written.
    expect_code(&s.apply_as(As::Deployer, "svc-shop", &service("shop")), 0);
    let err = refused(
        &s.apply_as(As::Deployer, "svc-default", &service("default")),
        "cluster-scope",
    );
    assert!(
        err.contains("may not write services in cluster default"),
        "{err}"
    );
    assert!(err.contains("--tokens"), "says how to allow it: {err}");
    let all = s.get_json(As::Admin, &["svc", "-A"]);
    let names: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["metadata"]["cluster"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["shop/web"]);

    // The deployer sees shop only; default is refused by name.
    let mine = s.get_json(As::Deployer, &["svc", "-A"]);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    refused(&s.run_as(As::Deployer, &["get", "svc"]), "cluster-scope");
    refused(
        &s.run_as(As::Deployer, &["delete", "cluster", "shop"]),
        "admin-only",
    );

    // A Cluster's policy is an admin's to change, even the deployer's own cluster's.
    let open = "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: shop}\nspec: {policy: {allowPrivileged: true}}\n";
    let err = refused(&s.apply_as(As::Deployer, "open", open), "admin-only");
    assert!(err.contains("may not write cluster shop"), "{err}");
    let shop = s.get_json(As::Admin, &["cluster", "shop"]);
    assert_ne!(shop["spec"]["policy"]["allowPrivileged"], true, "{shop}");
    expect_code(&s.apply_as(As::Admin, "open-admin", open), 0);
    let shop = s.get_json(As::Admin, &["cluster", "shop"]);
    assert_eq!(shop["spec"]["policy"]["allowPrivileged"], true, "{shop}");

    // No directory syncs for a deployer (they act as the server itself, an admin).
    let dir = s.server.path().join("manifests").display().to_string();
    let err = refused(&s.run_as(As::Deployer, &["sync", &dir]), "admin-only");
    assert!(err.contains("may not sync a directory"), "{err}");

    // A viewer writes nothing, not even in its own cluster.
    let o = s.apply_as(As::Viewer, "viewer", &service("shop"));
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("forbidden: role viewer (clusters: shop)")
            && stderr(&o).contains("(rule: role-permissions)"),
        "{}",
        stderr(&o)
    );
}

/// The task's status in `cluster`, polled until `pred` holds (60 s at most).
fn wait_task(
    s: &RoleServer,
    who: As,
    cluster: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = s.get_json(who, &["tasks", "--cluster", cluster]);
        if let Some(t) = list["items"].as_array().unwrap().iter().find(|t| pred(t)) {
            return t.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no such task in {cluster}: {list:#}\nserver log:\n{}",
            s.server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_task_of_shop_cannot_inject_a_secret_of_default() {
    let s = RoleServer::start("shop", &[]);
    let secret = |cluster: &str, value: &str| {
        format!(
            "apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: db, cluster: {cluster}}}\nspec: {{value: {value}}}\n"
        )
    };
    let admin = format!("{SHOP}---\n{}", secret("default", "default-only-0451"));
    expect_code(&s.apply_as(As::Admin, "admin", &admin), 0);
    // The deployer may not even write (or replace) default's Secret.
    refused(
        &s.apply_as(As::Deployer, "steal", &secret("default", "mine")),
        "cluster-scope",
    );

    let td = format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: leak}}\nspec:\n  containerDefinitions:\n    - name: app\n      image: {IMAGE}\n      memory: 32\n      command: [sh, -c, 'echo \"DB=$DB\"; sleep 300']\n      secrets: [{{name: DB, valueFrom: 'arn:aws:secretsmanager:eu-west-1:1:secret:db'}}]\n"
    );
    expect_code(&s.apply_as(As::Deployer, "td", &td), 0);
    let o = s.run_as(
        As::Deployer,
        &["run-task", "--task-definition", "leak", "--cluster", "shop"],
    );
    expect_code(&o, 0);
    let stopped = wait_task(&s, As::Deployer, "shop", |t| {
        t["status"]["lastStatus"] == "STOPPED"
    });
    assert_eq!(
        stopped["status"]["stopCode"], "TaskFailedToStart",
        "{stopped:#}"
    );
    let reason = stopped["status"]["stoppedReason"].as_str().unwrap();
    assert!(
        reason.starts_with("ResourceInitializationError")
            && reason.contains("Secret db does not exist in cluster shop"),
        "{reason}"
    );
    assert!(!reason.contains("default-only-0451"), "{reason}");

    // With a Secret of its own cluster the same task starts and gets shop's value.
    expect_code(
        &s.apply_as(As::Deployer, "own", &secret("shop", "shop-own-0451")),
        0,
    );
    expect_code(
        &s.run_as(
            As::Deployer,
            &["run-task", "--task-definition", "leak", "--cluster", "shop"],
        ),
        0,
    );
    let running = wait_task(&s, As::Deployer, "shop", |t| {
        t["status"]["lastStatus"] == "RUNNING"
    });
    let id = running["metadata"]["name"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = s.run_as(As::Deployer, &["logs", &id, "--cluster", "shop"]);
        let out = stdout(&o);
        if out.contains("DB=") {
            assert!(
                out.contains("DB=shop-own-0451") && !out.contains("default-only"),
                "{out}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line: {out} {}",
            stderr(&o)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn sighup_gives_a_running_server_new_identities() {
    let mut s = RoleServer::start("shop", &[]);
    expect_code(&s.apply_as(As::Admin, "shop", SHOP), 0);
    refused(
        &s.apply_as(As::Deployer, "svc", &service("default")),
        "cluster-scope",
    );
    // The deployer is given default too; the file is read again on SIGHUP.
    let text = std::fs::read_to_string(&s.tokens).unwrap();
    let text = text.replace(" deployer shop", " deployer shop,default");
    std::fs::write(&s.tokens, text).unwrap();
    let pid = s.server.child_mut().unwrap().id();
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let o = s.apply_as(As::Deployer, "svc", &service("default"));
        if o.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not reloaded: {}\n{}",
            stderr(&o),
            s.server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        s.server.log().contains("reloaded the tokens file"),
        "{}",
        s.server.log()
    );
}
