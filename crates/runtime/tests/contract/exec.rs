//! Contract: an interactive exec (`ecsctl exec`): stdin in and its end, output out, a
//! terminal when asked, the exit code after the output ends.

use super::*;
use ecsctl_runtime::{ExecChunk, ExecSession, ExecSpec};
use tokio::io::AsyncWriteExt;

fn spec(cmd: &[&str], stdin: bool, tty: bool) -> ExecSpec {
    ExecSpec {
        cmd: cmd.iter().map(|w| (*w).to_owned()).collect(),
        stdin,
        tty,
        size: tty.then_some((100, 30)),
    }
}

/// Writes `input` (then ends stdin), reads the output to its end: (stdout, stderr, exit code).
async fn run(h: &dyn Harness, mut s: ExecSession, input: &[u8]) -> (String, String, Option<i64>) {
    if !input.is_empty() {
        s.input.write_all(input).await.expect("stdin");
    }
    s.input.shutdown().await.expect("end of stdin");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let read = async {
        while let Some(chunk) = s.output.next().await {
            match chunk.expect("output") {
                ExecChunk::Stdout(b) => out.extend_from_slice(&b),
                ExecChunk::Stderr(b) => err.extend_from_slice(&b),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the output ends within 10 s");
    let code = h.rt().exec_exit_code(&s.id).await.expect("exit code");
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
        code,
    )
}

pub async fn interactive_exec_streams_and_exits(h: &dyn Harness) {
    let spec_c = sh(h, "iexec", IDLE);
    h.program(&spec_c.name, idle());
    let id = h.rt().create(&spec_c).await.expect("create");
    let early = h
        .rt()
        .exec_attach(&id, &spec(&["true"], false, false))
        .await;
    assert!(matches!(early, Err(RuntimeError::Conflict(_))), "{early:?}");
    h.rt().start(&id).await.expect("start");

    let s = h
        .rt()
        .exec_attach(&id, &spec(&["cat"], true, false))
        .await
        .expect("cat");
    assert_eq!(
        run(h, s, b"hello\n").await,
        ("hello\n".into(), String::new(), Some(0))
    );

    let s = h
        .rt()
        .exec_attach(&id, &spec(&["sh", "-c", "exit 3"], false, false))
        .await
        .expect("exit 3");
    assert_eq!(run(h, s, b"").await.2, Some(3));

    let s = h
        .rt()
        .exec_attach(&id, &spec(&["tty"], false, true))
        .await
        .expect("tty");
    let (out, _, code) = run(h, s, b"").await;
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    assert_eq!(code, Some(0));
    // A terminal is resized while its command runs; Ctrl-D at a line's start ends `cat`.
    let s = h
        .rt()
        .exec_attach(&id, &spec(&["cat"], true, true))
        .await
        .expect("cat on a terminal");
    h.rt().exec_resize(&s.id, 120, 40).await.expect("resize");
    assert_eq!(run(h, s, b"\x04").await.2, Some(0));
    let s = h
        .rt()
        .exec_attach(&id, &spec(&["tty"], false, false))
        .await
        .expect("no tty");
    assert_eq!(run(h, s, b"").await.2, Some(1));

    let s = h
        .rt()
        .exec_attach(&id, &spec(&["no-such-command"], false, false))
        .await
        .expect("a session, even for a command that cannot run");
    let (out, err, code) = run(h, s, b"").await;
    assert_eq!(code, Some(126));
    assert!(
        format!("{out}{err}").contains("no-such-command"),
        "{out:?} {err:?}"
    );
}
