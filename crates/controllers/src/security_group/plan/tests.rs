use super::*;
use runtime::{Direction, Packet};
use serde_json::json;

fn groups(v: serde_json::Value) -> BTreeMap<String, SecurityGroupSpec> {
    serde_json::from_value(v).unwrap()
}

fn member(task: &str, last: u8, groups: &[&str]) -> Member {
    Member {
        task: task.to_string(),
        address: Ipv4Addr::new(10, 0, 0, last),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

const GATEWAY: [Ipv4Addr; 1] = [Ipv4Addr::new(10, 0, 0, 1)];

fn names(g: &[&str]) -> Vec<String> {
    g.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_group_named_in_a_rule_lets_its_members_in_on_that_port_only() {
    let mut g = groups(json!({
        "api": {"ingress": [{"protocol": "tcp", "fromPort": 80, "toPort": 80,
                             "source": {"securityGroup": "web"}}]},
        "web": {},
        "other": {}
    }));
    let members = [
        member("w", 2, &["web"]),
        member("a", 3, &["api"]),
        member("o", 4, &["other"]),
    ];
    let inp = Inputs {
        groups: &g,
        members: &members,
        trusted: &GATEWAY,
    };
    let api = filter_for(&names(&["api"]), &inp);
    assert!(api.allows(Direction::In, ip(2), Packet::Tcp(80)));
    assert!(!api.allows(Direction::In, ip(2), Packet::Tcp(81)));
    assert!(!api.allows(Direction::In, ip(2), Packet::Udp(80)));
    assert!(!api.allows(Direction::In, ip(4), Packet::Tcp(80)));
    // The host's side (load balancer, health checks) always comes in.
    assert!(api.allows(Direction::In, ip(1), Packet::Tcp(8080)));
    // No egress list: everything goes out.
    let web = filter_for(&names(&["web"]), &inp);
    assert!(web.allows(Direction::Out, ip(3), Packet::Tcp(80)));
    assert!(!web.allows(Direction::In, ip(3), Packet::Tcp(80)));

    // Allowing `other` too changes api's filter, and only api's.
    g.get_mut("api").unwrap().ingress.push(
        serde_json::from_value(json!({"protocol": "tcp", "fromPort": 80, "toPort": 80,
                                      "source": {"securityGroup": "other"}}))
        .unwrap(),
    );
    let inp = Inputs {
        groups: &g,
        members: &members,
        trusted: &GATEWAY,
    };
    let api2 = filter_for(&names(&["api"]), &inp);
    assert!(api2.allows(Direction::In, ip(4), Packet::Tcp(80)));
    assert_ne!(api, api2);
    assert_eq!(web, filter_for(&names(&["web"]), &inp));
}

#[test]
fn the_default_group_lets_its_members_reach_one_another_and_no_one_else() {
    let g = BTreeMap::new();
    let members = [
        member("a", 2, &["default"]),
        member("b", 3, &["default"]),
        member("w", 4, &["web"]),
    ];
    let inp = Inputs {
        groups: &g,
        members: &members,
        trusted: &GATEWAY,
    };
    let a = filter_for(&names(&["default"]), &inp);
    assert!(a.allows(Direction::In, ip(3), Packet::Udp(53)));
    assert!(a.allows(Direction::In, ip(3), Packet::Icmp(8, 0)));
    assert!(!a.allows(Direction::In, ip(4), Packet::Tcp(80)));
    assert!(a.allows(Direction::Out, Ipv4Addr::new(1, 1, 1, 1), Packet::Tcp(443)));
    assert!(!must_enforce(&names(&["default"]), &inp));
    assert!(must_enforce(&names(&["default", "web"]), &inp));
    // A `default` someone wrote is enforced, with its own rules.
    let g = groups(json!({"default": {"egress": []}}));
    let inp = Inputs {
        groups: &g,
        members: &members,
        trusted: &GATEWAY,
    };
    assert!(must_enforce(&names(&["default"]), &inp));
    let a = filter_for(&names(&["default"]), &inp);
    assert!(!a.allows(Direction::In, ip(3), Packet::Tcp(80)));
    assert!(!a.allows(Direction::Out, ip(3), Packet::Tcp(80)));
    assert!(a.allows(Direction::Out, ip(1), Packet::Tcp(80)));
}

#[test]
fn rules_of_every_group_of_a_task_add_up_and_an_unknown_group_adds_nothing() {
    let g = groups(json!({
        "a": {"ingress": [{"protocol": "udp", "fromPort": 53, "toPort": 53, "source": {"cidr": "10.0.0.0/24"}}],
              "egress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "destination": {"cidr": "0.0.0.0/0"}}]},
        "b": {"ingress": [{"protocol": "icmp", "fromPort": 8, "toPort": -1, "source": {"cidr": "10.0.0.9"}}],
              "egress": []}
    }));
    let inp = Inputs {
        groups: &g,
        members: &[],
        trusted: &[],
    };
    let f = filter_for(&names(&["a", "b", "nope"]), &inp);
    assert!(f.allows(Direction::In, ip(7), Packet::Udp(53)));
    assert!(f.allows(Direction::In, ip(9), Packet::Icmp(8, 0)));
    assert!(!f.allows(Direction::In, ip(9), Packet::Icmp(0, 0)));
    assert!(f.allows(Direction::Out, ip(7), Packet::Tcp(443)));
    assert!(!f.allows(Direction::Out, ip(7), Packet::Tcp(80)));
    let nothing = filter_for(&names(&["nope"]), &inp);
    assert_eq!(nothing, PacketFilter::default());
    assert!(must_enforce(&names(&["nope"]), &inp));
}

#[test]
fn the_plan_does_not_depend_on_the_order_things_are_listed_in() {
    let g = groups(json!({
        "api": {"ingress": [
            {"protocol": "tcp", "fromPort": 80, "toPort": 80, "source": {"securityGroup": "web"}},
            {"protocol": "tcp", "fromPort": 80, "toPort": 80, "source": {"securityGroup": "web"}},
            {"protocol": "all", "source": {"cidr": "192.168.0.0/16"}}]}
    }));
    let mut members: Vec<Member> = (2..40)
        .map(|i| member(&format!("t{i}"), i, &["web"]))
        .collect();
    let trusted = [ip(1), ip(1)];
    let planned = |m: &[Member]| {
        filter_for(
            &names(&["api", "web"]),
            &Inputs {
                groups: &g,
                members: m,
                trusted: &trusted,
            },
        )
    };
    let first = planned(&members);
    members.reverse();
    assert_eq!(first, planned(&members));
    assert_eq!(first.trusted, vec![ip(1)]);
    // 38 web members once each (the duplicate rule adds nothing), and the block.
    assert_eq!(first.ingress.len(), 39);
}
