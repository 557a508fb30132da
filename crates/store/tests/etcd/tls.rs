//! The store over TLS (`--etcd-ca`, `--etcd-cert`, `--etcd-key`), on etcd clusters whose
//! client ports serve `https` with certificates from a throwaway CA (`etcd_harness::TestPki`):
//! what works, what etcd refuses and how the refusal reads, and TLS files that cannot be
//! used.

use super::*;
use ecsctl_store::EtcdTls;
use etcd_harness::TestPki;
use std::path::{Path, PathBuf};

/// The request timeout of the refused connections below: a refusal must come within it
/// (plus a little), not hang.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(3);

/// Certificates in a directory of their own, and a cluster serving them.
struct TlsSetup {
    cluster: EtcdCluster,
    pki: TestPki,
    dir: tempfile::TempDir,
}

impl TlsSetup {
    /// A one-member cluster over TLS; with `client_auth`, started with
    /// `--client-cert-auth --trusted-ca-file CA`.
    fn start(client_auth: bool) -> TlsSetup {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path(), "etcd").unwrap();
        let cluster = EtcdCluster::start_tls(1, &pki.server_files(client_auth)).unwrap();
        TlsSetup { cluster, pki, dir }
    }

    /// Store options for this cluster with `tls`, under a prefix of their own.
    fn options(&self, tls: EtcdTls) -> EtcdOptions {
        let mut options = options(&self.cluster, &unique_prefix());
        options.tls = tls;
        options
    }

    /// Trusting this cluster's CA, without a client certificate.
    fn ca_only(&self) -> EtcdTls {
        EtcdTls {
            ca: Some(self.pki.ca.clone()),
            ..EtcdTls::default()
        }
    }

    /// Trusting this cluster's CA, with its client certificate.
    fn with_client_cert(&self) -> EtcdTls {
        EtcdTls {
            ca: Some(self.pki.ca.clone()),
            cert: Some(self.pki.client.cert.clone()),
            key: Some(self.pki.client.key.clone()),
        }
    }
}

/// Applies, lists and watches through `store`: the whole path a server uses, over TLS.
async fn apply_list_and_watch(store: &EtcdStore) {
    store.apply(svc("web", 1)).unwrap();
    let mut watch = store.watch(0).unwrap();
    let first = next_event(&mut watch).await;
    assert_eq!(first.revision, 1);
    assert_eq!(first.object.metadata.name, "web");
    store.apply(svc("api", 2)).unwrap();
    let second = next_event(&mut watch).await;
    assert_eq!(
        (second.revision, second.object.metadata.name.as_str()),
        (2, "api")
    );
    let listed = store.list(&ListQuery::new(Kind::Service)).unwrap();
    assert_eq!(listed.revision, 2);
    let mut names: Vec<_> = listed
        .items
        .iter()
        .map(|o| o.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["api", "web"]);
    assert_eq!(
        store.get(&service("api")).unwrap().unwrap().spec["desiredCount"],
        2
    );
}

/// `EtcdStore::connect` with `options` must fail within [`REFUSAL_TIMEOUT`] (and a little);
/// its message.
fn refused(options: EtcdOptions) -> String {
    let started = Instant::now();
    let error = match EtcdStore::connect(options) {
        Ok(_) => panic!("connected"),
        Err(e) => e,
    };
    let took = started.elapsed();
    assert!(
        took < REFUSAL_TIMEOUT + Duration::from_secs(2),
        "refused after {took:?}: {error}"
    );
    error.to_string()
}

/// Trusting the CA that signed the members' certificates is all a store needs when etcd
/// does not ask for client certificates.
#[tokio::test]
async fn a_store_over_https_trusting_the_ca_applies_lists_and_watches() {
    let setup = TlsSetup::start(false);
    let store = EtcdStore::connect(setup.options(setup.ca_only())).unwrap();
    apply_list_and_watch(&store).await;
    assert!(!store.server_version().unwrap().is_empty());
}

/// etcd with `--client-cert-auth`: without a client certificate the store is refused in
/// time with a message about the certificate; with `--etcd-cert` and `--etcd-key` it works.
#[tokio::test]
async fn client_certificates_are_required_when_etcd_asks_for_them() {
    let setup = TlsSetup::start(true);
    let mut options = setup.options(setup.ca_only());
    options.request_timeout = REFUSAL_TIMEOUT;
    let message = refused(options);
    assert!(message.contains(&setup.cluster.endpoints()[0]), "{message}");
    assert!(message.contains("TLS"), "{message}");
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    // What to give.
    assert!(message.contains("--etcd-cert"), "{message}");

    let store = EtcdStore::connect(setup.options(setup.with_client_cert())).unwrap();
    apply_list_and_watch(&store).await;
}

/// A CA that did not sign the members' certificates: refused, naming the certificate
/// problem, whether or not a client certificate is shown.
#[test]
fn a_ca_that_did_not_sign_the_members_certificates_is_refused() {
    let setup = TlsSetup::start(false);
    let stranger = TestPki::generate(setup.dir.path(), "stranger").unwrap();
    for tls in [
        EtcdTls {
            ca: Some(stranger.ca.clone()),
            ..EtcdTls::default()
        },
        EtcdTls {
            ca: Some(stranger.ca.clone()),
            cert: Some(setup.pki.client.cert.clone()),
            key: Some(setup.pki.client.key.clone()),
        },
    ] {
        let mut options = setup.options(tls);
        options.request_timeout = REFUSAL_TIMEOUT;
        let message = refused(options);
        assert!(message.contains(&setup.cluster.endpoints()[0]), "{message}");
        assert!(message.contains("TLS handshake"), "{message}");
        assert!(message.contains("UnknownIssuer"), "{message}");
        assert!(message.contains("--etcd-ca"), "{message}");
    }
}

/// TLS files that cannot be used fail `connect` at once (before any connection: the
/// endpoint here would only time out), naming the flag and the file.
#[test]
fn unusable_tls_files_fail_at_once_naming_the_flag_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path(), "etcd").unwrap();
    let file = |name: &str, text: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let missing = dir.path().join("missing.pem");
    let empty = file("empty.pem", "");
    let not_pem = file("not-pem.txt", "hello\n");
    let ca = Some(pki.ca.clone());
    let cases: Vec<(EtcdTls, &str, &Path)> = vec![
        (
            EtcdTls {
                ca: Some(missing.clone()),
                ..EtcdTls::default()
            },
            "--etcd-ca",
            &missing,
        ),
        (
            EtcdTls {
                ca: Some(empty.clone()),
                ..EtcdTls::default()
            },
            "--etcd-ca",
            &empty,
        ),
        (
            EtcdTls {
                ca: Some(not_pem.clone()),
                ..EtcdTls::default()
            },
            "--etcd-ca",
            &not_pem,
        ),
        (
            EtcdTls {
                ca: ca.clone(),
                cert: Some(missing.clone()),
                key: Some(pki.client.key.clone()),
            },
            "--etcd-cert",
            &missing,
        ),
        (
            EtcdTls {
                ca: ca.clone(),
                cert: Some(empty.clone()),
                key: Some(pki.client.key.clone()),
            },
            "--etcd-cert",
            &empty,
        ),
        (
            EtcdTls {
                ca: ca.clone(),
                cert: Some(pki.client.cert.clone()),
                key: Some(missing.clone()),
            },
            "--etcd-key",
            &missing,
        ),
        (
            EtcdTls {
                ca: ca.clone(),
                cert: Some(pki.client.cert.clone()),
                key: Some(empty.clone()),
            },
            "--etcd-key",
            &empty,
        ),
        (
            // A key that is not the certificate's.
            EtcdTls {
                ca: ca.clone(),
                cert: Some(pki.client.cert.clone()),
                key: Some(pki.server.key.clone()),
            },
            "--etcd-key",
            &pki.server.key,
        ),
    ];
    // Nothing answers there: a connection attempt would take the whole request timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("etcd://{}", silent.local_addr().unwrap());
    let connect_with = |tls: EtcdTls| {
        let mut options = EtcdOptions::from_url(&url).unwrap();
        options.request_timeout = Duration::from_secs(10);
        options.tls = tls;
        let started = Instant::now();
        let result = EtcdStore::connect(options);
        (result, started.elapsed())
    };
    for (tls, flag, path) in cases {
        let (result, took) = connect_with(tls.clone());
        let message = match result {
            Ok(_) => panic!("{tls:?}: connected"),
            Err(e) => e.to_string(),
        };
        assert!(took < Duration::from_secs(1), "{tls:?}: took {took:?}");
        assert!(message.contains(flag), "{tls:?}: {message}");
        assert!(
            message.contains(&path.display().to_string()),
            "{tls:?}: {message}"
        );
    }
    // Half a client identity: both flags named.
    for tls in [
        EtcdTls {
            ca: ca.clone(),
            cert: Some(pki.client.cert.clone()),
            key: None,
        },
        EtcdTls {
            ca: ca.clone(),
            cert: None,
            key: Some(pki.client.key.clone()),
        },
    ] {
        let (result, took) = connect_with(tls.clone());
        let message = match result {
            Ok(_) => panic!("{tls:?}: connected"),
            Err(e) => e.to_string(),
        };
        assert!(took < Duration::from_secs(1), "{tls:?}: took {took:?}");
        assert!(
            message.contains("--etcd-cert") && message.contains("--etcd-key"),
            "{tls:?}: {message}"
        );
    }
}
