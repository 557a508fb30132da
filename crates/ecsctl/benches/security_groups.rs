//! What security groups cost on the proxy's path: the built-in load balancer (and health
//! checks) reach an awsvpc task from the host's side of the cluster network, through the
//! packet filter of the task's namespace. This times new connections from the host to a
//! task (busybox httpd; one HTTP/1.0 request per connection, so every request is a new
//! connection judged by the filter) with the filter ecsctl loaded (a group of 60 rules) and
//! with the namespace's filter flushed, alternating three times in one run.
//! `cargo bench -p ecsctl --bench security_groups` (root, Docker, iptables: the Docker tier).

mod common;

use common::{Server, percentiles, running_tasks};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

const REQUESTS: usize = 2000;

fn objects(extra_rule: bool) -> String {
    let mut rules: Vec<String> = (0..58)
        .map(|i| {
            format!(
                r#"{{"protocol":"tcp","fromPort":9000,"toPort":9000,"source":{{"cidr":"10.200.{i}.0/24"}}}}"#
            )
        })
        .collect();
    rules.push(
        r#"{"protocol":"tcp","fromPort":8080,"toPort":8080,"source":{"securityGroup":"web"}}"#
            .to_string(),
    );
    rules.push(format!(
        r#"{{"protocol":"udp","fromPort":{p},"toPort":{p},"source":{{"cidr":"10.201.0.0/16"}}}}"#,
        p = if extra_rule { 54 } else { 53 }
    ));
    format!(
        r#"[{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"sgbench"}},"spec":{{"networkMode":"awsvpc","containerDefinitions":[{{"name":"app","image":"ecsctl/busybox:local","memory":32,"stopTimeout":1,"command":["sh","-c","mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]}}]}}}},
{{"apiVersion":"ecs/v1","kind":"SecurityGroup","metadata":{{"name":"api"}},"spec":{{"ingress":[{}]}}}},
{{"apiVersion":"ecs/v1","kind":"Task","metadata":{{"name":"sgbench1"}},"spec":{{"taskDefinition":"sgbench","networkConfiguration":{{"awsvpcConfiguration":{{"subnets":["s"],"securityGroups":["api"]}}}}}}}}]"#,
        rules.join(",")
    )
}

fn get(addr: SocketAddr) -> Duration {
    let t0 = Instant::now();
    let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
    let mut out = Vec::new();
    c.read_to_end(&mut out).expect("read");
    assert!(out.ends_with(b"ok\n"), "{}", String::from_utf8_lossy(&out));
    t0.elapsed()
}

fn measure(addr: SocketAddr) -> (f64, f64) {
    for _ in 0..50 {
        get(addr);
    }
    let (p50, p99, _) = percentiles((0..REQUESTS).map(|_| get(addr)).collect());
    (p50, p99)
}

fn in_namespace(pid: &str, args: &[&str]) -> String {
    let o = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(args)
        .output()
        .expect("nsenter");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn main() {
    let server = Server::start();
    server.apply(&objects(false));
    let deadline = Instant::now() + Duration::from_secs(60);
    let ip = loop {
        if let Some(t) = running_tasks(&server).first() {
            break t["status"]["privateIp"].as_str().expect("ip").to_string();
        }
        assert!(Instant::now() < deadline, "the task did not run");
        std::thread::sleep(Duration::from_millis(50));
    };
    let addr: SocketAddr = format!("{ip}:8080").parse().expect("addr");
    let holder = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=ecsctl.instance={}", server.instance()),
            "--filter",
            "label=ecsctl.netns=true",
        ])
        .output()
        .expect("docker ps");
    let holder = String::from_utf8_lossy(&holder.stdout).trim().to_string();
    let pid = Command::new("docker")
        .args(["inspect", "-f", "{{.State.Pid}}", &holder])
        .output()
        .expect("docker inspect");
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();

    println!("new connections from the host to an awsvpc task, {REQUESTS} per phase (ms)");
    println!("{:<44} {:>8} {:>8}", "phase", "p50", "p99");
    for round in 0..3 {
        // ecsctl's filter: wait until the namespace holds this round's plan.
        let extra = round % 2 == 1;
        server.apply(&objects(extra));
        let want = if extra { "--dport 54" } else { "--dport 53" };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !in_namespace(&pid, &["iptables", "-S"]).contains(want) {
            assert!(Instant::now() < deadline, "filter not reloaded");
            std::thread::sleep(Duration::from_millis(20));
        }
        let rules = in_namespace(&pid, &["iptables", "-S", "ECSCTL-INGRESS"])
            .lines()
            .filter(|l| l.starts_with("-A"))
            .count();
        let (p50, p99) = measure(addr);
        println!(
            "{:<44} {p50:>8.3} {p99:>8.3}",
            format!("round {round}: filtered ({rules} ingress rules)")
        );
        for args in [
            &["iptables", "-P", "INPUT", "ACCEPT"][..],
            &["iptables", "-P", "OUTPUT", "ACCEPT"][..],
            &["iptables", "-F"][..],
            &["iptables", "-X"][..],
        ] {
            in_namespace(&pid, args);
        }
        let (p50, p99) = measure(addr);
        println!(
            "{:<44} {p50:>8.3} {p99:>8.3}",
            format!("round {round}: no filter (flushed)")
        );
    }
}
