//! The TCP API over TLS, through the real binary: a certificate made by openssl, clients that
//! trust it or not, the bearer token still required, and no plain TCP beyond loopback.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Output;
use support::Server;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("local address").port()
}

fn text(o: &Output) -> String {
    format!("{}{}", support::stdout(o), support::stderr(o))
}

/// A self-signed certificate for 127.0.0.1 and localhost: `cert.pem`, `key.pem` in `dir`.
fn make_certificate(dir: &Path) {
    support::self_signed(
        &dir.join("cert.pem"),
        &dir.join("key.pem"),
        "localhost",
        "IP:127.0.0.1,DNS:localhost",
    );
}

#[test]
fn tcp_beyond_loopback_needs_tls_and_tls_works_with_the_token() {
    let mut s = Server::offline();
    let dir = s.path().to_path_buf();
    let p = |name: &str| dir.join(name).display().to_string();
    make_certificate(&dir);
    s.write("token", "t0ken-for-tls\n");
    s.write("wrong", "not-the-token\n");
    s.write("junk.pem", "not a key\n");

    // Plain TCP on every interface: refused before anything starts, saying what to do.
    let port = free_port();
    let o = s.run(&[
        "server",
        "--listen",
        &format!("tcp://0.0.0.0:{port}"),
        "--token-file",
        &p("token"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--tls-cert"), "{}", text(&o));
    // A key that is no key: refused, naming the file.
    let o = s.run(&[
        "server",
        "--listen",
        &format!("https://0.0.0.0:{port}"),
        "--token-file",
        &p("token"),
        "--tls-cert",
        &p("cert.pem"),
        "--tls-key",
        &p("junk.pem"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("junk.pem"), "{}", text(&o));

    let url = format!("https://127.0.0.1:{port}");
    let client = [
        "--server".to_string(),
        url.clone(),
        "--token-file".to_string(),
        p("token"),
        "--ca-file".to_string(),
        p("cert.pem"),
    ];
    let client: Vec<&str> = client.iter().map(String::as_str).collect();
    s.serve(
        &[
            "--listen",
            &url,
            "--token-file",
            &p("token"),
            "--tls-cert",
            &p("cert.pem"),
            "--tls-key",
            &p("key.pem"),
        ],
        &client,
    );
    let trusted = |args: &[&str]| s.run(&[client.as_slice(), args].concat());

    // A client that says nothing after connecting holds up nobody.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let _ = idle.write_all(b"");
    let manifest = s.write(
        "td.yaml",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: over-tls}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, memory: 32}\n",
    );
    let o = trusted(&["apply", "-f", &manifest]);
    assert!(
        o.status.success() && text(&o).contains("taskdefinition/over-tls:1 created"),
        "{}",
        text(&o)
    );
    drop(idle);

    // Not trusting the certificate, a wrong token, or plain HTTP to the TLS port: all fail
    // with a message that says which.
    let o = s.run(&[
        "--server",
        &url,
        "--token-file",
        &p("token"),
        "--ca-file",
        "/etc/ssl/certs/ca-certificates.crt",
        "get",
        "clusters",
    ]);
    if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            text(&o).contains("TLS handshake") && text(&o).contains("UnknownIssuer"),
            "{}",
            text(&o)
        );
    }
    let o = s.run(&[
        "--server",
        &url,
        "--token-file",
        &p("wrong"),
        "--ca-file",
        &p("cert.pem"),
        "get",
        "clusters",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bearer token"), "{}", text(&o));
    let o = s.run(&[
        "--server",
        &format!("tcp://127.0.0.1:{port}"),
        "--token-file",
        &p("token"),
        "get",
        "clusters",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}
