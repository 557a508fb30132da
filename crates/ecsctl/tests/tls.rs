//! The TCP API over TLS, through the real binary: a certificate made by openssl, clients that
//! trust it or not, the bearer token still required, and no plain TCP beyond loopback.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ecsctl");

/// Kills the server when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ecsctl(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ECSCTL_HOME", home)
        .env_remove("ECSCTL_SERVER")
        .env_remove("ECSCTL_TOKEN_FILE")
        .env_remove("ECSCTL_CA_FILE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A self-signed certificate for 127.0.0.1 and localhost (not a CA: webpki refuses a CA
/// certificate as a server's own).
fn make_certificate(dir: &Path) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .output()
        .expect("openssl (Debian's openssl package) must be installed");
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn tcp_beyond_loopback_needs_tls_and_tls_works_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let p = |name: &str| dir.path().join(name).display().to_string();
    make_certificate(dir.path());
    std::fs::write(dir.path().join("token"), "t0ken-for-tls\n").unwrap();
    std::fs::write(dir.path().join("wrong"), "not-the-token\n").unwrap();
    std::fs::write(dir.path().join("junk.pem"), "not a key\n").unwrap();

    // Plain TCP on every interface: refused before anything starts, saying what to do.
    let port = free_port();
    let o = ecsctl(
        &home,
        &[
            "server",
            "--listen",
            &format!("tcp://0.0.0.0:{port}"),
            "--token-file",
            &p("token"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--tls-cert"), "{}", text(&o));
    // A key that is no key: refused, naming the file.
    let o = ecsctl(
        &home,
        &[
            "server",
            "--listen",
            &format!("https://0.0.0.0:{port}"),
            "--token-file",
            &p("token"),
            "--tls-cert",
            &p("cert.pem"),
            "--tls-key",
            &p("junk.pem"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("junk.pem"), "{}", text(&o));

    let server = Command::new(BIN)
        .args([
            "server",
            "--listen",
            &format!("https://127.0.0.1:{port}"),
            "--token-file",
            &p("token"),
            "--tls-cert",
            &p("cert.pem"),
            "--tls-key",
            &p("key.pem"),
        ])
        .env("ECSCTL_HOME", &home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Killed(server);
    let url = format!("https://127.0.0.1:{port}");
    let trusted = |args: &[&str]| {
        let mut all = vec![
            "--server",
            url.as_str(),
            "--token-file",
            dir.path().join("token").to_str().unwrap(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        all.extend(["--ca-file".to_string(), p("cert.pem")]);
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        ecsctl(&home, &refs)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !trusted(&["get", "clusters"]).status.success() {
        assert!(Instant::now() < deadline, "the TLS server never answered");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A client that says nothing after connecting holds up nobody.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = idle.write_all(b"");
    let manifest = dir.path().join("td.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: over-tls}\nspec:\n  containerDefinitions:\n    - {name: app, image: ecsctl/busybox:local, memory: 32}\n",
    )
    .unwrap();
    let o = trusted(&["apply", "-f", manifest.to_str().unwrap()]);
    assert!(
        o.status.success() && text(&o).contains("taskdefinition/over-tls:1 created"),
        "{}",
        text(&o)
    );
    drop(idle);

    // Not trusting the certificate, a wrong token, or plain HTTP to the TLS port: all fail
    // with a message that says which.
    let o = ecsctl(
        &home,
        &[
            "--server",
            &url,
            "--token-file",
            &p("token"),
            "--ca-file",
            "/etc/ssl/certs/ca-certificates.crt",
            "get",
            "clusters",
        ],
    );
    if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            text(&o).contains("TLS handshake") && text(&o).contains("UnknownIssuer"),
            "{}",
            text(&o)
        );
    }
    let o = ecsctl(
        &home,
        &[
            "--server",
            &url,
            "--token-file",
            &p("wrong"),
            "--ca-file",
            &p("cert.pem"),
            "get",
            "clusters",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bearer token"), "{}", text(&o));
    let o = ecsctl(
        &home,
        &[
            "--server",
            &format!("tcp://127.0.0.1:{port}"),
            "--token-file",
            &p("token"),
            "get",
            "clusters",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}
