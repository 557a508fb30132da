use super::*;
use serde_json::json;

mod props;

const WEB: &str = "service:web";

fn need(cpu: u64, memory: u64) -> Need {
    Need {
        cpu,
        memory,
        ports: BTreeSet::new(),
    }
}

fn tcp(ports: &[u16]) -> BTreeSet<(u16, Protocol)> {
    ports.iter().map(|p| (*p, Protocol::Tcp)).collect()
}

fn strategy(kind: &str, field: Option<&str>) -> PlacementStrategy {
    serde_json::from_value(json!({"type": kind, "field": field})).unwrap()
}

fn member_of(e: &str) -> Constraint {
    Constraint::MemberOf(Expr::parse(e).unwrap())
}

fn node(id: &str, cpu: u64, memory: u64, attrs: &[(&str, &str)]) -> Node {
    let mut n = Node::new(id, cpu, memory);
    n.attributes = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    n
}

fn nodes(n: usize) -> Vec<Node> {
    (0..n)
        .map(|i| Node::new(format!("ci-{i}"), 4096, 8192))
        .collect()
}

/// An rng for asks without a random strategy: `place` must not call it.
fn no_rng() -> impl FnMut() -> u64 {
    || panic!("rng called without a random strategy")
}

fn place_with(
    nodes: &mut [Node],
    need: &Need,
    constraints: &[Constraint],
    strategies: &[PlacementStrategy],
    count: u32,
) -> Placement {
    let ask = Ask {
        need,
        group: WEB,
        constraints,
        strategies,
        count,
    };
    place(nodes, &ask, &mut no_rng())
}

fn web_counts(nodes: &[Node]) -> Vec<u32> {
    nodes.iter().map(|n| n.group_count(WEB)).collect()
}

#[test]
fn spread_over_instances_evens_out_and_counts_each_task_at_once() {
    let mut ns = nodes(3);
    let n = need(256, 512);
    let spread = [strategy("spread", Some("instanceId"))];
    let p = place_with(&mut ns, &n, &[], &spread, 10);
    assert_eq!(p.reason, None);
    assert_eq!(p.chosen.len(), 10);
    assert_eq!(&p.chosen[..4], ["ci-0", "ci-1", "ci-2", "ci-0"]);
    assert_eq!(web_counts(&ns), [4, 3, 3]);
    assert_eq!(ns[0].used_cpu, 4 * 256);
    assert_eq!(ns[0].used_memory, 4 * 512);
    assert_eq!(ns.iter().map(|n| n.tasks).collect::<Vec<_>>(), [4, 3, 3]);
    // A second call sees the first: the next task goes to an emptier node.
    let p = place_with(&mut ns, &n, &[], &spread, 1);
    assert_eq!(p.chosen, ["ci-1"]);
    // `host` is ECS's other name for instanceId.
    let mut ns = nodes(2);
    place_with(&mut ns, &n, &[], &[strategy("spread", Some("host"))], 4);
    assert_eq!(web_counts(&ns), [2, 2]);
}

#[test]
fn spread_counts_the_group_only() {
    let mut ns = nodes(2);
    ns[0].groups.insert("service:db".into(), 5);
    ns[0].tasks = 5;
    ns[1].groups.insert(WEB.into(), 1);
    ns[1].tasks = 1;
    let p = place_with(
        &mut ns,
        &need(1, 1),
        &[],
        &[strategy("spread", Some("instanceId"))],
        1,
    );
    assert_eq!(p.chosen, ["ci-0"]);
}

#[test]
fn default_spreads_over_zones_then_instances() {
    let zone = |z| [("ecs.availability-zone", z)];
    let mut ns = vec![
        node("a1", 4096, 8192, &zone("us-east-1a")),
        node("a2", 4096, 8192, &zone("us-east-1a")),
        node("b1", 4096, 8192, &zone("us-east-1b")),
        node("c1", 4096, 8192, &zone("us-east-1c")),
    ];
    let p = place_with(&mut ns, &need(1, 1), &[], &[], 3);
    assert_eq!(p.chosen, ["a1", "b1", "c1"]);
    let p = place_with(&mut ns, &need(1, 1), &[], &[], 3);
    // Zone a's second task goes to its emptier instance.
    assert_eq!(p.chosen, ["a2", "b1", "c1"]);
    // Without zones, the default is a spread over instances.
    let mut ns = nodes(3);
    place_with(&mut ns, &need(1, 1), &[], &[], 7);
    assert_eq!(web_counts(&ns), [3, 2, 2]);
}

#[test]
fn spread_on_an_attribute_groups_instances_without_it() {
    let mut ns = vec![
        node("z1", 4096, 8192, &[("zone", "1")]),
        node("n1", 4096, 8192, &[]),
        node("z2", 4096, 8192, &[("zone", "2")]),
        node("n2", 4096, 8192, &[]),
    ];
    let spread = [strategy("spread", Some("attribute:zone"))];
    let p = place_with(&mut ns, &need(1, 1), &[], &spread, 3);
    // One task per value: "1", none, "2"; ties within a value go to the first node given.
    assert_eq!(p.chosen, ["z1", "n1", "z2"]);
    let p = place_with(&mut ns, &need(1, 1), &[], &spread, 3);
    assert_eq!(p.chosen, ["z1", "n1", "z2"]);
    assert_eq!(web_counts(&ns), [2, 2, 2, 0]);
}

#[test]
fn binpack_fills_the_instance_with_least_left_first() {
    let mut ns = vec![
        node("big", 4096, 1000, &[]),
        node("small", 4096, 300, &[]),
        node("mid", 4096, 500, &[]),
    ];
    let binpack = [strategy("binpack", Some("memory"))];
    let p = place_with(&mut ns, &need(10, 100), &[], &binpack, 5);
    assert_eq!(p.chosen, ["small", "small", "small", "mid", "mid"]);
    let mut ns = vec![node("big", 4096, 8192, &[]), node("small", 1024, 8192, &[])];
    let binpack = [strategy("binpack", Some("cpu"))];
    let p = place_with(&mut ns, &need(512, 1), &[], &binpack, 3);
    assert_eq!(p.chosen, ["small", "small", "big"]);
}

#[test]
fn strategies_break_ties_in_order() {
    // Spread over zones first, then binpack memory inside a zone.
    let mut ns = vec![
        node("a-roomy", 4096, 4000, &[("zone", "a")]),
        node("a-tight", 4096, 1000, &[("zone", "a")]),
        node("b-roomy", 4096, 4000, &[("zone", "b")]),
        node("b-tight", 4096, 2000, &[("zone", "b")]),
    ];
    let s = [
        strategy("spread", Some("attribute:zone")),
        strategy("binpack", Some("memory")),
    ];
    let p = place_with(&mut ns, &need(1, 100), &[], &s, 4);
    assert_eq!(p.chosen, ["a-tight", "b-tight", "a-tight", "b-tight"]);
    // Binpack first: it overrides the spread, which only decides between equally full
    // instances.
    let mut ns = vec![
        node("x", 4096, 900, &[("zone", "a")]),
        node("y", 4096, 1000, &[("zone", "b")]),
    ];
    ns[0].groups.insert(WEB.into(), 2);
    let binpack_first = [
        strategy("binpack", Some("memory")),
        strategy("spread", Some("attribute:zone")),
    ];
    let p = place_with(&mut ns.clone(), &need(1, 100), &[], &binpack_first, 2);
    assert_eq!(p.chosen, ["x", "x"]);
    let spread_first = [binpack_first[1].clone(), binpack_first[0].clone()];
    let p = place_with(&mut ns.clone(), &need(1, 100), &[], &spread_first, 2);
    assert_eq!(p.chosen, ["y", "y"]);
    ns[0].memory = 1000;
    let p = place_with(&mut ns, &need(1, 100), &[], &binpack_first, 1);
    assert_eq!(p.chosen, ["y"]);
}

#[test]
fn random_follows_the_rng_and_repeats_with_it() {
    let run = |seed: u64| {
        let mut ns = nodes(5);
        let mut state = seed;
        let mut rng = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let ask = Ask {
            need: &need(1, 1),
            group: WEB,
            constraints: &[],
            strategies: &[strategy("random", None)],
            count: 20,
        };
        place(&mut ns, &ask, &mut rng).chosen
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(7));
    // The lowest draw wins: a falling sequence picks the last node each time.
    let mut ns = nodes(3);
    let mut next = u64::MAX;
    let mut falling = move || {
        next -= 1;
        next
    };
    let ask = Ask {
        need: &need(1, 1),
        group: WEB,
        constraints: &[],
        strategies: &[strategy("random", None)],
        count: 2,
    };
    assert_eq!(place(&mut ns, &ask, &mut falling).chosen, ["ci-2", "ci-2"]);
}

#[test]
fn filters_cpu_memory_ports_and_schedulable() {
    let mut ns = vec![
        node("no-cpu", 100, 8192, &[]),
        node("no-mem", 4096, 100, &[]),
        node("draining", 4096, 8192, &[]),
        node("port-taken", 4096, 8192, &[]),
        node("ok", 4096, 8192, &[]),
    ];
    ns[2].schedulable = Err("is DRAINING".into());
    ns[3].ports = tcp(&[80]);
    let mut n = need(512, 512);
    n.ports = tcp(&[80]);
    let p = place_with(&mut ns, &n, &[], &[], 1);
    assert_eq!(p.chosen, ["ok"]);
    // A fixed host port fits once per instance.
    let p = place_with(&mut ns, &n, &[], &[], 1);
    assert_eq!(p.chosen, Vec::<String>::new());
    assert!(ns[4].ports.contains(&(80, Protocol::Tcp)));
    // Another protocol on the same number is another port.
    n.ports = BTreeSet::from([(80, Protocol::Udp)]);
    let p = place_with(&mut ns, &n, &[], &[], 2);
    assert_eq!(p.chosen, ["port-taken", "ok"]);
}

#[test]
fn distinct_instance_counts_tasks_already_there() {
    let mut ns = nodes(3);
    ns[1].groups.insert(WEB.into(), 1);
    let p = place_with(
        &mut ns,
        &need(1, 1),
        &[Constraint::DistinctInstance],
        &[],
        5,
    );
    assert_eq!(p.chosen, ["ci-0", "ci-2"]);
    assert_eq!(web_counts(&ns), [1, 1, 1]);
    assert!(
        p.reason
            .unwrap()
            .ends_with("encountered error \"DistinctInstance placement constraint unsatisfied.\".")
    );
    // Other groups do not count.
    let mut ns = nodes(1);
    ns[0].groups.insert("service:db".into(), 3);
    let p = place_with(
        &mut ns,
        &need(1, 1),
        &[Constraint::DistinctInstance],
        &[],
        1,
    );
    assert_eq!(p.chosen, ["ci-0"]);
}

#[test]
fn member_of_filters_on_attributes_groups_and_agent() {
    let mut ns = vec![
        node("t3", 4096, 8192, &[("ecs.instance-type", "t3.large")]),
        node("g2", 4096, 8192, &[("ecs.instance-type", "g2.2xlarge")]),
        node("g2-db", 4096, 8192, &[("ecs.instance-type", "g2.8xlarge")]),
    ];
    ns[2].groups.insert("service:db".into(), 1);
    let gpu = [member_of("attribute:ecs.instance-type =~ g2.*")];
    let p = place_with(
        &mut ns,
        &need(1, 1),
        &gpu,
        &[strategy("spread", Some("instanceId"))],
        4,
    );
    assert_eq!(p.chosen, ["g2", "g2-db", "g2", "g2-db"]);
    // Affinity to another group's instances.
    let near_db = [member_of("task:group == service:db")];
    let p = place_with(&mut ns, &need(1, 1), &near_db, &[], 2);
    assert_eq!(p.chosen, ["g2-db", "g2-db"]);
    // Anti-affinity to its own group is re-evaluated as tasks land: one per instance.
    let mut ns = nodes(2);
    let alone = [member_of("not(task:group == service:web)")];
    let p = place_with(&mut ns, &need(1, 1), &alone, &[], 3);
    assert_eq!(p.chosen, ["ci-0", "ci-1"]);
    assert!(
        p.reason
            .unwrap()
            .ends_with("encountered error \"MemberOf placement constraint unsatisfied.\".")
    );
    // agentConnected and instanceId.
    let mut ns = nodes(3);
    ns[0].agent_connected = false;
    let c = [member_of("agentConnected == true and instanceId != ci-1")];
    let p = place_with(&mut ns, &need(1, 1), &c, &[], 1);
    assert_eq!(p.chosen, ["ci-2"]);
}

#[test]
fn reasons_name_the_closest_miss_in_ecs_words() {
    let reason = |ns: &mut Vec<Node>, n: &Need, c: &[Constraint]| {
        place_with(ns, n, c, &[], 1).reason.unwrap()
    };
    assert_eq!(
        reason(&mut vec![], &need(1, 1), &[]),
        "no container instance met all of its requirements. Reason: No Container Instances were found in your cluster."
    );
    // Short of memory on both: the one with more memory left is the closest.
    let mut ns = vec![
        node("ci-a", 4096, 100, &[]),
        node("ci-b", 4096, 300, &[]),
        node("ci-c", 10, 8192, &[]),
    ];
    assert_eq!(
        reason(&mut ns, &need(512, 512), &[]),
        "no container instance met all of its requirements. The closest matching (container-instance ci-b) has insufficient memory available."
    );
    let mut ns = vec![node("ci-a", 10, 8192, &[]), node("ci-b", 20, 8192, &[])];
    assert_eq!(
        reason(&mut ns, &need(512, 512), &[]),
        "no container instance met all of its requirements. The closest matching (container-instance ci-b) has insufficient CPU units available."
    );
    let mut ns = vec![node("ci-a", 4096, 8192, &[])];
    ns[0].ports = tcp(&[8080]);
    let mut n = need(1, 1);
    n.ports = tcp(&[8080]);
    assert_eq!(
        reason(&mut ns, &n, &[]),
        "no container instance met all of its requirements. The closest matching (container-instance ci-a) is already using a port required by your task."
    );
    // A draining instance is further than one short of memory.
    let mut ns = vec![node("ci-a", 4096, 8192, &[]), node("ci-b", 4096, 10, &[])];
    ns[0].schedulable = Err("is DRAINING".into());
    assert!(
        reason(&mut ns, &need(1, 512), &[])
            .ends_with("(container-instance ci-b) has insufficient memory available.")
    );
    ns[1].schedulable = Err("encountered error \"AGENT\".".into());
    assert_eq!(
        reason(&mut ns, &need(1, 512), &[]),
        "no container instance met all of its requirements. The closest matching (container-instance ci-a) is DRAINING."
    );
    // A memberOf miss is closer than a resource miss.
    let mut ns = vec![node("ci-a", 1, 1, &[]), node("ci-b", 4096, 8192, &[])];
    let c = [member_of("attribute:gpu exists")];
    assert!(
        reason(&mut ns, &need(2, 2), &c)
            .contains("(container-instance ci-b) encountered error \"MemberOf")
    );
}

#[test]
fn a_partial_placement_says_why_the_rest_did_not_fit() {
    let mut ns = vec![node("ci-a", 4096, 1000, &[]), node("ci-b", 4096, 600, &[])];
    let p = place_with(&mut ns, &need(1, 400), &[], &[], 5);
    assert_eq!(p.chosen, ["ci-a", "ci-b", "ci-a"]);
    assert_eq!(
        p.reason.as_deref(),
        Some(
            "no container instance met all of its requirements. The closest matching (container-instance ci-a) has insufficient memory available."
        )
    );
    assert_eq!((ns[0].used_memory, ns[1].used_memory), (800, 400));
    // Nothing asked, nothing said.
    let p = place_with(&mut ns, &need(1, 1), &[], &[], 0);
    assert_eq!(
        p,
        Placement {
            chosen: vec![],
            reason: None
        }
    );
}

#[test]
fn constraints_come_from_the_task_definition_and_the_service() {
    let td: Vec<TaskPlacementConstraint> = serde_json::from_value(json!([
        {"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}
    ]))
    .unwrap();
    let svc: Vec<PlacementConstraint> = serde_json::from_value(json!([
        {"type": "distinctInstance"},
        {"type": "memberOf", "expression": "attribute:zone in [a, b]"}
    ]))
    .unwrap();
    assert_eq!(
        constraints(&td, &svc).unwrap(),
        vec![
            member_of("attribute:ecs.os-type == linux"),
            Constraint::DistinctInstance,
            member_of("attribute:zone in [a, b]"),
        ]
    );
    let bad: Vec<PlacementConstraint> = serde_json::from_value(json!([
        {"type": "distinctInstance"},
        {"type": "memberOf", "expression": "attribute:zone in a"}
    ]))
    .unwrap();
    assert_eq!(
        constraints(&[], &bad).unwrap_err().to_string(),
        "placementConstraints[1].expression: expected a list of values in [ ], found \"a\" at 18"
    );
    let none: Vec<TaskPlacementConstraint> =
        serde_json::from_value(json!([{"type": "memberOf"}])).unwrap();
    assert_eq!(
        constraints(&none, &[]).unwrap_err().to_string(),
        "taskDefinition.placementConstraints[0]: memberOf needs an expression"
    );
}

#[test]
fn ten_thousand_tasks_over_a_hundred_nodes_is_quick() {
    // The bench measures the optimized build; this only guards against an accidental
    // quadratic (or worse) pass, with room for an unoptimized build on a busy machine.
    let mut ns: Vec<Node> = (0..100)
        .map(|i| {
            let zone = ["a", "b", "c"][i % 3];
            node(&format!("ci-{i}"), 1 << 20, 1 << 22, &[("zone", zone)])
        })
        .collect();
    let s = [
        strategy("spread", Some("attribute:zone")),
        strategy("binpack", Some("memory")),
    ];
    let c = [member_of("attribute:zone != d")];
    let t = std::time::Instant::now();
    let p = place_with(&mut ns, &need(16, 64), &c, &s, 10_000);
    assert_eq!(p.chosen.len(), 10_000);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
}
