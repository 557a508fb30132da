//! `ecsctl agent`: adds a host to a cluster, as ECS's container agent does.

use crate::GlobalArgs;
use crate::agent::AgentConfig;
use crate::client::{Client, default_data_dir};
use crate::error::usage;
use anyhow::Result;
use controllers::instance::InstanceIdentity;
use controllers::placement::Capacity;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Run a container instance on this host: the tasks the server places on it, on its Docker engine
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl agent --server https://10.0.0.1:7443 --token-file agent.token --ca-file server.pem \\
      --cluster shop --address 10.0.0.2
  ecsctl agent --server tcp://127.0.0.1:7070 --token-file agent.token \\
      --docker-host unix:///run/docker-b.sock --data-dir /var/lib/ecsctl-agent-b \\
      --capacity cpu=2048,memory=4096 --attribute stack=prod --attribute ecs.availability-zone=b
  ecsctl agent --server https://10.0.0.1:7443,https://10.0.0.3:7443,https://10.0.0.4:7443 \\
      --token-file agent.token --ca-file ca.pem --cluster shop --address 10.0.0.2

The agent registers a container instance in --cluster (which must exist) and keeps its id in
--data-dir, so that a restarted agent is the same instance. Its token (a line `TOKEN agent
CLUSTER` of the server's --tokens file) lets it read what its tasks need and report only its
own instance and the tasks placed on it. It heartbeats every --heartbeat-interval; the server
marks an instance whose agent is silent for its --instance-timeout disconnected, stops its
tasks and lets services replace them elsewhere. When the agent comes back, it removes the
containers of those tasks. SIGINT or SIGTERM stops the agent; its tasks keep running and are
adopted when it starts again.
Tasks' host ports are reached at --address (what load balancers on the server connect to).

--server may list several servers of one control plane, comma-separated: the agent talks to
the one it reached last. When that one cannot be reached (refused, timed out, reset before
answering), it retries the request at the next in order, and so on through the list; its
watch resumes there from the last change it saw, and its log says which server it moved to.
When none can be reached, the agent does not exit: its tasks keep running as they are,
nothing is stopped or removed, and it keeps retrying (heartbeats at their interval, the rest
with pauses that grow up to a minute) until a server answers again; if that takes longer than the server's
--instance-timeout, the server treats the instance as lost, as for a silent agent.")]
pub struct Args {
    /// The cluster the instance joins
    #[arg(long, default_value = api::DEFAULT_CLUSTER)]
    pub cluster: String,
    /// The Docker engine to run tasks on [default: DOCKER_HOST, else the default socket]
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,
    /// The address at which this host's task ports are reached
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub address: std::net::IpAddr,
    /// What the instance offers tasks, if not the whole machine: `cpu=UNITS,memory=MIB`
    #[arg(long, value_name = "cpu=UNITS,memory=MIB", value_parser = parse_capacity)]
    pub capacity: Option<Capacity>,
    /// An attribute for placement constraints (`memberOf(attribute:K == V)`); repeatable
    #[arg(long = "attribute", value_name = "K=V", value_parser = parse_attribute)]
    pub attributes: Vec<(String, String)>,
    /// Where the instance id is kept [default: DATA_DIR/agent]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// How often the instance reports to the server
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::parse_duration)]
    pub heartbeat_interval: Duration,
}

/// Runs the agent in the foreground.
pub fn run(global: &GlobalArgs, args: Args) -> Result<()> {
    if global.server.is_empty() {
        return Err(usage(
            "ecsctl agent needs --server URL[,URL...] (the ecsctl servers of the control plane it joins) and --token-file FILE (a token of role agent)",
        ));
    }
    let client = Client::from_args(
        &global.server,
        global.token_file.as_deref(),
        global.ca_file.as_deref(),
    )?;
    api::names::check_ecs_name(&args.cluster)
        .map_err(|e| usage(format!("--cluster {:?}: {e}", args.cluster)))?;
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => default_data_dir()?.join("agent"),
    };
    super::server::init_logs();
    let identity = InstanceIdentity {
        // Read from the data directory when the agent starts.
        id: String::new(),
        cluster: args.cluster,
        address: args.address.to_string(),
        capacity: args.capacity,
        attributes: args.attributes.into_iter().collect::<BTreeMap<_, _>>(),
        any_cluster: false,
        ..InstanceIdentity::this_machine("")
    };
    crate::agent::run(AgentConfig {
        client,
        identity,
        docker_host: args.docker_host,
        data_dir,
        heartbeat: args.heartbeat_interval,
    })
}

/// `cpu=2048,memory=4096` (either may be left out: the machine's then).
fn parse_capacity(s: &str) -> Result<Capacity, String> {
    let machine = Capacity::local();
    let mut c = machine;
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: expected cpu=UNITS or memory=MIB"))?;
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| format!("{part:?}: {v:?} is not a whole number"))?;
        match k.trim() {
            "cpu" => c.cpu = n,
            "memory" => c.memory = n,
            other => return Err(format!("{other:?}: expected cpu or memory")),
        }
    }
    Ok(c)
}

/// `K=V`; ECS's own attribute names (`ecs.os-type`, ...) are the agent's to report.
fn parse_attribute(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected KEY=VALUE"))?;
    let reserved = [
        api::instance::attributes::OS_TYPE,
        api::instance::attributes::CPU_ARCHITECTURE,
        api::instance::attributes::INSTANCE_ID,
    ];
    if k.is_empty() || reserved.contains(&k) {
        return Err(format!(
            "{k:?}: give a name of your own ({} are reported by the agent)",
            reserved.join(", ")
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_and_attributes() {
        let c = parse_capacity("cpu=2048,memory=4096").unwrap();
        assert_eq!((c.cpu, c.memory), (2048, 4096));
        assert_eq!(parse_capacity("memory=512").unwrap().memory, 512);
        assert!(parse_capacity("disk=1").is_err());
        assert!(parse_capacity("cpu=lots").is_err());
        assert_eq!(
            parse_attribute("stack=prod").unwrap(),
            ("stack".to_string(), "prod".to_string())
        );
        assert!(parse_attribute("ecs.os-type=linux").is_err());
        assert!(parse_attribute("novalue").is_err());
    }
}
