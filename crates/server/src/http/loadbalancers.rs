//! `GET /v1/loadbalancers/{name}/status?cluster=C`: what the built-in load balancer does for
//! one LoadBalancer object (listeners, targets with health, reason and traffic).

use super::{AppState, blocking};
use crate::error::ApiError;
use admission::access::{self, Action, Identity, Verb};
use api::wire::LoadBalancerStatus;
use api::{Kind, ObjectKey};
use axum::Extension;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Json;
use serde::Deserialize;
use store::{Store, StoreError};

#[derive(Debug, Deserialize)]
pub(crate) struct StatusQuery {
    cluster: Option<String>,
}

pub(crate) async fn status(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    Query(q): Query<StatusQuery>,
) -> Result<Json<Option<LoadBalancerStatus>>, ApiError> {
    let name = super::path_param(path)?;
    let key = ObjectKey::new(
        Kind::LoadBalancer,
        q.cluster.as_deref().filter(|c| !c.is_empty()),
        &name,
    );
    access::authorize(&who, &Action::key(Verb::Read, &key))?;
    let obj = blocking(&state.store, {
        let key = key.clone();
        move |s: &dyn Store| s.get(&key)
    })
    .await?
    .ok_or_else(|| ApiError::from(StoreError::NotFound(key.clone())))?;
    let Some(rt) = state.runtime.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "load balancers run with the controllers: this server runs without them",
        ));
    };
    let cluster = obj.metadata.cluster_or_default().to_string();
    let found = rt
        .balancer
        .snapshot()
        .into_iter()
        .find(|s| s.name == name && s.cluster == cluster);
    // `null` while the balancer serves nothing for it yet.
    Ok(Json(found))
}
