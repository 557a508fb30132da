use super::*;
use serde_json::json;

fn td(spec: serde_json::Value) -> Object {
    Object::new(Kind::TaskDefinition, "web", spec)
}

fn errors(obj: &Object) -> Vec<String> {
    check(obj).errors.iter().map(ToString::to_string).collect()
}

#[test]
fn minimal_task_definition_is_valid() {
    let o = td(json!({"containerDefinitions": [{"name": "a", "image": "busybox", "memory": 64}]}));
    assert_eq!(errors(&o), Vec::<String>::new());
}

#[test]
fn ecs_rules_are_enforced() {
    let o = td(json!({
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {"name": "a", "image": "x", "memory": 64, "essential": false,
             "portMappings": [{"containerPort": 80, "hostPort": 81}],
             "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "x", "memory": 64, "essential": false,
             "dependsOn": [{"containerName": "a", "condition": "START"}, {"containerName": "zz", "condition": "START"}]},
            {"name": "b", "image": "x", "memory": 64, "essential": false}
        ]
    }));
    let e = errors(&o);
    let has = |s: &str| e.iter().any(|x| x.contains(s));
    assert!(
        has("spec.containerDefinitions[2].name: container name \"b\" is already used"),
        "{e:#?}"
    );
    assert!(has("at least one container must be essential"), "{e:#?}");
    assert!(
        has(
            "spec.containerDefinitions[0].portMappings[0].hostPort: with networkMode awsvpc hostPort must equal containerPort (80), got 81"
        ),
        "{e:#?}"
    );
    assert!(has("dependency cycle"), "{e:#?}");
    assert!(
        has("spec.containerDefinitions[1].dependsOn[1].containerName: no container named \"zz\""),
        "{e:#?}"
    );
}

#[test]
fn complete_on_essential_is_refused() {
    let o = td(json!({"containerDefinitions": [
        {"name": "init", "image": "x", "memory": 64},
        {"name": "app", "image": "x", "memory": 64, "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]}
    ]}));
    let e = errors(&o);
    assert!(
        e.iter()
            .any(|x| x.contains("\"init\" is essential") && x.contains("SUCCESS")),
        "{e:#?}"
    );
}

#[test]
fn typed_errors_carry_paths_and_ranges() {
    let o = td(json!({"containerDefinitions": [
        {"name": "a", "image": "x", "memory": 64},
        {"name": "b", "image": "x", "memory": 64, "portMappings": [{"containerPort": "http"}]}
    ]}));
    assert_eq!(
        errors(&o),
        vec![
            "spec.containerDefinitions[1].portMappings[0].containerPort: expected an integer 1..65535, got \"http\""
        ]
    );
    let o = td(
        json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64,
        "healthCheck": {"command": ["CMD", "true"], "interval": 1}}]}),
    );
    assert_eq!(
        errors(&o),
        vec![
            "spec.containerDefinitions[0].healthCheck.interval: expected an integer 5..300, got 1"
        ]
    );
}

#[test]
fn every_type_error_of_a_spec_is_reported_not_just_the_first() {
    let o = td(json!({"containerDefinitions": [
        {"name": "a", "image": 5, "memory": 64, "portMapings": []},
        {"name": "b", "image": "x", "memory": "lots", "essential": "yes",
         "healthCheck": {"command": ["CMD", "true"], "interval": 1}}
    ], "networkMode": "default"}));
    assert_eq!(
        errors(&o),
        vec![
            "spec.containerDefinitions[0].image: expected a string, got 5",
            "spec.containerDefinitions[0].portMapings: unknown field \"portMapings\" (did you mean \"portMappings\"?)",
            "spec.containerDefinitions[1].memory: expected memory in MiB (512) or with a unit (\"0.5 GB\"), got \"lots\"",
            "spec.containerDefinitions[1].essential: expected a boolean, got \"yes\"",
            "spec.containerDefinitions[1].healthCheck.interval: expected an integer 5..300, got 1",
            "spec.networkMode: expected one of bridge, host, awsvpc, none, got \"default\"",
        ]
    );
}

#[test]
fn a_required_field_taken_out_is_not_reported_missing_as_well() {
    // `image` has the wrong type and is required: one error, not a second "missing field".
    let o = td(json!({"containerDefinitions": [{"name": "a", "image": ["x"], "memory": 64}]}));
    assert_eq!(
        errors(&o),
        vec!["spec.containerDefinitions[0].image: expected a string, got a list"]
    );
    // A field missing in the first place still is.
    let o = td(json!({"containerDefinitions": [{"name": "a", "memory": 64}]}));
    assert_eq!(
        errors(&o),
        vec!["spec.containerDefinitions[0]: missing required field \"image\""]
    );
}

#[test]
fn cpu_and_memory_strings() {
    let o = td(
        json!({"cpu": "1 vCPU", "memory": "0.5 GB", "containerDefinitions": [
        {"name": "a", "image": "x", "memory": 600}]}),
    );
    assert_eq!(
        errors(&o),
        vec!["spec.memory: 512 MiB is less than the containers' memory (600 MiB in all)"]
    );
}

#[test]
fn names_are_ecs_names() {
    let mut o = td(json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64}]}));
    o.metadata.name = "../etc".into();
    assert!(
        errors(&o)[0]
            .starts_with("metadata.name: \"../etc\" is not a valid ECS name: it contains '.'"),
        "{:?}",
        errors(&o)
    );
    // Case and '_' are kept: `My_App` is a name of its own, in any kind and as a cluster.
    o.metadata.name = "My_App".into();
    assert_eq!(errors(&o), Vec::<String>::new());
    let s = Object::new(
        Kind::Service,
        "Web_App",
        json!({"taskDefinition": "My_App:3", "desiredCount": 1}),
    );
    let mut s = s;
    s.metadata.cluster = Some("Shop_Prod".into());
    assert_eq!(errors(&s), Vec::<String>::new());
    let a = Object::new(
        Kind::Autoscaler,
        "Web_App",
        json!({"service": "Web_App", "minCapacity": 1, "maxCapacity": 2,
            "targetTracking": [{"metric": "ECSServiceAverageCPUUtilization", "targetValue": 50}]}),
    );
    assert_eq!(errors(&a), Vec::<String>::new());
    // Labels carry names (`ecsctl.service` on a service's tasks), so values are as long as one.
    s.metadata
        .labels
        .insert("ecsctl.service".into(), "S_".repeat(127) + "x");
    assert_eq!(errors(&s), Vec::<String>::new());
    s.metadata
        .labels
        .insert("ecsctl.service".into(), "x".repeat(256));
    assert!(
        errors(&s)[0].contains("up to 255 characters"),
        "{:?}",
        errors(&s)
    );
    s.metadata.labels.clear();
    let long = "x".repeat(256);
    s.metadata.name = long;
    assert!(errors(&s)[0].contains("at most 255"), "{:?}", errors(&s));
    s.metadata.name = "${SERVICE}".into();
    assert!(
        errors(&s)[0].contains("unrendered template placeholder"),
        "{:?}",
        errors(&s)
    );
    o.metadata.name = "web".into();
    o.metadata.cluster = Some("prod".into());
    assert!(errors(&o)[0].contains("not part of a cluster"));
}

#[test]
fn service_rules() {
    let s = Object::new(Kind::Service, "web", json!({"taskDefinition": "web:0"}));
    let e = errors(&s);
    assert!(e.iter().any(|x| x.contains("desiredCount")), "{e:#?}");
    assert!(e.iter().any(|x| x.contains("revision number")), "{e:#?}");
    let s = Object::new(
        Kind::Service,
        "web",
        json!({"taskDefinition": "web", "desiredCount": 2,
        "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 100}}),
    );
    assert!(errors(&s)[0].contains("no deployment can make progress"));
}

#[test]
fn https_listeners_need_certificates_and_only_they_take_them() {
    let lb = |listeners: serde_json::Value| {
        Object::new(
            Kind::LoadBalancer,
            "edge",
            json!({ "listeners": listeners }),
        )
    };
    let ok = lb(json!([
        {"port": 443, "protocol": "HTTPS", "defaultService": "web",
         "certificates": [{"certificateArn": "web-cert"},
                          {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/api-cert"}]}
    ]));
    assert_eq!(errors(&ok), Vec::<String>::new());

    let e = errors(&lb(json!([
        {"port": 443, "protocol": "HTTPS", "defaultService": "web"},
        {"port": 80, "protocol": "HTTP", "defaultService": "web",
         "certificates": [{"certificateArn": "web-cert"}]},
        {"port": 8443, "protocol": "HTTPS", "defaultService": "web",
         "certificates": [{"certificateArn": "arn:aws:acm:us-east-1:1:certificate/"}]}
    ])));
    let has = |s: &str| e.iter().any(|x| x.contains(s));
    assert!(
        has("spec.listeners[0].certificates: an HTTPS listener needs at least one certificate"),
        "{e:#?}"
    );
    assert!(
        has("spec.listeners[1].certificates: only HTTPS listeners present certificates"),
        "{e:#?}"
    );
    assert!(
        has(
            "spec.listeners[2].certificates[0].certificateArn: certificateArn \"arn:aws:acm:us-east-1:1:certificate/\" names no usable Secret"
        ),
        "{e:#?}"
    );
    assert_eq!(e.len(), 3, "{e:#?}");
}

#[test]
fn service_connect_is_checked_and_proxy_settings_are_kept_with_a_warning() {
    let svc = |sc: serde_json::Value| {
        Object::new(
            Kind::Service,
            "api",
            json!({"taskDefinition": "api", "desiredCount": 1, "serviceConnectConfiguration": sc}),
        )
    };
    let ok = svc(
        json!({"enabled": true, "namespace": "internal", "services": [
        {"portName": "http", "discoveryName": "api", "ingressPortOverride": 15000,
         "timeout": {"idleTimeoutSeconds": 60},
         "clientAliases": [{"port": 8080, "dnsName": "api.internal"}]}],
        "logConfiguration": {"logDriver": "awslogs"}}),
    );
    let report = check(&ok);
    assert_eq!(report.errors, vec![]);
    let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    for field in [
        "services[0].ingressPortOverride",
        "services[0].timeout",
        "logConfiguration",
    ] {
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&format!("spec.serviceConnectConfiguration.{field}: "))),
            "{field}: {warnings:#?}"
        );
    }
    let e = errors(&svc(json!({"enabled": true, "services": [
        {"portName": "http", "discoveryName": "-api",
         "clientAliases": [{"port": 8080, "dnsName": "api..internal"}]}]})));
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].starts_with(
            "spec.serviceConnectConfiguration.services[0].discoveryName: \"-api\" is not a DNS name"
        ),
        "{e:#?}"
    );
    assert!(e[1].starts_with("spec.serviceConnectConfiguration.services[0].clientAliases[0].dnsName: \"api..internal\" is not a DNS name"), "{e:#?}");
}

#[test]
fn host_paths_are_normal_and_volume_names_follow_ecs() {
    let o = td(json!({
        "volumes": [
            {"name": "a", "host": {"sourcePath": "/etc//shadow"}},
            {"name": "b", "host": {"sourcePath": "/var/run/./docker.sock"}},
            {"name": "c.d", "host": {"sourcePath": "/srv/data"}},
            {"name": "e", "host": {"sourcePath": "/srv/data"}}
        ],
        "containerDefinitions": [{"name": "x", "image": "x", "memory": 64}]
    }));
    let e = errors(&o);
    let has = |s: &str| e.iter().any(|x| x.contains(s));
    assert!(has("spec.volumes[0].host.sourcePath"), "{e:#?}");
    assert!(has("spec.volumes[1].host.sourcePath"), "{e:#?}");
    assert!(has("spec.volumes[2].name"), "{e:#?}");
    assert_eq!(e.len(), 3, "{e:#?}");

    let cluster = Object::new(
        Kind::Cluster,
        "c",
        json!({"policy": {"hostPathAllowlist": ["/srv/data", "/var"]}}),
    );
    let e = errors(&cluster);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].contains("spec.policy.hostPathAllowlist[1]"), "{e:#?}");
}

#[test]
fn a_health_check_docker_ignores_is_a_warning() {
    let o = td(json!({"containerDefinitions": [
        {"name": "a", "image": "x", "memory": 64,
         "healthCheck": {"command": ["/healthcheck", "--quick"]}},
        {"name": "b", "image": "x", "memory": 64, "essential": false,
         "dependsOn": [{"containerName": "a", "condition": "HEALTHY"}]}
    ]}));
    let r = check(&o);
    let warnings: Vec<String> = r.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings.iter().any(|w| w
            .starts_with("spec.containerDefinitions[0].healthCheck.command[0]: \"/healthcheck\"")
            && w.contains("Docker ignores it")),
        "{warnings:#?}"
    );
    // Waiting for HEALTHY on a check nobody runs would wait forever.
    let e = errors(&o);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].contains("HEALTHY needs a healthCheck on \"a\" that Docker runs"));
    let ok = td(
        json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64,
        "healthCheck": {"command": ["curl", "-f", "http://localhost/"]}}]}),
    );
    assert_eq!(errors(&ok), Vec::<String>::new());
    let empty = td(
        json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64,
        "healthCheck": {"command": []}}]}),
    );
    assert!(errors(&empty)[0].contains("must not be empty"));
}

#[test]
fn string_integers_are_numbers_in_every_integer_field() {
    let o = td(
        json!({"cpu": "256", "memory": "512", "containerDefinitions": [
            {"name": "a", "image": "x", "memory": "64", "cpu": "128",
             "portMappings": [{"containerPort": "80", "hostPort": "8080"}],
             "healthCheck": {"command": ["CMD", "true"], "interval": "10", "retries": "3"},
             "ulimits": [{"name": "nofile", "softLimit": "1024", "hardLimit": "4096"}],
             "stopTimeout": "30",
             "linuxParameters": {"sharedMemorySize": "64", "tmpfs": [{"containerPath": "/t", "size": "16"}]}}
        ]}),
    );
    assert_eq!(errors(&o), Vec::<String>::new());
    let spec: crate::taskdef::TaskDefinitionSpec = o.spec_as().expect("typed");
    let c = &spec.container_definitions[0];
    assert_eq!(c.port_mappings[0].container_port.map(|p| p.get()), Some(80));
    assert_eq!(c.ulimits[0].soft_limit, 1024);
    let s = Object::new(
        Kind::Service,
        "web",
        json!({"taskDefinition": "web", "desiredCount": "2",
               "deploymentConfiguration": {"minimumHealthyPercent": "50", "maximumPercent": "200"}}),
    );
    assert_eq!(errors(&s), Vec::<String>::new());
    // A placeholder where a number belongs is said to be one.
    let bad = td(
        json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64,
        "portMappings": [{"containerPort": "${PORT}"}]}]}),
    );
    assert_eq!(
        errors(&bad),
        vec![
            "spec.containerDefinitions[0].portMappings[0].containerPort: expected an integer 1..65535, got \"${PORT}\" (an unrendered template placeholder)"
        ]
    );
}

#[test]
fn security_group_rules_are_checked_with_their_paths() {
    let sg = |spec: serde_json::Value| Object::new(Kind::SecurityGroup, "api", spec);
    assert_eq!(
        errors(&sg(json!({
            "ingress": [
                {"protocol": "tcp", "fromPort": 80, "toPort": 80, "source": {"securityGroup": "web"}},
                {"protocol": "udp", "fromPort": "53", "toPort": 53, "source": {"cidr": "10.0.0.0/8"}},
                {"protocol": "icmp", "fromPort": 8, "source": {"cidr": "0.0.0.0/0"}},
                {"protocol": "-1", "source": {"securityGroup": "sg-0abc"}}
            ],
            "egress": []
        }))),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&sg(json!({
            "ingress": [
                {"protocol": "tcp", "fromPort": 90, "toPort": 80, "source": {"securityGroup": "web", "cidr": "10.0.0.0/8"}},
                {"protocol": "udp", "fromPort": 53, "source": {"cidr": "10.0.0.1/8"}},
                {"protocol": "all", "fromPort": 22, "source": {}}
            ],
            "egress": [{"protocol": "tcp", "fromPort": -1, "toPort": 443, "destination": {"cidr": "fd00::/8"}}]
        }))),
        vec![
            "spec.ingress[0].source: a rule names exactly one of securityGroup or cidr",
            "spec.ingress[0].toPort: toPort 80 is below fromPort 90",
            "spec.ingress[1].source.cidr: \"10.0.0.1/8\" has bits set beyond its /8 prefix: did you mean 10.0.0.0/8?",
            "spec.ingress[1].toPort: udp rules need fromPort and toPort (80 and 80 for one port, 0 and 65535 for all)",
            "spec.ingress[2].source: a rule names exactly one of securityGroup or cidr",
            "spec.ingress[2].fromPort: protocol all matches every port: leave the ports out (or -1)",
            "spec.egress[0].destination.cidr: \"fd00::/8\" is an IPv6 block: task addresses are IPv4, so rules take IPv4 blocks (10.0.0.0/8)",
            "spec.egress[0].fromPort: tcp ports are 0..65535 (-1 is for icmp and all)",
        ]
    );
    let e = errors(&sg(
        json!({"ingress": [{"protocol": "sctp", "source": {"cidr": "0.0.0.0/0"}}]}),
    ));
    assert!(e[0].starts_with("spec.ingress[0].protocol:"), "{e:?}");
    let e = errors(&sg(
        json!({"ingress": [{"protocol": "tcp", "fromPort": 70000, "toPort": 80, "source": {"cidr": "0.0.0.0/0"}}]}),
    ));
    assert!(e[0].contains("-1..65535"), "{e:?}");
    let svc = Object::new(
        Kind::Service,
        "web",
        json!({"taskDefinition": "web", "desiredCount": 1, "networkConfiguration": {"awsvpcConfiguration": {
            "securityGroups": ["a", "b", "c", "d", "e", "f"]}}}),
    );
    assert_eq!(
        errors(&svc),
        vec![
            "spec.networkConfiguration.awsvpcConfiguration.securityGroups: 6 groups; a task is in at most 5"
        ]
    );
}
