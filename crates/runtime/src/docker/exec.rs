//! Interactive exec on Docker (`ecsctl exec`): create the exec with the streams asked for,
//! start it attached (the engine upgrades the connection: bollard hands over its two
//! halves), resize its terminal, read its exit code.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;

use super::DockerRuntime;
use super::errors::{self, Subject};
use crate::error::{Result, RuntimeError};
use crate::types::exec::{ExecChunk, ExecSession, ExecSpec};
use crate::types::spec::ContainerId;

/// How long an exec whose output has ended may still be reported running: the engine
/// records the exit code just after it closes the streams.
const EXIT_SETTLE: Duration = Duration::from_secs(5);
const EXIT_POLL: Duration = Duration::from_millis(20);

impl DockerRuntime {
    pub(super) async fn attach_exec(
        &self,
        id: &ContainerId,
        spec: &ExecSpec,
    ) -> Result<ExecSession> {
        let config = CreateExecOptions {
            cmd: Some(spec.cmd.clone()),
            attach_stdin: Some(spec.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(spec.tty),
            ..Default::default()
        };
        let created = self
            .call(
                Subject::Container(id.as_str()),
                Duration::ZERO,
                |d| async move { d.create_exec(id.as_str(), config).await },
            )
            .await?;
        let start = StartExecOptions {
            detach: false,
            tty: spec.tty,
            output_capacity: None,
        };
        let exec_id = created.id.clone();
        let started = self
            .call(Subject::Engine, Duration::ZERO, |d| async move {
                d.start_exec(&exec_id, Some(start)).await
            })
            .await?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(RuntimeError::Other(
                "the engine started the exec detached".to_owned(),
            ));
        };
        if let (true, Some((cols, rows))) = (spec.tty, spec.size) {
            // A size the engine refuses (the process already gone) changes nothing.
            let _ = self.resize_exec(&created.id, cols, rows).await;
        }
        let output = output
            .map(|chunk| match chunk {
                Ok(LogOutput::StdErr { message }) => Ok(ExecChunk::Stderr(message)),
                Ok(other) => Ok(ExecChunk::Stdout(other.into_bytes())),
                Err(e) => Err(errors::map(e, Subject::Engine)),
            })
            .boxed();
        Ok(ExecSession {
            id: created.id,
            input,
            output: crate::runtime::end_after_error(output),
        })
    }

    pub(super) async fn resize_exec(&self, exec_id: &str, cols: u16, rows: u16) -> Result<()> {
        let size = ResizeExecOptions {
            height: rows,
            width: cols,
        };
        self.call(Subject::Engine, Duration::ZERO, |d| async move {
            d.resize_exec(exec_id, size).await
        })
        .await
    }

    pub(super) async fn exec_exit(&self, exec_id: &str) -> Result<Option<i64>> {
        let deadline = tokio::time::Instant::now() + EXIT_SETTLE;
        loop {
            let inspected = self
                .call(Subject::Engine, Duration::ZERO, |d| async move {
                    d.inspect_exec(exec_id).await
                })
                .await?;
            let running = inspected.running.unwrap_or(false);
            if !running {
                return Ok(Some(inspected.exit_code.unwrap_or(-1)));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(EXIT_POLL).await;
        }
    }
}
