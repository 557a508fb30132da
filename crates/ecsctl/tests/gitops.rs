//! GitOps end to end: a real server watching a directory (`--watch DIR`).
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};
use support::Server;

fn manifest(name: &str, count: u32, image_tag: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata:\n  name: {name}\nspec:\n  containerDefinitions:\n    - name: app\n      image: {}\n      command: [sleep, \"3600\"]\n      stopTimeout: 1\n      memory: 32\n      environment: [{{name: TAG, value: \"{image_tag}\"}}]\n---\napiVersion: ecs/v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  taskDefinition: {name}\n  desiredCount: {count}\n",
        support::IMAGE
    )
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn service(s: &Server, name: &str) -> Option<serde_json::Value> {
    let o = s.run(&["get", "service", name, "-o", "json"]);
    o.status
        .success()
        .then(|| serde_json::from_slice(&o.stdout).expect("json"))
}

fn eventually(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < within {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within {within:?}");
}

#[test]
fn a_watched_directory_is_the_desired_state() {
    let watched = tempfile::tempdir().expect("tempdir");
    let dir = fs::canonicalize(watched.path())
        .expect("canon")
        .join("deploy");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("keep.yaml"), manifest("keep", 0, "a")).expect("write");
    let d = dir.display().to_string();
    let s = Server::start_with(&["--watch", &d]);
    // Synced at start-up.
    assert!(service(&s, "keep").is_some(), "{}", s.log());

    // A new file: created within 2 s.
    fs::write(dir.join("web.yaml"), manifest("web", 0, "a")).expect("write");
    eventually("web created", Duration::from_secs(2), || {
        service(&s, "web").is_some()
    });
    let svc = service(&s, "web").expect("web");
    assert_eq!(
        svc["metadata"]["annotations"]["ecsctl.dev/source"],
        d.as_str()
    );
    assert_eq!(
        svc["metadata"]["annotations"]["ecsctl.dev/source-file"],
        "web.yaml"
    );

    // Applied by hand next to it: never pruned.
    let hand = tempfile::tempdir().expect("tempdir");
    fs::write(hand.path().join("hand.yaml"), manifest("hand", 0, "a")).expect("write");
    let o = s.run(&[
        "apply",
        "-f",
        &hand.path().join("hand.yaml").display().to_string(),
    ]);
    assert!(o.status.success(), "{o:?}");

    // Edited: changed.
    fs::write(dir.join("web.yaml"), manifest("web", 2, "a")).expect("write");
    eventually("web scaled", Duration::from_secs(3), || {
        service(&s, "web").is_some_and(|v| v["spec"]["desiredCount"] == 2)
    });
    fs::write(dir.join("web.yaml"), manifest("web", 0, "a")).expect("write");
    eventually("web back to 0", Duration::from_secs(3), || {
        service(&s, "web").is_some_and(|v| v["spec"]["desiredCount"] == 0)
    });

    // Invalid: nothing changes, the error is shown with file:line:col.
    fs::write(
        dir.join("web.yaml"),
        manifest("web", 1, "a").replace("memory: 32", "memory: lots"),
    )
    .expect("write");
    eventually("error reported", Duration::from_secs(3), || {
        let o = s.run(&["get", "syncs"]);
        stdout(&o).contains("web.yaml:11:15:")
    });
    let o = s.run(&["get", "syncs"]);
    assert!(stdout(&o).contains("Error"), "{}", stdout(&o));
    assert_eq!(service(&s, "web").expect("web")["spec"]["desiredCount"], 0);
    // ... and as an event, with the position.
    let o = s.run(&["events"]);
    assert!(
        stdout(&o).contains("failed (1 error; nothing applied): web.yaml:11:15:"),
        "{}",
        stdout(&o)
    );
    // `ecsctl sync` reports the same, exit 2.
    let o = s.run(&["sync", &d, "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("web.yaml:11:15: spec.containerDefinitions[0].memory"),
        "{o:?}"
    );

    // Fixed: applied.
    fs::write(dir.join("web.yaml"), manifest("web", 1, "a")).expect("write");
    fs::write(dir.join("keep.yaml"), manifest("keep", 0, "b")).expect("write");
    eventually("fixed", Duration::from_secs(3), || {
        stdout(&s.run(&["get", "syncs"])).contains("Synced")
    });

    eventually("web runs its task", Duration::from_secs(10), || {
        s.containers("label=ecsctl.service=web").len() == 1
    });

    // Deleted: pruned (service and task definition family, and its containers); the
    // hand-applied one stays.
    let o = s.run(&["sync", &d, "--dry-run"]);
    assert!(o.status.success(), "{o:?}");
    fs::remove_file(dir.join("web.yaml")).expect("rm");
    eventually("web pruned", Duration::from_secs(3), || {
        service(&s, "web").is_none()
    });
    assert!(!s.run(&["get", "td", "web"]).status.success());
    assert!(service(&s, "hand").is_some());
    eventually("web's containers gone", Duration::from_secs(15), || {
        s.containers("label=ecsctl.service=web").is_empty()
    });

    // Replaced wholesale: a new directory moved into place converges.
    let next = watched.path().join("next");
    fs::create_dir(&next).expect("mkdir");
    fs::write(next.join("api.yaml"), manifest("api", 0, "a")).expect("write");
    let old = watched.path().join("old");
    fs::rename(&dir, &old).expect("mv away");
    fs::rename(&next, &dir).expect("mv into place");
    eventually("replaced", Duration::from_secs(4), || {
        service(&s, "api").is_some() && service(&s, "keep").is_none()
    });
    assert!(service(&s, "hand").is_some(), "survives every prune");
    // Still watched after the swap.
    fs::write(dir.join("more.yaml"), manifest("more", 0, "a")).expect("write");
    eventually("more created", Duration::from_secs(3), || {
        service(&s, "more").is_some()
    });

    // Once, as CI would: --no-prune keeps, then a prune deletes.
    fs::remove_file(dir.join("more.yaml")).expect("rm");
    std::thread::sleep(Duration::from_millis(100));
    let o = s.run(&["sync", &d]);
    assert!(o.status.success(), "{o:?}");
    assert!(Path::new(&d).exists());
    eventually("more pruned", Duration::from_secs(3), || {
        service(&s, "more").is_none()
    });
}
