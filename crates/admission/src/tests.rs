use super::*;
use serde_json::json;
use store::SledStore;

fn object(v: serde_json::Value) -> Object {
    serde_json::from_value(v).unwrap()
}

fn td(privileged: bool) -> Object {
    object(
        json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
        "spec": {"containerDefinitions": [{"name": "app", "image": "nginx:1", "memory": 64, "privileged": privileged}]}}),
    )
}

fn svc(count: u64) -> Object {
    object(
        json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"taskDefinition": "web", "desiredCount": count}}),
    )
}

fn store() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("store")).unwrap();
    (dir, store)
}

fn rules(r: &Refusal) -> Vec<Rule> {
    r.problems().iter().map(|p| p.rule).collect()
}

#[test]
fn each_rule_refuses_with_its_name() {
    let (_dir, store) = store();
    let chain = Admission::new(SecretSources::new(
        Some("/srv/secrets".into()),
        Some("APP_".into()),
    ));
    let deployment = object(json!({"apiVersion": "ecs/v1", "kind": "Deployment",
        "metadata": {"name": "d"}, "spec": {}}));
    let cases: Vec<(Vec<Object>, Rule)> = vec![
        (vec![deployment], Rule::SystemOwnedKind),
        (vec![td(false), td(false)], Rule::Duplicate),
        (
            vec![object(
                json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"taskDefinition": "", "desiredCount": 1}}),
            )],
            Rule::Validation,
        ),
        (vec![td(true), svc(1)], Rule::ClusterPolicy),
        (
            vec![object(
                json!({"apiVersion": "ecs/v1", "kind": "Secret", "metadata": {"name": "s"},
                "spec": {"fromFile": "/etc/shadow"}}),
            )],
            Rule::SecretSources,
        ),
        (
            vec![object(
                json!({"apiVersion": "ecs/v1", "kind": "Secret", "metadata": {"name": "s"},
                "spec": {"fromEnv": "HOME"}}),
            )],
            Rule::SecretSources,
        ),
    ];
    for (objects, rule) in cases {
        let e = chain.admit_apply(&store, objects).unwrap_err();
        assert!(rules(&e).contains(&rule), "{rule}: {e} {:?}", e.lines());
    }
    assert_eq!(store.revision(), 0, "nothing was written");

    let fine = object(
        json!({"apiVersion": "ecs/v1", "kind": "Secret", "metadata": {"name": "s"},
        "spec": {"fromFile": "/srv/secrets/db"}}),
    );
    assert!(
        chain
            .admit_apply(&store, vec![fine, td(false), svc(1)])
            .is_ok()
    );

    let default = ObjectKey::new(Kind::Cluster, None, api::DEFAULT_CLUSTER);
    let e = chain.admit_delete(&default).unwrap_err();
    assert_eq!(rules(&e), [Rule::ProtectedObject]);
    assert_eq!(e.to_string(), "the default cluster cannot be deleted");
    let e = chain
        .admit_delete(&ObjectKey::new(Kind::Deployment, None, "d"))
        .unwrap_err();
    assert_eq!(rules(&e), [Rule::SystemOwnedKind]);
    assert!(
        chain
            .admit_delete(&ObjectKey::new(Kind::Cluster, None, "prod"))
            .is_ok()
    );
}

#[test]
fn policy_reads_the_cluster_and_task_definition_from_the_write_or_the_store() {
    let (_dir, store) = store();
    let chain = Admission::default();
    let e = chain
        .admit_apply(&store, vec![td(true), svc(1)])
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("refused by the server's policy (cluster-policy)"),
        "{e}"
    );
    assert!(
        e.lines()[0].contains("spec.policy.allowPrivileged"),
        "{:?}",
        e.lines()
    );
    let allow = object(
        json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": "default"},
        "spec": {"policy": {"allowPrivileged": true}}}),
    );
    let admitted = chain.admit_apply(&store, vec![allow, td(true)]).unwrap();
    store.apply_all(admitted.objects, false).unwrap();
    // Both now come from the store.
    assert!(chain.admit_apply(&store, vec![svc(1)]).is_ok());
}

#[test]
fn an_autoscaled_count_keeps_its_live_value() {
    let (_dir, store) = store();
    let chain = Admission::default();
    let scaler = object(
        json!({"apiVersion": "ecs/v1", "kind": "Autoscaler", "metadata": {"name": "web-cpu"},
        "spec": {"service": "web", "minCapacity": 1, "maxCapacity": 5,
            "targetTracking": [{"metric": "ECSServiceAverageCPUUtilization", "targetValue": 50.0}]}}),
    );
    let admitted = chain
        .admit_apply(&store, vec![td(false), svc(2), scaler])
        .unwrap();
    store.apply_all(admitted.objects, false).unwrap();
    let admitted = chain.admit_apply(&store, vec![svc(4)]).unwrap();
    assert_eq!(admitted.objects[0].spec["desiredCount"], 2);
    assert!(
        admitted.ownership_warnings[0].contains("owned by autoscaler/web-cpu"),
        "{:?}",
        admitted
    );
}

fn named_svc(name: &str, cluster: &str) -> Object {
    object(
        json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": name, "cluster": cluster},
        "spec": {"taskDefinition": "web", "desiredCount": 1}}),
    )
}

#[test]
fn names_whose_dns_aliases_clash_are_refused_naming_both() {
    let (_dir, store) = store();
    let chain = Admission::default();
    // In one apply.
    let e = chain
        .admit_apply(
            &store,
            vec![
                td(false),
                named_svc("Web_App", "shop"),
                named_svc("web-app", "shop"),
            ],
        )
        .unwrap_err();
    assert_eq!(rules(&e), [Rule::AliasClash]);
    assert_eq!(
        e.lines(),
        [
            "service/web-app: its DNS alias \"web-app\" is also the alias of service/Web_App in cluster shop in this apply: names that differ only in case or in '_' and '-' cannot both exist in one cluster; rename one of them"
        ]
    );
    // Another cluster, another kind: no clash.
    let admitted = chain
        .admit_apply(
            &store,
            vec![
                td(false),
                named_svc("Web_App", "shop"),
                named_svc("web-app", "prod"),
            ],
        )
        .unwrap();
    store.apply_all(admitted.objects, false).unwrap();
    // Against the store (as an old store holding the folded name would be).
    let e = chain
        .admit_apply(&store, vec![named_svc("WEB_APP", "shop")])
        .unwrap_err();
    assert_eq!(rules(&e), [Rule::AliasClash]);
    assert!(
        e.lines()[0].starts_with("service/WEB_APP: its DNS alias \"web-app\" is also the alias of service/Web_App in cluster shop (stored)"),
        "{:?}",
        e.lines()
    );
    // The stored object itself applies again, and exact names are kept apart.
    assert!(
        chain
            .admit_apply(&store, vec![named_svc("Web_App", "shop")])
            .is_ok()
    );
    assert!(
        chain
            .admit_apply(&store, vec![named_svc("Web_App2", "shop")])
            .is_ok()
    );
    // Account-wide kinds clash account-wide.
    let fam = |name: &str| {
        object(
            json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": name},
            "spec": {"containerDefinitions": [{"name": "app", "image": "nginx:1", "memory": 64}]}}),
        )
    };
    let e = chain.admit_apply(&store, vec![fam("Web")]).unwrap_err();
    assert!(
        e.lines()[0].contains("taskdefinition/web (stored)")
            && e.lines()[0].contains("one account"),
        "{:?}",
        e.lines()
    );
}
