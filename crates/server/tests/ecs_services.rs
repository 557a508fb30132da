//! ECS's service operations through the ECS API: a whole life on the fake runtime (create,
//! the services-stable waiter's condition, a new revision, a new count, a forced deployment,
//! deletion through DRAINING to INACTIVE as the services-inactive waiter sees it), and on an
//! API-only server the failures, clientToken idempotency, pagination and who may do what.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::FakeRuntime;
use serde_json::{Value, json};
use std::time::Duration;
use support::ecs::{ACCOUNT, DEPLOYER_KEY, DEPLOYER_SECRET, Ecs, REGION, Signing};

fn arn(resource: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:{resource}")
}

/// Task definition `web` (as `ecsctl apply` registers it), its environment telling revisions apart.
fn td(env: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
        "spec": {"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64,
            "stopTimeout": 1, "environment": [{"name": "V", "value": env}]}]}})
}

async fn register(ecs: &Ecs, env: &str) {
    let (status, body) = ecs.server.apply(vec![td(env)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// DescribeServices of one service in `cluster`: the service, or the failure.
async fn describe(ecs: &Ecs, cluster: &str, service: &str) -> Value {
    let out = ecs
        .ok(
            "DescribeServices",
            json!({"cluster": cluster, "services": [service]}),
        )
        .await;
    match out["services"].as_array().unwrap().first() {
        Some(s) => s.clone(),
        None => out["failures"][0].clone(),
    }
}

/// Polls as botocore's `services-stable` waiter does: success when every service has one
/// deployment and runs its desired count; failure on MISSING, DRAINING or INACTIVE.
async fn wait_stable(ecs: &Ecs, cluster: &str, service: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = ecs
            .ok(
                "DescribeServices",
                json!({"cluster": cluster, "services": [service]}),
            )
            .await;
        assert!(
            out["failures"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["reason"] != "MISSING"),
            "{out}"
        );
        let services = out["services"].as_array().unwrap();
        assert!(
            services
                .iter()
                .all(|s| s["status"] != "DRAINING" && s["status"] != "INACTIVE"),
            "{out}"
        );
        let unstable = services
            .iter()
            .filter(|s| {
                !(s["deployments"].as_array().unwrap().len() == 1
                    && s["runningCount"] == s["desiredCount"])
            })
            .count();
        if unstable == 0 {
            return services[0].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not stable: {out:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls as `services-inactive` does: success when the service is INACTIVE; failure on MISSING.
async fn wait_inactive(ecs: &Ecs, cluster: &str, service: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = describe(ecs, cluster, service).await;
        assert_ne!(s["reason"], "MISSING", "{s}");
        if s["status"] == "INACTIVE" {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not inactive: {s:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_lives_through_the_ecs_api() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let ecs = Ecs::start_on(&fake).await;
    ecs.ok("CreateCluster", json!({"clusterName": "shop"}))
        .await;
    register(&ecs, "1").await;

    // Created from a bare family: pinned to the revision it resolves to.
    let created = ecs
        .ok(
            "CreateService",
            json!({"cluster": "shop", "serviceName": "web", "taskDefinition": "web",
                "desiredCount": 2, "tags": [{"key": "team", "value": "shop"}],
                "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 50}}),
        )
        .await;
    let svc = &created["service"];
    assert_eq!(svc["serviceArn"], arn("service/shop/web"));
    assert_eq!(svc["clusterArn"], arn("cluster/shop"));
    assert_eq!(svc["status"], "ACTIVE");
    assert_eq!(svc["taskDefinition"], arn("task-definition/web:1"));
    assert_eq!(svc["desiredCount"], 2);
    assert_eq!(svc["deploymentConfiguration"]["minimumHealthyPercent"], 50);
    assert!(svc["createdAt"].as_f64().unwrap() > 1.0e9);
    let stable = wait_stable(&ecs, "shop", "web").await;
    assert_eq!(stable["runningCount"], 2);
    assert_eq!(stable["deployments"][0]["status"], "PRIMARY");
    assert_eq!(stable["deployments"][0]["rolloutState"], "COMPLETED");
    assert!(stable["events"].as_array().unwrap().iter().any(|e| {
        e["message"]
            .as_str()
            .unwrap()
            .contains("has reached a steady state")
    }));

    // ecsctl sees what the ECS API made.
    let (status, got) = ecs
        .server
        .call(Method::GET, "/v1/objects/services/web?cluster=shop", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["spec"]["taskDefinition"], "web:1");
    assert_eq!(
        got["spec"]["tags"],
        json!([{"key": "team", "value": "shop"}])
    );
    assert_eq!(got["status"]["runningCount"], 2);
    let tagged = ecs
        .ok("DescribeServices", json!({"cluster": arn("cluster/shop"), "services": [arn("service/shop/web")], "include": ["TAGS"]}))
        .await;
    assert_eq!(
        tagged["services"][0]["tags"],
        json!([{"key": "team", "value": "shop"}])
    );

    // A new revision (registered through ecsctl's own API), by ARN.
    register(&ecs, "2").await;
    let updated = ecs
        .ok(
            "UpdateService",
            json!({"cluster": "shop", "service": "web", "taskDefinition": arn("task-definition/web:2")}),
        )
        .await;
    let deps = updated["service"]["deployments"].as_array().unwrap();
    assert_eq!(deps.len(), 2, "{updated}");
    assert_eq!(deps[0]["status"], "PRIMARY");
    assert_eq!(deps[0]["taskDefinition"], arn("task-definition/web:2"));
    let stable = wait_stable(&ecs, "shop", "web").await;
    assert_eq!(stable["taskDefinition"], arn("task-definition/web:2"));
    assert_eq!(
        stable["deployments"][0]["taskDefinition"],
        arn("task-definition/web:2")
    );

    // The deployments as ECS's service deployments, newest first.
    let listed = ecs
        .ok(
            "ListServiceDeployments",
            json!({"cluster": "shop", "service": "web"}),
        )
        .await;
    let briefs = listed["serviceDeployments"].as_array().unwrap();
    assert_eq!(briefs.len(), 2, "{listed}");
    assert_eq!(briefs[0]["status"], "SUCCESSFUL");
    assert!(
        briefs[0]["serviceDeploymentArn"]
            .as_str()
            .unwrap()
            .starts_with(&arn("service-deployment/shop/web/"))
    );
    assert!(briefs[0]["createdAt"].as_f64() >= briefs[1]["createdAt"].as_f64());
    let one = ecs
        .ok(
            "ListServiceDeployments",
            json!({"cluster": "shop", "service": "web", "maxResults": 1}),
        )
        .await;
    assert_eq!(one["serviceDeployments"][0], briefs[0]);
    let two = ecs
        .ok("ListServiceDeployments", json!({"cluster": "shop", "service": "web", "maxResults": 1, "nextToken": one["nextToken"]}))
        .await;
    assert_eq!(two["serviceDeployments"][0], briefs[1]);
    assert!(two.get("nextToken").is_none());
    let missing = arn("service-deployment/shop/web/404");
    let full = ecs
        .ok(
            "DescribeServiceDeployments",
            json!({"serviceDeploymentArns": [briefs[0]["serviceDeploymentArn"], missing]}),
        )
        .await;
    let d = &full["serviceDeployments"][0];
    assert_eq!(d["status"], "SUCCESSFUL");
    assert_eq!(d["targetServiceRevision"]["runningTaskCount"], 2);
    assert_eq!(d["sourceServiceRevisions"].as_array().unwrap().len(), 1);
    assert_eq!(d["deploymentCircuitBreaker"]["status"], "DISABLED");
    assert_eq!(
        full["failures"],
        json!([{"arn": missing, "reason": "MISSING"}])
    );

    // A new count.
    ecs.ok(
        "UpdateService",
        json!({"cluster": "shop", "service": "web", "desiredCount": 3}),
    )
    .await;
    assert_eq!(wait_stable(&ecs, "shop", "web").await["runningCount"], 3);

    // A forced deployment of the same revision, as `ecsctl rollout restart` makes one.
    let before = ecs
        .ok(
            "ListServiceDeployments",
            json!({"cluster": "shop", "service": "web"}),
        )
        .await["serviceDeployments"]
        .as_array()
        .unwrap()
        .len();
    let forced = ecs
        .ok(
            "UpdateService",
            json!({"cluster": "shop", "service": "web", "forceNewDeployment": true}),
        )
        .await;
    assert_eq!(
        forced["service"]["deployments"].as_array().unwrap().len(),
        2,
        "{forced}"
    );
    wait_stable(&ecs, "shop", "web").await;
    let after = ecs
        .ok(
            "ListServiceDeployments",
            json!({"cluster": "shop", "service": "web"}),
        )
        .await;
    assert_eq!(
        after["serviceDeployments"].as_array().unwrap().len(),
        before + 1,
        "{after}"
    );

    // Deletion: refused while scaled above 0, forced, DRAINING, then INACTIVE.
    let refused = ecs
        .fails(
            "DeleteService",
            json!({"cluster": "shop", "service": "web"}),
            "InvalidParameterException",
        )
        .await;
    assert!(refused.contains("scaled above 0"), "{refused}");
    let deleted = ecs
        .ok(
            "DeleteService",
            json!({"cluster": "shop", "service": "web", "force": true}),
        )
        .await;
    assert_eq!(deleted["service"]["status"], "DRAINING");
    assert_eq!(deleted["service"]["desiredCount"], 0);
    let (status, _) = ecs
        .server
        .call(Method::GET, "/v1/objects/services/web?cluster=shop", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let inactive = wait_inactive(&ecs, "shop", "web").await;
    assert_eq!(
        (
            inactive["runningCount"].as_u64(),
            inactive["desiredCount"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(
        ecs.ok("ListServices", json!({"cluster": "shop"})).await["serviceArns"],
        json!([])
    );
    ecs.fails(
        "UpdateService",
        json!({"cluster": "shop", "service": "web", "desiredCount": 1}),
        "ServiceNotActiveException",
    )
    .await;
    ecs.fails(
        "DeleteService",
        json!({"cluster": "shop", "service": "web"}),
        "ServiceNotFoundException",
    )
    .await;
    // ecsctl lists the record among deployments, INACTIVE; it is not a service.
    let (_, services) = ecs
        .server
        .call(Method::GET, "/v1/objects/services?cluster=shop", None)
        .await;
    assert_eq!(services["items"], json!([]));

    // The name may be used again: a new service, and the record is gone.
    let again = ecs
        .ok("CreateService", json!({"cluster": "shop", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1}))
        .await;
    assert_eq!(again["service"]["status"], "ACTIVE");
    assert_eq!(wait_stable(&ecs, "shop", "web").await["runningCount"], 1);
    ecs.ok(
        "DeleteService",
        json!({"cluster": "shop", "service": "web", "force": true}),
    )
    .await;
    wait_inactive(&ecs, "shop", "web").await;

    // Deleted through ecsctl's own API, a service leaves the same record.
    ecs.ok(
        "CreateService",
        json!({"cluster": "shop", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1}),
    )
    .await;
    assert_eq!(wait_stable(&ecs, "shop", "web").await["runningCount"], 1);
    let (status, deleted) = ecs
        .server
        .call(
            Method::DELETE,
            "/v1/objects/services/web?cluster=shop",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    wait_inactive(&ecs, "shop", "web").await;
    ecs.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_tokens_pages_and_access() {
    let ecs = Ecs::start().await;
    ecs.ok("CreateCluster", json!({"clusterName": "shop"}))
        .await;
    register(&ecs, "1").await;
    let create = |name: &str| json!({"cluster": "shop", "serviceName": name, "taskDefinition": "web:1", "desiredCount": 0});

    // What does not exist.
    ecs.fails(
        "CreateService",
        json!({"cluster": "nope", "serviceName": "a", "taskDefinition": "web"}),
        "ClusterNotFoundException",
    )
    .await;
    ecs.fails(
        "CreateService",
        json!({"cluster": "shop", "serviceName": "a", "taskDefinition": "ghost"}),
        "ClientException",
    )
    .await;
    ecs.fails(
        "CreateService",
        json!({"cluster": "shop", "serviceName": "a", "taskDefinition": "web",
        "volumeConfigurations": [{"name": "v"}]}),
        "InvalidParameterException",
    )
    .await;
    let invalid = ecs.fails("CreateService", json!({"cluster": "shop", "serviceName": "a", "taskDefinition": "web",
        "desiredCount": 1, "deploymentConfiguration": {"maximumPercent": 50, "minimumHealthyPercent": 100}}), "InvalidParameterException").await;
    assert!(invalid.contains("service/a"), "{invalid}");
    ecs.fails(
        "UpdateService",
        json!({"cluster": "shop", "service": "ghost", "desiredCount": 1}),
        "ServiceNotFoundException",
    )
    .await;
    ecs.fails(
        "DeleteService",
        json!({"cluster": "shop", "service": "ghost"}),
        "ServiceNotFoundException",
    )
    .await;
    ecs.fails(
        "DescribeServices",
        json!({"cluster": "nope", "services": ["a"]}),
        "ClusterNotFoundException",
    )
    .await;
    ecs.fails(
        "ListServiceDeployments",
        json!({"cluster": "shop", "service": "ghost"}),
        "ServiceNotFoundException",
    )
    .await;

    // clientToken: the same request answers the same service; another is refused.
    let first = ecs
        .ok("CreateService", json!({"cluster": "shop", "serviceName": "api", "taskDefinition": "web:1", "desiredCount": 0, "clientToken": "tok-1"}))
        .await;
    let again = ecs
        .ok("CreateService", json!({"clientToken": "tok-1", "desiredCount": 0, "taskDefinition": "web:1", "serviceName": "api", "cluster": "shop"}))
        .await;
    assert_eq!(
        first["service"]["serviceArn"],
        again["service"]["serviceArn"]
    );
    assert_eq!(first["service"]["createdAt"], again["service"]["createdAt"]);
    let msg = ecs
        .fails("CreateService", json!({"cluster": "shop", "serviceName": "api", "taskDefinition": "web:1", "desiredCount": 3, "clientToken": "tok-1"}), "InvalidParameterException")
        .await;
    assert!(msg.contains("not idempotent"), "{msg}");
    ecs.fails("CreateService", json!({"cluster": "shop", "serviceName": "api2", "taskDefinition": "web:1", "desiredCount": 0, "clientToken": "tok-1"}), "InvalidParameterException").await;
    let msg = ecs
        .fails("CreateService", create("api"), "InvalidParameterException")
        .await;
    assert_eq!(msg, "Creation of service was not idempotent.");

    // Describe: found, and MISSING by name and by ARN.
    let out = ecs
        .ok(
            "DescribeServices",
            json!({"cluster": "shop", "services": ["api", "ghost", arn("service/shop/gone")]}),
        )
        .await;
    assert_eq!(out["services"].as_array().unwrap().len(), 1);
    assert_eq!(out["services"][0]["schedulingStrategy"], "REPLICA");
    assert_eq!(
        out["failures"],
        json!([
            {"arn": arn("service/shop/ghost"), "reason": "MISSING"},
            {"arn": arn("service/shop/gone"), "reason": "MISSING"},
        ])
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("s{i}")).collect();
    ecs.fails(
        "DescribeServices",
        json!({"cluster": "shop", "services": eleven}),
        "InvalidParameterException",
    )
    .await;

    // Pages: 12 services, 10 a page by default.
    for i in 0..11 {
        ecs.ok("CreateService", create(&format!("svc-{i:02}")))
            .await;
    }
    let page1 = ecs.ok("ListServices", json!({"cluster": "shop"})).await;
    assert_eq!(page1["serviceArns"].as_array().unwrap().len(), 10);
    assert_eq!(page1["serviceArns"][0], arn("service/shop/api"));
    let page2 = ecs
        .ok(
            "ListServices",
            json!({"cluster": "shop", "nextToken": page1["nextToken"]}),
        )
        .await;
    assert_eq!(
        page2["serviceArns"],
        json!([arn("service/shop/svc-09"), arn("service/shop/svc-10")])
    );
    assert!(page2.get("nextToken").is_none());
    let fargate = ecs
        .ok(
            "ListServices",
            json!({"cluster": "shop", "launchType": "FARGATE"}),
        )
        .await;
    assert_eq!(fargate["serviceArns"], json!([]));
    let ec2 = ecs
        .ok(
            "ListServices",
            json!({"cluster": "shop", "launchType": "EC2", "maxResults": 100}),
        )
        .await;
    assert_eq!(ec2["serviceArns"].as_array().unwrap().len(), 12);
    ecs.fails(
        "ListServices",
        json!({"cluster": "shop", "maxResults": 101}),
        "InvalidParameterException",
    )
    .await;

    // A service at 0 is deleted without force; without tasks it is INACTIVE at once.
    let deleted = ecs
        .ok(
            "DeleteService",
            json!({"cluster": "shop", "service": arn("service/shop/svc-00")}),
        )
        .await;
    assert_eq!(deleted["service"]["status"], "DRAINING");
    assert_eq!(describe(&ecs, "shop", "svc-00").await["status"], "INACTIVE");
    let listed = ecs
        .ok(
            "ListServices",
            json!({"cluster": "shop", "maxResults": 100}),
        )
        .await;
    assert!(
        !listed["serviceArns"]
            .as_array()
            .unwrap()
            .contains(&json!(arn("service/shop/svc-00")))
    );
    // ecsctl shows the record as an INACTIVE deployment of the deleted service.
    let (status, record) = ecs
        .server
        .call(
            Method::GET,
            "/v1/objects/deployments/deleted-svc-00?cluster=shop",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["status"]["status"], "INACTIVE");

    // A deployer works in its cluster only; it reads its own.
    let deployer = Signing::Key(DEPLOYER_KEY, DEPLOYER_SECRET);
    let (status, out) = ecs
        .call_as(
            deployer,
            "CreateService",
            json!({"serviceName": "x", "taskDefinition": "web:1", "desiredCount": 0}),
        )
        .await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("AccessDeniedException")),
        "{out}"
    );
    let (status, out) = ecs
        .call_as(
            deployer,
            "DescribeServices",
            json!({"cluster": "default", "services": ["x"]}),
        )
        .await;
    assert_eq!(out["__type"], "AccessDeniedException", "{status} {out}");
    let (status, out) = ecs
        .call_as(
            deployer,
            "UpdateService",
            json!({"cluster": "shop", "service": "api", "desiredCount": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, out) = ecs
        .call_as(deployer, "ListServices", json!({"cluster": "shop"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    ecs.server.stop().await;
}
