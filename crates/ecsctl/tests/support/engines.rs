//! Extra Docker engines beside the main one, each standing in for one host of a cluster
//! (issue 16, "How to test several hosts on one machine"): its own dockerd on its own
//! bridge `ecsbrK` (`10.213.K.1/24`), data root, exec root and socket under `/tmp/ece/K`.
//!
//! Tests run in parallel processes (nextest), so a slot K is claimed through the kernel: an
//! abstract unix socket named after it, freed when its holder dies, beside a lock file
//! `/tmp/ecsctl-engines/K.lock` that records the holder's pid. A lock file whose socket
//! name is free was left by a crashed run: the sweeper (run once per process, before the
//! first claim) removes what that slot made, and only that.
//!
//! Dropping an [`ExtraEngine`] removes everything it made, also when the test failed or
//! the engine was killed: containers, dockerd and what outlived it (containerd, shims,
//! fuse-overlayfs, the containers' processes), mounts, cgroups, the bridge, the directory
//! and the lock.

// Public for the tests of the harness itself (`tests/engines.rs`), which look at what an
// engine leaves with the same eyes as the clean-up, and then with their own.
pub mod claim;
pub mod footprint;
mod run;
pub mod slot;

pub use claim::sweep;
pub use slot::Slot;

use std::fs;
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use claim::{claim, release};
use run::{output_within, wait_within};

/// How long dockerd may take to answer (the machine is shared and may be busy).
const READY_WITHIN: Duration = Duration::from_secs(60);
/// One `docker version` probe.
const PROBE_WITHIN: Duration = Duration::from_secs(5);
/// `docker save | docker load` of the images asked for.
const LOAD_WITHIN: Duration = Duration::from_secs(120);
/// A graceful stop: dockerd stops each container first (up to its stop timeout, 10 s for a
/// PID 1 that ignores SIGTERM), then containerd.
const STOP_WITHIN: Duration = Duration::from_secs(30);
/// `docker rm -f` of every container, and dockerd's stop after it, on drop.
const TEARDOWN_WITHIN: Duration = Duration::from_secs(20);

/// How long an engine took to come up, for the tests to print (they start several).
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// From spawning dockerd to its first answer.
    pub daemon: Duration,
    /// `docker save | docker load` of the images asked for.
    pub images: Duration,
}

/// A dockerd of its own, standing in for one host. See the module's documentation.
#[derive(Debug)]
pub struct ExtraEngine {
    slot: Slot,
    /// Held for the engine's life: it is what makes the slot ours. `None` once
    /// [`ExtraEngine::close`] handed it over.
    mutex: Option<UnixListener>,
    daemon: Option<Child>,
    timings: Timings,
}

/// A slot still held after its engine was closed: nobody can claim it until this is
/// dropped, so a test can look at what the engine left (nothing, it should be).
#[derive(Debug)]
pub struct HeldSlot {
    slot: Slot,
    _mutex: UnixListener,
}

impl HeldSlot {
    pub fn slot(&self) -> Slot {
        self.slot
    }
}

impl ExtraEngine {
    /// Claims a free slot, makes its bridge, starts dockerd, waits until it answers and
    /// copies `images` in from the main engine. Whatever was made before a failure is
    /// removed again.
    pub fn start(images: &[&str]) -> Result<ExtraEngine> {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| {
            sweep();
        });
        let (slot, mutex) = claim()?;
        let mut engine = ExtraEngine {
            slot,
            mutex: Some(mutex),
            daemon: None,
            timings: Timings::default(),
        };
        // From here on, dropping `engine` (on `?` too) undoes whatever was made.
        engine.make_host()?;
        let t = Instant::now();
        engine.spawn_daemon()?;
        engine.timings.daemon = t.elapsed();
        let t = Instant::now();
        engine.load(images)?;
        engine.timings.images = t.elapsed();
        Ok(engine)
    }

    /// The engine's API as `docker -H` and `DOCKER_HOST` take it (`unix:///tmp/ece/K/...`).
    pub fn socket(&self) -> String {
        self.slot.socket_url()
    }

    /// The host's address on its bridge (`10.213.K.1`): what an agent on this "host" passes
    /// as `--address`, and where it can publish ports without clashing with other engines.
    pub fn address(&self) -> Ipv4Addr {
        self.slot.address()
    }

    pub fn bridge(&self) -> String {
        self.slot.bridge()
    }

    pub fn slot(&self) -> u8 {
        self.slot.number()
    }

    /// The slot, for what the footprint functions take.
    pub fn slot_id(&self) -> Slot {
        self.slot
    }

    /// `/tmp/ece/K`: data and exec roots, socket, config and dockerd's log.
    pub fn dir(&self) -> PathBuf {
        self.slot.dir()
    }

    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// dockerd's pid while it runs.
    pub fn daemon_pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Child::id)
    }

    /// `docker -H SOCKET ARGS...`, run to the end.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.socket())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run docker")
    }

    /// dockerd's log (all its starts).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops dockerd as a host shutting down would: SIGTERM, so it stops its containers;
    /// SIGKILL after [`STOP_WITHIN`], and then whatever it left running is killed too. The
    /// runtime state goes as in a reboot; containers and images stay for
    /// [`ExtraEngine::restart`].
    pub fn stop(&mut self) -> Result<()> {
        let stopped = match self.daemon.take() {
            Some(child) => stop_daemon(child, STOP_WITHIN),
            None => Ok(()),
        };
        let cleared = problems_to_result(self.slot, self.crash());
        stopped.and(cleared)
    }

    /// The host is lost: dockerd, containerd, the shims and every container process die by
    /// SIGKILL at once, and the mounts and runtime state go as in a reboot. Nothing of it
    /// answers any more; its disk (data root, containers' records) stays for
    /// [`ExtraEngine::restart`].
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        problems_to_result(self.slot, self.crash())
    }

    /// Ends whatever still runs and forgets the runtime state, as a host going down does.
    fn crash(&self) -> Vec<String> {
        let mut problems = footprint::crash(self.slot);
        if problems.is_empty() {
            problems = footprint::forget_runtime_state(self.slot);
        }
        problems
    }

    /// Stops dockerd (if it runs) and starts it again on the same roots, as a host that
    /// reboots: images stay, containers that ran are found exited.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.spawn_daemon()
    }

    /// Removes everything, as dropping does, but says what could not be removed, and keeps
    /// the slot held so that the caller can check the machine before another engine takes
    /// the slot.
    pub fn close(mut self) -> Result<HeldSlot> {
        let problems = self.teardown();
        let mutex = self.mutex.take().context("engine already closed")?;
        problems_to_result(self.slot, problems)?;
        Ok(HeldSlot {
            slot: self.slot,
            _mutex: mutex,
        })
    }

    /// Containers first (`docker rm -f`, so that dockerd's stop need not wait out each
    /// one's stop timeout), then dockerd (SIGTERM, bounded), then whatever is left of the
    /// slot; the lock goes last, and only when nothing is left. Returns what went wrong.
    fn teardown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(child) = self.daemon.take() {
            if let Err(e) = self.remove_containers() {
                problems.push(format!("removing containers: {e:#}"));
            }
            if let Err(e) = stop_daemon(child, TEARDOWN_WITHIN) {
                problems.push(format!("{e:#}"));
            }
        }
        let left = footprint::remove(self.slot);
        release(self.slot, &left);
        problems.extend(left);
        problems
    }

    fn log_path(&self) -> PathBuf {
        self.slot.dir().join("dockerd.log")
    }

    /// The host's part: its directory, dockerd's configuration, the bridge (up, with the
    /// host's address).
    fn make_host(&self) -> Result<()> {
        let dir = self.slot.dir();
        fs::create_dir_all(&dir).with_context(|| format!("mkdir {}", dir.display()))?;
        fs::write(dir.join("daemon.json"), slot::DAEMON_CONFIG)?;
        let bridge = self.slot.bridge();
        let cidr = self.slot.bridge_cidr();
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        ip(&["addr", "add", &cidr, "dev", &bridge])?;
        ip(&["link", "set", &bridge, "up"])
    }

    /// Spawns dockerd and waits until it answers; on failure, the error carries its log.
    fn spawn_daemon(&mut self) -> Result<()> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new("dockerd")
            .args(self.slot.daemon_args())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawn dockerd")?;
        self.daemon = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self
                .daemon
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.daemon = None;
                bail!("dockerd exited ({status}):\n{}", self.log_tail());
            }
            let probe = output_within(
                Command::new("docker")
                    .args(["-H", &self.socket(), "version", "--format"])
                    .arg("{{.Server.Version}}"),
                PROBE_WITHIN,
            );
            if probe.is_ok_and(|o| o.status.success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "dockerd of slot {} did not answer in {READY_WITHIN:?}:\n{}",
                    self.slot(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `docker save IMAGES | docker -H SOCKET load`: one stream for all of them.
    fn load(&self, images: &[&str]) -> Result<()> {
        if images.is_empty() {
            return Ok(());
        }
        let mut save = Command::new("docker")
            .arg("save")
            .args(images)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawn docker save")?;
        let stream = save.stdout.take().context("docker save's stdout")?;
        let load = output_within(
            Command::new("docker")
                .args(["-H", &self.socket(), "load", "-q"])
                .stdin(stream),
            LOAD_WITHIN,
        );
        let saved = wait_within(&mut save, PROBE_WITHIN);
        let mut save_err = String::new();
        if let Some(mut e) = save.stderr.take() {
            let _ = e.read_to_string(&mut save_err);
        }
        match saved {
            Ok(s) if s.success() => {}
            Ok(s) => bail!("docker save {images:?} ({s}): {save_err}"),
            Err(e) => bail!("docker save {images:?}: {e:#}"),
        }
        let load = load?;
        if !load.status.success() {
            bail!(
                "docker load into slot {} ({}): {}",
                self.slot(),
                load.status,
                String::from_utf8_lossy(&load.stderr)
            );
        }
        Ok(())
    }

    /// `docker rm -f` of every container, so that dockerd's stop need not wait for each
    /// one's stop timeout, then of the networks they used.
    fn remove_containers(&self) -> Result<()> {
        let ids = output_within(
            Command::new("docker").args(["-H", &self.socket(), "ps", "-aq"]),
            TEARDOWN_WITHIN,
        )?;
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            output_within(
                Command::new("docker")
                    .args(["-H", &self.socket(), "rm", "-f"])
                    .args(&ids),
                TEARDOWN_WITHIN,
            )?;
        }
        // Their bridges outlive dockerd otherwise (the clean-up finds them in the
        // network store too, for an engine that was killed).
        output_within(
            Command::new("docker").args(["-H", &self.socket(), "network", "prune", "-f"]),
            TEARDOWN_WITHIN,
        )?;
        Ok(())
    }
}

impl Drop for ExtraEngine {
    fn drop(&mut self) {
        // After `close`, the slot is the caller's (and already clean).
        if self.mutex.is_some() {
            let problems = self.teardown();
            if !problems.is_empty() {
                eprintln!(
                    "engine {}: {} (what is left stays for the next sweep)",
                    self.slot(),
                    problems.join("; ")
                );
            }
        }
    }
}

fn problems_to_result(slot: Slot, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    bail!("engine {}: {}", slot.number(), problems.join("; "))
}

/// SIGTERM, then SIGKILL when it has not stopped `within`.
fn stop_daemon(mut child: Child, within: Duration) -> Result<()> {
    footprint::signal("TERM", &[child.id()]);
    wait_within(&mut child, within)
        .map(drop)
        .with_context(|| format!("dockerd {} ignored SIGTERM; killed", child.id()))
}

fn ip(args: &[&str]) -> Result<()> {
    let o = Command::new("ip").args(args).output().context("run ip")?;
    if !o.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(())
}
