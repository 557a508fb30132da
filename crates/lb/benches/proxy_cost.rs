//! What one proxied request costs the proxy in user-space instructions and heap allocations,
//! counted by valgrind (callgrind and dhat), so the numbers repeat whatever the machine's load.
//!
//! The proxy runs alone in a child process (this binary again, `PROXY_COST_ROLE=proxy`) under
//! valgrind; the backend and the load (BENCH_CONNS keep-alive connections, 32, closed loop) run
//! here. Each tool runs twice, with COST_FEW (2,000) and COST_MANY (10,000) requests; the
//! difference divided by the difference in requests is the cost of one request, without the
//! start-up and shutdown. Run: `cargo bench -p ecsctl-lb --bench proxy_cost` (valgrind must be
//! installed). COST_TOOLS=callgrind (or dhat) runs one tool; COST_TOOLS=strace counts system
//! calls per request instead (strace must be installed); COST_KEEP=1 keeps the callgrind
//! profiles (for `callgrind_annotate`) and prints where they are, or prints strace's table.

use bytes::Bytes;
use ecsctl_lb::{LbConfig, LbManager, Target};
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::error::Error;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Res<()> {
    if std::env::var("PROXY_COST_ROLE").as_deref() == Ok("proxy") {
        return proxy_role();
    }
    let few = env("COST_FEW", 2_000);
    let many = env("COST_MANY", 10_000);
    let conns = env("BENCH_CONNS", 32);
    let tools = std::env::var("COST_TOOLS").unwrap_or_else(|_| "callgrind,dhat".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let backend = rt.block_on(backend())?;
    println!("proxy cost per request: {conns} keep-alive connections, {few} and {many} requests");
    for tool in tools.split(',') {
        let a = run(&rt, tool, backend, conns, few)?;
        let b = run(&rt, tool, backend, conns, many)?;
        let per = |x: u64, y: u64| (y as f64 - x as f64) / (many - few) as f64;
        match tool {
            "callgrind" => println!(
                "instructions/request: {:>9.0}   ({} at {few}, {} at {many})",
                per(a.0, b.0),
                a.0,
                b.0
            ),
            "strace" => println!("syscalls/request:     {:>9.2}", per(a.0, b.0)),
            _ => println!(
                "allocations/request:  {:>9.2}   bytes/request: {:.0}",
                per(a.0, b.0),
                per(a.1, b.1)
            ),
        }
    }
    Ok(())
}

/// One proxy process under `tool` serving `requests`: (instructions, 0) for callgrind,
/// (blocks, bytes) allocated for dhat.
fn run(
    rt: &tokio::runtime::Runtime,
    tool: &str,
    backend: SocketAddr,
    conns: usize,
    requests: usize,
) -> Res<(u64, u64)> {
    let dir = std::env::temp_dir();
    let tag = format!("{}-{tool}-{requests}", std::process::id());
    let out = dir.join(format!("ecsctl-lb-cost-{tag}.out"));
    let log = dir.join(format!("ecsctl-lb-cost-{tag}.log"));
    let mut cmd = Command::new(if tool == "strace" {
        "strace"
    } else {
        "valgrind"
    });
    match tool {
        "callgrind" => cmd.arg(format!("--callgrind-out-file={}", out.display())),
        "dhat" => cmd.arg(format!("--dhat-out-file={}", out.display())),
        "strace" => cmd.args(["-f", "-c", "-o"]).arg(&log),
        other => return Err(format!("unknown tool {other} (callgrind, dhat or strace)").into()),
    };
    if tool != "strace" {
        cmd.arg(format!("--tool={tool}"))
            .arg(format!("--log-file={}", log.display()));
    }
    let mut child = cmd
        .arg(std::env::current_exe()?)
        .env("PROXY_COST_ROLE", "proxy")
        .env("PROXY_COST_BACKEND", backend.to_string())
        .env("PROXY_COST_PORT", free_port()?.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("valgrind: {e} (is it installed?)"))?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let port: u16 = loop {
        let line = lines
            .next()
            .ok_or("the proxy exited before it was ready")??;
        if let Some(port) = line.strip_prefix("ready ") {
            break port.trim().parse()?;
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    rt.block_on(closed_loop(addr, conns, requests))?;
    let took = started.elapsed();
    drop(child.stdin.take()); // the proxy shuts down at the end of its stdin
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("proxy under {tool} exited with {status}").into());
    }
    let mut text = String::new();
    std::fs::File::open(&log)?.read_to_string(&mut text)?;
    let _ = std::fs::remove_file(&log);
    let counts = match tool {
        "strace" => {
            // `% time seconds usecs/call calls errors syscall`, then a `total` line.
            let total = text
                .lines()
                .find(|l| l.trim_end().ends_with("total"))
                .ok_or("no total in the strace summary")?;
            let calls = total.split_whitespace().nth(3).unwrap_or_default();
            if std::env::var_os("COST_KEEP").is_some() {
                eprintln!("{text}");
            }
            (parse_num(calls)?, 0)
        }
        "callgrind" => {
            let profile = std::fs::read_to_string(&out)?;
            let total = profile
                .lines()
                .find_map(|l| l.strip_prefix("summary:").or(l.strip_prefix("totals:")))
                .ok_or("no summary in the callgrind profile")?;
            if std::env::var_os("COST_KEEP").is_some() {
                eprintln!("callgrind profile: {}", out.display());
            } else {
                let _ = std::fs::remove_file(&out);
            }
            (parse_num(total)?, 0)
        }
        _ => {
            let _ = std::fs::remove_file(&out);
            // `==pid== Total:     1,234 bytes in 56 blocks`
            let line = text
                .lines()
                .find(|l| l.contains("Total:"))
                .ok_or("no total in the dhat log")?;
            let after = line.split("Total:").nth(1).unwrap_or_default();
            let bytes = after.split("bytes").next().unwrap_or_default();
            let blocks = after
                .split(" in ")
                .nth(1)
                .and_then(|s| s.split("blocks").next())
                .unwrap_or_default();
            (parse_num(blocks)?, parse_num(bytes)?)
        }
    };
    eprintln!("  {tool} {requests} requests: {counts:?} ({took:.1?} under valgrind)");
    Ok(counts)
}

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn parse_num(s: &str) -> Res<u64> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    Ok(digits.parse().map_err(|_| format!("not a number: {s:?}"))?)
}

/// The proxy alone: an HTTP listener to the backend, on an ephemeral port it prints, until
/// its stdin ends.
fn proxy_role() -> Res<()> {
    let backend: SocketAddr = std::env::var("PROXY_COST_BACKEND")?.parse()?;
    let port: u16 = std::env::var("PROXY_COST_PORT")?.parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let lbs = LbManager::new();
    let spec: api::kinds::LoadBalancerSpec = serde_json::from_value(serde_json::json!({
        "listeners": [{"port": port, "protocol": "HTTP", "defaultService": "web"}],
        "healthCheck": {"intervalSeconds": 300, "healthyThresholdCount": 1}
    }))?;
    let cfg = LbConfig {
        name: "cost".into(),
        cluster: "default".into(),
        spec,
        targets: [(
            "web".to_string(),
            vec![Target {
                task_id: "backend".into(),
                addr: backend,
            }],
        )]
        .into(),
        draining: vec![],
        certificates: Default::default(),
    };
    rt.block_on(lbs.sync(vec![cfg]))?;
    println!("ready {port}");
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest)?;
    rt.block_on(lbs.shutdown());
    Ok(())
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

/// `total` requests over `conns` keep-alive connections, each sending its share back to back.
async fn closed_loop(addr: SocketAddr, conns: usize, total: usize) -> Res<()> {
    let per = total / conns;
    let mut tasks = Vec::new();
    for c in 0..conns {
        let share = per + usize::from(c < total % conns);
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let req = Request::get("/")
                    .header(hyper::header::HOST, "bench.local")
                    .body(Empty::<Bytes>::new())?;
                sender.ready().await?;
                let res = tokio::time::timeout(Duration::from_secs(60), sender.send_request(req))
                    .await??;
                if !res.status().is_success() {
                    return Err(format!("status {}", res.status()).into());
                }
                res.into_body().collect().await?;
            }
            Res::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}
