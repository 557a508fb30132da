//! `ecsctl server`: runs the API server and the controllers until SIGINT or SIGTERM.

use crate::GlobalArgs;
use crate::client::{ServerAddr, default_data_dir, read_token};
use crate::error::usage;
use anyhow::{Context, Result};
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// Run the ecsctl server (API, store and controllers) in the foreground
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl server                                    # socket DATA_DIR/ecsctl.sock
  ecsctl server --data-dir /var/lib/ecsctl
  ecsctl server --listen tcp://127.0.0.1:7070 --token-file ~/.ecsctl-token
  ecsctl server --listen https://0.0.0.0:7443 --token-file ~/.ecsctl-token \\
      --tls-cert server.pem --tls-key server-key.pem   # clients: --server https://HOST:7443 --ca-file server.pem
  RUST_LOG=debug ecsctl server                     # more logs (stderr)
  ecsctl server --dev                              # short waits for local iteration (see below)
  ecsctl server --watch ./deploy                   # keep the store in sync with a directory
  ecsctl server --sync-root /srv/deploy            # `ecsctl sync` may sync below /srv/deploy
  ecsctl server --secret-files-dir /etc/ecsctl/secrets --secret-env-prefix APP_
  ecsctl server --listen tcp://127.0.0.1:7070 --tokens /etc/ecsctl/tokens   # identities with roles
  ecsctl server --aws-api tcp://127.0.0.1:4566     # ECS's own API too (see ecsctl aws-env)
  ecsctl server --store etcd://10.0.0.5:2379,10.0.0.6:2379,10.0.0.7:2379 \
      --listen https://0.0.0.0:7443 --tokens /etc/ecsctl/tokens --tls-cert s.pem --tls-key k.pem
                                                   # one of several servers sharing etcd

The data directory is --data-dir, else $ECSCTL_HOME, else ~/.local/share/ecsctl.
TCP needs a bearer token (--token-file, whose bearer is an admin) or identities (--tokens);
without either only the unix socket is served. Beyond a loopback address it also needs TLS
(--tls-cert, --tls-key: PEM files), so that the token never crosses a network in clear text.
Secrets read only what the operator allows: fromFile paths inside --secret-files-dir
(DATA_DIR/secrets by default), fromEnv variables starting with --secret-env-prefix (none by
default), since the server reads them as its own user for whoever may apply a Secret.
`ecsctl sync DIR` syncs only the watched directories and those below --sync-root (none by
default), since the server reads what it syncs as its own user.
Every listener closes a connection that sends no request headers within 10 s and holds at most
256 connections at once (more wait until one closes).
--tokens FILE (mode 0600, or the server refuses it) gives each TCP client an identity, one line
each, `TOKEN ROLE [CLUSTER[,CLUSTER...]|*]`; blank lines and # comments are skipped:
  # token (16+ printable characters)   role      clusters
  3f9c1d0e6b2a47f8a1c5d9e0b7f4a2c6     admin
  9a8b7c6d5e4f30211203f4e5d6c7b8a9     deployer  shop,shop-staging
  0f1e2d3c4b5a69788796a5b4c3d2e1f0     viewer    *
Roles: admin (everything); deployer (task definitions, and services, tasks, autoscalers, load
balancers, secrets and task logs in its clusters; never clusters or `ecsctl sync`); viewer
(reads in its clusters, no logs, never a secret's value); agent (reads task definitions, and
services and tasks in its clusters). Every role but admin must name its clusters (* for all).
Clients need nothing new: they send their own token with --token-file. A refused request is
HTTP 403 naming the role and the rule. SIGHUP reads the file again (a bad file keeps the
identities in use, and the log says why). The unix socket's clients are admins.
An agent silent for --instance-timeout (30s by default) loses its container instance: the
instance shows agentConnected false and takes no tasks, its tasks are STOPPED and services
start them again elsewhere; when the agent comes back it removes their containers and its
instance takes tasks again. The server's own instance is never lost this way.
--store etcd://HOST:PORT[,HOST:PORT...] keeps the state in etcd instead of DATA_DIR/store, so
that several servers (on several machines) share it: every server serves the whole API, and
the one elected through etcd runs the controllers, the load balancers and the --watch syncs
(`ecsctl status` says which). When the leader dies a standby takes over within --leader-lease
(10s by default); a leader that loses etcd stops acting before another can start, and its
controllers' writes are refused once another leads. Start etcd with --max-txn-ops 10000
--max-request-bytes 10485760 (ecsctl writes one apply as one transaction) and with
--auto-compaction-retention; over TLS give --etcd-ca (and --etcd-cert/--etcd-key when etcd
asks for client certificates). Agents and clients take every server: --server URL,URL.
SIGINT or SIGTERM stops the server gracefully (a leader hands over at once); running containers stay and are adopted when it
starts again. A service whose tasks keep failing to start waits up to --task-start-backoff-cap
between attempts: ECS's 27 minutes by default, 30 seconds with --dev.")]
pub struct Args {
    /// Where the store and the socket live [default: $ECSCTL_HOME or ~/.local/share/ecsctl]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `unix:PATH`, `tcp://HOST:PORT` or `https://HOST:PORT` [default: unix:DATA_DIR/ecsctl.sock]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Serve TCP over TLS with this PEM certificate chain (with --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Longest wait between task starts of a service whose tasks keep failing [default: 27m, as ECS]
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub task_start_backoff_cap: Option<std::time::Duration>,
    /// Fast-dev settings: --task-start-backoff-cap 30s unless given
    #[arg(long)]
    pub dev: bool,
    /// Run no tasks on this machine: a control plane for `ecsctl agent`s only (no container
    /// instance of its own)
    #[arg(long)]
    pub no_local_agent: bool,
    /// Stopped tasks kept per cluster, with their exit codes and reasons [default: 100]
    #[arg(long, value_name = "N")]
    pub keep_stopped_tasks: Option<usize>,
    /// How often task CPU/memory and request rates are recorded (`ecsctl top`, autoscaling) [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub metrics_interval: Option<std::time::Duration>,
    /// A directory of manifests to keep the store in sync with (GitOps; repeatable): synced
    /// before the controllers start, then on every change, with pruning of what it owned
    #[arg(long = "watch", value_name = "DIR")]
    pub watch: Vec<PathBuf>,
    /// `ecsctl sync DIR` may sync directories at or below this one (repeatable), besides the
    /// watched ones [default: none: only the watched directories]
    #[arg(long = "sync-root", value_name = "DIR")]
    pub sync_root: Vec<PathBuf>,
    /// With --watch: never delete objects whose documents left the directory
    #[arg(long)]
    pub no_prune: bool,
    /// The only directory whose files `fromFile` Secrets may name (symlinks resolved)
    /// [default: DATA_DIR/secrets]
    #[arg(long, value_name = "DIR")]
    pub secret_files_dir: Option<PathBuf>,
    /// `fromEnv` Secrets may read only the server's variables whose names start with this
    /// [default: none may be read]
    #[arg(long, value_name = "PREFIX")]
    pub secret_env_prefix: Option<String>,
    /// Identities of TCP clients: lines `TOKEN ROLE [CLUSTER[,CLUSTER...]|*]` (mode 0600;
    /// reread on SIGHUP; see below)
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// With --watch: how often the directories are re-applied without a change (drift repair)
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration, default_value = "5m")]
    pub resync_interval: std::time::Duration,
    /// The most objects one apply (or one sync of a directory) may carry [default: 1000]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_objects_per_apply: Option<u32>,
    /// Older task definition revisions kept per family, besides the latest and those a
    /// Service or Task uses; the rest are deleted [default: 10]
    #[arg(long, value_name = "N")]
    pub keep_revisions: Option<usize>,
    /// Serve ECS's own API (AWS CLI, boto3, SDKs) here too: `tcp://HOST:PORT` (loopback
    /// only) or `https://HOST:PORT` (with --tls-cert/--tls-key); requests must be SigV4-signed
    #[arg(long, value_name = "ADDR")]
    pub aws_api: Option<String>,
    /// The access keys the ECS API accepts, in the AWS shared-credentials format (optional
    /// `ecsctl_role`/`ecsctl_clusters` per profile), read again on SIGHUP [default: a key
    /// made in DATA_DIR/aws-credentials; `ecsctl aws-env` prints it]
    #[arg(long, value_name = "FILE", requires = "aws_api")]
    pub aws_credentials: Option<PathBuf>,
    /// An AWS shared-credentials file whose profiles Roles may name (`spec: {profile: NAME}`):
    /// their keys reach the tasks whose taskRoleArn names such a Role. Not the
    /// --aws-credentials file (those keys open ecsctl's own API) [default: no Role takes a
    /// profile]
    #[arg(long, value_name = "FILE")]
    pub role_profiles: Option<PathBuf>,
    /// How long an agent may go without a heartbeat before its container instance is lost:
    /// marked agentConnected false, its tasks STOPPED (stopCode TerminationNotice) and
    /// replaced on live instances; a returning agent removes their containers. Keep it a few
    /// times the agents' --heartbeat-interval (10s by default)
    #[arg(long, value_name = "DURATION", value_parser = instance_timeout, default_value = "30s")]
    pub instance_timeout: std::time::Duration,
    /// Where the state is kept: `sled` (DATA_DIR/store, one server) or
    /// `etcd://HOST:PORT[,HOST:PORT...]` (shared by several servers; see below)
    #[arg(long, value_name = "STORE", default_value = "sled")]
    pub store: String,
    /// With an etcd store: the prefix of every key, so that several installations can
    /// share one etcd
    #[arg(long, value_name = "PREFIX", default_value = store::DEFAULT_PREFIX)]
    pub store_prefix: String,
    /// With an etcd store: the CA certificates (PEM) that sign etcd's (speaks TLS to etcd)
    #[arg(long, value_name = "FILE")]
    pub etcd_ca: Option<PathBuf>,
    /// With an etcd store: a client certificate (PEM) for etcd's --client-cert-auth
    #[arg(long, value_name = "FILE", requires = "etcd_key")]
    pub etcd_cert: Option<PathBuf>,
    /// The private key (PEM) of --etcd-cert
    #[arg(long, value_name = "FILE", requires = "etcd_cert")]
    pub etcd_key: Option<PathBuf>,
    /// With an etcd store: the leader's lease, the longest the control plane goes without a
    /// leader once it dies (whole seconds)
    #[arg(long, value_name = "DURATION", value_parser = leader_lease, default_value = "10s")]
    pub leader_lease: std::time::Duration,
    /// The account id in the ECS API's ARNs
    #[arg(
        long,
        value_name = "ID",
        requires = "aws_api",
        default_value = "000000000000"
    )]
    pub aws_account_id: String,
}

/// `--instance-timeout`: a duration of a second or more (shorter, every agent would be lost
/// between two heartbeats).
fn instance_timeout(s: &str) -> Result<std::time::Duration, String> {
    let d = super::parse_duration(s)?;
    if d < std::time::Duration::from_secs(1) {
        return Err(format!(
            "{s:?} is too short: agents report every 10s by default; give 1s or more"
        ));
    }
    Ok(d)
}

/// `--leader-lease`: whole seconds, 2 or more (etcd's leases count in seconds, and a lease of
/// one second would be lost between two keep-alives on a busy machine).
fn leader_lease(s: &str) -> Result<std::time::Duration, String> {
    let d = super::parse_duration(s)?;
    if d < std::time::Duration::from_secs(2) || d.subsec_nanos() != 0 {
        return Err(format!("{s:?}: give whole seconds, 2s or more"));
    }
    Ok(d)
}

/// `--store` and its companions: `None` for sled.
fn etcd_options(args: &Args) -> Result<Option<store::EtcdOptions>> {
    let etcd_flags = args.etcd_ca.is_some() || args.etcd_cert.is_some();
    if args.store == "sled" {
        if etcd_flags || args.store_prefix != store::DEFAULT_PREFIX {
            return Err(usage(
                "--store-prefix, --etcd-ca, --etcd-cert and --etcd-key apply to an etcd store (--store etcd://HOST:PORT)",
            ));
        }
        return Ok(None);
    }
    if !args.store.starts_with("etcd://") {
        return Err(usage(format!(
            "--store {:?}: expected sled or etcd://HOST:PORT[,HOST:PORT...]",
            args.store
        )));
    }
    let mut options =
        store::EtcdOptions::from_url(&args.store).map_err(|e| usage(e.to_string()))?;
    if !args.store_prefix.starts_with('/') {
        return Err(usage(format!(
            "--store-prefix {:?}: a prefix starts with /",
            args.store_prefix
        )));
    }
    options.prefix = args.store_prefix.clone();
    options.tls = store::EtcdTls {
        ca: args.etcd_ca.clone(),
        cert: args.etcd_cert.clone(),
        key: args.etcd_key.clone(),
    };
    options.tls.check().map_err(|e| usage(e.to_string()))?;
    Ok(Some(options))
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<()> {
    let etcd = etcd_options(&args)?;
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let listen = match args.listen.as_deref() {
        Some(l) => ServerAddr::parse(l)?,
        None => ServerAddr::Unix(data_dir.join("ecsctl.sock")),
    };
    let token = match (&listen, global.token_file.as_deref()) {
        (ServerAddr::Tcp(_) | ServerAddr::Https(_), None) if args.tokens.is_none() => {
            return Err(usage(format!(
                "{listen} needs bearer tokens: pass --tokens FILE or --token-file FILE (no token, no TCP)"
            )));
        }
        (ServerAddr::Tcp(_) | ServerAddr::Https(_), None) => None,
        (ServerAddr::Tcp(_) | ServerAddr::Https(_), Some(f)) => Some(read_token(f)?),
        (ServerAddr::Unix(_), _) => None,
    };
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(server::TlsFiles { cert, key }),
        _ => None,
    };
    match (&listen, &tls) {
        (ServerAddr::Https(_), None) => {
            return Err(usage(format!(
                "{listen} needs --tls-cert FILE and --tls-key FILE"
            )));
        }
        (ServerAddr::Unix(_), Some(_))
            if !args
                .aws_api
                .as_deref()
                .is_some_and(|a| a.starts_with("https://")) =>
        {
            return Err(usage(
                "--tls-cert and --tls-key apply to a TCP listener (--listen https://HOST:PORT)",
            ));
        }
        _ => {}
    }

    init_logs();

    let aws_api = match args.aws_api.as_deref() {
        None => None,
        Some(a) => Some(aws_api(a, &tls, args.aws_credentials, args.aws_account_id)?),
    };
    let tls = tls.filter(|_| !matches!(listen, ServerAddr::Unix(_)));
    let listen = match listen {
        ServerAddr::Unix(path) => server::Listen::Unix(path),
        ServerAddr::Tcp(addr) | ServerAddr::Https(addr) => server::Listen::Tcp {
            addr: resolve(&addr)?,
            token: token.unwrap_or_default(),
            tls,
        },
    };
    let mut watch = Vec::with_capacity(args.watch.len());
    for dir in &args.watch {
        let canon = std::fs::canonicalize(dir).map_err(|e| {
            usage(format!(
                "--watch {}: {}",
                dir.display(),
                crate::error::io_reason(&e)
            ))
        })?;
        if !canon.is_dir() {
            return Err(usage(format!("--watch {}: not a directory", dir.display())));
        }
        watch.push(canon);
    }
    let secret_files_dir = match &args.secret_files_dir {
        Some(dir) => Some(std::fs::canonicalize(dir).map_err(|e| {
            usage(format!(
                "--secret-files-dir {}: {}",
                dir.display(),
                crate::error::io_reason(&e)
            ))
        })?),
        None => None,
    };
    let dev_cap = args.dev.then_some(std::time::Duration::from_secs(30));
    let config = server::ServerConfig {
        data_dir,
        listen,
        runtime: Some(std::sync::Arc::new(runtime::DockerRuntime::new())),
        secret_files_dir,
        secret_env_prefix: args.secret_env_prefix,
        service_backoff_cap: args.task_start_backoff_cap.or(dev_cap),
        keep_stopped_tasks: args.keep_stopped_tasks,
        metrics_interval: args.metrics_interval,
        watch,
        tokens: args.tokens,
        sync: gitops::SyncOptions {
            resync: args.resync_interval,
            prune: !args.no_prune,
            ..Default::default()
        },
        max_objects_per_apply: args.max_objects_per_apply.map(|n| n as usize),
        keep_revisions: args.keep_revisions,
        connections: server::ConnectionLimits::default(),
        sync_roots: args.sync_root,
        aws_api,
        heartbeat_interval: None,
        local_agent: !args.no_local_agent,
        instance_timeout: Some(args.instance_timeout),
        store: None,
        etcd,
        leader_lease: Some(args.leader_lease),
        role_profiles: args.role_profiles,
        task_endpoint: true,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let shutdown = shutdown_signal().context("cannot install signal handlers")?;
        server::run(config, shutdown).await.map_err(|e| match e {
            // A configuration the server refuses is a usage error (exit 2), as in the CLI.
            server::ServerError::Config(m) => usage(m),
            e => anyhow::Error::from(e),
        })
    })
}

/// `--aws-api ADDR` with the TLS files it needs beyond loopback.
fn aws_api(
    addr: &str,
    tls: &Option<server::TlsFiles>,
    credentials: Option<PathBuf>,
    account_id: String,
) -> Result<server::AwsApi> {
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(usage(format!(
            "--aws-account-id {account_id:?}: an AWS account id is 12 digits"
        )));
    }
    let (addr, tls) = match ServerAddr::parse(addr)? {
        ServerAddr::Tcp(a) => (resolve(&a)?, None),
        ServerAddr::Https(a) => match tls {
            Some(t) => (resolve(&a)?, Some(t.clone())),
            None => {
                return Err(usage(format!(
                    "--aws-api {addr} needs --tls-cert FILE and --tls-key FILE"
                )));
            }
        },
        ServerAddr::Unix(_) => {
            return Err(usage(format!(
                "--aws-api {addr}: expected tcp://HOST:PORT or https://HOST:PORT"
            )));
        }
    };
    let mut aws = server::AwsApi::new(addr);
    aws.tls = tls;
    aws.credentials = credentials;
    aws.account_id = account_id;
    Ok(aws)
}

/// `host:port` to the address to bind.
fn resolve(addr: &str) -> Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()
        .map_err(|e| {
            usage(format!(
                "cannot resolve {addr}: {}",
                crate::error::io_reason(&e)
            ))
        })?
        .next()
        .ok_or_else(|| usage(format!("{addr} resolves to no address")))
}

/// Logs to stderr, at info unless RUST_LOG says otherwise (the server's and the agent's).
pub(crate) fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// A future that completes on the first SIGINT or SIGTERM.
pub(crate) fn shutdown_signal()
-> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    })
}
