//! A line chart as an SVG model: a pure function from a metric's points (and the autoscaler's
//! decisions) to coordinates and labels in a fixed viewBox, which the template lays out as
//! `<svg>` and the browser scales to the page's width.
//!
//! Hand-written rather than a chart crate: the Rust ones (plotters and its SVG backend)
//! draw a whole picture as a string, where the page needs the model (points with their times
//! for hover titles and tests, marks as focusable elements, the template's escaping), and
//! the arithmetic is a few lines.

use super::When;
use serde::Serialize;
use std::time::Duration;
use time::OffsetDateTime;

/// The viewBox: width and height.
/// Three charts side by side at 1280 px, or one a row on a narrow window, each ~400 px wide:
/// the viewBox's units are about pixels there, and 11-unit labels stay readable.
pub const VIEW_W: f64 = 400.0;
pub const VIEW_H: f64 = 164.0;
/// The plot area inside it (room for the value labels on the left, times below).
const LEFT: f64 = 58.0;
const RIGHT: f64 = 388.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 140.0;

/// The windows a chart may show, each with the step between its time labels: the smallest
/// that holds the service's life is picked, up to the hour the server keeps.
const WINDOWS: [(Duration, Duration); 5] = [
    (Duration::from_secs(60), Duration::from_secs(15)),
    (Duration::from_secs(120), Duration::from_secs(30)),
    (Duration::from_secs(300), Duration::from_secs(60)),
    (Duration::from_secs(900), Duration::from_secs(300)),
    (Duration::from_secs(3600), Duration::from_secs(900)),
];

/// Up to this many points, each is drawn as a dot with its hover title; more (an hour at a
/// one-second resolution) are only the line, which keeps the page small.
pub const MAX_DOTS: usize = 300;

/// What a chart's values count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Percent (of reserved CPU, of the memory reservation); the scale shows at least 100.
    Percent,
    /// Requests per second per target; the scale shows at least 1.
    PerSecond,
}

impl Unit {
    fn suffix(self) -> &'static str {
        match self {
            Unit::Percent => "%",
            Unit::PerSecond => "req/s",
        }
    }

    fn floor(self) -> f64 {
        match self {
            Unit::Percent => 100.0,
            Unit::PerSecond => 1.0,
        }
    }

    /// `42.5 %`, `0.25 req/s`.
    fn value(self, v: f64) -> String {
        let digits = if v.abs() >= 10.0 || v == 0.0 { 1 } else { 2 };
        format!("{v:.digits$} {}", self.suffix())
    }

    /// A scale label: `50 %`, `0.5 req/s`.
    fn tick(self, v: f64) -> String {
        format!("{} {}", trim_number(v), self.suffix())
    }
}

/// One measured value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: OffsetDateTime,
    pub value: f64,
}

/// Something that happened at a moment, marked on the time axis (an autoscaler decision).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub at: OffsetDateTime,
    /// The recorded words.
    pub title: String,
}

/// The chart as the template draws it: every coordinate in the viewBox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// The element's id (`chart-cpu`) and the heading.
    pub id: String,
    pub title: String,
    /// The unit, in words, for the heading (`% of reserved CPU`).
    pub unit: String,
    pub view_w: f64,
    pub view_h: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    /// Value labels (y) and time labels (x).
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    /// One path (`d`) per run of points without a gap.
    pub lines: Vec<String>,
    /// Every point, for its hover title (and the tests).
    pub points: Vec<PointView>,
    /// Whether the points are drawn as dots (at most [`MAX_DOTS`]).
    pub dots: bool,
    /// Autoscaler decisions in the window.
    pub marks: Vec<MarkView>,
    /// `latest 42.0 % · min 3.0 % · max 55.1 %`, or None without a point.
    pub summary: Option<String>,
    /// What a screen reader says about the picture.
    pub description: String,
}

/// A label at a position along its axis (x for times, y for values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointView {
    pub x: f64,
    pub y: f64,
    /// The bucket's start (RFC 3339) and the value as the series API answers it.
    pub at: String,
    pub value: f64,
    /// `12:03:10 UTC: 42.0 %`.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkView {
    pub x: f64,
    pub title: String,
    pub when: Option<When>,
}

/// What one chart shows.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub unit_words: &'a str,
    pub unit: Unit,
}

/// The window a service's charts show: the smallest that holds its life so far (`age`), up
/// to an hour; 15 minutes when its age is unknown.
pub fn window_for(age: Option<Duration>) -> Duration {
    let Some(age) = age else {
        return Duration::from_secs(900);
    };
    WINDOWS
        .iter()
        .map(|(w, _)| *w)
        .find(|w| *w >= age)
        .unwrap_or(WINDOWS[WINDOWS.len() - 1].0)
}

/// The chart of `samples` (oldest first) over `window` ending at `now`. Points further
/// apart than 1.5 `resolution` are not joined: the line has a gap where nothing was
/// measured. Samples and marks outside the window are left out.
pub fn chart(
    spec: Spec<'_>,
    samples: &[Sample],
    resolution: Duration,
    window: Duration,
    now: OffsetDateTime,
    marks: &[Mark],
) -> Chart {
    let span = time::Duration::try_from(window).unwrap_or(time::Duration::HOUR);
    let start = now - span;
    let inside: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= start && s.at <= now && s.value.is_finite())
        .collect();
    let max_seen = inside.iter().map(|s| s.value).fold(f64::NAN, f64::max);
    let min_seen = inside.iter().map(|s| s.value).fold(f64::NAN, f64::min);
    let top_value = nice_ceiling(if max_seen.is_nan() {
        spec.unit.floor()
    } else {
        max_seen.max(spec.unit.floor())
    });
    let x_of = |at: OffsetDateTime| {
        let f = (at - start).as_seconds_f64() / span.as_seconds_f64().max(1e-9);
        round1(LEFT + (RIGHT - LEFT) * f.clamp(0.0, 1.0))
    };
    let y_of = |v: f64| round1(BOTTOM - (BOTTOM - TOP) * (v.max(0.0) / top_value).min(1.0));

    let gap = time::Duration::try_from(resolution.mul_f64(1.5)).unwrap_or(time::Duration::MAX);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut previous: Option<OffsetDateTime> = None;
    let mut points = Vec::with_capacity(inside.len());
    for s in &inside {
        let (x, y) = (x_of(s.at), y_of(s.value));
        let joined = previous.is_some_and(|p| s.at - p <= gap);
        if !joined && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        line.push_str(&format!("{}{x},{y}", if joined { " L" } else { "M" }));
        previous = Some(s.at);
        points.push(PointView {
            x,
            y,
            at: rfc3339(s.at),
            value: s.value,
            title: format!("{}: {}", clock(s.at), spec.unit.value(s.value)),
        });
    }
    if !line.is_empty() {
        lines.push(line);
    }

    let step = WINDOWS
        .iter()
        .find(|(w, _)| *w == window)
        .map_or(window / 4, |(_, s)| *s);
    let steps = (window.as_secs_f64() / step.as_secs_f64().max(1e-9)).round() as u32;
    let x_ticks = (0..=steps)
        .map(|i| {
            let back = window.saturating_sub(step * i);
            Tick {
                pos: x_of(now - time::Duration::try_from(back).unwrap_or_default()),
                label: ago_label(back),
            }
        })
        .collect();
    let y_ticks = [0.0, top_value / 2.0, top_value]
        .into_iter()
        .map(|v| Tick {
            pos: y_of(v),
            label: spec.unit.tick(v),
        })
        .collect();
    let marks = marks
        .iter()
        .filter(|m| m.at >= start && m.at <= now)
        .map(|m| MarkView {
            x: x_of(m.at),
            title: m.title.clone(),
            when: When::of(&rfc3339(m.at), now),
        })
        .collect();
    let summary = inside.last().map(|last| {
        format!(
            "latest {} · min {} · max {}",
            spec.unit.value(last.value),
            spec.unit.value(min_seen),
            spec.unit.value(max_seen)
        )
    });
    let description = match &summary {
        Some(s) => format!(
            "{} over the last {}: {s}",
            spec.title,
            ago_label(window).trim_start_matches('-')
        ),
        None => format!(
            "{}: nothing measured in the last {}",
            spec.title,
            ago_label(window).trim_start_matches('-')
        ),
    };
    Chart {
        id: format!("chart-{}", spec.id),
        title: spec.title.to_string(),
        unit: spec.unit_words.to_string(),
        view_w: VIEW_W,
        view_h: VIEW_H,
        left: LEFT,
        right: RIGHT,
        top: TOP,
        bottom: BOTTOM,
        y_ticks,
        x_ticks,
        lines,
        dots: points.len() <= MAX_DOTS,
        points,
        marks,
        summary,
        description,
    }
}

/// The smallest of 1, 2, 5 x 10^k at or above `v` (`v` > 0).
fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

/// `-15m`, `-90s`, `-1h`; `now` for zero.
fn ago_label(back: Duration) -> String {
    let s = back.as_secs();
    if s == 0 {
        "now".to_string()
    } else if s.is_multiple_of(3600) {
        format!("-{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("-{}m", s / 60)
    } else {
        format!("-{s}s")
    }
}

/// `0.5`, `50`, `100` (no trailing zeros).
fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `12:03:10 UTC`.
fn clock(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}:{:02} UTC", t.hour(), t.minute(), t.second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fields::parse_time;

    fn now() -> OffsetDateTime {
        parse_time("2026-01-01T00:10:00Z").unwrap()
    }

    fn ago(secs: i64) -> OffsetDateTime {
        now() - time::Duration::seconds(secs)
    }

    const CPU: Spec<'static> = Spec {
        id: "cpu",
        title: "CPU",
        unit_words: "% of reserved CPU",
        unit: Unit::Percent,
    };

    fn sample(secs_ago: i64, value: f64) -> Sample {
        Sample {
            at: ago(secs_ago),
            value,
        }
    }

    #[test]
    fn axes_with_units_and_times_from_the_window_to_now() {
        let c = chart(
            CPU,
            &[sample(60, 20.0), sample(50, 40.0)],
            Duration::from_secs(10),
            Duration::from_secs(900),
            now(),
            &[],
        );
        let times: Vec<_> = c.x_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(times, ["-15m", "-10m", "-5m", "now"]);
        assert_eq!(c.x_ticks[0].pos, LEFT);
        assert_eq!(c.x_ticks[3].pos, RIGHT);
        let values: Vec<_> = c.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(values, ["0 %", "50 %", "100 %"], "at least 100 %");
        assert_eq!(c.y_ticks[0].pos, BOTTOM);
        assert_eq!(c.y_ticks[2].pos, TOP);
        assert_eq!(
            c.summary.as_deref(),
            Some("latest 40.0 % · min 20.0 % · max 40.0 %")
        );
        assert_eq!(
            c.description,
            "CPU over the last 15m: latest 40.0 % · min 20.0 % · max 40.0 %"
        );
        assert_eq!(c.id, "chart-cpu");
    }

    #[test]
    fn the_scale_grows_to_a_round_number_above_the_largest_value() {
        let c = chart(
            CPU,
            &[sample(30, 130.0)],
            Duration::from_secs(10),
            Duration::from_secs(120),
            now(),
            &[],
        );
        let values: Vec<_> = c.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(values, ["0 %", "100 %", "200 %"]);
        let rps = Spec {
            unit: Unit::PerSecond,
            ..CPU
        };
        let c = chart(
            rps,
            &[sample(30, 0.3)],
            Duration::from_secs(10),
            Duration::from_secs(120),
            now(),
            &[],
        );
        let values: Vec<_> = c.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(values, ["0 req/s", "0.5 req/s", "1 req/s"]);
        assert_eq!(c.points[0].title, "00:09:30 UTC: 0.30 req/s");
        let times: Vec<_> = c.x_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(times, ["-2m", "-90s", "-1m", "-30s", "now"]);
    }

    #[test]
    fn a_gap_where_nothing_was_measured() {
        // Every 10 s, then nothing for a minute, then two more.
        let samples = [
            sample(120, 10.0),
            sample(110, 20.0),
            sample(100, 30.0),
            sample(30, 40.0),
            sample(20, 50.0),
        ];
        let c = chart(
            CPU,
            &samples,
            Duration::from_secs(10),
            Duration::from_secs(120),
            now(),
            &[],
        );
        assert_eq!(c.lines.len(), 2, "{:?}", c.lines);
        assert_eq!(c.lines[0].matches('L').count(), 2);
        assert!(c.lines[1].starts_with('M'));
        assert_eq!(c.points.len(), 5);
        // The oldest point is at the left edge, 50 % is halfway up.
        assert_eq!(c.points[0].x, LEFT);
        assert_eq!(c.points[4].y, (TOP + BOTTOM) / 2.0);
        assert_eq!(c.points[0].at, "2026-01-01T00:08:00Z");
    }

    #[test]
    fn an_hour_of_seconds_is_a_line_without_dots() {
        let many: Vec<Sample> = (0..3600).rev().map(|s| sample(s, 5.0)).collect();
        let c = chart(
            CPU,
            &many,
            Duration::from_secs(1),
            Duration::from_secs(3600),
            now(),
            &[],
        );
        assert_eq!(c.lines.len(), 1);
        assert!(!c.dots);
        let few = chart(
            CPU,
            &many[3300..],
            Duration::from_secs(1),
            Duration::from_secs(3600),
            now(),
            &[],
        );
        assert!(few.dots, "{} points", few.points.len());
    }

    #[test]
    fn nothing_measured_is_said_not_drawn() {
        let c = chart(
            CPU,
            &[sample(4000, 10.0)],
            Duration::from_secs(10),
            Duration::from_secs(900),
            now(),
            &[],
        );
        assert!(c.lines.is_empty() && c.points.is_empty());
        assert_eq!(c.summary, None);
        assert_eq!(c.description, "CPU: nothing measured in the last 15m");
    }

    #[test]
    fn decisions_are_marked_where_they_happened() {
        let marks = [
            Mark {
                at: ago(60),
                title: "scaled from 1 to 3: CPU 90% > target 50% (autoscaler web-cpu).".into(),
            },
            Mark {
                at: ago(5000),
                title: "too old".into(),
            },
        ];
        let c = chart(
            CPU,
            &[],
            Duration::from_secs(10),
            Duration::from_secs(120),
            now(),
            &marks,
        );
        assert_eq!(c.marks.len(), 1);
        assert_eq!(c.marks[0].x, (LEFT + RIGHT) / 2.0);
        assert!(c.marks[0].title.starts_with("scaled from 1 to 3"));
        assert_eq!(c.marks[0].when.as_ref().unwrap().ago, "60s ago");
    }

    #[test]
    fn the_window_holds_the_services_life() {
        let w = |s| window_for(Some(Duration::from_secs(s)));
        assert_eq!(w(30), Duration::from_secs(60));
        assert_eq!(w(61), Duration::from_secs(120));
        assert_eq!(w(200), Duration::from_secs(300));
        assert_eq!(w(301), Duration::from_secs(900));
        assert_eq!(w(100_000), Duration::from_secs(3600));
        assert_eq!(window_for(None), Duration::from_secs(900));
    }

    #[test]
    fn round_scales() {
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }
}
