//! Who may do what: identities (a role and the clusters it acts in), the actions a request
//! asks for, and one pure decision, [`authorize`], that every endpoint calls (writes through
//! [`crate::Admission::admit_apply_as`] and [`crate::Admission::admit_delete_as`]).
//!
//! The roles, as ECS's IAM policies and Kubernetes' RBAC split them:
//!
//! | role | may |
//! |---|---|
//! | `admin` | everything (the unix socket's owner, the `--token-file` token, GitOps syncs), and alone drains and undrains container instances |
//! | `deployer` | read in its clusters; write TaskDefinitions (account-wide, as in ECS) and Services, Tasks, Autoscalers, LoadBalancers and Secrets of its clusters; task logs there. Never Clusters, never `POST /v1/sync` |
//! | `viewer` | read in its clusters (never a Secret's value: no endpoint returns one); no logs, which may print what a task received |
//! | `agent` | read TaskDefinitions, and Clusters, Services, Tasks, ContainerInstances and Secrets (not their values) of its clusters; register a container instance there; report the status of its own instances and of the tasks placed on them; read the value of a Secret such a task needs |
//!
//! A cluster-scoped identity reads a Cluster object only when the cluster is one of its own;
//! TaskDefinitions belong to no cluster, so every role may read them (and a deployer write
//! them, as ECS's task definitions are the account's).

mod tokens;

pub use tokens::{TokenFileError, Tokens};

use api::{Kind, Object, ObjectKey};
use std::collections::BTreeSet;
use std::fmt;

/// What an identity may do, in broad strokes (the table above).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Everything.
    Admin,
    /// Deploys workloads into its clusters.
    Deployer,
    /// Reads its clusters.
    Viewer,
    /// A container instance's agent: reads what it needs to run tasks.
    Agent,
}

impl Role {
    /// Every role, in the order help texts list them.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Deployer, Role::Viewer, Role::Agent];

    /// The role's name, as the tokens file and refusals write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Deployer => "deployer",
            Role::Viewer => "viewer",
            Role::Agent => "agent",
        }
    }

    /// The role named `s` (exact, lower case).
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The clusters an identity acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every cluster, present and future (`*`).
    All,
    /// These clusters only.
    Clusters(BTreeSet<String>),
}

impl Scope {
    /// Whether `cluster` is in the scope.
    pub fn contains(&self, cluster: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Clusters(set) => set.contains(cluster),
        }
    }
}

impl fmt::Display for Scope {
    /// `*`, or the clusters comma-separated, as the tokens file writes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::Clusters(set) => {
                let names: Vec<&str> = set.iter().map(String::as_str).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// Who makes a request: a role and the clusters it acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Where the identity comes from, for logs (`tokens:3`, `unix socket`); never the token.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Where it may do it.
    pub clusters: Scope,
    /// Who it is, stably: what an agent's container instance records as its owner
    /// (`token:` and a fingerprint of the token; an edit of the tokens file that moves a
    /// line changes `name`, not this). Never the token itself.
    pub principal: String,
}

impl Identity {
    /// An admin of every cluster named `name` (`unix socket`, `--token-file`, `gitops`).
    pub fn admin(name: impl Into<String>) -> Self {
        let name = name.into();
        Identity {
            principal: name.clone(),
            name,
            role: Role::Admin,
            clusters: Scope::All,
        }
    }

    /// The server itself, as its GitOps syncs act: an admin.
    pub fn server() -> Self {
        Identity::admin("server")
    }

    /// Whether this identity may read `obj` (list and watch filters use it).
    pub fn may_read(&self, obj: &Object) -> bool {
        authorize(self, &Action::object(Verb::Read, obj)).is_ok()
    }
}

/// What a request does to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Get, list, watch, describe.
    Read,
    /// Apply (create or change; scale, stop-task and rollout undo are applies too).
    Write,
    /// Delete.
    Delete,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Read => "read",
            Verb::Write => "write",
            Verb::Delete => "delete",
        }
    }
}

/// What a request asks to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Something done to objects of `kind`.
    Object {
        /// Read, write or delete.
        verb: Verb,
        /// The kind.
        kind: Kind,
        /// The cluster the object belongs to: its `metadata.cluster` for clustered kinds, a
        /// Cluster's own name for Clusters, `None` for account-wide kinds (TaskDefinitions).
        cluster: Option<String>,
    },
    /// Read what a task's containers print (`GET /v1/tasks/{id}/logs`).
    Logs {
        /// The task's cluster.
        cluster: String,
    },
    /// Run a command in a task's container (`POST /v1/tasks/{id}/exec`, `ecsctl exec`).
    Exec {
        /// The task's cluster.
        cluster: String,
    },
    /// Sync a directory now (`POST /v1/sync`).
    Sync,
    /// Read every directory's sync status (`GET /v1/syncs`), which spans clusters.
    SyncStatus,
    /// Ask whether the server is up (`GET /v1/health`).
    Health,
    /// Register a container instance in `cluster` (an agent starting).
    Register {
        /// The instance's cluster.
        cluster: String,
    },
    /// Write the status of an object of `kind` (a ContainerInstance, a Task) in `cluster`:
    /// what an agent reports. Whose instance it is is checked apart ([`owns_instance`]).
    Report {
        /// ContainerInstance or Task.
        kind: Kind,
        /// The object's cluster.
        cluster: String,
    },
    /// Read the value of a Secret of `cluster` (an agent starting a task that needs it).
    SecretValue {
        /// The Secret's cluster.
        cluster: String,
    },
    /// Drain or undrain a container instance of `cluster` (`ecsctl drain`, ECS's
    /// UpdateContainerInstancesState): it moves every service's tasks off a host, so it is
    /// the operator's, as the hosts are.
    SetInstanceState {
        /// The instance's cluster.
        cluster: String,
    },
}

impl Action {
    /// `verb` on `obj`.
    pub fn object(verb: Verb, obj: &Object) -> Self {
        Action::on(
            verb,
            obj.kind,
            obj.metadata.cluster.as_deref(),
            &obj.metadata.name,
        )
    }

    /// `verb` on the object `key` names.
    pub fn key(verb: Verb, key: &ObjectKey) -> Self {
        Action::on(verb, key.kind, key.cluster.as_deref(), &key.name)
    }

    /// `verb` on objects of `kind` in `cluster` (a list or watch; `None`: the default
    /// cluster for clustered kinds).
    pub fn on(verb: Verb, kind: Kind, cluster: Option<&str>, name: &str) -> Self {
        let cluster = if kind == Kind::Cluster {
            Some(name.to_string())
        } else if kind.is_clustered() {
            Some(cluster.unwrap_or(api::DEFAULT_CLUSTER).to_string())
        } else {
            None
        };
        Action::Object {
            verb,
            kind,
            cluster,
        }
    }

    /// `may not ...`: the action in words.
    fn describe(&self) -> String {
        match self {
            Action::Object {
                verb,
                kind: Kind::Cluster,
                cluster,
            } => format!(
                "{} cluster {}",
                verb.as_str(),
                cluster.as_deref().unwrap_or("?")
            ),
            Action::Object {
                verb,
                kind,
                cluster: Some(c),
            } => format!("{} {} in cluster {c}", verb.as_str(), kind.plural()),
            Action::Object {
                verb,
                kind,
                cluster: None,
            } => format!("{} {}", verb.as_str(), kind.plural()),
            Action::Logs { cluster } => format!("read task logs in cluster {cluster}"),
            Action::Exec { cluster } => format!("exec into tasks in cluster {cluster}"),
            Action::Sync => "sync a directory (POST /v1/sync)".to_string(),
            Action::SyncStatus => "read the sync status of every directory".to_string(),
            Action::Health => "read the server's health".to_string(),
            Action::Register { cluster } => {
                format!("register a container instance in cluster {cluster}")
            }
            Action::Report { kind, cluster } => format!(
                "report the status of {} in cluster {cluster}",
                kind.plural()
            ),
            Action::SecretValue { cluster } => {
                format!("read secret values in cluster {cluster}")
            }
            Action::SetInstanceState { cluster } => {
                format!("drain or undrain container instances in cluster {cluster}")
            }
        }
    }
}

/// The rule of [`authorize`] that refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessRule {
    /// The object's cluster is not one of the identity's.
    ClusterScope,
    /// The role may not do this to this kind at all.
    RolePermissions,
    /// Only an admin may (Clusters, directory syncs, draining container instances).
    AdminOnly,
    /// An agent acts only for the container instances it registered.
    InstanceOwner,
}

impl AccessRule {
    /// The rule's name, as refusals print it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRule::ClusterScope => "cluster-scope",
            AccessRule::RolePermissions => "role-permissions",
            AccessRule::AdminOnly => "admin-only",
            AccessRule::InstanceOwner => "instance-owner",
        }
    }
}

impl fmt::Display for AccessRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request its identity may not make (HTTP 403). Names the role, its clusters, what was
/// asked, the rule and how an admin allows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "forbidden: role {role} (clusters: {clusters}) may not {what} (rule: {rule}); {how_to_allow}"
)]
pub struct Forbidden {
    /// The identity's role.
    pub role: Role,
    /// The identity's clusters.
    pub clusters: Scope,
    /// What was asked (`write services in cluster default`).
    pub what: String,
    /// The rule that refused it.
    pub rule: AccessRule,
    /// Who can allow it, and how.
    pub how_to_allow: String,
}

/// Whether `who` may do `action`: `Ok`, or the [`Forbidden`] that names the rule. Pure.
pub fn authorize(who: &Identity, action: &Action) -> Result<(), Forbidden> {
    let refuse = |rule: AccessRule, how_to_allow: String| Forbidden {
        role: who.role,
        clusters: who.clusters.clone(),
        what: action.describe(),
        rule,
        how_to_allow,
    };
    if who.role == Role::Admin {
        return Ok(());
    }
    match action {
        Action::Health => Ok(()),
        Action::Sync => Err(refuse(
            AccessRule::AdminOnly,
            "only an admin token may sync a directory (or run the server with --watch DIR)"
                .to_string(),
        )),
        Action::SetInstanceState { .. } => Err(refuse(
            AccessRule::AdminOnly,
            "container instances are the operator's hosts: only an admin token drains or undrains them"
                .to_string(),
        )),
        Action::SyncStatus => {
            if who.role != Role::Agent && who.clusters == Scope::All {
                Ok(())
            } else {
                Err(refuse(
                    AccessRule::ClusterScope,
                    "sync status spans every cluster: it needs an admin token, or clusters * in the --tokens file".to_string(),
                ))
            }
        }
        Action::Logs { cluster } => {
            if who.role != Role::Deployer {
                return Err(refuse(
                    AccessRule::RolePermissions,
                    format!(
                        "task logs may print what a task was given, so only admin and deployer tokens read them; ask an admin for a deployer token of {cluster}"
                    ),
                ));
            }
            in_scope(who, cluster).map_err(|how| refuse(AccessRule::ClusterScope, how))
        }
        Action::Exec { cluster } => {
            if who.role != Role::Deployer {
                return Err(refuse(
                    AccessRule::RolePermissions,
                    format!(
                        "a command run in a task sees everything the task was given, so only admin and deployer tokens exec; ask an admin for a deployer token of {cluster}"
                    ),
                ));
            }
            in_scope(who, cluster).map_err(|how| refuse(AccessRule::ClusterScope, how))
        }
        Action::Register { cluster } | Action::SecretValue { cluster } => {
            agent_only(who).map_err(|how| refuse(AccessRule::RolePermissions, how))?;
            in_scope(who, cluster).map_err(|how| refuse(AccessRule::ClusterScope, how))
        }
        Action::Report { kind, cluster } => {
            agent_only(who).map_err(|how| refuse(AccessRule::RolePermissions, how))?;
            if !matches!(kind, Kind::Task | Kind::ContainerInstance) {
                return Err(refuse(
                    AccessRule::RolePermissions,
                    "an agent reports the status of tasks and container instances only".to_string(),
                ));
            }
            in_scope(who, cluster).map_err(|how| refuse(AccessRule::ClusterScope, how))
        }
        Action::Object {
            verb,
            kind,
            cluster,
        } => {
            role_permits(who.role, *verb, *kind).map_err(|(rule, how)| refuse(rule, how))?;
            match cluster {
                Some(c) => in_scope(who, c).map_err(|how| refuse(AccessRule::ClusterScope, how)),
                None => Ok(()),
            }
        }
    }
}

/// What only agents (and admins) do: an agent's token is the way to do it.
fn agent_only(who: &Identity) -> Result<(), String> {
    if who.role == Role::Agent {
        Ok(())
    } else {
        Err("only the agent of a container instance does this: run `ecsctl agent` with a token of role agent".to_string())
    }
}

/// Whether `who` acts for the container instance whose spec names `agent` as its owner
/// (what [`Action::Report`] and [`Action::SecretValue`] need besides the role): an admin
/// always, an agent only for the instances it registered.
pub fn owns_instance(who: &Identity, instance: &str, agent: Option<&str>) -> Result<(), Forbidden> {
    if who.role == Role::Admin || (who.role == Role::Agent && agent == Some(&who.principal)) {
        return Ok(());
    }
    Err(Forbidden {
        role: who.role,
        clusters: who.clusters.clone(),
        what: format!("act for container instance {instance}"),
        rule: AccessRule::InstanceOwner,
        how_to_allow: "an agent acts only for the instances it registered with its own token"
            .to_string(),
    })
}

/// Whether `cluster` is one of `who`'s; else how an admin makes it one.
fn in_scope(who: &Identity, cluster: &str) -> Result<(), String> {
    if who.clusters.contains(cluster) {
        Ok(())
    } else {
        Err(format!(
            "an admin may add {cluster} to this token's clusters in the --tokens file"
        ))
    }
}

/// What a role may do to a kind, wherever the object lives.
fn role_permits(role: Role, verb: Verb, kind: Kind) -> Result<(), (AccessRule, String)> {
    match (role, verb) {
        (Role::Admin, _) => Ok(()),
        (Role::Deployer | Role::Viewer, Verb::Read) => Ok(()),
        (Role::Deployer, Verb::Write | Verb::Delete) => match kind {
            Kind::TaskDefinition
            | Kind::Service
            | Kind::Task
            | Kind::Autoscaler
            | Kind::LoadBalancer
            | Kind::Secret
            | Kind::SecurityGroup
            | Kind::Role => Ok(()),
            Kind::Cluster => Err((
                AccessRule::AdminOnly,
                "clusters (their policy and capacity) are changed by an admin token only"
                    .to_string(),
            )),
            // System-owned kinds: the admission chain refuses them for everyone; say so.
            Kind::Deployment => Err((
                AccessRule::RolePermissions,
                "deployments are written by the service controller only".to_string(),
            )),
            Kind::ContainerInstance => Err((
                AccessRule::RolePermissions,
                "container instances are registered by the server and its agents only".to_string(),
            )),
        },
        (Role::Viewer, Verb::Write | Verb::Delete) => Err((
            AccessRule::RolePermissions,
            "a viewer only reads: ask an admin for a deployer token".to_string(),
        )),
        (Role::Agent, Verb::Read)
            if matches!(
                kind,
                Kind::TaskDefinition
                    | Kind::Cluster
                    | Kind::Service
                    | Kind::Task
                    | Kind::ContainerInstance
                    | Kind::Secret
                    | Kind::SecurityGroup
                    | Kind::Role
            ) =>
        {
            Ok(())
        }
        (Role::Agent, _) => Err((
            AccessRule::RolePermissions,
            "an agent reads task definitions, and clusters, services, tasks, container instances, secrets, security groups and roles of its clusters, only"
                .to_string(),
        )),
    }
}

/// Whether `who` may list objects of `kind`: in `cluster` when the request names one (for a
/// clustered kind), else anywhere it may read them; the caller then keeps only the items
/// [`Identity::may_read`] allows.
pub fn authorize_list(who: &Identity, kind: Kind, cluster: Option<&str>) -> Result<(), Forbidden> {
    match cluster {
        Some(c) if kind.is_clustered() => {
            authorize(who, &Action::on(Verb::Read, kind, Some(c), ""))
        }
        _ => role_permits(who.role, Verb::Read, kind).map_err(|(rule, how_to_allow)| Forbidden {
            role: who.role,
            clusters: who.clusters.clone(),
            what: format!("read {}", kind.plural()),
            rule,
            how_to_allow,
        }),
    }
}

/// Whether `who` may write every one of `objects` (one apply): the first object refused, if
/// any; the apply then writes nothing.
pub fn authorize_apply(who: &Identity, objects: &[Object]) -> Result<(), Forbidden> {
    objects
        .iter()
        .try_for_each(|o| authorize(who, &Action::object(Verb::Write, o)))
}

#[cfg(test)]
mod tests;
