//! A server with identities: `ecsctl server --tokens FILE` on 127.0.0.1 (a port the OS
//! picked), and the CLI run as each role (`--server tcp://... --token-file F`). The attack
//! tests make their requests through [`RoleServer::run_as`] so that each can be made as a
//! deployer and, where it should pass, as an admin.

use super::{Server, stdout};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

/// Who a CLI command runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    /// `admin` (every cluster).
    Admin,
    /// `deployer` of the clusters given to [`RoleServer::start`].
    Deployer,
    /// `viewer` of the same clusters.
    Viewer,
}

impl As {
    fn file(self) -> &'static str {
        match self {
            As::Admin => "admin.token",
            As::Deployer => "deployer.token",
            As::Viewer => "viewer.token",
        }
    }
}

/// A [`Server`] on TCP whose clients are an admin, a deployer and a viewer.
pub struct RoleServer {
    /// The server (its temp dir, log and container clean-up).
    pub server: Server,
    /// `tcp://127.0.0.1:PORT`.
    pub url: String,
    /// The tokens file (mode 0600), for tests that rewrite it and send SIGHUP.
    pub tokens: PathBuf,
}

/// A fresh random token for `role` (the role in front, for reading logs).
fn token(role: &str) -> String {
    format!("{role}-{}", uuid::Uuid::new_v4().simple())
}

impl RoleServer {
    /// Starts `ecsctl server --listen tcp://127.0.0.1:PORT --tokens FILE EXTRA...` where the
    /// deployer and the viewer act in `clusters` (`shop` or `shop,web`), and waits until it
    /// answers the admin.
    pub fn start(clusters: &str, extra: &[&str]) -> RoleServer {
        super::ensure_image();
        let mut server = Server::offline();
        let admin = token("admin");
        let lines = format!(
            "# written by the test harness\n{admin} admin\n{} deployer {clusters}\n{} viewer {clusters}\n",
            token("deployer"),
            token("viewer")
        );
        let tokens = server.path().join("tokens");
        std::fs::write(&tokens, &lines).expect("write tokens");
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        for line in lines.lines().skip(1) {
            let mut fields = line.split_whitespace();
            let (tok, role) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
            server.write(&format!("{role}.token"), &format!("{tok}\n"));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let tokens_arg = tokens.display().to_string();
        let admin_file = server.path().join(As::Admin.file()).display().to_string();
        let mut args = vec!["--listen", url.as_str(), "--tokens", tokens_arg.as_str()];
        args.extend_from_slice(extra);
        // Every other command of the server's own (`run`, `task`...) is the admin's.
        server.set_client(&url, &admin_file);
        server.serve(&args, &[]);
        RoleServer {
            server,
            url,
            tokens,
        }
    }

    /// `ecsctl ARGS...` as `who`.
    pub fn run_as(&self, who: As, args: &[&str]) -> Output {
        let file = self.server.path().join(who.file()).display().to_string();
        let mut all = vec!["--server", self.url.as_str(), "--token-file", file.as_str()];
        all.extend_from_slice(args);
        self.server.run(&all)
    }

    /// `ecsctl apply -f FILE` of a YAML text as `who` (the output, to judge).
    pub fn apply_as(&self, who: As, name: &str, yaml: &str) -> Output {
        let path = self.server.write(&format!("manifests/{name}.yaml"), yaml);
        self.run_as(who, &["apply", "-f", &path])
    }

    /// `ecsctl get KIND ARGS... -o json` as `who`, parsed (panics when it fails).
    pub fn get_json(&self, who: As, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let o = self.run_as(who, &all);
        super::expect_code(&o, 0);
        serde_json::from_str(&stdout(&o)).expect("get -o json")
    }
}

/// The server under the roles: its files, log and containers, and `run` (and every helper of
/// [`Server`]) as the admin.
impl std::ops::Deref for RoleServer {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}
