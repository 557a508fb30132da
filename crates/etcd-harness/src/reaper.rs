//! Members left behind by a test process that died without unwinding (SIGKILL, a CI job's
//! timeout): their cluster's `Drop` never ran. Every cluster's token names the process that
//! started it (`ecsctl-test-PID-...`, see `cluster::unique_token`), so the first cluster a
//! process starts first stops each etcd whose token names a process that is gone, and
//! removes its directory. Nothing else is touched: a process is the harness's only if it runs
//! with such a token, and a directory only if it is the `ecsctl-etcd-*` directory holding
//! that member's data.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

/// How every cluster token starts; the starting process's id follows.
pub(crate) const TOKEN_PREFIX: &str = "ecsctl-test-";
/// The prefix of a cluster's temporary directory.
pub(crate) const DIR_PREFIX: &str = "ecsctl-etcd-";

/// A harness member, read from its command line.
#[derive(Debug, PartialEq, Eq)]
struct Member {
    /// The test process that started it.
    owner: u32,
    /// Its cluster's directory (its data directory's parent).
    dir: Option<PathBuf>,
}

/// The harness member whose command line is `argv`, if it is one.
fn member_of(argv: &[String]) -> Option<Member> {
    let value = |flag: &str| {
        argv.windows(2)
            .find(|w| w[0] == flag)
            .map(|w| w[1].as_str())
    };
    let owner = value("--initial-cluster-token")?
        .strip_prefix(TOKEN_PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()?;
    let dir = value("--data-dir")
        .and_then(|d| Path::new(d).parent())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(DIR_PREFIX))
        })
        .map(Path::to_path_buf);
    Some(Member { owner, dir })
}

/// Whether process `pid` runs (a zombie, dead but not yet waited for, does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // `PID (COMMAND) STATE ...`; the command may hold spaces and parentheses.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X')
    })
}

/// Stops every member whose test process is gone and removes its cluster's directory;
/// returns the process ids it stopped. Called once per process by the first cluster
/// started ([`reap_orphans_once`]); public so that a test can check it.
pub fn reap_orphans() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut reaped = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(member) = member_of(&argv) else {
            continue;
        };
        if alive(member.owner) {
            continue;
        }
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            continue;
        }
        // The directory once the process is gone (it may still be writing to it).
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(dir) = &member.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        tracing::info!(pid, owner = member.owner, dir = ?member.dir, "stopped an etcd member a dead test process left");
        reaped.push(pid);
    }
    reaped
}

/// [`reap_orphans`], the first time a process starts a cluster.
pub(crate) fn reap_orphans_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        reap_orphans();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn a_member_is_known_by_its_token_and_its_directory_by_its_data_dir() {
        assert_eq!(
            member_of(&argv(
                "etcd --name m0 --data-dir /tmp/ecsctl-etcd-Ab12/m0.etcd --initial-cluster-token ecsctl-test-4242-1733400000-3"
            )),
            Some(Member {
                owner: 4242,
                dir: Some(PathBuf::from("/tmp/ecsctl-etcd-Ab12"))
            })
        );
        // A directory the harness did not make is never named.
        assert_eq!(
            member_of(&argv(
                "etcd --data-dir /var/lib/etcd/m0 --initial-cluster-token ecsctl-test-7-1-0"
            )),
            Some(Member {
                owner: 7,
                dir: None
            })
        );
        for other in [
            "etcd --name prod --data-dir /var/lib/etcd --initial-cluster-token prod-cluster",
            "etcd --name m0 --data-dir /tmp/ecsctl-etcd-x/m0.etcd",
            "etcd --initial-cluster-token ecsctl-test-notapid-1-0",
            "sleep 100",
        ] {
            assert_eq!(member_of(&argv(other)), None, "{other}");
        }
    }
}
