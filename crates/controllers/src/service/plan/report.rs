//! What a plan tells the user: service events (newest first, each once), the SteadyState
//! condition, and load balancer registrations and drains.

use super::{Inputs, MAX_EVENTS};
use crate::timefmt::rfc3339;
use api::service::{Condition, ConditionStatus, ConditionType, Event, ServiceStatus};
use time::OffsetDateTime;

/// Load balancer registrations and drains, in ECS's words, once each: a task's targets are
/// drained when the scheduler asks it to stop.
pub(super) fn announce_targets(
    st: &mut ServiceStatus,
    ev: &mut Events<'_>,
    inp: &Inputs<'_>,
    stops: &[(String, String)],
) {
    let lbs: Vec<&str> = inp
        .spec
        .load_balancers
        .iter()
        .filter_map(|l| l.load_balancer_name.as_deref())
        .collect();
    if lbs.is_empty() {
        return;
    }
    let stopping = |id: &str| stops.iter().any(|(s, _)| s == id);
    let now: Vec<String> = inp
        .tasks
        .iter()
        .filter(|t| t.registered && t.active() && !stopping(&t.id))
        .map(|t| t.id.clone())
        .collect();
    let added = now
        .iter()
        .filter(|id| !st.registered_targets.contains(id))
        .count();
    let draining = inp
        .tasks
        .iter()
        .filter(|t| t.registered && t.active() && stopping(&t.id))
        .count();
    if added > 0 {
        ev.push(format!(
            "(service {}) registered {added} targets in (load balancer {}).",
            ev.service,
            lbs.join(", ")
        ));
    }
    if draining > 0 {
        ev.push(format!(
            "(service {}) has begun draining connections on {draining} tasks.",
            ev.service
        ));
    }
    st.registered_targets = now;
}

pub(super) fn set_condition(
    st: &mut ServiceStatus,
    ev: &mut Events<'_>,
    steady: bool,
    now: OffsetDateTime,
) {
    let value = ConditionStatus::from(steady);
    if st
        .condition(ConditionType::SteadyState)
        .is_some_and(|c| c.status == value)
    {
        return;
    }
    st.conditions
        .retain(|c| c.condition_type != ConditionType::SteadyState);
    st.conditions.push(Condition {
        condition_type: ConditionType::SteadyState,
        status: value,
        reason: if steady {
            "AllTasksHealthy"
        } else {
            "Reconciling"
        }
        .to_string(),
        message: String::new(),
        last_transition_time: rfc3339(now),
    });
    if steady {
        ev.push(format!(
            "(service {}) has reached a steady state.",
            ev.service
        ));
    }
}

/// Events made by one plan, added newest first.
pub(super) struct Events<'a> {
    pub(super) service: &'a str,
    pub(super) now: OffsetDateTime,
    pub(super) new: Vec<String>,
}

impl Events<'_> {
    pub(super) fn push(&mut self, message: String) {
        self.new.push(message);
    }

    /// Adds the message unless the newest recorded event already says it.
    pub(super) fn once(&mut self, st: &mut ServiceStatus, message: String) {
        if st.events.first().is_none_or(|e| e.message != message) && !self.new.contains(&message) {
            self.new.push(message);
        }
    }

    pub(super) fn flush(&mut self, st: &mut ServiceStatus) {
        let at = rfc3339(self.now);
        let base = st.events.len() + self.new.len();
        for (i, m) in self.new.drain(..).enumerate() {
            st.events.insert(
                0,
                Event {
                    id: format!("{}-{}", self.now.unix_timestamp_nanos(), base + i),
                    created_at: at.clone(),
                    message: m,
                },
            );
        }
        st.events.truncate(MAX_EVENTS);
    }
}
