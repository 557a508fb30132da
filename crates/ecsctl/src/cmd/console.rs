//! `ecsctl console`: starts the web console (crate::console) on a local port and prints
//! the URL that opens it.

use crate::client::Client;
use crate::console::{self, auth};
use crate::error::usage;
use anyhow::{Context, Result};
use std::net::SocketAddr;

/// Open a web console of the server (overview, services, live updates) in a browser
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl console                          # prints http://127.0.0.1:PORT/?token=... to open
  ecsctl console --listen 127.0.0.1:8080 --open
  ecsctl console --server tcp://10.0.0.5:7070 --token-file ~/.ecsctl/token

The printed URL holds a one-time token: visiting it gives the browser a session cookie,
and every request without that cookie is refused. Stop the console with Ctrl-C.")]
pub struct Args {
    /// Address to listen on (port 0: a free one); other than loopback, the console is
    /// reachable from the network (still behind its token)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Open the URL with xdg-open
    #[arg(long)]
    pub open: bool,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let addr: SocketAddr = args.listen.parse().map_err(|_| {
        usage(format!(
            "--listen {:?}: expected HOST:PORT with an IP address, e.g. 127.0.0.1:8080",
            args.listen
        ))
    })?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: --listen {addr} is not a loopback address: the console can be reached from the network (plain HTTP; only the one-time token guards it)"
        );
    }
    // A console of a server that is not there would only show errors: say so at once.
    client.get::<api::wire::Health>("/v1/health").await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let token = auth::random_secret();
    let url = format!("http://{bound}/?token={token}");
    outln!("ecsctl console: open {url}");
    eprintln!("The URL works once. Stop the console with Ctrl-C.");
    if args.open {
        open(&url);
    }
    console::serve(client, listener, token).await
}

/// Runs `xdg-open URL` when there is one.
fn open(url: &str) {
    match std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => eprintln!("Opened the URL with xdg-open."),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("--open: xdg-open is not installed; open the URL above in a browser")
        }
        Err(e) => eprintln!("--open: xdg-open failed: {e}; open the URL above in a browser"),
    }
}
