//! ECS rules for services that the types alone do not enforce.

use super::{Report, check_task_definition_ref};
use crate::service::*;

pub(super) fn check(spec: &ServiceSpec, r: &mut Report) {
    check_task_definition_ref(&spec.task_definition, "spec.taskDefinition", r);
    crate::securitygroup::check_task_groups(spec.network_configuration.as_ref(), r);
    if let Some(sc) = &spec.service_connect_configuration {
        check_service_connect(sc, r);
    }
    let strategy = spec.scheduling_strategy();
    match strategy {
        SchedulingStrategy::Replica if spec.desired_count.is_none() => r.error(
            "spec",
            "missing required field \"desiredCount\" (required for REPLICA services, as in ECS)",
        ),
        SchedulingStrategy::Daemon if !spec.placement_strategy.is_empty() => {
            r.error(
                "spec.placementStrategy",
                "DAEMON services cannot have a placement strategy (as in ECS)",
            );
        }
        _ => {}
    }
    if let Some(d) = &spec.deployment_configuration {
        if let Some(max) = d.maximum_percent
            && strategy == SchedulingStrategy::Replica
            && max.get() < 100
        {
            r.error(
                "spec.deploymentConfiguration.maximumPercent",
                format!("must be at least 100, got {}", max.get()),
            );
        }
        if spec.minimum_healthy_percent() >= spec.maximum_percent()
            && strategy == SchedulingStrategy::Replica
        {
            r.error(
                "spec.deploymentConfiguration",
                format!(
                    "minimumHealthyPercent {} must be below maximumPercent {}, or no deployment can make progress",
                    spec.minimum_healthy_percent(),
                    spec.maximum_percent()
                ),
            );
        }
        if d.strategy == Some(DeploymentStrategy::BlueGreen) {
            r.error(
                "spec.deploymentConfiguration.strategy",
                "BLUE_GREEN is not implemented; ecsctl runs ROLLING deployments",
            );
        }
        if d.alarms.as_ref().is_some_and(|a| a.enable) {
            r.warn(
                "spec.deploymentConfiguration.alarms",
                "CloudWatch alarms are not evaluated locally",
            );
        }
    }
    if let Some(c) = &spec.deployment_controller
        && c.controller_type != DeploymentControllerType::Ecs
    {
        r.error(
                "spec.deploymentController.type",
                "only the ECS (rolling update) deployment controller is implemented; CODE_DEPLOY and EXTERNAL are not",
            );
    }
    if spec.launch_type.is_some() && !spec.capacity_provider_strategy.is_empty() {
        r.error(
            "spec.capacityProviderStrategy",
            "set launchType or capacityProviderStrategy, not both (as in ECS)",
        );
    }
    for (i, lb) in spec.load_balancers.iter().enumerate() {
        let p = format!("spec.loadBalancers[{i}]");
        match (&lb.load_balancer_name, &lb.target_group_arn) {
            (Some(n), None) => {
                if let Err(e) = super::check_ecs_name(n) {
                    r.error(format!("{p}.loadBalancerName"), e);
                }
            }
            (None, Some(_)) => r.warn(
                format!("{p}.targetGroupArn"),
                "an AWS target group cannot be attached locally; name an ecsctl LoadBalancer with loadBalancerName",
            ),
            (Some(_), Some(_)) => r.error(p.clone(), "set loadBalancerName or targetGroupArn, not both"),
            (None, None) => r.error(p.clone(), "missing required field \"loadBalancerName\""),
        }
        if !super::taskdef::valid_ecs_name(&lb.container_name) {
            r.error(
                format!("{p}.containerName"),
                format!(
                    "{:?} is not a container name (letters, digits, '-' and '_')",
                    lb.container_name
                ),
            );
        }
    }
    check_placement(&spec.placement_strategy, &spec.placement_constraints, r);
}

/// A service's (or a run-task's) placement strategies and constraints: fields each type
/// takes, memberOf expressions that parse.
pub(super) fn check_placement(
    strategies: &[crate::service::PlacementStrategy],
    constraints: &[crate::service::PlacementConstraint],
    r: &mut Report,
) {
    for (i, s) in strategies.iter().enumerate() {
        let p = format!("spec.placementStrategy[{i}]");
        match (s.strategy_type, s.field.as_deref()) {
            (PlacementStrategyType::Random, Some(_)) => {
                r.error(format!("{p}.field"), "random takes no field")
            }
            (PlacementStrategyType::Spread, None) => r.error(
                p.clone(),
                "spread needs a field (instanceId or attribute:ecs.availability-zone)",
            ),
            (PlacementStrategyType::Binpack, f) if !matches!(f, Some("cpu") | Some("memory")) => {
                r.error(format!("{p}.field"), "binpack's field is cpu or memory")
            }
            (PlacementStrategyType::Spread, Some(f))
                if !matches!(f, "instanceId" | "host") && !f.starts_with("attribute:") =>
            {
                r.error(
                    format!("{p}.field"),
                    format!("spread's field is instanceId, host or attribute:NAME, not {f:?}"),
                )
            }
            _ => {}
        }
    }
    for (i, c) in constraints.iter().enumerate() {
        let p = format!("spec.placementConstraints[{i}]");
        match (c.constraint_type, &c.expression) {
            (PlacementConstraintType::MemberOf, None) => {
                r.error(p.clone(), "memberOf needs an expression")
            }
            (PlacementConstraintType::DistinctInstance, Some(_)) => r.error(
                format!("{p}.expression"),
                "distinctInstance takes no expression",
            ),
            (PlacementConstraintType::MemberOf, Some(e)) => {
                check_member_of(e, &format!("{p}.expression"), r)
            }
            _ => {}
        }
    }
}

/// A memberOf expression must parse: the error names the byte offset in the expression and
/// what was expected there (shared with task definitions' placementConstraints).
pub(super) fn check_member_of(expression: &str, path: &str, r: &mut Report) {
    if let Err(e) = crate::placement::Expr::parse(expression) {
        r.error(
            path,
            format!("not a cluster query language expression: {e}"),
        );
    }
}

/// A DNS name of one or more labels (`api`, `api.internal`): letters, digits and `-`, each
/// label 1..63 characters not starting or ending with `-`, 253 in all.
fn check_dns_name(name: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if name.len() <= 253 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a DNS name (labels of letters, digits and '-', separated by '.')"
        ))
    }
}

fn check_service_connect(sc: &ServiceConnectConfiguration, r: &mut Report) {
    let p = "spec.serviceConnectConfiguration";
    if !sc.enabled {
        return;
    }
    if sc.log_configuration.is_some() {
        r.warn(
            format!("{p}.logConfiguration"),
            "there is no Service Connect proxy locally, so it has no logs; kept, not applied",
        );
    }
    for (i, s) in sc.services.iter().enumerate() {
        let sp = format!("{p}.services[{i}]");
        if s.port_name.is_empty() {
            r.error(format!("{sp}.portName"), "must name a portMappings entry");
        }
        if let Err(e) = check_dns_name(s.discovery()) {
            let field = if s.discovery_name.is_some() {
                "discoveryName"
            } else {
                "portName"
            };
            r.error(format!("{sp}.{field}"), e);
        }
        for (field, set) in [
            ("ingressPortOverride", s.ingress_port_override.is_some()),
            ("timeout", s.timeout.is_some()),
            ("tls", s.tls.is_some()),
        ] {
            if set {
                r.warn(
                    format!("{sp}.{field}"),
                    "configures Service Connect's proxy, which ecsctl does not run; kept, not applied",
                );
            }
        }
        for (j, a) in s.client_aliases.iter().enumerate() {
            if let Some(d) = &a.dns_name
                && let Err(e) = check_dns_name(d)
            {
                r.error(format!("{sp}.clientAliases[{j}].dnsName"), e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::check;
    use crate::{Kind, Object};
    use serde_json::json;

    fn errors(o: &Object) -> Vec<String> {
        check(o).errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn placement_expressions_must_parse_and_fields_be_known() {
        let s = Object::new(
            Kind::Service,
            "web",
            json!({"taskDefinition": "web", "desiredCount": 2,
                "placementConstraints": [
                    {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.* and not(task:group == db)"},
                    {"type": "memberOf", "expression": "attribute:stack prod"},
                    {"type": "distinctInstance"}],
                "placementStrategy": [
                    {"type": "spread", "field": "attribute:ecs.availability-zone"},
                    {"type": "spread", "field": "host"},
                    {"type": "spread", "field": "zone"},
                    {"type": "binpack", "field": "memory"}]}),
        );
        assert_eq!(
            errors(&s),
            vec![
                "spec.placementStrategy[2].field: spread's field is instanceId, host or attribute:NAME, not \"zone\"",
                "spec.placementConstraints[1].expression: not a cluster query language expression: expected an operator after attribute:stack (==, !=, =~, !~, in, not_in, exists or not_exists), found \"prod\" at 16",
            ]
        );
    }

    #[test]
    fn task_definition_constraints_are_checked_the_same_way() {
        let td = |constraints: serde_json::Value| {
            Object::new(
                Kind::TaskDefinition,
                "web",
                json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64}],
                    "placementConstraints": constraints}),
            )
        };
        let ok = td(json!([{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]));
        assert_eq!(errors(&ok), Vec::<String>::new());
        let bad = td(json!([
            {"type": "memberOf", "expression": "attribute:ecs.os-type == linux"},
            {"type": "memberOf", "expression": "attribute:zone in [a, b"},
            {"type": "memberOf"}]));
        assert_eq!(
            errors(&bad),
            vec![
                "spec.placementConstraints[1].expression: not a cluster query language expression: expected ',' or ']' at 23",
                "spec.placementConstraints[2]: memberOf needs an expression",
            ]
        );
    }
}
