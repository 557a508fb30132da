//! ECS's task definition operations on an API-only server: RegisterTaskDefinition (a new
//! revision on every call, through the import, validation and admission `ecsctl apply`
//! uses), DescribeTaskDefinition, ListTaskDefinitions and ListTaskDefinitionFamilies (with
//! their pages and filters), DeregisterTaskDefinition (INACTIVE, which no new Task may use,
//! through ECS's API or ecsctl's) and DeleteTaskDefinitions; the shapes botocore reads; who
//! may do what; and every task definition of the ECS corpus registered and described back.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use support::ecs::{
    ACCOUNT, DEPLOYER_KEY, DEPLOYER_SECRET, Ecs, REGION, Signing, VIEWER_KEY, VIEWER_SECRET,
};

fn arn(family_rev: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family_rev}")
}

/// A RegisterTaskDefinition request for `family` running `image`.
fn request(family: &str, image: &str) -> Value {
    json!({
        "family": family,
        "containerDefinitions": [{
            "name": "app", "image": image, "memory": 128, "essential": true,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
        }],
    })
}

async fn register(ecs: &Ecs, family: &str, image: &str) -> Value {
    ecs.ok("RegisterTaskDefinition", request(family, image))
        .await["taskDefinition"]
        .clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Every page of a List* operation, following nextToken.
async fn all_pages(ecs: &Ecs, op: &str, mut body: Value, field: &str) -> (Vec<String>, usize) {
    let (mut out, mut pages) = (Vec::new(), 0);
    loop {
        let page = ecs.ok(op, body.clone()).await;
        pages += 1;
        out.extend(strings(&page[field]));
        match page.get("nextToken").and_then(Value::as_str) {
            Some(t) => body["nextToken"] = json!(t),
            None => return (out, pages),
        }
    }
}

#[tokio::test]
async fn register_answers_ecs_shapes_and_a_new_revision_each_call() {
    let ecs = Ecs::start().await;
    let mut req = request("web", "nginx:1");
    req["cpu"] = json!("256");
    req["memory"] = json!("0.5 GB");
    req["networkMode"] = json!("awsvpc");
    req["requiresCompatibilities"] = json!(["FARGATE"]);
    req["tags"] = json!([{"key": "team", "value": "shop"}]);
    let out = ecs.ok("RegisterTaskDefinition", req.clone()).await;
    let td = &out["taskDefinition"];
    // service-2.json's TaskDefinition: names and types as botocore parses them.
    assert_eq!(td["taskDefinitionArn"], arn("web:1"));
    assert_eq!(td["family"], "web");
    assert_eq!(td["revision"], 1);
    assert_eq!(td["status"], "ACTIVE");
    assert_eq!((&td["cpu"], &td["memory"]), (&json!("256"), &json!("512")));
    assert_eq!(td["networkMode"], "awsvpc");
    assert_eq!(td["requiresCompatibilities"], json!(["FARGATE"]));
    assert!(strings(&td["compatibilities"]).contains(&"FARGATE".to_string()));
    assert_eq!(td["requiresAttributes"], json!([]));
    assert_eq!(td["volumes"], json!([]));
    assert_eq!(td["placementConstraints"], json!([]));
    // Who registered it: the key's identity (its profile in the credentials file).
    assert_eq!(td["registeredBy"], "aws-credentials[admin]");
    let registered_at = td["registeredAt"]
        .as_f64()
        .expect("epoch seconds, a number");
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    assert!(
        (now - registered_at).abs() < 60.0,
        "{registered_at} vs {now}"
    );
    let app = &td["containerDefinitions"][0];
    assert_eq!(
        (app["name"].as_str(), app["memory"].as_i64()),
        (Some("app"), Some(128))
    );
    assert_eq!(app["portMappings"][0]["containerPort"], 80);
    assert!(
        td.get("tags").is_none(),
        "tags are beside the task definition"
    );
    assert_eq!(out["tags"], json!([{"key": "team", "value": "shop"}]));

    // The same request again: ECS registers revision 2 (ecsctl apply would say unchanged).
    let again = ecs.ok("RegisterTaskDefinition", req).await;
    assert_eq!(again["taskDefinition"]["revision"], 2);
    assert_eq!(again["taskDefinition"]["taskDefinitionArn"], arn("web:2"));

    // `ecsctl get td web:1` reads the same object: the spec as registered, tags included.
    let (status, got) = ecs
        .server
        .call(Method::GET, "/v1/objects/taskdefinitions/web:1", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["metadata"]["revision"], 1);
    assert_eq!(got["spec"]["containerDefinitions"][0]["image"], "nginx:1");
    assert_eq!(got["spec"]["tags"][0]["key"], "team");
    assert_eq!(got["status"]["status"], "ACTIVE");
    assert_eq!(got["status"]["registeredBy"], "aws-credentials[admin]");
    let (_, list) = ecs
        .server
        .call(Method::GET, "/v1/objects/taskdefinitions", None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn describe_by_family_revision_and_arn_with_tags_on_request() {
    let ecs = Ecs::start().await;
    let mut req = request("web", "nginx:1");
    req["tags"] = json!([{"key": "env", "value": "prod"}]);
    ecs.ok("RegisterTaskDefinition", req).await;
    register(&ecs, "web", "nginx:2").await;

    let latest = ecs
        .ok("DescribeTaskDefinition", json!({"taskDefinition": "web"}))
        .await;
    assert_eq!(latest["taskDefinition"]["revision"], 2);
    assert!(latest.get("tags").is_none(), "tags only with include TAGS");
    let first = ecs
        .ok(
            "DescribeTaskDefinition",
            json!({"taskDefinition": "web:1", "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(
        first["taskDefinition"]["containerDefinitions"][0]["image"],
        "nginx:1"
    );
    assert_eq!(first["tags"], json!([{"key": "env", "value": "prod"}]));
    let by_arn = ecs
        .ok(
            "DescribeTaskDefinition",
            json!({"taskDefinition": arn("web:2")}),
        )
        .await;
    assert_eq!(
        by_arn["taskDefinition"]["containerDefinitions"][0]["image"],
        "nginx:2"
    );

    for missing in [
        "nope",
        "web:9",
        "web:x",
        "arn:aws:ecs:eu-west-1:1:cluster/web",
    ] {
        let m = ecs
            .fails(
                "DescribeTaskDefinition",
                json!({"taskDefinition": missing}),
                "ClientException",
            )
            .await;
        assert_eq!(m, "Unable to describe task definition.", "{missing}");
    }
    ecs.fails(
        "DescribeTaskDefinition",
        json!({"taskDefinition": "web", "include": ["EVERYTHING"]}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "DescribeTaskDefinition",
        json!({}),
        "SerializationException",
    )
    .await;
}

#[tokio::test]
async fn register_refuses_what_validation_refuses_naming_the_field() {
    let ecs = Ecs::start().await;
    let mut bad = request("web", "nginx");
    bad["containerDefinitions"][0]["portMappings"][0]["containerPort"] = json!("http");
    let m = ecs
        .fails("RegisterTaskDefinition", bad, "ClientException")
        .await;
    assert!(
        m.contains("containerDefinitions[0].portMappings[0].containerPort"),
        "{m}"
    );
    let mut unknown = request("web", "nginx");
    unknown["containerDefinitions"][0]["portBindings"] = json!([]);
    let m = ecs
        .fails("RegisterTaskDefinition", unknown, "ClientException")
        .await;
    assert!(m.contains("containerDefinitions[0].portBindings"), "{m}");
    // Not RegisterTaskDefinition fields: output fields, a manifest's envelope.
    for field in ["revision", "taskDefinitionArn", "kind", "spec"] {
        let mut extra = request("web", "nginx");
        extra[field] = json!("x");
        let m = ecs
            .fails("RegisterTaskDefinition", extra, "InvalidParameterException")
            .await;
        assert!(m.starts_with(field), "{m}");
    }
    let mut no_family = request("web", "nginx");
    no_family.as_object_mut().unwrap().remove("family");
    ecs.fails("RegisterTaskDefinition", no_family, "ClientException")
        .await;
    let m = ecs
        .fails(
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": []}),
            "ClientException",
        )
        .await;
    assert!(m.contains("containerDefinitions"), "{m}");
    let m = ecs
        .fails(
            "RegisterTaskDefinition",
            request("${FAMILY}", "nginx"),
            "ClientException",
        )
        .await;
    assert!(m.contains("family"), "{m}");
    // Nothing was registered.
    let (_, list) = ecs
        .server
        .call(Method::GET, "/v1/objects/taskdefinitions", None)
        .await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn lists_page_both_ways_and_filter_by_prefix_and_state() {
    let ecs = Ecs::start().await;
    // `web` and `web-2` sort by family first: web:1..3, then web-2:1.
    for image in ["a", "b", "c"] {
        register(&ecs, "web", image).await;
    }
    register(&ecs, "web-2", "a").await;
    register(&ecs, "api", "a").await;
    let ascending: Vec<String> = ["api:1", "web:1", "web:2", "web:3", "web-2:1"]
        .iter()
        .map(|n| arn(n))
        .collect();
    let (all, pages) = all_pages(
        &ecs,
        "ListTaskDefinitions",
        json!({"maxResults": 2}),
        "taskDefinitionArns",
    )
    .await;
    assert_eq!((all.clone(), pages), (ascending.clone(), 3));
    let (desc, pages) = all_pages(
        &ecs,
        "ListTaskDefinitions",
        json!({"maxResults": 2, "sort": "DESC"}),
        "taskDefinitionArns",
    )
    .await;
    let mut descending = ascending.clone();
    descending.reverse();
    assert_eq!((desc, pages), (descending, 3));
    let one = ecs.ok("ListTaskDefinitions", json!({})).await;
    assert!(one.get("nextToken").is_none());
    assert_eq!(strings(&one["taskDefinitionArns"]), ascending);
    let web = ecs
        .ok("ListTaskDefinitions", json!({"familyPrefix": "web-"}))
        .await;
    assert_eq!(strings(&web["taskDefinitionArns"]), [arn("web-2:1")]);

    ecs.ok(
        "DeregisterTaskDefinition",
        json!({"taskDefinition": "web:2"}),
    )
    .await;
    for a in ["api:1", "web-2:1"] {
        ecs.ok("DeregisterTaskDefinition", json!({"taskDefinition": a}))
            .await;
    }
    let active = ecs.ok("ListTaskDefinitions", json!({})).await;
    assert_eq!(
        strings(&active["taskDefinitionArns"]),
        [arn("web:1"), arn("web:3")]
    );
    let inactive = ecs
        .ok(
            "ListTaskDefinitions",
            json!({"status": "INACTIVE", "sort": "DESC"}),
        )
        .await;
    assert_eq!(
        strings(&inactive["taskDefinitionArns"]),
        [arn("web-2:1"), arn("web:2"), arn("api:1")]
    );

    let families = |status: Option<&str>| {
        let mut body = json!({"maxResults": 1});
        if let Some(s) = status {
            body["status"] = json!(s);
        }
        body
    };
    let (all, pages) = all_pages(
        &ecs,
        "ListTaskDefinitionFamilies",
        families(None),
        "families",
    )
    .await;
    assert_eq!(
        (all, pages),
        (vec!["api".into(), "web".into(), "web-2".into()], 3)
    );
    let (active, _) = all_pages(
        &ecs,
        "ListTaskDefinitionFamilies",
        families(Some("ACTIVE")),
        "families",
    )
    .await;
    assert_eq!(active, ["web"]);
    let (inactive, _) = all_pages(
        &ecs,
        "ListTaskDefinitionFamilies",
        families(Some("INACTIVE")),
        "families",
    )
    .await;
    assert_eq!(inactive, ["api", "web-2"]);
    let prefixed = ecs
        .ok(
            "ListTaskDefinitionFamilies",
            json!({"familyPrefix": "we", "status": "ALL"}),
        )
        .await;
    assert_eq!(strings(&prefixed["families"]), ["web", "web-2"]);

    for (op, body) in [
        ("ListTaskDefinitions", json!({"status": "ALL"})),
        ("ListTaskDefinitions", json!({"sort": "UP"})),
        ("ListTaskDefinitions", json!({"maxResults": 101})),
        ("ListTaskDefinitions", json!({"nextToken": "zz"})),
        (
            "ListTaskDefinitionFamilies",
            json!({"status": "DELETE_IN_PROGRESS"}),
        ),
        ("ListTaskDefinitionFamilies", json!({"maxResults": 0})),
    ] {
        ecs.fails(op, body, "InvalidParameterException").await;
    }
}

#[tokio::test]
async fn deregistered_revisions_start_nothing_new_and_families_skip_them() {
    let ecs = Ecs::start().await;
    register(&ecs, "web", "nginx:1").await;
    register(&ecs, "web", "nginx:2").await;
    // A service already on web:2 before it is deregistered.
    let service = json!({
        "apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "shop"},
        "spec": {"taskDefinition": "web:2", "desiredCount": 1},
    });
    let (status, out) = ecs.server.apply(vec![service.clone()]).await;
    assert_eq!(status, StatusCode::OK, "{out}");

    let out = ecs
        .ok(
            "DeregisterTaskDefinition",
            json!({"taskDefinition": arn("web:2")}),
        )
        .await;
    let td = &out["taskDefinition"];
    assert_eq!(
        (td["status"].as_str(), td["revision"].as_i64()),
        (Some("INACTIVE"), Some(2))
    );
    let at = td["deregisteredAt"].as_f64().expect("epoch seconds");
    assert!(at >= td["registeredAt"].as_f64().unwrap());
    // Again: answered as it is.
    let again = ecs
        .ok(
            "DeregisterTaskDefinition",
            json!({"taskDefinition": "web:2"}),
        )
        .await;
    assert_eq!(again["taskDefinition"]["deregisteredAt"], at);

    // The family now names web:1, for ECS and for ecsctl's own API.
    let latest = ecs
        .ok("DescribeTaskDefinition", json!({"taskDefinition": "web"}))
        .await;
    assert_eq!(latest["taskDefinition"]["revision"], 1);
    let (_, got) = ecs
        .server
        .call(Method::GET, "/v1/objects/taskdefinitions/web", None)
        .await;
    assert_eq!(got["metadata"]["revision"], 1);
    let described = ecs
        .ok("DescribeTaskDefinition", json!({"taskDefinition": "web:2"}))
        .await;
    assert_eq!(described["taskDefinition"]["status"], "INACTIVE");

    // No new Task from web:2 (ecsctl's API here; RunTask follows the same rule).
    let task = |td: &str| {
        json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": "once"},
            "spec": {"taskDefinition": td}})
    };
    let (status, out) = ecs.server.apply(vec![task("web:2")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    let text = out.to_string();
    assert!(
        text.contains("inactive-revision") && text.contains("web:2"),
        "{text}"
    );
    // Nor a new service on it; the one already on it may scale.
    let mut other = service.clone();
    other["metadata"]["name"] = json!("shop-2");
    let (status, out) = ecs.server.apply(vec![other]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    let mut scaled = service.clone();
    scaled["spec"]["desiredCount"] = json!(3);
    let (status, out) = ecs.server.apply(vec![scaled]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    // The family (web:1) is fine.
    let (status, out) = ecs.server.apply(vec![task("web")]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, _) = ecs
        .server
        .call(Method::DELETE, "/v1/objects/tasks/once", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Every revision deregistered: the family names none.
    ecs.ok(
        "DeregisterTaskDefinition",
        json!({"taskDefinition": "web:1"}),
    )
    .await;
    let (status, out) = ecs.server.apply(vec![task("web")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    assert!(out.to_string().contains("every revision"), "{out}");
    let m = ecs
        .fails(
            "DescribeTaskDefinition",
            json!({"taskDefinition": "web"}),
            "ClientException",
        )
        .await;
    assert_eq!(m, "Unable to describe task definition.");
    // Registering again makes web:3, ACTIVE.
    assert_eq!(register(&ecs, "web", "nginx:1").await["revision"], 3);
    let (status, out) = ecs.server.apply(vec![task("web")]).await;
    assert_eq!(status, StatusCode::OK, "{out}");

    for (body, code) in [
        (json!({"taskDefinition": "web"}), "ClientException"),
        (json!({"taskDefinition": "web:9"}), "ClientException"),
        (json!({}), "SerializationException"),
    ] {
        ecs.fails("DeregisterTaskDefinition", body, code).await;
    }
}

#[tokio::test]
async fn delete_takes_inactive_revisions_and_keeps_used_ones_until_unused() {
    let ecs = Ecs::start().await;
    for image in ["a", "b", "c"] {
        register(&ecs, "web", image).await;
    }
    // web:2 is what a service runs.
    let service = json!({
        "apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "shop"},
        "spec": {"taskDefinition": "web:2", "desiredCount": 0},
    });
    let (status, out) = ecs.server.apply(vec![service]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    for r in ["web:1", "web:2"] {
        ecs.ok("DeregisterTaskDefinition", json!({"taskDefinition": r}))
            .await;
    }
    let out = ecs
        .ok(
            "DeleteTaskDefinitions",
            json!({"taskDefinitions": ["web:1", arn("web:2"), "web:3", "web:7"]}),
        )
        .await;
    let deleted = out["taskDefinitions"].as_array().unwrap();
    let arns: Vec<&str> = deleted
        .iter()
        .map(|t| t["taskDefinitionArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns, [arn("web:1"), arn("web:2")]);
    assert!(deleted.iter().all(|t| t["status"] == "DELETE_IN_PROGRESS"));
    assert!(deleted[0]["deleteRequestedAt"].as_f64().is_some());
    assert_eq!(
        out["failures"],
        json!([
            {"arn": arn("web:3"), "reason": "The specified task definition is still in ACTIVE status. Please deregister the target and try again."},
            {"arn": arn("web:7"), "reason": "The specified task definition does not exist."},
        ])
    );
    // web:1 is gone; web:2 waits for its service, DELETE_IN_PROGRESS.
    let (status, _) = ecs
        .server
        .call(Method::GET, "/v1/objects/taskdefinitions/web:1", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    ecs.fails(
        "DescribeTaskDefinition",
        json!({"taskDefinition": "web:1"}),
        "ClientException",
    )
    .await;
    let kept = ecs
        .ok("DescribeTaskDefinition", json!({"taskDefinition": "web:2"}))
        .await;
    assert_eq!(kept["taskDefinition"]["status"], "DELETE_IN_PROGRESS");
    let listed = ecs
        .ok(
            "ListTaskDefinitions",
            json!({"status": "DELETE_IN_PROGRESS"}),
        )
        .await;
    assert_eq!(strings(&listed["taskDefinitionArns"]), [arn("web:2")]);

    for (body, code) in [
        (json!({"taskDefinitions": []}), "InvalidParameterException"),
        (
            json!({"taskDefinitions": (1..=11).map(|n| format!("web:{n}")).collect::<Vec<_>>()}),
            "InvalidParameterException",
        ),
        (json!({"taskDefinitions": ["web"]}), "ClientException"),
    ] {
        ecs.fails("DeleteTaskDefinitions", body, code).await;
    }
}

#[tokio::test]
async fn viewers_read_deployers_register_and_deregister() {
    let ecs = Ecs::start().await;
    let deployer = Signing::Key(DEPLOYER_KEY, DEPLOYER_SECRET);
    let viewer = Signing::Key(VIEWER_KEY, VIEWER_SECRET);
    // Task definitions are account-wide: a deployer of `shop` registers them.
    let (status, out) = ecs
        .call_as(
            deployer,
            "RegisterTaskDefinition",
            request("web", "nginx:1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["taskDefinition"]["registeredBy"], "aws-credentials[ci]");
    let (status, out) = ecs
        .call_as(
            viewer,
            "DescribeTaskDefinition",
            json!({"taskDefinition": "web"}),
        )
        .await;
    assert_eq!(
        (status, &out["taskDefinition"]["revision"]),
        (StatusCode::OK, &json!(1))
    );
    let (status, out) = ecs.call_as(viewer, "ListTaskDefinitions", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(strings(&out["taskDefinitionArns"]), [arn("web:1")]);
    let (status, _) = ecs
        .call_as(viewer, "ListTaskDefinitionFamilies", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    for (op, body) in [
        ("RegisterTaskDefinition", request("web", "nginx:2")),
        (
            "DeregisterTaskDefinition",
            json!({"taskDefinition": "web:1"}),
        ),
        (
            "DeleteTaskDefinitions",
            json!({"taskDefinitions": ["web:1"]}),
        ),
    ] {
        let (status, out) = ecs.call_as(viewer, op, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{op}: {out}");
        assert_eq!(out["__type"], "AccessDeniedException", "{op}: {out}");
    }
    let (status, out) = ecs
        .call_as(
            deployer,
            "DeregisterTaskDefinition",
            json!({"taskDefinition": "web:1"}),
        )
        .await;
    assert_eq!(
        (status, &out["taskDefinition"]["status"]),
        (StatusCode::OK, &json!("INACTIVE"))
    );
    let (status, out) = ecs
        .call_as(
            deployer,
            "DeleteTaskDefinitions",
            json!({"taskDefinitions": ["web:1"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["taskDefinitions"][0]["status"], "DELETE_IN_PROGRESS");
}

/// Every task definition of the ECS corpus that `ecsctl validate` accepts registers through
/// the ECS API and describes back as registered.
#[tokio::test]
async fn every_accepted_corpus_task_definition_registers_and_describes_back() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/ecs/taskdefs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 50, "the corpus is at {}", dir.display());
    let ecs = Ecs::start().await;
    let mut registered = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let accepted = api::parse::parse_source(&name, &text, &Default::default());
        let Ok(docs) = accepted else { continue };
        if docs.len() != 1 || docs[0].object.kind != api::Kind::TaskDefinition {
            continue;
        }
        // RegisterTaskDefinition's input: the definition itself, without describe output's
        // wrapper and read-only fields.
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        if let Some(inner) = doc.get("taskDefinition").filter(|v| v.is_object()) {
            doc = inner.clone();
        }
        let fields = doc.as_object_mut().unwrap();
        for read_only in [
            "taskDefinitionArn",
            "revision",
            "status",
            "registeredAt",
            "registeredBy",
            "deregisteredAt",
            "requiresAttributes",
            "compatibilities",
            "deleteRequestedAt",
        ] {
            fields.remove(read_only);
        }
        let (status, out) = ecs.call("RegisterTaskDefinition", doc.clone()).await;
        assert_eq!(status, StatusCode::OK, "{name}: {out}");
        let td = &out["taskDefinition"];
        let family = td["family"].as_str().unwrap();
        assert_eq!(family, docs[0].object.metadata.name, "{name}");
        let described = ecs
            .ok(
                "DescribeTaskDefinition",
                json!({"taskDefinition": td["taskDefinitionArn"], "include": ["TAGS"]}),
            )
            .await;
        assert_eq!(&described["taskDefinition"], td, "{name}");
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(
            names(&td["containerDefinitions"]),
            names(&doc["containerDefinitions"]),
            "{name}"
        );
        let images = |v: &Value| -> Vec<Value> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c["image"].clone())
                .collect()
        };
        assert_eq!(
            images(&td["containerDefinitions"]),
            images(&doc["containerDefinitions"]),
            "{name}"
        );
        assert_eq!(
            described["tags"],
            doc.get("tags").cloned().unwrap_or_else(|| json!([])),
            "{name}"
        );
        registered += 1;
    }
    assert!(
        registered >= 40,
        "only {registered} corpus files registered"
    );
}
