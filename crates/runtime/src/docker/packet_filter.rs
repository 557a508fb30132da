//! Packet filters in containers' network namespaces, on the local Docker engine: the
//! container's process is found by its pid, its namespace entered with `nsenter`, and the
//! whole `filter` table loaded with one `iptables-restore` (atomic: the kernel swaps the
//! table, so the namespace is never without a filter). Only the `filter` table is touched:
//! Docker keeps its embedded DNS rules in `nat`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

use bollard::query_parameters::InspectNetworkOptions;

use super::DockerRuntime;
use super::errors::Subject;
use crate::error::{Result, RuntimeError};
use crate::types::packet_filter::{FilterProtocol, FilterRule, PacketFilter};
use crate::types::spec::ContainerId;

/// How long one load may take (nsenter + iptables-restore, waiting for the xtables lock).
const LOAD_WITHIN: Duration = Duration::from_secs(20);
/// The chain of ingress rules, jumped to from INPUT.
pub const INGRESS_CHAIN: &str = "ECSCTL-INGRESS";
/// The chain of egress rules, jumped to from OUTPUT.
pub const EGRESS_CHAIN: &str = "ECSCTL-EGRESS";

impl DockerRuntime {
    pub(super) async fn gateway_of(&self, name: &str) -> Result<Option<Ipv4Addr>> {
        let n = self
            .call(Subject::Network(name), Duration::ZERO, |d| async move {
                d.inspect_network(name, None::<InspectNetworkOptions>).await
            })
            .await?;
        Ok(n.ipam
            .and_then(|i| i.config)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.gateway.as_deref())
            .find_map(|g| g.parse().ok()))
    }

    pub(super) async fn load_filter(&self, id: &ContainerId, filter: &PacketFilter) -> Result<()> {
        if let Some(remote) = self.remote_host() {
            return Err(RuntimeError::Unsupported(format!(
                "the engine at {remote} is not on this machine, so its containers' network namespaces cannot be entered from here"
            )));
        }
        let c = self
            .call(
                Subject::Container(id.as_str()),
                Duration::ZERO,
                |d| async move { d.inspect_container(id.as_str(), None).await },
            )
            .await?;
        let pid = c
            .state
            .as_ref()
            .filter(|s| s.running == Some(true))
            .and_then(|s| s.pid)
            .filter(|p| *p > 0)
            .ok_or_else(|| RuntimeError::Conflict(format!("container {id} is not running")))?;
        let netns = namespace_of(pid)?;
        load(&netns, &restore_input(filter)).await
    }

    /// The engine's address when it is not a local socket.
    fn remote_host(&self) -> Option<String> {
        let host = self
            .inner
            .host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok())?;
        (!host.starts_with("unix://") && !host.starts_with('/')).then_some(host)
    }
}

/// `/proc/PID/ns/net`, once it is known to be another namespace than the host's: loading a
/// task's filter into the host's own namespace would replace the host's firewall.
fn namespace_of(pid: i64) -> Result<String> {
    let path = format!("/proc/{pid}/ns/net");
    let theirs = std::fs::read_link(&path).map_err(|e| {
        RuntimeError::Unsupported(format!(
            "cannot see the container's process from here ({path}: {e}): is this process in the engine's pid namespace?"
        ))
    })?;
    for ours in ["/proc/self/ns/net", "/proc/1/ns/net"] {
        if std::fs::read_link(ours).is_ok_and(|o| o == theirs) {
            return Err(RuntimeError::Unsupported(format!(
                "process {pid} shares this host's network namespace; refusing to load a task's filter there"
            )));
        }
    }
    Ok(path)
}

/// Runs `nsenter --net=NETNS iptables-restore` with `input` on its standard input (on a
/// blocking thread: a process and a pipe).
async fn load(netns: &str, input: &str) -> Result<()> {
    let (netns, input) = (netns.to_string(), input.to_string());
    let run = tokio::task::spawn_blocking(move || restore(&netns, &input));
    match tokio::time::timeout(LOAD_WITHIN, run).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(RuntimeError::Other(format!("iptables-restore: {e}"))),
        Err(_) => Err(RuntimeError::Other(
            "iptables-restore took too long".to_string(),
        )),
    }
}

fn restore(netns: &str, input: &str) -> Result<()> {
    let mut child = Command::new("nsenter")
        .arg(format!("--net={netns}"))
        .args(["--", "iptables-restore", "-w", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            RuntimeError::Unsupported(format!(
                "cannot run nsenter ({e}): packet filters need util-linux's nsenter and iptables (scripts/install-iptables.sh)"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // Dropped at the end of this block: iptables-restore sees the end of its input.
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| RuntimeError::Other(format!("iptables-restore: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| RuntimeError::Other(format!("iptables-restore: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said.trim().lines().next().unwrap_or("").to_string();
    // nsenter could not run iptables-restore at all: it is missing.
    if said.contains("iptables-restore") && said.contains("No such file") {
        return Err(RuntimeError::Unsupported(
            "iptables-restore is not installed (Debian's iptables package; scripts/install-iptables.sh)".to_string(),
        ));
    }
    Err(RuntimeError::Other(format!(
        "iptables-restore failed ({}): {said}",
        out.status
    )))
}

/// The `filter` table of one namespace, as `iptables-restore` reads it: every chain drops
/// by default; loopback, replies and the trusted addresses pass; then the rules.
pub fn restore_input(f: &PacketFilter) -> String {
    let mut s =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n");
    let _ = writeln!(s, ":{INGRESS_CHAIN} - [0:0]\n:{EGRESS_CHAIN} - [0:0]");
    for (chain, iface, addr_flag, ours) in [
        ("INPUT", "-i", "-s", INGRESS_CHAIN),
        ("OUTPUT", "-o", "-d", EGRESS_CHAIN),
    ] {
        let _ = writeln!(s, "-A {chain} {iface} lo -j ACCEPT");
        let _ = writeln!(
            s,
            "-A {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
        );
        for t in &f.trusted {
            let _ = writeln!(s, "-A {chain} {addr_flag} {t}/32 -j ACCEPT");
        }
        let _ = writeln!(s, "-A {chain} -j {ours}");
    }
    for (chain, addr_flag, rules) in [
        (INGRESS_CHAIN, "-s", &f.ingress),
        (EGRESS_CHAIN, "-d", &f.egress),
    ] {
        for r in rules {
            let _ = writeln!(
                s,
                "-A {chain} {addr_flag} {}{} -j ACCEPT",
                r.peer,
                matcher(r)
            );
        }
    }
    s.push_str("COMMIT\n");
    s
}

/// What a rule matches besides its peer, with a leading space (nothing for every protocol).
fn matcher(r: &FilterRule) -> String {
    match r.protocol {
        FilterProtocol::All => String::new(),
        FilterProtocol::Tcp { from, to } => format!(" -p tcp -m tcp --dport {}", ports(from, to)),
        FilterProtocol::Udp { from, to } => format!(" -p udp -m udp --dport {}", ports(from, to)),
        FilterProtocol::Icmp {
            icmp_type: None, ..
        } => " -p icmp".to_string(),
        FilterProtocol::Icmp {
            icmp_type: Some(t),
            code: None,
        } => format!(" -p icmp -m icmp --icmp-type {t}"),
        FilterProtocol::Icmp {
            icmp_type: Some(t),
            code: Some(c),
        } => format!(" -p icmp -m icmp --icmp-type {t}/{c}"),
    }
}

fn ports(from: u16, to: u16) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}:{to}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_drops_what_no_rule_allows() {
        let f = PacketFilter {
            trusted: vec![Ipv4Addr::new(172, 20, 0, 1)],
            ingress: vec![
                FilterRule {
                    protocol: FilterProtocol::Tcp { from: 80, to: 80 },
                    peer: "172.20.0.3/32".parse().unwrap(),
                },
                FilterRule {
                    protocol: FilterProtocol::Icmp {
                        icmp_type: Some(8),
                        code: None,
                    },
                    peer: "10.0.0.0/8".parse().unwrap(),
                },
            ],
            egress: vec![FilterRule {
                protocol: FilterProtocol::Udp { from: 53, to: 54 },
                peer: "0.0.0.0/0".parse().unwrap(),
            }],
        };
        let want = "\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
:ECSCTL-INGRESS - [0:0]
:ECSCTL-EGRESS - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -s 172.20.0.1/32 -j ACCEPT
-A INPUT -j ECSCTL-INGRESS
-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A OUTPUT -d 172.20.0.1/32 -j ACCEPT
-A OUTPUT -j ECSCTL-EGRESS
-A ECSCTL-INGRESS -s 172.20.0.3/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A ECSCTL-INGRESS -s 10.0.0.0/8 -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A ECSCTL-EGRESS -d 0.0.0.0/0 -p udp -m udp --dport 53:54 -j ACCEPT
COMMIT
";
        assert_eq!(restore_input(&f), want);
    }
}
