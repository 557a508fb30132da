use super::*;
use serde_json::json;

fn spec(v: serde_json::Value) -> AutoscalerSpec {
    serde_json::from_value(v).unwrap()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_261_600 + secs).unwrap() // 2026-01-01 10:00 UTC
}

fn rfc(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn cpu_policy(target: f64) -> serde_json::Value {
    json!({"metric": "ECSServiceAverageCPUUtilization", "targetValue": target, "scaleOutCooldown": 60, "scaleInCooldown": 120})
}

fn decide_with(
    s: &AutoscalerSpec,
    current: u32,
    cpu: Option<f64>,
    mem: Option<f64>,
    st: &AutoscalerStatus,
    now: OffsetDateTime,
) -> Outcome {
    let measure = move |m: ScalingMetric| match m {
        ScalingMetric::EcsServiceAverageCpuUtilization => cpu,
        ScalingMetric::EcsServiceAverageMemoryUtilization => mem,
        ScalingMetric::AlbRequestCountPerTarget => None,
    };
    decide(&Inputs {
        spec: s,
        current,
        measure: &measure,
        status: st,
        now,
    })
}

#[test]
fn target_tracking_scales_out_with_the_numbers_behind_it() {
    let s = spec(
        json!({"service": "web", "minCapacity": 1, "maxCapacity": 10, "targetTracking": [cpu_policy(50.0)]}),
    );
    let o = decide_with(&s, 2, Some(91.0), None, &AutoscalerStatus::default(), at(0));
    assert_eq!(o.desired, 4);
    assert_eq!(o.reason.as_deref(), Some("average CPU 91% > target 50%"));
}

#[test]
fn tolerance_band_and_missing_data_change_nothing() {
    let s = spec(
        json!({"service": "web", "minCapacity": 1, "maxCapacity": 10, "targetTracking": [cpu_policy(50.0)]}),
    );
    let o = decide_with(&s, 3, Some(54.0), None, &AutoscalerStatus::default(), at(0));
    assert_eq!((o.desired, o.reason), (3, None));
    let o = decide_with(&s, 3, None, None, &AutoscalerStatus::default(), at(0));
    assert_eq!((o.desired, o.reason), (3, None), "no data, no scaling");
}

#[test]
fn cooldowns_block_their_own_direction_but_scale_in_never_blocks_scale_out() {
    let s = spec(
        json!({"service": "web", "minCapacity": 1, "maxCapacity": 10, "targetTracking": [cpu_policy(50.0)]}),
    );
    let recent_out = AutoscalerStatus {
        last_scale_out_at: Some(rfc(at(-30))),
        ..Default::default()
    };
    assert_eq!(
        decide_with(&s, 2, Some(90.0), None, &recent_out, at(0)).desired,
        2,
        "within scale-out cooldown"
    );
    assert_eq!(
        decide_with(&s, 2, Some(90.0), None, &recent_out, at(31)).desired,
        4,
        "cooldown over"
    );
    let recent_in = AutoscalerStatus {
        last_scale_in_at: Some(rfc(at(-5))),
        ..Default::default()
    };
    assert_eq!(
        decide_with(&s, 2, Some(90.0), None, &recent_in, at(0)).desired,
        4,
        "scale-in cooldown does not block scale-out"
    );
    assert_eq!(
        decide_with(&s, 4, Some(10.0), None, &recent_in, at(0)).desired,
        4,
        "but blocks scale-in"
    );
    assert_eq!(
        decide_with(&s, 4, Some(10.0), None, &recent_in, at(200)).desired,
        1
    );
}

#[test]
fn several_policies_the_largest_wins_and_scale_in_needs_all() {
    let s = spec(
        json!({"service": "web", "minCapacity": 1, "maxCapacity": 10, "targetTracking": [
            cpu_policy(50.0),
            {"metric": "ECSServiceAverageMemoryUtilization", "targetValue": 50.0, "scaleOutCooldown": 0, "scaleInCooldown": 0}
        ]}),
    );
    let none = AutoscalerStatus::default();
    assert_eq!(
        decide_with(&s, 2, Some(100.0), Some(150.0), &none, at(0)).desired,
        6
    );
    assert_eq!(
        decide_with(&s, 4, Some(10.0), Some(50.0), &none, at(0)).desired,
        4,
        "memory is on target: no scale-in"
    );
    assert_eq!(
        decide_with(&s, 4, Some(10.0), Some(20.0), &none, at(0)).desired,
        2,
        "both want fewer: the larger wish"
    );
}

#[test]
fn min_max_clamps_and_disable_scale_in() {
    let s = spec(
        json!({"service": "web", "minCapacity": 2, "maxCapacity": 3, "targetTracking": [cpu_policy(50.0)]}),
    );
    let none = AutoscalerStatus::default();
    let o = decide_with(&s, 2, Some(400.0), None, &none, at(0));
    assert_eq!(o.desired, 3);
    assert!(o.reason.unwrap().contains("held at maxCapacity 3"));
    assert_eq!(decide_with(&s, 3, Some(1.0), None, &none, at(0)).desired, 2);
    assert_eq!(
        decide_with(&s, 1, None, None, &none, at(0)).desired,
        2,
        "below min is raised even without data"
    );
    let s = spec(
        json!({"service": "web", "minCapacity": 1, "maxCapacity": 9, "targetTracking": [
        {"metric": "ECSServiceAverageCPUUtilization", "targetValue": 50.0, "disableScaleIn": true}]}),
    );
    assert_eq!(decide_with(&s, 5, Some(1.0), None, &none, at(0)).desired, 5);
}

#[test]
fn scheduled_actions_move_the_bounds() {
    let s = spec(
        json!({"service": "web", "minCapacity": 1, "maxCapacity": 10,
        "scheduled": [{"schedule": "cron(0 9 * * ? *)", "minCapacity": 4}, {"schedule": "0 18 * * *", "minCapacity": 1}]}),
    );
    let o = decide_with(&s, 1, None, None, &AutoscalerStatus::default(), at(0)); // 10:00: the 09:00 action is the latest
    assert_eq!((o.min, o.desired), (4, 4));
    let o = decide_with(
        &s,
        4,
        None,
        None,
        &AutoscalerStatus::default(),
        at(9 * 3600),
    ); // 19:00
    assert_eq!(
        (o.min, o.desired),
        (1, 4),
        "lowering min does not scale in by itself"
    );
}

#[test]
fn step_scaling_adjusts_by_steps() {
    let s = spec(
        json!({"service": "web", "minCapacity": 1, "maxCapacity": 20, "stepScaling": [{
        "metric": "ECSServiceAverageCPUUtilization", "adjustmentType": "ChangeInCapacity", "cooldown": 0,
        "steps": [{"lowerBound": 70.0, "upperBound": 90.0, "adjustment": 1}, {"lowerBound": 90.0, "adjustment": 3},
                  {"upperBound": 20.0, "adjustment": -1}]}]}),
    );
    let none = AutoscalerStatus::default();
    assert_eq!(
        decide_with(&s, 2, Some(75.0), None, &none, at(0)).desired,
        3
    );
    assert_eq!(
        decide_with(&s, 2, Some(95.0), None, &none, at(0)).desired,
        5
    );
    assert_eq!(
        decide_with(&s, 2, Some(50.0), None, &none, at(0)).desired,
        2
    );
    assert_eq!(
        decide_with(&s, 2, Some(10.0), None, &none, at(0)).desired,
        1
    );
}
