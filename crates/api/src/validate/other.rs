//! Rules for Cluster, Task, LoadBalancer and Autoscaler specs.

use super::{Report, check_ecs_name, check_task_definition_ref};
use crate::autoscaler::*;
use crate::cluster::ClusterSpec;
use crate::loadbalancer::*;
use crate::task::TaskSpec;
use std::collections::BTreeSet;

pub(super) fn check_cluster(spec: &ClusterSpec, r: &mut Report) {
    if let Some(p) = &spec.policy {
        for (i, path) in p.host_path_allowlist.iter().enumerate() {
            if let Some(problem) = crate::hostpath::allowlist_entry_problem(path) {
                r.error(format!("spec.policy.hostPathAllowlist[{i}]"), problem);
            }
        }
    }
}

pub(super) fn check_task(spec: &TaskSpec, r: &mut Report) {
    check_task_definition_ref(&spec.task_definition, "spec.taskDefinition", r);
    crate::securitygroup::check_task_groups(spec.network_configuration.as_ref(), r);
    if let Some(n) = spec.count
        && n != 1
    {
        r.error(
            "spec.count",
            format!("a Task object is one task, got count {n}: `ecsctl run-task --count {n}` starts several"),
        );
    }
    super::service::check_placement(&spec.placement_strategy, &spec.placement_constraints, r);
}

pub(super) fn check_load_balancer(spec: &LoadBalancerSpec, r: &mut Report) {
    if spec.listeners.is_empty() {
        r.error(
            "spec.listeners",
            "a load balancer needs at least one listener",
        );
    }
    let mut ports = BTreeSet::new();
    for (i, l) in spec.listeners.iter().enumerate() {
        let p = format!("spec.listeners[{i}]");
        if !ports.insert(l.port.0) {
            r.error(
                format!("{p}.port"),
                format!("port {} is used by another listener", l.port.0),
            );
        }
        if let Some(a) = &l.address
            && a.parse::<std::net::IpAddr>().is_err()
        {
            r.error(
                format!("{p}.address"),
                format!("expected an IP address (127.0.0.1, 0.0.0.0, ::1), got {a:?}"),
            );
        }
        if let Some(s) = &l.default_service
            && let Err(e) = check_ecs_name(s)
        {
            r.error(format!("{p}.defaultService"), e);
        }
        match l.protocol {
            LbProtocol::Tcp => {
                if !l.rules.is_empty() {
                    r.error(
                        format!("{p}.rules"),
                        "TCP listeners pass connections through and cannot route by rules",
                    );
                }
                if l.default_service.is_none() {
                    r.error(p.clone(), "a TCP listener needs defaultService");
                }
            }
            LbProtocol::Http | LbProtocol::Https => {
                if l.rules.is_empty() && l.default_service.is_none() {
                    r.error(
                        p.clone(),
                        "an HTTP listener needs rules or a defaultService",
                    );
                }
            }
        }
        if l.protocol == LbProtocol::Https && l.certificates.is_empty() {
            r.error(
                format!("{p}.certificates"),
                "an HTTPS listener needs at least one certificate (certificateArn: the name of a Secret holding the PEM certificate chain and key)",
            );
        }
        if l.protocol != LbProtocol::Https && !l.certificates.is_empty() {
            r.error(
                format!("{p}.certificates"),
                "only HTTPS listeners present certificates (set protocol: HTTPS)",
            );
        }
        for (j, c) in l.certificates.iter().enumerate() {
            if let Err(e) = crate::secret::named_secret("certificateArn", &c.certificate_arn) {
                r.error(format!("{p}.certificates[{j}].certificateArn"), e);
            }
        }
        let mut prios = BTreeSet::new();
        for (j, rule) in l.rules.iter().enumerate() {
            let rp = format!("{p}.rules[{j}]");
            if rule.path_prefix.is_none() && rule.host.is_none() {
                r.error(rp.clone(), "a rule needs pathPrefix, host or both");
            }
            if let Some(pr) = rule.priority
                && !prios.insert(pr)
            {
                r.error(
                    format!("{rp}.priority"),
                    format!("priority {pr} is used by another rule"),
                );
            }
            if let Err(e) = check_ecs_name(&rule.service) {
                r.error(format!("{rp}.service"), e);
            }
        }
    }
}

pub(super) fn check_autoscaler(spec: &AutoscalerSpec, r: &mut Report) {
    if let Err(e) = check_ecs_name(&spec.service) {
        r.error("spec.service", e);
    }
    if spec.min_capacity > spec.max_capacity {
        r.error(
            "spec.minCapacity",
            format!(
                "minCapacity {} is above maxCapacity {}",
                spec.min_capacity.get(),
                spec.max_capacity.get()
            ),
        );
    }
    if spec.target_tracking.is_empty() && spec.step_scaling.is_empty() && spec.scheduled.is_empty()
    {
        r.error(
            "spec",
            "an autoscaler needs at least one of targetTracking, stepScaling, scheduled",
        );
    }
    for (i, t) in spec.target_tracking.iter().enumerate() {
        if !(t.target_value.is_finite() && t.target_value > 0.0) {
            r.error(
                format!("spec.targetTracking[{i}].targetValue"),
                "must be a number above 0",
            );
        }
    }
    for (i, s) in spec.step_scaling.iter().enumerate() {
        if s.steps.is_empty() {
            r.error(
                format!("spec.stepScaling[{i}].steps"),
                "needs at least one step",
            );
        }
        for (j, st) in s.steps.iter().enumerate() {
            if let (Some(lo), Some(hi)) = (st.lower_bound, st.upper_bound)
                && lo >= hi
            {
                r.error(
                    format!("spec.stepScaling[{i}].steps[{j}]"),
                    "lowerBound must be below upperBound",
                );
            }
        }
    }
    for (i, s) in spec.scheduled.iter().enumerate() {
        if let (Some(lo), Some(hi)) = (s.min_capacity, s.max_capacity)
            && lo > hi
        {
            r.error(
                format!("spec.scheduled[{i}].minCapacity"),
                "minCapacity is above maxCapacity",
            );
        }
        if s.schedule.trim().is_empty() {
            r.error(format!("spec.scheduled[{i}].schedule"), "must not be empty");
        }
    }
}
