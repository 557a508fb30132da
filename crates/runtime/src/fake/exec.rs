//! Interactive exec on the fake engine: a few scripted commands, enough for the server's
//! exec endpoint to be tested without Docker. `cat` copies stdin to stdout until stdin
//! ends; `echo ARGS`, `true`, `false`, `sh -c 'exit N'` and `tty` (which answers as a
//! terminal only with `tty`) do what their names say; anything else fails as an engine
//! says a command cannot be run (Docker 20.10: exit 126). Every exec is kept for inspection
//! ([`FakeRuntime::execs`]).

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::{StreamExt, stream};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::FakeRuntime;
use super::behavior::Op;
use crate::error::{Result, RuntimeError};
use crate::types::exec::{ExecChunk, ExecSession, ExecSpec};
use crate::types::spec::ContainerId;

/// One exec the fake ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeExec {
    /// The exec's id.
    pub id: String,
    /// The container it ran in.
    pub container: ContainerId,
    pub cmd: Vec<String>,
    pub tty: bool,
    /// Every terminal size it was given, in order (the first one at start).
    pub sizes: Vec<(u16, u16)>,
    /// `None` while it runs.
    pub exit_code: Option<i64>,
}

/// Every exec, by id.
#[derive(Debug, Default)]
pub(super) struct Execs {
    next: u64,
    by_id: BTreeMap<String, FakeExec>,
}

/// What a scripted command does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Program {
    /// stdin to stdout until stdin ends, then exit 0.
    Cat,
    /// Print this, then exit with the code.
    Print {
        stdout: String,
        stderr: String,
        code: i64,
    },
}

fn program(cmd: &[String], tty: bool) -> Program {
    let print = |stdout: &str, code| Program::Print {
        stdout: stdout.to_owned(),
        stderr: String::new(),
        code,
    };
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["cat"] => Program::Cat,
        ["true"] => print("", 0),
        ["false"] => print("", 1),
        ["echo", rest @ ..] => print(&format!("{}\n", rest.join(" ")), 0),
        ["tty"] if tty => print("/dev/pts/0\n", 0),
        ["tty"] => print("not a tty\n", 1),
        ["sh", "-c", script] => match script.trim().strip_prefix("exit ").map(str::parse) {
            Some(Ok(code)) => print("", code),
            _ => not_found(cmd),
        },
        _ => not_found(cmd),
    }
}

fn not_found(cmd: &[String]) -> Program {
    Program::Print {
        stdout: String::new(),
        stderr: format!(
            "OCI runtime exec failed: exec failed: unable to start container process: exec: {:?}: executable file not found in $PATH: unknown\n",
            cmd.first().map_or("", String::as_str)
        ),
        code: 126,
    }
}

impl FakeRuntime {
    /// Every exec started with `exec_attach`, in id order.
    pub fn execs(&self) -> Vec<FakeExec> {
        self.exec_table().by_id.values().cloned().collect()
    }

    pub(super) fn attach_exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession> {
        let container = {
            let mut s = self.state();
            s.begin(Op::Exec, id.as_str())?;
            let cid = s.resolve(id.as_str())?;
            if !s.get(&cid)?.state.is_alive() {
                return Err(RuntimeError::Conflict(format!(
                    "container {cid} is not running"
                )));
            }
            cid
        };
        let exec_id = {
            let mut t = self.exec_table();
            t.next += 1;
            let exec_id = format!("exec{:04}", t.next);
            t.by_id.insert(
                exec_id.clone(),
                FakeExec {
                    id: exec_id.clone(),
                    container,
                    cmd: spec.cmd.clone(),
                    tty: spec.tty,
                    sizes: spec.size.filter(|_| spec.tty).into_iter().collect(),
                    exit_code: None,
                },
            );
            exec_id
        };
        let (input, mut stdin) = tokio::io::duplex(64 * 1024);
        let (tx, rx) = mpsc::channel::<ExecChunk>(16);
        let fake = self.clone();
        let prog = program(&spec.cmd, spec.tty);
        let tty = spec.tty;
        let done_id = exec_id.clone();
        tokio::spawn(async move {
            let code = match prog {
                Program::Cat => {
                    let mut buf = vec![0u8; 8192];
                    loop {
                        match stdin.read(&mut buf).await {
                            Ok(0) | Err(_) => break 0,
                            Ok(n) => {
                                let chunk = ExecChunk::Stdout(Bytes::copy_from_slice(&buf[..n]));
                                if tx.send(chunk).await.is_err() {
                                    break 0;
                                }
                            }
                        }
                    }
                }
                Program::Print {
                    stdout,
                    stderr,
                    code,
                } => {
                    if !stdout.is_empty() {
                        let _ = tx.send(ExecChunk::Stdout(stdout.into())).await;
                    }
                    if !stderr.is_empty() {
                        let b = Bytes::from(stderr);
                        // A terminal has one stream.
                        let _ = tx
                            .send(if tty {
                                ExecChunk::Stdout(b)
                            } else {
                                ExecChunk::Stderr(b)
                            })
                            .await;
                    }
                    code
                }
            };
            // The exit code is known before the output ends, as an engine has it.
            if let Some(e) = fake.exec_table().by_id.get_mut(&done_id) {
                e.exit_code = Some(code);
            }
            drop(tx);
        });
        let output = stream::unfold(rx, |mut rx| async move {
            let chunk = rx.recv().await?;
            Some((Ok(chunk), rx))
        })
        .boxed();
        Ok(ExecSession {
            id: exec_id,
            input: Box::pin(input),
            output,
        })
    }

    pub(super) fn resize_exec(&self, exec_id: &str, cols: u16, rows: u16) -> Result<()> {
        self.state().begin(Op::Exec, exec_id)?;
        let mut t = self.exec_table();
        let e = t
            .by_id
            .get_mut(exec_id)
            .ok_or_else(|| RuntimeError::NotFound(format!("exec {exec_id}")))?;
        if !e.tty {
            return Err(RuntimeError::Conflict(format!(
                "exec {exec_id} has no terminal"
            )));
        }
        e.sizes.push((cols, rows));
        Ok(())
    }

    pub(super) fn exec_exit(&self, exec_id: &str) -> Result<Option<i64>> {
        self.exec_table()
            .by_id
            .get(exec_id)
            .map(|e| e.exit_code)
            .ok_or_else(|| RuntimeError::NotFound(format!("exec {exec_id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn scripted_commands() {
        assert_eq!(program(&cmd(&["cat"]), false), Program::Cat);
        assert_eq!(
            program(&cmd(&["sh", "-c", "exit 3"]), false),
            Program::Print {
                stdout: String::new(),
                stderr: String::new(),
                code: 3
            }
        );
        assert!(matches!(
            program(&cmd(&["tty"]), true),
            Program::Print { code: 0, .. }
        ));
        assert!(matches!(
            program(&cmd(&["tty"]), false),
            Program::Print { code: 1, .. }
        ));
        assert!(matches!(
            program(&cmd(&["nope"]), false),
            Program::Print { code: 126, .. }
        ));
    }
}
