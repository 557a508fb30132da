use super::*;

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600 + secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn m() -> Metrics {
    Metrics::new(Duration::from_secs(10), Duration::from_secs(60))
}

const W: Duration = Duration::from_secs(30);

#[test]
fn ring_keeps_one_lap_and_restarts_wrapped_buckets() {
    let mut r = Ring::new(6);
    for slot in 0..6 {
        r.add(slot, slot as f64);
    }
    assert_eq!(r.mean(0, 5), Some(2.5));
    // Slot 6 takes slot 0's bucket: 0 is gone, not mixed in.
    r.add(6, 60.0);
    assert_eq!(r.buckets[0].count, 1);
    assert_eq!(r.mean(6, 6), Some(60.0));
    assert_eq!(r.mean(0, 0), None);
    // A window longer than the ring counts one lap only.
    assert_eq!(
        r.mean(-100, 6),
        Some((1.0 + 2.0 + 3.0 + 4.0 + 5.0 + 60.0) / 6.0)
    );
    // A sample older than what the bucket holds is dropped.
    r.add(0, 1000.0);
    assert_eq!(r.mean(6, 6), Some(60.0));
}

#[test]
fn ring_bucket_is_sum_and_count() {
    let mut r = Ring::new(4);
    r.add(10, 1.0);
    r.add(10, 3.0);
    r.add(11, 10.0);
    // Mean of bucket means: (2 + 10) / 2.
    assert_eq!(r.mean(10, 11), Some(6.0));
    assert_eq!(r.mean(12, 13), None);
}

#[test]
fn ring_sample_cost_does_not_grow() {
    // O(1) per sample: a million samples over a long time into a small ring.
    let mut r = Ring::new(360);
    let started = std::time::Instant::now();
    for i in 0..1_000_000i64 {
        r.add(i / 3, 1.0);
    }
    assert_eq!(r.buckets.len(), 360);
    assert_eq!(r.mean(333_333 - 10, 333_333), Some(1.0));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn sizes_from_retention_and_resolution() {
    let m = Metrics::new(Duration::from_secs(10), Duration::from_secs(3600));
    assert_eq!(m.slots, 360);
    assert_eq!(m.resolution(), Duration::from_secs(10));
    assert_eq!(
        Metrics::new(Duration::from_secs(7), Duration::from_secs(60)).slots,
        9
    );
}

#[test]
fn service_average_is_mean_over_tasks_in_window() {
    let m = m();
    // Task a: 100 then 50 (mean 75); task b: 25; c belongs to another service.
    m.record_task("default", Some("web"), "a", t(0), 100.0, 10.0);
    m.record_task("default", Some("web"), "a", t(10), 50.0, 30.0);
    m.record_task("default", Some("web"), "b", t(10), 25.0, 50.0);
    m.record_task("default", Some("db"), "c", t(10), 1000.0, 1000.0);
    m.record_task("other", Some("web"), "d", t(10), 1000.0, 1000.0);
    m.record_task("default", None, "e", t(10), 1000.0, 1000.0);
    let avg = |k, now| m.service_average("default", "web", k, W, now);
    assert_eq!(avg(MetricKind::Cpu, t(10)), Some((75.0 + 25.0) / 2.0));
    assert_eq!(avg(MetricKind::Memory, t(10)), Some((20.0 + 50.0) / 2.0));
    // Later, only the t(10) samples are in the window.
    assert_eq!(avg(MetricKind::Cpu, t(39)), Some((50.0 + 25.0) / 2.0));
    // No sample in the window: no data.
    assert_eq!(avg(MetricKind::Cpu, t(100)), None);
    assert_eq!(avg(MetricKind::RequestsPerTarget, t(10)), None);
    assert_eq!(
        m.service_average("default", "nope", MetricKind::Cpu, W, t(10)),
        None
    );
    // A forgotten task no longer counts.
    m.forget_task("default", "b");
    assert_eq!(avg(MetricKind::Cpu, t(10)), Some(75.0));
}

#[test]
fn request_rates_average_over_the_window() {
    let m = m();
    m.record_requests("default", "web", t(0), 10.0);
    m.record_requests("default", "web", t(10), 30.0);
    let avg = |now| m.service_average("default", "web", MetricKind::RequestsPerTarget, W, now);
    assert_eq!(avg(t(10)), Some(20.0));
    assert_eq!(avg(t(40)), Some(30.0));
    assert_eq!(avg(t(45)), None);
    assert_eq!(avg(t(1000)), None);
}

#[test]
fn latest_values_for_top() {
    let m = m();
    m.record_task("default", Some("web"), "a", t(0), 100.0, 10.0);
    m.record_task("default", Some("web"), "a", t(10), 40.0, 20.0);
    m.record_task("default", Some("web"), "b", t(10), 20.0, 40.0);
    m.record_task("default", None, "solo", t(5), 1.0, 2.0);
    m.record_requests("default", "web", t(10), 3.5);
    m.record_requests("default", "api", t(20), 1.0);
    let services = m.services();
    assert_eq!(services.len(), 2);
    assert_eq!(services[0].service, "api");
    assert_eq!(services[0].tasks, 0);
    assert_eq!(services[0].cpu_percent, None);
    assert_eq!(services[0].requests_per_target_per_sec, Some(1.0));
    let web = &services[1];
    assert_eq!(web.tasks, 2);
    assert_eq!(web.cpu_percent, Some(30.0));
    assert_eq!(web.memory_percent, Some(30.0));
    assert_eq!(web.requests_per_target_per_sec, Some(3.5));
    assert_eq!(web.at, Some(t(10)));
    let tasks = m.tasks();
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks[0].task, "solo");
    assert_eq!(tasks[1].task, "a");
    assert_eq!(tasks[1].cpu_percent, 40.0);
    assert_eq!(tasks[1].at, t(10));
}

#[test]
fn a_service_series_has_a_point_per_bucket_with_gaps() {
    // 6 buckets of 10 s.
    let m = m();
    m.record_task("default", Some("web"), "a", t(0), 100.0, 10.0);
    m.record_task("default", Some("web"), "a", t(4), 50.0, 30.0);
    m.record_task("default", Some("web"), "b", t(5), 30.0, 50.0);
    m.record_requests("default", "web", t(5), 2.0);
    // Nothing at t(10..20): a gap. Then only the request rate.
    m.record_requests("default", "web", t(21), 6.0);
    m.record_task("default", Some("web"), "a", t(30), 20.0, 40.0);
    // Not web's.
    m.record_task("default", Some("db"), "c", t(30), 1000.0, 1000.0);
    m.record_task("other", Some("web"), "d", t(30), 1000.0, 1000.0);
    let series = m.service_series("default", "web", Duration::from_secs(60), t(35));
    let points: Vec<_> = series
        .iter()
        .map(|p| {
            (
                p.at,
                p.cpu_percent,
                p.memory_percent,
                p.requests_per_target_per_sec,
            )
        })
        .collect();
    assert_eq!(
        points,
        [
            // The mean of the bucket's samples: a's 100 and 50, b's 30.
            (t(0), Some(60.0), Some(30.0), Some(2.0)),
            (t(20), None, None, Some(6.0)),
            (t(30), Some(20.0), Some(40.0), None),
        ]
    );
    // `since` cuts the older buckets; the ring keeps one lap (6 buckets) whatever `since`.
    let recent = m.service_series("default", "web", Duration::from_secs(15), t(35));
    assert_eq!(recent.first().map(|p| p.at), Some(t(20)));
    assert!(
        m.service_series("default", "web", Duration::from_secs(3600), t(65))
            .iter()
            .all(|p| p.at > t(5)),
        "the lapped bucket t(0) is not shown at t(65)"
    );
    assert!(
        m.service_series("default", "nope", Duration::from_secs(60), t(35))
            .is_empty()
    );
    // A stopped task's samples stay in its service's series.
    m.forget_task("default", "a");
    assert_eq!(
        m.service_series("default", "web", Duration::from_secs(15), t(35))[1].cpu_percent,
        Some(20.0)
    );
}
