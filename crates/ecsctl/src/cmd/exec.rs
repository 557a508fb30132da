//! `ecsctl exec TASK [-c CONTAINER] [-i] [-t] -- COMMAND...`: a command in a task's
//! container, its input and output streamed through the server (`api::wire::exec`), exiting
//! with the command's exit code.

use crate::client::{Client, encode};
use crate::error::{Reported, usage};
use anyhow::{Context, Result, bail};
use api::wire::exec::{EXEC_PROTOCOL, ExecRequest, Frame, FrameDecoder, WindowSize, chunks};
use hyper_util::rt::TokioIo;
use std::io::{IsTerminal, Read, Write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Run a command in a task's container
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl exec 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 -- ls /etc
  ecsctl exec 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 -c app -it -- sh      # a shell on a terminal
  echo hi | ecsctl exec -i 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 -- cat
  ecsctl exec 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 -- sh -c 'exit 3'; echo $?   # 3

As in ECS, only tasks started with execute command enabled take commands: a service's
`enableExecuteCommand: true` (in the tasks it starts from then on: `ecsctl rollout restart`),
or `ecsctl run-task --enable-execute-command`. A task with several containers needs -c. Only
admin and deployer tokens of the task's cluster may exec; each exec is an event on the task
(`ecsctl describe task`, `ecsctl events`). ecsctl exits with the command's exit code (126 when
it cannot be run), or 1 when the exec itself fails. With -i -t stdin must be a terminal, which
stays in raw mode until the command ends: Ctrl-D and Ctrl-C go to the command, and its window
size follows the terminal's. To pipe input, use -i alone.")]
pub struct Args {
    /// The task id
    pub task: String,
    /// The container (required when the task has several)
    #[arg(short = 'c', long, value_name = "NAME")]
    pub container: Option<String>,
    /// Pass stdin to the command (until it ends: Ctrl-D on a terminal)
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the command a terminal
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let path = format!(
        "/v1/tasks/{}/exec?cluster={}",
        encode(&args.task),
        encode(args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER))
    );
    // With -i -t the command reads a terminal: what ends its input is Ctrl-D typed there, so
    // the input must be one (as `docker exec -it` asks); a pipe goes with -i alone.
    let raw = args.tty && args.interactive;
    if raw && !std::io::stdin().is_terminal() {
        return Err(usage(
            "the input device is not a TTY: -i -t needs a terminal on stdin; to pipe input, leave out -t",
        ));
    }
    let request = ExecRequest {
        container: args.container.clone(),
        command: args.command.clone(),
        stdin: args.interactive,
        tty: args.tty,
        size: args.tty.then(window_size).flatten(),
    };
    let conn = client.upgrade(&path, &request, EXEC_PROTOCOL).await?;
    let _raw = if raw { Some(RawMode::enter()?) } else { None };
    let (mut rd, mut wr) = tokio::io::split(TokioIo::new(conn));

    let (tx, mut frames) = mpsc::channel::<Frame>(16);
    if args.interactive {
        read_stdin(tx.clone());
    }
    if args.tty {
        follow_window(tx.clone())?;
    }
    drop(tx);
    let writer = tokio::spawn(async move {
        while let Some(f) = frames.recv().await {
            if wr.write_all(&f.encode()).await.is_err() || wr.flush().await.is_err() {
                break;
            }
        }
        // Keep the connection open for the command's output: only its stdin ended.
        std::future::pending::<()>().await;
    });

    let outcome = read_output(&mut rd).await;
    writer.abort();
    drop(_raw);
    match outcome? {
        0 => Ok(()),
        code => Err(Reported(exit_status(code)).into()),
    }
}

/// The process exit status for the command's exit code (the low byte, as a shell sees it).
fn exit_status(code: i64) -> u8 {
    u8::try_from(code.rem_euclid(256)).unwrap_or(1)
}

/// Prints what the command writes until its exit code arrives.
async fn read_output<R: tokio::io::AsyncRead + Unpin>(rd: &mut R) -> Result<i64> {
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        while let Some(frame) = decoder.next_frame()? {
            match frame {
                Frame::Stdout(b) => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&b).and_then(|()| out.flush())?;
                }
                Frame::Stderr(b) => {
                    let mut err = std::io::stderr().lock();
                    err.write_all(&b).and_then(|()| err.flush())?;
                }
                Frame::Exit(code) => return Ok(code),
                Frame::Error(why) => bail!("exec broke off: {why}"),
                // Frames only the client sends.
                Frame::Stdin(_) | Frame::StdinEnd | Frame::Resize(_) => {}
            }
        }
        let n = rd
            .read(&mut buf)
            .await
            .context("reading the exec stream from the ecsctl server")?;
        if n == 0 {
            bail!("the connection to the ecsctl server ended before the command did");
        }
        decoder.extend(&buf[..n]);
    }
}

/// Reads stdin on a thread of its own (a read from a terminal cannot be cancelled, and the
/// process must be able to exit while one waits) and sends it as frames, then its end.
fn read_stdin(tx: mpsc::Sender<Frame>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    for part in chunks(&buf[..n]) {
                        if tx.blocking_send(Frame::Stdin(part.to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        }
        let _ = tx.blocking_send(Frame::StdinEnd);
    });
}

/// Sends the terminal's size each time it changes (SIGWINCH).
fn follow_window(tx: mpsc::Sender<Frame>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut changes = signal(SignalKind::window_change()).context("watching the window size")?;
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            if let Some(size) = window_size()
                && tx.send(Frame::Resize(size)).await.is_err()
            {
                return;
            }
        }
    });
    Ok(())
}

/// The terminal's size, when stdout is one.
fn window_size() -> Option<WindowSize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    crossterm::terminal::size()
        .ok()
        .map(|(cols, rows)| WindowSize { cols, rows })
}

/// The terminal in raw mode (every key goes to the command as it is typed), restored when
/// dropped, on every way out.
struct RawMode;

impl RawMode {
    fn enter() -> Result<Self> {
        crossterm::terminal::enable_raw_mode().context("putting the terminal in raw mode")?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_as_a_shell_sees_them() {
        assert_eq!(exit_status(3), 3);
        assert_eq!(exit_status(126), 126);
        assert_eq!(exit_status(256 + 7), 7);
        assert_eq!(exit_status(-1), 255);
    }

    #[tokio::test]
    async fn output_frames_then_the_exit_code() {
        let mut bytes = Vec::new();
        Frame::Stdout(Vec::new()).encode_into(&mut bytes);
        Frame::Exit(3).encode_into(&mut bytes);
        assert_eq!(read_output(&mut &bytes[..]).await.unwrap(), 3);
        let mut bytes = Vec::new();
        Frame::Error("the container engine: gone".into()).encode_into(&mut bytes);
        let e = read_output(&mut &bytes[..]).await.unwrap_err();
        assert_eq!(e.to_string(), "exec broke off: the container engine: gone");
        let e = read_output(&mut &b""[..]).await.unwrap_err();
        assert!(
            e.to_string().contains("ended before the command did"),
            "{e}"
        );
    }
}
