//! The console's task page and task definition page end to end, through the real binary
//! against a real server on Docker: the task page shows what `ecsctl get task -o json`
//! says about its containers, its log stream relays what the container prints (and ends
//! when the task stops), the task definition page diffs two revisions; nothing without the
//! session. In headless chromium: the log box grows in the open page, and a revision
//! registered with `ecsctl apply` shows in the open task definition page within 2 s.
#![cfg(feature = "docker-tests")]

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::Server;
use support::console::{Browser, SseStream, assert_screenshot, get, settle, start_console};
use support::services::{apply, field, ok, service, tasks, text};

/// A task definition whose container prints `TAG line N` every 200 ms (and stops at once on
/// SIGTERM).
fn printing_td(family: &str, tag: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {family}}}\nspec:\n  containerDefinitions:\n    - {{name: main, image: ecsctl/busybox:local, memory: 16, stopTimeout: 1, command: [sh, -c, 'trap \"exit 0\" TERM; i=0; while true; do i=$((i+1)); echo {tag} line $i; sleep 0.2; done']}}\n"
    )
}

/// A server with service `web` (one task of `web:1`, printing) running; its task's id.
fn web_service() -> (Server, String) {
    let s = Server::start();
    let o = apply(
        &s,
        &format!(
            "{}---\n{}",
            printing_td("web", "v1"),
            service("web", "web", 1, 0, 100, false)
        ),
        &["--wait", "--timeout", "60s"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let running: Vec<Value> = tasks(&s, "web")
        .into_iter()
        .filter(|t| field(t, "/status/lastStatus") == "RUNNING")
        .collect();
    assert_eq!(running.len(), 1, "{running:?}");
    let id = field(&running[0], "/metadata/name").to_string();
    (s, id)
}

/// Registers `web:2` (the service rolls to it).
fn register_v2(s: &Server) {
    let o = apply(s, &printing_td("web", "v2"), &[]);
    assert!(o.status.success(), "{}", text(&o));
}

/// The `<tr ...>` row of `body` that starts with `start`.
fn row<'a>(body: &'a str, start: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("no row {start}:\n{body}"));
    let rest = &body[at..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

#[test]
fn task_page_logs_and_taskdef_diff_over_http() {
    let (s, id) = web_service();
    let c = start_console(&s);
    let task_path = format!("/clusters/default/tasks/{id}");
    let logs_path = format!("{task_path}/logs");

    // Nothing without the session.
    for path in [
        task_path.as_str(),
        logs_path.as_str(),
        "/taskdefinitions/web",
        "/static/logs.js",
    ] {
        let a = get(&c.addr, path, None);
        assert_eq!(a.status, 401, "{path}: {}", a.head);
    }
    let cookie = c.login();

    // The task page: each container's status, exit code and health as `get task` has them.
    let task: Value = serde_json::from_str(&ok(&s, &["get", "task", &id, "-o", "json"])).unwrap();
    let a = get(&c.addr, &task_path, Some(&cookie));
    assert_eq!(a.status, 200, "{}", a.body);
    let containers = task["status"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "{task}");
    for ct in containers {
        let status = field(ct, "/lastStatus");
        let exit = ct["exitCode"]
            .as_i64()
            .map_or("-".to_string(), |e| e.to_string());
        let r = row(
            &a.body,
            &format!(r#"<tr data-container="{}">"#, field(ct, "/name")),
        );
        assert!(
            r.contains(&format!(
                r#"<td class="status {}">{status}</td><td class="exit-code">{exit}</td><td>{}</td>"#,
                status.to_lowercase(),
                field(ct, "/healthStatus")
            )),
            "{r}"
        );
    }
    assert_eq!(field(&task, "/status/lastStatus"), "RUNNING");
    assert!(
        a.body.contains(r#"id="last-status">RUNNING</dd>"#),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains(r#"<a href="&#x2f;taskdefinitions&#x2f;web?b=1">web:1</a>"#),
        "the task definition is linked: {}",
        a.body
    );
    assert!(
        a.body
            .contains(r#"<a href="&#x2f;clusters&#x2f;default&#x2f;services&#x2f;web">web</a>"#),
        "the service is linked: {}",
        a.body
    );
    // The service page links the task here.
    let a = get(&c.addr, "/clusters/default/services/web", Some(&cookie));
    assert!(
        a.body.contains(&format!(
            r#"<a href="&#x2f;clusters&#x2f;default&#x2f;tasks&#x2f;{id}"><code>{id}</code></a>"#
        )),
        "{}",
        a.body
    );
    let a = get(&c.addr, "/clusters/default/tasks/nope", Some(&cookie));
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(
        a.body.contains("There is no task nope in cluster default."),
        "{}",
        a.body
    );

    // The log stream of no task: one `end` event saying why (the page shows it).
    let none = SseStream::open(&c.addr, "/clusters/default/tasks/nope/logs", &cookie);
    let (event, data) = none
        .event_until(Instant::now() + Duration::from_secs(10))
        .expect("an end event");
    let end: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(event, "end", "{data}");
    assert!(field(&end, "/why").contains("nope"), "{data}");
    assert_eq!(end["retry"], true, "{data}");

    // The log stream: the container's lines, the newer ones as they are printed.
    let logs = SseStream::open(&c.addr, &logs_path, &cookie);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut numbers = Vec::new();
    while numbers.len() < 3 {
        let (event, data) = logs
            .event_until(deadline)
            .unwrap_or_else(|| panic!("3 log lines within 10 s; got {numbers:?}"));
        assert_eq!(event, "line", "{data}");
        let line: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            (line["prefix"].as_str(), line["stderr"].as_bool()),
            (Some(""), Some(false))
        );
        let n: u64 = field(&line, "/text")
            .strip_prefix("v1 line ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{data}"));
        numbers.push(n);
    }
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "in order: {numbers:?}"
    );

    // The task definition page: one revision, then two with their diff.
    let a = get(&c.addr, "/taskdefinitions/web", Some(&cookie));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Revision 1 alone"), "{}", a.body);
    register_v2(&s);
    let a = get(&c.addr, "/taskdefinitions/web", Some(&cookie));
    assert_eq!(a.status, 200, "{}", a.body);
    let (removed, added) = (marked_in(&a.body, "del"), marked_in(&a.body, "add"));
    assert!(
        removed.len() == 1 && removed[0].contains("echo v1 line"),
        "{removed:?}\n{}",
        a.body
    );
    assert!(
        added.len() == 1 && added[0].contains("echo v2 line"),
        "{added:?}\n{}",
        a.body
    );
    assert!(a.body.contains(r#"<tr data-revision="2" class="shown">"#));
    assert!(a.body.contains(r#"<tr data-revision="1" class="shown">"#));
    // `web` runs web:1 until its rollout moves it to web:2: the page says so once it has.
    let service_link =
        r#"<a href="&#x2f;clusters&#x2f;default&#x2f;services&#x2f;web">default&#x2f;web</a>"#;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let a = get(&c.addr, "/taskdefinitions/web", Some(&cookie));
        let used = row(&a.body, r#"<tr data-revision="2""#).contains(service_link)
            && !row(&a.body, r#"<tr data-revision="1""#).contains(service_link);
        if used {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "web:2 not used by default/web within 60 s:\n{}",
            a.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let a = get(&c.addr, "/taskdefinitions/web?a=2&b=1", Some(&cookie));
    assert!(
        marked_in(&a.body, "del")
            .iter()
            .any(|l| l.contains("echo v2")),
        "the sides follow a and b: {}",
        a.body
    );
    let a = get(&c.addr, "/taskdefinitions/web?a=x", Some(&cookie));
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body
            .contains("a=&quot;x&quot; is no revision number: web has revisions 1, 2."),
        "{}",
        a.body
    );
    let a = get(&c.addr, "/taskdefinitions/web?b=9", Some(&cookie));
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.body.contains("web has no revision 9"), "{}", a.body);
    let a = get(&c.addr, "/taskdefinitions/nope", Some(&cookie));
    assert_eq!(a.status, 404, "{}", a.body);

    // The v1 task stops in the rollout: its log stream says so and ends.
    let deadline = Instant::now() + Duration::from_secs(60);
    let why = loop {
        match logs.event_until(deadline) {
            Some((event, data)) if event == "end" => break data,
            Some(_) => {}
            None => panic!("the log stream did not end within 60 s of the task's stop"),
        }
    };
    let why: Value = serde_json::from_str(&why).unwrap();
    assert_eq!(why["why"], "The task's containers stopped.");
    assert_eq!(why["retry"], false, "nothing more will come: {why}");
    settle(&s, "web");
}

/// The texts of the lines marked `class` (`del` with `-`, `add` with `+`) in a task
/// definition page.
fn marked_in(body: &str, class: &str) -> Vec<String> {
    let sign = if class == "del" { "-" } else { "+" };
    let open = format!(r#"<td class="code {class}"><span class="sign">{sign}</span>"#);
    body.split(&open)
        .skip(1)
        .map(|rest| rest[..rest.find("</td>").unwrap_or(0)].to_string())
        .collect()
}

/// The task page and the task definition page in headless chromium (tests/browser/
/// console_task.py): the log box of a printing task grows without a reload, keyboard from
/// the task to its task definition, narrow windows without sideways scrolling, and a
/// revision registered with the CLI listed in the open page within 2 s.
#[test]
fn task_pages_in_a_browser_follow_logs_and_new_revisions() {
    let (s, id) = web_service();
    let c = start_console(&s);
    let task_path = format!("/clusters/default/tasks/{id}");
    let mut browser = Browser::start("console_task.py", &c, &[&task_path]);
    browser.ready(Duration::from_secs(120));
    register_v2(&s);
    browser.go_and_pass(Duration::from_secs(30));
    for shot in ["console-task.png", "console-taskdef.png"] {
        assert_screenshot(shot);
    }
    settle(&s, "web");
}
