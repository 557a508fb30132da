//! The task endpoint on real Docker, through the real binary: a container of a task with a
//! role fetches its credentials as AWS SDKs do (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`), and is refused without the token or with another
//! task's; a container reads its own task's metadata (v4) and not another's.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh).
#![cfg(feature = "docker-tests")]

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Server, docker, expect_code, stderr, stdout};

/// `sh -c SCRIPT` in the container; (exit code, stdout + stderr).
fn exec(cid: &str, script: &str) -> (i32, String) {
    let o = docker(&["exec", cid, "sh", "-c", script]);
    (
        o.status.code().unwrap_or(-1),
        format!("{}{}", stdout(&o), stderr(&o)),
    )
}

/// The container's environment as Docker made it.
fn env_of(cid: &str) -> Vec<(String, String)> {
    let o = docker(&["inspect", "-f", "{{json .Config.Env}}", cid]);
    let env: Vec<String> = serde_json::from_slice(&o.stdout).expect("env");
    env.into_iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect()
}

fn var(env: &[(String, String)], name: &str) -> Option<String> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// Waits for the task to run; the Docker id of its container `name`.
fn running(s: &Server, task: &str, name: &str) -> String {
    let st = s.wait_task(task, Duration::from_secs(20), |st| {
        st["lastStatus"] == "RUNNING" || st["lastStatus"] == "STOPPED"
    });
    assert_eq!(st["lastStatus"], "RUNNING", "{st:#}\n{}", s.log());
    st["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["runtimeId"].as_str())
        .unwrap_or_else(|| panic!("no container {name}: {st:#}"))
        .to_string()
}

const SLEEPER: &str = "command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 0.2; done']";

#[test]
fn a_container_fetches_its_roles_credentials_with_its_token_only() {
    let nonce = std::process::id();
    let secret = format!("secret-key-{nonce}-z8");
    let token = format!("session-token-{nonce}-y3");
    let mut s = Server::offline();
    let profiles = s.path().join("aws-credentials");
    std::fs::write(
        &profiles,
        format!("[other]\nsso_session = x\n[ci]\naws_access_key_id = AKIACI00000000000001\naws_secret_access_key = profile-secret-{nonce}\n"),
    )
    .unwrap();
    s.serve(&["--role-profiles", profiles.to_str().unwrap()], &[]);
    s.apply(&format!(
        "apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: app-key}}\nspec: {{value: {secret}}}\n---\n\
         apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: app-token}}\nspec: {{value: {token}}}\n---\n\
         apiVersion: ecs/v1\nkind: Role\nmetadata: {{name: app}}\n\
         spec: {{accessKeyId: AKIAIOSFODNN7EXAMPLE, secretAccessKey: {{secret: app-key}}, sessionToken: {{secret: app-token}}}}\n---\n\
         apiVersion: ecs/v1\nkind: Role\nmetadata: {{name: ci}}\nspec: {{profile: ci}}\n"
    ));
    let o = s.run(&["get", "roles"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("key AKIAIOSFODNN7EXAMPLE") && stdout(&o).contains("profile ci"),
        "{}",
        stdout(&o)
    );
    let o = s.run(&["describe", "role", "app"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("from Secret app-key") && !stdout(&o).contains(&secret),
        "{}",
        stdout(&o)
    );
    let td = |name: &str, role: Option<&str>, mode: &str| {
        format!(
            "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {name}}}\nspec:\n  networkMode: {mode}\n{}  containerDefinitions:\n    - name: main\n      image: ecsctl/busybox:local\n      memory: 32\n      stopTimeout: 1\n      {SLEEPER}\n",
            role.map(|r| format!("  taskRoleArn: {r}\n"))
                .unwrap_or_default()
        )
    };
    s.apply(
        &[
            td(
                "withrole",
                Some("arn:aws:iam::123456789012:role/app"),
                "bridge",
            ),
            td("viaprofile", Some("ci"), "awsvpc"),
            td("norole", None, "bridge"),
            td(
                "ghost",
                Some("arn:aws:iam::123456789012:role/ghost"),
                "bridge",
            ),
        ]
        .join("---\n"),
    );
    for (task, def) in [
        ("t-a", "withrole"),
        ("t-b", "withrole"),
        ("t-p", "viaprofile"),
        ("t-n", "norole"),
        ("t-ghost", "ghost"),
    ] {
        s.apply(&format!(
            "apiVersion: ecs/v1\nkind: Task\nmetadata: {{name: {task}}}\nspec: {{taskDefinition: {def}}}\n"
        ));
    }
    let a = running(&s, "t-a", "main");
    let b = running(&s, "t-b", "main");
    let p = running(&s, "t-p", "main");
    let n = running(&s, "t-n", "main");

    // With its own token: ECS's JSON, the values from the Role's Secrets.
    let fetch = "wget -q -O - --header \"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\" \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\"";
    let (code, out) = exec(&a, fetch);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    let creds: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(creds["AccessKeyId"], "AKIAIOSFODNN7EXAMPLE", "{creds:#}");
    assert_eq!(creds["SecretAccessKey"], secret.as_str());
    assert_eq!(creds["Token"], token.as_str());
    assert_eq!(creds["RoleArn"], "arn:aws:iam::123456789012:role/app");
    let expiration = creds["Expiration"].as_str().unwrap();
    let expires =
        time::OffsetDateTime::parse(expiration, &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert!(expires > time::OffsetDateTime::now_utc() + time::Duration::minutes(30));

    // The variables name the endpoint AWS SDKs accept over plain HTTP.
    let env_a = env_of(&a);
    let full_uri = var(&env_a, "AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap();
    assert!(full_uri.starts_with("http://169.254.170.2:"), "{full_uri}");

    // Without the token, and with another task's: refused, no credentials.
    let (code, out) = exec(&a, "wget -q -O - \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\"");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("401") && !out.contains(&secret), "{out}");
    let token_b = var(&env_of(&b), "AWS_CONTAINER_AUTHORIZATION_TOKEN").unwrap();
    assert_ne!(
        Some(token_b.clone()),
        var(&env_a, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
    );
    let (code, out) = exec(
        &a,
        &format!(
            "wget -q -O - --header \"Authorization: {token_b}\" \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\""
        ),
    );
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("403") && !out.contains(&secret), "{out}");
    // Nor does task b's token open task b's credentials from task a's container.
    let uri_b = var(&env_of(&b), "AWS_CONTAINER_CREDENTIALS_FULL_URI").unwrap();
    let (code, out) = exec(
        &a,
        &format!("wget -q -O - --header \"Authorization: {token_b}\" {uri_b}"),
    );
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("403") && !out.contains(&secret), "{out}");
    // Task b itself is served.
    let (code, out) = exec(&b, fetch);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&secret), "{out}");

    // A profile of --role-profiles, from an awsvpc task.
    let (code, out) = exec(&p, fetch);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    let creds: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(creds["AccessKeyId"], "AKIACI00000000000001");
    assert_eq!(
        creds["SecretAccessKey"],
        format!("profile-secret-{nonce}").as_str()
    );
    assert!(creds.get("Token").is_none(), "{creds:#}");

    // A task without a role gets no credentials variables (its metadata URI only).
    let env_n = env_of(&n);
    assert!(var(&env_n, "AWS_CONTAINER_CREDENTIALS_FULL_URI").is_none());
    assert!(var(&env_n, "AWS_CONTAINER_AUTHORIZATION_TOKEN").is_none());
    assert!(var(&env_n, "ECS_CONTAINER_METADATA_URI_V4").is_some());

    // A role that does not exist: the task fails to start, saying so.
    let st = s.wait_task("t-ghost", Duration::from_secs(15), |st| {
        st["lastStatus"] == "STOPPED"
    });
    assert_eq!(st["stopCode"], "TaskFailedToStart", "{st:#}");
    let reason = st["stoppedReason"].as_str().unwrap();
    assert!(
        reason.contains("Role ghost does not exist in cluster default"),
        "{reason}"
    );

    // The server's log never shows the values.
    let log = s.log();
    assert!(!log.contains(&secret) && !log.contains(&token), "{log}");
}

#[test]
fn a_container_reads_its_own_tasks_metadata_and_not_anothers() {
    let s = Server::start();
    s.apply(&format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: meta}}\nspec:\n  networkMode: awsvpc\n  cpu: '512'\n  memory: '128'\n  containerDefinitions:\n    - name: app\n      image: ecsctl/busybox:local\n      memory: 32\n      cpu: 128\n      stopTimeout: 1\n      {SLEEPER}\n    - name: side\n      image: ecsctl/busybox:local\n      memory: 32\n      stopTimeout: 1\n      {SLEEPER}\n---\n\
         apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: other}}\nspec:\n  containerDefinitions:\n    - name: main\n      image: ecsctl/busybox:local\n      memory: 32\n      stopTimeout: 1\n      {SLEEPER}\n---\n\
         apiVersion: ecs/v1\nkind: Task\nmetadata: {{name: m-a}}\nspec: {{taskDefinition: meta}}\n---\n\
         apiVersion: ecs/v1\nkind: Task\nmetadata: {{name: m-b}}\nspec: {{taskDefinition: other}}\n"
    ));
    let app = running(&s, "m-a", "app");
    let side = running(&s, "m-a", "side");
    let other = running(&s, "m-b", "main");
    let get = |cid: &str, path: &str| -> Value {
        let (code, out) = exec(
            cid,
            &format!("wget -q -O - \"$ECS_CONTAINER_METADATA_URI_V4{path}\""),
        );
        assert_eq!(code, 0, "{path}: {out}\n{}", s.log());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{path}: {e}: {out}"))
    };

    let me = get(&app, "");
    assert_eq!(me["Name"], "app", "{me:#}");
    assert_eq!(me["DockerId"], app.as_str());
    assert_eq!(me["Image"], "ecsctl/busybox:local");
    assert_eq!(me["KnownStatus"], "RUNNING");
    assert_eq!(me["Limits"]["CPU"], 128);
    assert_eq!(me["Labels"]["ecsctl.task"], "m-a");
    let st = s.task("m-a");
    let private_ip = st["privateIp"].as_str().unwrap_or_default().to_string();
    assert_eq!(me["Networks"][0]["NetworkMode"], "awsvpc");
    assert!(
        !private_ip.is_empty() && me["Networks"][0]["IPv4Addresses"][0] == private_ip.as_str(),
        "{me:#} vs {st:#}"
    );

    let task = get(&app, "/task");
    assert_eq!(task["Cluster"], "default", "{task:#}");
    assert!(
        task["TaskARN"]
            .as_str()
            .unwrap()
            .ends_with(":task/default/m-a")
    );
    assert_eq!(task["Family"], "meta");
    assert_eq!(task["Revision"], "1");
    assert_eq!(task["DesiredStatus"], "RUNNING");
    assert_eq!(task["KnownStatus"], "RUNNING");
    assert_eq!(task["Limits"]["Memory"], 128);
    let names: Vec<&str> = task["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "side"]);
    // The sidecar's own URI answers for itself.
    assert_eq!(get(&side, "")["DockerId"], side.as_str());

    let stats = get(&app, "/stats");
    assert!(
        stats["memory_stats"]["usage"].as_u64().unwrap() > 0,
        "{stats:#}"
    );
    let all = get(&app, "/task/stats");
    assert!(
        all.get(&app).is_some() && all.get(&side).is_some(),
        "{all:#}"
    );

    // Another task's URI, from this task's container: refused.
    let uri_other = var(&env_of(&other), "ECS_CONTAINER_METADATA_URI_V4").unwrap();
    assert_eq!(get(&other, "")["Name"], "main");
    for path in ["", "/task", "/stats"] {
        let (code, out) = exec(&app, &format!("wget -q -O - {uri_other}{path}"));
        assert_ne!(code, 0, "{path}: {out}");
        assert!(out.contains("403"), "{path}: {out}");
        assert!(!out.contains(&other), "{path}: {out}");
    }
    // A task whose security group lets nothing in or out still reaches its endpoint (as in
    // ECS: groups filter the task's network, not its agent's endpoint). Without the endpoint
    // among the filter's trusted addresses this wget times out.
    s.apply(
        "apiVersion: ecs/v1\nkind: SecurityGroup\nmetadata: {name: closed}\nspec: {egress: []}\n---\n\
         apiVersion: ecs/v1\nkind: Task\nmetadata: {name: m-closed}\nspec:\n  taskDefinition: meta\n  networkConfiguration: {awsvpcConfiguration: {subnets: [local], securityGroups: [closed]}}\n",
    );
    let closed = running(&s, "m-closed", "app");
    assert_eq!(get(&closed, "")["DockerId"], closed.as_str());

    // A host-mode task (the host's network, as the cluster's policy allows) reaches it too.
    s.apply(&format!(
        "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {{name: default}}\nspec: {{policy: {{allowHostNetwork: true}}}}\n---\n\
         apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: onhost}}\nspec:\n  networkMode: host\n  containerDefinitions:\n    - name: main\n      image: ecsctl/busybox:local\n      memory: 32\n      stopTimeout: 1\n      {SLEEPER}\n---\n\
         apiVersion: ecs/v1\nkind: Task\nmetadata: {{name: m-h}}\nspec: {{taskDefinition: onhost}}\n"
    ));
    let on_host = running(&s, "m-h", "main");
    let me = get(&on_host, "");
    assert_eq!(me["DockerId"], on_host.as_str(), "{me:#}");
    assert_eq!(me["Networks"][0]["NetworkMode"], "host");

    // An id no container has: nothing.
    let made_up = format!(
        "{}/v4/{}",
        uri_other.rsplit_once("/v4/").unwrap().0,
        "0".repeat(32)
    );
    let (code, out) = exec(&app, &format!("wget -q -O - {made_up}"));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("404"), "{out}");
}

#[test]
fn role_specs_are_checked_with_positions() {
    let s = Server::start_without_image();
    let bad = s.write(
        "role.yaml",
        "apiVersion: ecs/v1\nkind: Role\nmetadata: {name: app}\nspec:\n  accessKeyId: not-a-key\n  profile: ci\n",
    );
    let o = s.run(&["validate", "-f", &bad]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("role.yaml:")
            && err.contains("spec.accessKeyId")
            && err.contains("exactly one source"),
        "{err}"
    );
    // A profile needs the operator's --role-profiles: refused at apply, nothing written.
    let profile = s.write(
        "profile.yaml",
        "apiVersion: ecs/v1\nkind: Role\nmetadata: {name: ci}\nspec: {profile: ci}\n",
    );
    let o = s.run(&["apply", "-f", &profile]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("--role-profiles"), "{}", stderr(&o));
    let o = s.run(&["get", "roles"]);
    expect_code(&o, 0);
    assert!(!stdout(&o).contains("ci"), "{}", stdout(&o));
}

/// On an `ecsctl agent`'s host: the agent serves the endpoint for its tasks, and the server
/// resolves the Role (its Secret is the server's) for the agent's task only.
#[test]
fn a_task_on_an_agent_fetches_its_role_and_metadata_from_the_agents_endpoint() {
    use support::agents::{Fleet, Host};
    let nonce = std::process::id();
    let secret = format!("agent-secret-{nonce}-w4");
    let f = Fleet::start("roles", &[Host::plain()]);
    let c = f.cluster.clone();
    f.apply(&format!(
        "apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: key, cluster: {c}}}\nspec: {{value: {secret}}}\n---\n\
         apiVersion: ecs/v1\nkind: Role\nmetadata: {{name: app, cluster: {c}}}\n\
         spec: {{accessKeyId: AKIAIOSFODNN7EXAMPLE, secretAccessKey: {{secret: key}}}}\n---\n\
         apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: agentrole}}\nspec:\n  taskRoleArn: app\n  containerDefinitions:\n    - name: main\n      image: ecsctl/busybox:local\n      memory: 16\n      stopTimeout: 1\n      {SLEEPER}\n"
    ));
    let out = f.ok(&[
        "run-task",
        "--task-definition",
        "agentrole",
        "--wait",
        "--timeout",
        "30s",
    ]);
    let id = out.lines().next().expect("a task id").trim().to_string();
    let on_engine = f.engine_tasks(0);
    let cid = on_engine
        .get(&id)
        .and_then(|c| c.iter().next())
        .unwrap_or_else(|| panic!("task {id} is not on the agent's engine: {on_engine:?}"))
        .clone();
    let run = |script: &str| {
        let o = f.engines[0].docker(&["exec", &cid, "sh", "-c", script]);
        (
            o.status.code().unwrap_or(-1),
            format!("{}{}", stdout(&o), stderr(&o)),
        )
    };
    let (code, out) = run(
        "wget -q -O - --header \"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\" \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\"",
    );
    assert_eq!(code, 0, "{out}\n{}", f.report());
    let creds: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(creds["SecretAccessKey"], secret.as_str(), "{creds:#}");
    let (code, out) = run("wget -q -O - \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\"");
    assert!(code != 0 && out.contains("401"), "{out}");
    let (code, out) = run("wget -q -O - \"$ECS_CONTAINER_METADATA_URI_V4/task\"");
    assert_eq!(code, 0, "{out}");
    let task: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(task["Cluster"], c.as_str());
    assert!(
        task["TaskARN"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{id}"))
    );
    assert_eq!(task["Containers"][0]["DockerId"], cid.as_str());
}
