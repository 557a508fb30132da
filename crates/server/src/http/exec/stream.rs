//! The exec stream once the connection is upgraded: the client's frames (stdin, its end,
//! window sizes) go to the command; its output goes back as frames, then its exit code.

use api::wire::exec::{Frame, FrameDecoder, chunks};
use futures::StreamExt;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use runtime::{ContainerRuntime, ExecChunk, ExecSession};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch::Receiver;

/// How an exec ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The command exited with this code.
    Exited(i64),
    /// The session broke off before the command's end was known, in words.
    Broken(String),
}

/// Streams one exec over `conn` until the command ends (or the engine goes away, or the
/// server shuts down), and says how it ended. A client that goes away first ends the
/// command's stdin; the command's output is then read to its end and dropped.
pub(crate) async fn bridge(
    conn: Upgraded,
    session: ExecSession,
    runtime: Arc<dyn ContainerRuntime>,
    stdin: bool,
    mut shutdown: Receiver<bool>,
) -> Outcome {
    let (rd, mut wr) = tokio::io::split(TokioIo::new(conn));
    let ExecSession {
        id,
        input,
        mut output,
    } = session;
    let pump = tokio::spawn(client_frames(rd, input, runtime.clone(), id.clone(), stdin));
    let mut client_gone = false;
    let mut broken = None;
    loop {
        let chunk = tokio::select! {
            // Also fires if the sender is gone, which only happens at shutdown.
            _ = shutdown.wait_for(|stopping| *stopping) => {
                broken = Some("the ecsctl server is shutting down".to_string());
                break;
            }
            chunk = output.next() => chunk,
        };
        let (frame_of, data): (fn(Vec<u8>) -> Frame, _) = match chunk {
            None => break,
            Some(Ok(ExecChunk::Stdout(b))) => (Frame::Stdout, b),
            Some(Ok(ExecChunk::Stderr(b))) => (Frame::Stderr, b),
            Some(Err(e)) => {
                broken = Some(format!("the container engine: {e}"));
                break;
            }
        };
        if !client_gone {
            for part in chunks(&data) {
                if send(&mut wr, &frame_of(part.to_vec())).await.is_err() {
                    client_gone = true;
                    break;
                }
            }
        }
    }
    let outcome = match broken {
        Some(why) => Outcome::Broken(why),
        None => match runtime.exec_exit_code(&id).await {
            Ok(Some(code)) => Outcome::Exited(code),
            Ok(None) => Outcome::Broken("the command's output ended while it still runs".into()),
            Err(e) => Outcome::Broken(format!("the container engine: {e}")),
        },
    };
    let last = match &outcome {
        Outcome::Exited(code) => Frame::Exit(*code),
        Outcome::Broken(why) => Frame::Error(why.clone()),
    };
    if !client_gone {
        let _ = send(&mut wr, &last).await;
        let _ = wr.shutdown().await;
    }
    pump.abort();
    outcome
}

async fn send<W: AsyncWrite + Unpin>(wr: &mut W, frame: &Frame) -> std::io::Result<()> {
    wr.write_all(&frame.encode()).await?;
    wr.flush().await
}

/// Reads the client's frames until it closes its side: stdin bytes (when the command's
/// stdin is attached), the end of stdin, window sizes. The command's stdin ends with the
/// client's side too. A broken frame ends the reading (the output still flows).
async fn client_frames<R>(
    mut rd: R,
    mut input: std::pin::Pin<Box<dyn AsyncWrite + Send>>,
    runtime: Arc<dyn ContainerRuntime>,
    exec_id: String,
    stdin: bool,
) where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut stdin_open = stdin;
    'read: loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        decoder.extend(&buf[..n]);
        loop {
            match decoder.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Stdin(data))) if stdin_open => {
                    if input.write_all(&data).await.is_err() {
                        // The command closed its stdin: what follows has nowhere to go.
                        stdin_open = false;
                    }
                }
                Ok(Some(Frame::StdinEnd)) if stdin_open => {
                    let _ = input.shutdown().await;
                    stdin_open = false;
                }
                Ok(Some(Frame::Resize(size))) => {
                    if let Err(e) = runtime.exec_resize(&exec_id, size.cols, size.rows).await {
                        tracing::debug!(exec = %exec_id, error = %e, "resize refused");
                    }
                }
                // Stdin after its end, and frames only the server sends: nothing to do.
                Ok(Some(_)) => {}
                Err(e) => {
                    tracing::debug!(exec = %exec_id, error = %e, "broken exec stream from the client");
                    break 'read;
                }
            }
        }
    }
    if stdin_open {
        let _ = input.shutdown().await;
    }
}
