//! The scaling decision: a pure function of the Autoscaler's spec, the service's current
//! desired count, the measured metrics, what was decided before (cooldowns) and the time.
//!
//! Semantics as Application Auto Scaling's (and HPA's): target tracking asks for
//! ceil(current x metric / target) outside a 10% tolerance band; several policies -> the
//! largest capacity wins, and scale-in happens only when every policy agrees; a scale-in
//! cooldown never blocks a scale-out; no data -> no scaling; always within min/max (which
//! scheduled actions may change).

use super::cron::Cron;
use crate::timefmt::parse_rfc3339;
use api::autoscaler::{AdjustmentType, AutoscalerSpec, AutoscalerStatus, Measured, ScalingMetric};
use std::time::Duration;
use time::OffsetDateTime;

/// Half-width of the band around the target inside which nothing changes.
pub const TOLERANCE: f64 = 0.10;
/// Application Auto Scaling's default cooldowns.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(300);

/// Everything the decision looks at.
#[derive(Clone)]
pub struct Inputs<'a> {
    pub spec: &'a AutoscalerSpec,
    /// The service's desired count now.
    pub current: u32,
    /// Measured value per metric (None: no data in the window).
    pub measure: &'a dyn Fn(ScalingMetric) -> Option<f64>,
    pub status: &'a AutoscalerStatus,
    pub now: OffsetDateTime,
}

impl std::fmt::Debug for Inputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs")
            .field("current", &self.current)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// The outcome: the desired count, and why when it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub desired: u32,
    pub min: u32,
    pub max: u32,
    pub reason: Option<String>,
    pub measured: Vec<Measured>,
}

fn metric_words(m: ScalingMetric) -> (&'static str, &'static str) {
    match m {
        ScalingMetric::EcsServiceAverageCpuUtilization => ("average CPU", "%"),
        ScalingMetric::EcsServiceAverageMemoryUtilization => ("average memory", "%"),
        ScalingMetric::AlbRequestCountPerTarget => ("requests per target", "/s"),
    }
}

fn since(at: &Option<String>, now: OffsetDateTime) -> Option<Duration> {
    let t = parse_rfc3339(at.as_deref()?)?;
    Duration::try_from(now - t).ok()
}

/// The min/max in force now: the spec's, unless a scheduled action that fired last says
/// otherwise.
pub fn capacity_bounds(spec: &AutoscalerSpec, now: OffsetDateTime) -> (u32, u32) {
    let (mut min, mut max) = (spec.min_capacity.get(), spec.max_capacity.get());
    let latest = spec
        .scheduled
        .iter()
        .filter_map(|a| Some((Cron::parse(&a.schedule).ok()?.last_fire(now)?, a)))
        .max_by_key(|(t, _)| *t);
    if let Some((_, a)) = latest {
        min = a.min_capacity.map_or(min, |c| c.get());
        max = a.max_capacity.map_or(max, |c| c.get()).max(min);
    }
    (min, max)
}

/// Decides the desired count.
pub fn decide(inp: &Inputs<'_>) -> Outcome {
    let (min, max) = capacity_bounds(inp.spec, inp.now);
    let current = inp.current;
    let mut measured = Vec::new();
    // Each policy's wish: (capacity, reason, allows scale-in).
    let mut wishes: Vec<(u32, String, bool)> = Vec::new();
    let out_ok = |cooldown: Duration| {
        since(&inp.status.last_scale_out_at, inp.now).is_none_or(|d| d >= cooldown)
    };
    let in_ok = |cooldown: Duration| {
        since(&inp.status.last_scale_in_at, inp.now).is_none_or(|d| d >= cooldown)
            && since(&inp.status.last_scale_out_at, inp.now).is_none_or(|d| d >= cooldown)
    };
    for p in &inp.spec.target_tracking {
        let Some(value) = (inp.measure)(p.metric) else {
            continue;
        };
        measured.push(Measured {
            metric: p.metric,
            value,
        });
        let (words, unit) = metric_words(p.metric);
        let ratio = value / p.target_value;
        if (ratio - 1.0).abs() <= TOLERANCE {
            wishes.push((current, String::new(), true));
            continue;
        }
        let base = current.max(1);
        let want = (f64::from(base) * ratio).ceil().max(0.0) as u32;
        let cmp = if value > p.target_value { ">" } else { "<" };
        let why = format!(
            "{words} {value:.0}{unit} {cmp} target {:.0}{unit}",
            p.target_value
        );
        let out_cd = p.scale_out_cooldown.map_or(DEFAULT_COOLDOWN, |c| {
            Duration::from_secs(u64::from(c.get()))
        });
        let in_cd = p.scale_in_cooldown.map_or(DEFAULT_COOLDOWN, |c| {
            Duration::from_secs(u64::from(c.get()))
        });
        if want > current {
            wishes.push((if out_ok(out_cd) { want } else { current }, why, false));
        } else if want < current {
            let allowed = !p.disable_scale_in.unwrap_or(false) && in_ok(in_cd);
            wishes.push((if allowed { want } else { current }, why, allowed));
        } else {
            wishes.push((current, String::new(), true));
        }
    }
    for s in &inp.spec.step_scaling {
        let Some(value) = (inp.measure)(s.metric) else {
            continue;
        };
        measured.push(Measured {
            metric: s.metric,
            value,
        });
        let Some(step) = s.steps.iter().find(|st| {
            st.lower_bound.is_none_or(|l| value >= l) && st.upper_bound.is_none_or(|u| value < u)
        }) else {
            wishes.push((current, String::new(), true));
            continue;
        };
        let want = match s.adjustment_type {
            AdjustmentType::ChangeInCapacity => i64::from(current) + step.adjustment,
            AdjustmentType::PercentChangeInCapacity => {
                let delta = (f64::from(current) * step.adjustment as f64 / 100.0).trunc() as i64;
                i64::from(current)
                    + if delta == 0 {
                        step.adjustment.signum()
                    } else {
                        delta
                    }
            }
            AdjustmentType::ExactCapacity => step.adjustment,
        }
        .max(0) as u32;
        let cd = s.cooldown.map_or(DEFAULT_COOLDOWN, |c| {
            Duration::from_secs(u64::from(c.get()))
        });
        let (words, unit) = metric_words(s.metric);
        let why = format!(
            "{words} {value:.0}{unit} is in step [{}, {})",
            bound(step.lower_bound),
            bound(step.upper_bound)
        );
        let ok = if want > current {
            out_ok(cd)
        } else {
            in_ok(cd)
        };
        wishes.push((if ok { want } else { current }, why, want <= current && ok));
    }
    let mut desired = current;
    let mut reason = None;
    if let Some((w, why, _)) = wishes
        .iter()
        .filter(|(w, _, _)| *w > current)
        .max_by_key(|(w, _, _)| *w)
    {
        desired = *w;
        reason = Some(why.clone());
    } else if !wishes.is_empty() && wishes.iter().all(|(w, _, ok)| *w < current && *ok) {
        // Scale in only when every policy wants to: to the largest of their wishes.
        if let Some((w, why, _)) = wishes.iter().max_by_key(|(w, _, _)| *w) {
            desired = *w;
            reason = Some(why.clone());
        }
    }
    let clamped = desired.clamp(min, max.max(min));
    if clamped != desired {
        let bound_word = if clamped == min {
            "minCapacity"
        } else {
            "maxCapacity"
        };
        reason = Some(match reason {
            Some(r) if clamped != current => format!("{r} (held at {bound_word} {clamped})"),
            _ => format!("{bound_word} is {clamped}"),
        });
    }
    let reason = (clamped != current).then_some(reason).flatten();
    Outcome {
        desired: clamped,
        min,
        max,
        reason,
        measured,
    }
}

fn bound(b: Option<f64>) -> String {
    b.map_or("inf".to_string(), |v| format!("{v}"))
}

#[cfg(test)]
mod tests;
