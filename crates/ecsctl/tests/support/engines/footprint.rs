//! Everything an engine leaves on the machine, found from its slot alone (so the same code
//! cleans after a live engine, a killed one, and a crashed test run): its processes, its
//! containers' processes (by cgroup), mounts under its directory, the shims' sockets, its
//! cgroups, its bridge, its networks' bridges and the veths on them, its directory.
//!
//! Only what the slot names is touched: the main engine's processes, docker0 and the
//! other slots are never matched (see `slot::role_of`).

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::slot::{self, Role, Slot};

/// How long killed processes get to disappear, and busy cgroups to empty.
const GONE_WITHIN: Duration = Duration::from_secs(10);

/// A process of the slot's engine, as found in `/proc`.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    pub role: Role,
    pub argv: Vec<String>,
}

/// The live processes of the slot's engine: dockerd, containerd, shims, fuse-overlayfs,
/// docker-proxy.
pub fn processes(slot: Slot) -> Vec<Process> {
    live_pids()
        .into_iter()
        .filter_map(|pid| {
            let argv = slot::argv(&fs::read(format!("/proc/{pid}/cmdline")).ok()?);
            let role = slot::role_of(slot, &argv)?;
            Some(Process { pid, role, argv })
        })
        .collect()
}

/// Every pid in `/proc` but ours and those that already exited.
fn live_pids() -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me && alive(*pid))
        .collect()
}

fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !slot::is_dead(&s))
}

/// The slot's cgroup parent in every hierarchy that has it (cgroup v1 mounts one per
/// controller under /sys/fs/cgroup; v2 has one at the top).
pub fn cgroup_roots(slot: Slot) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let name = slot.cgroup_parent();
    let mut roots = vec![base.join(&name)];
    if let Ok(dir) = fs::read_dir(base) {
        roots.extend(dir.filter_map(|e| Some(e.ok()?.path().join(&name))));
    }
    roots.retain(|r| r.is_dir());
    roots
}

/// The cgroup directories under the roots, deepest first.
fn cgroup_dirs(slot: Slot) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut todo = cgroup_roots(slot);
    while let Some(d) = todo.pop() {
        if let Ok(entries) = fs::read_dir(&d) {
            todo.extend(
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
        dirs.push(d);
    }
    dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    dirs
}

/// The live processes of the slot's containers.
pub fn container_pids(slot: Slot) -> Vec<u32> {
    let mut pids: Vec<u32> = cgroup_dirs(slot)
        .iter()
        .filter_map(|d| fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|t| {
            t.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .filter(|pid| alive(*pid))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Mount points under the slot's directory, deepest first.
pub fn mounts(slot: Slot) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    slot::mounts_under(&info, &slot.dir())
}

/// The unix sockets the slot's shims listen on (containerd puts them in /run/containerd/s,
/// outside the slot's directory; a killed shim leaves its socket behind).
pub fn shim_sockets(slot: Slot) -> Vec<PathBuf> {
    let inodes: Vec<u64> = processes(slot)
        .iter()
        .filter(|p| p.role == Role::Shim)
        .filter_map(|p| fs::read_dir(format!("/proc/{}/fd", p.pid)).ok())
        .flat_map(|fds| {
            fds.filter_map(|fd| {
                let link = fs::read_link(fd.ok()?.path()).ok()?;
                slot::socket_inode(link.to_str()?)
            })
            .collect::<Vec<u64>>()
        })
        .collect();
    let table = fs::read_to_string("/proc/net/unix").unwrap_or_default();
    slot::unix_socket_paths(&table, &inodes)
}

pub fn bridge_exists(slot: Slot) -> bool {
    link_exists(&slot.bridge())
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The bridges of the engine's user-defined networks that exist, found in its network
/// store (dockerd leaves them when it stops or dies).
pub fn network_bridges(slot: Slot) -> Vec<String> {
    let store = slot.dir().join("data/network/files/local-kv.db");
    let bytes = fs::read(store).unwrap_or_default();
    slot::store_bridge_names(&bytes)
        .into_iter()
        .filter(|b| link_exists(b))
        .collect()
}

/// What the slot still has on the machine, one line each; empty when nothing is left
/// (the lock file aside, which its holder removes last).
pub fn leftovers(slot: Slot) -> Vec<String> {
    let mut left: Vec<String> = processes(slot)
        .iter()
        .map(|p| format!("process {} ({:?}): {}", p.pid, p.role, p.argv.join(" ")))
        .collect();
    left.extend(
        container_pids(slot)
            .iter()
            .map(|p| format!("container process {p}")),
    );
    left.extend(
        mounts(slot)
            .iter()
            .map(|m| format!("mount {}", m.display())),
    );
    left.extend(
        cgroup_roots(slot)
            .iter()
            .map(|c| format!("cgroup {}", c.display())),
    );
    if bridge_exists(slot) {
        left.push(format!("bridge {}", slot.bridge()));
    }
    left.extend(
        network_bridges(slot)
            .iter()
            .map(|b| format!("network bridge {b}")),
    );
    if slot.dir().exists() {
        left.push(format!("directory {}", slot.dir().display()));
    }
    left
}

/// What a crash of the whole host would end: every process of the engine and of its
/// containers (SIGKILL), the mounts under its directory, the shims' sockets. Its files,
/// bridge and cgroups stay, as a host's disk and configuration do. Returns what could not
/// be done.
pub fn crash(slot: Slot) -> Vec<String> {
    let mut problems = Vec::new();
    let sockets = shim_sockets(slot);
    let deadline = Instant::now() + GONE_WITHIN;
    loop {
        // dockerd among them: it restarts a containerd that dies while it lives.
        let mut pids: Vec<u32> = processes(slot).iter().map(|p| p.pid).collect();
        pids.extend(container_pids(slot));
        if pids.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            problems.push(format!("processes still alive after SIGKILL: {pids:?}"));
            break;
        }
        signal("KILL", &pids);
        std::thread::sleep(Duration::from_millis(50));
    }
    problems.extend(unmount_all(slot));
    for s in sockets {
        let is_socket = fs::symlink_metadata(&s).is_ok_and(|m| m.file_type().is_socket());
        if is_socket && let Err(e) = fs::remove_file(&s) {
            problems.push(format!("remove {}: {e}", s.display()));
        }
    }
    problems
}

/// What a reboot forgets: the exec root (a tmpfs under /run on a real host) and dockerd's
/// pid file. Kept, the pids in them would be taken for live processes once reused (pids
/// come round fast on a machine whose `pid_max` is 32768), and dockerd would wait for a
/// containerd that is not there. Only after [`crash`]: nothing may be mounted in them.
pub fn forget_runtime_state(slot: Slot) -> Vec<String> {
    let dir = slot.dir();
    let exec = dir.join("exec");
    if mounts(slot).iter().any(|m| m.starts_with(&exec)) {
        return vec![format!("{} kept: mounts remain in it", exec.display())];
    }
    let mut problems = Vec::new();
    for (path, result) in [
        (exec.clone(), fs::remove_dir_all(&exec)),
        (dir.join("pid"), fs::remove_file(dir.join("pid"))),
    ] {
        if let Err(e) = result
            && e.kind() != std::io::ErrorKind::NotFound
        {
            problems.push(format!("remove {}: {e}", path.display()));
        }
    }
    problems
}

/// Everything: [`crash`], then the cgroups, the bridges (the slot's, its networks') and
/// the veths on them, and the directory (only once no mount is left in it, so nothing outside it can be reached).
pub fn remove(slot: Slot) -> Vec<String> {
    let mut problems = crash(slot);
    problems.extend(remove_cgroups(slot));
    problems.extend(remove_bridges(slot));
    let dir = slot.dir();
    if dir.exists() {
        if mounts(slot).is_empty() {
            if let Err(e) = fs::remove_dir_all(&dir) {
                problems.push(format!("remove {}: {e}", dir.display()));
            }
        } else {
            problems.push(format!("{} kept: mounts remain in it", dir.display()));
        }
    }
    problems
}

/// Sends a signal (`TERM`, `KILL`) to processes (through kill(1): this crate has no unsafe
/// code, so no libc). Ones that are gone already are no error.
pub fn signal(name: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-s", name])
        .args(pids.iter().map(u32::to_string))
        .output();
}

/// Unmounts, deepest first; a mount that refuses (a dead FUSE server, busy) is detached
/// lazily.
fn unmount_all(slot: Slot) -> Vec<String> {
    for _ in 0..3 {
        let found = mounts(slot);
        if found.is_empty() {
            return Vec::new();
        }
        for m in found {
            let ok = Command::new("umount")
                .arg(&m)
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                let _ = Command::new("umount").arg("-l").arg(&m).output();
            }
        }
    }
    mounts(slot)
        .iter()
        .map(|m| format!("still mounted: {}", m.display()))
        .collect()
}

/// cgroups can be removed only once empty: a killed process leaves its cgroup a moment
/// later.
fn remove_cgroups(slot: Slot) -> Vec<String> {
    let deadline = Instant::now() + GONE_WITHIN;
    loop {
        let mut failed = Vec::new();
        for d in cgroup_dirs(slot) {
            if let Err(e) = fs::remove_dir(&d) {
                failed.push(format!("remove cgroup {}: {e}", d.display()));
            }
        }
        if failed.is_empty() || Instant::now() > deadline {
            return failed;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The networks' bridges and the slot's own, each after the veths still attached to it
/// (a container's end normally goes with its network namespace; one left would outlive
/// the bridge).
fn remove_bridges(slot: Slot) -> Vec<String> {
    let mut bridges = network_bridges(slot);
    if bridge_exists(slot) {
        bridges.push(slot.bridge());
    }
    bridges.iter().filter_map(|b| remove_bridge(b)).collect()
}

fn remove_bridge(bridge: &str) -> Option<String> {
    let ports = Command::new("ip")
        .args(["-o", "link", "show", "master", bridge])
        .output()
        .map(|o| slot::link_names(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or_default();
    for port in ports {
        let _ = Command::new("ip").args(["link", "del", &port]).output();
    }
    match Command::new("ip").args(["link", "del", bridge]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "ip link del {bridge}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("ip link del {bridge}: {e}")),
    }
}
