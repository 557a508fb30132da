//! The console's actions end to end, through the real binary against a real server on
//! Docker: scale, force a new deployment, roll back and stop a task, each refused without
//! the session cookie (401), without this session's anti-forgery token or from another
//! origin (403), each changing nothing then; confirmed on a page that says what will happen;
//! and done as the CLI does them, with a flash message on the page it goes back to. A viewer
//! token's console shows the server's 403. In a real browser: scale with the keyboard only,
//! and stop a task, watching the page follow.
#![cfg(feature = "docker-tests")]

mod support;

use serde_json::Value;
use std::time::Duration;
use support::console::{
    Browser, Console, assert_screenshot, get, post, settle, start_console, start_console_with,
};
use support::roles::{As, RoleServer};
use support::services::{apply, deploy_web, get_service, service, tasks, td, text};
use support::{Server, poll};

const PAGE: &str = "/clusters/default/services/web";

/// The session's anti-forgery token, from the service page's forms.
fn csrf_of(c: &Console, cookie: &str) -> String {
    let a = get(&c.addr, PAGE, Some(cookie));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.head.contains("x-frame-options: deny"), "{}", a.head);
    let at = a
        .body
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no csrf field: {}", a.body));
    let token = &a.body[at + r#"name="csrf" value=""#.len()..];
    let token = &token[..token.find('"').expect("the value's end")];
    assert_eq!(token.len(), 64, "{token}");
    token.to_string()
}

/// What the actions change: the service's spec and annotations, and what each of its tasks
/// was asked to be.
fn state(s: &Server) -> (Value, Value, Vec<(String, String)>) {
    let svc = get_service(s, "web");
    let mut asked: Vec<_> = tasks(s, "web")
        .iter()
        .map(|t| {
            (
                t["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                t["spec"]["desiredStatus"]
                    .as_str()
                    .unwrap_or("RUNNING")
                    .to_string(),
            )
        })
        .collect();
    asked.sort();
    (
        svc["spec"].clone(),
        svc["metadata"]["annotations"].clone(),
        asked,
    )
}

fn running_task(s: &Server) -> String {
    tasks(s, "web")
        .iter()
        .find(|t| t["status"]["lastStatus"] == "RUNNING" && t["spec"]["desiredStatus"] != "STOPPED")
        .and_then(|t| t["metadata"]["name"].as_str())
        .expect("a running task of web")
        .to_string()
}

fn cookie_header(cookie: &str) -> String {
    format!("Cookie: {cookie}")
}

/// `POST path` of `form` with the session cookie and the token.
fn act(c: &Console, cookie: &str, path: &str, form: &str) -> support::console::Answer {
    post(&c.addr, path, &[cookie_header(cookie)], form)
}

/// After an action: the 303 back to the service page, whose next view shows `flash` once.
fn expect_done(c: &Console, cookie: &str, a: &support::console::Answer, flash: &str) {
    expect_done_at(c, cookie, a, flash, PAGE);
}

/// As [`expect_done`], back at `page` instead of the service's.
fn expect_done_at(c: &Console, cookie: &str, a: &support::console::Answer, flash: &str, at: &str) {
    assert_eq!(a.status, 303, "{}\n{}", a.head, a.body);
    assert_eq!(a.location(), Some(at), "{}", a.head);
    let page = get(&c.addr, at, Some(cookie));
    assert!(
        page.body.contains(&format!(
            r#"<p id="flash" class="flash" role="status">{flash}</p>"#
        )),
        "no flash {flash:?}:\n{}",
        page.body
    );
    let again = get(&c.addr, at, Some(cookie));
    assert!(
        !again.body.contains(r#"id="flash""#),
        "the flash is shown once"
    );
}

fn deployment_ids(s: &Server) -> Vec<String> {
    get_service(s, "web")["status"]["deployments"]
        .as_array()
        .map(|ds| {
            ds.iter()
                .filter_map(|d| d["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn console_actions_need_the_session_and_its_token_and_do_what_the_cli_does() {
    let s = Server::start();
    deploy_web(&s, "v1", 2);
    // web:2, so that there is a revision to roll back from.
    let o = apply(&s, &td("web", "v2"), &[]);
    assert!(o.status.success(), "{}", text(&o));
    settle(&s, "web");

    let c = start_console(&s);
    let cookie = c.login();
    let csrf = csrf_of(&c, &cookie);
    let task = running_task(&s);
    let stop_path = format!("/clusters/default/tasks/{task}/stop");
    let actions = [
        (format!("{PAGE}/scale"), "desired_count=3&".to_string()),
        (format!("{PAGE}/force-deployment"), String::new()),
        (format!("{PAGE}/rollback"), "to=web%3A1&".to_string()),
        (stop_path.clone(), String::new()),
    ];

    // Refused: nothing changes.
    let before = state(&s);
    for (path, fields) in &actions {
        let form = format!("{fields}confirm=yes&csrf={csrf}");
        let a = post(&c.addr, path, &[], &form);
        assert_eq!(a.status, 401, "{path} without the cookie: {}", a.body);
        assert!(a.body.contains("printed"), "{}", a.body);

        let no_token = format!("{fields}confirm=yes");
        let wrong = format!("{fields}confirm=yes&csrf={}", "0".repeat(64));
        for form in [&no_token, &wrong] {
            let a = act(&c, &cookie, path, form);
            assert_eq!(a.status, 403, "{path} {form}: {}", a.body);
            assert!(a.body.contains("anti-forgery token"), "{}", a.body);
            assert!(a.body.contains("Nothing was changed."), "{}", a.body);
        }
        let from_elsewhere = [cookie_header(&cookie), "Origin: http://evil.example".into()];
        let a = post(&c.addr, path, &from_elsewhere, &form);
        assert_eq!(a.status, 403, "{path} from another origin: {}", a.body);
        assert!(a.body.contains("another site"), "{}", a.body);
    }
    // Bad input: a clear 400.
    let a = act(
        &c,
        &cookie,
        &format!("{PAGE}/scale"),
        &format!("desired_count=three&confirm=yes&csrf={csrf}"),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains(r#"not &quot;three&quot;"#), "{}", a.body);

    // Asked without `confirm`: the confirmation page says what will happen.
    let origin = [cookie_header(&cookie), format!("Origin: http://{}", c.addr)];
    let expect = [
        "Desired tasks: from 2 to 3",
        "A new deployment of web:2 replaces every task of the service (2 running now)",
        "From web:2 to web:1, the task definition deployed before.",
        "Stopped from the console",
    ];
    for ((path, fields), says) in actions.iter().zip(expect) {
        let a = post(&c.addr, path, &origin, &format!("{fields}csrf={csrf}"));
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert!(a.body.contains(says), "{path}: {says:?} in\n{}", a.body);
        assert!(
            a.body
                .contains(r#"<input type="hidden" name="confirm" value="yes">"#)
                && a.body.contains("autofocus"),
            "{}",
            a.body
        );
    }
    assert_eq!(
        state(&s),
        before,
        "a refused or unconfirmed action changed something"
    );

    // Done, confirmed, with the session and its token.
    let a = act(
        &c,
        &cookie,
        &actions[0].0,
        &format!("desired_count=3&confirm=yes&csrf={csrf}"),
    );
    expect_done(&c, &cookie, &a, "service web scaled to 3");
    assert_eq!(get_service(&s, "web")["spec"]["desiredCount"], 3);
    settle(&s, "web");

    let deployments = deployment_ids(&s);
    let a = act(
        &c,
        &cookie,
        &actions[1].0,
        &format!("confirm=yes&csrf={csrf}"),
    );
    expect_done(
        &c,
        &cookie,
        &a,
        "service web: a new deployment was forced; its tasks are being replaced",
    );
    let new = poll("a new deployment", Duration::from_secs(20), || {
        deployment_ids(&s)
            .into_iter()
            .find(|id| !deployments.contains(id))
    });
    settle(&s, "web");
    let primary = get_service(&s, "web")["status"]["deployments"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["status"] == "PRIMARY").cloned())
        .expect("a PRIMARY deployment");
    assert_eq!(primary["id"], new.as_str());
    assert_eq!(primary["taskDefinition"], "web:2");

    // A confirmation for another revision than the rollback would now go to: refused.
    let before = state(&s);
    let a = act(
        &c,
        &cookie,
        &actions[2].0,
        &format!("to=web%3A2&confirm=yes&csrf={csrf}"),
    );
    assert_eq!(a.status, 409, "{}", a.body);
    assert_eq!(state(&s), before);
    let a = act(
        &c,
        &cookie,
        &actions[2].0,
        &format!("to=web%3A1&confirm=yes&csrf={csrf}"),
    );
    expect_done(
        &c,
        &cookie,
        &a,
        "service web rolled back from web:2 to web:1",
    );
    assert_eq!(get_service(&s, "web")["spec"]["taskDefinition"], "web:1");
    settle(&s, "web");
    poll("3 tasks of web:1 running", Duration::from_secs(30), || {
        let tds: Vec<_> = tasks(&s, "web")
            .iter()
            .filter(|t| t["status"]["lastStatus"] == "RUNNING")
            .map(support::services::task_definition)
            .collect();
        (tds == ["web:1"; 3]).then_some(())
    });

    let task = running_task(&s);
    let a = act(
        &c,
        &cookie,
        &format!("/clusters/default/tasks/{task}/stop"),
        &format!("confirm=yes&csrf={csrf}"),
    );
    expect_done(
        &c,
        &cookie,
        &a,
        &format!("task {task} stopping (Stopped from the console)"),
    );
    let st = s.wait_task(&task, Duration::from_secs(30), |st| {
        st["lastStatus"] == "STOPPED"
    });
    assert_eq!(st["stoppedReason"], "Stopped from the console", "{st:#}");
    assert_eq!(st["stopCode"], "UserInitiated", "{st:#}");
    settle(&s, "web");

    // The task page's own Stop button comes back to the task page.
    let task = running_task(&s);
    let task_page = format!("/clusters/default/tasks/{task}");
    let page = get(&c.addr, &task_page, Some(&cookie));
    assert!(
        page.body.contains(r#"name="from" value="task""#),
        "the task page has its Stop button:\n{}",
        page.body
    );
    let a = act(
        &c,
        &cookie,
        &format!("{task_page}/stop"),
        &format!("from=task&csrf={csrf}"),
    );
    assert_eq!(a.status, 200, "the confirmation first: {}", a.head);
    assert!(
        a.body.contains(r#"name="from" value="task""#),
        "the confirmation keeps where it came from:\n{}",
        a.body
    );
    let a = act(
        &c,
        &cookie,
        &format!("{task_page}/stop"),
        &format!("from=task&confirm=yes&csrf={csrf}"),
    );
    expect_done_at(
        &c,
        &cookie,
        &a,
        &format!("task {task} stopping (Stopped from the console)"),
        &task_page,
    );
    s.wait_task(&task, Duration::from_secs(30), |st| {
        st["lastStatus"] == "STOPPED"
    });
    settle(&s, "web");
}

/// The console runs as the identity it was given: a viewer's console reads, and its actions
/// get the server's 403, shown in the page; nothing changes.
#[test]
fn a_viewers_console_shows_the_servers_refusal() {
    let rs = RoleServer::start("default", &[]);
    let o = rs.apply_as(
        As::Admin,
        "web",
        &format!(
            "{}---\n{}",
            td("web", "v1"),
            service("web", "web", 1, 100, 200, false)
        ),
    );
    assert!(o.status.success(), "{}", text(&o));
    let viewer = rs.server.path().join("viewer.token").display().to_string();
    let c = start_console_with(&rs.server, &["--server", &rs.url, "--token-file", &viewer]);
    let cookie = c.login();
    let csrf = csrf_of(&c, &cookie);
    let a = act(
        &c,
        &cookie,
        &format!("{PAGE}/scale"),
        &format!("desired_count=4&confirm=yes&csrf={csrf}"),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(
        a.body.contains("The server refused the action"),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains("forbidden: role viewer (clusters: default)"),
        "the server's own words: {}",
        a.body
    );
    assert!(a.body.contains("Nothing was changed."), "{}", a.body);
    let svc = rs.get_json(As::Admin, &["service", "web"]);
    assert_eq!(svc["spec"]["desiredCount"], 1);
    settle(&rs.server, "web");
}

/// In headless chromium (tests/browser/console_actions.py): scale with the keyboard only
/// (Tab to the count, type, Enter, Enter on the confirmation), see the count on the page and
/// from the CLI; stop a task from its row and watch it stop on the open page; force a new
/// deployment; roll back from web:2 to web:1.
#[test]
fn console_actions_in_a_browser() {
    let s = Server::start();
    deploy_web(&s, "v1", 2);
    let c = start_console(&s);
    let mut browser = Browser::start("console_actions.py", &c, &[]);

    let line = browser.line(Duration::from_secs(120));
    assert_eq!(line, "SCALED", "{line}");
    assert_eq!(get_service(&s, "web")["spec"]["desiredCount"], 3);
    settle(&s, "web");
    browser.tell("GO");

    let line = browser.line(Duration::from_secs(60));
    let task = line
        .strip_prefix("STOPPED ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let st = s.task(&task);
    assert_eq!(st["lastStatus"], "STOPPED", "{st:#}");
    assert_eq!(st["stoppedReason"], "Stopped from the console", "{st:#}");

    let forced_before =
        get_service(&s, "web")["metadata"]["annotations"]["ecsctl.dev/force-deployment"].clone();
    let line = browser.line(Duration::from_secs(30));
    assert_eq!(line, "FORCED", "{line}");
    let forced =
        get_service(&s, "web")["metadata"]["annotations"]["ecsctl.dev/force-deployment"].clone();
    assert!(
        forced.is_string() && forced != forced_before,
        "a new force-deployment annotation: {forced}"
    );
    settle(&s, "web");
    // web:2, so that there is a task definition to roll back from.
    deploy_web(&s, "v2", 3);
    browser.tell("GO");
    let line = browser.line(Duration::from_secs(30));
    assert_eq!(line, "ROLLED BACK", "{line}");
    assert_eq!(get_service(&s, "web")["spec"]["taskDefinition"], "web:1");
    let line = browser.line(Duration::from_secs(30));
    assert_eq!(line, "OK", "{line}");
    assert!(browser.finish(), "the browser script failed");
    assert_screenshot("console-actions.png");
    settle(&s, "web");
}
