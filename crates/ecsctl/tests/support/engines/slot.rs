//! What a slot K names (its bridge, directory, addresses, cgroup, lock), and how the
//! machine's own tables are read to find what belongs to it. Pure functions: the rules that
//! decide what an engine owns, and so what its clean-up may touch, are tested without
//! starting one.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Where lock records live: one `K.lock` per slot in use, or left by a crashed run.
pub const LOCK_DIR: &str = "/tmp/ecsctl-engines";
/// Where engines keep their files. Short on purpose: dockerd and containerd put unix sockets
/// under it, and a socket path must fit in `sun_path` (108 bytes).
pub const ROOT: &str = "/tmp/ece";
/// dockerd's configuration file: empty, so that the machine's `/etc/docker/daemon.json`
/// (which names the main engine's data root) is not read. Never `default-address-pools`:
/// a dockerd that has them deletes docker0, the main engine's bridge, each time it starts
/// again on a data root that holds its default network (every restart), as `--bridge=none`
/// does on any start.
pub const DAEMON_CONFIG: &str = "{}\n";
/// Slots are 1..=200: K is the third octet of the bridge's subnet `10.213.K.0/24`.
const FIRST: u8 = 1;
const LAST: u8 = 200;

/// One engine's place on the machine; every name it uses derives from K.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(u8);

impl Slot {
    pub fn new(k: u8) -> Option<Slot> {
        (FIRST..=LAST).contains(&k).then_some(Slot(k))
    }

    pub fn all() -> impl Iterator<Item = Slot> {
        (FIRST..=LAST).map(Slot)
    }

    /// The slot a lock file's name (`K.lock`) is for.
    pub fn from_lock_file_name(name: &str) -> Option<Slot> {
        Slot::new(name.strip_suffix(".lock")?.parse().ok()?)
    }

    pub fn number(self) -> u8 {
        self.0
    }

    /// `ecsbrK`: at most 8 characters, within Linux's 15 for an interface name.
    pub fn bridge(self) -> String {
        format!("ecsbr{}", self.0)
    }

    /// The host's address on the bridge (`10.213.K.1`): what an agent passes as `--address`.
    pub fn address(self) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.0, 1)
    }

    /// The bridge's address with its prefix, as `ip addr add` takes it.
    pub fn bridge_cidr(self) -> String {
        format!("{}/24", self.address())
    }

    pub fn dir(self) -> PathBuf {
        Path::new(ROOT).join(self.0.to_string())
    }

    pub fn socket_path(self) -> PathBuf {
        self.dir().join("docker.sock")
    }

    /// The engine's API as `docker -H` and `DOCKER_HOST` take it.
    pub fn socket_url(self) -> String {
        format!("unix://{}", self.socket_path().display())
    }

    /// The cgroup parent of the engine's containers: after a crash (dockerd and the shims
    /// gone) it is the only way back to the containers' processes.
    pub fn cgroup_parent(self) -> String {
        format!("ecsctl-e{}", self.0)
    }

    pub fn lock_path(self) -> PathBuf {
        Path::new(LOCK_DIR).join(format!("{}.lock", self.0))
    }

    /// The abstract unix socket name held while the slot is in use: the kernel frees it
    /// when its holder dies, so a lock whose name is free names a dead process.
    pub fn mutex_name(self) -> String {
        format!("ecsctl-engines/{}", self.0)
    }

    /// A `/22` reserved for this engine's user-defined networks (four `/24`s), inside
    /// `10.214.0.0/14`. dockerd picks a new network's subnet from Docker's default pools,
    /// avoiding only the routes that exist at that moment: two engines creating a network
    /// at once can take the same one. A test that creates networks on several engines
    /// passes `--subnet` from here (never `default-address-pools`: see [`DAEMON_CONFIG`]).
    pub fn address_pool(self) -> (Ipv4Addr, u8) {
        let index = u32::from(self.0 - 1) * 4;
        let third = (index % 256) as u8;
        let second = 214 + (index / 256) as u8;
        (Ipv4Addr::new(10, second, third, 0), 22)
    }

    /// Whether an address lies on this engine's bridge or in its pool (a container of this
    /// engine has no other, unless a network was made outside the pool).
    pub fn owns_ip(self, ip: Ipv4Addr) -> bool {
        let (pool, prefix) = self.address_pool();
        within(ip, Ipv4Addr::new(10, 213, self.0, 0), 24) || within(ip, pool, prefix)
    }

    /// dockerd's arguments. `--bridge` names our own bridge: `--bridge=none` would make
    /// dockerd delete the host's docker0 and break the main engine. No iptables: the main
    /// engine owns the host's rules; published ports go through docker-proxy instead.
    pub fn daemon_args(self) -> Vec<String> {
        let dir = self.dir();
        let d = |rel: &str| dir.join(rel).display().to_string();
        vec![
            format!("--config-file={}", d("daemon.json")),
            format!("--data-root={}", d("data")),
            format!("--exec-root={}", d("exec")),
            format!("--pidfile={}", d("pid")),
            format!("--host={}", self.socket_url()),
            format!("--bridge={}", self.bridge()),
            "--iptables=false".to_string(),
            "--ip-masq=false".to_string(),
            "--storage-driver=fuse-overlayfs".to_string(),
            format!("--cgroup-parent=/{}", self.cgroup_parent()),
        ]
    }
}

fn within(ip: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

/// What a lock file says: who holds the slot. Written before anything else is made, and
/// removed after everything is gone, so a slot's bridge or directory without a lock record
/// is someone else's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRecord {
    pub slot: Slot,
    pub pid: u32,
}

impl LockRecord {
    /// The record, with the names it covers spelled out for a human reading the file.
    pub fn render(&self) -> String {
        let s = self.slot;
        format!(
            "pid {}\nslot {}\nbridge {}\ndir {}\ncgroup {}\n",
            self.pid,
            s.number(),
            s.bridge(),
            s.dir().display(),
            s.cgroup_parent()
        )
    }

    /// `None` for an empty file (its writer died before writing, having made nothing); an
    /// error when it names anything but what slot K derives, so that a damaged or foreign
    /// file never leads a clean-up elsewhere.
    pub fn parse(text: &str, slot: Slot) -> Result<Option<LockRecord>, String> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
                .ok_or_else(|| format!("no `{key}` line"))
        };
        let pid = field("pid")?.parse().map_err(|e| format!("pid: {e}"))?;
        let expected = LockRecord { slot, pid }.render();
        if text != expected {
            return Err(format!("names other things than slot {}", slot.number()));
        }
        Ok(Some(LockRecord { slot, pid }))
    }
}

/// The part a process plays in an engine, known from its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Dockerd,
    Containerd,
    Shim,
    FuseOverlayfs,
    Proxy,
}

/// Whether a process (by its argv) belongs to the slot's engine: an engine program whose
/// arguments name a path under the slot's directory (dockerd's roots, containerd's config,
/// a shim's containerd address, a fuse-overlayfs mount), or a docker-proxy forwarding to one
/// of the slot's addresses. Anything else, the main engine's processes included, is not.
pub fn role_of(slot: Slot, argv: &[String]) -> Option<Role> {
    let program = Path::new(argv.first()?).file_name()?.to_str()?;
    let role = match program {
        "dockerd" => Role::Dockerd,
        "containerd" => Role::Containerd,
        p if p.starts_with("containerd-shim") => Role::Shim,
        "fuse-overlayfs" => Role::FuseOverlayfs,
        "docker-proxy" => Role::Proxy,
        _ => return None,
    };
    let mine = match role {
        Role::Proxy => argv
            .windows(2)
            .any(|w| w[0] == "-container-ip" && w[1].parse().is_ok_and(|ip| slot.owns_ip(ip))),
        _ => {
            let under = format!("{}/", slot.dir().display());
            argv[1..].iter().any(|a| a.contains(&under))
        }
    };
    mine.then_some(role)
}

/// `/proc/PID/cmdline` as argv.
pub fn argv(cmdline: &[u8]) -> Vec<String> {
    cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Whether `/proc/PID/stat` describes a process that has exited and waits to be reaped
/// (it can hold nothing any more; killing it again does nothing).
pub fn is_dead(stat: &str) -> bool {
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    matches!(state, Some("Z" | "X"))
}

/// The mount points at or under `dir` in `/proc/self/mountinfo`, deepest first (the order
/// they can be unmounted in).
pub fn mounts_under(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mount_path(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

/// mountinfo writes space, tab, newline and backslash in paths as `\NNN` (octal).
fn unescape_mount_path(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The inode of a `/proc/PID/fd/N` link that is a socket (`socket:[123]`).
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The paths of the unix sockets in `/proc/net/unix` whose inode is one of `inodes`.
pub fn unix_socket_paths(net_unix: &str, inodes: &[u64]) -> Vec<PathBuf> {
    net_unix
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let inode: u64 = f.get(6)?.parse().ok()?;
            let path = f.get(7).filter(|p| p.starts_with('/'))?;
            inodes.contains(&inode).then(|| PathBuf::from(path))
        })
        .collect()
}

/// Interface names in `ip -o link show` output (`15: veth1d63@if14: <...`).
pub fn link_names(ip_o: &str) -> Vec<String> {
    ip_o.lines()
        .filter_map(|l| {
            let name = l.split(": ").nth(1)?;
            let name = name.split('@').next()?;
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

/// The Docker-named bridges (`br-` and 12 hex digits) of the networks in a dockerd's
/// network store (`DATA/network/files/local-kv.db`, a bolt file: read as bytes, each
/// network's bridge configuration holds `"BridgeName":"..."`). A network's bridge stays
/// when dockerd stops or dies; this is how a clean-up finds them without the daemon. Bridges
/// named by the user are left out: such a name may be an interface dockerd did not make.
pub fn store_bridge_names(store: &[u8]) -> Vec<String> {
    const KEY: &[u8] = b"\"BridgeName\":\"";
    let mut names: Vec<String> = store
        .windows(KEY.len())
        .enumerate()
        .filter(|(_, w)| *w == KEY)
        .filter_map(|(i, _)| {
            let rest = &store[i + KEY.len()..];
            let end = rest.iter().position(|b| *b == b'"')?;
            let name = std::str::from_utf8(&rest[..end]).ok()?;
            let hex = name.strip_prefix("br-")?;
            let generated = hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit());
            generated.then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
