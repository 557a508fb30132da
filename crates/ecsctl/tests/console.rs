//! The web console end to end, through the real binary against a real server on Docker:
//! `ecsctl console` prints a one-time URL; requests without the session cookie get 401; the
//! URL sets the cookie once; the overview and the service page show the service's counts
//! and deployment bar; `/events` delivers a change within 2 s of an `ecsctl scale`. The
//! console is killed on drop, the containers are removed by the server's drop guard.
#![cfg(feature = "docker-tests")]

mod support;

use std::time::{Duration, Instant};
use support::Server;
use support::console::{
    Browser, SseStream, assert_screenshot, get, session_cookie, settle, start_console,
};
use support::services::{deploy_web, get_service};

#[test]
fn console_pages_behind_a_one_time_token_with_live_events() {
    // A GitOps source beside the applied service: a directory with one task definition.
    let deploy = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        deploy.path().join("tools.yaml"),
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: tools}\nspec:\n  containerDefinitions:\n  - {name: app, image: ecsctl/busybox:local, memory: 16}\n",
    )
    .expect("write tools.yaml");
    let deploy_dir = deploy.path().to_str().expect("utf-8 path").to_string();
    let s = Server::start_with(&["--watch", &deploy_dir]);
    deploy_web(&s, "v1", 2);

    // A --listen that is no address: a usage error naming it, nothing started.
    let o = s.run(&["console", "--listen", "localhost"]);
    support::expect_code(&o, 2);
    assert!(
        support::stderr(&o).contains("--listen"),
        "{}",
        support::stderr(&o)
    );

    let c = start_console(&s);

    // Nothing without the session: the pages, the events, the static files.
    for path in [
        "/",
        "/clusters/default/services/web",
        "/events",
        "/static/console.js",
    ] {
        let a = get(&c.addr, path, None);
        assert_eq!(a.status, 401, "{path}: {}", a.head);
        assert!(a.body.contains("printed"), "{path}: {}", a.body);
    }
    assert_eq!(get(&c.addr, "/?token=wrong", None).status, 401);

    // The token URL: a cookie and a redirect to `/` without the token.
    let a = get(&c.addr, &c.token_path, None);
    assert_eq!(a.status, 303, "{}", a.head);
    assert!(
        a.head.contains("\r\nlocation: /\r\n") || a.head.contains("\nlocation: /"),
        "{}",
        a.head
    );
    let cookie = session_cookie(&a);

    // Used once: a second visit gets nothing.
    let again = get(&c.addr, &c.token_path, None);
    assert_eq!(
        again.status, 401,
        "the token was used twice: {}",
        again.head
    );
    assert!(!again.head.contains("set-cookie"));

    // (minijinja's HTML escape writes `/` as `&#x2f;`, which browsers read as `/`.)
    // The overview lists the service with its counts and health.
    let a = get(&c.addr, "/", Some(&cookie));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains(r#"<tr data-service="default/web"><td><a href="&#x2f;clusters&#x2f;default&#x2f;services&#x2f;web">web</a></td><td>default</td><td class="desired">2</td><td class="running">2</td><td class="pending">0</td><td><span class="badge steady">steady</span>"#),
        "{}",
        a.body
    );
    assert!(a.body.contains("<h2 id=\"events-h\">Recent events</h2>"));
    // The watched directory, synced, with its one object.
    assert!(
        a.body.contains(&format!(
            r#"<tr><td>{}</td><td><span class="badge synced">Synced</span></td>"#,
            minijinja_escaped(&deploy_dir)
        )),
        "{}",
        a.body
    );
    assert!(
        a.body.contains(
            r#"<a href="&#x2f;clusters&#x2f;default&#x2f;services&#x2f;web">service&#x2f;web</a>"#
        ),
        "the service's events: {}",
        a.body
    );

    // The service page: its deployment bar 2/2, its tasks RUNNING.
    let a = get(&c.addr, "/clusters/default/services/web", Some(&cookie));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains(r#"<span class="ratio">2/2</span>"#),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("PRIMARY") && a.body.contains("web:1"),
        "{}",
        a.body
    );
    assert_eq!(
        a.body
            .matches(r#"<td class="status running">RUNNING</td>"#)
            .count(),
        2,
        "{}",
        a.body
    );
    let a = get(&c.addr, "/clusters/default/services/nope", Some(&cookie));
    assert_eq!(a.status, 404, "{}", a.body);

    // Live: an SSE stream delivers the service's change within 2 s of `ecsctl scale`.
    let generation = get_service(&s, "web")["metadata"]["generation"]
        .as_u64()
        .unwrap();
    // The head is sent once the watch is open: every change after it reaches the stream.
    let sse = SseStream::open(&c.addr, "/events", &cookie);
    let scaled = Instant::now();
    let o = s.run(&["scale", "service", "web", "--replicas", "3"]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    let deadline = scaled + Duration::from_secs(2);
    let mut seen = Vec::new();
    let found = loop {
        let Some((_, data)) = sse.event_until(deadline) else {
            break false;
        };
        let change: serde_json::Value = serde_json::from_str(&data).unwrap();
        if change["kind"] == "Service"
            && change["name"] == "web"
            && change["generation"].as_u64().unwrap_or(0) > generation
        {
            break true;
        }
        seen.push(data);
    };
    assert!(
        found,
        "no change of service/web within 2 s of the scale; saw {seen:?}"
    );
    // What the page's script then fetches shows the new count: it fetches again on each
    // change, and the service's status (which the page shows) follows its spec a moment
    // after the event of the spec's change.
    let page = loop {
        let a = get(&c.addr, "/clusters/default/services/web", Some(&cookie));
        if a.body.contains(r#"Desired <b class="desired">3</b>"#) || Instant::now() > deadline {
            break a.body;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        page.contains(r#"Desired <b class="desired">3</b>"#),
        "not desired 3 within 2 s of the scale:\n{page}"
    );
    drop(sse);
    settle(&s, "web");
}

/// The console in a real browser: headless chromium through WebDriver (selenium, see
/// tests/browser/console.py; scripts/install-browser.sh installs them): the one-time URL,
/// the overview and service page with their counts, keyboard navigation, a narrow window
/// without sideways scrolling, screenshots in target/tmp/, and a scale done with the CLI showing in the open page within 2 s without
/// reloading.
#[test]
fn console_in_a_browser_follows_a_scale() {
    let s = Server::start();
    deploy_web(&s, "v1", 2);
    let c = start_console(&s);

    let mut browser = Browser::start("console.py", &c, &[]);
    browser.ready(Duration::from_secs(90));
    let o = s.run(&["scale", "service", "web", "--replicas", "3"]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    browser.go_and_pass(Duration::from_secs(30));
    for shot in ["console-overview.png", "console-service-counts.png"] {
        assert_screenshot(shot);
    }
    settle(&s, "web");
}

/// `text` as the console's templates write it (minijinja escapes `/` too).
fn minijinja_escaped(text: &str) -> String {
    text.replace('/', "&#x2f;")
}
