//! What a reconcile (or an error policy) asks the controller to do next with its key.

use std::time::Duration;

/// The next step for a key after a reconcile, as in kube-runtime.
///
/// A key that also gets an [`add`](crate::QueueHandle::add) from a source runs at the earlier of
/// the two times: the queue keeps one deadline per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    next: Next,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    After(Duration),
    AwaitChange,
    Backoff,
}

impl Action {
    /// Run the key again after `delay`, even if nothing changes (a periodic check, or waiting
    /// for something outside the controller's view).
    pub fn requeue(delay: Duration) -> Self {
        Self {
            next: Next::After(delay),
        }
    }

    /// Do not run the key again until a source adds it (a watch event, a Docker event).
    pub fn await_change() -> Self {
        Self {
            next: Next::AwaitChange,
        }
    }

    /// Run the key again after the controller's per-key exponential backoff for its current
    /// number of consecutive failures. Meant for error policies (it is what
    /// [`default_error_policy`](crate::default_error_policy) returns); returned from a
    /// successful reconcile, whose failure count was just reset, it waits the backoff base.
    pub fn backoff() -> Self {
        Self {
            next: Next::Backoff,
        }
    }

    /// The fixed delay this action asks for, if it is [`Action::requeue`].
    pub fn requeue_after(&self) -> Option<Duration> {
        match self.next {
            Next::After(delay) => Some(delay),
            Next::AwaitChange | Next::Backoff => None,
        }
    }

    /// Whether this action waits for a change instead of scheduling another run.
    pub fn is_await_change(&self) -> bool {
        self.next == Next::AwaitChange
    }

    /// Whether this action defers to the per-key backoff.
    pub fn is_backoff(&self) -> bool {
        self.next == Next::Backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_report_what_they_ask_for() {
        let requeue = Action::requeue(Duration::from_secs(3));
        assert_eq!(requeue.requeue_after(), Some(Duration::from_secs(3)));
        assert!(!requeue.is_await_change() && !requeue.is_backoff());

        let wait = Action::await_change();
        assert!(wait.is_await_change());
        assert_eq!(wait.requeue_after(), None);

        let backoff = Action::backoff();
        assert!(backoff.is_backoff());
        assert_eq!(backoff.requeue_after(), None);
    }
}
