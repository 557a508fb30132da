use super::*;
use std::fs;
use store::SledStore;

fn td(name: &str, image: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata:\n  name: {name}\nspec:\n  containerDefinitions:\n    - name: app\n      image: {image}\n      memory: 64\n"
    )
}

fn svc(name: &str, count: u32) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  taskDefinition: {name}\n  desiredCount: {count}\n"
    )
}

fn store() -> (tempfile::TempDir, SledStore) {
    let d = tempfile::tempdir().unwrap();
    let s = SledStore::open(d.path().join("store")).unwrap();
    (d, s)
}

fn key(kind: Kind, name: &str) -> ObjectKey {
    ObjectKey::new(kind, None, name)
}

#[test]
fn scan_annotates_with_source_and_relative_file_and_hashes_content() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    fs::create_dir_all(r.join("sub")).unwrap();
    fs::write(
        r.join("sub/web.yaml"),
        format!("{}---\n{}", td("web", "x"), svc("web", 0)),
    )
    .unwrap();
    fs::write(r.join(".web.yaml.swp"), "junk").unwrap();
    fs::write(r.join("notes.txt"), "junk").unwrap();
    let s = scan(r).unwrap();
    assert_eq!(s.objects.len(), 2);
    assert_eq!(s.files, 1);
    let a = &s.objects[1].metadata.annotations;
    assert_eq!(a[SOURCE_ANNOTATION], r.display().to_string());
    assert_eq!(a[SOURCE_FILE_ANNOTATION], "sub/web.yaml");
    let rev = s.revision.clone();
    assert_eq!(scan(r).unwrap().revision, rev, "stable");
    fs::write(r.join("sub/web.yaml"), td("web", "y")).unwrap();
    assert_ne!(scan(r).unwrap().revision, rev);
}

#[test]
fn scan_reports_every_bad_file_with_position() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    fs::write(r.join("a.yaml"), td("a", "x")).unwrap();
    fs::write(
        r.join("b.yaml"),
        td("b", "x").replace("memory: 64", "memory: lots"),
    )
    .unwrap();
    fs::write(r.join("c.yaml"), td("a", "y")).unwrap();
    let e = scan(r).unwrap_err();
    let lines: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("b.yaml:9:15: spec.containerDefinitions[0].memory"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("c.yaml") && lines[1].contains("also defined in a.yaml"),
        "{lines:?}"
    );
}

#[test]
fn scan_refuses_symlinks_out_of_the_directory() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("x.yaml"), td("x", "x")).unwrap();
    let d = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.yaml"), d.path().join("x.yaml")).unwrap();
    let e = scan(d.path()).unwrap_err();
    assert!(
        e[0].to_string()
            .starts_with("x.yaml: symlink points outside"),
        "{e:?}"
    );
    // A link inside the directory is fine (and read once).
    let d2 = tempfile::tempdir().unwrap();
    fs::write(d2.path().join("a.yaml"), td("a", "x")).unwrap();
    std::os::unix::fs::symlink(d2.path().join("a.yaml"), d2.path().join("b.yaml")).unwrap();
    assert_eq!(scan(d2.path()).unwrap().objects.len(), 1);
}

#[test]
fn plan_prunes_only_what_this_directory_owns() {
    let d = tempfile::tempdir().unwrap();
    let mut mine = api::Object::new(Kind::Service, "old", serde_json::json!({}));
    mine.metadata
        .annotations
        .insert(SOURCE_ANNOTATION.into(), d.path().display().to_string());
    let mut other = mine.clone();
    other.metadata.name = "other".into();
    other
        .metadata
        .annotations
        .insert(SOURCE_ANNOTATION.into(), "/elsewhere".into());
    let hand = api::Object::new(Kind::Service, "hand", serde_json::json!({}));
    let mut dep = mine.clone();
    dep.kind = Kind::Deployment;
    dep.metadata.name = "old-1".into();
    let mut td1 = api::Object::new(Kind::TaskDefinition, "gone", serde_json::json!({}));
    td1.metadata.revision = Some(1);
    td1.metadata.annotations = mine.metadata.annotations.clone();
    let mut td2 = td1.clone();
    td2.metadata.revision = Some(2);
    let mut kept1 = td1.clone();
    kept1.metadata.name = "web".into();
    // Latest revision of "byhand" was applied by hand: the family is not ours any more.
    let mut byhand1 = td1.clone();
    byhand1.metadata.name = "byhand".into();
    let mut byhand2 = byhand1.clone();
    byhand2.metadata.revision = Some(2);
    byhand2.metadata.annotations.clear();
    fs::write(d.path().join("web.yaml"), td("web", "x")).unwrap();
    let snap = scan(d.path()).unwrap();
    let live = vec![mine, other, hand, dep, td1, td2, kept1, byhand1, byhand2];
    let plan = plan_sync(&snap, &live);
    assert_eq!(plan.apply.len(), 1);
    assert_eq!(
        plan.prune,
        vec![key(Kind::Service, "old"), key(Kind::TaskDefinition, "gone")]
    );
}

#[test]
fn sync_applies_prunes_and_keeps_hand_applied_objects() {
    let (_s, st) = store();
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    fs::write(
        r.join("web.yaml"),
        format!("{}---\n{}", td("web", "x"), svc("web", 0)),
    )
    .unwrap();
    fs::write(
        r.join("old.yaml"),
        format!("{}---\n{}", td("old", "x"), svc("old", 0)),
    )
    .unwrap();
    // Applied by hand, no source annotation.
    let hand = api::parse::parse_source("h", &svc("hand", 0), &Default::default()).unwrap();
    st.apply(hand[0].object.clone()).unwrap();
    let board = StatusBoard::default();
    let rep = sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap();
    assert_eq!(
        rep.applied
            .iter()
            .filter(|a| a.action == ApplyAction::Created)
            .count(),
        4
    );
    fs::remove_file(r.join("old.yaml")).unwrap();
    // Dry run: reported, not written.
    let rep = sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest {
            dry_run: true,
            prune: true,
        },
        None,
    )
    .unwrap();
    assert_eq!(rep.pruned.len(), 2);
    assert!(
        st.get(&ObjectKey::new(Kind::Service, None, "old"))
            .unwrap()
            .is_some()
    );
    // No prune: kept.
    sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest {
            dry_run: false,
            prune: false,
        },
        Some(&board),
    )
    .unwrap();
    assert!(
        st.get(&ObjectKey::new(Kind::Service, None, "old"))
            .unwrap()
            .is_some()
    );
    let rep = sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap();
    assert_eq!(
        rep.pruned,
        vec![key(Kind::Service, "old"), key(Kind::TaskDefinition, "old")]
    );
    assert!(
        st.get(&ObjectKey::new(Kind::Service, None, "old"))
            .unwrap()
            .is_none()
    );
    assert!(
        st.get(&ObjectKey::new(Kind::Service, None, "hand"))
            .unwrap()
            .is_some()
    );
    // Emptying the directory never touches the hand-applied service.
    fs::remove_file(r.join("web.yaml")).unwrap();
    sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap();
    assert!(
        st.get(&ObjectKey::new(Kind::Service, None, "web"))
            .unwrap()
            .is_none()
    );
    assert!(
        st.get(&ObjectKey::new(Kind::Service, None, "hand"))
            .unwrap()
            .is_some()
    );
    assert_eq!(board.list()[0].state, SyncState::Synced);
}

#[test]
fn bad_content_writes_nothing_and_is_recorded() {
    let (_s, st) = store();
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    fs::write(
        r.join("web.yaml"),
        format!("{}---\n{}", td("web", "x"), svc("web", 0)),
    )
    .unwrap();
    let board = StatusBoard::default();
    sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap();
    let before = st.revision();
    fs::write(r.join("web.yaml"), svc("web", 3)).unwrap();
    fs::write(
        r.join("bad.yaml"),
        "kind: Service\nmetadata: {name: x}\nspec:\n  desiredCount: -1\n",
    )
    .unwrap();
    let e = sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap_err();
    assert!(matches!(e, SyncError::Invalid { .. }));
    assert_eq!(st.revision(), before, "nothing written, nothing pruned");
    let status = board.get(&r.display().to_string()).unwrap();
    assert_eq!(status.state, SyncState::Error);
    assert!(
        status.errors[0].starts_with("bad.yaml:"),
        "{:?}",
        status.errors
    );
    assert!(
        status.revision.is_some(),
        "the previous good revision stays"
    );
}

#[test]
fn drift_is_reported_and_restored_except_autoscaled_counts() {
    let (_s, st) = store();
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    fs::write(
        r.join("web.yaml"),
        format!("{}---\n{}", td("web", "x"), svc("web", 1)),
    )
    .unwrap();
    let board = StatusBoard::default();
    sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap();
    let k = ObjectKey::new(Kind::Service, None, "web");
    let mut live = st.get(&k).unwrap().unwrap();
    live.spec["desiredCount"] = 5.into();
    live.metadata.resource_version = None;
    st.apply(live.clone()).unwrap();
    let rep = sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap();
    assert_eq!(rep.drift, ["service/web"]);
    assert_eq!(st.get(&k).unwrap().unwrap().spec["desiredCount"], 1);
    // With an autoscaler targeting it, the live count is kept.
    fs::write(
        r.join("as.yaml"),
        "apiVersion: ecs/v1\nkind: Autoscaler\nmetadata: {name: web}\nspec: {service: web, minCapacity: 1, maxCapacity: 9, targetTracking: [{metric: ECSServiceAverageCPUUtilization, targetValue: 50}]}\n",
    )
    .unwrap();
    sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap();
    st.apply(live).unwrap();
    let rep = sync_once(
        &st,
        &Admission::default(),
        r,
        SyncRequest::default(),
        Some(&board),
    )
    .unwrap();
    assert!(rep.drift.is_empty(), "{:?}", rep.drift);
    assert_eq!(st.get(&k).unwrap().unwrap().spec["desiredCount"], 5);
}
