//! Autoscaling on real Docker: a service whose task burns CPU above a 50% target scales out
//! within the cooldown plus two sampling periods, comes back in after the scale-in cooldown
//! once the burn stops, and never leaves min/max.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::time::{Duration, Instant};
use support::Server;

const MANIFESTS: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata: {name: burner}
spec:
  containerDefinitions:
    - name: main
      image: ecsctl/busybox:local
      cpu: 256
      memory: 32
      stopTimeout: 1
      command: [sh, -c, 'timeout 8 sh -c \"while :; do :; done\"; exec sleep 600']
---
apiVersion: ecs/v1
kind: Service
metadata: {name: burner}
spec: {taskDefinition: burner, desiredCount: 1}
---
apiVersion: ecs/v1
kind: Autoscaler
metadata: {name: burner-cpu}
spec:
  service: burner
  minCapacity: 1
  maxCapacity: 3
  targetTracking:
    - {metric: ECSServiceAverageCPUUtilization, targetValue: 50, scaleOutCooldown: 2, scaleInCooldown: 5}
";

fn desired(s: &Server) -> u64 {
    let o = s.run(&["get", "svc", "burner", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v["spec"]["desiredCount"].as_u64().unwrap_or(0)
}

#[test]
fn cpu_load_scales_out_then_back_in_within_bounds() {
    let s = Server::start_with(&["--metrics-interval", "1s"]);
    s.apply(MANIFESTS);
    let t0 = Instant::now();
    let mut seen = Vec::new();
    let mut scaled_out_at = None;
    while t0.elapsed() < Duration::from_secs(60) {
        let d = desired(&s);
        seen.push(d);
        assert!(
            (1..=3).contains(&d),
            "desiredCount {d} left min/max: {seen:?}"
        );
        if d > 1 && scaled_out_at.is_none() {
            scaled_out_at = Some(t0.elapsed());
        }
        if scaled_out_at.is_some() && d == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let out = scaled_out_at.unwrap_or_else(|| panic!("never scaled out: {seen:?}\n{}", s.log()));
    // Task start (~1 s) + first samples + cooldown 2 s + two periods of 1 s, with slack for CI.
    assert!(out < Duration::from_secs(12), "scaled out after {out:?}");
    assert_eq!(
        seen.last(),
        Some(&1),
        "scaled back in once the burn stopped: {seen:?}"
    );
    let o = s.run(&["events"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("(service burner) scaled from 1 to "),
        "{text}"
    );
    assert!(
        text.contains("average CPU") && text.contains("> target 50%"),
        "{text}"
    );
    assert!(
        text.contains("< target 50%"),
        "the scale-in says why: {text}"
    );
}
