//! A task definition family's page: its revisions (state, when registered, which services
//! run them) and two revisions side by side with a diff of their specs (container
//! definitions and the task-level fields), rendered as YAML with sorted keys so that only
//! what changed differs.

use super::{When, cluster_of, name_of, service_href, service_status, str_at};
use api::deployment::DeploymentStatus;
use serde::Serialize;
use serde_json::Value;
use similar::{DiffOp, TextDiff};
use std::fmt;
use time::OffsetDateTime;

#[derive(Debug, Serialize)]
pub struct Model {
    pub family: String,
    /// Newest first.
    pub revisions: Vec<RevisionRow>,
    pub compare: Compare,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct RevisionRow {
    pub revision: u64,
    /// ACTIVE, INACTIVE or DELETE_IN_PROGRESS.
    pub status: String,
    pub created: Option<When>,
    /// The services with a live deployment of it.
    pub used_by: Vec<ServiceLink>,
    /// This revision against the one before it (`None` for the first).
    pub compare_href: Option<String>,
    /// One of the two revisions the page compares.
    pub shown: bool,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ServiceLink {
    /// `cluster/name`.
    pub text: String,
    pub href: String,
}

/// The two revisions side by side: `a` (older, left) and `b` (right).
#[derive(Debug, Serialize, PartialEq)]
pub struct Compare {
    pub a: u64,
    pub b: u64,
    pub rows: Vec<DiffRow>,
    /// Lines only in `a`, only in `b`.
    pub removed: usize,
    pub added: usize,
}

/// One row of the side-by-side diff. A side is `None` where the other side's line has no
/// counterpart (a line added or removed).
#[derive(Debug, Serialize, PartialEq)]
pub struct DiffRow {
    pub left: Option<DiffLine>,
    pub right: Option<DiffLine>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct DiffLine {
    /// 1-based line number in its revision's YAML.
    pub number: usize,
    pub text: String,
    /// `-` (only on the left), `+` (only on the right) or ` `: the mark that does not rest on
    /// color alone.
    pub sign: &'static str,
    /// `del`, `add` or `same` (the CSS class).
    pub class: &'static str,
}

/// What the page cannot show.
#[derive(Debug, PartialEq)]
pub enum PageError {
    /// No such family, or no such revision of it (404).
    NotFound(String),
    /// `a` or `b` that is no revision number (400).
    BadRequest(String),
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::NotFound(m) | PageError::BadRequest(m) => f.write_str(m),
        }
    }
}

/// The page's query: `?a=REV&b=REV` (both optional).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Query {
    pub a: Option<String>,
    pub b: Option<String>,
}

fn revision_of(td: &Value) -> u64 {
    td.pointer("/metadata/revision")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The page of `family` from every TaskDefinition revision listed (other families are left
/// out) and every service (for "used by"). Defaults: `b` the newest revision, `a` the one
/// before `b` (`b` itself when it is the first).
pub fn view(
    family: &str,
    revisions: &[Value],
    services: &[Value],
    query: &Query,
    now: OffsetDateTime,
) -> Result<Model, PageError> {
    let mut revs: Vec<&Value> = revisions
        .iter()
        .filter(|td| name_of(td) == family)
        .collect();
    revs.sort_by_key(|td| std::cmp::Reverse(revision_of(td)));
    if revs.is_empty() {
        return Err(PageError::NotFound(format!(
            "There is no task definition family {family}."
        )));
    }
    let numbers: Vec<u64> = revs.iter().map(|td| revision_of(td)).collect();
    let pick = |which: &str, given: &Option<String>| -> Result<Option<u64>, PageError> {
        let Some(text) = given.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let n = text.parse::<u64>().map_err(|_| {
            PageError::BadRequest(format!(
                "{which}={text:?} is no revision number: {family} has revisions {}.",
                list(&numbers)
            ))
        })?;
        if numbers.contains(&n) {
            Ok(Some(n))
        } else {
            Err(PageError::NotFound(format!(
                "{family} has no revision {n} ({which}): it has {}.",
                list(&numbers)
            )))
        }
    };
    let b = pick("b", &query.b)?.unwrap_or(numbers[0]);
    let a = match pick("a", &query.a)? {
        Some(a) => a,
        None => numbers.iter().copied().find(|n| *n < b).unwrap_or(b),
    };
    let spec = |n: u64| {
        revs.iter()
            .find(|td| revision_of(td) == n)
            .map(|td| canonical_yaml(td.get("spec").unwrap_or(&Value::Null)))
            .unwrap_or_default()
    };
    let (rows, removed, added) = side_by_side(&spec(a), &spec(b));

    let rows_of_revisions = revs
        .iter()
        .map(|td| {
            let n = revision_of(td);
            let reference = format!("{family}:{n}");
            let mut used_by: Vec<ServiceLink> = services
                .iter()
                .filter(|s| {
                    service_status(s).deployments.iter().any(|d| {
                        d.status != DeploymentStatus::Inactive && d.task_definition == reference
                    })
                })
                .map(|s| ServiceLink {
                    text: format!("{}/{}", cluster_of(s), name_of(s)),
                    href: service_href(cluster_of(s), name_of(s)),
                })
                .collect();
            used_by.sort_by(|x, y| x.text.cmp(&y.text));
            let state = str_at(td, "/status/status");
            RevisionRow {
                revision: n,
                status: if state.is_empty() { "ACTIVE" } else { state }.to_string(),
                created: When::of(str_at(td, "/metadata/creationTimestamp"), now),
                used_by,
                compare_href: numbers.iter().find(|p| **p < n).map(|p| {
                    format!(
                        "/taskdefinitions/{}?a={p}&b={n}",
                        crate::client::encode(family)
                    )
                }),
                shown: n == a || n == b,
            }
        })
        .collect();
    Ok(Model {
        family: family.to_string(),
        revisions: rows_of_revisions,
        compare: Compare {
            a,
            b,
            rows,
            removed,
            added,
        },
    })
}

fn list(numbers: &[u64]) -> String {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    sorted
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A spec as YAML with its keys sorted (the order a manifest wrote them in is no change).
pub fn canonical_yaml(spec: &Value) -> String {
    let sorted = crate::cmd::diff::sorted(spec.clone());
    crate::output::yaml(&sorted).unwrap_or_else(|e| format!("(cannot render: {e})\n"))
}

/// The rows of a side-by-side line diff of `old` (left) and `new` (right): equal lines
/// face each other, a changed block pairs its removed and added lines, and the counts of
/// lines removed and added.
pub fn side_by_side(old: &str, new: &str) -> (Vec<DiffRow>, usize, usize) {
    let diff = TextDiff::from_lines(old, new);
    let (old_lines, new_lines) = (lines(old), lines(new));
    let line = |lines: &[&str], i: usize, sign, class| DiffLine {
        number: i + 1,
        text: lines.get(i).copied().unwrap_or_default().to_string(),
        sign,
        class,
    };
    let (mut rows, mut removed, mut added) = (Vec::new(), 0, 0);
    for op in diff.ops() {
        match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => rows.extend((0..len).map(|k| DiffRow {
                left: Some(line(&old_lines, old_index + k, " ", "same")),
                right: Some(line(&new_lines, new_index + k, " ", "same")),
            })),
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                removed += old_len;
                rows.extend((0..old_len).map(|k| DiffRow {
                    left: Some(line(&old_lines, old_index + k, "-", "del")),
                    right: None,
                }));
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                added += new_len;
                rows.extend((0..new_len).map(|k| DiffRow {
                    left: None,
                    right: Some(line(&new_lines, new_index + k, "+", "add")),
                }));
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                removed += old_len;
                added += new_len;
                rows.extend((0..old_len.max(new_len)).map(|k| DiffRow {
                    left: (k < old_len).then(|| line(&old_lines, old_index + k, "-", "del")),
                    right: (k < new_len).then(|| line(&new_lines, new_index + k, "+", "add")),
                }));
            }
        }
    }
    (rows, removed, added)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{deployment, now};
    use super::*;
    use serde_json::json;

    fn td(rev: u64, image: &str, created: &str) -> Value {
        json!({"kind": "TaskDefinition",
               "metadata": {"name": "web", "revision": rev, "creationTimestamp": created},
               "spec": {"containerDefinitions": [{"name": "main", "memory": 16, "image": image}]}})
    }

    fn revisions() -> Vec<Value> {
        let mut old = td(1, "app:v1", "2026-01-01T00:01:00Z");
        old["status"] = json!({"status": "INACTIVE"});
        vec![
            old,
            td(3, "app:v3", "2026-01-01T00:08:00Z"),
            td(2, "app:v2", "2026-01-01T00:05:00Z"),
            json!({"metadata": {"name": "other", "revision": 9}, "spec": {}}),
        ]
    }

    fn services() -> Vec<Value> {
        let mut old = deployment("ecs-svc/1", "INACTIVE", "COMPLETED", 0, 0);
        old["taskDefinition"] = json!("web:1");
        let mut on3 = deployment("ecs-svc/2", "PRIMARY", "COMPLETED", 2, 2);
        on3["taskDefinition"] = json!("web:3");
        let mut on2 = deployment("ecs-svc/3", "PRIMARY", "COMPLETED", 1, 1);
        on2["taskDefinition"] = json!("web:2");
        vec![
            json!({"metadata": {"name": "web", "cluster": "shop"},
                   "status": {"deployments": [on3, old]}}),
            json!({"metadata": {"name": "api", "cluster": "default"},
                   "status": {"deployments": [on2]}}),
        ]
    }

    fn page(a: Option<&str>, b: Option<&str>) -> Result<Model, PageError> {
        let q = Query {
            a: a.map(Into::into),
            b: b.map(Into::into),
        };
        view("web", &revisions(), &services(), &q, now())
    }

    #[test]
    fn revisions_newest_first_with_their_services() {
        let m = page(None, None).unwrap();
        let rows: Vec<_> = m
            .revisions
            .iter()
            .map(|r| (r.revision, r.status.as_str(), r.shown))
            .collect();
        assert_eq!(
            rows,
            [
                (3, "ACTIVE", true),
                (2, "ACTIVE", true),
                (1, "INACTIVE", false)
            ]
        );
        assert_eq!(
            m.revisions[0].used_by,
            [ServiceLink {
                text: "shop/web".into(),
                href: "/clusters/shop/services/web".into()
            }]
        );
        assert!(
            m.revisions[2].used_by.is_empty(),
            "an INACTIVE deployment does not use it"
        );
        assert_eq!(m.revisions[1].used_by[0].text, "default/api");
        assert_eq!(m.revisions[0].created.as_ref().unwrap().ago, "2m ago");
        assert_eq!(
            m.revisions[0].compare_href.as_deref(),
            Some("/taskdefinitions/web?a=2&b=3")
        );
        assert_eq!(m.revisions[2].compare_href, None);
    }

    #[test]
    fn defaults_compare_the_newest_with_the_one_before() {
        let m = page(None, None).unwrap();
        assert_eq!((m.compare.a, m.compare.b), (2, 3));
        assert_eq!((m.compare.removed, m.compare.added), (1, 1));
        let changed: Vec<_> = m
            .compare
            .rows
            .iter()
            .filter(|r| r.left.as_ref().is_none_or(|l| l.class != "same"))
            .collect();
        assert_eq!(changed.len(), 1, "{:?}", m.compare.rows);
        let (l, r) = (
            changed[0].left.as_ref().unwrap(),
            changed[0].right.as_ref().unwrap(),
        );
        assert_eq!((l.sign, l.class), ("-", "del"));
        assert_eq!((r.sign, r.class), ("+", "add"));
        assert!(
            l.text.contains("app:v2") && r.text.contains("app:v3"),
            "{l:?} {r:?}"
        );
        // `b` alone: against the one before it.
        let m = page(None, Some("2")).unwrap();
        assert_eq!((m.compare.a, m.compare.b), (1, 2));
        // The first revision alone: itself, nothing changed.
        let m = page(None, Some("1")).unwrap();
        assert_eq!((m.compare.a, m.compare.b, m.compare.added), (1, 1, 0));
        assert!(m.compare.rows.iter().all(|r| r.left == r.right));
    }

    #[test]
    fn chosen_revisions_and_bad_ones() {
        let m = page(Some("1"), Some("3")).unwrap();
        assert_eq!((m.compare.a, m.compare.b), (1, 3));
        assert_eq!(
            page(Some("x"), None).unwrap_err(),
            PageError::BadRequest(
                "a=\"x\" is no revision number: web has revisions 1, 2, 3.".into()
            )
        );
        assert_eq!(
            page(None, Some("7")).unwrap_err(),
            PageError::NotFound("web has no revision 7 (b): it has 1, 2, 3.".into())
        );
        let none = view("nope", &revisions(), &[], &Query::default(), now());
        assert!(matches!(none, Err(PageError::NotFound(m)) if m.contains("nope")));
    }

    #[test]
    fn keys_are_sorted_and_lines_numbered() {
        let a = canonical_yaml(&json!({"b": 1, "a": {"q": 2, "p": 3}}));
        assert_eq!(a, "a:\n  p: 3\n  q: 2\nb: 1\n");
        let (rows, removed, added) = side_by_side("a\nb\nc\n", "a\nc\nd\ne\n");
        assert_eq!((removed, added), (1, 2));
        let shape: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.left.as_ref().map(|l| (l.number, l.sign, l.text.as_str())),
                    r.right
                        .as_ref()
                        .map(|l| (l.number, l.sign, l.text.as_str())),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (Some((1, " ", "a")), Some((1, " ", "a"))),
                (Some((2, "-", "b")), None),
                (Some((3, " ", "c")), Some((2, " ", "c"))),
                (None, Some((3, "+", "d"))),
                (None, Some((4, "+", "e"))),
            ]
        );
    }
}
