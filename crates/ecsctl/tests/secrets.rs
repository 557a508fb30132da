//! Secrets on real Docker, through the real binary: values from the manifest, a file and the
//! server's environment reach the container's environment, and no command's output nor the
//! server's own log (at debug level) ever shows one.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::time::Duration;
use support::{Server, docker};

#[test]
fn secrets_reach_containers_and_are_never_shown() {
    let nonce = std::process::id();
    let manifest_value = format!("manifest-value-{nonce}-x7");
    let file_value = format!("file-value-{nonce}-q2");
    let env_value = format!("env-value-{nonce}-k9");
    let s = Server::start_with_env(
        &["--secret-env-prefix", "ECSCTL_TEST_"],
        &[
            ("ECSCTL_TEST_TOKEN", env_value.as_str()),
            ("RUST_LOG", "debug,hyper=info,h2=info,bollard=info"),
        ],
    );
    // Where the server reads secret files from by default (DATA_DIR/secrets).
    let file = s.home().join("secrets").join("api-key.txt");
    std::fs::write(&file, format!("{file_value}\n")).unwrap();
    let secrets = s.dir.path().join("secrets.yaml");
    let write_secrets = |db: &str| {
        std::fs::write(
            &secrets,
            format!(
                "apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: db-password}}\nspec: {{value: {db:?}}}\n---\n\
                 apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: api-key}}\nspec: {{fromFile: {:?}}}\n---\n\
                 apiVersion: ecs/v1\nkind: Secret\nmetadata: {{name: token}}\nspec: {{fromEnv: ECSCTL_TEST_TOKEN}}\n",
                file.display()
            ),
        )
        .unwrap();
    };
    write_secrets(&manifest_value);
    let secrets_path = secrets.display().to_string();
    let mut outputs = Vec::new();
    let mut run = |args: &[&str]| {
        let o = s.run(args);
        let text = format!(
            "$ ecsctl {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        outputs.push(text.clone());
        (o.status.code(), text)
    };
    let (code, text) = run(&["apply", "-f", &secrets_path]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("secret/db-password created"), "{text}");

    s.apply(
        r#"apiVersion: ecs/v1
kind: TaskDefinition
metadata: {name: app}
spec:
  containerDefinitions:
    - name: main
      image: ecsctl/busybox:local
      memory: 32
      stopTimeout: 1
      command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.2; done']
      secrets:
        - {name: DB_PASSWORD, valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password'}
        - {name: API_KEY, valueFrom: /prod/api-key}
        - {name: TOKEN, valueFrom: token}
"#,
    );
    s.apply(
        "apiVersion: ecs/v1\nkind: Task\nmetadata: {name: t-secret}\nspec: {taskDefinition: app}\n",
    );
    s.wait_task("t-secret", Duration::from_secs(15), |st| {
        st["lastStatus"] == "RUNNING" || st["lastStatus"] == "STOPPED"
    });
    let st = s.task("t-secret");
    assert_eq!(st["lastStatus"], "RUNNING", "{st:#}");
    let cid = st["containers"][0]["runtimeId"]
        .as_str()
        .unwrap()
        .to_string();
    let inspect = docker(&["inspect", "-f", "{{json .Config.Env}}", &cid]);
    let env: Vec<String> = serde_json::from_slice(&inspect.stdout).unwrap();
    for want in [
        format!("DB_PASSWORD={manifest_value}"),
        format!("API_KEY={file_value}"),
        format!("TOKEN={env_value}"),
    ] {
        assert!(env.contains(&want), "{want} not in {env:?}");
    }

    // Every way of looking at things.
    for args in [
        &["get", "secrets"][..],
        &["get", "secrets", "-o", "wide"],
        &["get", "secret", "db-password", "-o", "yaml"],
        &["get", "secret", "db-password", "-o", "json"],
        &["describe", "secret", "db-password"],
        &["describe", "secret", "token"],
        &["get", "task", "t-secret", "-o", "json"],
        &["describe", "task", "t-secret"],
        &["describe", "td", "app"],
        &["events"],
        &["apply", "-f", &secrets_path, "--dry-run"],
    ] {
        let (code, text) = run(args);
        assert_eq!(code, Some(0), "{text}");
    }
    let (code, text) = run(&["get", "secrets"]);
    assert!(
        text.contains("value (")
            && text.contains("env ECSCTL_TEST_TOKEN")
            && text.contains("api-key.txt"),
        "{text}"
    );
    assert_eq!(code, Some(0));
    let (code, text) = run(&["diff", "-f", &secrets_path]);
    assert_eq!(code, Some(0), "same value, no difference: {text}");
    let (code, text) = run(&["apply", "-f", &secrets_path]);
    assert!(
        code == Some(0) && text.contains("secret/db-password unchanged"),
        "{text}"
    );

    // A new value: diff says it changed, without showing either value; apply stores it.
    let new_value = format!("rotated-value-{nonce}-z3");
    write_secrets(&new_value);
    let (code, text) = run(&["diff", "-f", &secrets_path]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("changed"), "{text}");
    let (code, text) = run(&["apply", "-f", &secrets_path]);
    assert!(
        code == Some(0) && text.contains("secret/db-password configured"),
        "{text}"
    );

    // A task whose secret does not exist stops, naming it.
    s.apply(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: orphan}\nspec:\n  containerDefinitions:\n  \
         - {name: main, image: ecsctl/busybox:local, memory: 32, command: [sleep, '60'], secrets: [{name: X, valueFrom: nowhere}]}\n",
    );
    s.apply("apiVersion: ecs/v1\nkind: Task\nmetadata: {name: t-orphan}\nspec: {taskDefinition: orphan}\n");
    let st = s.wait_task("t-orphan", Duration::from_secs(10), |st| {
        st["lastStatus"] == "STOPPED"
    });
    let reason = st["stoppedReason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("ResourceInitializationError") && reason.contains("Secret nowhere"),
        "{st:#}"
    );

    let log = s.log();
    assert!(log.contains("DEBUG"), "the server logged at debug level");
    outputs.push(format!("server log:\n{log}"));
    for text in &outputs {
        for value in [&manifest_value, &file_value, &env_value, &new_value] {
            assert!(!text.contains(value.as_str()), "{value} shown in:\n{text}");
        }
    }
}
