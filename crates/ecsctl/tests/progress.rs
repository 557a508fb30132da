//! Live progress on a terminal, end to end on real Docker through the real binary: with its
//! output on a pseudo-terminal (util-linux `script`), `apply --wait` draws a bar per
//! deployment that reaches 2/2, `run-task --wait` a line per task; through pipes, and on a
//! `TERM=dumb` terminal, the plain lines are printed as before. The containers are removed
//! by the server's drop guard.
#![cfg(feature = "docker-tests")]

mod support;

use std::process::{Command, Stdio};
use support::services::{service, td, text};
use support::{BIN, Server};

/// `'text'` for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `ecsctl ARGS` as a client of `s` with stdout and stderr on a pseudo-terminal (`script
/// -qfec CMD /dev/null`), with `env` added; its exit code and all it wrote (CRLF as LF).
fn on_terminal(s: &Server, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let client = s.command(args);
    let mut c = Command::new("script");
    for (k, v) in client.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let line: Vec<String> = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    c.args(["-qfec", &line.join(" "), "/dev/null"])
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let o = c.output().expect("run script (util-linux)");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n"),
    )
}

/// Holds an SGR (color) escape: ESC [ digits/semicolons m.
fn has_color(s: &str) -> bool {
    s.split('\u{1b}').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let end = r.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| r[i..].starts_with('m'))
        })
    })
}

#[test]
fn bars_on_a_terminal_and_the_plain_lines_elsewhere() {
    let s = Server::start();
    let v1 = s.write(
        "v1.yaml",
        &format!(
            "{}---\n{}",
            td("web", "v1"),
            service("web", "web", 2, 100, 200, false)
        ),
    );

    // On a terminal (colors off): redrawn lines, ending with the PRIMARY deployment's bar full.
    let (code, out) = on_terminal(
        &s,
        &["apply", "-f", &v1, "--wait", "--timeout", "30s"],
        &[("TERM", "xterm"), ("NO_COLOR", "1")],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("service/web created"), "{out}");
    assert!(out.contains("\u{1b}["), "not redrawn: {out:?}");
    assert!(!has_color(&out), "NO_COLOR was set: {out:?}");
    let bar = out
        .lines()
        .rev()
        .find(|l| l.contains(" PRIMARY ") && l.contains("web:1"))
        .unwrap_or_else(|| panic!("no bar of the PRIMARY deployment: {out:?}"));
    assert!(
        bar.contains("[====================] 2/2 COMPLETED"),
        "the bar did not reach 2/2: {bar:?}\n{out:?}"
    );
    assert!(
        out.contains("service/web successfully rolled out: deployment ecs-svc/"),
        "{out}"
    );

    // With colors (no NO_COLOR), following the finished rollout.
    let (code, out) = on_terminal(
        &s,
        &["rollout", "status", "service/web"],
        &[("TERM", "xterm")],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(has_color(&out), "no colors: {out:?}");
    assert!(out.contains("2/2"), "{out:?}");

    // A dumb terminal cannot redraw: the plain line.
    let (code, out) = on_terminal(
        &s,
        &["rollout", "status", "service/web"],
        &[("TERM", "dumb")],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(
        out.starts_with("service/web successfully rolled out: deployment ecs-svc/")
            && out.ends_with("(web:1), 2 of 2 tasks running\n"),
        "{out:?}"
    );

    // Not a terminal (pipes): the plain lines, as before — the results, a line per change,
    // the closing line; nothing on stderr.
    let v2 = s.write(
        "v2.yaml",
        &format!(
            "{}---\n{}",
            td("web", "v2"),
            service("web", "web", 2, 100, 200, false)
        ),
    );
    let o = s.run(&["apply", "-f", &v2, "--wait", "--timeout", "30s"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.stderr.is_empty(), "{}", text(&o));
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "taskdefinition/web:2 configured", "{out}");
    assert_eq!(lines[1], "service/web unchanged", "{out}");
    let last = lines[lines.len() - 1];
    assert!(
        last.starts_with("service/web successfully rolled out: deployment ecs-svc/")
            && last.ends_with("(web:2), 2 of 2 tasks running"),
        "{out}"
    );
    assert!(lines.len() > 3, "no progress line: {out}");
    for l in &lines[2..lines.len() - 1] {
        assert!(
            l.starts_with("Waiting for ") && l.ends_with("..."),
            "not a progress line: {l:?}\n{out}"
        );
    }

    // run-task --wait on a terminal: a line per task with its lastStatus, RUNNING at the end.
    let (code, out) = on_terminal(
        &s,
        &[
            "run-task",
            "--task-definition",
            "web",
            "--count",
            "2",
            "--wait",
            "--timeout",
            "30s",
        ],
        &[("TERM", "xterm"), ("NO_COLOR", "1")],
    );
    assert_eq!(code, Some(0), "{out}");
    let ids: Vec<&str> = out
        .lines()
        .filter(|l| l.len() == 32 && l.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    assert_eq!(ids.len(), 2, "the ids on stdout: {out:?}");
    for id in ids {
        assert!(
            out.contains(&format!("{id} RUNNING")),
            "no RUNNING line for {id}: {out:?}"
        );
    }
}

#[test]
fn sync_on_a_terminal_prints_the_same_lines_after_its_spinner() {
    let mut s = Server::offline();
    support::ensure_image();
    let deploy = s.path().join("deploy");
    let d = deploy.display().to_string();
    s.write("deploy/job.yaml", &td("job", "v1"));
    s.serve(&["--sync-root", &d], &[]);
    let (code, out) = on_terminal(&s, &["sync", &d], &[("TERM", "xterm")]);
    assert_eq!(code, Some(0), "{out:?}");
    // Whatever the spinner drew was cleared: the results end the output, as plain lines.
    assert!(out.ends_with("taskdefinition/job:1 created\n"), "{out:?}");
    let o = s.run(&["sync", &d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "taskdefinition/job:1 unchanged\n"
    );
    assert!(o.stderr.is_empty(), "{}", text(&o));
}
