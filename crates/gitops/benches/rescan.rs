//! 500 manifests in a directory: time and CPU of a full rescan + plan, and of a full sync
//! after one file changed (what a watcher does after its debounce).
#![allow(clippy::unwrap_used)]

use ecsctl_gitops as gitops;
use std::time::Instant;

fn cpu_ms() -> f64 {
    // utime + stime of this process, in clock ticks (Linux, 100 Hz).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) * 10.0
}

fn manifest(i: usize, tag: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata:\n  name: svc-{i}\nspec:\n  containerDefinitions:\n    - name: app\n      image: busybox\n      memory: 32\n      environment: [{{name: TAG, value: \"{tag}\"}}]\n---\napiVersion: ecs/v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  taskDefinition: svc-{i}\n  desiredCount: 0\n"
    )
}

fn main() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("deploy");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..500 {
        std::fs::write(dir.join(format!("svc-{i}.yaml")), manifest(i, "a")).unwrap();
    }
    let st = store::SledStore::open(d.path().join("store")).unwrap();
    let req = gitops::SyncRequest::default();
    let board = gitops::StatusBoard::default();
    gitops::sync_once(
        &st,
        &admission::Admission::default(),
        &dir,
        req,
        Some(&board),
    )
    .unwrap();

    let runs = 5;
    let (t0, c0) = (Instant::now(), cpu_ms());
    for _ in 0..runs {
        let snap = gitops::scan(&dir).unwrap();
        let live = gitops::live_objects(&st).unwrap();
        let plan = gitops::plan_sync(&snap, &live);
        assert_eq!(plan.apply.len(), 1000);
    }
    println!(
        "rescan+plan of 500 files (1000 objects): {:.1} ms wall, {:.1} ms CPU per run",
        t0.elapsed().as_secs_f64() * 1000.0 / runs as f64,
        (cpu_ms() - c0) / runs as f64
    );

    let (t0, c0) = (Instant::now(), cpu_ms());
    for r in 0..runs {
        std::fs::write(dir.join("svc-7.yaml"), manifest(7, &format!("b{r}"))).unwrap();
        let rep = gitops::sync_once(
            &st,
            &admission::Admission::default(),
            &dir,
            req,
            Some(&board),
        )
        .unwrap();
        assert_eq!(
            rep.applied
                .iter()
                .filter(|a| a.action != api::wire::ApplyAction::Unchanged)
                .count(),
            1
        );
    }
    println!(
        "one file changed -> applied (full sync, without the 500 ms debounce): {:.1} ms wall, {:.1} ms CPU per run",
        t0.elapsed().as_secs_f64() * 1000.0 / runs as f64,
        (cpu_ms() - c0) / runs as f64
    );
}
