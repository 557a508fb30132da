//! Deletes: objects that are not the user's to delete, and objects that must always exist.

use crate::{Problem, Rule};
use api::{DEFAULT_CLUSTER, Kind, ObjectKey};

/// Why `key` may not be deleted, if it may not.
pub(crate) fn check_delete(key: &ObjectKey) -> Option<Problem> {
    let problem = |rule, message: String| {
        Some(Problem {
            object: key.clone(),
            rule,
            message,
        })
    };
    if !key.kind.is_user_writable() {
        return problem(
            Rule::SystemOwnedKind,
            format!(
                "{} objects are owned by ecsctl (the service controller manages them) and cannot be deleted by hand",
                key.kind
            ),
        );
    }
    if key.kind == Kind::Cluster && key.name == DEFAULT_CLUSTER {
        return problem(
            Rule::ProtectedObject,
            "the default cluster cannot be deleted".to_string(),
        );
    }
    None
}
