//! What a container's network namespace lets through ([`PacketFilter`]): the kernel's side of
//! security groups. Everything not allowed is dropped; loopback, replies to allowed traffic
//! and the `trusted` addresses always pass.

use std::net::Ipv4Addr;

pub use ipnet::Ipv4Net;

/// The whole filter of one network namespace: loading one replaces what was there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PacketFilter {
    /// Always allowed in and out (the host's side of the container's network: the built-in
    /// load balancer, health checks and the agent's endpoints reach tasks from there).
    pub trusted: Vec<Ipv4Addr>,
    /// What may come in, by source.
    pub ingress: Vec<FilterRule>,
    /// What may go out, by destination.
    pub egress: Vec<FilterRule>,
}

/// One allowing rule: a protocol (with ports or ICMP type) to or from a block of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FilterRule {
    pub protocol: FilterProtocol,
    /// The source of an ingress rule, the destination of an egress rule.
    pub peer: Ipv4Net,
}

/// What a rule matches besides the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilterProtocol {
    /// Every protocol.
    All,
    /// TCP destination ports `from..=to`.
    Tcp { from: u16, to: u16 },
    /// UDP destination ports `from..=to`.
    Udp { from: u16, to: u16 },
    /// ICMP of this type (any when None) and code (any when None).
    Icmp {
        icmp_type: Option<u8>,
        code: Option<u8>,
    },
}

/// A packet as [`PacketFilter::allows`] judges it (the first packet of a connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    Tcp(u16),
    Udp(u16),
    Icmp(u8, u8),
}

/// Which way a packet goes, seen from the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From `peer` into the namespace.
    In,
    /// From the namespace to `peer`.
    Out,
}

impl PacketFilter {
    /// Whether the filter lets the first packet of a connection with `peer` through: the
    /// meaning every runtime's filter must have (the fake judges with it; tests of the
    /// planner read it).
    pub fn allows(&self, direction: Direction, peer: Ipv4Addr, packet: Packet) -> bool {
        if peer.is_loopback() || self.trusted.contains(&peer) {
            return true;
        }
        let rules = match direction {
            Direction::In => &self.ingress,
            Direction::Out => &self.egress,
        };
        rules
            .iter()
            .any(|r| r.peer.contains(&peer) && r.protocol.matches(packet))
    }
}

impl FilterProtocol {
    fn matches(self, packet: Packet) -> bool {
        match (self, packet) {
            (FilterProtocol::All, _) => true,
            (FilterProtocol::Tcp { from, to }, Packet::Tcp(p))
            | (FilterProtocol::Udp { from, to }, Packet::Udp(p)) => (from..=to).contains(&p),
            (FilterProtocol::Icmp { icmp_type, code }, Packet::Icmp(t, c)) => {
                icmp_type.is_none_or(|x| x == t) && code.is_none_or(|x| x == c)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_allow_only_what_they_say() {
        let web: Ipv4Net = "10.0.0.2/32".parse().unwrap();
        let f = PacketFilter {
            trusted: vec![Ipv4Addr::new(10, 0, 0, 1)],
            ingress: vec![FilterRule {
                protocol: FilterProtocol::Tcp { from: 80, to: 81 },
                peer: web,
            }],
            egress: vec![FilterRule {
                protocol: FilterProtocol::All,
                peer: "0.0.0.0/0".parse().unwrap(),
            }],
        };
        let other = Ipv4Addr::new(10, 0, 0, 3);
        let web = Ipv4Addr::new(10, 0, 0, 2);
        assert!(f.allows(Direction::In, web, Packet::Tcp(81)));
        assert!(!f.allows(Direction::In, web, Packet::Tcp(82)));
        assert!(!f.allows(Direction::In, web, Packet::Udp(80)));
        assert!(!f.allows(Direction::In, other, Packet::Tcp(80)));
        assert!(f.allows(Direction::In, Ipv4Addr::new(10, 0, 0, 1), Packet::Udp(9)));
        assert!(f.allows(Direction::In, Ipv4Addr::LOCALHOST, Packet::Tcp(1)));
        assert!(f.allows(Direction::Out, other, Packet::Icmp(8, 0)));
        assert!(!PacketFilter::default().allows(Direction::Out, other, Packet::Tcp(80)));
    }
}
