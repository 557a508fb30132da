//! The first stage: each object on its own. Pure (no store), so that the HTTP decoding that
//! precedes it can be fuzzed with it.

use crate::{Problem, Rule, kind_word};
use api::Object;
use std::collections::BTreeSet;

/// Refuses system-owned kinds, objects given twice and control characters in printed text
/// (`text`), and runs the api crate's validation on each object. Returns the warnings (`kind/name: ...`), or every problem found.
pub fn validate_objects(objects: &[Object]) -> Result<Vec<String>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut seen = BTreeSet::new();
    for obj in objects {
        let problem = |rule, message: String| Problem {
            object: obj.key(),
            rule,
            message,
        };
        if !obj.kind.is_user_writable() {
            problems.push(problem(
                Rule::SystemOwnedKind,
                format!(
                    "kind: {} objects are owned by ecsctl (the service controller creates them) and cannot be applied",
                    obj.kind
                ),
            ));
            continue;
        }
        if !seen.insert(obj.key()) {
            problems.push(problem(
                Rule::Duplicate,
                "appears more than once in this apply".to_string(),
            ));
        }
        problems.extend(crate::text::check_object(obj));
        match api::validate::validate_object(obj) {
            Ok(w) => {
                let who = format!("{}/{}", kind_word(obj.kind), obj.metadata.name);
                warnings.extend(w.into_iter().map(|w| format!("{who}: {w}")));
            }
            Err(errors) => problems.extend(
                errors
                    .iter()
                    .map(|e| problem(Rule::Validation, e.to_string())),
            ),
        }
    }
    if problems.is_empty() {
        Ok(warnings)
    } else {
        Err(problems)
    }
}
