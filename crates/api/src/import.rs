//! Turns one document into an `Object`: either an ecsctl manifest (apiVersion/kind envelope)
//! or raw ECS JSON (a task or service definition, possibly wrapped in describe output).
//!
//! Besides the object, the import records where the spec, name and cluster came from in the
//! document, so that errors found later point at the right line.

use crate::diag::FieldError;
use crate::kind::Kind;
use crate::object::{API_VERSION, Object, ObjectMeta};
use serde_json::{Map, Value};

/// Where the parts of an object sit in the document it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Path of the spec in the document ("spec" for manifests, "" or "taskDefinition" for ECS JSON).
    pub spec: String,
    /// Path of the name (`metadata.name`, `family`, `serviceName`).
    pub name: String,
    /// Path of the cluster (`metadata.cluster`, `cluster`).
    pub cluster: String,
}

impl Mapping {
    fn manifest() -> Self {
        Mapping {
            spec: "spec".into(),
            name: "metadata.name".into(),
            cluster: "metadata.cluster".into(),
        }
    }

    /// Maps a path in the object (`spec.x`, `metadata.name`) to a path in the document.
    pub fn to_document_path(&self, object_path: &str) -> String {
        let join = |prefix: &str, rest: &str| -> String {
            match (prefix.is_empty(), rest.is_empty()) {
                (true, _) => rest.trim_start_matches('.').to_string(),
                (false, true) => prefix.to_string(),
                (false, false) => format!("{prefix}{rest}"),
            }
        };
        if let Some(rest) = object_path.strip_prefix("spec")
            && (rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
        {
            return join(&self.spec, rest);
        }
        if object_path == "metadata.name" {
            return self.name.clone();
        }
        if object_path == "metadata.cluster" {
            return self.cluster.clone();
        }
        object_path.to_string()
    }
}

/// The result of importing one document.
#[derive(Debug)]
pub struct Imported {
    pub object: Object,
    pub mapping: Mapping,
    /// Warnings, with document paths.
    pub warnings: Vec<FieldError>,
}

/// Read-only fields of describe-task-definition output: accepted, dropped, reported.
const TASKDEF_READ_ONLY: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "requiresAttributes",
    "compatibilities",
    "deleteRequestedAt",
];

/// Read-only fields of describe-services output.
const SERVICE_READ_ONLY: &[&str] = &[
    "serviceArn",
    "clusterArn",
    "status",
    "runningCount",
    "pendingCount",
    "deployments",
    "events",
    "createdAt",
    "createdBy",
    "roleArn",
    "taskSets",
    "platformFamily",
    "resourceManagementType",
    "currentServiceDeployment",
    "currentServiceRevisions",
];

/// ECS CreateService fields ecsctl does not implement yet. They are errors unless the user
/// passes --warn-unknown, which drops them with a warning.
const SERVICE_UNIMPLEMENTED: &[&str] = &["volumeConfigurations", "vpcLatticeConfigurations"];

/// Fields that only a service definition has, used to recognise one without `kind`.
const SERVICE_MARKERS: &[&str] = &[
    "serviceName",
    "desiredCount",
    "schedulingStrategy",
    "deploymentConfiguration",
    "deploymentController",
    "healthCheckGracePeriodSeconds",
    "launchType",
    "loadBalancers",
    "serviceRegistries",
];

/// Imports one document. Fields whose value is null are treated as absent, as the ECS API
/// does (describe output and YAML's `field:` with nothing after it both produce them).
pub fn import_document(doc: &Value, warn_unknown: bool) -> Result<Imported, Vec<FieldError>> {
    let mut imported = import_document_inner(doc, warn_unknown)?;
    drop_nulls(&mut imported.object.spec);
    Ok(imported)
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn import_document_inner(doc: &Value, warn_unknown: bool) -> Result<Imported, Vec<FieldError>> {
    let Value::Object(map) = doc else {
        return Err(vec![FieldError::new(
            "",
            format!(
                "expected a manifest (a map with apiVersion, kind, metadata, spec), got {}",
                type_name(doc)
            ),
        )]);
    };
    if map.contains_key("kind") || map.contains_key("apiVersion") {
        return import_manifest(map);
    }
    if let Some(Value::Object(inner)) = map.get("taskDefinition") {
        // describe-task-definition output: {"taskDefinition": {...}, "tags": [...]}
        let mut warnings = vec![FieldError::new(
            "taskDefinition",
            "describe-task-definition output: importing the task definition inside it",
        )];
        for k in map.keys().filter(|k| *k != "taskDefinition") {
            warnings.push(FieldError::new(
                k.clone(),
                "field of the describe output is ignored",
            ));
        }
        let mut imported = import_task_definition(inner, "taskDefinition")?;
        warnings.append(&mut imported.warnings);
        imported.warnings = warnings;
        return Ok(imported);
    }
    if map.contains_key("containerDefinitions") {
        return import_task_definition(map, "");
    }
    if SERVICE_MARKERS.iter().any(|k| map.contains_key(*k)) || map.contains_key("taskDefinition") {
        return import_service(map, warn_unknown);
    }
    Err(vec![FieldError::new(
        "",
        "not a manifest (no apiVersion/kind) and not ECS JSON: a task definition has \
         containerDefinitions, a service definition has serviceName",
    )])
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn import_manifest(map: &Map<String, Value>) -> Result<Imported, Vec<FieldError>> {
    let mut errors = Vec::new();
    match map.get("apiVersion") {
        Some(Value::String(v)) if v == API_VERSION => {}
        Some(Value::String(v)) => errors.push(FieldError::new(
            "apiVersion",
            format!("expected \"{API_VERSION}\", got {v:?}"),
        )),
        Some(other) => errors.push(FieldError::new(
            "apiVersion",
            format!("expected \"{API_VERSION}\", got {}", type_name(other)),
        )),
        None => errors.push(FieldError::new(
            "",
            format!("missing required field \"apiVersion\" (use \"{API_VERSION}\")"),
        )),
    }
    let kind = match map.get("kind") {
        Some(Value::String(k)) => match Kind::USER.iter().find(|u| u.as_str() == k) {
            Some(kind) => Some(*kind),
            None if k == "Deployment" => {
                errors.push(FieldError::new(
                    "kind",
                    "Deployment objects are created by the service controller and cannot be applied",
                ));
                None
            }
            None => {
                let names: Vec<&str> = Kind::USER.iter().map(|k| k.as_str()).collect();
                let mut m = format!("unknown kind {k:?}: expected one of {}", names.join(", "));
                if let Some(best) = crate::humanize::closest(k, &names) {
                    m.push_str(&format!(" (did you mean {best:?}?)"));
                }
                errors.push(FieldError::new("kind", m));
                None
            }
        },
        Some(other) => {
            errors.push(FieldError::new(
                "kind",
                format!("expected a kind name, got {}", type_name(other)),
            ));
            None
        }
        None => {
            errors.push(FieldError::new("", "missing required field \"kind\""));
            None
        }
    };
    for k in map.keys() {
        if !["apiVersion", "kind", "metadata", "spec", "status"].contains(&k.as_str()) {
            let mut m =
                format!("unknown field {k:?}: a manifest has apiVersion, kind, metadata, spec");
            if map.contains_key("containerDefinitions") || map.contains_key("serviceName") {
                m.push_str(
                    " (ECS JSON goes under spec, or is applied on its own without apiVersion/kind)",
                );
            }
            errors.push(FieldError::new(k.clone(), m));
        }
    }
    let metadata: Option<ObjectMeta> = match map.get("metadata") {
        None => {
            errors.push(FieldError::new(
                "",
                "missing required field \"metadata\" (with at least a name)",
            ));
            None
        }
        Some(v) => match serde_path_to_error::deserialize::<_, ObjectMeta>(v) {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(serde_error("metadata", &e));
                None
            }
        },
    };
    let spec = match map.get("spec") {
        Some(v) => v.clone(),
        None if kind == Some(Kind::Cluster) => Value::Object(Map::new()),
        None => {
            errors.push(FieldError::new("", "missing required field \"spec\""));
            Value::Null
        }
    };
    let (Some(kind), Some(mut metadata), true) = (kind, metadata, errors.is_empty()) else {
        return Err(errors);
    };
    metadata.clear_system_fields_keep_cas();
    let object = Object {
        api_version: API_VERSION.to_string(),
        kind,
        metadata,
        spec,
        status: Value::Null,
    };
    Ok(Imported {
        object,
        mapping: Mapping::manifest(),
        warnings: Vec::new(),
    })
}

impl ObjectMeta {
    /// On apply, the server owns every system field except resourceVersion, which a user may
    /// send to ask for compare-and-swap.
    fn clear_system_fields_keep_cas(&mut self) {
        let rv = self.resource_version;
        self.clear_system_fields();
        self.resource_version = rv;
    }
}

fn prefixed(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Checks an ECS name (family, service, cluster) held by `what` and returns it as it is:
/// the exact name is the object's identity (`Web_App` stays `Web_App`; DNS names are derived
/// from it where needed, see [`crate::names::dns_alias`]).
pub fn ecs_name(name: &str, what: &str) -> Result<String, String> {
    crate::names::check_ecs_name(name).map_err(|e| format!("{what} {e}"))?;
    Ok(name.to_string())
}

/// `arn:aws:ecs:region:acct:task-definition/family:3` -> `family:3`; `cluster/name` -> `name`.
fn strip_arn(s: &str) -> &str {
    if s.starts_with("arn:") {
        s.rsplit('/').next().unwrap_or(s)
    } else {
        s
    }
}

fn import_task_definition(
    map: &Map<String, Value>,
    prefix: &str,
) -> Result<Imported, Vec<FieldError>> {
    let mut warnings = Vec::new();
    let mut spec = map.clone();
    for k in TASKDEF_READ_ONLY {
        if spec.remove(*k).is_some() {
            warnings.push(FieldError::new(
                prefixed(prefix, k),
                "read-only field of ECS output is ignored",
            ));
        }
    }
    let name_path = prefixed(prefix, "family");
    let name = match spec.get("family") {
        Some(Value::String(f)) => match ecs_name(f, "family") {
            Ok(n) => n,
            Err(e) => return Err(vec![FieldError::new(name_path, e)]),
        },
        Some(other) => {
            return Err(vec![FieldError::new(
                name_path,
                format!("expected a string, got {}", type_name(other)),
            )]);
        }
        None => {
            return Err(vec![FieldError::new(
                prefix.to_string(),
                "missing required field \"family\"",
            )]);
        }
    };
    spec.remove("family");
    let object = Object::new(Kind::TaskDefinition, name, Value::Object(spec));
    let mapping = Mapping {
        spec: prefix.to_string(),
        name: name_path,
        cluster: prefix.to_string(),
    };
    Ok(Imported {
        object,
        mapping,
        warnings,
    })
}

fn import_service(
    map: &Map<String, Value>,
    warn_unknown: bool,
) -> Result<Imported, Vec<FieldError>> {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let mut spec = map.clone();
    for k in SERVICE_READ_ONLY {
        if spec.remove(*k).is_some() {
            warnings.push(FieldError::new(
                *k,
                "read-only field of ECS output is ignored",
            ));
        }
    }
    if spec.remove("clientToken").is_some() {
        warnings.push(FieldError::new(
            "clientToken",
            "makes ECS's CreateService call idempotent; applying a service is idempotent by its name, so it is ignored",
        ));
    }
    for k in SERVICE_UNIMPLEMENTED {
        if spec.contains_key(*k) {
            if warn_unknown {
                spec.remove(*k);
                warnings.push(FieldError::new(
                    *k,
                    "ECS field not implemented by ecsctl yet; ignored (--warn-unknown)",
                ));
            } else {
                errors.push(FieldError::new(
                    *k,
                    "ECS field not implemented by ecsctl yet; pass --warn-unknown to import the service without it",
                ));
            }
        }
    }
    let name = match spec.remove("serviceName") {
        Some(Value::String(s)) => match ecs_name(&s, "serviceName") {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(FieldError::new("serviceName", e));
                None
            }
        },
        Some(other) => {
            errors.push(FieldError::new(
                "serviceName",
                format!("expected a string, got {}", type_name(&other)),
            ));
            None
        }
        None => {
            errors.push(FieldError::new(
                "",
                "missing required field \"serviceName\": ECS CreateService needs a service name (files made \
                 for tools like ecspresso take it from their own config; add serviceName)",
            ));
            None
        }
    };
    let cluster = match spec.remove("cluster") {
        Some(Value::String(c)) => match ecs_name(strip_arn(&c), "cluster") {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(FieldError::new("cluster", e));
                None
            }
        },
        Some(other) => {
            errors.push(FieldError::new(
                "cluster",
                format!("expected a string, got {}", type_name(&other)),
            ));
            None
        }
        None => None,
    };
    match spec.get("taskDefinition").cloned() {
        Some(Value::String(td)) => {
            let short = strip_arn(&td);
            let (family, rev) = match short.rsplit_once(':') {
                Some((f, r)) => (f, Some(r)),
                None => (short, None),
            };
            match ecs_name(family, "taskDefinition family") {
                Ok(f) => {
                    let valid_rev = rev.is_none_or(|r| r.parse::<u64>().is_ok_and(|n| n > 0));
                    if !valid_rev {
                        errors.push(FieldError::new(
                            "taskDefinition",
                            format!("expected `family` or `family:N` (N a revision number), got {td:?}"),
                        ));
                    } else {
                        let v = match rev {
                            Some(r) => format!("{f}:{r}"),
                            None => f,
                        };
                        spec.insert("taskDefinition".into(), Value::String(v));
                    }
                }
                Err(e) => errors.push(FieldError::new("taskDefinition", e)),
            }
        }
        Some(_) => {} // the typed check reports the wrong type
        None => errors.push(FieldError::new(
            "",
            "missing required field \"taskDefinition\": ECS CreateService needs the task definition to run",
        )),
    }
    let (Some(name), true) = (name, errors.is_empty()) else {
        return Err(errors);
    };
    let mut object = Object::new(Kind::Service, name, Value::Object(spec));
    object.metadata.cluster = cluster;
    let mapping = Mapping {
        spec: String::new(),
        name: "serviceName".into(),
        cluster: "cluster".into(),
    };
    Ok(Imported {
        object,
        mapping,
        warnings,
    })
}

/// Turns a serde_path_to_error failure into a field error under `prefix`.
pub fn serde_error(prefix: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    serde_error_at(prefix, &e.path().to_string(), e)
}

/// As [`serde_error`], at `inner` (a path printed as serde_path_to_error prints one) instead of
/// the error's own path.
pub fn serde_error_at(
    prefix: &str,
    inner: &str,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> FieldError {
    let path = match (prefix.is_empty(), inner == ".") {
        (_, true) => prefix.to_string(),
        (true, false) => inner.to_string(),
        (false, false) if inner.starts_with('[') => format!("{prefix}{inner}"),
        (false, false) => format!("{prefix}.{inner}"),
    };
    FieldError::new(path, crate::humanize::serde_message(&e.inner().to_string()))
}
