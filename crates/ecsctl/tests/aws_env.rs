//! `ecsctl aws-env`: the export lines for the key the server made, and a clear message when
//! there is none (no server run with --aws-api in that data dir).
#![allow(clippy::unwrap_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ecsctl");

#[test]
fn aws_env_says_when_there_is_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["aws-env", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no generated AWS key"), "{stderr}");
    assert!(stderr.contains("--aws-api"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn aws_env_prints_the_key_and_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws-credentials"),
        "[ecsctl]\naws_access_key_id = AKIATEST0000000001\naws_secret_access_key = 0123456789abcdefghijklmnop\n",
    )
    .unwrap();
    let no_endpoint = Command::new(BIN)
        .args(["aws-env", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(no_endpoint.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_endpoint.stderr).contains("no ECS API endpoint"));
    std::fs::write(
        dir.path().join("aws-api-endpoint"),
        "http://127.0.0.1:4566\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["aws-env", "--region", "eu-west-1", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "export AWS_ACCESS_KEY_ID=AKIATEST0000000001\nexport AWS_SECRET_ACCESS_KEY=0123456789abcdefghijklmnop\nexport AWS_ENDPOINT_URL_ECS=http://127.0.0.1:4566\nexport AWS_DEFAULT_REGION=eu-west-1\n"
    );
}

#[test]
fn server_refuses_a_bad_account_id_or_aws_api_address() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("server")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--aws-api", "tcp://127.0.0.1:0", "--aws-account-id", "abc"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("12 digits"), "{err}");
    let (code, err) = run(&["--aws-api", "https://127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--tls-cert"), "{err}");
    let (code, err) = run(&["--aws-api", "tcp://0.0.0.0:0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--tls-cert"), "{err}");
}
