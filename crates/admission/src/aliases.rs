//! [`Rule::AliasClash`]: names are ECS names (`Web_App`), and where a DNS name is needed one is
//! derived from them (`api::names::dns_alias`: `web-app`). Two objects of one kind in one
//! cluster (account-wide for Clusters and TaskDefinitions) whose aliases are the same would
//! answer to one DNS name, so the second is refused, naming both: in one apply, or against
//! what is stored (where an older release may have stored `web-app` for `Web_App`).
//!
//! Tasks are left out: their names are ids the server makes (or a user's, never a DNS name),
//! and `RunTask` must not pay for a scan of every task of the cluster.

use crate::{Problem, Rule, kind_word};
use api::names::dns_alias;
use api::{Kind, Object};
use std::collections::BTreeMap;
use store::{ListQuery, Store, StoreError};

/// Whether the rule looks at objects of `kind`.
fn applies_to(kind: Kind) -> bool {
    kind.is_user_writable() && kind != Kind::Task
}

/// The scope an alias must be unique in: the kind, and the cluster for clustered kinds.
fn scope(o: &Object) -> (Kind, Option<String>) {
    let cluster = o
        .kind
        .is_clustered()
        .then(|| o.metadata.cluster_or_default().to_string());
    (o.kind, cluster)
}

/// `service/web-app` or `service/web-app in cluster shop`.
fn describe(kind: Kind, name: &str, cluster: Option<&str>) -> String {
    match cluster {
        Some(c) => format!("{}/{name} in cluster {c}", kind_word(kind)),
        None => format!("{}/{name}", kind_word(kind)),
    }
}

fn clash(o: &Object, alias: &str, other: &str, whence: &str) -> Problem {
    let (kind, cluster) = scope(o);
    Problem {
        object: o.key(),
        rule: Rule::AliasClash,
        message: format!(
            "its DNS alias {alias:?} is also the alias of {} {whence}: names that differ only in case or in '_' and '-' cannot both exist in one {}; rename one of them",
            describe(kind, other, cluster.as_deref()),
            if cluster.is_some() {
                "cluster"
            } else {
                "account"
            }
        ),
    }
}

/// The clashes of a write: between its own objects, and between a new object and a stored one.
pub(crate) fn check_objects(
    store: &dyn Store,
    objects: &[Object],
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    // Per scope: alias -> the first name of this write that has it.
    let mut seen: BTreeMap<(Kind, Option<String>), BTreeMap<String, &str>> = BTreeMap::new();
    for o in objects.iter().filter(|o| applies_to(o.kind)) {
        let alias = dns_alias(&o.metadata.name);
        let names = seen.entry(scope(o)).or_default();
        match names.get(&alias) {
            Some(first) if *first != o.metadata.name => {
                problems.push(clash(o, &alias, first, "in this apply"));
            }
            Some(_) => {}
            None => {
                names.insert(alias, &o.metadata.name);
            }
        }
    }
    let mut stored: BTreeMap<(Kind, Option<String>), Vec<String>> = BTreeMap::new();
    for o in objects.iter().filter(|o| applies_to(o.kind)) {
        // An object that exists passed this rule when it was made (or predates ECS names, when
        // every name was its own alias): only a new name can clash.
        if store.get(&o.key())?.is_some() {
            continue;
        }
        let key = scope(o);
        if !stored.contains_key(&key) {
            let mut query = ListQuery::new(key.0);
            if let Some(c) = &key.1 {
                query = query.in_cluster(c.clone());
            }
            let mut names: Vec<String> = store.names(&query)?;
            names.dedup(); // revisions of one family come together
            stored.insert(key.clone(), names);
        }
        let alias = dns_alias(&o.metadata.name);
        if let Some(other) = stored[&key]
            .iter()
            .find(|n| **n != o.metadata.name && dns_alias(n) == alias)
        {
            problems.push(clash(o, &alias, other, "(stored)"));
        }
    }
    Ok(problems)
}
