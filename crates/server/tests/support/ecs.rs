//! A client of the ECS API listener (`--aws-api`) for tests: requests signed with SigV4 as
//! the AWS CLI signs them, on a server started with two keys (an admin, and a deployer
//! limited to cluster `shop`).

use super::Server;
use bytes::Bytes;
use ecsctl_server::AwsApi;
use ecsctl_server::ecsapi::sigv4;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;

pub const ADMIN_KEY: &str = "AKIAADMIN0000000001";
pub const ADMIN_SECRET: &str = "admin-secret-0123456789abcdef";
pub const DEPLOYER_KEY: &str = "AKIADEPLOYER0000001";
pub const DEPLOYER_SECRET: &str = "deployer-secret-0123456789abc";
pub const VIEWER_KEY: &str = "AKIAVIEWER000000001";
pub const VIEWER_SECRET: &str = "viewer-secret-0123456789abcdef";
/// The account id the test server's ARNs carry, and the region its requests are signed for.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "eu-west-1";

fn credentials() -> String {
    format!(
        "[admin]\naws_access_key_id = {ADMIN_KEY}\naws_secret_access_key = {ADMIN_SECRET}\n\n[ci]\naws_access_key_id = {DEPLOYER_KEY}\naws_secret_access_key = {DEPLOYER_SECRET}\necsctl_role = deployer\necsctl_clusters = shop\n\n[viewer]\naws_access_key_id = {VIEWER_KEY}\naws_secret_access_key = {VIEWER_SECRET}\necsctl_role = viewer\necsctl_clusters = *\n"
    )
}

/// A server with the ECS API, and where it listens.
pub struct Ecs {
    pub server: Server,
    pub addr: SocketAddr,
}

/// How a test request is signed.
#[derive(Clone, Copy)]
pub enum Signing<'a> {
    Key(&'a str, &'a str),
    Unsigned,
}

impl Ecs {
    /// An API-only server (no runtime, no controllers) with the ECS API.
    pub async fn start() -> Ecs {
        Ecs::start_with(|_| {}).await
    }

    /// The fully wired server on `fake` (controllers run: services get tasks, tasks reach
    /// RUNNING) with the ECS API.
    pub async fn start_on(fake: &runtime::FakeRuntime) -> Ecs {
        let fake = fake.clone();
        Ecs::start_with(move |c| {
            c.runtime = Some(std::sync::Arc::new(fake));
            c.metrics_interval = Some(std::time::Duration::from_millis(200));
        })
        .await
    }

    /// A server with the ECS API whose configuration `configure` changes too.
    pub async fn start_with(configure: impl FnOnce(&mut ecsctl_server::ServerConfig)) -> Ecs {
        let addr = super::tcp::free_addr();
        let creds = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(creds.path(), credentials()).unwrap();
        let path = creds.path().to_path_buf();
        let server = Server::start_with(move |c| {
            let mut aws = AwsApi::new(addr);
            aws.credentials = Some(path);
            aws.account_id = ACCOUNT.to_string();
            c.aws_api = Some(aws);
            configure(c);
        })
        .await;
        drop(creds);
        Ecs { server, addr }
    }

    /// `op` as the admin key: the status and the JSON body.
    pub async fn call(&self, op: &str, body: Value) -> (StatusCode, Value) {
        self.call_as(Signing::Key(ADMIN_KEY, ADMIN_SECRET), op, body)
            .await
    }

    /// `op`, which must succeed: its answer.
    pub async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, out) = self.call(op, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{op} {body}: {out}");
        out
    }

    /// `op`, which must fail with ECS error `code`: its message.
    pub async fn fails(&self, op: &str, body: Value, code: &str) -> String {
        let (status, out) = self.call(op, body.clone()).await;
        assert_ne!(status, StatusCode::OK, "{op} {body} should fail: {out}");
        assert_eq!(out["__type"], code, "{op} {body}: {out}");
        out["message"].as_str().unwrap_or_default().to_string()
    }

    /// `op` signed as `signing` says.
    pub async fn call_as(
        &self,
        signing: Signing<'_>,
        op: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let body = serde_json::to_vec(&body).unwrap();
        let amz_date = sigv4::format_amz_date(time::OffsetDateTime::now_utc());
        let mut headers = vec![
            ("host".to_string(), self.addr.to_string()),
            (
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
            ("x-amz-date".to_string(), amz_date.clone()),
            (
                "x-amz-target".to_string(),
                format!("AmazonEC2ContainerServiceV20141113.{op}"),
            ),
        ];
        if let Signing::Key(id, secret) = signing {
            let req = sigv4::Request {
                method: "POST",
                path: "/",
                query: "",
                headers: headers.clone(),
                body: &body,
            };
            let auth = sigv4::sign(&req, id, secret, REGION, "ecs", &amz_date).unwrap();
            headers.push(("authorization".to_string(), auth));
        }
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut builder = Request::builder().method(Method::POST).uri("/");
        for (n, v) in &headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        let response = sender
            .send_request(builder.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(
            response.headers()["content-type"],
            "application/x-amz-json-1.1"
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }
}
