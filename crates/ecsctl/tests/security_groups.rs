//! End-to-end tests of security groups on the real Docker engine: the real `ecsctl` binary
//! and server, tasks in groups, and connections between their containers (`docker exec` of
//! busybox's wget), so what is checked is what the kernel lets through.
//!
//! Every test removes what it made even when it fails: dropping its [`Server`] removes the
//! containers and networks carrying that server's `ecsctl.instance` label, and no others; the
//! packet filters live in the tasks' own network namespaces and go with them.
#![cfg(feature = "docker-tests")]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Server, docker, expect_code, stdout};

/// An api task serving a page with busybox httpd on 8080, a client task that only waits,
/// and the groups: `api` lets `web` in on 8080; `web` and `other` allow nothing in.
const SCENE: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata: {name: sgapi}
spec:
  networkMode: awsvpc
  containerDefinitions:
    - name: app
      image: ecsctl/busybox:local
      memory: 32
      command: [sh, -c, 'mkdir -p /www && echo api-ok > /www/index.html && exec httpd -f -p 8080 -h /www']
---
apiVersion: ecs/v1
kind: TaskDefinition
metadata: {name: sgclient}
spec:
  networkMode: awsvpc
  containerDefinitions:
    - name: app
      image: ecsctl/busybox:local
      memory: 32
      command: [sleep, '3600']
      stopTimeout: 1
---
apiVersion: ecs/v1
kind: SecurityGroup
metadata: {name: api}
spec:
  description: the api, reached by web
  ingress:
    - {protocol: tcp, fromPort: 8080, toPort: 8080, source: {securityGroup: web}}
---
apiVersion: ecs/v1
kind: SecurityGroup
metadata: {name: web}
spec: {}
---
apiVersion: ecs/v1
kind: SecurityGroup
metadata: {name: other}
spec: {}
";

/// A Task of `td` in `groups` (none: the cluster's default group).
fn task(name: &str, td: &str, groups: &[&str]) -> String {
    let network = if groups.is_empty() {
        String::new()
    } else {
        format!(
            "  networkConfiguration: {{awsvpcConfiguration: {{subnets: [local], securityGroups: [{}]}}}}\n",
            groups.join(", ")
        )
    };
    format!(
        "---\napiVersion: ecs/v1\nkind: Task\nmetadata: {{name: {name}}}\nspec:\n  taskDefinition: {td}\n{network}"
    )
}

fn running(s: &Value) -> bool {
    s["lastStatus"] == "RUNNING"
}

/// The Docker id of the task's `app` container.
fn app_container(status: &Value) -> String {
    status["containers"][0]["runtimeId"]
        .as_str()
        .expect("runtime id")
        .to_string()
}

/// One HTTP GET from inside `container`, waiting at most `seconds`: the page, or None when
/// the connection was refused or timed out.
fn fetch(container: &str, url: &str, seconds: u32) -> Option<String> {
    // busybox's own `wget -T` crashes in this static build: `timeout` bounds it instead.
    let o = docker(&[
        "exec",
        container,
        "timeout",
        &seconds.to_string(),
        "wget",
        "-q",
        "-O",
        "-",
        url,
    ]);
    o.status.success().then(|| stdout(&o).trim().to_string())
}

/// Fetches until the page comes (Some(time it took)) or `within` passed (None).
fn reaches_within(container: &str, url: &str, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if fetch(container, url, 1).as_deref() == Some("api-ok") {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn a_group_lets_in_only_the_groups_it_names_and_a_rule_change_reaches_running_tasks() {
    let s = Server::start();
    let mut yaml = SCENE.to_string();
    for (name, td, groups) in [
        ("api1", "sgapi", &["api"][..]),
        ("web1", "sgclient", &["web"][..]),
        ("other1", "sgclient", &["other"][..]),
        ("plain1", "sgclient", &[][..]),
    ] {
        yaml.push_str(&task(name, td, groups));
    }
    s.apply(&yaml);
    let within = Duration::from_secs(30);
    let api = s.wait_task("api1", within, running);
    let web = s.wait_task("web1", within, running);
    let other = s.wait_task("other1", within, running);
    let plain = s.wait_task("plain1", within, running);
    let ip = api["privateIp"].as_str().expect("api's address");
    let url = format!("http://{ip}:8080/");

    // web is let in on 8080 (as soon as its address is in api's filter).
    let took = reaches_within(&app_container(&web), &url, Duration::from_secs(5));
    assert!(took.is_some(), "web never reached api:\n{}", s.log());
    // other and a task of the default group are not: refused or timed out.
    assert_eq!(fetch(&app_container(&other), &url, 2), None);
    assert_eq!(fetch(&app_container(&plain), &url, 2), None);
    // The host's side of the network (the load balancer's and health checks') always is.
    assert_eq!(host_fetch(ip, 8080).as_deref(), Some("api-ok"));

    // The kernel holds the rule, in api's own namespace.
    let rules = namespace_rules(&s, "api1");
    assert!(
        rules.contains("-A ECSCTL-INGRESS -s ") && rules.contains("--dport 8080 -j ACCEPT"),
        "{rules}"
    );

    // Describe shows a task's groups and a group's members.
    let d = stdout(&s.run(&["describe", "task", "other1"]));
    assert!(d.contains("Security Groups:") && d.contains("other"), "{d}");
    let d = stdout(&s.run(&["describe", "sg", "api"]));
    assert!(
        d.contains("group web") && d.contains("api1") && d.contains(ip),
        "{d}"
    );
    let g = stdout(&s.run(&["get", "sg"]));
    assert!(
        g.contains("api") && g.contains("1 rules") && g.contains("all"),
        "{g}"
    );

    // Letting `other` in reaches the running api task within 5 s.
    s.apply(
        "apiVersion: ecs/v1
kind: SecurityGroup
metadata: {name: api}
spec:
  ingress:
    - {protocol: tcp, fromPort: 8080, toPort: 8080, source: {securityGroup: web}}
    - {protocol: tcp, fromPort: 8080, toPort: 8080, source: {securityGroup: other}}
",
    );
    let took = reaches_within(&app_container(&other), &url, Duration::from_secs(5));
    eprintln!("other let in after {took:?}");
    assert!(
        took.is_some(),
        "other was not let in within 5 s:\n{}",
        s.log()
    );
    // ... and only other: the default group's task is still out.
    assert_eq!(fetch(&app_container(&plain), &url, 2), None);

    // A server killed and started again keeps enforcing: taking `other` out again reaches
    // the running api task.
    let mut s = s;
    s.kill9();
    s.spawn();
    s.apply(SCENE);
    let start = Instant::now();
    while fetch(&app_container(&other), &url, 1).is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "other still let in after the restart:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("other shut out after the restart in {:?}", start.elapsed());
    assert_eq!(
        reaches_within(&app_container(&web), &url, Duration::from_secs(5)).map(|_| ()),
        Some(())
    );
}

#[test]
fn a_task_of_the_default_group_reaches_its_peers_as_before_and_a_missing_group_lets_nothing_in() {
    let s = Server::start();
    let mut yaml = SCENE.to_string();
    yaml.push_str(&task("plainapi", "sgapi", &[]));
    yaml.push_str(&task("plainweb", "sgclient", &[]));
    yaml.push_str(&task("lost", "sgapi", &["no-such-group"]));
    s.apply(&yaml);
    let within = Duration::from_secs(30);
    let api = s.wait_task("plainapi", within, running);
    let web = s.wait_task("plainweb", within, running);
    let lost = s.wait_task("lost", within, running);
    let url = |t: &Value| format!("http://{}:8080/", t["privateIp"].as_str().expect("ip"));
    assert!(
        reaches_within(&app_container(&web), &url(&api), Duration::from_secs(5)).is_some(),
        "default group members do not reach each other:\n{}",
        s.log()
    );
    assert_eq!(fetch(&app_container(&web), &url(&lost), 2), None);
    let d = stdout(&s.run(&["describe", "sg", "default"]));
    assert!(
        d.contains("group default") && d.contains("plainweb") && !d.contains("lost"),
        "{d}"
    );
    let d = stdout(&s.run(&["describe", "task", "plainweb"]));
    assert!(
        d.contains("Security Groups:") && d.contains("default"),
        "{d}"
    );

    // run-task puts its tasks in groups (awsvpc task definitions only).
    let o = s.run(&[
        "run-task",
        "--task-definition",
        "sgclient",
        "--security-groups",
        "web,other",
        "--wait",
    ]);
    expect_code(&o, 0);
    let id = stdout(&o).trim().to_string();
    let o = s.run(&["get", "task", &id, "-o", "json"]);
    let t: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(
        t["spec"]["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"],
        serde_json::json!(["web", "other"])
    );
    s.apply(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: sgbridge}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, memory: 16}\n",
    );
    let o = s.run(&[
        "run-task",
        "--task-definition",
        "sgbridge",
        "--security-groups",
        "web",
    ]);
    expect_code(&o, 2);
    assert!(
        support::stderr(&o).contains("needs an awsvpc task definition"),
        "{}",
        support::stderr(&o)
    );
}

/// One HTTP GET from this host (the network's gateway side): the body, or None.
fn host_fetch(ip: &str, port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let addr = format!("{ip}:{port}").parse().ok()?;
    let mut c = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut body = String::new();
    c.read_to_string(&mut body).ok()?;
    body.split("\r\n\r\n").nth(1).map(|b| b.trim().to_string())
}

/// `iptables -S` inside the task's network namespace (its pause container's).
fn namespace_rules(s: &Server, task: &str) -> String {
    let o = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=ecsctl.instance={}", s.instance()),
        "--filter",
        &format!("label=ecsctl.task={task}"),
        "--filter",
        "label=ecsctl.netns=true",
    ]);
    let holder = stdout(&o).trim().to_string();
    let pid = stdout(&docker(&["inspect", "-f", "{{.State.Pid}}", &holder]))
        .trim()
        .to_string();
    let o = std::process::Command::new("nsenter")
        .args([&format!("--net=/proc/{pid}/ns/net"), "iptables", "-S"])
        .output()
        .expect("nsenter");
    stdout(&o)
}

#[test]
fn a_services_tasks_are_in_its_groups_and_reached_by_name_only_from_the_groups_it_allows() {
    let s = Server::start();
    let mut yaml = SCENE.to_string();
    yaml.push_str(
        "---
apiVersion: ecs/v1
kind: Service
metadata: {name: shop}
spec:
  taskDefinition: sgapi
  desiredCount: 1
  networkConfiguration: {awsvpcConfiguration: {subnets: [local], securityGroups: [api]}}
",
    );
    yaml.push_str(&task("web2", "sgclient", &["web"]));
    yaml.push_str(&task("other2", "sgclient", &["other"]));
    s.apply(&yaml);
    let within = Duration::from_secs(30);
    let web = s.wait_task("web2", within, running);
    let other = s.wait_task("other2", within, running);
    let deadline = Instant::now() + within;
    let shop = loop {
        let o = s.run(&["get", "tasks", "-o", "json"]);
        let list: Value = serde_json::from_slice(&o.stdout).expect("json");
        let found = list["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|t| {
                    t["metadata"]["labels"]["ecsctl.service"] == "shop"
                        && t["status"]["lastStatus"] == "RUNNING"
                })
                .cloned()
        });
        if let Some(t) = found {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "the service's task did not run:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        shop["spec"]["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"],
        serde_json::json!(["api"])
    );
    // By the service's name on the cluster network: web in, other out.
    let url = "http://shop:8080/";
    assert!(
        reaches_within(&app_container(&web), url, Duration::from_secs(5)).is_some(),
        "web does not reach the service:\n{}",
        s.log()
    );
    assert_eq!(fetch(&app_container(&other), url, 2), None);
}
