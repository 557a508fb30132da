//! Every file of the real-world ECS corpus (tests/corpus/ecs, see its SOURCES.md) either
//! validates or is rejected for a reason a user would agree with. This test pins the exact
//! set: the files below are rejected with the reason shown; every other file is accepted.

use ecsctl_api::parse::{ParseOptions, parse_source};
use std::path::PathBuf;

/// (file, fragment of the first error). Grouped by why the file cannot be applied as it is.
const REJECTED: &[(&str, &str)] = &[
    // Service files written for ecspresso and similar tools: the tool supplies the service
    // name and task definition from its own config, and ECS CreateService requires both.
    (
        "services/MtkN1__cloud-bot-deploy-template__ecs-service-def.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/aws-samples__amazon-ecs-fargate-workshop-dev-ops-data__labs_fargate-dev-workshop_configs_service-definition.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/cloudposse__github-action-deploy-ecspresso__test_servicedef.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/gsy0911__zenn-ecs-cdk-ecspresso__ecspresso_ecs-service-def.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/hi1280__redash-on-ecs-using-terraform-ecspresso__ecspresso_server_ecs-service-def.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/hxrxchang__ecspresso-example__ecspresso_ecs-service-def.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/kayac__ecspresso__tests_ci_ecs-service-def-daemon.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/kayac__ecspresso__tests_ci_ecs-service-def.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/kayac__ecspresso__tests_ecs-service-def.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/kayac__ecspresso__tests_sv.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/mryhryki__example-ecspresso__ecspresso_ecs-service-def.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/neilkuan__cdk-agent-broker__ecs-service-def.json",
        "missing required field \"serviceName\"",
    ),
    (
        "services/tomofuminijo__aws-ecs-bluegreen-deployment-sample__create-service.json",
        "missing required field \"serviceName\"",
    ),
    // A CloudFormation template fragment: no task definition at all.
    (
        "services/aws-samples__amazon-ecs-mythicalmysfits-workshop__workshop-2_script_ws2_service-template.json",
        "missing required field \"taskDefinition\"",
    ),
    // CloudFormation output references ("stack:Output") where names belong.
    (
        "services/aws-samples__aws-codedeploy-linear-canary-deployments-blog__json_files_create_service.json",
        "\"ecs-linear-blog:ServiceName\" is not a valid ECS name",
    ),
    // Unrendered template placeholders in names and image references.
    (
        "taskdefs/MtkN1__cloud-bot-deploy-template__ecs-task-def.json",
        "unrendered template placeholder",
    ),
    (
        "taskdefs/aws-samples__amazon-cloudwatch-container-insights__cwagent-prometheus-task-definition.json",
        "unrendered template placeholder",
    ),
    (
        "taskdefs/aws-samples__amazon-ecs-fargate-workshop-dev-ops-data__labs_fargate-dev-workshop_configs_task-definition.json",
        "\"<PLACEHOLDER>\" is not an image reference",
    ),
    (
        "taskdefs/aws-samples__ecs-mesh-workshop__fluentbit_fluent-bit-task-definition.json",
        "is not an image reference (an unrendered template placeholder)",
    ),
    (
        "taskdefs/aws-samples__ecs-trainium-examples__task-definition_task-definition-template.json",
        "is not an image reference (an unrendered template placeholder)",
    ),
    (
        "taskdefs/cloudposse__github-action-deploy-ecspresso__test_taskdef.json",
        "is not an image reference (an unrendered template placeholder)",
    ),
    (
        "taskdefs/gsy0911__zenn-ecs-cdk-ecspresso__ecspresso_ecs-task-def.json",
        "is not an image reference (an unrendered template placeholder)",
    ),
    (
        "taskdefs/kayac__ecspresso__tests_ecs-task-def.json",
        "is not an image reference (an unrendered template placeholder)",
    ),
    (
        "taskdefs/kayac__ecspresso__tests_td-in-tags.json",
        "is not an image reference (an unrendered template placeholder)",
    ),
    (
        "taskdefs/kayac__ecspresso__tests_td-plain.json",
        "is not an image reference (an unrendered template placeholder)",
    ),
    (
        "taskdefs/kayac__ecspresso__tests_td.json",
        "is not an image reference (an unrendered template placeholder)",
    ),
    (
        "taskdefs/tomofuminijo__aws-ecs-bluegreen-deployment-sample__taskdef.json",
        "\"<IMAGE1_NAME>\" is not an image reference",
    ),
    // Unrendered placeholders in role ARNs, target group ARNs and secret references (a health
    // check command that does not start with CMD is only a warning, so the otel sidecar file
    // is refused for its role ARN).
    (
        "services/aws-samples__ecs-mesh-workshop__templates_ecs_hello-world-service-definition.json",
        "targetGroupArn: \"{target_group_arn}\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws-observability__aws-otel-collector__examples_ecs_aws-cloudwatch_ecs-fargate-sidecar.json",
        "taskRoleArn: \"{{ecsTaskRoleArn}}\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws-samples__amazon-cloudwatch-container-insights__cwagent-ecs-instance-metric.json",
        "taskRoleArn: \"{{task-role-arn}}\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws-samples__amazon-cloudwatch-container-insights__cwagent-statsd-ec2.json",
        "taskRoleArn: \"{{task-role-arn}}\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws-samples__amazon-ecs-firelens-examples__fluent-bit_datadog_task-definition.json",
        "secretOptions[0].valueFrom: \"arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws__amazon-ecs-agent__functest_awslogs-secret-support-multiline_task-definition.json",
        "secretOptions[0].valueFrom: \"$$$SECRET_VALUE_FROM$$$\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws__amazon-ecs-agent__functest_firelens-fluentbit_task-definition.json",
        "secretOptions[0].valueFrom: \"$$$SECRET_OPTION_PARAM$$$\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws__amazon-ecs-agent__functest_firelens-fluentd-fluent-logger-awsvpc_task-definition.json",
        "secretOptions[0].valueFrom: \"$$$SECRET_OPTION_PARAM$$$\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws__amazon-ecs-agent__functest_gmsa-s3_task-definition.json",
        "executionRoleArn: \"$$$EXECUTION_ROLE$$$\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws__amazon-ecs-agent__functest_private-registry-auth-asm-validator-unix_task-definition.json",
        "credentialsParameter: \"$$$REPOSITORY_CREDENTIALS$$$\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/aws__amazon-ecs-agent__functest_secrets-environment-variables_task-definition.json",
        "secrets[0].valueFrom: \"$$$SECRET_VALUE_FROM$$$\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/hi1280__redash-on-ecs-using-terraform-ecspresso__ecspresso_worker_ecs-task-def.json",
        "secrets[0].valueFrom: \"{{ tfstate `aws_ssm_parameter.redash_db_url.arn` }}\" holds an unrendered template placeholder",
    ),
    (
        "taskdefs/kayac__ecspresso__tests_ci_ecs-task-def-daemon.json",
        "secrets[1].valueFrom: \"arn:aws:ssm:ap-northeast-1:{{must_env `AWS_ACCOUNT_ID`}}:parameter/ecspresso-test/bar\" holds an unrendered template placeholder",
    ),
    // Invalid ECS names: a space, braces.
    (
        "taskdefs/aws-samples__ecs-bg-external-controller__infrastructure_TaskDefinition.template.json",
        "family \"Family Prefix\" is not a valid ECS name",
    ),
    (
        "taskdefs/aws__aws-for-fluent-bit__cloud-firelens-crash-repro-template_task-def-template.json",
        "is not a valid ECS name",
    ),
    // Values ECS itself refuses.
    (
        "taskdefs/aws-observability__aws-otel-collector__examples_ecs_aws-prometheus_ecs-ec2-task-def.json",
        "networkMode: expected one of bridge, host, awsvpc, none, got \"default\"",
    ),
    (
        "taskdefs/aws-samples__aws-modern-application-workshop__python_module-2_aws-cli_task-definition.json",
        "protocol: expected one of tcp or udp, got \"http\"",
    ),
    (
        "taskdefs/neilkuan__cdk-agent-broker__ecs-task-def.json",
        "versionConsistency: expected one of enabled or disabled, got \"\"",
    ),
    // Fields that are not ECS container definition fields (agent test fixtures).
    (
        "taskdefs/aws__amazon-ecs-agent__functest_nginx-awsvpc_task-definition.json",
        "unknown field \"portBindings\" (did you mean \"portMappings\"?)",
    ),
    (
        "taskdefs/aws__amazon-ecs-agent__functest_security-opt-nonewprivileges_task-definition.json",
        "unknown field \"portBindings\"",
    ),
    (
        "taskdefs/aws__amazon-ecs-agent__functest_task-elastic-inference_task-definition.json",
        "unknown field \"inferenceDevices\"",
    ),
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/ecs")
}

#[test]
fn corpus_accepts_exactly_the_expected_files() {
    let dir = corpus_dir();
    let mut files = Vec::new();
    for sub in ["taskdefs", "services"] {
        for e in std::fs::read_dir(dir.join(sub)).expect("corpus directory") {
            let p = e.expect("dir entry").path();
            files.push(format!(
                "{sub}/{}",
                p.file_name().expect("name").to_string_lossy()
            ));
        }
    }
    files.sort();
    assert_eq!(files.len(), 99, "the corpus has 99 files");
    let mut problems = Vec::new();
    let mut accepted = 0;
    for f in &files {
        let text = std::fs::read_to_string(dir.join(f)).expect("readable");
        let result = parse_source(f, &text, &ParseOptions::default());
        match (result, REJECTED.iter().find(|(name, _)| name == f)) {
            (Ok(docs), None) => {
                assert_eq!(docs.len(), 1, "{f}");
                accepted += 1;
            }
            (Ok(_), Some((_, why))) => {
                problems.push(format!("{f}: accepted, expected rejection for {why:?}"))
            }
            (Err(errs), None) => problems.push(format!("{f}: rejected: {}", errs[0])),
            (Err(errs), Some((_, why))) => {
                if !errs.iter().any(|e| e.to_string().contains(why)) {
                    problems.push(format!("{f}: rejected for another reason: {}", errs[0]));
                }
                if errs.iter().any(|e| e.line.is_none()) {
                    problems.push(format!("{f}: an error without a line: {errs:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(accepted, 99 - REJECTED.len());
    assert_eq!(accepted, 51);
}

#[test]
fn accepted_files_turn_into_the_right_kinds() {
    let dir = corpus_dir();
    let text =
        std::fs::read_to_string(dir.join("services/GoodOnuii__hyperdx__service-definition.json"))
            .expect("file");
    let docs = parse_source("svc.json", &text, &ParseOptions::default()).expect("valid");
    let o = &docs[0].object;
    assert_eq!(o.kind, ecsctl_api::Kind::Service);
    assert_eq!(o.metadata.name, "hyperdx");
    assert_eq!(o.metadata.cluster.as_deref(), Some("hyperdx"));
    assert_eq!(o.spec["taskDefinition"], "hyperdx:66");
    // AWS target groups cannot be attached locally: kept, and said so.
    assert!(
        docs[0]
            .warnings
            .iter()
            .any(|w| w.path == "loadBalancers[0].targetGroupArn"),
        "{:?}",
        docs[0].warnings
    );

    // ECS names keep their case: the object is the service ECS would have made.
    let text = std::fs::read_to_string(dir.join(
        "services/aws-samples__aws-modern-application-workshop__python_module-2_aws-cli_service-definition.json",
    ))
    .expect("file");
    let docs = parse_source("svc.json", &text, &ParseOptions::default()).expect("valid");
    let o = &docs[0].object;
    assert_eq!(o.metadata.name, "MythicalMysfits-Service");
    assert_eq!(
        o.metadata.cluster.as_deref(),
        Some("MythicalMysfits-Cluster")
    );
    assert!(
        docs[0]
            .warnings
            .iter()
            .all(|w| !w.message.contains("stored as")),
        "{:?}",
        docs[0].warnings
    );

    let text =
        std::fs::read_to_string(dir.join("taskdefs/GoodOnuii__hyperdx__task-definition.json"))
            .expect("file");
    let docs = parse_source("td.json", &text, &ParseOptions::default()).expect("valid");
    // read-only describe fields are reported, not stored
    for field in [
        "taskDefinitionArn",
        "revision",
        "status",
        "registeredAt",
        "requiresAttributes",
        "compatibilities",
    ] {
        assert!(docs[0].object.spec.get(field).is_none(), "{field}");
        assert!(docs[0].warnings.iter().any(|w| w.path == field), "{field}");
    }
}
