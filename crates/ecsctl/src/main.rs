//! `ecsctl`: the one binary. A kubectl-like client for the ecsctl server, the server itself
//! (`ecsctl server`), and the offline tools (`validate`, `schema`).
//!
//! Each command lives in its own module under `cmd/` and stays thin: it collects input, calls
//! the server through [`client::Client`] and hands the answer to a printer in `output/`.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

/// `print!` that ends the program quietly when stdout is closed (`ecsctl get td | head -1`)
/// instead of panicking.
macro_rules! out {
    ($($t:tt)*) => { $crate::output::emit(&format!($($t)*)) };
}

/// `println!`, as [`out!`].
macro_rules! outln {
    ($($t:tt)*) => { $crate::output::emit(&format!("{}\n", format_args!($($t)*))) };
}

mod actions;
mod agent;
mod client;
mod cmd;
mod console;
mod error;
mod input;
mod output;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// A local, declarative container orchestrator modeled on Amazon ECS.
#[derive(Debug, Parser)]
#[command(name = "ecsctl", version, max_term_width = 100)]
#[command(after_help = "\
EXAMPLES:
  ecsctl server &                      # start the server (data in ~/.local/share/ecsctl)
  ecsctl apply -f manifests/           # create or update everything in a directory
  ecsctl get services                  # list services of the default cluster
  ecsctl describe service web          # spec, status and recent events of one service
  ecsctl diff -f web.yaml              # what apply would change
  ecsctl run-task --task-definition web --wait   # start a task, wait until it runs
  ecsctl logs 3f2a9c... -f             # follow what its containers print
  ecsctl exec 3f2a9c... -it -- sh      # a shell in its container (enableExecuteCommand)
  ecsctl scale service web --replicas 5   # change a service's desired count
  ecsctl rollout status service/web    # wait for a service's rollout to finish
  ecsctl events -w                     # service events as they happen
  ecsctl top tasks                     # measured CPU% and MEMORY% of each task
  ecsctl sync ./deploy --dry-run       # what syncing a directory would apply and prune
  ecsctl console --open               # the web console: overview, services, live updates

EXIT CODES:
  0  success
  1  the operation failed (for `diff`: differences were found)
  2  usage or input error (bad flags, invalid manifests)")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// How clients find and authenticate to the server.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Server address: `unix:PATH`, a socket path, `tcp://HOST:PORT` or `https://HOST:PORT`. Several servers of one control plane may be given, comma-separated (or by repeating the flag): requests go to the one reached last, and when it cannot be reached (nothing answers), to the next in order [default: DATA_DIR/ecsctl.sock]
    #[arg(
        long,
        global = true,
        env = "ECSCTL_SERVER",
        value_name = "URL[,URL...]"
    )]
    server: Vec<String>,
    /// File holding the bearer token for TCP (the client sends it; `ecsctl server` requires it)
    #[arg(long, global = true, env = "ECSCTL_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// For an https:// server: PEM certificates to trust (its own certificate, or its CA) [default: the system's CA bundle]
    #[arg(long, global = true, env = "ECSCTL_CA_FILE", value_name = "FILE")]
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    Server(Box<cmd::server::Args>),
    Agent(cmd::agent::Args),
    Apply(cmd::apply::Args),
    Get(cmd::get::Args),
    Describe(cmd::describe::Args),
    Delete(cmd::delete::Args),
    Diff(cmd::diff::Args),
    RunTask(cmd::run_task::Args),
    StopTask(cmd::stop_task::Args),
    Logs(cmd::logs::Args),
    Exec(cmd::exec::Args),
    Scale(cmd::scale::Args),
    Rollout(cmd::rollout::Args),
    Events(cmd::events::Args),
    Top(cmd::top::Args),
    Sync(cmd::sync::Args),
    Drain(cmd::drain::DrainArgs),
    Undrain(cmd::drain::UndrainArgs),
    Status(cmd::status::Args),
    Console(cmd::console::Args),
    /// Status of every synced directory (as `ecsctl get syncs`)
    Syncs {
        /// `table` or `json`
        #[arg(short = 'o', long, default_value = "table")]
        output: String,
    },
    Validate(cmd::validate::Args),
    Schema(cmd::schema::Args),
    AwsEnv(cmd::aws_env::Args),
}

fn main() -> ExitCode {
    // A bug must still read as one line, not as a panic message with a backtrace hint.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error (a bug in ecsctl, please report it): {msg}{at}");
    }));
    let cli = Cli::parse();
    let is_diff = matches!(cli.command, Command::Diff(_));
    let result = match cli.command {
        Command::Server(args) => cmd::server::run(&cli.global, *args),
        Command::Agent(args) => cmd::agent::run(&cli.global, args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Schema(args) => cmd::schema::run(args),
        Command::AwsEnv(args) => cmd::aws_env::run(args),
        Command::Apply(args) => client_command(&cli.global, |c| cmd::apply::run(c, args)),
        Command::Get(args) => client_command(&cli.global, |c| cmd::get::run(c, args)),
        Command::Describe(args) => client_command(&cli.global, |c| cmd::describe::run(c, args)),
        Command::Delete(args) => client_command(&cli.global, |c| cmd::delete::run(c, args)),
        Command::Diff(args) => client_command(&cli.global, |c| cmd::diff::run(c, args)),
        Command::RunTask(args) => client_command(&cli.global, |c| cmd::run_task::run(c, args)),
        Command::StopTask(args) => client_command(&cli.global, |c| cmd::stop_task::run(c, args)),
        Command::Logs(args) => client_command(&cli.global, |c| cmd::logs::run(c, args)),
        Command::Exec(args) => client_command(&cli.global, |c| cmd::exec::run(c, args)),
        Command::Scale(args) => client_command(&cli.global, |c| cmd::scale::run(c, args)),
        Command::Rollout(args) => client_command(&cli.global, |c| cmd::rollout::run(c, args)),
        Command::Events(args) => client_command(&cli.global, |c| cmd::events::run(c, args)),
        Command::Top(args) => client_command(&cli.global, |c| cmd::top::run(c, args)),
        Command::Sync(args) => client_command(&cli.global, |c| cmd::sync::run(c, args)),
        Command::Drain(args) => client_command(&cli.global, |c| cmd::drain::drain(c, args)),
        Command::Undrain(args) => client_command(&cli.global, |c| cmd::drain::undrain(c, args)),
        Command::Status(args) => client_command(&cli.global, |c| cmd::status::run(c, args)),
        Command::Console(args) => client_command(&cli.global, |c| cmd::console::run(c, args)),
        Command::Syncs { output } => {
            client_command(&cli.global, |c| cmd::sync::status(c, output == "json"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(error::report(&err, is_diff)),
    }
}

/// Runs a client command on a single-threaded runtime: one request at a time is all a CLI needs.
fn client_command<F, Fut>(global: &GlobalArgs, f: F) -> anyhow::Result<()>
where
    F: FnOnce(client::Client) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let client = client::Client::from_args(
        &global.server,
        global.token_file.as_deref(),
        global.ca_file.as_deref(),
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(f(client))
}
