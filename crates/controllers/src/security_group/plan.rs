//! The security group planner: a pure function from a cluster's SecurityGroups, the tasks on
//! one network (their groups and addresses) and the host's addresses there to the packet
//! filter each task's namespace must hold. No I/O.
//!
//! EC2's meaning, kept: rules only allow, and a task takes the union of its groups' rules;
//! ingress rules are judged by the receiving task's filter (on the source address), egress
//! rules by the sending task's (on the destination), so traffic between two tasks needs
//! both. A rule naming a group means the addresses of that group's tasks, as they are now.

use api::securitygroup::{DEFAULT_GROUP, Peer, Rule, RuleProtocol, SecurityGroupSpec, parse_cidr};
use runtime::{FilterProtocol, FilterRule, Ipv4Net, PacketFilter};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A task with an address on the network, and the groups it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub task: String,
    pub address: Ipv4Addr,
    pub groups: Vec<String>,
}

/// What every filter of one network is planned from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The cluster's SecurityGroups by name.
    pub groups: &'a BTreeMap<String, SecurityGroupSpec>,
    /// The tasks on the network (with addresses).
    pub members: &'a [Member],
    /// The host's addresses on the network: always allowed.
    pub trusted: &'a [Ipv4Addr],
}

impl Inputs<'_> {
    /// A group's rules: its object's, EC2's default group's for a `default` nobody wrote,
    /// none for a group that does not exist (its tasks take in nothing and send nothing).
    pub fn spec(&self, name: &str) -> Option<Cow<'_, SecurityGroupSpec>> {
        match self.groups.get(name) {
            Some(s) => Some(Cow::Borrowed(s)),
            None if name == DEFAULT_GROUP => Some(Cow::Owned(SecurityGroupSpec::default_group())),
            None => None,
        }
    }

    /// The addresses of a group's tasks, in address order.
    pub fn addresses_of(&self, group: &str) -> Vec<Ipv4Addr> {
        let mut out: Vec<Ipv4Addr> = self
            .members
            .iter()
            .filter(|m| m.groups.iter().any(|g| g == group))
            .map(|m| m.address)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The filter of a task in `groups`: sorted and without duplicates, so that equal plans are
/// equal values (a reload happens only when the plan changed).
pub fn filter_for(groups: &[String], inp: &Inputs<'_>) -> PacketFilter {
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    for name in groups {
        let Some(spec) = inp.spec(name) else { continue };
        for rule in spec.ingress_rules() {
            expand(&rule, inp, &mut ingress);
        }
        match spec.egress_rules() {
            None => egress.push(FilterRule {
                protocol: FilterProtocol::All,
                peer: Ipv4Net::default(),
            }),
            Some(rules) => rules.for_each(|rule| expand(&rule, inp, &mut egress)),
        }
    }
    for rules in [&mut ingress, &mut egress] {
        rules.sort_unstable();
        rules.dedup();
    }
    let mut trusted = inp.trusted.to_vec();
    trusted.sort_unstable();
    trusted.dedup();
    PacketFilter {
        trusted,
        ingress,
        egress,
    }
}

/// Whether a task in `groups` must not run unfiltered: it is in a group someone wrote (or
/// one that does not exist). A task only in the `default` group nobody wrote runs as it
/// always did where filters cannot be loaded (with a warning).
pub fn must_enforce(groups: &[String], inp: &Inputs<'_>) -> bool {
    groups
        .iter()
        .any(|g| g != DEFAULT_GROUP || inp.groups.contains_key(g))
}

/// One rule as kernel rules: one per peer block (a group's members, or the CIDR).
fn expand(rule: &Rule<'_>, inp: &Inputs<'_>, out: &mut Vec<FilterRule>) {
    let protocol = protocol_of(rule);
    for peer in peers(rule.peer, inp) {
        out.push(FilterRule { protocol, peer });
    }
}

fn peers(peer: &Peer, inp: &Inputs<'_>) -> Vec<Ipv4Net> {
    match (&peer.security_group, &peer.cidr) {
        (Some(g), _) => inp.addresses_of(g).into_iter().map(Ipv4Net::from).collect(),
        // Validated at apply; one that is not (an object stored before a rule) allows nothing.
        (None, Some(c)) => parse_cidr(c).into_iter().collect(),
        (None, None) => Vec::new(),
    }
}

fn protocol_of(rule: &Rule<'_>) -> FilterProtocol {
    let port =
        |p: Option<i32>, default: u16| p.and_then(|p| u16::try_from(p).ok()).unwrap_or(default);
    let byte = |p: Option<i32>| p.and_then(|p| u8::try_from(p).ok());
    match rule.protocol {
        RuleProtocol::All => FilterProtocol::All,
        RuleProtocol::Tcp => FilterProtocol::Tcp {
            from: port(rule.from_port, 0),
            to: port(rule.to_port, u16::MAX),
        },
        RuleProtocol::Udp => FilterProtocol::Udp {
            from: port(rule.from_port, 0),
            to: port(rule.to_port, u16::MAX),
        },
        RuleProtocol::Icmp => {
            let icmp_type = byte(rule.from_port);
            FilterProtocol::Icmp {
                icmp_type,
                code: icmp_type.and(byte(rule.to_port)),
            }
        }
    }
}

#[cfg(test)]
mod tests;
