//! The harness of the several-host tests (`support::engines`): extra Docker engines beside
//! the main one, each standing in for a host with its own bridge. They serve side by side,
//! leave the main engine alone, and leave nothing behind when closed, killed, or when the
//! test process that made them crashed.
//!
//! Images come from `scripts/build-images.sh` (nothing can be pulled).
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::engines::slot::{self, LockRecord, Role};
use support::engines::{self, ExtraEngine, HeldSlot, Slot};
use support::engines::{claim, footprint};
use support::{IMAGE, docker, expect_code, stderr, stdout};

/// Set in the child process of [`a_crashed_run_is_swept`].
const CRASH_ENV: &str = "ECSCTL_ENGINES_CRASH";

// ---- what a slot names, and what it owns (pure) ----

#[test]
fn every_slot_fits_linux_limits_and_stays_apart_from_the_others() {
    let slots: Vec<Slot> = Slot::all().collect();
    assert_eq!(slots.len(), 200);
    for s in &slots {
        assert!(s.bridge().len() <= 15, "{}", s.bridge());
        // containerd's deepest socket under the exec root must fit in sun_path (108).
        let deepest = s.dir().join("exec/containerd/containerd.sock.ttrpc");
        assert!(deepest.as_os_str().len() < 100, "{}", deepest.display());
        let args = s.daemon_args();
        assert!(
            args.contains(&format!("--bridge={}", s.bridge())),
            "{args:?}"
        );
        assert!(!args.iter().any(|a| a.contains("none")), "{args:?}");
        assert!(s.owns_ip(s.address()));
        let (pool, _) = s.address_pool();
        assert!(s.owns_ip(Ipv4Addr::from(u32::from(pool) + 4 * 256 - 1)));
    }
    for (i, a) in slots.iter().enumerate() {
        for b in &slots[i + 1..] {
            let (pool_b, _) = b.address_pool();
            assert!(!a.owns_ip(b.address()), "{a:?} owns {}", b.address());
            assert!(!a.owns_ip(pool_b), "{a:?} owns {pool_b}");
        }
    }
    // Either would delete docker0, the main engine's bridge (see DAEMON_CONFIG).
    assert!(!slot::DAEMON_CONFIG.contains("default-address-pools"));
    assert!(!slot::DAEMON_CONFIG.contains("bridge"));
    let last = Slot::new(200).expect("slot 200");
    assert_eq!(last.address_pool(), (Ipv4Addr::new(10, 217, 28, 0), 22));
    assert!(Slot::new(0).is_none() && Slot::new(201).is_none());
    assert_eq!(Slot::from_lock_file_name("7.lock"), Slot::new(7));
    assert_eq!(Slot::from_lock_file_name("7.lock.tmp"), None);
}

#[test]
fn a_lock_record_names_only_its_own_slot() {
    let s3 = Slot::new(3).expect("slot");
    let s4 = Slot::new(4).expect("slot");
    let rec = LockRecord {
        slot: s3,
        pid: 4242,
    };
    let text = rec.render();
    assert_eq!(LockRecord::parse(&text, s3), Ok(Some(rec)));
    assert_eq!(LockRecord::parse("", s3), Ok(None));
    // A record moved to another slot's file, or edited to name other things, is refused.
    assert!(LockRecord::parse(&text, s4).is_err());
    let elsewhere = text.replace("/tmp/ece/3", "/");
    assert!(LockRecord::parse(&elsewhere, s3).is_err());
    assert!(LockRecord::parse("pid x\n", s3).is_err());
}

#[test]
fn only_the_slots_own_processes_are_its_own() {
    let s3 = Slot::new(3).expect("slot");
    let argv = |line: &str| -> Vec<String> { line.split(' ').map(str::to_string).collect() };
    let mine = [
        (
            "/usr/sbin/dockerd --data-root=/tmp/ece/3/data",
            Role::Dockerd,
        ),
        (
            "containerd --config /tmp/ece/3/exec/containerd/containerd.toml",
            Role::Containerd,
        ),
        (
            "/usr/bin/containerd-shim-runc-v2 -namespace moby -id ab -address /tmp/ece/3/exec/containerd/containerd.sock",
            Role::Shim,
        ),
        (
            "fuse-overlayfs -o lowerdir=/tmp/ece/3/data/l/A /tmp/ece/3/data/x/merged",
            Role::FuseOverlayfs,
        ),
        (
            "/usr/sbin/docker-proxy -proto tcp -host-ip 127.0.0.1 -host-port 1 -container-ip 10.213.3.2 -container-port 80",
            Role::Proxy,
        ),
    ];
    for (line, role) in mine {
        assert_eq!(slot::role_of(s3, &argv(line)), Some(role), "{line}");
    }
    let not_mine = [
        // The main engine.
        "/usr/sbin/dockerd",
        "containerd --config /var/run/docker/containerd/containerd.toml --log-level info",
        "/usr/bin/containerd-shim-runc-v2 -namespace moby -id ab -address /var/run/docker/containerd/containerd.sock",
        "/usr/sbin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 1 -container-ip 172.17.0.2 -container-port 80",
        // Slot 30, whose directory starts with slot 3's.
        "/usr/sbin/dockerd --data-root=/tmp/ece/30/data",
        "/usr/sbin/docker-proxy -container-ip 10.213.30.2",
        // Anything else that names the directory.
        "tail -f /tmp/ece/3/dockerd.log",
    ];
    for line in not_mine {
        assert_eq!(slot::role_of(s3, &argv(line)), None, "{line}");
    }
}

#[test]
fn the_machines_tables_are_read_as_the_kernel_writes_them() {
    let info = "\
46 27 254:0 /tmp/ece/3/data /tmp/ece/3/data rw - ext4 /dev/vda rw
47 46 0:40 / /tmp/ece/3/data/fuse-overlayfs/af/merged rw - fuse.fuse-overlayfs fuse-overlayfs rw
48 27 0:41 / /tmp/ece/30/data rw - ext4 /dev/vda rw
49 27 0:4 net:[1] /tmp/ece/3/exec/netns/a\\040b rw - nsfs nsfs rw
";
    let dir = Slot::new(3).expect("slot").dir();
    assert_eq!(
        slot::mounts_under(info, &dir),
        vec![
            PathBuf::from("/tmp/ece/3/data/fuse-overlayfs/af/merged"),
            PathBuf::from("/tmp/ece/3/exec/netns/a b"),
            PathBuf::from("/tmp/ece/3/data"),
        ]
    );
    assert!(slot::is_dead("12 (httpd) Z 1 12"));
    assert!(!slot::is_dead("12 (a) b) S 1 12"));
    assert_eq!(slot::socket_inode("socket:[8424]"), Some(8424));
    assert_eq!(slot::socket_inode("/dev/null"), None);
    let unix = "\
Num       RefCount Protocol Flags    Type St Inode Path
0000: 00000002 00000000 00010000 0001 01 8424 /run/containerd/s/f0b9
0000: 00000002 00000000 00010000 0001 01 8425 /run/containerd/s/other
0000: 00000003 00000000 00000000 0001 03 8426
";
    assert_eq!(
        slot::unix_socket_paths(unix, &[8424, 8426]),
        vec![PathBuf::from("/run/containerd/s/f0b9")]
    );
    let store = br#"..{"BridgeName":"br-e85c56891ac2","EnableIPv6":false}..{"BridgeName":"ecsbr3"}
..{"BridgeName":"custom9"}..{"BridgeName":"br-e85c56891ac2"}..{"BridgeName":"br-docker0"}.."BridgeName":"br-"#;
    assert_eq!(slot::store_bridge_names(store), vec!["br-e85c56891ac2"]);
    let links =
        "15: veth1d630e6@if14: <BROADCAST,UP> mtu 1500 master ecsbr3\n16: vethb: <UP> mtu 1500\n";
    assert_eq!(slot::link_names(links), vec!["veth1d630e6", "vethb"]);
}

// ---- engines on this machine (the Docker tier) ----

#[test]
fn two_engines_serve_side_by_side_and_leave_nothing_behind() {
    support::ensure_image();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ExtraEngine::start(&[IMAGE]));
        let b = s.spawn(|| ExtraEngine::start(&[IMAGE]));
        let a = a.join().expect("thread").expect("engine a");
        let b = b.join().expect("thread").expect("engine b");
        (a, b)
    });
    report(&a);
    report(&b);
    assert_ne!(a.slot(), b.slot());
    assert_ne!(a.bridge(), b.bridge());

    for e in [&a, &b] {
        let web = serve(e);
        let want = format!("engine-{}", e.slot());
        // The host port on loopback, the same port on each host's own address (8080 on
        // both: they are different hosts), and the container's address on the bridge.
        for addr in [
            SocketAddr::from((Ipv4Addr::LOCALHOST, web.loopback_port)),
            SocketAddr::from((e.address(), 8080)),
            SocketAddr::from((web.ip, 8080)),
        ] {
            wait_body(addr, &want);
        }
        assert!(
            e.slot_id().owns_ip(web.ip),
            "{} on slot {}",
            web.ip,
            e.slot()
        );
        // The main engine does not know the container.
        let o = docker(&["inspect", &web.id]);
        assert!(!o.status.success(), "main engine knows {}", web.id);
        // User-defined networks: one on the engine's own subnet (engines creating networks
        // at once cannot pick the same one), one where Docker picks; each has a bridge
        // that outlives dockerd unless removed.
        let (pool, _) = e.slot_id().address_pool();
        let subnet = format!("{pool}/24");
        expect_code(
            &e.docker(&["network", "create", "--subnet", &subnet, "cluster"]),
            0,
        );
        expect_code(&e.docker(&["network", "create", "other"]), 0);
        assert_eq!(footprint::network_bridges(e.slot_id()).len(), 2);
    }

    // The main engine still runs containers, and its bridge is where it was.
    let o = docker(&["run", "--rm", IMAGE, "true"]);
    expect_code(&o, 0);
    assert_docker0();

    let seen_a = Seen::of(&a);
    let seen_b = Seen::of(&b);
    let held_a = a.close().expect("close a");
    let held_b = b.close().expect("close b");
    seen_a.assert_gone(&held_a);
    seen_b.assert_gone(&held_b);
    assert_docker0();
}

#[test]
fn a_killed_engine_answers_no_more_and_drop_still_cleans_up() {
    support::ensure_image();
    let mut e = ExtraEngine::start(&[IMAGE]).expect("engine");
    report(&e);
    let web = serve(&e);
    let on_host = SocketAddr::from((e.address(), 8080));
    wait_body(on_host, &format!("engine-{}", e.slot()));
    expect_code(&e.docker(&["network", "create", "cluster"]), 0);
    let seen = Seen::of(&e);
    assert!(
        !seen.container_pids.is_empty(),
        "no container process found"
    );
    assert_eq!(seen.network_bridges.len(), 1);

    e.kill().expect("kill");
    // Nothing of the host runs or answers.
    assert_eq!(footprint::processes(e.slot_id()).len(), 0);
    for pid in seen.pids() {
        assert!(!alive(pid), "pid {pid} survived the kill");
    }
    assert!(http_get(on_host).is_none(), "{on_host} still answers");
    assert!(http_get(SocketAddr::from((web.ip, 8080))).is_none());
    let o = e.docker(&["version"]);
    assert!(!o.status.success(), "the killed engine answers");

    // Dropped without its dockerd: the network's bridge is found in the network store.
    drop(e);
    match claim::hold(seen.slot).expect("hold") {
        Some(_held) => seen.assert_slot_empty(),
        // Taken again at once by a test running beside this one. A claim takes a slot
        // only when nothing of it is left; what was this engine's alone is checked here.
        None => seen.assert_dead(),
    }
    assert_docker0();
}

#[test]
fn a_restarted_engine_keeps_its_images_and_finds_its_containers_exited() {
    support::ensure_image();
    let mut e = ExtraEngine::start(&[IMAGE]).expect("engine");
    let web = serve(&e);
    e.kill().expect("kill");
    let t = Instant::now();
    e.restart().expect("restart");
    println!(
        "engine {}: restarted after a kill in {} ms",
        e.slot(),
        t.elapsed().as_millis()
    );
    let o = e.docker(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        &web.id,
    ]);
    expect_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "exited 255", "after a host crash");
    expect_code(&e.docker(&["start", &web.id]), 0);
    wait_body(
        SocketAddr::from((e.address(), 8080)),
        &format!("engine-{}", e.slot()),
    );
    // A graceful stop and start keep them too.
    e.restart().expect("second restart");
    expect_code(&e.docker(&["image", "inspect", IMAGE]), 0);
    // A dockerd starting again on its data root must leave the main engine's bridge be.
    assert_docker0();
    let seen = Seen::of(&e);
    let held = e.close().expect("close");
    seen.assert_gone(&held);
}

/// A test run that crashes leaves its engines running (dockerd outlives it); the next
/// start's sweeper removes them, and only them.
#[test]
fn a_crashed_run_is_swept() {
    support::ensure_image();
    let o = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "crash_holding_an_engine", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, "1")
        .output()
        .expect("run the crashing child");
    let out = stdout(&o);
    let line = out
        .lines()
        .find_map(|l| Some(l.split_once("CRASHED ")?.1))
        .unwrap_or_else(|| panic!("child said nothing:\n{out}\n{}", stderr(&o)));
    let nums: Vec<u32> = line
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    let [k, child_pid, dockerd, container] = nums[..] else {
        panic!("{line}")
    };
    assert!(!o.status.success(), "the child was to abort");
    let slot = Slot::new(k as u8).expect("slot");

    if alive(dockerd) {
        // What the crash left: the engine runs on, its lock names a dead process.
        let lock = fs::read_to_string(slot.lock_path()).expect("lock");
        assert_eq!(
            LockRecord::parse(&lock, slot),
            Ok(Some(LockRecord {
                slot,
                pid: child_pid
            }))
        );
        assert!(alive(container));
        let sockets = footprint::shim_sockets(slot);
        let swept = engines::sweep();
        println!("swept slots {swept:?}");
        for s in &sockets {
            assert!(!s.exists(), "{} left", s.display());
        }
    } else {
        // Another engine's claim got there first (tests run in parallel): it cleans a
        // slot left by a dead process before it takes it.
        println!("slot {k} was cleaned by a concurrent claim");
    }
    for pid in [dockerd, container] {
        assert!(!alive(pid), "pid {pid} of the crashed run survived");
    }
    match claim::hold(slot).expect("hold") {
        Some(_held) => {
            assert!(!slot.lock_path().exists(), "lock left");
            assert_eq!(footprint::leftovers(slot), Vec::<String>::new());
        }
        None => {
            // Taken again since: by a live process, with its own record.
            let lock = fs::read_to_string(slot.lock_path()).expect("lock");
            let rec = LockRecord::parse(&lock, slot)
                .expect("record")
                .expect("record");
            assert_ne!(rec.pid, child_pid);
        }
    }
}

/// The child of [`a_crashed_run_is_swept`]: starts an engine with a container, says what
/// it made, and aborts (no destructor runs, as in a crash). Does nothing unless that test
/// runs it.
#[test]
#[ignore = "run by a_crashed_run_is_swept in a child process"]
fn crash_holding_an_engine() {
    if std::env::var_os(CRASH_ENV).is_none() {
        return;
    }
    let e = ExtraEngine::start(&[IMAGE]).expect("engine");
    let web = serve(&e);
    let o = e.docker(&["inspect", "-f", "{{.State.Pid}}", &web.id]);
    expect_code(&o, 0);
    println!(
        "CRASHED {} {} {} {}",
        e.slot(),
        std::process::id(),
        e.daemon_pid().expect("dockerd"),
        stdout(&o).trim()
    );
    let _ = std::io::stdout().flush();
    std::process::abort();
}

// ---- helpers ----

fn report(e: &ExtraEngine) {
    let t = e.timings();
    println!(
        "engine {} ({}, {}): dockerd answered in {} ms, images loaded in {} ms",
        e.slot(),
        e.bridge(),
        e.address(),
        t.daemon.as_millis(),
        t.images.as_millis()
    );
}

/// A container serving `engine-K` over HTTP on 8080, published on loopback (a free port)
/// and on the host's address (8080).
struct Web {
    id: String,
    ip: Ipv4Addr,
    loopback_port: u16,
}

fn serve(e: &ExtraEngine) -> Web {
    let script = format!(
        "echo engine-{} > /www/index.html && exec httpd -f -p 8080 -h /www",
        e.slot()
    );
    let on_host = format!("{}:8080:8080", e.address());
    let o = e.docker(&[
        "run",
        "-d",
        "-p",
        "127.0.0.1::8080",
        "-p",
        &on_host,
        IMAGE,
        "sh",
        "-c",
        &script,
    ]);
    expect_code(&o, 0);
    let id = stdout(&o).trim().to_string();
    let o = e.docker(&["port", &id, "8080/tcp"]);
    expect_code(&o, 0);
    let loopback_port = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("127.0.0.1:")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no loopback port in {}", stdout(&o)));
    let o = e.docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &id]);
    expect_code(&o, 0);
    let ip = stdout(&o).trim().parse().expect("container address");
    Web {
        id,
        ip,
        loopback_port,
    }
}

fn http_get(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// Waits (bounded) until `addr` answers with `want` in the body.
fn wait_body(addr: SocketAddr, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = http_get(addr);
        if got.as_deref().is_some_and(|b| b.contains(want)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr} did not answer {want}: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[track_caller]
fn assert_docker0() {
    let o = Command::new("ip")
        .args(["link", "show", "dev", "docker0"])
        .output()
        .expect("ip");
    assert!(o.status.success(), "docker0 is gone: {}", stderr(&o));
}

fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !slot::is_dead(&s))
}

/// What an engine made, noted before it is closed, to check afterwards that all of it is
/// gone.
struct Seen {
    slot: Slot,
    dir: PathBuf,
    processes: Vec<u32>,
    container_pids: Vec<u32>,
    sockets: Vec<PathBuf>,
    network_bridges: Vec<String>,
}

impl Seen {
    fn of(e: &ExtraEngine) -> Seen {
        let slot = e.slot_id();
        assert!(e.dir().join("data").is_dir() && slot.lock_path().exists());
        assert!(!footprint::cgroup_roots(slot).is_empty() || e.daemon_pid().is_none());
        Seen {
            slot,
            dir: e.dir(),
            processes: footprint::processes(slot).iter().map(|p| p.pid).collect(),
            container_pids: footprint::container_pids(slot),
            sockets: footprint::shim_sockets(slot),
            network_bridges: footprint::network_bridges(slot),
        }
    }

    fn pids(&self) -> Vec<u32> {
        self.processes
            .iter()
            .chain(&self.container_pids)
            .copied()
            .collect()
    }

    /// What was this engine's alone is gone: its processes, its shims' sockets, its
    /// networks' bridges. True whoever holds the slot now.
    fn assert_dead(&self) {
        for pid in self.pids() {
            assert!(!alive(pid), "pid {pid} left");
        }
        for s in &self.sockets {
            assert!(!s.exists(), "{} left", s.display());
        }
        for bridge in &self.network_bridges {
            assert!(!link_exists(bridge), "network bridge {bridge} left");
        }
    }

    /// Everything is gone. Checked while `held` keeps the slot, so that no other engine
    /// can have taken it again.
    fn assert_gone(&self, held: &HeldSlot) {
        assert_eq!(held.slot(), self.slot);
        self.assert_slot_empty();
    }

    /// Only while the slot is held by the caller.
    fn assert_slot_empty(&self) {
        self.assert_dead();
        assert_eq!(footprint::leftovers(self.slot), Vec::<String>::new());
        assert!(!self.slot.lock_path().exists(), "lock left");
        assert!(!self.dir.exists(), "{} left", self.dir.display());
        assert!(!link_exists(&self.slot.bridge()), "bridge left");
        // Nothing running names the directory, whatever it is (not only what the harness
        // knows to look for).
        let under = format!("{}/", self.dir.display());
        for entry in fs::read_dir("/proc").expect("/proc").flatten() {
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(!text.contains(&under), "still running: {text}");
        }
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        assert!(
            slot::mounts_under(&mountinfo, Path::new(&self.dir)).is_empty(),
            "mounts left under {}",
            self.dir.display()
        );
    }
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .expect("ip")
        .status
        .success()
}
