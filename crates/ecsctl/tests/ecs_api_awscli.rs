//! The real AWS CLI against `ecsctl server --aws-api`: `scripts/ecs-api-awscli.sh` starts the
//! binary on a port the OS picks, in a temp data dir it removes, and drives the cluster
//! operations, pagination and refused keys (the script makes a venv with the AWS CLI and
//! boto3 from PyPI when the machine has none).
#![cfg(feature = "docker-tests")]
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn the_aws_cli_drives_the_cluster_operations() {
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
