//! The admission chain: the rules that decide whether a write may happen, in one place that
//! every writer calls (HTTP apply and delete, GitOps sync and prune, `ecsctl sync`, and the
//! ECS API to come), as kube-apiserver's admission sits in front of etcd.
//!
//! An apply passes, in order (a stage that refuses stops the chain; every problem of that
//! stage is reported, and nothing is written):
//! 0. The number of objects ([`bounds::check_count`]), before any is looked at.
//! 1. [`Rule::SystemOwnedKind`], [`Rule::Duplicate`], [`Rule::Validation`],
//!    [`Rule::TerminalSafeText`]: each object on its own ([`validate_objects`]: pure, no store).
//! 2. [`Rule::AliasClash`] (two names of one kind and cluster with one DNS alias, `Web_App`
//!    and `web-app`), [`Rule::ClusterPolicy`] (what a task definition may do in its cluster),
//!    [`Rule::InactiveRevision`] (nothing new starts from a deregistered revision),
//!    [`Rule::ListenerPolicy`] (ports and addresses a cluster's workloads may open),
//!    [`Rule::SecretSources`] (where a Secret may take its value from, as the server's operator
//!    allows), [`Rule::ResourceBounds`] and [`Rule::SizeBounds`] (memory within the machine,
//!    caps on tasks, sizes): the objects against each other and the store.
//! 3. Field ownership, which refuses nothing: a Service's desiredCount owned by an Autoscaler
//!    keeps its live value, with a warning.
//!
//! A delete passes [`Rule::SystemOwnedKind`] and [`Rule::ProtectedObject`].
//!
//! In front of both, [`access`] decides whether the identity that asks may write those
//! objects at all (its role and its clusters): [`Admission::admit_apply_as`] and
//! [`Admission::admit_delete_as`], which every API writer calls. GitOps syncs act as the
//! server itself (an admin) and call [`Admission::admit_apply`] directly.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod access;
mod aliases;
mod batch;
pub mod bounds;
pub mod host;
pub mod listeners;
mod ownership;
mod protected;
pub mod revisions;
pub mod secrets;
pub mod text;
mod validation;
pub mod workload;

pub use secrets::SecretSources;
pub use validation::validate_objects;

use api::{Kind, Object, ObjectKey};
use std::fmt;
use store::{Store, StoreError};

/// A rule of the chain, named in every refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Deployments (and other system-owned kinds) are written by controllers only.
    SystemOwnedKind,
    /// One object appears once per write.
    Duplicate,
    /// The api crate's validation of each spec.
    Validation,
    /// The cluster's workload policy (privileged, host namespaces, host paths, engine
    /// sockets, devices, capabilities, security options).
    ClusterPolicy,
    /// Secret files and variables the server's operator allows (`--secret-files-dir`,
    /// `--secret-env-prefix`).
    SecretSources,
    /// Objects that must always exist (the default cluster).
    ProtectedObject,
    /// What a write may ask of the machine: memory within the machine's, `/dev/shm` and
    /// tmpfs within a container's limit, caps on desiredCount and tasks per cluster, a
    /// Cluster's capacity within the machine.
    ResourceBounds,
    /// How big a write may be: objects per apply, a task definition's 64 KiB, environment
    /// variables, a task's overrides.
    SizeBounds,
    /// What a cluster's workloads may open on the host: LoadBalancer listeners and task
    /// host ports below 1024, listeners beyond loopback (`allowPrivilegedPorts`,
    /// `allowPublicListeners`).
    ListenerPolicy,
    /// Text that ecsctl prints holds no control characters (ESC sequences and the like).
    TerminalSafeText,
    /// No new Task or Service (nor a Service moved) may name a deregistered (INACTIVE or
    /// DELETE_IN_PROGRESS) task definition revision, as in ECS.
    InactiveRevision,
    /// Two objects of one kind in one cluster whose names give one DNS alias (`Web_App` and
    /// `web-app`), in one write or against the store.
    AliasClash,
}

impl Rule {
    /// The rule's name, as refusals print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::SystemOwnedKind => "system-owned-kind",
            Rule::Duplicate => "duplicate",
            Rule::Validation => "validation",
            Rule::ClusterPolicy => "cluster-policy",
            Rule::SecretSources => "secret-sources",
            Rule::ProtectedObject => "protected-object",
            Rule::ResourceBounds => "resource-bounds",
            Rule::SizeBounds => "size-bounds",
            Rule::ListenerPolicy => "listener-policy",
            Rule::TerminalSafeText => "terminal-safe-text",
            Rule::InactiveRevision => "inactive-revision",
            Rule::AliasClash => "alias-clash",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object refused by one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The object at fault.
    pub object: ObjectKey,
    /// The rule that refused it.
    pub rule: Rule,
    /// Why, in words that name what to change (a field, a cluster policy, a server flag).
    pub message: String,
}

impl fmt::Display for Problem {
    /// `service/web: refused by the policy of cluster default: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}: {}",
            kind_word(self.object.kind),
            self.object.name,
            self.message
        )
    }
}

/// Why a write was refused: every problem of the stage that refused it. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The chain refused the write.
    #[error("{headline}")]
    Refused {
        /// One line for the whole write (`2 problem(s) in 1 object(s); nothing was applied`).
        headline: String,
        /// Every problem of the stage that refused.
        problems: Vec<Problem>,
    },
    /// The store could not be read to decide.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal {
    /// Refuses a write with these problems (not empty); the headline counts them and names
    /// the rules (only the rules when all are the server's policy).
    pub fn from_problems(problems: Vec<Problem>) -> Self {
        let objects: std::collections::BTreeSet<&ObjectKey> =
            problems.iter().map(|p| &p.object).collect();
        let mut rules: Vec<&str> = problems.iter().map(|p| p.rule.as_str()).collect();
        rules.sort_unstable();
        rules.dedup();
        let headline = if problems.iter().all(|p| {
            matches!(
                p.rule,
                Rule::ClusterPolicy
                    | Rule::SecretSources
                    | Rule::ListenerPolicy
                    | Rule::ResourceBounds
                    | Rule::SizeBounds
            )
        }) {
            format!(
                "refused by the server's policy ({}); nothing was applied",
                rules.join(", ")
            )
        } else {
            format!(
                "{} problem(s) in {} object(s) ({}); nothing was applied",
                problems.len(),
                objects.len(),
                rules.join(", ")
            )
        };
        Refusal::Refused { headline, problems }
    }

    /// Every problem, as `kind/name: message` lines (empty for a store failure).
    pub fn lines(&self) -> Vec<String> {
        self.problems().iter().map(ToString::to_string).collect()
    }

    /// The problems (none for a store failure).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Refusal::Refused { problems, .. } => problems,
            Refusal::Store(_) => &[],
        }
    }
}

/// What passed the chain: the objects to write (field ownership applied) and the warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    /// The objects to write.
    pub objects: Vec<Object>,
    /// Validation's warnings (`kind/name: path: ...`); a client that parsed the documents
    /// itself has shown them already, with their lines.
    pub warnings: Vec<String>,
    /// Values kept by field ownership (`service/web: spec.desiredCount is owned by ...`).
    pub ownership_warnings: Vec<String>,
}

/// The chain, configured by the server's operator.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    secret_sources: SecretSources,
    limits: bounds::Limits,
}

impl Admission {
    /// A chain that lets Secrets read only what `secret_sources` allows.
    pub fn new(secret_sources: SecretSources) -> Self {
        Admission {
            secret_sources,
            limits: bounds::Limits::default(),
        }
    }

    /// The same chain with the operator's bounds (the machine, objects per apply).
    pub fn with_limits(mut self, limits: bounds::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The operator's bounds.
    pub fn limits(&self) -> &bounds::Limits {
        &self.limits
    }

    /// Where Secrets may take their values from.
    pub fn secret_sources(&self) -> &SecretSources {
        &self.secret_sources
    }

    /// Runs every rule over the objects of one write (an apply, a sync). Blocking (it reads
    /// the store): call it on a blocking thread from async code.
    pub fn admit_apply(
        &self,
        store: &dyn Store,
        objects: Vec<Object>,
    ) -> Result<Admitted, Refusal> {
        if let Some(problem) = bounds::check_count(&objects, &self.limits) {
            return Err(Refusal::from_problems(vec![problem]));
        }
        let warnings = validate_objects(&objects).map_err(Refusal::from_problems)?;
        let mut problems = aliases::check_objects(store, &objects)?;
        problems.extend(workload::check_objects(store, &objects)?);
        problems.extend(listeners::check_objects(store, &objects)?);
        problems.extend(revisions::check_objects(store, &objects)?);
        problems.extend(self.secret_sources.check_objects(&objects));
        problems.extend(bounds::check_objects(store, &objects, &self.limits)?);
        if !problems.is_empty() {
            return Err(Refusal::from_problems(problems));
        }
        let mut objects = objects;
        let ownership_warnings = ownership::keep_autoscaled_counts(store, &mut objects)?;
        ownership::keep_task_bindings(store, &mut objects)?;
        Ok(Admitted {
            objects,
            warnings,
            ownership_warnings,
        })
    }

    /// Whether the object `key` may be deleted (by hand, or pruned by a sync).
    pub fn admit_delete(&self, key: &ObjectKey) -> Result<(), Refusal> {
        match protected::check_delete(key) {
            None => Ok(()),
            Some(problem) => Err(Refusal::Refused {
                headline: problem.message.clone(),
                problems: vec![problem],
            }),
        }
    }
}

/// Why a request by an identity was not admitted: its role may not (HTTP 403), or the
/// chain refused the objects (HTTP 400). Nothing was written either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The identity may not make this write.
    #[error(transparent)]
    Forbidden(#[from] access::Forbidden),
    /// The chain's rules refused it.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl Admission {
    /// [`Admission::admit_apply`] for a request made by `who`: every object must be one
    /// `who` may write (one that is not refuses the whole write) before the rules run.
    pub fn admit_apply_as(
        &self,
        who: &access::Identity,
        store: &dyn Store,
        objects: Vec<Object>,
    ) -> Result<Admitted, Denied> {
        access::authorize_apply(who, &objects)?;
        Ok(self.admit_apply(store, objects)?)
    }

    /// [`Admission::admit_delete`] for a request made by `who`.
    pub fn admit_delete_as(&self, who: &access::Identity, key: &ObjectKey) -> Result<(), Denied> {
        access::authorize(who, &access::Action::key(access::Verb::Delete, key))?;
        Ok(self.admit_delete(key)?)
    }
}

/// `service`, `taskdefinition`...: the kind as messages write it before `/name`.
pub fn kind_word(kind: Kind) -> String {
    kind.as_str().to_ascii_lowercase()
}

#[cfg(test)]
mod tests;
