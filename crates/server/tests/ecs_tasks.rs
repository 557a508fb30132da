//! The ECS API's task operations on the fully wired server on a `FakeRuntime`: RunTask
//! (count, overrides, clientToken), DescribeTasks polled as boto3's `tasks-running` and
//! `tasks-stopped` waiters poll it, StopTask, ListTasks' filters and pages, MISSING
//! failures, and a deployer kept to its cluster.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::StatusCode;
use runtime::FakeRuntime;
use serde_json::{Value, json};
use std::time::Duration;
use support::ecs::{ACCOUNT, DEPLOYER_KEY, DEPLOYER_SECRET, Ecs, REGION, Signing};
use support::spec_of;

fn td(family: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": family},
        "spec": {"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}]}})
}

async fn start() -> (FakeRuntime, Ecs) {
    let fake = FakeRuntime::with_images(["busybox"]);
    let ecs = Ecs::start_on(&fake).await;
    let (status, body) = ecs.server.apply(vec![td("web"), td("other")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (fake, ecs)
}

fn arns(out: &Value, field: &str) -> Vec<String> {
    out[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t.as_str().map_or_else(
                || t["taskArn"].as_str().unwrap().to_string(),
                str::to_string,
            )
        })
        .collect()
}

/// What a waiter's acceptors make of one DescribeTasks answer.
#[derive(Debug, PartialEq)]
enum Waiter {
    Retry,
    Success,
    Failure(String),
}

/// boto3's `tasks-running`: failure when any task is STOPPED or MISSING, success when all
/// are RUNNING.
fn tasks_running(out: &Value) -> Waiter {
    let tasks = out["tasks"].as_array().unwrap();
    if tasks.iter().any(|t| t["lastStatus"] == "STOPPED") {
        return Waiter::Failure(format!("a task stopped: {out}"));
    }
    if out["failures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["reason"] == "MISSING")
    {
        return Waiter::Failure(format!("a task is missing: {out}"));
    }
    if !tasks.is_empty() && tasks.iter().all(|t| t["lastStatus"] == "RUNNING") {
        return Waiter::Success;
    }
    Waiter::Retry
}

/// boto3's `tasks-stopped`: success when all are STOPPED.
fn tasks_stopped(out: &Value) -> Waiter {
    let tasks = out["tasks"].as_array().unwrap();
    if !tasks.is_empty() && tasks.iter().all(|t| t["lastStatus"] == "STOPPED") {
        Waiter::Success
    } else {
        Waiter::Retry
    }
}

/// Polls DescribeTasks until `waiter` decides; panics on failure or after 20 s.
async fn wait(ecs: &Ecs, cluster: &str, tasks: &[String], waiter: fn(&Value) -> Waiter) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = ecs
            .ok("DescribeTasks", json!({"cluster": cluster, "tasks": tasks}))
            .await;
        match waiter(&out) {
            Waiter::Success => return out,
            Waiter::Failure(why) => panic!("waiter failed: {why}"),
            Waiter::Retry => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waiter timed out: {out}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_three_tasks_wait_for_them_and_stop_them() {
    let (fake, ecs) = start().await;
    ecs.ok("CreateCluster", json!({"clusterName": "jobs"}))
        .await;
    let out = ecs
        .ok(
            "RunTask",
            json!({"cluster": "jobs", "taskDefinition": "web", "count": 3, "startedBy": "ci",
                "launchType": "FARGATE",
                "overrides": {"containerOverrides": [{"name": "app", "command": ["echo", "hi"],
                    "environment": [{"name": "MODE", "value": "batch"}]}]}}),
        )
        .await;
    assert_eq!(out["failures"], json!([]));
    let tasks = arns(&out, "tasks");
    assert_eq!(tasks.len(), 3);
    let prefix = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/jobs/");
    for (arn, t) in tasks.iter().zip(out["tasks"].as_array().unwrap()) {
        let id = arn.strip_prefix(&prefix).unwrap();
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{arn}"
        );
        assert_eq!(
            t["taskDefinitionArn"],
            format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:1")
        );
        assert_eq!(
            (&t["startedBy"], &t["group"]),
            (&json!("ci"), &json!("family:web"))
        );
        assert_eq!(t["launchType"], "FARGATE");
        assert_eq!(t["desiredStatus"], "RUNNING");
    }
    // The same objects `ecsctl get tasks` shows.
    let id = tasks[0].strip_prefix(&prefix).unwrap().to_string();
    let (status, got) = ecs
        .server
        .call(
            hyper::Method::GET,
            &format!("/v1/objects/tasks/{id}?cluster=jobs"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");

    let running = wait(&ecs, "jobs", &tasks, tasks_running).await;
    let t = &running["tasks"][0];
    assert!(
        t["startedAt"].as_f64().unwrap() >= t["createdAt"].as_f64().unwrap(),
        "{t}"
    );
    assert_eq!(t["containers"][0]["lastStatus"], "RUNNING");
    assert_eq!(t["containers"][0]["taskArn"], t["taskArn"]);
    assert!(t["containers"][0]["runtimeId"].is_string(), "{t}");
    // The overrides reached the container.
    let spec = spec_of(&fake, &id, "app").unwrap();
    assert_eq!(
        spec.command,
        Some(vec!["echo".to_string(), "hi".to_string()])
    );
    assert!(
        spec.env
            .contains(&("MODE".to_string(), "batch".to_string())),
        "{:?}",
        spec.env
    );

    // By id, then by ARN.
    let stopped = ecs
        .ok(
            "StopTask",
            json!({"cluster": "jobs", "task": id, "reason": "done for today"}),
        )
        .await;
    assert_eq!(stopped["task"]["desiredStatus"], "STOPPED");
    assert_eq!(stopped["task"]["stopCode"], "UserInitiated");
    assert_eq!(stopped["task"]["stoppedReason"], "done for today");
    for arn in &tasks[1..] {
        ecs.ok(
            "StopTask",
            json!({"cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/jobs", "task": arn}),
        )
        .await;
    }
    let done = wait(&ecs, "jobs", &tasks, tasks_stopped).await;
    for t in done["tasks"].as_array().unwrap() {
        assert_eq!(t["stopCode"], "UserInitiated", "{t}");
        assert!(t["stoppedAt"].is_number(), "{t}");
    }
    assert_eq!(done["tasks"][0]["stoppedReason"], "done for today");
    assert_eq!(done["tasks"][1]["stoppedReason"], "Task stopped by user");
    // The running waiter fails on stopped tasks, as boto3's does.
    let out = ecs
        .ok("DescribeTasks", json!({"cluster": "jobs", "tasks": &tasks}))
        .await;
    assert!(matches!(tasks_running(&out), Waiter::Failure(_)));
    // ECS Exec: RunTask's enableExecuteCommand is kept (ecsctl exec honours it) and reported.
    assert_eq!(out["tasks"][0]["enableExecuteCommand"], false);
    let on = ecs
        .ok(
            "RunTask",
            json!({"taskDefinition": "web:1", "enableExecuteCommand": true}),
        )
        .await;
    assert_eq!(on["tasks"][0]["enableExecuteCommand"], true, "{on:#}");
    // Stopped tasks are listed with desiredStatus STOPPED, not with the default RUNNING.
    let listed = ecs
        .ok(
            "ListTasks",
            json!({"cluster": "jobs", "desiredStatus": "STOPPED"}),
        )
        .await;
    let mut want = tasks.clone();
    want.sort();
    assert_eq!(arns(&listed, "taskArns"), want);
    let listed = ecs.ok("ListTasks", json!({"cluster": "jobs"})).await;
    assert_eq!(listed["taskArns"], json!([]));
    // Stopping again keeps the first reason.
    let again = ecs
        .ok(
            "StopTask",
            json!({"cluster": "jobs", "task": id, "reason": "again"}),
        )
        .await;
    assert_eq!(again["task"]["stoppedReason"], "done for today");
    ecs.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tasks_and_refused_requests() {
    let (_fake, ecs) = start().await;
    let out = ecs.ok("RunTask", json!({"taskDefinition": "web:1"})).await;
    let arn = arns(&out, "tasks").remove(0);
    let ghost = "0123456789abcdef0123456789abcdef";
    let other_cluster = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/jobs/{ghost}");
    let out = ecs
        .ok(
            "DescribeTasks",
            json!({"tasks": [&arn, ghost, &other_cluster], "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(arns(&out, "tasks"), std::slice::from_ref(&arn));
    assert_eq!(out["tasks"][0]["tags"], json!([]));
    assert_eq!(
        out["failures"],
        json!([
            {"arn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/default/{ghost}"), "reason": "MISSING"},
            {"arn": other_cluster, "reason": "MISSING"}
        ])
    );
    assert!(matches!(tasks_running(&out), Waiter::Failure(_)));

    ecs.fails(
        "RunTask",
        json!({"taskDefinition": "nope"}),
        "ClientException",
    )
    .await;
    ecs.fails(
        "RunTask",
        json!({"taskDefinition": "web:9"}),
        "ClientException",
    )
    .await;
    ecs.fails(
        "RunTask",
        json!({"taskDefinition": "web", "cluster": "nope"}),
        "ClusterNotFoundException",
    )
    .await;
    ecs.fails(
        "RunTask",
        json!({"taskDefinition": "web", "count": 11}),
        "InvalidParameterException",
    )
    .await;
    let msg = ecs
        .fails(
            "RunTask",
            json!({"taskDefinition": "web", "placementConstraints": [{"type": "memberOf", "expression": "attribute:stack prod"}]}),
            "InvalidParameterException",
        )
        .await;
    assert!(msg.contains("placementConstraints[0].expression"), "{msg}");
    ecs.fails(
        "RunTask",
        json!({"taskDefinition": "web", "overrides": {"containerOverrides": [{"name": "nope", "command": ["x"]}]}}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "RunTask",
        json!({"taskDefinition": "web", "unknownField": 1}),
        "SerializationException",
    )
    .await;
    ecs.fails(
        "StopTask",
        json!({"task": ghost}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "DescribeTasks",
        json!({"tasks": []}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "DescribeTasks",
        json!({"cluster": "nope", "tasks": [ghost]}),
        "ClusterNotFoundException",
    )
    .await;
    ecs.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_token_gives_the_same_tasks() {
    let (_fake, ecs) = start().await;
    let body = json!({"taskDefinition": "web", "count": 2, "clientToken": "deploy-42"});
    let first = arns(&ecs.ok("RunTask", body.clone()).await, "tasks");
    let again = arns(&ecs.ok("RunTask", body).await, "tasks");
    assert_eq!(first, again);
    assert_eq!(first.len(), 2);
    let listed = ecs.ok("ListTasks", json!({})).await;
    assert_eq!(listed["taskArns"].as_array().unwrap().len(), 2);
    ecs.fails(
        "RunTask",
        json!({"taskDefinition": "other", "count": 2, "clientToken": "deploy-42"}),
        "InvalidParameterException",
    )
    .await;
    let other = arns(
        &ecs.ok(
            "RunTask",
            json!({"taskDefinition": "web", "clientToken": "deploy-43"}),
        )
        .await,
        "tasks",
    );
    assert!(!first.contains(&other[0]));
    ecs.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_tasks_filters_and_pages() {
    let (_fake, ecs) = start().await;
    let web = arns(
        &ecs.ok(
            "RunTask",
            json!({"taskDefinition": "web", "count": 3, "startedBy": "a"}),
        )
        .await,
        "tasks",
    );
    let other = arns(
        &ecs.ok("RunTask", json!({"taskDefinition": "other", "count": 2, "startedBy": "b", "launchType": "EXTERNAL"}))
            .await,
        "tasks",
    );
    let (status, body) = ecs
        .server
        .apply(vec![
            json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "front"},
            "spec": {"taskDefinition": "web", "desiredCount": 1}}),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let service_tasks = loop {
        let out = ecs.ok("ListTasks", json!({"serviceName": "front"})).await;
        let found = arns(&out, "taskArns");
        if found.len() == 1 {
            break found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let described = ecs
        .ok("DescribeTasks", json!({"tasks": &service_tasks}))
        .await;
    assert_eq!(described["tasks"][0]["group"], "service:front");
    assert!(
        described["tasks"][0]["startedBy"]
            .as_str()
            .unwrap()
            .starts_with("ecs-svc/"),
        "{described}"
    );

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let list = |body: Value| {
        let ecs = &ecs;
        async move { arns(&ecs.ok("ListTasks", body).await, "taskArns") }
    };
    assert_eq!(
        list(json!({"family": "web"})).await,
        sorted([web.clone(), service_tasks.clone()].concat())
    );
    assert_eq!(list(json!({"startedBy": "b"})).await, sorted(other.clone()));
    assert_eq!(
        list(json!({"launchType": "EXTERNAL"})).await,
        sorted(other.clone())
    );
    assert_eq!(
        list(json!({"desiredStatus": "PENDING"})).await,
        Vec::<String>::new()
    );
    let all = list(json!({})).await;
    assert_eq!(all.len(), 6);

    // Pages of 4 then 2, in the order of the whole list.
    let first = ecs.ok("ListTasks", json!({"maxResults": 4})).await;
    let token = first["nextToken"].as_str().unwrap().to_string();
    let second = ecs
        .ok("ListTasks", json!({"maxResults": 4, "nextToken": token}))
        .await;
    assert!(second.get("nextToken").is_none(), "{second}");
    assert_eq!(
        [arns(&first, "taskArns"), arns(&second, "taskArns")].concat(),
        all
    );

    ecs.fails(
        "ListTasks",
        json!({"startedBy": "a", "family": "web"}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "ListTasks",
        json!({"maxResults": 101}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "ListTasks",
        json!({"desiredStatus": "DONE"}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "ListTasks",
        json!({"cluster": "nope"}),
        "ClusterNotFoundException",
    )
    .await;
    ecs.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployer_runs_tasks_only_in_its_cluster() {
    let (_fake, ecs) = start().await;
    ecs.ok("CreateCluster", json!({"clusterName": "shop"}))
        .await;
    let admin_task = arns(
        &ecs.ok("RunTask", json!({"taskDefinition": "web"})).await,
        "tasks",
    );
    let deployer = Signing::Key(DEPLOYER_KEY, DEPLOYER_SECRET);
    let denied = |out: &(StatusCode, Value)| {
        assert_ne!(out.0, StatusCode::OK, "{}", out.1);
        assert_eq!(out.1["__type"], "AccessDeniedException", "{}", out.1);
    };
    for (op, body) in [
        ("RunTask", json!({"taskDefinition": "web"})),
        ("StopTask", json!({"task": &admin_task[0]})),
        ("DescribeTasks", json!({"tasks": &admin_task})),
        ("ListTasks", json!({})),
    ] {
        denied(&ecs.call_as(deployer, op, body).await);
    }
    let (status, out) = ecs
        .call_as(
            deployer,
            "RunTask",
            json!({"cluster": "shop", "taskDefinition": "web"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let mine = arns(&out, "tasks");
    let (status, out) = ecs
        .call_as(deployer, "ListTasks", json!({"cluster": "shop"}))
        .await;
    assert_eq!(
        (status, arns(&out, "taskArns")),
        (StatusCode::OK, mine.clone())
    );
    let (status, out) = ecs
        .call_as(
            deployer,
            "StopTask",
            json!({"cluster": "shop", "task": &mine[0]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    ecs.server.stop().await;
}
