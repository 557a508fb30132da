//! ECS rules for services that the types alone do not enforce.

use super::{Report, check_task_definition_ref};
use crate::service::*;

pub(super) fn check(spec: &ServiceSpec, r: &mut Report) {
    check_task_definition_ref(&spec.task_definition, "spec.taskDefinition", r);
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
                if let Err(e) = super::check_dns_label(n) {
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
    for (i, s) in spec.placement_strategy.iter().enumerate() {
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
            _ => {}
        }
    }
    for (i, c) in spec.placement_constraints.iter().enumerate() {
        let p = format!("spec.placementConstraints[{i}]");
        match (c.constraint_type, &c.expression) {
            (PlacementConstraintType::MemberOf, None) => {
                r.error(p.clone(), "memberOf needs an expression")
            }
            (PlacementConstraintType::DistinctInstance, Some(_)) => r.error(
                format!("{p}.expression"),
                "distinctInstance takes no expression",
            ),
            _ => {}
        }
    }
}
