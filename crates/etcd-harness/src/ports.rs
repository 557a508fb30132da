//! Free loopback ports for members.
//!
//! The kernel hands out an unused port for a bind to port 0; the harness keeps every listener
//! open until it has all the ports it needs (so none is handed out twice), then releases them
//! for etcd to bind. Another process can take one in between; the cluster then notices a member
//! that failed to bind and starts over on new ports.

use std::net::{Ipv4Addr, TcpListener};

use crate::HarnessError;

/// `count` distinct ports that were free on 127.0.0.1 a moment ago.
pub(crate) fn free_ports(count: usize) -> Result<Vec<u16>, HarnessError> {
    let listeners = (0..count)
        .map(|_| {
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .map_err(|e| HarnessError::io("bind 127.0.0.1:0 to find a free port", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|listener| {
            listener
                .local_addr()
                .map(|addr| addr.port())
                .map_err(|e| HarnessError::io("read a listener's port", e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ports_are_distinct_and_bindable_once_released() {
        let ports = free_ports(6).unwrap();
        assert_eq!(ports.iter().collect::<HashSet<_>>().len(), 6);
        for port in ports {
            assert_ne!(port, 0);
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        }
    }
}
