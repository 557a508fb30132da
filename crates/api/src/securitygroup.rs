//! SecurityGroup: which traffic may reach an awsvpc task and leave it, as EC2's security
//! groups say it. Rules only allow: a task takes in what one of its groups' ingress rules
//! allows, and sends out what one of their egress rules allows (all, when a group has no
//! `egress` list). A rule's peer is a CIDR block or another group, meaning the addresses of
//! that group's tasks.
//!
//! Tasks join groups through their service's (or run-task's)
//! `networkConfiguration.awsvpcConfiguration.securityGroups`; an awsvpc task that names none
//! is in the cluster's `default` group ([`DEFAULT_GROUP`]), which, as EC2's default group,
//! lets its members reach one another and sends anywhere until a SecurityGroup named
//! `default` says otherwise.

use crate::units::RulePort;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The group of an awsvpc task that names none.
pub const DEFAULT_GROUP: &str = "default";
/// Most groups one task may be in (ECS's limit for awsvpcConfiguration.securityGroups).
pub const MAX_GROUPS_PER_TASK: usize = 5;
/// Most rules in each direction of one group (EC2's default quota).
pub const MAX_RULES: usize = 60;

/// Spec of a SecurityGroup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecurityGroupSpec {
    /// Free text, as EC2's group description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,
    /// What may come in. None: nothing comes in (but replies to what went out, loopback and
    /// the host's side of the cluster network, which are always allowed).
    #[serde(default)]
    #[schemars(length(max = 60))]
    pub ingress: Vec<IngressRule>,
    /// What may go out. Absent: everything (EC2's default egress rule); `[]`: nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 60))]
    pub egress: Option<Vec<EgressRule>>,
}

/// A rule of `ingress`: traffic from `source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressRule {
    pub protocol: RuleProtocol,
    /// tcp and udp: the first port of the range (0..65535); icmp: the ICMP type (-1: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<RulePort>,
    /// tcp and udp: the last port of the range; icmp: the ICMP code (-1: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<RulePort>,
    pub source: Peer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,
}

/// A rule of `egress`: traffic to `destination`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressRule {
    pub protocol: RuleProtocol,
    /// As in ingress rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<RulePort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<RulePort>,
    pub destination: Peer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,
}

/// The other end of a rule: exactly one of a group (its tasks' addresses) or a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct Peer {
    /// A SecurityGroup of the same cluster (its name, or an `sg-...` id used as a name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group: Option<String>,
    /// An IPv4 block (`10.0.0.0/8`, `0.0.0.0/0`; a plain address means /32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
}

crate::state::wire_enum! {
    /// What a rule matches: tcp or udp ports, icmp types, or every protocol.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
    pub enum RuleProtocol {
        Tcp = "tcp",
        Udp = "udp",
        Icmp = "icmp",
        #[serde(alias = "-1")]
        All = "all",
    }
}

/// One rule, whichever its direction: what the planner and describe read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule<'a> {
    pub protocol: RuleProtocol,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub peer: &'a Peer,
}

impl SecurityGroupSpec {
    /// EC2's default group: its members reach one another on everything, and send anywhere.
    pub fn default_group() -> Self {
        SecurityGroupSpec {
            description: Some("default group: members reach one another".to_string()),
            ingress: vec![IngressRule {
                protocol: RuleProtocol::All,
                from_port: None,
                to_port: None,
                source: Peer::group(DEFAULT_GROUP),
                description: None,
            }],
            egress: None,
        }
    }

    /// The ingress rules, direction-free.
    pub fn ingress_rules(&self) -> impl Iterator<Item = Rule<'_>> {
        self.ingress.iter().map(|r| Rule {
            protocol: r.protocol,
            from_port: r.from_port.map(RulePort::get),
            to_port: r.to_port.map(RulePort::get),
            peer: &r.source,
        })
    }

    /// The egress rules, direction-free; None when the group sends anywhere (no list).
    pub fn egress_rules(&self) -> Option<impl Iterator<Item = Rule<'_>>> {
        self.egress.as_ref().map(|rules| {
            rules.iter().map(|r| Rule {
                protocol: r.protocol,
                from_port: r.from_port.map(RulePort::get),
                to_port: r.to_port.map(RulePort::get),
                peer: &r.destination,
            })
        })
    }
}

impl Peer {
    /// A peer naming a group.
    pub fn group(name: &str) -> Self {
        Peer {
            security_group: Some(name.to_string()),
            cidr: None,
        }
    }

    /// A peer naming a CIDR block.
    pub fn cidr(block: &str) -> Self {
        Peer {
            security_group: None,
            cidr: Some(block.to_string()),
        }
    }
}

impl std::fmt::Display for Rule<'_> {
    /// `tcp 80 from web`, `tcp 8000-8100 from 10.0.0.0/8`, `all`, `icmp type 8`: the words
    /// describe uses (the direction word is the caller's).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.protocol.as_str())?;
        match (self.protocol, self.from_port, self.to_port) {
            (RuleProtocol::Tcp | RuleProtocol::Udp, Some(a), Some(b)) if a == b => {
                write!(f, " {a}")?
            }
            (RuleProtocol::Tcp | RuleProtocol::Udp, Some(a), Some(b)) => write!(f, " {a}-{b}")?,
            (RuleProtocol::Icmp, Some(t), c) if t >= 0 => {
                write!(f, " type {t}")?;
                if let Some(c) = c.filter(|c| *c >= 0) {
                    write!(f, " code {c}")?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.security_group, &self.cidr) {
            (Some(g), _) => write!(f, "group {g}"),
            (None, Some(c)) => f.write_str(c),
            (None, None) => f.write_str("nothing"),
        }
    }
}

/// The IPv4 block a `cidr` names (`10.1.2.3` means `10.1.2.3/32`), or why it names none.
pub fn parse_cidr(s: &str) -> Result<ipnet::Ipv4Net, String> {
    let net = if s.contains('/') {
        s.parse::<ipnet::Ipv4Net>().ok()
    } else {
        s.parse::<std::net::Ipv4Addr>()
            .ok()
            .map(ipnet::Ipv4Net::from)
    };
    let Some(net) = net else {
        return Err(if s.contains(':') {
            format!(
                "{s:?} is an IPv6 block: task addresses are IPv4, so rules take IPv4 blocks (10.0.0.0/8)"
            )
        } else {
            format!("{s:?} is not an IPv4 CIDR block (10.0.0.0/8, 192.168.1.7/32, 0.0.0.0/0)")
        });
    };
    if net.trunc() != net {
        return Err(format!(
            "{s:?} has bits set beyond its /{} prefix: did you mean {}?",
            net.prefix_len(),
            net.trunc()
        ));
    }
    Ok(net)
}

/// The groups a task's network configuration names (none: the cluster's `default` group),
/// for an awsvpc task.
pub fn task_groups(network: Option<&crate::service::NetworkConfiguration>) -> Vec<String> {
    let named: Vec<String> = network
        .map(|n| n.awsvpc_configuration.security_groups.clone())
        .unwrap_or_default();
    if named.is_empty() {
        vec![DEFAULT_GROUP.to_string()]
    } else {
        named
    }
}

/// At most [`MAX_GROUPS_PER_TASK`] groups in a Service's or Task's network configuration.
pub(crate) fn check_task_groups(
    network: Option<&crate::service::NetworkConfiguration>,
    r: &mut crate::validate::Report,
) {
    let n = network.map_or(0, |n| n.awsvpc_configuration.security_groups.len());
    if n > MAX_GROUPS_PER_TASK {
        r.error(
            "spec.networkConfiguration.awsvpcConfiguration.securityGroups",
            format!("{n} groups; a task is in at most {MAX_GROUPS_PER_TASK}"),
        );
    }
}

/// The EC2 rules of a SecurityGroup spec that the types alone cannot say.
pub(crate) fn check(spec: &SecurityGroupSpec, r: &mut crate::validate::Report) {
    for (i, rule) in spec.ingress_rules().enumerate() {
        check_rule(&rule, &format!("spec.ingress[{i}]"), "source", r);
    }
    if let Some(rules) = spec.egress_rules() {
        for (i, rule) in rules.enumerate() {
            check_rule(&rule, &format!("spec.egress[{i}]"), "destination", r);
        }
    }
    if spec.ingress.len() > MAX_RULES {
        r.error(
            "spec.ingress",
            format!(
                "{} rules; a group holds at most {MAX_RULES} in each direction",
                spec.ingress.len()
            ),
        );
    }
    if let Some(e) = &spec.egress
        && e.len() > MAX_RULES
    {
        r.error(
            "spec.egress",
            format!(
                "{} rules; a group holds at most {MAX_RULES} in each direction",
                e.len()
            ),
        );
    }
}

fn check_rule(rule: &Rule<'_>, at: &str, peer_field: &str, r: &mut crate::validate::Report) {
    match (&rule.peer.security_group, &rule.peer.cidr) {
        (Some(_), Some(_)) | (None, None) => r.error(
            format!("{at}.{peer_field}"),
            "a rule names exactly one of securityGroup or cidr",
        ),
        (Some(g), None) => {
            if let Err(e) = crate::names::check_ecs_name(g) {
                r.error(format!("{at}.{peer_field}.securityGroup"), e);
            }
        }
        (None, Some(c)) => {
            if let Err(e) = parse_cidr(c) {
                r.error(format!("{at}.{peer_field}.cidr"), e);
            }
        }
    }
    let (from, to) = (rule.from_port, rule.to_port);
    match rule.protocol {
        RuleProtocol::Tcp | RuleProtocol::Udp => {
            let p = rule.protocol.as_str();
            for (field, v) in [("fromPort", from), ("toPort", to)] {
                match v {
                    None => r.error(
                        format!("{at}.{field}"),
                        format!("{p} rules need fromPort and toPort (80 and 80 for one port, 0 and 65535 for all)"),
                    ),
                    Some(-1) => r.error(
                        format!("{at}.{field}"),
                        format!("{p} ports are 0..65535 (-1 is for icmp and all)"),
                    ),
                    Some(_) => {}
                }
            }
            if let (Some(a), Some(b)) = (from, to)
                && a > b
            {
                r.error(
                    format!("{at}.toPort"),
                    format!("toPort {b} is below fromPort {a}"),
                );
            }
        }
        RuleProtocol::Icmp => {
            for (field, v, what) in [("fromPort", from, "type"), ("toPort", to, "code")] {
                if let Some(v) = v
                    && v > 255
                {
                    r.error(
                        format!("{at}.{field}"),
                        format!(
                            "icmp rules take the ICMP {what} here: -1 (any) or 0..255, got {v}"
                        ),
                    );
                }
            }
            if from.is_none_or(|t| t < 0) && to.is_some_and(|c| c >= 0) {
                r.error(
                    format!("{at}.toPort"),
                    "an ICMP code needs an ICMP type (fromPort)",
                );
            }
        }
        RuleProtocol::All => {
            for (field, v) in [("fromPort", from), ("toPort", to)] {
                if v.is_some_and(|v| v != -1) {
                    r.error(
                        format!("{at}.{field}"),
                        "protocol all matches every port: leave the ports out (or -1)",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert_eq!(parse_cidr("0.0.0.0/0").unwrap().prefix_len(), 0);
        assert!(parse_cidr("10.0.0.1/8").unwrap_err().contains("10.0.0.0/8"));
        assert!(parse_cidr("fd00::/8").unwrap_err().contains("IPv6"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("web").is_err());
    }

    #[test]
    fn groups_of_a_task() {
        assert_eq!(task_groups(None), vec!["default"]);
        let n: crate::service::NetworkConfiguration = serde_json::from_value(
            serde_json::json!({"awsvpcConfiguration": {"securityGroups": ["web", "sg-1"]}}),
        )
        .unwrap();
        assert_eq!(task_groups(Some(&n)), vec!["web", "sg-1"]);
    }

    #[test]
    fn rules_read_as_words() {
        let g = Peer::group("web");
        let rule = |p, a, b| Rule {
            protocol: p,
            from_port: a,
            to_port: b,
            peer: &g,
        };
        assert_eq!(
            rule(RuleProtocol::Tcp, Some(80), Some(80)).to_string(),
            "tcp 80"
        );
        assert_eq!(
            rule(RuleProtocol::Udp, Some(8000), Some(8100)).to_string(),
            "udp 8000-8100"
        );
        assert_eq!(rule(RuleProtocol::All, None, None).to_string(), "all");
        assert_eq!(
            rule(RuleProtocol::Icmp, Some(8), Some(-1)).to_string(),
            "icmp type 8"
        );
        assert_eq!(g.to_string(), "group web");
    }
}
