//! The kinds of objects ecsctl stores, and the names users may type for them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Every kind of object in the store.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Kind {
    Cluster,
    TaskDefinition,
    Service,
    Task,
    Autoscaler,
    LoadBalancer,
    /// A secret value (from the manifest, a file or the server's environment) that
    /// containers receive through `containerDefinitions[].secrets`.
    Secret,
    /// Which traffic may reach and leave awsvpc tasks (EC2's security groups).
    SecurityGroup,
    /// Where the AWS credentials of tasks whose `taskRoleArn` names it come from.
    Role,
    /// System-owned: created by the service controller, read-only to users.
    Deployment,
    /// System-owned: a host that runs tasks (the server's own machine, later agents').
    ContainerInstance,
}

impl Kind {
    /// All kinds, in the order they are applied (dependencies first).
    pub const ALL: [Kind; 11] = [
        Kind::Cluster,
        Kind::TaskDefinition,
        Kind::LoadBalancer,
        Kind::Service,
        Kind::Task,
        Kind::Autoscaler,
        Kind::Secret,
        Kind::SecurityGroup,
        Kind::Role,
        Kind::Deployment,
        Kind::ContainerInstance,
    ];

    /// Kinds a user may write in a manifest.
    pub const USER: [Kind; 9] = [
        Kind::Cluster,
        Kind::TaskDefinition,
        Kind::LoadBalancer,
        Kind::Service,
        Kind::Task,
        Kind::Autoscaler,
        Kind::Secret,
        Kind::SecurityGroup,
        Kind::Role,
    ];

    /// The canonical name, as written in `kind:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Cluster => "Cluster",
            Kind::TaskDefinition => "TaskDefinition",
            Kind::Service => "Service",
            Kind::Task => "Task",
            Kind::Autoscaler => "Autoscaler",
            Kind::LoadBalancer => "LoadBalancer",
            Kind::Secret => "Secret",
            Kind::SecurityGroup => "SecurityGroup",
            Kind::Role => "Role",
            Kind::Deployment => "Deployment",
            Kind::ContainerInstance => "ContainerInstance",
        }
    }

    /// Lower-case plural, used in URLs and in `ecsctl get` output.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Cluster => "clusters",
            Kind::TaskDefinition => "taskdefinitions",
            Kind::Service => "services",
            Kind::Task => "tasks",
            Kind::Autoscaler => "autoscalers",
            Kind::LoadBalancer => "loadbalancers",
            Kind::Secret => "secrets",
            Kind::SecurityGroup => "securitygroups",
            Kind::Role => "roles",
            Kind::Deployment => "deployments",
            Kind::ContainerInstance => "containerinstances",
        }
    }

    /// Short names accepted on the command line (as kubectl's).
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Kind::Cluster => &["cl"],
            Kind::TaskDefinition => &["td", "taskdef", "taskdefs"],
            Kind::Service => &["svc"],
            Kind::Task => &[],
            Kind::Autoscaler => &["as", "hpa"],
            Kind::LoadBalancer => &["lb", "lbs"],
            Kind::Secret => &[],
            Kind::SecurityGroup => &["sg", "sgs"],
            Kind::Role => &[],
            Kind::Deployment => &["deploy"],
            Kind::ContainerInstance => &["ci", "containerinstance"],
        }
    }

    /// Whether objects of this kind live inside a cluster. Clusters and task definitions are
    /// account-wide, as in ECS. Secrets are not (unlike Secrets Manager's): each belongs to a
    /// cluster, so that whoever deploys to one cluster cannot have a task read another
    /// cluster's Secrets, and a task injects only Secrets of its own cluster.
    pub fn is_clustered(self) -> bool {
        !matches!(self, Kind::Cluster | Kind::TaskDefinition)
    }

    /// Whether every applied change of the spec makes a new immutable revision (`family:N`).
    pub fn is_revisioned(self) -> bool {
        matches!(self, Kind::TaskDefinition)
    }

    /// Whether users may apply or delete objects of this kind.
    pub fn is_user_writable(self) -> bool {
        !matches!(self, Kind::Deployment | Kind::ContainerInstance)
    }

    /// Parses what a user types: singular, plural or short form, any case.
    pub fn parse_user(s: &str) -> Option<Kind> {
        let lower = s.to_ascii_lowercase();
        Kind::ALL.into_iter().find(|k| {
            k.as_str().eq_ignore_ascii_case(&lower)
                || k.plural() == lower
                || k.short_names().contains(&lower.as_str())
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a kind name nobody knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown kind {0:?}: expected one of Cluster, TaskDefinition, Service, Task, Autoscaler, LoadBalancer, Secret, SecurityGroup, Role, Deployment, ContainerInstance"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::parse_user(s).ok_or_else(|| UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_resolve() {
        for (s, k) in [
            ("td", Kind::TaskDefinition),
            ("TaskDefinitions", Kind::TaskDefinition),
            ("svc", Kind::Service),
            ("services", Kind::Service),
            ("lb", Kind::LoadBalancer),
            ("task", Kind::Task),
            ("Cluster", Kind::Cluster),
            ("ci", Kind::ContainerInstance),
            ("sg", Kind::SecurityGroup),
            ("securitygroups", Kind::SecurityGroup),
            ("containerinstance", Kind::ContainerInstance),
            ("ContainerInstances", Kind::ContainerInstance),
        ] {
            assert_eq!(Kind::parse_user(s), Some(k), "{s}");
        }
        assert_eq!(Kind::parse_user("pods"), None);
    }
}
