//! What the service page shows beside its objects: charts of CPU, memory and request rate
//! with the autoscaler's decisions marked, its load balancers' targets with their health, and
//! its rollout timeline. Pure: the console's handler fetches ([`Fetched`]), [`view`] shapes.

use super::chart::{self, Chart, Mark, Sample, Spec, Unit};
use super::timeline::{self, Timeline};
use super::{When, service_status, str_at};
use crate::output::fields::parse_time;
use api::loadbalancer::LbProtocol;
use api::wire::{LoadBalancerStatus, ServiceSeries};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use time::OffsetDateTime;

/// What the handler fetched for the page; an error is shown where its part would be.
#[derive(Debug)]
pub struct Fetched {
    /// The series over [`window`]'s span.
    pub series: Result<ServiceSeries, String>,
    /// Each of the service's load balancers by name: its status (`None` while it serves
    /// nothing yet).
    pub balancers: Vec<(String, Result<Option<LoadBalancerStatus>, String>)>,
}

#[derive(Debug, Serialize)]
pub struct Insights {
    pub charts: Charts,
    /// The autoscaler's decisions in the charts' window, newest first.
    pub decisions: Vec<Decision>,
    /// One per load balancer the service names (empty: the section is left out).
    pub balancers: Vec<BalancerView>,
    pub timeline: Timeline,
}

#[derive(Debug, Serialize)]
pub struct Charts {
    /// `15m`.
    pub window: String,
    /// `10s`: one point per this much time.
    pub resolution: String,
    pub list: Vec<Chart>,
    /// Why there is nothing to draw (the series could not be read).
    pub error: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Decision {
    pub when: Option<When>,
    pub message: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct BalancerView {
    pub name: String,
    /// `HTTP 127.0.0.1:8080`.
    pub listeners: Vec<String>,
    pub targets: Vec<TargetRow>,
    /// Why its status could not be read, or that it serves nothing yet.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TargetRow {
    pub task: String,
    pub addr: String,
    /// `initial`, `healthy`, `unhealthy`, `draining` (also the CSS class).
    pub health: String,
    pub reason: String,
    pub requests: u64,
    pub in_flight: u64,
    /// `1.25/s`.
    pub rate: String,
}

/// The charts' window for a service created at `created` (RFC 3339): see
/// [`chart::window_for`].
pub fn window(created: &str, now: OffsetDateTime) -> Duration {
    let age = parse_time(created).and_then(|t| Duration::try_from(now - t).ok());
    chart::window_for(age)
}

/// The page's pictures of `service` (the object) from `tasks` (its cluster's) and what was
/// fetched.
pub fn view(service: &Value, tasks: &[Value], fetched: &Fetched, now: OffsetDateTime) -> Insights {
    let name = str_at(service, "/metadata/name");
    let status = service_status(service);
    let span = window(str_at(service, "/metadata/creationTimestamp"), now);
    let marks = decisions(&status.events);
    let charts = charts(fetched, span, now, &marks);
    let start = now - time::Duration::try_from(span).unwrap_or(time::Duration::HOUR);
    let mut decisions: Vec<Decision> = marks
        .iter()
        .filter(|m| m.at >= start)
        .map(|m| Decision {
            when: When::of(&rfc3339(m.at), now),
            message: m.title.clone(),
        })
        .collect();
    decisions.reverse();
    Insights {
        charts,
        decisions,
        balancers: fetched
            .balancers
            .iter()
            .map(|(lb, status)| balancer(lb, name, status))
            .collect(),
        timeline: timeline::view(name, &status.deployments, tasks, &status.events, now),
    }
}

/// Which value of a point a chart draws.
type Pick = fn(&api::wire::SeriesPoint) -> Option<f64>;

fn charts(fetched: &Fetched, span: Duration, now: OffsetDateTime, marks: &[Mark]) -> Charts {
    let (series, error) = match &fetched.series {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.clone())),
    };
    let resolution = series.map_or(Duration::from_secs(10), |s| {
        Duration::try_from_secs_f64(s.resolution_seconds).unwrap_or(Duration::from_secs(10))
    });
    let samples = |pick: Pick| -> Vec<Sample> {
        series
            .map(|s| s.points.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                Some(Sample {
                    at: parse_time(&p.at)?,
                    value: pick(p)?,
                })
            })
            .collect()
    };
    let specs: [(Spec<'_>, Pick); 3] = [
        (
            Spec {
                id: "cpu",
                title: "CPU",
                unit_words: "% of reserved CPU, tasks' mean",
                unit: Unit::Percent,
            },
            |p| p.cpu_percent,
        ),
        (
            Spec {
                id: "memory",
                title: "Memory",
                unit_words: "% of reservation, tasks' mean",
                unit: Unit::Percent,
            },
            |p| p.memory_percent,
        ),
        (
            Spec {
                id: "requests",
                title: "Requests",
                unit_words: "per target, load balancer",
                unit: Unit::PerSecond,
            },
            |p| p.requests_per_target_per_sec,
        ),
    ];
    Charts {
        window: duration_words(span),
        resolution: duration_words(resolution),
        list: if error.is_some() {
            Vec::new()
        } else {
            specs
                .into_iter()
                .map(|(spec, pick)| {
                    chart::chart(spec, &samples(pick), resolution, span, now, marks)
                })
                .collect()
        },
        error,
    }
}

/// The autoscaler's decisions among the service's events (`(service web) scaled from 1 to
/// 3: CPU 90% > target 50% (autoscaler web-cpu).`), oldest first, without the service's
/// name in front.
pub fn decisions(events: &[api::service::Event]) -> Vec<Mark> {
    let mut marks: Vec<Mark> = events
        .iter()
        .filter(|e| e.message.contains(" scaled from ") && e.message.contains("(autoscaler "))
        .filter_map(|e| {
            let words = match e.message.split_once(") ") {
                Some((head, rest)) if head.starts_with("(service ") => rest,
                _ => e.message.as_str(),
            };
            Some(Mark {
                at: parse_time(&e.created_at)?,
                title: words.to_string(),
            })
        })
        .collect();
    marks.sort_by_key(|m| m.at);
    marks
}

fn balancer(
    name: &str,
    service: &str,
    status: &Result<Option<LoadBalancerStatus>, String>,
) -> BalancerView {
    let mut view = BalancerView {
        name: name.to_string(),
        listeners: Vec::new(),
        targets: Vec::new(),
        note: None,
    };
    match status {
        Err(e) => view.note = Some(e.clone()),
        Ok(None) => view.note = Some("The load balancer serves nothing yet.".to_string()),
        Ok(Some(s)) => {
            view.listeners = s
                .listeners
                .iter()
                .map(|l| {
                    let state = if l.bound { "" } else { " (not listening)" };
                    let protocol = match l.protocol {
                        LbProtocol::Http => "HTTP",
                        LbProtocol::Https => "HTTPS",
                        LbProtocol::Tcp => "TCP",
                    };
                    format!("{protocol} {}:{}{state}", l.address, l.port)
                })
                .collect();
            view.targets = s
                .targets
                .iter()
                .filter(|t| t.service == service || t.service.is_empty())
                .map(|t| TargetRow {
                    task: t.task_id.clone(),
                    addr: t.addr.to_string(),
                    health: t.health.state().to_string(),
                    reason: t.health.reason().unwrap_or_default().to_string(),
                    requests: t.requests,
                    in_flight: t.in_flight,
                    rate: format!("{:.2}/s", t.rate_per_sec),
                })
                .collect();
        }
    }
    view
}

/// `15m`, `10s`, `1h`, `500ms`.
fn duration_words(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..1000 => format!("{ms}ms"),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ => format!("{}s", d.as_secs()),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::now;
    use super::*;
    use api::wire::{ListenerStatus, SeriesPoint, TargetHealth, TargetStatus};
    use serde_json::json;

    pub(crate) fn service() -> Value {
        json!({"metadata": {"name": "web", "cluster": "default",
                            "creationTimestamp": "2026-01-01T00:07:00Z"},
               "spec": {"loadBalancers": [{"loadBalancerName": "front", "containerName": "web", "containerPort": 80}]},
               "status": {"desiredCount": 3, "runningCount": 3, "pendingCount": 0,
                          "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": "web:1",
                                           "desiredCount": 3, "runningCount": 3, "failedTasks": 0,
                                           "rolloutState": "COMPLETED", "createdAt": "2026-01-01T00:07:00Z"}],
                          "events": [
                              {"id": "1", "createdAt": "2026-01-01T00:08:00Z",
                               "message": "(service web) scaled from 1 to 3: CPU 90% > target 50% (autoscaler web-cpu)."},
                              {"id": "2", "createdAt": "2026-01-01T00:08:30Z",
                               "message": "(service web) has reached a steady state."},
                              {"id": "3", "createdAt": "2026-01-01T00:09:00Z",
                               "message": "(service web) scaled from 3 to 2: CPU 10% < target 50% (autoscaler web-cpu)."}]}})
    }

    fn point(at: &str, cpu: f64) -> SeriesPoint {
        SeriesPoint {
            at: at.into(),
            cpu_percent: Some(cpu),
            memory_percent: Some(cpu / 2.0),
            requests_per_target_per_sec: None,
        }
    }

    pub(crate) fn fetched() -> Fetched {
        Fetched {
            series: Ok(ServiceSeries {
                cluster: "default".into(),
                service: "web".into(),
                resolution_seconds: 1.0,
                from: "2026-01-01T00:08:00Z".into(),
                to: "2026-01-01T00:10:00Z".into(),
                points: vec![
                    point("2026-01-01T00:09:00Z", 40.0),
                    point("2026-01-01T00:09:01Z", 60.0),
                ],
            }),
            balancers: vec![(
                "front".into(),
                Ok(Some(LoadBalancerStatus {
                    name: "front".into(),
                    cluster: "default".into(),
                    listeners: vec![ListenerStatus {
                        port: 8080,
                        protocol: LbProtocol::Http,
                        address: "127.0.0.1".into(),
                        bound: true,
                        error: None,
                        certificates: vec![],
                    }],
                    targets: vec![
                        TargetStatus {
                            service: "web".into(),
                            task_id: "t1".into(),
                            addr: "172.17.0.5:80".parse().unwrap(),
                            health: TargetHealth::Unhealthy("Health checks failed".into()),
                            requests: 12,
                            in_flight: 1,
                            rate_per_sec: 0.5,
                        },
                        TargetStatus {
                            service: "api".into(),
                            task_id: "other".into(),
                            addr: "172.17.0.6:80".parse().unwrap(),
                            health: TargetHealth::Healthy,
                            requests: 0,
                            in_flight: 0,
                            rate_per_sec: 0.0,
                        },
                    ],
                })),
            )],
        }
    }

    #[test]
    fn charts_of_the_series_with_the_decisions_marked() {
        let i = view(&service(), &[], &fetched(), now());
        // The service is 3 minutes old: a 5 minute window, a point a second.
        assert_eq!(
            (i.charts.window.as_str(), i.charts.resolution.as_str()),
            ("5m", "1s")
        );
        let ids: Vec<_> = i.charts.list.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["chart-cpu", "chart-memory", "chart-requests"]);
        let cpu = &i.charts.list[0];
        let values: Vec<_> = cpu
            .points
            .iter()
            .map(|p| (p.at.as_str(), p.value))
            .collect();
        assert_eq!(
            values,
            [
                ("2026-01-01T00:09:00Z", 40.0),
                ("2026-01-01T00:09:01Z", 60.0)
            ]
        );
        assert_eq!(cpu.lines.len(), 1, "a second apart: joined");
        assert_eq!(i.charts.list[1].points[1].value, 30.0);
        assert!(i.charts.list[2].points.is_empty());
        let marks: Vec<_> = cpu.marks.iter().map(|m| m.title.as_str()).collect();
        assert_eq!(
            marks,
            [
                "scaled from 1 to 3: CPU 90% > target 50% (autoscaler web-cpu).",
                "scaled from 3 to 2: CPU 10% < target 50% (autoscaler web-cpu)."
            ]
        );
        assert_eq!(i.decisions.len(), 2);
        assert!(i.decisions[0].message.starts_with("scaled from 3 to 2"));
        assert_eq!(i.decisions[0].when.as_ref().unwrap().ago, "60s ago");
        assert_eq!(i.timeline.lanes.len(), 1);
    }

    #[test]
    fn the_load_balancers_targets_of_this_service() {
        let i = view(&service(), &[], &fetched(), now());
        assert_eq!(i.balancers.len(), 1);
        let b = &i.balancers[0];
        assert_eq!(b.listeners, ["HTTP 127.0.0.1:8080"]);
        assert_eq!(
            b.targets,
            [TargetRow {
                task: "t1".into(),
                addr: "172.17.0.5:80".into(),
                health: "unhealthy".into(),
                reason: "Health checks failed".into(),
                requests: 12,
                in_flight: 1,
                rate: "0.50/s".into(),
            }]
        );
    }

    #[test]
    fn what_could_not_be_read_is_said() {
        let f = Fetched {
            series: Err("the server did not answer".into()),
            balancers: vec![
                ("front".into(), Ok(None)),
                ("gone".into(), Err("not found".into())),
            ],
        };
        let i = view(&service(), &[], &f, now());
        assert!(i.charts.list.is_empty());
        assert_eq!(i.charts.error.as_deref(), Some("the server did not answer"));
        let notes: Vec<_> = i.balancers.iter().map(|b| b.note.as_deref()).collect();
        assert_eq!(
            notes,
            [
                Some("The load balancer serves nothing yet."),
                Some("not found")
            ]
        );
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(Duration::from_secs(900)), "15m");
        assert_eq!(duration_words(Duration::from_secs(3600)), "1h");
        assert_eq!(duration_words(Duration::from_millis(500)), "500ms");
        assert_eq!(duration_words(Duration::from_secs(10)), "10s");
    }
}
