//! `GET /v1/objects/{plural}`, `GET` and `DELETE /v1/objects/{plural}/{name}`, each as the
//! identity that asks: a list holds only what it may read; a get or delete of an object
//! outside its clusters is 403, decided from the request alone (the kind and the cluster
//! asked for) before the store is read, so the answer says nothing about whether the object
//! exists.

use super::{AppState, blocking, path_param, query};
use crate::error::ApiError;
use admission::access::{self, Action, Identity, Verb};
use api::wire::{DeleteResponse, ObjectRef};
use api::{Kind, Object, ObjectKey};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use std::collections::BTreeMap;
use store::{ListQuery, Store, StoreError};

#[derive(Debug, Deserialize)]
pub(crate) struct ObjectsQuery {
    cluster: Option<String>,
    #[serde(rename = "labelSelector")]
    label_selector: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<ObjectsQuery>, QueryRejection>,
) -> Result<Json<store::ObjectList>, ApiError> {
    let kind = parse_kind(&path_param(path)?)?;
    let q = query(q)?;
    let mut list_query = ListQuery::new(kind);
    list_query.cluster = q.cluster.filter(|c| !c.is_empty());
    access::authorize_list(&who, kind, list_query.cluster.as_deref())?;
    list_query.labels = parse_selector(q.label_selector.as_deref().unwrap_or(""))?;
    let mut list = blocking(&state.store, move |s: &dyn Store| s.list(&list_query)).await?;
    list.items.retain(|o| who.may_read(o));
    Ok(Json(list))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<ObjectsQuery>, QueryRejection>,
) -> Result<Json<Object>, ApiError> {
    let (plural, name) = path_param(path)?;
    let key = ObjectKey::new(parse_kind(&plural)?, query(q)?.cluster.as_deref(), &name);
    access::authorize(&who, &Action::key(Verb::Read, &key))?;
    let found = blocking(&state.store, {
        let key = key.clone();
        move |s: &dyn Store| s.get(&key)
    })
    .await?;
    let mut found = found.ok_or(StoreError::NotFound(key))?;
    super::metrics::add_to_service(&state, &mut found);
    Ok(Json(found))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<ObjectsQuery>, QueryRejection>,
) -> Result<Json<DeleteResponse>, ApiError> {
    let (plural, name) = path_param(path)?;
    let kind = parse_kind(&plural)?;
    let key = ObjectKey::new(kind, query(q)?.cluster.as_deref(), &name);
    state.admission.admit_delete_as(&who, &key)?;
    let deleted = blocking(&state.store, move |s: &dyn Store| match s.get(&key)? {
        // A deleted service stays visible to ECS clients (DescribeServices: DRAINING, then
        // INACTIVE), whichever API deleted it.
        Some(service) if kind == Kind::Service => {
            crate::ecs::delete_service(s, &service, time::OffsetDateTime::now_utc())
        }
        _ => s.delete(&key),
    })
    .await?;
    tracing::info!(kind = %kind, name, count = deleted.len(), "deleted");
    let deleted = deleted.iter().map(deleted_json).collect();
    Ok(Json(DeleteResponse { deleted }))
}

/// `{"kind", "name", "cluster", "revision"?}`.
fn deleted_json(o: &Object) -> ObjectRef {
    ObjectRef::of(o)
}

/// Any name `Kind::parse_user` accepts (singular, plural, short); 404 otherwise.
fn parse_kind(s: &str) -> Result<Kind, ApiError> {
    Kind::parse_user(s).ok_or_else(|| {
        let valid: Vec<&str> = Kind::ALL.iter().map(|k| k.plural()).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown kind {s:?}: expected one of {}", valid.join(", ")),
        )
    })
}

/// `a=b,c=d` -> {a: b, c: d}; empty -> no labels.
fn parse_selector(s: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let mut labels = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                labels.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid labelSelector {s:?}: expected key=value[,key=value...]"
                )));
            }
        }
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert!(parse_selector("").unwrap().is_empty());
        let l = parse_selector("a=b, c=d").unwrap();
        assert_eq!(l.get("a").map(String::as_str), Some("b"));
        assert_eq!(l.get("c").map(String::as_str), Some("d"));
        assert!(parse_selector("a").is_err());
        assert!(parse_selector("=b").is_err());
    }

    #[test]
    fn kinds() {
        assert_eq!(parse_kind("svc").unwrap(), Kind::Service);
        let err = parse_kind("pods").unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert!(err.error.contains("taskdefinitions"), "{}", err.error);
    }
}
