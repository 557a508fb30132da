//! The console's service page end to end, through the real binary against a real server on
//! Docker (metrics sampled every second): a service behind a LoadBalancer with an Autoscaler
//! that scales it in, then rolled to a second revision. The page's CPU chart holds the
//! points the series API answers, the autoscaler's decision is marked on it, the targets
//! are the ones `/v1/loadbalancers/{name}/status` lists, and the rollout timeline shows both
//! deployments; in headless chromium the charts and targets are visible and reachable with
//! the keyboard, and a screenshot is saved for the README.
#![cfg(feature = "docker-tests")]

mod support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::console::{Browser, Console, api_get, assert_screenshot, get, start_console};
use support::services::get_service;
use support::{Server, poll};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// An httpd task answering `TEXT HOSTNAME`.
fn web_td(text: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: web}}\nspec:\n  networkMode: awsvpc\n  containerDefinitions:\n    - name: app\n      image: ecsctl/busybox:local\n      cpu: 256\n      memory: 32\n      stopTimeout: 1\n      portMappings: [{{containerPort: 8080}}]\n      command: [sh, -c, 'echo \"{text} $HOSTNAME\" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp']\n"
    )
}

/// web (2 tasks) behind the load balancer `front` on `port`, and an Autoscaler that keeps
/// its CPU near 50%: idle, it scales web in to its minimum, 1.
fn manifests(port: u16) -> String {
    format!(
        "{}---
apiVersion: ecs/v1
kind: LoadBalancer
metadata: {{name: front}}
spec:
  listeners: [{{port: {port}, protocol: HTTP, defaultService: web}}]
  healthCheck: {{path: /, intervalSeconds: 1, timeoutSeconds: 1, healthyThresholdCount: 2, unhealthyThresholdCount: 2}}
  deregistrationDelaySeconds: 1
---
apiVersion: ecs/v1
kind: Service
metadata: {{name: web}}
spec:
  taskDefinition: web
  desiredCount: 2
  deploymentConfiguration: {{minimumHealthyPercent: 100, maximumPercent: 200}}
  loadBalancers: [{{loadBalancerName: front, containerName: app, containerPort: 8080}}]
---
apiVersion: ecs/v1
kind: Autoscaler
metadata: {{name: web-cpu}}
spec:
  service: web
  minCapacity: 1
  maxCapacity: 2
  targetTracking:
    - {{metric: ECSServiceAverageCPUUtilization, targetValue: 50}}
",
        web_td("v1")
    )
}

/// `GET /` through the load balancer; true on a 200.
fn hit(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(
        s,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut out = String::new();
    s.read_to_string(&mut out).is_ok() && out.starts_with("HTTP/1.1 200")
}

fn events(s: &Server) -> Vec<String> {
    get_service(s, "web")["status"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect()
}

/// The service after its story: scaled in by the autoscaler, traffic through the load
/// balancer, rolled to a second revision; returns the listener's port.
fn set_up(s: &Server) -> u16 {
    let port = free_port();
    let manifest = s.write("web.yaml", &manifests(port));
    let o = s.run(&["apply", "-f", &manifest, "--wait", "--timeout", "60s"]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    poll("the autoscaler's scale-in", Duration::from_secs(30), || {
        events(s)
            .iter()
            .any(|m| m.contains("(service web) scaled from 2 to 1"))
            .then_some(())
    });
    // Traffic for the request rate; a request may meet the target being drained.
    let served = (0..30).filter(|_| hit(port)).count();
    assert!(served > 0, "no request went through the load balancer");
    let v2 = s.write("web-v2.yaml", &web_td("v2"));
    let o = s.run(&["apply", "-f", &v2]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    let o = s.run(&["rollout", "status", "service/web", "--timeout", "60s"]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    // A few points, for a line to draw.
    poll(
        "three CPU points in the series",
        Duration::from_secs(20),
        || {
            let series = api_get(s, "/v1/metrics/services/web/series?cluster=default");
            let cpu = series["points"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["cpuPercent"].is_number())
                .count();
            (cpu >= 3).then_some(())
        },
    );
    port
}

/// The `data-at`/`data-value` pairs of the circles inside the element with `id`.
fn chart_points(page: &str, id: &str) -> Vec<(String, f64)> {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} on the page: {page}"));
    let figure = &page[start..start + page[start..].find("</figure>").expect("</figure>")];
    figure
        .split("data-at=\"")
        .skip(1)
        .map(|rest| {
            let (at, rest) = rest.split_once('"').expect("data-at");
            let value = rest
                .split_once("data-value=\"")
                .and_then(|(_, v)| v.split_once('"'))
                .and_then(|(v, _)| v.parse().ok())
                .expect("data-value");
            (at.replace("&#x2f;", "/"), value)
        })
        .collect()
}

/// (task, address, health) of the service's targets, as the API lists them.
fn api_targets(s: &Server) -> BTreeSet<(String, String, String)> {
    let status = api_get(s, "/v1/loadbalancers/front/status?cluster=default");
    status["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["service"] == "web")
        .map(|t| {
            (
                t["taskId"].as_str().unwrap_or_default().to_string(),
                t["addr"].as_str().unwrap_or_default().to_string(),
                t["health"]["state"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// The same, as the page's targets table shows them.
fn page_targets(page: &str) -> BTreeSet<(String, String, String)> {
    page.split("<tr data-target=\"")
        .skip(1)
        .map(|row| {
            let cell = |class: &str| {
                row.split_once(&format!("class=\"{class}"))
                    .and_then(|(_, r)| r.split_once('>'))
                    .and_then(|(_, r)| r.split_once('<'))
                    .map(|(v, _)| v.to_string())
                    .unwrap_or_default()
            };
            let task = row.split_once('"').map(|(t, _)| t).unwrap_or_default();
            (task.to_string(), cell("addr"), cell("health "))
        })
        .collect()
}

fn service_page(c: &Console, cookie: &str) -> String {
    let a = get(&c.addr, "/clusters/default/services/web", Some(cookie));
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
}

#[test]
fn the_service_page_charts_targets_and_rollout_timeline() {
    let s = Server::start_with(&["--metrics-interval", "1s"]);
    set_up(&s);
    let c = start_console(&s);
    let cookie = c.login();

    // Charts: every point of the CPU chart is one the series API answers (the newest
    // bucket may still be filling), and the API's points in between are all drawn. Polled:
    // a sample may land in a bucket between the two reads.
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = service_page(&c, &cookie);
        let drawn = chart_points(&page, "chart-cpu");
        let series = api_get(
            &s,
            "/v1/metrics/services/web/series?cluster=default&since=1h",
        );
        let answered: Vec<(String, f64)> = series["points"]
            .as_array()
            .expect("points")
            .iter()
            .filter_map(|p| Some((p["at"].as_str()?.to_string(), p["cpuPercent"].as_f64()?)))
            .collect();
        let (first, newest) = match (drawn.first(), drawn.last()) {
            (Some(f), Some(n)) => (f.0.clone(), n.0.clone()),
            _ => (String::new(), String::new()),
        };
        let settled = |at: &str| at < newest.as_str();
        let drawn_settled: Vec<_> = drawn.iter().filter(|(at, _)| settled(at)).collect();
        let answered_settled: Vec<_> = answered
            .iter()
            .filter(|(at, _)| at.as_str() >= first.as_str() && settled(at))
            .collect();
        if drawn.len() >= 3 && drawn_settled == answered_settled {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "the CPU chart's points are not the series API's:\ndrawn {drawn:?}\nanswered {answered:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    for id in ["chart-memory", "chart-requests"] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(page.contains("<svg viewBox=\"0 0 400.0 164.0\""), "{page}");
    assert!(page.contains(">now</text>"), "a time axis ending now");

    // The autoscaler's decision, in its recorded words, marked on the charts.
    let decision = events(&s)
        .into_iter()
        .find(|m| m.contains("scaled from 2 to 1"))
        .expect("the decision's event");
    let words = decision
        .strip_prefix("(service web) ")
        .expect("the event names the service")
        .replace('>', "&gt;")
        .replace('<', "&lt;");
    assert_eq!(
        page.matches(&format!(r#"tabindex="0" aria-label="{words}">"#))
            .count(),
        3,
        "marked on the three charts: {words}\n{page}"
    );
    assert!(page.contains(r#"<g class="mark" id="chart-cpu-mark-1" tabindex="0""#));

    // Targets: the ones the load balancer's status lists, with their health.
    let (shown, listed) = poll("the page's targets", Duration::from_secs(10), || {
        let listed = api_targets(&s);
        let shown = page_targets(&service_page(&c, &cookie));
        (shown == listed && !listed.is_empty()).then_some((shown, listed))
    });
    assert_eq!(shown, listed);
    let running: BTreeSet<String> = support::services::tasks(&s, "web")
        .iter()
        .filter(|t| t["status"]["lastStatus"] == "RUNNING")
        .map(|t| {
            t["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let healthy: BTreeSet<String> = listed
        .iter()
        .filter(|(_, _, h)| h == "healthy")
        .map(|(t, _, _)| t.clone())
        .collect();
    assert_eq!(healthy, running, "the running task is the healthy target");

    // The rollout timeline: both deployments, the first shrunk to nothing, the second
    // created with web:2, grown and completed.
    let page = service_page(&c, &cookie);
    let lane = |id: &str| -> String {
        let start = page
            .find(&format!(
                "data-deployment=\"{}\"",
                id.replace('/', "&#x2f;")
            ))
            .unwrap_or_else(|| panic!("no lane of {id}: {page}"));
        let rest = &page[start..];
        rest[..rest.find("</ol></li>").expect("the lane's end")].to_string()
    };
    let deployments: Vec<(String, String)> = get_service(&s, "web")["status"]["deployments"]
        .as_array()
        .expect("deployments")
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (text("taskDefinition"), text("id"))
        })
        .collect();
    assert_eq!(deployments.len(), 2, "{deployments:?}");
    let of = |td: &str| {
        let (_, id) = deployments
            .iter()
            .find(|(t, _)| t == td)
            .unwrap_or_else(|| panic!("no deployment of {td}: {deployments:?}"));
        lane(id)
    };
    let (first, second) = (of("web:1"), of("web:2"));
    assert!(first.contains("created (web:1)"), "{first}");
    assert!(first.contains("grew to "), "{first}");
    assert!(first.contains("shrank to 1 task"), "the scale-in: {first}");
    assert!(first.contains("shrank to 0 tasks"), "the rollout: {first}");
    assert!(second.contains("created (web:2)"), "{second}");
    assert!(second.contains("grew to 1 task"), "{second}");
    assert!(second.contains("rollout completed"), "{second}");
    assert!(
        second.contains("<time datetime=\"") && second.contains(" ago</time>"),
        "relative times with the absolute one: {second}"
    );
}

/// The page in headless chromium (tests/browser/console_service.py): charts and targets
/// visible, reachable with Tab, no sideways scroll at 420 px, screenshots in target/tmp/.
#[test]
fn the_service_page_in_a_browser() {
    let s = Server::start_with(&["--metrics-interval", "1s"]);
    set_up(&s);
    let c = start_console(&s);
    let mut browser = Browser::start(
        "console_service.py",
        &c,
        &["/clusters/default/services/web"],
    );
    let verdict = browser.line(Duration::from_secs(90));
    assert_eq!(verdict, "OK", "the browser script's verdict");
    assert!(browser.finish(), "the browser script failed");
    for shot in [
        "console-service.png",
        "console-service-420.png",
        "console-service-full.png",
    ] {
        assert_screenshot(shot);
    }
}
