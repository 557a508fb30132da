//! ListTaskDefinitions and ListTaskDefinitionFamilies: the revisions (and families) the
//! store holds, filtered by prefix and ECS state, a page at a time.

use super::super::input::{Page, parse as input, with_next_token};
use super::super::{Caller, EcsState, denied, store_error};
use super::render;
use admission::access;
use api::taskdef::{RevisionState, revision_state};
use api::{Kind, Object};
use ecsapi::EcsError;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use store::ListQuery;

/// The page size when `maxResults` is not given, and its largest.
const MAX_RESULTS: usize = 100;

/// Every revision the caller may read, whose family starts with `prefix`.
async fn revisions(
    state: &EcsState,
    caller: &Caller,
    prefix: Option<String>,
) -> Result<Vec<Object>, EcsError> {
    access::authorize_list(&caller.identity, Kind::TaskDefinition, None)
        .map_err(|f| denied(f.into()))?;
    let who = caller.identity.clone();
    let prefix = prefix.unwrap_or_default();
    state
        .store
        .run(move |s| {
            Ok(s.list(&ListQuery::new(Kind::TaskDefinition))?
                .items
                .into_iter()
                .filter(|o| who.may_read(o) && o.metadata.name.starts_with(&prefix))
                .collect())
        })
        .await
        .map_err(store_error)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// ListTaskDefinitions: the ARNs of the revisions in one state (ACTIVE unless asked),
/// ordered by family then revision (ASC, or DESC).
pub(in crate::ecs) async fn list(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: ListInput = input(body)?;
    let wanted = match req.status.as_deref() {
        None => RevisionState::Active,
        Some(s) => s.parse().map_err(|_| {
            EcsError::invalid_parameter(format!(
                "status {s:?} is not one of ACTIVE, INACTIVE, DELETE_IN_PROGRESS"
            ))
        })?,
    };
    let descending = match req.sort.as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(s) => {
            return Err(EcsError::invalid_parameter(format!(
                "sort {s:?} is not one of ASC, DESC"
            )));
        }
    };
    let page = Page::new(
        req.max_results,
        req.next_token.as_deref(),
        MAX_RESULTS,
        MAX_RESULTS,
    )?;
    let mut items: Vec<(String, String)> = revisions(state, caller, req.family_prefix)
        .await?
        .iter()
        .filter(|o| revision_state(o) == wanted)
        .map(|o| {
            // NUL sorts before every character a family holds: `web` before `web-2`.
            let key = format!(
                "{}\u{0}{:020}",
                o.metadata.name,
                o.metadata.revision.unwrap_or(0)
            );
            (key, render::arn(caller, o))
        })
        .collect();
    items.sort();
    if descending {
        items.reverse();
    }
    let (arns, token) = page.take(items, descending);
    Ok(with_next_token(
        json!({ "taskDefinitionArns": arns }),
        token,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FamiliesInput {
    family_prefix: Option<String>,
    status: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// ListTaskDefinitionFamilies: family names in order; ACTIVE ones have an ACTIVE revision,
/// INACTIVE ones have none; both unless asked (as in ECS).
pub(in crate::ecs) async fn families(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: FamiliesInput = input(body)?;
    let wanted = match req.status.as_deref() {
        None | Some("ALL") => None,
        Some("ACTIVE") => Some(true),
        Some("INACTIVE") => Some(false),
        Some(s) => {
            return Err(EcsError::invalid_parameter(format!(
                "status {s:?} is not one of ACTIVE, INACTIVE, ALL"
            )));
        }
    };
    let page = Page::new(
        req.max_results,
        req.next_token.as_deref(),
        MAX_RESULTS,
        MAX_RESULTS,
    )?;
    let mut active: BTreeMap<String, bool> = BTreeMap::new();
    for o in revisions(state, caller, req.family_prefix).await? {
        let is_active = revision_state(&o) == RevisionState::Active;
        *active.entry(o.metadata.name).or_default() |= is_active;
    }
    let names = active
        .into_iter()
        .filter(|(_, a)| wanted.is_none_or(|w| w == *a))
        .map(|(name, _)| (name.clone(), name))
        .collect();
    let (families, token) = page.take(names, false);
    Ok(with_next_token(json!({ "families": families }), token))
}
