//! ECS's own API (`--aws-api`) on an API-only server: requests signed here with SigV4, the
//! four cluster operations, the failures list, pagination, and what is refused (a bad
//! signature, an unknown key, an unsigned request, a deployer's CreateCluster).
#![allow(clippy::unwrap_used)]

mod support;

use ecsctl_server::{AwsApi, Listen};
use hyper::{Method, StatusCode};
use serde_json::json;
use support::Server;
use support::ecs::{ADMIN_KEY, ADMIN_SECRET, DEPLOYER_KEY, DEPLOYER_SECRET, Ecs, Signing};

async fn start() -> Ecs {
    Ecs::start().await
}

const SHOP_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop";

#[tokio::test]
async fn create_describe_list_delete_a_cluster() {
    let ecs = start().await;
    let (status, created) = ecs
        .call("CreateCluster", json!({"clusterName": "shop"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["cluster"]["clusterArn"], SHOP_ARN);
    assert_eq!(created["cluster"]["status"], "ACTIVE");
    assert_eq!(created["cluster"]["activeServicesCount"], 0);
    // The same store `ecsctl get clusters` reads.
    let (status, got) = ecs
        .server
        .call(Method::GET, "/v1/objects/clusters/shop", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    // Again: ECS returns the existing cluster.
    let (status, again) = ecs
        .call("CreateCluster", json!({"clusterName": "shop"}))
        .await;
    assert_eq!(
        (status, &again["cluster"]["clusterName"]),
        (StatusCode::OK, &json!("shop"))
    );

    let (status, described) = ecs
        .call(
            "DescribeClusters",
            json!({"clusters": [SHOP_ARN, "nope", "default"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{described}");
    let names: Vec<&str> = described["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clusterName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop", "default"]);
    assert_eq!(
        described["failures"],
        json!([{"arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/nope", "reason": "MISSING"}])
    );

    let (status, listed) = ecs.call("ListClusters", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed["clusterArns"],
        json!([
            "arn:aws:ecs:eu-west-1:123456789012:cluster/default",
            SHOP_ARN
        ])
    );
    assert!(listed.get("nextToken").is_none());

    let (status, deleted) = ecs
        .call("DeleteCluster", json!({"cluster": SHOP_ARN}))
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["cluster"]["status"], "INACTIVE");
    let (status, _) = ecs
        .server
        .call(Method::GET, "/v1/objects/clusters/shop", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, gone) = ecs.call("DeleteCluster", json!({"cluster": "shop"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(gone["__type"], "ClusterNotFoundException");
    ecs.server.stop().await;
}

#[tokio::test]
async fn list_clusters_pages_with_next_token() {
    let ecs = start().await;
    for name in ["a1", "b2", "c3", "d4"] {
        let (status, out) = ecs
            .call("CreateCluster", json!({"clusterName": name}))
            .await;
        assert_eq!(status, StatusCode::OK, "{out}");
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = json!({"maxResults": 2});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let (status, page) = ecs.call("ListClusters", req).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for arn in page["clusterArns"].as_array().unwrap() {
            seen.push(
                arn.as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
            );
        }
        match page.get("nextToken") {
            Some(t) => token = Some(t.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["a1", "b2", "c3", "d4", "default"]);
    assert_eq!(pages, 3);
    let (status, bad) = ecs.call("ListClusters", json!({"maxResults": 0})).await;
    assert_eq!(
        (status, &bad["__type"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidParameterException"))
    );
    let (status, bad) = ecs.call("ListClusters", json!({"nextToken": "zz"})).await;
    assert_eq!(
        (status, &bad["__type"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidParameterException"))
    );
    ecs.server.stop().await;
}

#[tokio::test]
async fn wrong_signatures_keys_and_unsigned_requests_are_refused() {
    let ecs = start().await;
    let (status, bad) = ecs
        .call_as(
            Signing::Key(ADMIN_KEY, "not-the-secret-0123456789"),
            "CreateCluster",
            json!({"clusterName": "evil"}),
        )
        .await;
    assert_eq!(
        (status, &bad["__type"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidSignatureException"))
    );
    let (status, unknown) = ecs
        .call_as(
            Signing::Key("AKIANOBODY000000001", ADMIN_SECRET),
            "ListClusters",
            json!({}),
        )
        .await;
    assert_eq!(
        (status, &unknown["__type"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("UnrecognizedClientException")
        )
    );
    let (status, unsigned) = ecs
        .call_as(
            Signing::Unsigned,
            "CreateCluster",
            json!({"clusterName": "evil"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(unsigned["__type"], "MissingAuthenticationTokenException");
    // None of them wrote anything.
    let (status, _) = ecs
        .server
        .call(Method::GET, "/v1/objects/clusters/evil", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    ecs.server.stop().await;
}

#[tokio::test]
async fn a_deployer_may_not_create_or_delete_clusters_and_sees_only_its_own() {
    let ecs = start().await;
    let deployer = Signing::Key(DEPLOYER_KEY, DEPLOYER_SECRET);
    let (status, denied) = ecs
        .call_as(deployer, "CreateCluster", json!({"clusterName": "shop"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(denied["__type"], "AccessDeniedException", "{denied}");
    let (status, _) = ecs
        .server
        .call(Method::GET, "/v1/objects/clusters/shop", None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a refused create writes nothing"
    );
    let (status, _) = ecs
        .call("CreateCluster", json!({"clusterName": "shop"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, denied) = ecs
        .call_as(deployer, "DeleteCluster", json!({"cluster": "shop"}))
        .await;
    assert_eq!(
        (status, &denied["__type"]),
        (StatusCode::BAD_REQUEST, &json!("AccessDeniedException"))
    );
    let (_, listed) = ecs.call_as(deployer, "ListClusters", json!({})).await;
    assert_eq!(listed["clusterArns"], json!([SHOP_ARN]));
    let (_, described) = ecs
        .call_as(
            deployer,
            "DescribeClusters",
            json!({"clusters": ["default"]}),
        )
        .await;
    assert_eq!(described["failures"][0]["reason"], "MISSING");
    ecs.server.stop().await;
}

#[tokio::test]
async fn ecs_errors_for_rules_services_and_unknown_operations() {
    let ecs = start().await;
    let (status, e) = ecs
        .call("DeleteCluster", json!({"cluster": "default"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["__type"], "InvalidParameterException", "{e}");
    let (_, _) = ecs
        .call("CreateCluster", json!({"clusterName": "shop"}))
        .await;
    let td = support::td("nginx");
    let mut svc = support::svc("web", 0);
    svc["metadata"]["cluster"] = json!("shop");
    let (status, out) = ecs
        .server
        .call(
            Method::POST,
            "/v1/apply",
            Some(json!({"objects": [td, svc]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, e) = ecs.call("DeleteCluster", json!({"cluster": "shop"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["__type"], "ClusterContainsServicesException", "{e}");
    let (_, described) = ecs
        .call("DescribeClusters", json!({"clusters": ["shop"]}))
        .await;
    assert_eq!(described["clusters"][0]["activeServicesCount"], 1);
    let (status, e) = ecs
        .call("CreateCluster", json!({"clusterName": "bad name!"}))
        .await;
    assert_eq!(
        (status, &e["__type"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidParameterException"))
    );
    let (status, e) = ecs
        .call(
            "CreateCluster",
            json!({"clusterName": "t", "capacityProviders": ["FARGATE"]}),
        )
        .await;
    assert_eq!(
        (status, &e["__type"]),
        (StatusCode::BAD_REQUEST, &json!("InvalidParameterException"))
    );
    assert!(e["message"].as_str().unwrap().contains("capacityProviders"));
    let (status, e) = ecs.call("PutAttributes", json!({})).await;
    assert_eq!(
        (status, &e["__type"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("UnsupportedFeatureException")
        )
    );
    let (status, e) = ecs.call("MakeCoffee", json!({})).await;
    assert_eq!(
        (status, &e["__type"]),
        (StatusCode::BAD_REQUEST, &json!("UnknownOperationException"))
    );
    ecs.server.stop().await;
}

#[tokio::test]
async fn without_credentials_the_server_makes_a_private_key() {
    use std::os::unix::fs::PermissionsExt;
    let addr = support::tcp::free_addr();
    let server = Server::start_with(move |c| c.aws_api = Some(AwsApi::new(addr))).await;
    let path = server.data_dir.join("aws-credentials");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let creds = ecsctl_server::ecsapi::credentials::parse(&std::fs::read_to_string(&path).unwrap())
        .unwrap();
    let ecs = Ecs { server, addr };
    let key = &creds[0];
    let (status, listed) = ecs
        .call_as(
            Signing::Key(&key.access_key_id, &key.secret_access_key),
            "ListClusters",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(
        listed["clusterArns"][0],
        "arn:aws:ecs:eu-west-1:000000000000:cluster/default"
    );
    ecs.server.stop().await;
}

#[tokio::test]
async fn beyond_loopback_the_ecs_api_needs_tls() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ecsctl_server::ServerConfig::new(
        dir.path().join("data"),
        Listen::Unix(dir.path().join("s.sock")),
    );
    config.aws_api = Some(AwsApi::new("0.0.0.0:0".parse().unwrap()));
    let err = ecsctl_server::run(config, async {}).await.unwrap_err();
    assert!(err.to_string().contains("--tls-cert"), "{err}");
}

#[tokio::test]
async fn the_bound_endpoint_is_left_in_the_data_dir() {
    let server =
        Server::start_with(|c| c.aws_api = Some(AwsApi::new("127.0.0.1:0".parse().unwrap()))).await;
    let url = std::fs::read_to_string(server.data_dir.join("aws-api-endpoint")).unwrap();
    let addr: std::net::SocketAddr = url.trim().strip_prefix("http://").unwrap().parse().unwrap();
    assert_ne!(addr.port(), 0, "the port the OS picked, not 0");
    let ecs = Ecs { server, addr };
    let (status, _) = ecs
        .call_as(Signing::Unsigned, "ListClusters", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    ecs.server.stop().await;
}

/// SIGHUP reads `--aws-credentials` again: a new key works and a removed one is refused; a
/// file that no longer parses keeps the keys in use.
#[tokio::test]
async fn sighup_reloads_the_credentials_file() {
    let addr = support::tcp::free_addr();
    let creds = tempfile::NamedTempFile::new().unwrap();
    let key = |id: &str, secret: &str| {
        format!("[ci]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n")
    };
    std::fs::write(creds.path(), key(ADMIN_KEY, ADMIN_SECRET)).unwrap();
    let path = creds.path().to_path_buf();
    let server = Server::start_with(move |c| {
        let mut aws = AwsApi::new(addr);
        aws.credentials = Some(path);
        c.aws_api = Some(aws);
    })
    .await;
    let ecs = Ecs { server, addr };
    let (status, _) = ecs.call("ListClusters", json!({})).await;
    assert_eq!(status, StatusCode::OK);

    const NEW_KEY: &str = "AKIANEWKEY000000001";
    const NEW_SECRET: &str = "new-secret-0123456789abcdefgh";
    std::fs::write(creds.path(), key(NEW_KEY, NEW_SECRET)).unwrap();
    let hup = || {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -HUP");
    };
    hup();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (status, _) = ecs
            .call_as(Signing::Key(NEW_KEY, NEW_SECRET), "ListClusters", json!({}))
            .await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new key never worked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, old) = ecs.call("ListClusters", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(old["__type"], "UnrecognizedClientException");

    // A broken file keeps the keys in use.
    std::fs::write(creds.path(), "[ci]\naws_access_key_id = \n").unwrap();
    hup();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, _) = ecs
        .call_as(Signing::Key(NEW_KEY, NEW_SECRET), "ListClusters", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    ecs.server.stop().await;
}
