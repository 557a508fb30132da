//! `ecsctl status`: the server's place in the control plane, through `GET /v1/status`.

use crate::client::Client;
use crate::output::{self, Format};
use anyhow::Result;
use api::wire::ServerStatus;

/// Show this server's role (leader or standby), who leads, and the store
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl status
  ecsctl status -o json
  ecsctl --server tcp://10.0.0.2:7070 status     # ask one server of several

With one server on its embedded store (sled) the server always leads. Servers sharing an etcd
store (ecsctl server --store etcd://...) all serve the API; the one elected runs the
controllers, the load balancers and the directory syncs (role leader), the others stand by
(role standby) and one of them takes over within --leader-lease when the leader is gone.")]
pub struct Args {
    /// `table` (the default), `yaml` or `json`
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let status: ServerStatus = client.get("/v1/status").await?;
    match args.output {
        Format::Json => outln!("{}", output::json(&serde_json::to_value(&status)?)?),
        Format::Yaml => out!("{}", output::yaml(&serde_json::to_value(&status)?)?),
        Format::Table | Format::Wide => out!("{}", table(&status)),
    }
    Ok(())
}

/// `KEY: value` lines, as `describe` prints.
fn table(s: &ServerStatus) -> String {
    let leader = match (&s.leader, &s.leader_address) {
        (Some(id), _) if *id == s.id => format!("{id} (this server)"),
        (Some(id), Some(address)) => format!("{id} at {address}"),
        (Some(id), None) => id.clone(),
        (None, _) => "none (an election is under way)".to_string(),
    };
    let mut out = format!(
        "Server:    {}\nRole:      {}\nLeader:    {leader}\n",
        s.id,
        s.role.as_str()
    );
    if let Some(since) = &s.leader_since {
        out.push_str(&format!("Since:     {since}\n"));
    }
    out.push_str(&format!(
        "Store:     {}\nLocation:  {}\nRevision:  {}\n",
        s.store, s.location, s.revision
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::wire::Role;

    #[test]
    fn a_standby_names_the_leader_and_the_store() {
        let s = ServerStatus {
            id: "b-2".into(),
            role: Role::Standby,
            leader: Some("a-1".into()),
            leader_address: Some("tcp://10.0.0.1:7070".into()),
            leader_since: Some("2026-12-05T12:00:00Z".into()),
            store: "etcd://127.0.0.1:2379,127.0.0.1:2381".into(),
            endpoints: vec!["127.0.0.1:2379".into(), "127.0.0.1:2381".into()],
            location: "/ecsctl".into(),
            revision: 42,
        };
        assert_eq!(
            table(&s),
            "Server:    b-2\nRole:      standby\nLeader:    a-1 at tcp://10.0.0.1:7070\nSince:     2026-12-05T12:00:00Z\nStore:     etcd://127.0.0.1:2379,127.0.0.1:2381\nLocation:  /ecsctl\nRevision:  42\n"
        );
    }
}
