//! Bad input is recorded, not retried forever. A reconcile that fails because the object
//! itself cannot work (a spec or status that does not decode, a reference no retry can
//! resolve) says so through [`ReconcileError::invalid`]; the controller then writes the
//! reason as an event into the object's status, where `describe` and `ecsctl events` show it,
//! and waits for the object to change instead of backing off forever. Other errors (the store,
//! the engine) keep the per-key backoff.

use crate::Context;
use crate::timefmt::rfc3339;
use api::ObjectKey;
use serde_json::Value;
use tracing::warn;

/// Events kept in a status by this recorder (as services keep theirs).
const MAX_EVENTS: usize = 100;

/// An error of a reconcile, and whether retrying could ever fix it.
pub trait ReconcileError: std::error::Error + Send + 'static {
    /// Why the object cannot be reconciled as it is, when no retry can fix it.
    fn invalid(&self) -> Option<&str>;
}

impl ReconcileError for crate::service::reconciler::ServiceError {
    fn invalid(&self) -> Option<&str> {
        match self {
            Self::Invalid { message, .. } => Some(message),
            Self::Store(_) => None,
        }
    }
}

impl ReconcileError for crate::task::reconciler::TaskError {
    fn invalid(&self) -> Option<&str> {
        match self {
            Self::Invalid { message, .. } => Some(message),
            Self::Store(_) | Self::Runtime(_) => None,
        }
    }
}

impl ReconcileError for crate::autoscaler::reconciler::AutoscalerError {
    fn invalid(&self) -> Option<&str> {
        match self {
            Self::Invalid { message, .. } => Some(message),
            Self::Store(_) => None,
        }
    }
}

/// The error policy of the store-fed controllers: bad input is recorded and waits for a
/// change; anything else retries with the per-key backoff.
pub(crate) fn error_policy<E: ReconcileError>(
    ctx: Context,
    controller: &'static str,
) -> impl Fn(&ObjectKey, &E, u32) -> reconcile::Action + Send + Sync + 'static {
    move |key, err, attempts| match err.invalid() {
        Some(reason) => {
            warn!(controller, key = %key.name, error = %err, "invalid; waiting for a change");
            record(&ctx, controller, key, reason);
            reconcile::Action::await_change()
        }
        None => {
            warn!(controller, key = %key.name, attempts, error = %err, "reconcile failed; retrying");
            reconcile::Action::backoff()
        }
    }
}

impl ReconcileError for crate::loadbalancer::reconciler::LoadBalancerError {
    /// A configuration the balancer cannot apply is shown in `describe lb` by the reconciler
    /// itself, which then waits for a change; what reaches here may pass on a retry.
    fn invalid(&self) -> Option<&str> {
        None
    }
}

/// Records `reason` as the newest event of the object's status (unless it is already the
/// newest), on a blocking thread: the write flushes to disk.
fn record(ctx: &Context, controller: &'static str, key: &ObjectKey, reason: &str) {
    let (store, key, now) = (ctx.store.blocking().clone(), key.clone(), (ctx.now)());
    let message = format!(
        "({} {}) cannot be reconciled: {reason}. Nothing is retried until the object changes.",
        key.kind.as_str().to_ascii_lowercase(),
        key.name
    );
    tokio::task::spawn_blocking(move || {
        let Ok(Some(obj)) = store.get(&key) else {
            return;
        };
        let Some(status) = with_event(obj.status.clone(), &message, &rfc3339(now)) else {
            return;
        };
        if let Err(e) = store.update_status(&key, status, obj.metadata.resource_version) {
            warn!(controller, key = %key.name, error = %e, "cannot record why the object is invalid");
        }
    });
}

/// `status` with `message` as its newest event, or `None` when it is the newest already.
/// Works on the JSON: the status may be what does not decode.
fn with_event(status: Value, message: &str, at: &str) -> Option<Value> {
    let mut status = match status {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let mut events = match status.remove("events") {
        Some(Value::Array(events)) => events,
        _ => Vec::new(),
    };
    if events.first().and_then(|e| e.get("message")) == Some(&Value::from(message)) {
        return None;
    }
    let event = api::service::Event {
        id: format!("invalid-{at}"),
        created_at: at.to_string(),
        message: message.to_string(),
    };
    events.insert(0, serde_json::to_value(event).ok()?);
    events.truncate(MAX_EVENTS);
    status.insert("events".into(), Value::Array(events));
    Some(Value::Object(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reason_becomes_the_newest_event_once() {
        let s = with_event(json!({"lastStatus": "PENDING"}), "bad", "t1").unwrap();
        assert_eq!(s["lastStatus"], "PENDING");
        assert_eq!(s["events"][0]["message"], "bad");
        assert_eq!(with_event(s.clone(), "bad", "t2"), None, "said once");
        let s = with_event(s, "worse", "t3").unwrap();
        assert_eq!(s["events"][0]["message"], "worse");
        assert_eq!(s["events"][1]["message"], "bad");
        // A status that is not an object is replaced by one that says why.
        let s = with_event(json!("garbage"), "bad", "t4").unwrap();
        assert_eq!(s["events"][0]["message"], "bad");
    }
}
