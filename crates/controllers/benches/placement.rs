//! Placement throughput: 10,000 tasks (100 services x 100) over 100 container instances of
//! varied sizes in three zones, each service spread over zones then binpacked on memory,
//! with a memberOf constraint, the way a service controller calls `place` (one call per
//! service, every call seeing the tasks placed before it).
//! `cargo bench -p ecsctl-controllers --bench placement`
//!
//! The peer is Nomad's published C1M run (HashiCorp, 2016): 1,000,000 containers on 5,000
//! hosts in under 5 minutes, which HashiCorp gives as 3,750 containers per second, by five
//! scheduler servers, end to end. The ratio printed is ours / theirs: above 1, this planner
//! is faster than that rate. It measures the pure planner on one thread, not the store
//! writes and container starts that a real placement also pays for.

use api::placement::Expr;
use api::service::PlacementStrategy;
use ecsctl_controllers::placement::Need;
use ecsctl_controllers::placement::{Ask, Constraint, Node, place};
use serde_json::json;
use std::time::{Duration, Instant};

/// Nomad's C1M rate as published.
const NOMAD_C1M_PER_S: f64 = 3750.0;
const NODES: usize = 100;
const SERVICES: usize = 100;
const TASKS_PER_SERVICE: u32 = 100;

fn cluster() -> Vec<Node> {
    (0..NODES)
        .map(|i| {
            // Sizes from 2 vCPU / 4 GiB to 16 vCPU / 64 GiB, every 7th one a GPU host.
            let size = 1u64 << (i % 4);
            let mut n = Node::new(format!("ci-{i:03}"), 2048 * size, 8192 * size);
            n.attributes.insert(
                "ecs.availability-zone".into(),
                ["us-east-1a", "us-east-1b", "us-east-1c"][i % 3].into(),
            );
            let kind = if i % 7 == 0 { "g5" } else { "m6i" };
            n.attributes
                .insert("ecs.instance-type".into(), format!("{kind}.{size}xlarge"));
            n
        })
        .collect()
}

/// One run: every service placed in turn; the time taken and the tasks placed.
fn run(
    needs: &[Need],
    groups: &[String],
    strategies: &[PlacementStrategy],
    constraints: &[Constraint],
) -> (Duration, usize) {
    let mut nodes = cluster();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut rng = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let t = Instant::now();
    let mut placed = 0;
    for (need, group) in needs.iter().zip(groups) {
        let ask = Ask {
            need,
            group,
            constraints,
            strategies,
            count: TASKS_PER_SERVICE,
        };
        let p = place(&mut nodes, &ask, &mut rng);
        assert!(p.reason.is_none(), "{group}: {:?}", p.reason);
        placed += p.chosen.len();
    }
    (t.elapsed(), placed)
}

fn main() {
    let strategies: Vec<PlacementStrategy> = serde_json::from_value(json!([
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "binpack", "field": "memory"}
    ]))
    .expect("strategies");
    let expr = Expr::parse("attribute:ecs.instance-type =~ m6i.* and not(attribute:ecs.availability-zone == us-east-1d)")
        .expect("expression");
    let constraints = [Constraint::MemberOf(expr)];
    let needs: Vec<Need> = (0..SERVICES)
        .map(|i| Need {
            cpu: [16, 32, 64][i % 3],
            memory: [32, 64, 128][i % 3],
            ports: Default::default(),
        })
        .collect();
    let groups: Vec<String> = (0..SERVICES).map(|i| format!("service:svc-{i}")).collect();
    let total = SERVICES * TASKS_PER_SERVICE as usize;
    for round in 1..=3 {
        let (took, placed) = run(&needs, &groups, &strategies, &constraints);
        assert_eq!(placed, total);
        let rate = placed as f64 / took.as_secs_f64();
        println!(
            "run {round}: {placed} tasks over {NODES} instances in {:.1} ms: {:.0} placements/s, {:.0}x Nomad's C1M rate ({NOMAD_C1M_PER_S:.0}/s)",
            took.as_secs_f64() * 1000.0,
            rate,
            rate / NOMAD_C1M_PER_S
        );
    }
}
