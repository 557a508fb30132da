use super::*;
use serde_json::json;
use store::SledStore;

fn object(v: serde_json::Value) -> Object {
    serde_json::from_value(v).unwrap()
}

fn store() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("store")).unwrap();
    (dir, store)
}

fn svc(name: &str, count: u64) -> Object {
    object(
        json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"taskDefinition": "web", "desiredCount": count}}),
    )
}

fn task(name: &str) -> Object {
    object(
        json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": name},
        "spec": {"taskDefinition": "web"}}),
    )
}

fn cluster(policy: serde_json::Value) -> Object {
    object(
        json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": "default"},
        "spec": {"policy": policy}}),
    )
}

fn messages(store: &SledStore, objects: &[Object]) -> Vec<String> {
    check_objects(store, objects, &Limits::default())
        .unwrap()
        .into_iter()
        .map(|p| format!("{}: {}", p.rule, p.message))
        .collect()
}

#[test]
fn desired_count_is_capped_by_the_cluster() {
    let (_d, store) = store();
    let m = messages(&store, &[svc("web", 100_000)]);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains("resource-bounds: spec.desiredCount: 100000")
            && m[0].contains("spec.policy.maxDesiredCount"),
        "{m:?}"
    );
    assert_eq!(messages(&store, &[svc("web", 1000)]), Vec::<String>::new());
    let scaler = object(
        json!({"apiVersion": "ecs/v1", "kind": "Autoscaler", "metadata": {"name": "a"},
        "spec": {"service": "web", "minCapacity": 1, "maxCapacity": 5000}}),
    );
    let m = messages(&store, &[scaler]);
    assert!(
        m.len() == 1 && m[0].contains("spec.maxCapacity: 5000"),
        "{m:?}"
    );
    let raised = [
        cluster(json!({"maxDesiredCount": 100_000, "maxTasks": 100_000})),
        svc("web", 100_000),
    ];
    assert_eq!(messages(&store, &raised), Vec::<String>::new());
}

#[test]
fn tasks_per_cluster_count_services_and_standalone_tasks() {
    let (_d, store) = store();
    store.apply(cluster(json!({"maxTasks": 10}))).unwrap();
    store.apply(svc("a", 6)).unwrap();
    store.apply(task("t1")).unwrap();
    let m = messages(&store, &[svc("b", 4)]);
    assert_eq!(m.len(), 1, "6 + 1 + 4 > 10: {m:?}");
    assert!(
        m[0].contains("11 tasks") && m[0].contains("spec.policy.maxTasks"),
        "{m:?}"
    );
    assert_eq!(
        messages(&store, &[svc("b", 3)]),
        Vec::<String>::new(),
        "exactly 10"
    );
    assert_eq!(
        messages(&store, &[svc("a", 2), svc("b", 7)]),
        Vec::<String>::new(),
        "a shrinks as b grows"
    );
    let run: Vec<Object> = (0..5).map(|i| task(&format!("n{i}"))).collect();
    assert_eq!(messages(&store, &run).len(), 1);
}

#[test]
fn one_write_starts_at_most_max_desired_count_tasks() {
    let (_d, store) = store();
    let run: Vec<Object> = (0..4).map(|i| task(&format!("n{i}"))).collect();
    let mut with_cap = vec![cluster(json!({"maxDesiredCount": 3}))];
    with_cap.extend(run.clone());
    let m = messages(&store, &with_cap);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("starts 4 tasks"), "{m:?}");
    assert_eq!(messages(&store, &run), Vec::<String>::new());
}

#[test]
fn objects_per_apply_are_capped() {
    let objects: Vec<Object> = (0..3).map(|i| task(&format!("n{i}"))).collect();
    let limits = Limits {
        max_objects_per_apply: 2,
        ..Limits::default()
    };
    let p = check_count(&objects, &limits).unwrap();
    assert_eq!(p.object.name, "n2");
    assert!(
        p.message.contains("--max-objects-per-apply"),
        "{}",
        p.message
    );
    assert!(check_count(&objects[..2], &limits).is_none());
}

#[test]
fn a_cluster_offers_only_what_exists() {
    let machine = Some(Machine {
        cpus: 2,
        memory_mib: 4096,
    });
    let spec = |v| serde_json::from_value::<ClusterSpec>(v).unwrap();
    let too_much = spec(json!({"capacity": {"cpu": 2049, "memory": 4097}}));
    let fields: Vec<_> = check_cluster(&too_much, machine)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(fields, ["spec.capacity.cpu", "spec.capacity.memory"]);
    assert!(
        check_cluster(
            &spec(json!({"capacity": {"cpu": 2048, "memory": 4096}})),
            machine
        )
        .is_empty()
    );
    assert!(check_cluster(&too_much, None).is_empty(), "unknown machine");
    assert_eq!(
        check_cluster(&spec(json!({"policy": {"pidsLimit": 4}})), None).len(),
        1
    );
}

#[test]
fn the_chain_refuses_oversized_and_oversubscribed_writes() {
    let (_d, store) = store();
    let chain = crate::Admission::default().with_limits(Limits {
        machine: Some(Machine {
            cpus: 2,
            memory_mib: 4096,
        }),
        max_objects_per_apply: 10,
    });
    let huge = object(
        json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
        "spec": {"containerDefinitions": [{"name": "a", "image": "x", "memory": "4096 GiB"}]}}),
    );
    let r = chain.admit_apply(&store, vec![huge]).unwrap_err();
    assert_eq!(r.problems()[0].rule, Rule::ResourceBounds);
    assert!(r.to_string().contains("resource-bounds"), "{r}");
    let many: Vec<Object> = (0..11).map(|i| task(&format!("n{i}"))).collect();
    let r = chain.admit_apply(&store, many).unwrap_err();
    assert_eq!(r.problems()[0].rule, Rule::SizeBounds);
    assert!(
        store
            .list(&store::ListQuery::new(Kind::Task))
            .unwrap()
            .items
            .is_empty()
    );
}
