//! The peers: docker-compose and raw Docker API calls doing what the ecsctl rows do.

use crate::IMAGE;
use crate::common::{cpu_ticks, remove_labelled};
use crate::docker::{container_pid, core_pct, dockerd_pid, inspect, kill9};
use std::process::Command;
use std::time::{Duration, Instant};

/// A compose project of one service of `scale` containers, in its own directory.
pub(crate) struct Compose {
    dir: tempfile::TempDir,
    project: String,
}

impl Compose {
    pub(crate) fn new(project: &str, label: &str, scale: usize, restart: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let restart = if restart { "    restart: always\n" } else { "" };
        let file = format!(
            "version: \"2.4\"\nservices:\n  sleeper:\n    image: {IMAGE}\n    command: [\"sleep\", \"3600\"]\n    network_mode: bridge\n    mem_limit: 16m\n    stop_grace_period: 1s\n    scale: {scale}\n{restart}    labels:\n      ecsctl.bench: \"{label}\"\n"
        );
        std::fs::write(dir.path().join("docker-compose.yml"), file).expect("write compose file");
        Compose {
            dir,
            project: project.to_string(),
        }
    }

    /// Runs `docker-compose ARGS` in the project; panics with its output when it fails.
    pub(crate) fn run(&self, args: &[&str]) -> Duration {
        let t0 = Instant::now();
        let o = Command::new("docker-compose")
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(self.dir.path().join("docker-compose.yml"))
            .args(args)
            .output()
            .expect("run docker-compose");
        let took = t0.elapsed();
        assert!(
            o.status.success(),
            "docker-compose {args:?} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        took
    }

    /// Ids of the project's running containers.
    pub(crate) fn running(&self) -> Vec<String> {
        let o = Command::new("docker")
            .args([
                "ps",
                "-q",
                "--no-trunc",
                "--filter",
                &format!("label=com.docker.compose.project={}", self.project),
            ])
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub(crate) fn remove(&self) {
        remove_labelled(&format!("com.docker.compose.project={}", self.project));
    }
}

/// `docker-compose up -d` of `n` containers (returns when compose says they are started).
pub(crate) fn compose_up(n: usize, project: &str, label: &str) -> Duration {
    let c = Compose::new(project, label, n, false);
    let took = c.run(&["up", "-d"]);
    let up = c.running().len();
    c.remove();
    assert_eq!(up, n, "compose started {up} of {n} containers");
    took
}

/// Time from SIGKILL of a container's process to Docker's restart policy having it running
/// again: `restart: always`, `repeat` containers, each crashed once (Docker's restart delay
/// starts at 100 ms and doubles for a container that keeps failing).
pub(crate) fn docker_restart(repeat: usize, project: &str, label: &str) -> Vec<Duration> {
    let c = Compose::new(project, label, repeat, true);
    c.run(&["up", "-d"]);
    let ids = c.running();
    assert_eq!(
        ids.len(),
        repeat,
        "compose started {} of {repeat}",
        ids.len()
    );
    let mut out = Vec::new();
    for id in &ids {
        std::thread::sleep(Duration::from_secs(1));
        let before = inspect(id)["State"]["StartedAt"].clone();
        let pid = container_pid(id);
        let t0 = Instant::now();
        kill9(pid);
        loop {
            let s = inspect(id);
            if s["State"]["Running"] == true
                && s["State"]["Restarting"] == false
                && s["State"]["StartedAt"] != before
            {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "container {id} not restarted in 60 s: {}",
                s["State"]
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        out.push(t0.elapsed());
    }
    c.remove();
    out
}

/// dockerd's CPU with 50 idle compose containers (no ecsctl server), over `secs`.
pub(crate) fn compose_idle(secs: u64, project: &str, label: &str) -> f64 {
    let c = Compose::new(project, label, 50, false);
    c.run(&["up", "-d"]);
    std::thread::sleep(Duration::from_secs(5));
    let dockerd = dockerd_pid();
    let d0 = cpu_ticks(dockerd);
    std::thread::sleep(Duration::from_secs(secs));
    let d1 = cpu_ticks(dockerd);
    c.remove();
    core_pct(d1 - d0, secs)
}
