//! Validation of objects: the typed decode of each kind's spec, then the ECS rules that the
//! types alone cannot say. Every problem found is reported, not just the first.

mod other;
mod service;
mod taskdef;

use crate::diag::FieldError;
use crate::import::serde_error;
use crate::kind::Kind;
use crate::kinds::{AutoscalerSpec, ClusterSpec, DeploymentSpec, LoadBalancerSpec, TaskSpec};
use crate::object::Object;
use crate::service::ServiceSpec;
use crate::taskdef::TaskDefinitionSpec;
use serde::de::DeserializeOwned;

/// Errors and warnings of one object, with paths inside the object (`spec...`, `metadata...`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub errors: Vec<FieldError>,
    pub warnings: Vec<FieldError>,
}

impl Report {
    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }
    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(FieldError::new(path, message));
    }
}

/// Validates an object as received over the API: the warnings as text, or the errors.
pub fn validate_object(obj: &Object) -> Result<Vec<String>, Vec<FieldError>> {
    let report = check(obj);
    if report.errors.is_empty() {
        Ok(report.warnings.iter().map(ToString::to_string).collect())
    } else {
        Err(report.errors)
    }
}

/// Validates an object and returns everything found.
pub fn check(obj: &Object) -> Report {
    let mut r = Report::default();
    check_metadata(obj, &mut r);
    match obj.kind {
        Kind::TaskDefinition => {
            if let Some(spec) = decode::<TaskDefinitionSpec>(obj, &mut r) {
                if let Some(f) = &spec.family
                    && *f != obj.metadata.name
                {
                    r.error(
                        "spec.family",
                        format!(
                            "must equal metadata.name ({:?}) or be omitted",
                            obj.metadata.name
                        ),
                    );
                }
                taskdef::check(&spec, &mut r);
            }
        }
        Kind::Service => {
            if let Some(spec) = decode::<ServiceSpec>(obj, &mut r) {
                service::check(&spec, &mut r);
            }
        }
        Kind::Cluster => {
            if let Some(spec) = decode::<ClusterSpec>(obj, &mut r) {
                other::check_cluster(&spec, &mut r);
            }
        }
        Kind::Task => {
            if let Some(spec) = decode::<TaskSpec>(obj, &mut r) {
                other::check_task(&spec, &mut r);
            }
        }
        Kind::LoadBalancer => {
            if let Some(spec) = decode::<LoadBalancerSpec>(obj, &mut r) {
                other::check_load_balancer(&spec, &mut r);
            }
        }
        Kind::Autoscaler => {
            if let Some(spec) = decode::<AutoscalerSpec>(obj, &mut r) {
                other::check_autoscaler(&spec, &mut r);
            }
        }
        Kind::Secret => {
            if let Some(spec) = decode::<crate::secret::SecretSpec>(obj, &mut r) {
                crate::secret::check(&spec, &mut r);
            }
        }
        Kind::Deployment => {
            decode::<DeploymentSpec>(obj, &mut r);
        }
    }
    r
}

fn decode<T: DeserializeOwned>(obj: &Object, r: &mut Report) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(&obj.spec) {
        Ok(v) => Some(v),
        Err(e) => {
            r.errors.push(serde_error("spec", &e));
            None
        }
    }
}

fn check_metadata(obj: &Object, r: &mut Report) {
    let m = &obj.metadata;
    if let Err(e) = check_dns_label(&m.name) {
        r.error("metadata.name", e);
    }
    match (&m.cluster, obj.kind.is_clustered()) {
        (Some(c), true) => {
            if let Err(e) = check_dns_label(c) {
                r.error("metadata.cluster", e);
            }
        }
        (Some(_), false) => r.error(
            "metadata.cluster",
            format!(
                "{} objects are not part of a cluster (as in ECS); remove metadata.cluster",
                obj.kind
            ),
        ),
        (None, _) => {}
    }
    for (k, v) in &m.labels {
        if k.is_empty()
            || k.len() > 253
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            r.error(
                format!("metadata.labels.{k}"),
                "label keys are 1..253 characters of letters, digits, '-', '_', '.', '/'",
            );
        }
        if v.len() > 63
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            r.error(
                format!("metadata.labels.{k}"),
                "label values are up to 63 characters of letters, digits, '-', '_', '.'",
            );
        }
    }
}

/// DNS-label rules for names: lower-case letters, digits and '-', 1..63, no '-' at either end.
pub fn check_dns_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "{name:?} is {} characters long; the limit is 63",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{name:?} contains {c:?}: names use lower-case letters, digits and '-' (DNS label rules)"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!(
            "{name:?} must start and end with a letter or digit"
        ));
    }
    Ok(())
}

/// `family` or `family:N`.
pub(crate) fn check_task_definition_ref(s: &str, path: &str, r: &mut Report) {
    let (family, rev) = match s.rsplit_once(':') {
        Some((f, n)) => (f, Some(n)),
        None => (s, None),
    };
    if let Err(e) = check_dns_label(family) {
        r.error(path, format!("expected `family` or `family:N`: {e}"));
    }
    if let Some(n) = rev
        && !n.parse::<u64>().is_ok_and(|n| n > 0)
    {
        r.error(
            path,
            format!("expected `family:N` with N a revision number 1, 2, ..., got {s:?}"),
        );
    }
}

#[cfg(test)]
mod tests;
