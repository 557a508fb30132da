//! `ecsctl agent` end to end (issue 16): a server on TCP, and two or three hosts, each an extra
//! Docker engine with an agent in front of it (`support::agents`). Placement is checked
//! twice, in the store (each task's `containerInstance`) and on the engines (which one runs
//! which task's container; the server's own engine runs none of the cluster's), for
//! spread, binpack, `memberOf` on an attribute, and run-task / stop-task; then an agent
//! and the server are restarted under running tasks.
//!
//! Images come from `scripts/build-images.sh` (nothing can be pulled).
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::IMAGE;
use support::agents::*;

/// How long tasks may take from apply to RUNNING on the agents' engines.
const RUN_WITHIN: Duration = Duration::from_secs(30);

/// The message of ECS's service event for a task that fits nowhere.
const UNPLACEABLE: &str =
    "was unable to place a task because no container instance met all of its requirements";

#[test]
fn spread_on_instance_id_puts_half_the_tasks_on_each_host() {
    let t0 = Instant::now();
    let f = Fleet::start("spread", &[Host::plain(), Host::plain()]);
    eprintln!(
        "timing: server, 2 engines and 2 agents up in {:?}",
        t0.elapsed()
    );
    let ids = f.ids();
    f.apply(&format!(
        "{}---\n{}",
        task_definition("web", 16),
        service(
            "web",
            &f.cluster,
            "web",
            4,
            &["placementStrategy: [{type: spread, field: instanceId}]"]
        )
    ));
    let ts = f.wait_tasks("web", "4 tasks RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 4
    });
    let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
    let want: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 2)).collect();
    assert_eq!(per_instance(&run), want, "{run:#?}");
    assert_engines_run_their_tasks(&f, &run);
    eprintln!("timing: spread test done in {:?}", t0.elapsed());
}

#[test]
fn binpack_on_memory_fills_one_host_before_the_other() {
    let t0 = Instant::now();
    let small = || Host::plain().capacity("cpu=1024,memory=256");
    let f = Fleet::start("binpack", &[small(), small()]);
    let ids = f.ids();
    for ci in f.instances() {
        assert_eq!(ci["status"]["registeredResources"]["memory"], 256, "{ci:#}");
        assert_eq!(ci["status"]["registeredResources"]["cpu"], 1024, "{ci:#}");
    }
    f.apply(&format!(
        "{}---\n{}",
        task_definition("packed", 64),
        service(
            "packed",
            &f.cluster,
            "packed",
            4,
            &["placementStrategy: [{type: binpack, field: memory}]"]
        )
    ));
    let ts = f.wait_tasks("packed", "4 tasks RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 4
    });
    let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
    let first = per_instance(&run);
    assert_eq!(
        first.values().copied().collect::<Vec<_>>(),
        vec![4],
        "{run:#?}"
    );
    let full = first.keys().next().expect("one instance").clone();
    let other = ids.iter().find(|id| **id != full).expect("two ids").clone();
    // The full instance says so on its next heartbeat.
    f.wait(
        "the full instance reports no memory left",
        RUN_WITHIN,
        || {
            f.instances()
                .into_iter()
                .find(|ci| name(ci) == full && ci["status"]["remainingResources"]["memory"] == 0)
        },
    );

    // A fifth task fits only on the other one.
    f.ok(&["scale", "service/packed", "--replicas", "5"]);
    let ts = f.wait_tasks("packed", "5 tasks RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 5
    });
    let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
    let want = BTreeMap::from([(full, 4), (other, 1)]);
    assert_eq!(per_instance(&run), want, "{run:#?}");
    assert_engines_run_their_tasks(&f, &run);
    eprintln!("timing: binpack test done in {:?}", t0.elapsed());
}

#[test]
fn member_of_an_attribute_places_only_on_matching_hosts_and_says_when_none_matches() {
    let t0 = Instant::now();
    let f = Fleet::start(
        "memberof",
        &[
            Host::plain().attribute("stack=prod"),
            Host::plain().attribute("stack=dev"),
            Host::plain().attribute("stack=prod"),
        ],
    );
    let ids = f.ids();
    let stacks = ["prod", "dev", "prod"];
    let cis = f.instances();
    assert_eq!(cis.len(), 3, "{cis:#?}");
    for (id, stack) in ids.iter().zip(stacks) {
        let ci = cis.iter().find(|c| name(c) == id).expect("instance");
        assert_eq!(ci["status"]["attributes"]["stack"], stack, "{ci:#}");
    }
    // Spread alone would put a third of them on dev; the constraint comes first.
    f.apply(&format!(
        "{}---\n{}---\n{}",
        task_definition("api", 16),
        service(
            "api",
            &f.cluster,
            "api",
            4,
            &[
                "placementStrategy: [{type: spread, field: instanceId}]",
                "placementConstraints: [{type: memberOf, expression: 'attribute:stack == prod'}]",
            ]
        ),
        service(
            "nowhere",
            &f.cluster,
            "api",
            1,
            &["placementConstraints: [{type: memberOf, expression: 'attribute:stack in [qa, staging]'}]"]
        )
    ));
    let ts = f.wait_tasks("api", "4 tasks RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 4
    });
    let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
    let want = BTreeMap::from([(ids[0].clone(), 2), (ids[2].clone(), 2)]);
    assert_eq!(per_instance(&run), want, "{run:#?}");
    assert_engines_run_their_tasks(&f, &run);

    // The service that matches nothing gets ECS's event and no task.
    let events = f.wait("the unplaceable service's event", RUN_WITHIN, || {
        let svc = f.get(&["service", "nowhere"]);
        let messages: Vec<String> = svc["status"]["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str().map(str::to_string))
            .collect();
        messages
            .iter()
            .any(|m| m.contains("(service nowhere)") && m.contains(UNPLACEABLE))
            .then_some(messages)
    });
    eprintln!("events of nowhere: {events:#?}");
    assert_eq!(f.service_tasks("nowhere"), Vec::<Value>::new());
    let described = f.ok(&["describe", "service", "nowhere"]);
    assert!(described.contains(UNPLACEABLE), "{described}");
    eprintln!("timing: memberOf test done in {:?}", t0.elapsed());
}

#[test]
fn a_restarted_agent_adopts_its_containers_and_a_restarted_server_keeps_every_instance() {
    let t0 = Instant::now();
    let mut f = Fleet::start("restarts", &[Host::plain(), Host::plain()]);
    let ids = f.ids();
    f.apply(&format!(
        "{}---\n{}",
        task_definition("web", 16),
        service(
            "web",
            &f.cluster,
            "web",
            4,
            &["placementStrategy: [{type: spread, field: instanceId}]"]
        )
    ));
    let ts = f.wait_tasks("web", "4 tasks RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 4
    });
    f.wait("runningCount 4", RUN_WITHIN, || {
        (f.get(&["service", "web"])["status"]["runningCount"] == 4).then_some(())
    });
    let before = started(&ts);
    let registered = registered_at(&f);
    let on_engine0 = f.engine_tasks(0);
    let ever0 = f.engine_containers_ever(0);
    assert_eq!(on_engine0.len(), 2, "{on_engine0:?}");

    // SIGTERM agent 0 and start it again, while sampling the service until it has looked
    // at every task again (its first pass when its watch starts) and sent a few
    // heartbeats.
    let (_, samples) = sampled(&f, || {
        let status = f.agents[0].terminate();
        assert!(status.success(), "agent exited {status}:\n{}", f.report());
        let restarted = Instant::now();
        f.agents[0].start();
        f.wait_connected(&ids[..1], restarted);
        std::thread::sleep(Duration::from_secs(3));
    });
    // Nothing moved.
    assert_eq!(f.ids(), ids, "the instance id changed");
    let cis = f.instances();
    assert_eq!(cis.len(), 2, "a new instance registered: {cis:#?}");
    assert_eq!(registered_at(&f), registered, "registered again as new");
    assert_eq!(
        f.engine_tasks(0),
        on_engine0,
        "containers not adopted as they were"
    );
    assert_eq!(
        f.engine_containers_ever(0),
        ever0,
        "a container was made again"
    );
    let now = f.service_tasks("web");
    assert_eq!(
        started(&now),
        before,
        "a task moved, stopped or started again"
    );
    let dips: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.running != 4 || s.running_count != 4)
        .collect();
    assert!(dips.is_empty(), "running count moved: {dips:?}");
    eprintln!(
        "timing: agent restart sampled {} times over {:?}",
        samples.len(),
        samples.last().map(|s| s.at)
    );

    // The restarted agent acts on what it adopted: a task stopped there stops there, and
    // the service replaces it.
    let victim = on_engine0
        .keys()
        .next()
        .expect("a task on engine 0")
        .clone();
    f.ok(&["stop-task", &victim, "--wait", "--timeout", "20s"]);
    f.wait("the stopped task's container gone", RUN_WITHIN, || {
        (!f.engine_tasks(0).contains_key(&victim)).then_some(())
    });
    f.wait_tasks("web", "a replacement RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 4
    });

    // The server restarts on the same data directory: every instance is still there, and
    // reports connected again after a heartbeat.
    let ts = f.wait_tasks("web", "4 tasks RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 4
    });
    let before = started(&ts);
    let containers: Vec<_> = (0..2).map(|i| f.engine_tasks(i)).collect();
    let restarted = Instant::now();
    f.restart_server();
    let listed: BTreeSet<String> = f.instances().iter().map(|c| name(c).to_string()).collect();
    assert_eq!(
        listed,
        ids.iter().cloned().collect(),
        "instances after restart"
    );
    f.wait_connected(&ids, restarted);
    assert_eq!(registered_at(&f), registered);
    eprintln!(
        "timing: server restart to every agent connected: {:?}",
        restarted.elapsed()
    );
    assert_eq!(started(&f.service_tasks("web")), before);
    let after: Vec<_> = (0..2).map(|i| f.engine_tasks(i)).collect();
    assert_eq!(
        after, containers,
        "containers changed over the server's restart"
    );

    // And the agents take new tasks again (their watches came back).
    f.ok(&["scale", "service/web", "--replicas", "6"]);
    let ts = f.wait_tasks("web", "6 tasks RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 6
    });
    let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
    let want: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 3)).collect();
    assert_eq!(per_instance(&run), want, "{run:#?}");
    assert_engines_run_their_tasks(&f, &run);
    eprintln!("timing: restarts test done in {:?}", t0.elapsed());
}

#[test]
fn run_task_lands_on_an_agent_and_stop_task_stops_it_there() {
    let t0 = Instant::now();
    let f = Fleet::start("runtask", &[Host::plain(), Host::plain()]);
    let ids = f.ids();
    f.apply(&task_definition("job", 16));
    let out = f.ok(&[
        "run-task",
        "--task-definition",
        "job",
        "--wait",
        "--timeout",
        "30s",
    ]);
    let id = out.lines().next().expect("a task id").trim().to_string();
    let task = f.get(&["task", &id]);
    assert!(running(&task), "{task:#}");
    let on = placed_on(&task);
    let host = ids
        .iter()
        .position(|i| *i == on)
        .expect("placed on an agent");
    assert_engines_run_their_tasks(&f, &[&task]);
    let container = f.engine_tasks(host)[&id].clone();
    assert_eq!(container.len(), 1, "{container:?}");

    f.ok(&[
        "stop-task",
        &id,
        "--reason",
        "done here",
        "--wait",
        "--timeout",
        "20s",
    ]);
    let task = f.get(&["task", &id]);
    assert_eq!(text(&task, "/status/lastStatus"), "STOPPED", "{task:#}");
    assert_eq!(
        text(&task, "/status/stoppedReason"),
        "done here",
        "{task:#}"
    );
    assert!(
        !f.engine_tasks(host).contains_key(&id),
        "still running there"
    );
    // Stopped where it ran: the container, if that engine keeps it, has exited.
    let c = container.iter().next().expect("container");
    let o = f.engines[host].docker(&["inspect", "-f", "{{.State.Status}}", c]);
    if o.status.success() {
        assert_eq!(support::stdout(&o).trim(), "exited");
    }
    assert!(f.main_engine_containers().is_empty());
    eprintln!("timing: run-task test done in {:?}", t0.elapsed());
}

/// Each engine runs exactly the containers of the tasks placed on its instance (one per
/// task), and the main engine runs none of the cluster's.
#[track_caller]
/// The server's load balancer reaches tasks on every host: a bridge-mode task's port is
/// published on its agent's `--address`, and the target is that address and port.
#[test]
fn the_load_balancer_spreads_requests_over_tasks_on_every_host() {
    let f = Fleet::start("lb", &[Host::plain(), Host::plain()]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let cluster = f.cluster.clone();
    f.apply(&format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: echo}}\nspec:\n  containerDefinitions:\n    - name: app\n      image: {IMAGE}\n      memory: 16\n      stopTimeout: 1\n      portMappings: [{{containerPort: 8080, hostPort: 0}}]\n      command: [sh, -c, 'mkdir -p /www && echo \"$HOSTNAME\" > /www/index.html && exec httpd -f -p 8080 -h /www']\n---\napiVersion: ecs/v1\nkind: LoadBalancer\nmetadata: {{name: front, cluster: {cluster}}}\nspec:\n  listeners: [{{port: {port}, protocol: HTTP, defaultService: echo}}]\n  healthCheck: {{path: /, intervalSeconds: 1, timeoutSeconds: 1, healthyThresholdCount: 2, unhealthyThresholdCount: 2}}\n---\n{}",
        service(
            "echo",
            &cluster,
            "echo",
            4,
            &[
                "placementStrategy: [{type: spread, field: instanceId}]",
                "loadBalancers: [{loadBalancerName: front, containerName: app, containerPort: 8080}]",
            ]
        )
    ));
    let ts = f.wait_tasks("echo", "4 tasks RUNNING", RUN_WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 4
    });
    let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
    assert_eq!(per_instance(&run).len(), 2, "on both hosts: {run:#?}");
    // Every binding is on its host's address, not loopback.
    for t in &run {
        let ip = text(t, "/status/containers/0/networkBindings/0/hostIp");
        assert!(
            ip.starts_with("10.213."),
            "published on the agent's --address: {t:#}"
        );
    }
    let seen = f.wait(
        "every task answering through the load balancer",
        RUN_WITHIN,
        || {
            let mut seen = BTreeSet::new();
            for _ in 0..40 {
                if let Some(body) = http_get(port) {
                    seen.insert(body);
                }
            }
            (seen.len() == 4).then_some(seen)
        },
    );
    assert_eq!(seen.len(), 4, "{seen:?}");
}

/// Draining a host moves its service tasks to the other host without dropping below the
/// service's minimumHealthyPercent (50% of 4: never fewer than 2 running), and undrain lets
/// it take tasks again.
#[test]
fn draining_a_host_moves_its_tasks_within_the_service_bounds() {
    let f = Fleet::start("drain", &[Host::plain(), Host::plain()]);
    let ids = f.ids();
    f.apply(&format!(
        "{}---\n{}",
        task_definition("web", 16),
        service(
            "web",
            &f.cluster,
            "web",
            4,
            &[
                "placementStrategy: [{type: spread, field: instanceId}]",
                "deploymentConfiguration: {minimumHealthyPercent: 50, maximumPercent: 200}",
            ]
        )
    ));
    f.wait_tasks("web", "4 tasks RUNNING, 2 per host", RUN_WITHIN, |ts| {
        let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
        run.len() == 4 && per_instance(&run).len() == 2
    });
    let (drained, samples) = sampled(&f, || {
        let out = f.ok(&["drain", &ids[0]]);
        assert!(out.contains("draining"), "{out}");
        f.wait_tasks("web", "every task on the other host", RUN_WITHIN, |ts| {
            let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
            run.len() == 4 && run.iter().all(|t| placed_on(t) == ids[1])
        })
    });
    let low = samples.iter().map(|s| s.running).min().unwrap_or(0);
    assert!(
        low >= 2,
        "below minimumHealthyPercent while draining: {samples:?}"
    );
    assert!(drained.iter().filter(|t| running(t)).count() == 4);
    assert_eq!(
        f.engine_tasks(0).len(),
        0,
        "nothing left running on the drained host"
    );
    let ci = f.get(&["ci", &ids[0]]);
    assert_eq!(ci["spec"]["draining"], true, "{ci:#}");
    // Undrain: it takes new tasks again.
    f.ok(&["undrain", &ids[0]]);
    f.ok(&["scale", "service", "web", "--replicas", "8"]);
    f.wait_tasks("web", "new tasks on the undrained host", RUN_WITHIN, |ts| {
        ts.iter().any(|t| running(t) && placed_on(t) == ids[0])
    });
}

/// `kill -9` of an agent: after `--instance-timeout` its instance is disconnected, its tasks
/// STOPPED (TerminationNotice) and replaced on the other host within the timeout + 10 s;
/// when it comes back it removes the containers of those tasks (they kept running on its
/// engine meanwhile), so no task runs twice, and it takes new tasks again.
#[test]
fn a_killed_agent_loses_its_tasks_to_the_other_host_and_cleans_up_when_back() {
    const TIMEOUT: Duration = Duration::from_secs(3);
    let f = Fleet::start_with(
        "loss",
        &[Host::plain(), Host::plain()],
        &["--instance-timeout", "3s"],
    );
    let ids = f.ids();
    f.apply(&format!(
        "{}---\n{}",
        task_definition("web", 16),
        service(
            "web",
            &f.cluster,
            "web",
            4,
            &["placementStrategy: [{type: spread, field: instanceId}]"]
        )
    ));
    f.wait_tasks("web", "4 tasks RUNNING, 2 per host", RUN_WITHIN, |ts| {
        let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
        run.len() == 4 && per_instance(&run).len() == 2
    });
    let lost: BTreeSet<String> = f.engine_tasks(0).into_keys().collect();
    assert_eq!(lost.len(), 2);
    let killed = Instant::now();
    f.agents[0].kill();
    let ts = f.wait_tasks(
        "web",
        "the lost host's tasks STOPPED and 4 running on the other",
        TIMEOUT + Duration::from_secs(10),
        |ts| {
            let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
            run.len() == 4
                && run.iter().all(|t| placed_on(t) == ids[1])
                && ts.iter().filter(|t| lost.contains(name(t))).all(|t| {
                    text(t, "/status/lastStatus") == "STOPPED"
                        && text(t, "/status/stopCode") == "TerminationNotice"
                })
        },
    );
    eprintln!("timing: replaced {:?} after the kill", killed.elapsed());
    let reason = ts
        .iter()
        .find(|t| lost.contains(name(t)))
        .map(|t| text(t, "/status/stoppedReason").to_string())
        .unwrap_or_default();
    assert!(
        reason.contains(&ids[0]),
        "the reason names the instance: {reason}"
    );
    let ci = f.get(&["ci", &ids[0]]);
    assert_eq!(ci["status"]["agentConnected"], false, "{ci:#}");
    let described = f.ok(&["describe", "ci", &ids[0]]);
    assert!(
        described.contains("lost its agent (no heartbeat for"),
        "describe ci shows the loss as an event: {described}"
    );
    // Its containers kept running meanwhile (only the agent died).
    assert_eq!(
        f.engine_tasks(0).into_keys().collect::<BTreeSet<_>>(),
        lost,
        "the lost tasks' containers still run on the host"
    );
    // Back: it connects again and removes them; every running task has one container.
    f.agents[0].start();
    f.wait(
        "the returned agent's old containers removed",
        RUN_WITHIN,
        || f.engine_tasks(0).is_empty().then_some(()),
    );
    f.wait_connected(&ids[..1], killed);
    let described = f.ok(&["describe", "ci", &ids[0]]);
    assert!(
        described.contains("has its agent connected again"),
        "describe ci shows the return as an event: {described}"
    );
    let run: Vec<Value> = f.service_tasks("web").into_iter().filter(running).collect();
    assert_eq!(run.len(), 4);
    let on_engines: Vec<String> = (0..2).flat_map(|i| f.engine_tasks(i).into_keys()).collect();
    let unique: BTreeSet<&String> = on_engines.iter().collect();
    assert_eq!(
        on_engines.len(),
        unique.len(),
        "a task runs twice: {on_engines:?}"
    );
    // And it takes new tasks again.
    f.ok(&["scale", "service", "web", "--replicas", "6"]);
    f.wait_tasks("web", "new tasks on the returned host", RUN_WITHIN, |ts| {
        ts.iter().any(|t| running(t) && placed_on(t) == ids[0])
    });
}

/// A DAEMON service runs one task on each instance of its cluster (that its memberOf
/// allows), and none on one that drains.
#[test]
fn a_daemon_service_runs_one_task_on_every_host() {
    let f = Fleet::start(
        "daemon",
        &[
            Host::plain().attribute("role=edge"),
            Host::plain().attribute("role=edge"),
            Host::plain().attribute("role=db"),
        ],
    );
    let ids = f.ids();
    f.apply(&format!(
        "{}---\n{}",
        task_definition("agentd", 16),
        service(
            "agentd",
            &f.cluster,
            "agentd",
            0,
            &[
                "schedulingStrategy: DAEMON",
                "placementConstraints: [{type: memberOf, expression: 'attribute:role == edge'}]",
            ]
        )
        .replace("  desiredCount: 0\n", "")
    ));
    let ts = f.wait_tasks("agentd", "one task on each edge host", RUN_WITHIN, |ts| {
        let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
        run.len() == 2 && per_instance(&run).len() == 2
    });
    let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
    let on: BTreeSet<String> = run.iter().map(|t| placed_on(t)).collect();
    assert_eq!(on, ids[..2].iter().cloned().collect(), "not on the db host");
    f.ok(&["drain", &ids[0]]);
    f.wait_tasks(
        "agentd",
        "only the other edge host's task",
        RUN_WITHIN,
        |ts| {
            let run: Vec<&Value> = ts.iter().filter(|t| running(t)).collect();
            run.len() == 1 && placed_on(run[0]) == ids[1]
        },
    );
}

/// The body of GET / on 127.0.0.1:port (200 only).
fn http_get(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    if out.get(9..12)? != "200" {
        return None;
    }
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string())
}

fn assert_engines_run_their_tasks(f: &Fleet, tasks: &[&Value]) {
    let ids = f.ids();
    for (i, id) in ids.iter().enumerate() {
        let want: BTreeSet<String> = tasks
            .iter()
            .filter(|t| placed_on(t) == *id)
            .map(|t| name(t).to_string())
            .collect();
        let have = f.engine_tasks(i);
        assert_eq!(
            have.keys().cloned().collect::<BTreeSet<_>>(),
            want,
            "engine {i} (instance {id})"
        );
        assert!(have.values().all(|c| c.len() == 1), "{have:?}");
    }
    assert_eq!(f.main_engine_containers(), Vec::<String>::new());
}

/// Instance id -> registeredAt.
fn registered_at(f: &Fleet) -> BTreeMap<String, String> {
    f.instances()
        .iter()
        .map(|c| {
            let at = text(c, "/status/registeredAt");
            assert!(!at.is_empty(), "{c:#}");
            (name(c).to_string(), at.to_string())
        })
        .collect()
}

/// Task id -> (instance, startedAt), of the tasks not STOPPED.
fn started(ts: &[Value]) -> BTreeMap<String, (String, String)> {
    ts.iter()
        .filter(|t| present(t))
        .map(|t| {
            (
                name(t).to_string(),
                (placed_on(t), text(t, "/status/startedAt").to_string()),
            )
        })
        .collect()
}

/// One look at the service while something happens.
#[derive(Debug)]
struct Sample {
    at: Duration,
    /// RUNNING tasks not asked to stop.
    running: usize,
    /// The service's status.runningCount.
    running_count: u64,
}

/// Runs `during` while looking at the service `web` every 100 ms.
fn sampled<T: Send>(f: &Fleet, during: impl FnOnce() -> T + Send) -> (T, Vec<Sample>) {
    let stop = AtomicBool::new(false);
    let t0 = Instant::now();
    let look = || Sample {
        at: t0.elapsed(),
        running: f.service_tasks("web").iter().filter(|t| running(t)).count(),
        running_count: f.get(&["service", "web"])["status"]["runningCount"]
            .as_u64()
            .unwrap_or(0),
    };
    std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut out = vec![look()];
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                out.push(look());
            }
            out.push(look());
            out
        });
        let r = during();
        stop.store(true, Ordering::Relaxed);
        (r, sampler.join().expect("sampler"))
    })
}
