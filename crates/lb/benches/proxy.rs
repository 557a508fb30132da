//! Proxy benchmark on loopback: a hyper backend hit directly, through ecsctl-lb (an HTTP
//! listener, and an HTTPS one when openssl can make its certificate: `lb-https`, TLS 1.3
//! terminated by the proxy), and through nginx (when installed: `benches/setup.sh`; with the
//! same certificate, `nginx-https`), in the same run. Per-request instruction and allocation
//! counts, which do not depend on the machine's load, are `benches/proxy_cost.rs`.
//!
//! 1. Closed loop: BENCH_REQUESTS (20,000) requests over BENCH_CONNS (32) keep-alive
//!    connections as fast as they go: requests/s, p50, p99; BENCH_ROUNDS (5) rounds that take
//!    every path in turn, the best and the median round of each path printed, and the median
//!    CPU time per request of the proxy's thread or of nginx's process (from /proc), which
//!    depends much less on the machine's load than requests per second do.
//! 2. Paced: 1,000 requests/s for BENCH_PACED (5,000) requests over 16 connections: p50 and
//!    p99, and what the proxy adds to the direct ones; the best of BENCH_PACED_ROUNDS (3).
//!
//! Backend, proxy and load generator each get their own single-threaded runtime (threads of
//! this process), and nginx one worker process, so both proxies get one core's worth of
//! threads on the same machine. Run: `cargo bench -p ecsctl-lb --bench proxy`.

use bytes::Bytes;
use ecsctl_lb::{CertificatePem, LbConfig, LbManager, Target};
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::error::Error;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

#[path = "../tests/common/cert.rs"]
mod cert;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime(name: &str, threads: usize) -> Res<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()?)
}

/// `N` distinct free ports: every listener is held until all ports are known (ports taken
/// one after another could come back the same once the first was let go).
fn free_ports<const N: usize>() -> Res<[u16; N]> {
    let listeners = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

async fn backend() -> Res<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(
                        b"hello from the backend\n",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// Where the load goes: an address, over TLS when `tls` is set (HTTP/1.1 either way).
#[derive(Clone)]
struct Path {
    addr: SocketAddr,
    cpu: Cpu,
    tls: Option<Arc<rustls::ClientConfig>>,
}

async fn connection(path: &Path) -> Res<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(path.addr).await?;
    stream.set_nodelay(true)?;
    let Some(tls) = &path.tls else {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        return Ok(sender);
    };
    let name = rustls::pki_types::ServerName::try_from("bench.local")?;
    let stream = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(name, stream)
        .await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A self-signed certificate for bench.local (openssl), both proxies terminate TLS with.
struct BenchCert {
    cert: String,
    key: String,
    /// A client that trusts it.
    client: Arc<rustls::ClientConfig>,
}

/// `None` without openssl.
fn bench_certificate() -> Option<BenchCert> {
    use rustls::pki_types::pem::PemObject;
    let dir = tempdir::Dir(
        std::env::temp_dir().join(format!("ecsctl-lb-bench-tls-{}", std::process::id())),
    );
    std::fs::create_dir_all(&dir.0).ok()?;
    let (cert, key) = cert::self_signed(&dir.0, "bench.local").ok()?;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(cert.as_bytes()).ok()?)
        .ok()?;
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Some(BenchCert {
        cert,
        key,
        client: Arc::new(client),
    })
}

async fn one(sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>) -> Res<Duration> {
    let req = Request::get("/")
        .header(hyper::header::HOST, "bench.local")
        .body(Empty::<Bytes>::new())?;
    let start = Instant::now();
    sender.ready().await?;
    let res = sender.send_request(req).await?;
    if !res.status().is_success() {
        return Err(format!("status {}", res.status()).into());
    }
    res.into_body().collect().await?;
    Ok(start.elapsed())
}

struct Run {
    /// CPU time of the proxy per request, where measured.
    cpu: Option<Duration>,
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn summarize(mut lat: Vec<Duration>, elapsed: Duration) -> Run {
    lat.sort();
    let at = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Run {
        cpu: None,
        rps: lat.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// Every connection sends its share back to back.
async fn closed_loop(path: &Path, conns: usize, total: usize) -> Res<Run> {
    let per = total / conns;
    let mut senders = Vec::new();
    for _ in 0..conns {
        senders.push(connection(path).await?);
    }
    let start = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per);
                for _ in 0..per {
                    lat.push(one(&mut s).await?);
                }
                Res::Ok(lat)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(summarize(all, start.elapsed()))
}

/// `rate` requests per second in all, spread over `conns` connections on a fixed schedule.
async fn paced(path: &Path, conns: usize, total: usize, rate: f64) -> Res<Run> {
    let per = total / conns;
    let mut senders = Vec::new();
    for _ in 0..conns {
        senders.push(connection(path).await?);
    }
    let start = tokio::time::Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(c, mut s)| {
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per);
                for k in 0..per {
                    let due = (k * conns + c) as f64 / rate;
                    tokio::time::sleep_until(start + Duration::from_secs_f64(due)).await;
                    lat.push(one(&mut s).await?);
                }
                Res::Ok(lat)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(summarize(all, start.elapsed()))
}

/// CPU time a thread or process has run, from `/proc/.../schedstat` (nanoseconds on a CPU),
/// or from `/proc/.../stat` (utime + stime, in clock ticks of 10 ms) where schedstat is
/// missing. `None` off Linux.
fn cpu_time(proc_dir: &std::path::Path) -> Option<Duration> {
    if let Ok(text) = std::fs::read_to_string(proc_dir.join("schedstat"))
        && let Some(ns) = text.split_whitespace().next().and_then(|v| v.parse().ok())
    {
        return Some(Duration::from_nanos(ns));
    }
    let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// CPU time of this process's threads named `proxy` (the proxy's runtime).
fn proxy_cpu() -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() == "proxy" {
            total += cpu_time(&dir)?;
        }
    }
    Some(total)
}

/// Whose CPU time a path's requests cost: the proxy's threads, nginx's process, or nobody
/// measured (direct).
#[derive(Clone, Copy)]
enum Cpu {
    None,
    Proxy,
    Process(u32),
}

impl Cpu {
    fn read(self) -> Option<Duration> {
        match self {
            Cpu::None => None,
            Cpu::Proxy => proxy_cpu(),
            Cpu::Process(pid) => cpu_time(&std::path::Path::new("/proc").join(pid.to_string())),
        }
    }
}

/// nginx runs as one process (`master_process off`), so killing it leaves no worker behind.
struct Nginx {
    child: Child,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A scratch directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> Option<String> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

/// nginx proxying to `backend` on `port`, and with `tls` (its port and certificate) also
/// terminating TLS 1.3 there.
fn start_nginx(
    bin: &str,
    port: u16,
    backend: SocketAddr,
    tls: Option<(u16, &BenchCert)>,
) -> Res<Nginx> {
    let dir = std::env::temp_dir().join(format!("ecsctl-lb-bench-nginx-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("logs"))?;
    let d = dir.display();
    let location = "location / {\n      proxy_pass http://backend;\n      proxy_http_version 1.1;\n\
         proxy_set_header Connection \"\";\n      proxy_set_header X-Forwarded-For $remote_addr;\n    }";
    let tls_server = match tls {
        Some((tls_port, cert)) => {
            std::fs::write(dir.join("cert.pem"), &cert.cert)?;
            std::fs::write(dir.join("key.pem"), &cert.key)?;
            format!(
                "  server {{\n    listen 127.0.0.1:{tls_port} ssl;\n    keepalive_requests 1000000;\n\
                 ssl_certificate {d}/cert.pem;\n    ssl_certificate_key {d}/key.pem;\n\
                 ssl_protocols TLSv1.3;\n    {location}\n  }}\n"
            )
        }
        None => String::new(),
    };
    let conf = format!(
        "master_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           upstream backend {{ server {backend}; keepalive 64; }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    keepalive_requests 1000000;\n    {location}\n  }}\n\
         {tls_server}}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf)?;
    let child = Command::new(bin)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&path)
        .arg("-g")
        .arg("daemon off;")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let nginx = Nginx {
        child,
        _dir: tempdir::Dir(dir),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("nginx did not listen within 5 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(nginx)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() -> Res<()> {
    let total = env("BENCH_REQUESTS", 20_000);
    let conns = env("BENCH_CONNS", 32);
    let paced_total = env("BENCH_PACED", 5_000);
    let proxy_threads = env("BENCH_PROXY_THREADS", 1);
    let closed_rounds = env("BENCH_ROUNDS", 5).max(1);
    let paced_rounds = env("BENCH_PACED_ROUNDS", 3).max(1);

    let backend_rt = runtime("backend", 1)?;
    let proxy_rt = runtime("proxy", proxy_threads)?;
    let client_rt = runtime("client", 1)?;

    let backend_addr = backend_rt.block_on(backend())?;
    let [lb_port, tls_port, nginx_port, nginx_tls_port] = free_ports::<4>()?;
    let lbs = LbManager::new();
    // An HTTPS listener beside the HTTP one, when openssl can make its certificate.
    let tls = bench_certificate();
    let mut listeners =
        vec![serde_json::json!({"port": lb_port, "protocol": "HTTP", "defaultService": "web"})];
    if tls.is_some() {
        listeners.push(serde_json::json!({"port": tls_port, "protocol": "HTTPS",
            "defaultService": "web", "certificates": [{"certificateArn": "bench-tls"}]}));
    } else {
        eprintln!("openssl not found: skipping the HTTPS listener");
    }
    let spec: api::kinds::LoadBalancerSpec = serde_json::from_value(serde_json::json!({
        "listeners": listeners,
        "healthCheck": {"intervalSeconds": 5, "healthyThresholdCount": 1}
    }))?;
    let cfg = LbConfig {
        name: "bench".into(),
        cluster: "default".into(),
        spec,
        targets: [(
            "web".to_string(),
            vec![Target {
                task_id: "backend".into(),
                addr: backend_addr,
            }],
        )]
        .into(),
        draining: vec![],
        certificates: tls
            .iter()
            .map(|c| {
                let pem = format!("{}{}", c.cert, c.key);
                ("bench-tls".to_string(), CertificatePem::Pem(pem))
            })
            .collect(),
    };
    proxy_rt.block_on(lbs.sync(vec![cfg]))?;
    let lb_addr: SocketAddr = ([127, 0, 0, 1], lb_port).into();

    let nginx = match nginx_binary() {
        Some(bin) => {
            let port = nginx_port;
            let nginx_tls = tls.as_ref().map(|c| (nginx_tls_port, c));
            match start_nginx(&bin, port, backend_addr, nginx_tls) {
                Ok(n) => Some((n, SocketAddr::from(([127, 0, 0, 1], port)))),
                Err(e) => {
                    eprintln!("nginx: {e}; skipping it");
                    None
                }
            }
        }
        None => {
            eprintln!("nginx not installed (benches/setup.sh installs it); skipping it");
            None
        }
    };

    let nginx_cpu = nginx
        .as_ref()
        .map_or(Cpu::None, |(n, _)| Cpu::Process(n.child.id()));
    let plain = |addr, cpu| Path {
        addr,
        cpu,
        tls: None,
    };
    let mut targets = vec![
        ("direct", plain(backend_addr, Cpu::None)),
        ("ecsctl-lb", plain(lb_addr, Cpu::Proxy)),
    ];
    let over_tls = |port, cpu| Path {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        cpu,
        tls: tls.as_ref().map(|c| c.client.clone()),
    };
    if let Some((_, addr)) = &nginx {
        targets.push(("nginx", plain(*addr, nginx_cpu)));
    }
    if tls.is_some() {
        targets.push(("lb-https", over_tls(tls_port, Cpu::Proxy)));
        if nginx.is_some() {
            targets.push(("nginx-https", over_tls(nginx_tls_port, nginx_cpu)));
        }
    }

    println!(
        "closed loop: {total} requests, {conns} keep-alive connections (proxy threads: {proxy_threads}, nginx: 1 worker), best of {closed_rounds} interleaved rounds"
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>12} {:>10}",
        "path", "req/s", "p50", "p99", "median req/s", "CPU/req"
    );
    // Rounds interleave the paths, so that a burst of load from elsewhere on the machine
    // hits all of them alike; each path's best round is printed (and the median's req/s).
    for (_, path) in &targets {
        client_rt.block_on(closed_loop(path, conns, 1_000))?; // warm-up
    }
    let mut rounds: Vec<Vec<Run>> = targets.iter().map(|_| Vec::new()).collect();
    for _ in 0..closed_rounds {
        for ((_, path), runs) in targets.iter().zip(&mut rounds) {
            let before = path.cpu.read();
            let mut run = client_rt.block_on(closed_loop(path, conns, total))?;
            if let (Some(a), Some(b)) = (before, path.cpu.read()) {
                run.cpu = Some(b.saturating_sub(a) / total as u32);
            }
            runs.push(run);
        }
    }
    let mut closed = Vec::new();
    let mut medians = Vec::new();
    let mut cpus = Vec::new();
    for ((name, _), mut runs) in targets.iter().zip(rounds) {
        let mut cpu: Vec<Duration> = runs.iter().filter_map(|r| r.cpu).collect();
        cpu.sort();
        let cpu = cpu.get(cpu.len() / 2).copied();
        runs.sort_by(|a, b| b.rps.total_cmp(&a.rps));
        let median = runs[runs.len() / 2].rps;
        let r = runs.swap_remove(0);
        println!(
            "{:<12} {:>10.0} {:>10} {:>10} {:>12.0} {:>10}",
            name,
            r.rps,
            ms(r.p50),
            ms(r.p99),
            median,
            cpu.map_or("-".to_string(), |c| format!(
                "{:.2} us",
                c.as_secs_f64() * 1e6
            ))
        );
        closed.push((*name, r));
        medians.push((*name, median));
        cpus.extend(cpu.map(|c| (*name, c)));
    }

    println!(
        "\npaced: {paced_total} requests at 1,000 req/s over 16 connections, best p99 of {paced_rounds} interleaved rounds"
    );
    println!(
        "{:<12} {:>10} {:>10} {:>12} {:>12}",
        "path", "p50", "p99", "added p50", "added p99"
    );
    let mut paced_runs: Vec<Option<Run>> = targets.iter().map(|_| None).collect();
    for _ in 0..paced_rounds {
        for ((_, path), best) in targets.iter().zip(&mut paced_runs) {
            let r = client_rt.block_on(paced(path, 16, paced_total, 1_000.0))?;
            if best.as_ref().is_none_or(|b| r.p99 < b.p99) {
                *best = Some(r);
            }
        }
    }
    let mut direct: Option<Run> = None;
    let mut added_p99 = Vec::new();
    for ((name, _), r) in targets.iter().zip(paced_runs) {
        let Some(r) = r else { continue };
        let (a50, a99) = direct
            .as_ref()
            .map_or((String::from("-"), String::from("-")), |d| {
                (
                    ms(r.p50.saturating_sub(d.p50)),
                    ms(r.p99.saturating_sub(d.p99)),
                )
            });
        println!(
            "{:<12} {:>10} {:>10} {:>12} {:>12}",
            name,
            ms(r.p50),
            ms(r.p99),
            a50,
            a99
        );
        match &direct {
            None => direct = Some(r),
            Some(d) => added_p99.push((*name, r.p99.saturating_sub(d.p99))),
        }
    }

    let rps = |n: &str| {
        closed
            .iter()
            .find(|(name, _)| *name == n)
            .map(|(_, r)| r.rps)
    };
    if let (Some(lb), Some(d)) = (rps("ecsctl-lb"), rps("direct")) {
        println!("\necsctl-lb / direct throughput: {:.2}", lb / d);
    }
    let median = |n: &str| medians.iter().find(|(name, _)| *name == n).map(|(_, r)| *r);
    for (lb, ng, target) in [
        ("ecsctl-lb", "nginx", "1.0"),
        ("lb-https", "nginx-https", "0.9"),
    ] {
        if let (Some(a), Some(b), Some(ma), Some(mb)) = (rps(lb), rps(ng), median(lb), median(ng)) {
            println!(
                "{lb} / {ng} throughput: {:.2} best, {:.2} median (target >= {target})",
                a / b,
                ma / mb
            );
        }
    }
    // CPU per request decides the throughput of one saturated core, and depends much less on
    // what else runs on the machine than requests per second do.
    let cpu = |n: &str| cpus.iter().find(|(name, _)| *name == n).map(|(_, c)| *c);
    for (lb, ng, target) in [
        ("ecsctl-lb", "nginx", "1.0"),
        ("lb-https", "nginx-https", "0.9"),
    ] {
        if let (Some(a), Some(b)) = (cpu(lb), cpu(ng)) {
            println!(
                "CPU per request, median round: {lb} {:.2} us, {ng} {:.2} us: requests per core {:.2} of {ng}'s (target >= {target})",
                a.as_secs_f64() * 1e6,
                b.as_secs_f64() * 1e6,
                b.as_secs_f64() / a.as_secs_f64()
            );
        }
    }
    let added = |n: &str| {
        added_p99
            .iter()
            .find(|(name, _)| *name == n)
            .map(|(_, d)| *d)
    };
    for (lb, ng) in [("ecsctl-lb", "nginx"), ("lb-https", "nginx-https")] {
        if let (Some(a), Some(b)) = (added(lb), added(ng)) {
            println!(
                "added p99 at 1,000 req/s: {lb} {} vs {ng} {} (target: no more)",
                ms(a),
                ms(b)
            );
        }
    }
    let snap = lbs.snapshot();
    if let Some(t) = snap.first().and_then(|s| s.targets.first()) {
        println!(
            "target counters: {} requests, {} in flight",
            t.requests, t.in_flight
        );
    }
    proxy_rt.block_on(lbs.shutdown());
    drop(nginx);
    Ok(())
}
