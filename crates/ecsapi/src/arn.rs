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
    /// The ARN of a cluster.
    pub fn cluster(region: &str, account: &str, name: &str) -> Arn {
        Arn {
            region: region.to_string(),
            account: account.to_string(),
            resource_type: "cluster".to_string(),
            resource: name.to_string(),
        }
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
}
