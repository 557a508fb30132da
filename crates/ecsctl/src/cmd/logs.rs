//! `ecsctl logs TASK`: what a task's containers printed, streamed from the server.

use crate::client::{Client, encode};
use anyhow::Result;
use api::wire::{CONTAINERS_HEADER, LogLine, LogStream};

/// Print the output of a task's containers
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl logs 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01            # every container, [name] prefixed
  ecsctl logs 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 -c web     # one container
  ecsctl logs 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 -f --tail 20 --timestamps

Lines a container wrote to stderr go to stderr. With several containers and no -c, each line
starts with `[container] `. -f follows until the containers stop (or Ctrl-C).")]
pub struct Args {
    /// The task id
    pub task: String,
    /// Only this container
    #[arg(short = 'c', long, value_name = "NAME")]
    pub container: Option<String>,
    /// Keep printing new lines until the containers stop
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines of each container
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    /// Start each line with the time it was printed (RFC 3339)
    #[arg(long)]
    pub timestamps: bool,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let mut stream = client.stream(&logs_path(&args)).await?;
    let several = stream
        .header(CONTAINERS_HEADER)
        .is_some_and(|names| names.split(',').count() > 1);
    let prefix = args.container.is_none() && several;
    while let Some(line) = stream.next::<LogLine>().await? {
        let text = format_line(&line, prefix, args.timestamps);
        if line.stream == LogStream::Stderr {
            use std::io::Write;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{text}");
        } else {
            crate::output::emit_raw(&format!("{text}\n"));
        }
    }
    Ok(())
}

/// `/v1/tasks/ID/logs?cluster=C&follow=..[&container=..][&tail=..]`.
fn logs_path(args: &Args) -> String {
    let mut path = format!(
        "/v1/tasks/{}/logs?cluster={}&follow={}",
        encode(&args.task),
        encode(args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER)),
        args.follow
    );
    if let Some(c) = &args.container {
        path.push_str(&format!("&container={}", encode(c)));
    }
    if let Some(n) = args.tail {
        path.push_str(&format!("&tail={n}"));
    }
    path
}

/// `[container] TIMESTAMP text`, the parts asked for. The container's name and the timestamp
/// are escaped (they are ecsctl's header); the text is the container's own output, printed as
/// it is, as `docker logs` does.
fn format_line(line: &LogLine, prefix: bool, timestamps: bool) -> String {
    use api::text::escape;
    let mut out = String::new();
    if prefix {
        out.push_str(&format!("[{}] ", escape(&line.container)));
    }
    if timestamps {
        let ts = line.timestamp.as_deref().unwrap_or("");
        out.push_str(&if ts.is_empty() {
            "-".into()
        } else {
            escape(ts)
        });
        out.push(' ');
    }
    out.push_str(&line.text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines() {
        let line = |v: serde_json::Value| -> LogLine { serde_json::from_value(v).unwrap() };
        let l = line(
            json!({"container": "web", "stream": "stdout", "text": "hello",
                       "timestamp": "2024-05-01T12:00:00.5Z"}),
        );
        assert_eq!(format_line(&l, false, false), "hello");
        assert_eq!(format_line(&l, true, false), "[web] hello");
        assert_eq!(
            format_line(&l, true, true),
            "[web] 2024-05-01T12:00:00.5Z hello"
        );
        let no_time =
            line(json!({"container": "web", "stream": "stdout", "text": "x", "timestamp": null}));
        assert_eq!(format_line(&no_time, false, true), "- x");
        let hostile = line(
            json!({"container": "we\u{1b}[2Jb", "stream": "stdout", "text": "raw\u{1b}[1m", "timestamp": null}),
        );
        assert_eq!(
            format_line(&hostile, true, false),
            "[we\\u{1b}[2Jb] raw\u{1b}[1m",
            "the header is escaped, the container's output is not"
        );
    }

    #[test]
    fn paths() {
        let args = Args {
            task: "abc".into(),
            container: Some("web app".into()),
            follow: true,
            tail: Some(5),
            timestamps: false,
            cluster: None,
        };
        assert_eq!(
            logs_path(&args),
            "/v1/tasks/abc/logs?cluster=default&follow=true&container=web%20app&tail=5"
        );
    }
}
