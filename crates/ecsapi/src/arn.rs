//! ECS ARNs: `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME` and the other resource types, and
//! taking a "name or ARN" argument back to the name.

/// An ECS resource an ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// The region.
    pub region: String,
    /// The account id.
    pub account: String,
    /// `cluster`, `service`, `task`, `task-definition`, `container-instance`.
    pub resource_type: String,
    /// What follows `TYPE/` (`NAME`, `CLUSTER/NAME`, `FAMILY:REV`).
    pub resource: String,
}

impl Arn {
    fn new(region: &str, account: &str, resource_type: &str, resource: String) -> Arn {
        Arn {
            region: region.to_string(),
            account: account.to_string(),
            resource_type: resource_type.to_string(),
            resource,
        }
    }

    /// The ARN of a cluster: `cluster/NAME`.
    pub fn cluster(region: &str, account: &str, name: &str) -> Arn {
        Arn::new(region, account, "cluster", name.to_string())
    }

    /// The ARN of a task definition revision: `task-definition/FAMILY:REV`.
    pub fn task_definition(region: &str, account: &str, family: &str, revision: u64) -> Arn {
        Arn::new(
            region,
            account,
            "task-definition",
            format!("{family}:{revision}"),
        )
    }

    /// The ARN of a service (ECS's long format): `service/CLUSTER/NAME`.
    pub fn service(region: &str, account: &str, cluster: &str, name: &str) -> Arn {
        Arn::new(region, account, "service", format!("{cluster}/{name}"))
    }

    /// The ARN of a task (ECS's long format): `task/CLUSTER/ID`.
    pub fn task(region: &str, account: &str, cluster: &str, id: &str) -> Arn {
        Arn::new(region, account, "task", format!("{cluster}/{id}"))
    }

    /// The ARN of a container instance: `container-instance/CLUSTER/ID`.
    pub fn container_instance(region: &str, account: &str, cluster: &str, id: &str) -> Arn {
        Arn::new(
            region,
            account,
            "container-instance",
            format!("{cluster}/{id}"),
        )
    }

    /// Parses `arn:aws:ecs:REGION:ACCOUNT:TYPE/RESOURCE` (any AWS partition).
    pub fn parse(s: &str) -> Option<Arn> {
        let mut parts = s.splitn(6, ':');
        let (arn, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, rest) = (parts.next()?, parts.next()?, parts.next()?);
        if arn != "arn" || !partition.starts_with("aws") || service != "ecs" {
            return None;
        }
        let (resource_type, resource) = rest.split_once('/')?;
        if resource_type.is_empty() || resource.is_empty() {
            return None;
        }
        Some(Arn {
            region: region.to_string(),
            account: account.to_string(),
            resource_type: resource_type.to_string(),
            resource: resource.to_string(),
        })
    }
}

impl std::fmt::Display for Arn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "arn:aws:ecs:{}:{}:{}/{}",
            self.region, self.account, self.resource_type, self.resource
        )
    }
}

/// The cluster name of a "name or ARN" argument; `None` for an ARN that is not a cluster's.
pub fn cluster_name(name_or_arn: &str) -> Option<String> {
    if name_or_arn.starts_with("arn:") {
        Arn::parse(name_or_arn)
            .filter(|a| a.resource_type == "cluster" && !a.resource.contains('/'))
            .map(|a| a.resource)
    } else {
        Some(name_or_arn.to_string())
    }
}

/// A task definition argument (`FAMILY`, `FAMILY:REV` or its ARN) taken apart: the family,
/// and the revision when one is named. `None` for an ARN of another type or a revision that
/// is not a positive number.
pub fn task_definition_ref(family_rev_or_arn: &str) -> Option<(String, Option<u64>)> {
    let s = if family_rev_or_arn.starts_with("arn:") {
        let arn = Arn::parse(family_rev_or_arn).filter(|a| a.resource_type == "task-definition")?;
        arn.resource
    } else {
        family_rev_or_arn.to_string()
    };
    match s.rsplit_once(':') {
        None if !s.is_empty() => Some((s, None)),
        None => None,
        Some((family, rev)) => {
            let n: u64 = rev.parse().ok().filter(|n| *n > 0)?;
            (!family.is_empty()).then(|| (family.to_string(), Some(n)))
        }
    }
}

/// A service or task argument (`NAME`, or its ARN in ECS's long `TYPE/CLUSTER/NAME` or
/// short `TYPE/NAME` format) taken apart: the cluster the ARN names, if any, and the name
/// (or task id). `None` for an ARN of another type.
pub fn in_cluster(resource_type: &str, name_or_arn: &str) -> Option<(Option<String>, String)> {
    if !name_or_arn.starts_with("arn:") {
        return (!name_or_arn.is_empty()).then(|| (None, name_or_arn.to_string()));
    }
    let arn = Arn::parse(name_or_arn).filter(|a| a.resource_type == resource_type)?;
    match arn.resource.split_once('/') {
        Some((cluster, name)) if !cluster.is_empty() && !name.is_empty() && !name.contains('/') => {
            Some((Some(cluster.to_string()), name.to_string()))
        }
        Some(_) => None,
        None => Some((None, arn.resource)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        let arn = Arn::cluster("eu-west-1", "000000000000", "shop_prod");
        let s = arn.to_string();
        assert_eq!(s, "arn:aws:ecs:eu-west-1:000000000000:cluster/shop_prod");
        assert_eq!(Arn::parse(&s), Some(arn));
        let svc = Arn::parse("arn:aws:ecs:us-east-1:123456789012:service/shop/web").unwrap();
        assert_eq!(svc.resource_type, "service");
        assert_eq!(svc.resource, "shop/web");
        let td = Arn::parse("arn:aws:ecs:us-east-1:1:task-definition/web:3").unwrap();
        assert_eq!(td.resource, "web:3");
    }

    #[test]
    fn names_or_arns_give_cluster_names() {
        assert_eq!(cluster_name("shop").as_deref(), Some("shop"));
        assert_eq!(
            cluster_name("arn:aws:ecs:us-east-1:000000000000:cluster/shop").as_deref(),
            Some("shop")
        );
        assert_eq!(
            cluster_name("arn:aws:ecs:us-east-1:0:service/shop/web"),
            None
        );
        assert_eq!(cluster_name("arn:aws:s3:::bucket/x"), None);
        assert_eq!(cluster_name("arn:aws:ecs:us-east-1:0:cluster"), None);
    }

    #[test]
    fn task_definition_arguments_give_family_and_revision() {
        assert_eq!(task_definition_ref("web"), Some(("web".into(), None)));
        assert_eq!(
            task_definition_ref("Web_App:3"),
            Some(("Web_App".into(), Some(3)))
        );
        let arn = Arn::task_definition("us-east-1", "1", "web", 7).to_string();
        assert_eq!(arn, "arn:aws:ecs:us-east-1:1:task-definition/web:7");
        assert_eq!(task_definition_ref(&arn), Some(("web".into(), Some(7))));
        assert_eq!(task_definition_ref("web:0"), None);
        assert_eq!(task_definition_ref("web:x"), None);
        assert_eq!(
            task_definition_ref("arn:aws:ecs:us-east-1:1:cluster/web"),
            None
        );
    }

    #[test]
    fn service_and_task_arguments_in_long_and_short_formats() {
        let arn = Arn::service("us-east-1", "1", "shop", "web").to_string();
        assert_eq!(arn, "arn:aws:ecs:us-east-1:1:service/shop/web");
        assert_eq!(
            in_cluster("service", &arn),
            Some((Some("shop".into()), "web".into()))
        );
        assert_eq!(
            in_cluster("service", "arn:aws:ecs:us-east-1:1:service/web"),
            Some((None, "web".into()))
        );
        assert_eq!(in_cluster("service", "web"), Some((None, "web".into())));
        assert_eq!(in_cluster("task", &arn), None);
        let task = Arn::task("us-east-1", "1", "shop", "abc").to_string();
        assert_eq!(
            in_cluster("task", &task),
            Some((Some("shop".into()), "abc".into()))
        );
        assert_eq!(
            in_cluster("task", "arn:aws:ecs:us-east-1:1:task/a/b/c"),
            None
        );
    }
}
