use super::*;
use serde_json::json;

fn identity(role: Role, clusters: &[&str]) -> Identity {
    Identity {
        name: "test".to_string(),
        principal: "test".to_string(),
        role,
        clusters: Scope::Clusters(clusters.iter().map(|c| c.to_string()).collect()),
    }
}

const VERBS: [Verb; 3] = [Verb::Read, Verb::Write, Verb::Delete];

/// What each role may do to each kind, written out by hand (the README's table), apart from
/// where: the matrix below adds the cluster.
fn expected(role: Role, verb: Verb, kind: Kind) -> bool {
    use Kind::{
        Autoscaler, Cluster, ContainerInstance, LoadBalancer, Secret, SecurityGroup, Service, Task,
        TaskDefinition,
    };
    match (role, verb) {
        (Role::Admin, _) => true,
        (Role::Deployer, Verb::Read) | (Role::Viewer, Verb::Read) => true,
        (Role::Deployer, _) => matches!(
            kind,
            TaskDefinition
                | Service
                | Task
                | Autoscaler
                | LoadBalancer
                | Secret
                | SecurityGroup
                | Kind::Role
        ),
        (Role::Viewer, _) => false,
        (Role::Agent, Verb::Read) => matches!(
            kind,
            TaskDefinition
                | Cluster
                | Service
                | Task
                | ContainerInstance
                | Secret
                | SecurityGroup
                | Kind::Role
        ),
        (Role::Agent, _) => false,
    }
}

#[test]
fn every_role_kind_and_verb_in_and_out_of_scope() {
    let mut checked = 0;
    for role in Role::ALL {
        let who = identity(role, &["shop"]);
        for kind in Kind::ALL {
            for verb in VERBS {
                for (cluster, inside) in [("shop", true), ("default", false)] {
                    let action = Action::on(verb, kind, Some(cluster), cluster);
                    let account_wide = action_cluster(&action).is_none();
                    let want = expected(role, verb, kind)
                        && (inside || account_wide || role == Role::Admin);
                    let got = authorize(&who, &action);
                    assert_eq!(
                        got.is_ok(),
                        want,
                        "{role} {verb:?} {kind} in {cluster}: {got:?}"
                    );
                    if let Err(f) = got {
                        let text = f.to_string();
                        assert!(
                            text.starts_with(&format!(
                                "forbidden: role {role} (clusters: shop) may not "
                            )),
                            "{text}"
                        );
                        assert!(text.contains("(rule: "), "{text}");
                        if !inside && expected(role, verb, kind) {
                            assert_eq!(f.rule, AccessRule::ClusterScope, "{text}");
                            assert!(
                                text.contains("add default to this token's clusters"),
                                "{text}"
                            );
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * Kind::ALL.len() * 3 * 2);
}

fn action_cluster(a: &Action) -> Option<&str> {
    match a {
        Action::Object { cluster, .. } => cluster.as_deref(),
        _ => None,
    }
}

#[test]
fn the_refusal_names_role_clusters_action_and_rule() {
    let who = identity(Role::Deployer, &["shop"]);
    let svc = Action::on(Verb::Write, Kind::Service, Some("default"), "web");
    assert_eq!(
        authorize(&who, &svc).unwrap_err().to_string(),
        "forbidden: role deployer (clusters: shop) may not write services in cluster default (rule: cluster-scope); an admin may add default to this token's clusters in the --tokens file"
    );
    let cluster = Action::on(Verb::Write, Kind::Cluster, None, "shop");
    let f = authorize(&who, &cluster).unwrap_err();
    assert_eq!(f.rule, AccessRule::AdminOnly);
    assert!(
        f.to_string()
            .contains("may not write cluster shop (rule: admin-only)"),
        "{f}"
    );
}

#[test]
fn task_definitions_are_account_wide_and_clusters_are_scoped_by_their_name() {
    let who = identity(Role::Deployer, &["shop"]);
    // A TaskDefinition has no cluster: whatever the request says, it is the account's.
    assert!(
        authorize(
            &who,
            &Action::on(Verb::Write, Kind::TaskDefinition, Some("default"), "web")
        )
        .is_ok()
    );
    let viewer = identity(Role::Viewer, &["shop"]);
    assert!(
        authorize(
            &viewer,
            &Action::on(Verb::Read, Kind::Cluster, None, "shop")
        )
        .is_ok()
    );
    assert!(
        authorize(
            &viewer,
            &Action::on(Verb::Read, Kind::Cluster, None, "default")
        )
        .is_err()
    );
}

#[test]
fn a_missing_cluster_is_the_default_cluster() {
    let who = identity(Role::Deployer, &["shop"]);
    let f = authorize(&who, &Action::on(Verb::Write, Kind::Secret, None, "db")).unwrap_err();
    assert!(f.to_string().contains("secrets in cluster default"), "{f}");
}

#[test]
fn logs_sync_and_health() {
    let deployer = identity(Role::Deployer, &["shop"]);
    let viewer = identity(Role::Viewer, &["shop"]);
    let agent = identity(Role::Agent, &["shop"]);
    let all_viewer = Identity {
        clusters: Scope::All,
        ..viewer.clone()
    };
    let logs = |c: &str| Action::Logs {
        cluster: c.to_string(),
    };
    assert!(authorize(&deployer, &logs("shop")).is_ok());
    assert_eq!(
        authorize(&deployer, &logs("default")).unwrap_err().rule,
        AccessRule::ClusterScope
    );
    assert_eq!(
        authorize(&viewer, &logs("shop")).unwrap_err().rule,
        AccessRule::RolePermissions
    );
    assert!(authorize(&agent, &logs("shop")).is_err());
    for who in [&deployer, &viewer, &agent, &all_viewer] {
        assert_eq!(
            authorize(who, &Action::Sync).unwrap_err().rule,
            AccessRule::AdminOnly
        );
        assert!(authorize(who, &Action::Health).is_ok());
    }
    assert!(authorize(&Identity::server(), &Action::Sync).is_ok());
    assert!(authorize(&viewer, &Action::SyncStatus).is_err());
    assert!(authorize(&all_viewer, &Action::SyncStatus).is_ok());
    let all_agent = Identity {
        clusters: Scope::All,
        ..agent
    };
    assert!(authorize(&all_agent, &Action::SyncStatus).is_err());
}

#[test]
fn exec_is_for_admins_and_deployers_of_the_tasks_cluster() {
    let exec = |c: &str| Action::Exec {
        cluster: c.to_string(),
    };
    let deployer = identity(Role::Deployer, &["shop"]);
    assert!(authorize(&deployer, &exec("shop")).is_ok());
    assert!(authorize(&Identity::admin("unix socket"), &exec("shop")).is_ok());
    assert_eq!(
        authorize(&deployer, &exec("default")).unwrap_err().rule,
        AccessRule::ClusterScope
    );
    for role in [Role::Viewer, Role::Agent] {
        let f = authorize(&identity(role, &["shop"]), &exec("shop")).unwrap_err();
        assert_eq!(f.rule, AccessRule::RolePermissions);
        let line = f.to_string();
        assert!(
            line.contains(role.as_str()) && line.contains("exec into tasks in cluster shop"),
            "{line}"
        );
    }
}

fn object(kind: &str, cluster: Option<&str>, name: &str) -> Object {
    let mut meta = json!({"name": name});
    if let Some(c) = cluster {
        meta["cluster"] = json!(c);
    }
    serde_json::from_value(
        json!({"apiVersion": "ecs/v1", "kind": kind, "metadata": meta, "spec": {}}),
    )
    .unwrap()
}

#[test]
fn one_forbidden_object_refuses_the_whole_apply() {
    let who = identity(Role::Deployer, &["shop"]);
    let fine = vec![
        object("TaskDefinition", None, "web"),
        object("Service", Some("shop"), "web"),
        object("Secret", Some("shop"), "db"),
    ];
    assert!(authorize_apply(&who, &fine).is_ok());
    let mut bad = fine.clone();
    bad.push(object("Service", None, "web"));
    let f = authorize_apply(&who, &bad).unwrap_err();
    assert!(f.to_string().contains("services in cluster default"), "{f}");
    assert!(who.may_read(&object("Task", Some("shop"), "t")));
    assert!(!who.may_read(&object("Task", Some("default"), "t")));
}

// The tokens file.

const T1: &str = "0123456789abcdef0123";
const T2: &str = "fedcba9876543210fedc";

#[test]
fn a_tokens_file_parses_into_identities() {
    let text = format!(
        "# who\n\n{T1} admin\n  {T2}   deployer   shop,shop_2  \nAAAAAAAAAAAAAAAAAAAA viewer *\nBBBBBBBBBBBBBBBBBBBB agent shop\nCCCCCCCCCCCCCCCCCCCC admin *\n"
    );
    let tokens = Tokens::parse(&text, "tokens").unwrap();
    assert_eq!(tokens.len(), 5);
    let admin = tokens.identify(T1.as_bytes()).unwrap();
    assert_eq!(
        (admin.role, &admin.clusters, admin.name.as_str()),
        (Role::Admin, &Scope::All, "tokens:3")
    );
    let d = tokens.identify(T2.as_bytes()).unwrap();
    assert_eq!(d.role, Role::Deployer);
    assert_eq!(d.clusters.to_string(), "shop,shop_2");
    assert_eq!(d.name, "tokens:4");
    assert_eq!(
        tokens.identify(b"AAAAAAAAAAAAAAAAAAAA").unwrap().clusters,
        Scope::All
    );
    assert!(tokens.identify(b"nope").is_none());
    assert!(tokens.identify(b"").is_none());
    // A prefix or an extension of a token is not the token.
    assert!(tokens.identify(&T1.as_bytes()[..19]).is_none());
    assert!(tokens.identify(format!("{T1}x").as_bytes()).is_none());
    // The debug form never shows a token.
    assert!(!format!("{tokens:?}").contains(T1));
}

#[test]
fn a_bad_tokens_file_names_the_line_and_the_problem() {
    let cases = [
        (format!("{T1}\n"), 1, "found only a token"),
        (
            format!("# c\n{T1} root\n"),
            2,
            "unknown role \"root\": expected one of admin, deployer, viewer, agent",
        ),
        (
            format!("{T1} deployer\n"),
            1,
            "role deployer needs its clusters",
        ),
        (
            format!("{T1} admin shop\n"),
            1,
            "an admin acts on every cluster",
        ),
        (format!("{T1} viewer shop,,web\n"), 1, "empty cluster name"),
        (format!("{T1} viewer shop/x\n"), 1, "is not a cluster name"),
        (format!("{T1} viewer shop, web\n"), 1, "found 4 fields"),
        ("short admin\n".to_string(), 1, "use at least 16"),
        (
            format!("{T1} admin\n\n{T1} viewer *\n"),
            3,
            "the same token as line 1",
        ),
    ];
    for (text, line, words) in cases {
        let e = Tokens::parse(&text, "t").unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.to_string().contains(words), "{text:?}: {e}");
        assert!(
            !e.to_string().contains(T1),
            "an error never shows a token: {e}"
        );
    }
}

#[test]
fn the_token_file_token_is_one_more_admin() {
    let tokens = Tokens::parse(&format!("{T1} viewer *\n"), "t").unwrap();
    let tokens = tokens.with_admin(T2, "--token-file").unwrap();
    assert_eq!(tokens.identify(T2.as_bytes()).unwrap().role, Role::Admin);
    let clash = Tokens::parse(&format!("{T1} viewer *\n"), "t").unwrap();
    let e = clash.with_admin(T1, "--token-file").unwrap_err();
    assert!(e.to_string().contains("also the token of t:1"), "{e}");
}

#[test]
fn lists_check_the_kind_and_the_named_cluster() {
    let agent = identity(Role::Agent, &["shop"]);
    assert!(authorize_list(&agent, Kind::Task, None).is_ok());
    assert!(authorize_list(&agent, Kind::Task, Some("shop")).is_ok());
    assert_eq!(
        authorize_list(&agent, Kind::Task, Some("default"))
            .unwrap_err()
            .rule,
        AccessRule::ClusterScope
    );
    let f = authorize_list(&agent, Kind::Autoscaler, None).unwrap_err();
    assert_eq!(f.rule, AccessRule::RolePermissions);
    assert!(f.to_string().contains("may not read autoscalers"), "{f}");
    // A cluster named for an account-wide kind changes nothing.
    assert!(authorize_list(&agent, Kind::TaskDefinition, Some("default")).is_ok());
}

#[test]
fn agents_register_report_and_read_values_only_for_their_own_instances() {
    let agent = Identity {
        principal: "token:aa".to_string(),
        ..identity(Role::Agent, &["shop"])
    };
    let deployer = identity(Role::Deployer, &["shop"]);
    let register = |c: &str| Action::Register {
        cluster: c.to_string(),
    };
    let report = |kind: Kind| Action::Report {
        kind,
        cluster: "shop".to_string(),
    };
    assert!(authorize(&agent, &register("shop")).is_ok());
    assert_eq!(
        authorize(&agent, &register("default")).unwrap_err().rule,
        AccessRule::ClusterScope
    );
    assert_eq!(
        authorize(&deployer, &register("shop")).unwrap_err().rule,
        AccessRule::RolePermissions
    );
    assert!(authorize(&agent, &report(Kind::Task)).is_ok());
    assert!(authorize(&agent, &report(Kind::ContainerInstance)).is_ok());
    assert!(authorize(&agent, &report(Kind::Service)).is_err());
    assert!(authorize(&deployer, &report(Kind::Task)).is_err());
    let value = Action::SecretValue {
        cluster: "shop".to_string(),
    };
    assert!(authorize(&agent, &value).is_ok());
    assert!(authorize(&deployer, &value).is_err());
    // Whose instance: the one whose spec names the agent's principal.
    assert!(owns_instance(&agent, "i-1", Some("token:aa")).is_ok());
    let f = owns_instance(&agent, "i-2", Some("token:bb")).unwrap_err();
    assert_eq!(f.rule, AccessRule::InstanceOwner);
    assert!(f.to_string().contains("container instance i-2"), "{f}");
    assert!(owns_instance(&agent, "local", None).is_err());
    assert!(owns_instance(&Identity::server(), "local", None).is_ok());
    assert!(owns_instance(&deployer, "i-1", Some("test")).is_err());
}

#[test]
fn only_admins_drain_and_undrain_instances() {
    let drain = |c: &str| Action::SetInstanceState {
        cluster: c.to_string(),
    };
    assert!(authorize(&Identity::admin("unix socket"), &drain("shop")).is_ok());
    for role in [Role::Deployer, Role::Viewer, Role::Agent] {
        for scope in [
            identity(role, &["shop"]),
            Identity {
                clusters: Scope::All,
                ..identity(role, &[])
            },
        ] {
            let f = authorize(&scope, &drain("shop")).unwrap_err();
            assert_eq!(f.rule, AccessRule::AdminOnly, "{role}: {f}");
            let text = f.to_string();
            assert!(
                text.contains(
                    "may not drain or undrain container instances in cluster shop (rule: admin-only)"
                ),
                "{text}"
            );
            assert!(text.contains("only an admin token drains"), "{text}");
        }
    }
}
