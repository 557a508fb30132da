//! How a fake container's "process" behaves, and the call log's vocabulary.

use std::time::Duration;

use crate::types::observed::{ExecOutput, HealthStatus, LogStream};

/// A runtime operation, for the call log and for injected failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `ping`
    Ping,
    /// `machine`
    Machine,
    /// `image_exists`
    ImageExists,
    /// `import_image`
    ImportImage,
    /// `create`
    Create,
    /// `start`
    Start,
    /// `stop`
    Stop,
    /// `kill`
    Kill,
    /// `remove`
    Remove,
    /// `inspect`
    Inspect,
    /// `list`
    List,
    /// `events`
    Events,
    /// `stats`
    Stats,
    /// `logs`
    Logs,
    /// `exec`
    Exec,
    /// `ensure_network`
    EnsureNetwork,
    /// `remove_network`
    RemoveNetwork,
    /// `create_volume`
    CreateVolume,
    /// `remove_volume`
    RemoveVolume,
    /// `inspect_volume`
    InspectVolume,
    /// `list_volumes`
    ListVolumes,
    /// `network_gateway`
    NetworkGateway,
    /// `load_packet_filter`
    LoadPacketFilter,
}

impl Op {
    /// Whether the call changes the engine's state (what a "do nothing" test counts).
    /// `exec` counts: it runs a process.
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            Self::Ping
                | Self::Machine
                | Self::InspectVolume
                | Self::ListVolumes
                | Self::ImageExists
                | Self::Inspect
                | Self::List
                | Self::Events
                | Self::Stats
                | Self::Logs
                | Self::NetworkGateway
        )
    }
}

/// One call the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Which operation.
    pub op: Op,
    /// What it was about: a container id or name, an image, a network or volume name; empty
    /// for `ping` and `list`/`events` without a subject.
    pub target: String,
}

/// What a fake container's process does with a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalReaction {
    /// It exits with this code (a shell `trap "exit 3" TERM` is `Exit(3)`).
    Exit(i64),
    /// It ignores the signal: `stop` waits out its timeout and then SIGKILLs (exit 137).
    Ignore,
}

/// The scripted behaviour of a fake container, chosen by container name with
/// [`crate::FakeRuntime::program`] (or the default for every name).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeBehavior {
    /// Reaction to SIGTERM (or the spec's stop signal). Default: exit 143, as a process
    /// killed by SIGTERM.
    pub on_term: SignalReaction,
    /// The process ends on its own this long after each start, with this exit code.
    /// `Duration::ZERO` ends it right after its Start event.
    pub exit_after: Option<(Duration, i64)>,
    /// Lines it prints at each start.
    pub output: Vec<(LogStream, String)>,
    /// What its health check (if the spec has one) settles on: `Healthy` after one
    /// interval, `Unhealthy` after start period + retries x interval. `None`: it stays
    /// `Starting` until [`crate::FakeRuntime::set_health`].
    pub health: Option<HealthStatus>,
    /// What `exec` returns in it.
    pub exec_output: ExecOutput,
}

impl Default for FakeBehavior {
    fn default() -> Self {
        Self {
            on_term: SignalReaction::Exit(143),
            exit_after: None,
            output: Vec::new(),
            health: Some(HealthStatus::Healthy),
            exec_output: ExecOutput::default(),
        }
    }
}

/// `SIGKILL`, `KILL`, `9` -> 9. `None` for names the fake does not know.
pub(super) fn signal_number(signal: &str) -> Option<i64> {
    if let Ok(n) = signal.parse::<i64>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = signal.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    Some(match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ABRT" => 6,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "STOP" => 19,
        "WINCH" => 28,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("term"), Some(15));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number("SIGFOO"), None);
        assert!(Op::Create.is_mutating());
        assert!(!Op::Inspect.is_mutating());
    }
}
