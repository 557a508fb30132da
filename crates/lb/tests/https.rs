//! HTTPS listeners: TLS with certificates from (stand-ins for) Secrets, chosen by SNI; the
//! request reaches a plain-HTTP target marked X-Forwarded-Proto: https; unusable
//! certificates are reported and never take down a listener that serves.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use ecsctl_lb::{CertificatePem, LbConfig, LbManager};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A self-signed certificate for `name` and its key, as one PEM text (certificate first).
fn certificate(dir: &Path, name: &str) -> String {
    let (cert, key) = cert::self_signed(dir, name).expect("a certificate from openssl");
    cert + &key
}

fn https_config(
    port: u16,
    certs: &[&str],
    pems: &[(&str, CertificatePem)],
    b: &Backend,
) -> LbConfig {
    let certificates: Vec<_> = certs
        .iter()
        .map(|c| serde_json::json!({"certificateArn": c}))
        .collect();
    let mut cfg = config(
        "edge",
        spec(serde_json::json!({
            "listeners": [{"port": port, "protocol": "HTTPS", "defaultService": "web",
                           "certificates": certificates}],
            "healthCheck": fast_checks(),
        })),
        &[("web", &[b])],
    );
    cfg.certificates = pems
        .iter()
        .map(|(n, p)| (n.to_string(), p.clone()))
        .collect();
    cfg
}

/// One request over TLS asking for `sni`, trusting `roots`: the certificate the server
/// presented and the response.
async fn get(
    port: u16,
    sni: &str,
    roots: &[&str],
) -> Result<(CertificateDer<'static>, String), String> {
    let mut store = rustls::RootCertStore::empty();
    for pem in roots {
        store
            .add(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
            .unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(store)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let mut tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .map_err(|_| "handshake timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned();
    tls.write_all(
        format!("GET /x HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut out = String::new();
    let _ = tls.read_to_string(&mut out).await; // a peer may skip close_notify
    Ok((presented, out))
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_the_certificate_the_client_names() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        certificate(dir.path(), "a.example"),
        certificate(dir.path(), "b.example"),
    );
    let backend = Backend::start("tls-web").await;
    let port = free_port();
    let lbs = LbManager::new();
    let pems = [
        ("a-cert", CertificatePem::Pem(a.clone())),
        ("b-cert", CertificatePem::Pem(b.clone())),
    ];
    lbs.sync(vec![https_config(
        port,
        &[
            "a-cert",
            "arn:aws:acm:us-east-1:123456789012:certificate/b-cert",
        ],
        &pems,
        &backend,
    )])
    .await
    .unwrap();
    let status = &lbs.snapshot()[0].listeners[0];
    assert!(status.bound, "{status:?}");
    let names: Vec<&str> = status
        .certificates
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["a-cert", "b-cert"]);
    // `-days 2`: each expires two days from now, as read from the certificate itself.
    for c in &status.certificates {
        let at = time::OffsetDateTime::parse(
            c.not_after.as_deref().expect("notAfter"),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let left = at - time::OffsetDateTime::now_utc();
        assert!(
            left > time::Duration::hours(47) && left <= time::Duration::hours(48),
            "{c:?}"
        );
    }

    let (presented, response) = get(port, "b.example", &[&a, &b]).await.unwrap();
    assert_eq!(presented, der(&b), "SNI b.example gets b's certificate");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("tls-web"), "{response}");
    assert!(
        response.contains(&format!("proto=https;port={port};host=b.example")),
        "{response}"
    );
    let (presented, _) = get(port, "a.example", &[&a]).await.unwrap();
    assert_eq!(presented, der(&a));
    // A name no certificate has gets the default (first) one, which the client then refuses.
    let err = get(port, "c.example", &[&a, &b]).await.unwrap_err();
    assert!(
        err.contains(r#"only valid for DnsName("a.example")"#),
        "{err}"
    );
    lbs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_certificates_are_reported_and_a_serving_listener_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let good = certificate(dir.path(), "a.example");
    let other = certificate(dir.path(), "b.example");
    let backend = Backend::start("tls-web").await;
    let port = free_port();
    let lbs = LbManager::new();

    // The Secret does not exist yet: nothing listens, and the status says why.
    let err = lbs
        .sync(vec![https_config(port, &["a-cert"], &[], &backend)])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTPS listener port"), "{err}");
    assert!(
        err.contains("certificate a-cert: Secret a-cert does not exist"),
        "{err}"
    );
    let status = lbs.snapshot()[0].listeners[0].clone();
    assert!(!status.bound && status.error.is_some(), "{status:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());

    // It appears: the listener binds.
    let pem = |p: &str| [("a-cert", CertificatePem::Pem(p.to_string()))];
    lbs.sync(vec![https_config(port, &["a-cert"], &pem(&good), &backend)])
        .await
        .unwrap();
    assert!(lbs.snapshot()[0].listeners[0].bound);
    assert_eq!(
        get(port, "a.example", &[&good]).await.unwrap().0,
        der(&good)
    );

    // Its value turns into something else: reported, and the listener keeps serving with the
    // certificate it had.
    let broken: String = good
        .lines()
        .filter(|l| !l.contains("PRIVATE KEY"))
        .take(4)
        .collect::<Vec<_>>()
        .join("\n");
    let mismatched = format!(
        "{}{}",
        good.split("-----BEGIN PRIVATE KEY").next().unwrap(),
        other.split_once("-----END CERTIFICATE-----\n").unwrap().1
    );
    for (value, says) in [
        (broken.as_str(), "certificate a-cert: "),
        (
            mismatched.as_str(),
            "the private key does not match the first certificate",
        ),
        ("", "no PEM certificate"),
    ] {
        let err = lbs
            .sync(vec![https_config(port, &["a-cert"], &pem(value), &backend)])
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{err}");
        let status = lbs.snapshot()[0].listeners[0].clone();
        assert!(status.bound, "{status:?}");
        assert!(
            status.error.as_deref().is_some_and(|e| e.contains(says)),
            "{status:?}"
        );
        assert_eq!(
            get(port, "a.example", &[&good]).await.unwrap().0,
            der(&good)
        );
    }
    // A certificate rotated to another one is used by the next connection.
    lbs.sync(vec![https_config(
        port,
        &["a-cert"],
        &pem(&other),
        &backend,
    )])
    .await
    .unwrap();
    assert_eq!(
        get(port, "b.example", &[&other]).await.unwrap().0,
        der(&other)
    );
    lbs.shutdown().await;
}

/// One HTTP/2 request over TLS (ALPN h2) to `https://{sni}/x`: version, status and the
/// headers the target echoed.
async fn get_h2(port: u16, sni: &str, root: &str) -> (hyper::Version, u16, String) {
    use http_body_util::{BodyExt, Empty};
    let mut store = rustls::RootCertStore::empty();
    store.add(der(root)).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(store)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from(sni.to_string()).unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(format!("https://{sni}/x"))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let res = send.send_request(req).await.unwrap();
    let (version, status) = (res.version(), res.status().as_u16());
    let echo = res.headers()["x-echo"].to_str().unwrap().to_string();
    let _ = res.into_body().collect().await.unwrap();
    (version, status, echo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_may_speak_http2_and_targets_still_get_http1_with_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let a = certificate(dir.path(), "a.example");
    let backend = Backend::start("tls-web").await;
    let port = free_port();
    let lbs = LbManager::new();
    let pems = [("a-cert", CertificatePem::Pem(a.clone()))];
    lbs.sync(vec![https_config(port, &["a-cert"], &pems, &backend)])
        .await
        .unwrap();
    let (version, status, echo) = get_h2(port, "a.example", &a).await;
    assert_eq!((version, status), (hyper::Version::HTTP_2, 200));
    assert_eq!(
        echo,
        format!("xff=127.0.0.1;proto=https;port={port};host=a.example")
    );
    lbs.shutdown().await;
}
