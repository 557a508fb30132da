//! The streaming calls: events, stats and logs. Each stream connects lazily, maps items
//! into our types and ends right after its first error.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use bollard::container::LogOutput;
use bollard::models::EventMessage;
use bollard::query_parameters::{EventsOptions, LogsOptions};
use futures::{StreamExt, stream};
use time::OffsetDateTime;

use super::errors::{self, Subject};
use super::{DockerRuntime, convert};
use crate::error::Result;
use crate::runtime::{BoxStream, end_after_error};
use crate::types::observed::{EventAction, HealthStatus, LogLine, LogStream, RuntimeEvent};
use crate::types::spec::ContainerId;

/// Event attributes that Docker adds next to the container's labels.
const NON_LABEL_ATTRIBUTES: &[&str] = &["name", "image", "exitCode", "signal", "execID"];

pub(super) fn events(
    rt: DockerRuntime,
    label_filter: BTreeMap<String, String>,
) -> BoxStream<Result<RuntimeEvent>> {
    // `since` = now: the engine replays what happened between this call and the moment the
    // request reaches it, so no event is lost to a late first poll.
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
        .unwrap_or_default();
    let mut filters = HashMap::from([("type".to_owned(), vec!["container".to_owned()])]);
    if !label_filter.is_empty() {
        filters.insert("label".to_owned(), convert::label_filters(&label_filter));
    }
    let options = EventsOptions {
        since: Some(since),
        filters: Some(filters),
        ..Default::default()
    };
    let connect = async move {
        let docker = rt.client().await?;
        let s = docker
            .events(Some(options))
            .map(move |item| rt.note(item.map_err(|e| errors::map(e, Subject::Engine))));
        Ok::<_, crate::RuntimeError>(s)
    };
    let items = stream::once(connect).flat_map(|r| match r {
        Ok(s) => s
            .filter_map(|r| async move { r.map(event).transpose() })
            .boxed(),
        Err(e) => stream::once(async move { Err(e) }).boxed(),
    });
    // Without `until` the engine never ends the stream: an end is a lost connection.
    let closed = stream::once(async {
        Err(crate::RuntimeError::Unavailable(
            "the engine closed the event stream".to_owned(),
        ))
    });
    end_after_error(items.chain(closed))
}

/// One engine event in our words; `None` for events without a container id.
fn event(m: EventMessage) -> Option<RuntimeEvent> {
    let actor = m.actor?;
    let id = actor.id?;
    let mut attributes = actor.attributes.unwrap_or_default();
    let action = match m.action.as_deref().unwrap_or_default() {
        "create" => EventAction::Create,
        "start" => EventAction::Start,
        "die" => EventAction::Die {
            exit_code: attributes
                .get("exitCode")
                .and_then(|c| c.parse().ok())
                .unwrap_or(-1),
        },
        "oom" => EventAction::Oom,
        "stop" => EventAction::Stop,
        "kill" => EventAction::Kill {
            signal: attributes.get("signal").cloned(),
        },
        "pause" => EventAction::Pause,
        "unpause" => EventAction::Unpause,
        "destroy" => EventAction::Destroy,
        "health_status: healthy" => EventAction::HealthStatus(HealthStatus::Healthy),
        "health_status: unhealthy" => EventAction::HealthStatus(HealthStatus::Unhealthy),
        "health_status: starting" => EventAction::HealthStatus(HealthStatus::Starting),
        other => EventAction::Other(other.to_owned()),
    };
    let name = attributes.remove("name");
    for key in NON_LABEL_ATTRIBUTES {
        attributes.remove(*key);
    }
    let time = m
        .time_nano
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(i128::from(n)).ok())
        .or_else(|| {
            m.time
                .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        })
        .unwrap_or_else(OffsetDateTime::now_utc);
    Some(RuntimeEvent {
        id: ContainerId(id),
        name,
        action,
        labels: attributes.into_iter().collect(),
        time,
    })
}

pub(super) fn logs(
    rt: DockerRuntime,
    id: ContainerId,
    follow: bool,
    tail: Option<usize>,
) -> BoxStream<Result<LogLine>> {
    let connect = async move {
        let docker = rt.client().await?;
        let options = LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            timestamps: true,
            tail: tail.map_or_else(|| "all".to_owned(), |n| n.to_string()),
            ..Default::default()
        };
        let target = id.clone();
        let s = docker.logs(id.as_str(), Some(options)).map(move |item| {
            rt.note(item.map_err(|e| errors::map(e, Subject::Container(target.as_str()))))
        });
        Ok::<_, crate::RuntimeError>(s)
    };
    let chunks = stream::once(connect).flat_map(|r| match r {
        Ok(s) => s.boxed(),
        Err(e) => stream::once(async move { Err(e) }).boxed(),
    });
    let lines = chunks.flat_map(|chunk| {
        let items: Vec<Result<LogLine>> = match chunk {
            Ok(output) => log_lines(output).into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        stream::iter(items)
    });
    end_after_error(lines)
}

/// Splits one output frame into lines, each led by the timestamp Docker prepends.
fn log_lines(output: LogOutput) -> Vec<LogLine> {
    let stream = match output {
        LogOutput::StdErr { .. } => LogStream::Stderr,
        _ => LogStream::Stdout,
    };
    let text = String::from_utf8_lossy(&output.into_bytes()).into_owned();
    text.split_terminator('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (timestamp, text) = match line.split_once(' ') {
                Some((ts, rest)) => match convert::parse_time(Some(ts)) {
                    Some(t) => (Some(t), rest),
                    None => (None, line),
                },
                None => match convert::parse_time(Some(line)) {
                    Some(t) => (Some(t), ""),
                    None => (None, line),
                },
            };
            LogLine {
                stream,
                text: text.to_owned(),
                timestamp,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use bollard::models::EventActor;

    use super::*;

    #[test]
    fn die_events_carry_the_exit_code_and_labels() {
        let m = EventMessage {
            action: Some("die".into()),
            actor: Some(EventActor {
                id: Some("abc".into()),
                attributes: Some(HashMap::from([
                    ("exitCode".into(), "3".into()),
                    ("name".into(), "web".into()),
                    ("ecsctl.task".into(), "t1".into()),
                ])),
            }),
            time_nano: Some(1_700_000_000_000_000_000),
            ..Default::default()
        };
        let e = event(m).unwrap();
        assert_eq!(e.action, EventAction::Die { exit_code: 3 });
        assert_eq!(e.name.as_deref(), Some("web"));
        assert_eq!(e.labels.len(), 1);
        assert_eq!(e.labels["ecsctl.task"], "t1");
    }

    #[test]
    fn log_frames_split_into_timestamped_lines() {
        let lines = log_lines(LogOutput::StdErr {
            message: b"2024-05-01T10:00:00.5Z hello world\n2024-05-01T10:00:01Z bye\n"
                .to_vec()
                .into(),
        });
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "hello world");
        assert_eq!(lines[0].stream, LogStream::Stderr);
        assert!(lines[1].timestamp.is_some());
    }
}
