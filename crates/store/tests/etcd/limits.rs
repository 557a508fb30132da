//! Where the store stops: etcd's limits on one transaction, a bad `--store`, no etcd.

use super::*;

/// One apply of more operations than etcd's `--max-txn-ops` (the harness's 10000) is
/// refused with what to change, and nothing of it is written.
#[test]
fn a_write_over_etcds_transaction_limit_says_so_and_writes_nothing() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let store = connect(&cluster, &prefix);
    // Three operations each (the object, its event, its label's index entry): 10500.
    let objects: Vec<Object> = (0..3500)
        .map(|i| {
            let mut o = svc(&format!("s{i}"), 1);
            o.metadata.labels.insert("team".into(), "shop".into());
            o
        })
        .collect();
    match store.apply_all(objects, false) {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("--max-txn-ops"), "{message}");
            assert!(message.contains("too many operations"), "{message}");
        }
        other => panic!("a write over etcd's limit: {other:?}"),
    }

    assert_nothing_written(&cluster, &prefix, &store);
    // The store goes on from revision 0: the refused write took none.
    let written = store.apply(svc("next", 1)).unwrap().object;
    assert_eq!(written.metadata.resource_version, Some(1));
}

/// One apply larger than etcd's `--max-request-bytes` (the harness's 10 MiB) is refused with
/// what to change, whether etcd refuses it (a little over the limit: "request is too large")
/// or its gRPC server does before etcd sees it (further over: "received message larger than
/// max"), and nothing of it is written.
#[test]
fn a_write_over_etcds_request_size_limit_says_so_and_writes_nothing() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let store = connect(&cluster, &prefix);
    // About 200 KiB each, as the object and again in its event: 52 are 10.7 MB, 60 12.3 MB.
    let blob = "x".repeat(100 * 1024);
    for count in [52, 60] {
        let objects: Vec<Object> = (0..count)
            .map(|i| {
                let mut o = svc(&format!("s{i}"), 1);
                o.spec["blob"] = json!(blob);
                o
            })
            .collect();
        match store.apply_all(objects, false) {
            Err(StoreError::Backend(message)) => {
                assert!(
                    message.contains("--max-request-bytes"),
                    "{count}: {message}"
                );
            }
            other => panic!("a write of {count} objects over etcd's limit: {other:?}"),
        }
    }
    assert_nothing_written(&cluster, &prefix, &store);
}

/// Not one key under `prefix`, and the store at revision 0.
fn assert_nothing_written(cluster: &EtcdCluster, prefix: &str, store: &EtcdStore) {
    let everything = cluster
        .gateway(
            0,
            "/v3/kv/range",
            &json!({
                "key": b64(format!("{prefix}/")),
                "range_end": b64(format!("{prefix}0")),
                "count_only": true,
            }),
        )
        .unwrap();
    assert_eq!(
        everything["count"].as_str().unwrap_or("0"),
        "0",
        "{everything}"
    );
    assert_eq!(
        store.list(&ListQuery::new(Kind::Service)).unwrap().revision,
        0
    );
}

#[test]
fn store_urls_that_are_not_etcd_host_port_lists_are_refused() {
    let parsed = EtcdOptions::from_url("etcd://127.0.0.1:2379, etcd-2:2380").unwrap();
    assert_eq!(parsed.endpoints, ["127.0.0.1:2379", "etcd-2:2380"]);
    assert_eq!(parsed.prefix, ecsctl_store::DEFAULT_PREFIX);
    for (url, says) in [
        ("http://127.0.0.1:2379", "expected etcd://"),
        ("127.0.0.1:2379", "expected etcd://"),
        ("etcd://", "\"\" is not HOST:PORT"),
        ("etcd://127.0.0.1", "\"127.0.0.1\" is not HOST:PORT"),
        ("etcd://:2379", "\":2379\" is not HOST:PORT"),
        ("etcd://etcd:http", "\"etcd:http\" is not HOST:PORT"),
        ("etcd://etcd:65536", "\"etcd:65536\" is not HOST:PORT"),
        ("etcd://a:1,,b:2", "\"\" is not HOST:PORT"),
    ] {
        match EtcdOptions::from_url(url) {
            Err(StoreError::Config(message)) => {
                assert!(message.contains(says), "{url}: {message}");
                assert!(message.contains("--store"), "{url}: {message}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

/// Connecting where no etcd answers fails within the request timeout, naming the endpoint:
/// a port nobody listens on, and one that accepts connections and never answers.
#[test]
fn connecting_where_no_etcd_answers_fails_in_time_naming_the_endpoint() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    for (addr, says) in [
        (closed, "refused"),
        (silent.local_addr().unwrap(), "no answer in time"),
    ] {
        let mut options = EtcdOptions::from_url(&format!("etcd://{addr}")).unwrap();
        options.request_timeout = Duration::from_secs(1);
        let started = Instant::now();
        let error = EtcdStore::connect(options).expect_err("connected to nothing");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(3),
            "{addr}: failed after {took:?}"
        );
        let message = error.to_string();
        assert!(message.contains(&addr.to_string()), "{message}");
        assert!(message.contains("etcd is unavailable"), "{message}");
        assert!(message.to_lowercase().contains(says), "{message}");
    }
}
