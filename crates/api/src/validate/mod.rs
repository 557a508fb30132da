//! Validation of objects: the typed decode of each kind's spec, then the ECS rules that the
//! types alone cannot say. Every problem found is reported, not just the first.

mod ignored;
pub use ignored::NOT_APPLIED;
mod other;
mod placeholders;
mod service;
mod taskdef;

use crate::autoscaler::AutoscalerSpec;
use crate::cluster::ClusterSpec;
use crate::deployment::DeploymentSpec;
use crate::diag::FieldError;
use crate::import::{serde_error, serde_error_at};
use crate::kind::Kind;
use crate::loadbalancer::LoadBalancerSpec;
use crate::object::Object;
use crate::service::ServiceSpec;
use crate::task::TaskSpec;
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
                ignored::check(&spec, &mut r);
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
        Kind::SecurityGroup => {
            if let Some(spec) = decode::<crate::securitygroup::SecurityGroupSpec>(obj, &mut r) {
                crate::securitygroup::check(&spec, &mut r);
            }
        }
        Kind::Role => {
            if let Some(spec) = decode::<crate::role::RoleSpec>(obj, &mut r) {
                crate::role::check(&spec, &mut r);
            }
        }
        Kind::Deployment => {
            decode::<DeploymentSpec>(obj, &mut r);
        }
        Kind::ContainerInstance => {
            decode::<crate::instance::ContainerInstanceSpec>(obj, &mut r);
        }
    }
    placeholders::check(&obj.spec, &mut r);
    r
}

/// Most type errors reported for one spec.
const MAX_TYPE_ERRORS: usize = 20;

/// The typed spec, or every type error in it. serde stops at the first, so the part at fault
/// is taken out of a copy and the copy decoded again: a map's field (unknown, or of a wrong
/// type or value), and when that leaves a required field missing, the map that needed it
/// (an array element such as a container definition goes as a whole, and the paths of later
/// errors are mapped back to the document's indices). A field missing only because it was
/// taken out is not reported. At most [`MAX_TYPE_ERRORS`] are.
fn decode<T: DeserializeOwned>(obj: &Object, r: &mut Report) -> Option<T> {
    let mut spec = std::borrow::Cow::Borrowed(&obj.spec);
    let mut cuts = Cuts::default();
    let mut reported = 0;
    loop {
        let e = match serde_path_to_error::deserialize::<_, T>(spec.as_ref()) {
            Ok(v) => return (reported == 0).then_some(v),
            Err(e) => e,
        };
        let Some(here) = segments(e.path()) else {
            r.errors.push(serde_error("spec", &e));
            return None;
        };
        let original = cuts.original(&here);
        if let Some(field) = missing_field(&e) {
            let mut wanted = original.clone();
            wanted.push(Seg::Key(field));
            if cuts.fields.contains(&wanted) {
                // Taken out by us: take out what needed it, without a second report.
                if here.is_empty() || !cuts.take_out(spec.to_mut(), &here, original) {
                    return None;
                }
                continue;
            }
        }
        r.errors
            .push(serde_error_at("spec", &render(&original), &e));
        reported += 1;
        let is_field = matches!(here.last(), Some(Seg::Key(_)));
        if reported >= MAX_TYPE_ERRORS
            || !is_field
            || !cuts.take_out(spec.to_mut(), &here, original)
        {
            return None;
        }
    }
}

/// One step of a path inside a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &serde_path_to_error::Path) -> Option<Vec<Seg>> {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|s| match s {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// As serde_path_to_error prints a path: `a.b[0].c`, `.` for the root.
fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() { ".".to_string() } else { out }
}

/// What `decode` took out of its copy of a spec, in the document's own paths.
#[derive(Debug, Default)]
struct Cuts {
    /// Fields removed.
    fields: Vec<Vec<Seg>>,
    /// Array elements removed: the array's path and the element's index.
    elements: Vec<(Vec<Seg>, usize)>,
}

impl Cuts {
    /// The document's path for a path in the copy (indices shift where elements went).
    fn original(&self, path: &[Seg]) -> Vec<Seg> {
        let mut out = Vec::with_capacity(path.len());
        for s in path {
            let seg = match s {
                Seg::Index(i) => {
                    let mut gone: Vec<usize> = self
                        .elements
                        .iter()
                        .filter(|(array, _)| *array == out)
                        .map(|(_, index)| *index)
                        .collect();
                    gone.sort_unstable();
                    let mut index = *i;
                    for g in gone {
                        if g <= index {
                            index += 1;
                        }
                    }
                    Seg::Index(index)
                }
                key => key.clone(),
            };
            out.push(seg);
        }
        out
    }

    /// Removes what `here` (a path in the copy) points at; `original` is its document path.
    fn take_out(
        &mut self,
        value: &mut serde_json::Value,
        here: &[Seg],
        original: Vec<Seg>,
    ) -> bool {
        let Some((last, parents)) = here.split_last() else {
            return false;
        };
        let mut at = value;
        for s in parents {
            let next = match s {
                Seg::Index(i) => at.get_mut(*i),
                Seg::Key(k) => at.get_mut(k.as_str()),
            };
            match next {
                Some(n) => at = n,
                None => return false,
            }
        }
        match (last, at) {
            (Seg::Key(k), serde_json::Value::Object(m)) => {
                if m.shift_remove(k.as_str()).is_none() {
                    return false;
                }
                self.fields.push(original);
                true
            }
            (Seg::Index(i), serde_json::Value::Array(a)) if *i < a.len() => {
                a.remove(*i);
                let (array, index) = original.split_at(original.len() - 1);
                let Some(Seg::Index(index)) = index.first() else {
                    return false;
                };
                self.elements.push((array.to_vec(), *index));
                true
            }
            _ => false,
        }
    }
}

/// The field a "missing field" error names.
fn missing_field(e: &serde_path_to_error::Error<serde_json::Error>) -> Option<String> {
    let text = e.inner().to_string();
    let rest = text.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

fn check_metadata(obj: &Object, r: &mut Report) {
    let m = &obj.metadata;
    if let Err(e) = check_ecs_name(&m.name) {
        r.error("metadata.name", e);
    }
    match (&m.cluster, obj.kind.is_clustered()) {
        (Some(c), true) => {
            if let Err(e) = check_ecs_name(c) {
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
        // Values hold object names (`ecsctl.service: Web_App`), so they are as long as one.
        if v.len() > crate::names::MAX_NAME
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            r.error(
                format!("metadata.labels.{k}"),
                "label values are up to 255 characters of letters, digits, '-', '_', '.'",
            );
        }
    }
}

pub use crate::names::check_ecs_name;

/// DNS-label rules: lower-case letters, digits and '-', 1..63, no '-' at either end. Object
/// names are ECS names ([`check_ecs_name`]); DNS names are derived from them
/// ([`crate::names::dns_alias`]).
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
    if let Err(e) = check_ecs_name(family) {
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
