//! Each exec is an event on its task (`describe task` shows them): who ran what in which
//! container when it starts, and how it ended.

use api::ObjectKey;
use api::service::Event;
use api::task::TaskStatus;
use serde_json::Value;
use store::{AsyncStore, StoreError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How often a write that raced another (the task controller reporting) is tried again.
const ATTEMPTS: usize = 10;

/// Records `message` as the task's newest event (the status compared and swapped: a status
/// the task controller writes meanwhile is read again, never overwritten). A task gone
/// meanwhile has nothing to record.
pub(crate) async fn record(
    store: &AsyncStore,
    key: &ObjectKey,
    message: String,
) -> Result<(), StoreError> {
    let key = key.clone();
    store
        .run(move |s| {
            for _ in 0..ATTEMPTS {
                let Some(task) = s.get(&key)? else {
                    return Ok(());
                };
                let now = OffsetDateTime::now_utc();
                let event = Event {
                    id: format!("exec-{}", now.unix_timestamp_nanos()),
                    created_at: now.format(&Rfc3339).unwrap_or_default(),
                    message: message.clone(),
                };
                let status = with_event(task.status.clone(), event);
                match s.update_status(&key, status, task.metadata.resource_version) {
                    Ok(_) => return Ok(()),
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(StoreError::Backend(format!(
                "task {} kept changing: its exec event was not recorded",
                key.name
            )))
        })
        .await
}

/// `status` with `event` as its newest event, the newest [`TaskStatus::MAX_EVENTS`] kept.
/// Works on the JSON, so that nothing of the status this server does not know is lost.
fn with_event(status: Value, event: Event) -> Value {
    let mut status = match status {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let mut events = match status.remove("events") {
        Some(Value::Array(events)) => events,
        _ => Vec::new(),
    };
    if let Ok(e) = serde_json::to_value(event) {
        events.insert(0, e);
    }
    events.truncate(TaskStatus::MAX_EVENTS);
    status.insert("events".into(), Value::Array(events));
    Value::Object(status)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(n: usize) -> Event {
        Event {
            id: n.to_string(),
            created_at: "2026-01-01T00:00:00Z".into(),
            message: format!("m{n}"),
        }
    }

    #[test]
    fn newest_first_bounded_and_nothing_else_touched() {
        let mut status = json!({"lastStatus": "RUNNING", "unknownToThisServer": 1});
        for n in 0..TaskStatus::MAX_EVENTS + 5 {
            status = with_event(status, event(n));
        }
        let events = status["events"].as_array().unwrap();
        assert_eq!(events.len(), TaskStatus::MAX_EVENTS);
        assert_eq!(
            events[0]["message"],
            format!("m{}", TaskStatus::MAX_EVENTS + 4)
        );
        assert_eq!(status["unknownToThisServer"], 1);
        let typed: TaskStatus = serde_json::from_value(status).unwrap();
        assert_eq!(typed.events.len(), TaskStatus::MAX_EVENTS);
        assert_eq!(with_event(Value::Null, event(1))["events"][0]["id"], "1");
    }
}
