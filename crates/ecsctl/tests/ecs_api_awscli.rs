//! The real AWS CLI and boto3 against `ecsctl server --aws-api` on real Docker:
//! `scripts/ecs-api-awscli.sh` starts the binary on a port the OS picks, in a temp data dir,
//! and drives the cluster operations, refused keys, and a whole life (a corpus task definition,
//! a service through the services-stable and services-inactive waiters, run-task/stop-task
//! through the task waiters, tags, paginators); it removes what it made (the script makes a
//! venv with the AWS CLI and boto3 from PyPI when the machine has none).
#![cfg(feature = "docker-tests")]
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn the_aws_cli_and_boto3_drive_a_whole_life() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/ecs-api-awscli.sh"
    );
    let out = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_ecsctl"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: the AWS CLI"));
}
