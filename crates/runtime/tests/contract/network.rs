//! Contract: ports, shared network namespaces, networks and volumes.

use super::*;

pub async fn ephemeral_port_is_reported_and_reachable(h: &dyn Harness) {
    let spec = ContainerSpec {
        command: Some(vec![
            "httpd".into(),
            "-f".into(),
            "-p".into(),
            "8080".into(),
            "-h".into(),
            "/www".into(),
        ]),
        ports: vec![PortSpec {
            host_ip: Some("127.0.0.1".into()),
            ..PortSpec::tcp(8080)
        }],
        labels: run_labels(h),
        ..ContainerSpec::new(name(h, "httpd"), h.image())
    };
    let id = create_and_start(h, &spec).await;
    let info = h.rt().inspect(&id).await.expect("inspect");
    let binding = info
        .ports
        .iter()
        .find(|p| p.container_port == 8080)
        .unwrap_or_else(|| panic!("no binding for 8080: {info:?}"));
    assert_ne!(binding.host_port, 0);
    assert_eq!(binding.host_ip, "127.0.0.1");
    if h.real_network() {
        let port = binding.host_port;
        let page = eventually(Duration::from_secs(5), || http_get(port)).await;
        let page = page.expect("httpd answers on the ephemeral port");
        assert!(page.contains("ecsctl busybox"), "{page}");
    }
}

/// `GET /` on 127.0.0.1:port; `None` until something answers.
async fn http_get(port: u16) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.ok()?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut out))
        .await
        .ok()?
        .ok()?;
    (!out.is_empty()).then_some(out)
}

pub async fn shared_network_namespace(h: &dyn Harness) {
    let server = ContainerSpec {
        command: Some(vec![
            "httpd".into(),
            "-f".into(),
            "-p".into(),
            "8080".into(),
            "-h".into(),
            "/www".into(),
        ]),
        labels: run_labels(h),
        ..ContainerSpec::new(name(h, "ns-server"), h.image())
    };
    let server_id = h.rt().create(&server).await.expect("create server");
    let client = ContainerSpec {
        network: NetworkAttach::Container(server_id.clone()),
        ..sh(h, "ns-client", IDLE)
    };
    h.program(
        &client.name,
        FakeBehavior {
            exec_output: ExecOutput {
                exit_code: 0,
                stdout: "<h1>ecsctl busybox</h1>\n".into(),
                stderr: String::new(),
            },
            ..idle()
        },
    );
    let client_id = h.rt().create(&client).await.expect("create client");
    // The namespace's owner must run first.
    let early = h.rt().start(&client_id).await;
    assert!(matches!(early, Err(RuntimeError::Conflict(_))), "{early:?}");

    h.rt().start(&server_id).await.expect("start server");
    h.rt().start(&client_id).await.expect("start client");
    let wget: Vec<String> = ["wget", "-qO-", "http://127.0.0.1:8080/"]
        .map(String::from)
        .into();
    let out = eventually(Duration::from_secs(5), || async {
        let out = h.rt().exec(&client_id, &wget).await.expect("exec");
        (out.exit_code == 0).then_some(out)
    })
    .await
    .expect("the client reaches the server on 127.0.0.1");
    assert!(out.stdout.contains("ecsctl busybox"), "{out:?}");
}

pub async fn networks_and_aliases(h: &dyn Harness) {
    let net = name(h, "net");
    let labels = run_labels(h);
    let id1 = h.rt().ensure_network(&net, &labels).await.expect("ensure");
    let id2 = h
        .rt()
        .ensure_network(&net, &labels)
        .await
        .expect("ensure again");
    assert_eq!(id1, id2);
    let spec = ContainerSpec {
        network: NetworkAttach::Named {
            network: net.clone(),
            aliases: vec!["web".into()],
        },
        ..sh(h, "on-net", IDLE)
    };
    let c = create_and_start(h, &spec).await;
    let info = h.rt().inspect(&c).await.expect("inspect");
    assert!(info.ip_addresses.contains_key(&net), "{info:?}");
    let busy = h.rt().remove_network(&net).await;
    assert!(matches!(busy, Err(RuntimeError::Conflict(_))), "{busy:?}");
    h.rt().remove(&c, true).await.expect("remove");
    h.rt().remove_network(&net).await.expect("remove network");
    let again = h.rt().remove_network(&net).await;
    assert!(matches!(again, Err(RuntimeError::NotFound(_))), "{again:?}");
}

pub async fn volumes_are_kept_while_used(h: &dyn Harness) {
    let vol = name(h, "vol");
    let opts = BTreeMap::new();
    h.rt()
        .create_volume(&vol, &run_labels(h), &opts)
        .await
        .expect("create volume");
    h.rt()
        .create_volume(&vol, &run_labels(h), &opts)
        .await
        .expect("create again");
    let seen = h.rt().inspect_volume(&vol).await.expect("inspect volume");
    assert_eq!(seen.labels, run_labels(h), "{seen:?}");
    let listed = h.rt().list_volumes(&run_labels(h)).await.expect("list");
    assert!(listed.iter().any(|v| v.name == vol), "{listed:?}");
    let spec = ContainerSpec {
        mounts: vec![
            MountSpec {
                source: MountSource::Volume(vol.clone()),
                target: "/data".into(),
                read_only: false,
            },
            MountSpec {
                source: MountSource::Tmpfs {
                    size: Some(1 << 20),
                },
                target: "/scratch".into(),
                read_only: false,
            },
        ],
        ..sh(h, "vol-user", IDLE)
    };
    let c = h.rt().create(&spec).await.expect("create");
    let busy = h.rt().remove_volume(&vol).await;
    assert!(matches!(busy, Err(RuntimeError::Conflict(_))), "{busy:?}");
    h.rt().remove(&c, true).await.expect("remove container");
    h.rt().remove_volume(&vol).await.expect("remove volume");
    let again = h.rt().remove_volume(&vol).await;
    assert!(matches!(again, Err(RuntimeError::NotFound(_))), "{again:?}");
    let gone = h.rt().inspect_volume(&vol).await;
    assert!(matches!(gone, Err(RuntimeError::NotFound(_))), "{gone:?}");
}

pub async fn packet_filters_go_into_running_namespaces(h: &dyn Harness) {
    use ecsctl_runtime::PacketFilter;
    let net = name(h, "pf-net");
    h.rt()
        .ensure_network(&net, &run_labels(h))
        .await
        .expect("ensure");
    let gateway = h.rt().network_gateway(&net).await.expect("gateway");
    assert!(gateway.is_some(), "a bridge network has a gateway");
    let unknown = h.rt().network_gateway(&name(h, "no-such-net")).await;
    assert!(
        matches!(unknown, Err(RuntimeError::NotFound(_))),
        "{unknown:?}"
    );

    let spec = ContainerSpec {
        network: NetworkAttach::Named {
            network: net.clone(),
            aliases: vec![],
        },
        ..sh(h, "pf", IDLE)
    };
    let c = create_and_start(h, &spec).await;
    let filter = PacketFilter {
        trusted: gateway.into_iter().collect(),
        ..PacketFilter::default()
    };
    h.rt()
        .load_packet_filter(&c, &filter)
        .await
        .expect("a running container's namespace takes a filter");
    // Loading again replaces it (idempotent).
    h.rt().load_packet_filter(&c, &filter).await.expect("again");
    let missing = h
        .rt()
        .load_packet_filter(&ContainerId(name(h, "no-such-container")), &filter)
        .await;
    assert!(
        matches!(missing, Err(RuntimeError::NotFound(_))),
        "{missing:?}"
    );
    let created = h
        .rt()
        .create(&sh(h, "pf-created", IDLE))
        .await
        .expect("create");
    let not_running = h.rt().load_packet_filter(&created, &filter).await;
    assert!(
        matches!(not_running, Err(RuntimeError::Conflict(_))),
        "{not_running:?}"
    );
    h.rt().remove(&c, true).await.expect("remove");
    h.rt().remove(&created, true).await.expect("remove");
    h.rt().remove_network(&net).await.expect("remove network");
}
