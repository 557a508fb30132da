//! Properties of `place` against a slow reference written from the rules alone: every task
//! lands on an instance that could take it at that moment, first in the strategies' order;
//! the bookkeeping matches; and when `place` gives up, nothing could take another task.

use super::super::*;
use super::{WEB, strategy, tcp};
use proptest::prelude::*;

const EXPRESSIONS: &[&str] = &[
    "attribute:zone != c",
    "attribute:stack == prod or attribute:stack not_exists",
    "not(task:group == service:web)",
    "task:group == service:db",
    "agentConnected == true",
    "attribute:zone in [a, b]",
    "attribute:zone =~ *",
];

fn arb_node(i: usize) -> impl Strategy<Value = Node> {
    (
        (0u64..4096, 0u64..4096),
        (0u64..=100, 0u64..=100),
        prop::sample::subsequence(vec![80u16, 443, 8080], 0..=3),
        prop::option::of(prop::sample::select(vec!["a", "b", "c"])),
        prop::option::of(prop::sample::select(vec!["prod", "dev"])),
        (0u32..3, 0u32..2),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.9),
    )
        .prop_map(
            move |((cpu, memory), (cpu_pct, mem_pct), ports, zone, stack, (web, db), ok, agent)| {
                let mut n = Node::new(format!("ci-{i}"), cpu, memory);
                n.used_cpu = cpu * cpu_pct / 100;
                n.used_memory = memory * mem_pct / 100;
                n.ports = tcp(&ports);
                if let Some(z) = zone {
                    n.attributes.insert("zone".into(), z.into());
                }
                if let Some(s) = stack {
                    n.attributes.insert("stack".into(), s.into());
                }
                for (g, c) in [(WEB, web), ("service:db", db)] {
                    if c > 0 {
                        n.groups.insert(g.into(), c);
                    }
                }
                n.tasks = web + db;
                if !ok {
                    n.schedulable = Err("is DRAINING".into());
                }
                n.agent_connected = agent;
                n
            },
        )
}

fn arb_nodes() -> impl Strategy<Value = Vec<Node>> {
    (0usize..8).prop_flat_map(|n| (0..n).map(arb_node).collect::<Vec<_>>())
}

fn arb_need() -> impl Strategy<Value = Need> {
    (
        0u64..1024,
        0u64..1024,
        prop::sample::subsequence(vec![80u16, 8080], 0..=2),
    )
        .prop_map(|(cpu, memory, ports)| Need {
            cpu,
            memory,
            ports: tcp(&ports),
        })
}

fn arb_constraints() -> impl Strategy<Value = Vec<Constraint>> {
    (
        any::<bool>(),
        prop::sample::subsequence(EXPRESSIONS.to_vec(), 0..=2),
    )
        .prop_map(|(distinct, exprs)| {
            let mut c: Vec<Constraint> = exprs
                .into_iter()
                .map(|e| Constraint::MemberOf(Expr::parse(e).unwrap()))
                .collect();
            if distinct {
                c.push(Constraint::DistinctInstance);
            }
            c
        })
}

fn arb_strategies() -> impl Strategy<Value = Vec<PlacementStrategy>> {
    let one = prop::sample::select(vec![
        ("binpack", Some("cpu")),
        ("binpack", Some("memory")),
        ("spread", Some("instanceId")),
        ("spread", Some("attribute:zone")),
        ("spread", Some("attribute:stack")),
        ("random", None),
    ]);
    prop::collection::vec(one, 0..=3)
        .prop_map(|v| v.into_iter().map(|(t, f)| strategy(t, f)).collect())
}

/// Whether `n` can take one more task of `WEB` now, straight from the rules.
fn fits(n: &Node, need: &Need, constraints: &[Constraint]) -> bool {
    struct F<'a>(&'a Node);
    impl InstanceFacts for F<'_> {
        fn id(&self) -> &str {
            &self.0.id
        }
        fn attribute(&self, name: &str) -> Option<&str> {
            self.0.attributes.get(name).map(String::as_str)
        }
        fn runs_group(&self, group: &str) -> bool {
            self.0.group_count(group) > 0
        }
        fn agent_connected(&self) -> bool {
            self.0.agent_connected
        }
    }
    n.schedulable.is_ok()
        && n.used_cpu + need.cpu <= n.cpu
        && n.used_memory + need.memory <= n.memory
        && need.ports.iter().all(|p| !n.ports.contains(p))
        && constraints.iter().all(|c| match c {
            Constraint::DistinctInstance => n.group_count(WEB) == 0,
            Constraint::MemberOf(e) => e.matches(&F(n)),
        })
}

/// The strategies' scores of node `i` (lower first), None if one is random.
fn scores(nodes: &[Node], i: usize, strategies: &[PlacementStrategy]) -> Option<Vec<u64>> {
    let default = [
        strategy("spread", Some("attribute:ecs.availability-zone")),
        strategy("spread", Some("instanceId")),
    ];
    let list = if strategies.is_empty() {
        &default[..]
    } else {
        strategies
    };
    let n = &nodes[i];
    list.iter()
        .map(|s| match (s.strategy_type, s.field.as_deref()) {
            (PlacementStrategyType::Binpack, Some("cpu")) => Some(n.cpu - n.used_cpu),
            (PlacementStrategyType::Binpack, Some("memory")) => Some(n.memory - n.used_memory),
            (PlacementStrategyType::Spread, Some("instanceId")) => {
                Some(u64::from(n.group_count(WEB)))
            }
            (PlacementStrategyType::Spread, Some(f)) => {
                let a = f.strip_prefix("attribute:").unwrap();
                let value = n.attributes.get(a);
                let same = nodes.iter().filter(|m| m.attributes.get(a) == value);
                Some(same.map(|m| u64::from(m.group_count(WEB))).sum())
            }
            _ => None,
        })
        .collect()
}

fn xorshift(mut s: u64) -> impl FnMut() -> u64 {
    s |= 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

use api::service::PlacementStrategyType;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn placements_follow_the_rules(
        start in arb_nodes(),
        need in arb_need(),
        constraints in arb_constraints(),
        strategies in arb_strategies(),
        count in 0u32..25,
        seed: u64,
    ) {
        let mut nodes = start.clone();
        let ask = Ask { need: &need, group: WEB, constraints: &constraints, strategies: &strategies, count };
        let p = place(&mut nodes, &ask, &mut xorshift(seed));

        prop_assert!(p.chosen.len() <= count as usize);
        prop_assert_eq!(p.reason.is_some(), p.chosen.len() < count as usize);
        if let Some(r) = &p.reason {
            prop_assert!(r.starts_with(UNABLE), "{}", r);
        }

        // Replay on the starting nodes with the reference rules.
        let mut replay = start.clone();
        for id in &p.chosen {
            let i = replay.iter().position(|n| &n.id == id).unwrap();
            prop_assert!(fits(&replay[i], &need, &constraints), "{} could not take the task", id);
            if let Some(mine) = scores(&replay, i, &strategies) {
                for (j, other) in replay.iter().enumerate() {
                    if fits(other, &need, &constraints) {
                        let theirs = scores(&replay, j, &strategies).unwrap();
                        prop_assert!(mine < theirs || (mine == theirs && i <= j),
                            "{} chosen over {} ({:?} vs {:?})", id, other.id, mine, theirs);
                    }
                }
            }
            let n = &mut replay[i];
            n.used_cpu += need.cpu;
            n.used_memory += need.memory;
            n.ports.extend(need.ports.iter().copied());
            *n.groups.entry(WEB.into()).or_default() += 1;
            n.tasks += 1;
        }
        prop_assert_eq!(&replay, &nodes);

        // The invariants the brief names, on the final state.
        for (before, after) in start.iter().zip(&nodes) {
            let placed = after.group_count(WEB) - before.group_count(WEB);
            prop_assert!(after.used_cpu <= after.cpu && after.used_memory <= after.memory);
            if placed > 0 && !need.ports.is_empty() {
                prop_assert_eq!(placed, 1);
                prop_assert!(need.ports.is_disjoint(&before.ports));
            }
            if placed > 0 && constraints.contains(&Constraint::DistinctInstance) {
                prop_assert_eq!((before.group_count(WEB), placed), (0, 1));
            }
            if placed > 0 {
                prop_assert!(before.schedulable.is_ok());
            }
        }

        // Giving up means nothing fits any more.
        if p.reason.is_some() {
            prop_assert!(nodes.iter().all(|n| !fits(n, &need, &constraints)));
        }
    }

    #[test]
    fn spread_keeps_instances_within_one_task(
        n in 1usize..10,
        others in prop::collection::vec(0u32..5, 10),
        count in 0u32..60,
        default in any::<bool>(),
    ) {
        let mut nodes: Vec<Node> = (0..n).map(|i| {
            let mut node = Node::new(format!("ci-{i}"), 1 << 20, 1 << 20);
            node.groups.insert("service:db".into(), others[i]);
            node
        }).collect();
        let spread = [strategy("spread", Some("instanceId"))];
        let strategies: &[PlacementStrategy] = if default { &[] } else { &spread };
        let need = Need { cpu: 100, memory: 100, ports: Default::default() };
        let ask = Ask { need: &need, group: WEB, constraints: &[], strategies, count };
        let p = place(&mut nodes, &ask, &mut || unreachable!());
        prop_assert_eq!(p.chosen.len(), count as usize);
        let counts: Vec<u32> = nodes.iter().map(|n| n.group_count(WEB)).collect();
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        prop_assert!(hi - lo <= 1, "{:?}", counts);
    }
}
