//! Bad input gets one clear error with a location where there is one, fast.

use ecsctl_api::parse::{ParseOptions, parse_source};

fn errors(text: &str) -> Vec<String> {
    match parse_source("bad.yaml", text, &ParseOptions::default()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

const GOOD: &str = "apiVersion: ecs/v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  taskDefinition: web\n  desiredCount: 1\n";

#[test]
fn good_input_is_accepted() {
    assert_eq!(
        parse_source("ok.yaml", GOOD, &ParseOptions::default())
            .expect("valid")
            .len(),
        1
    );
}

#[test]
fn malformed_yaml() {
    let e = errors("apiVersion: ecs/v1\nkind: [Service\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("bad.yaml:") && e[0].contains("invalid YAML"),
        "{e:?}"
    );
}

#[test]
fn tab_in_indentation() {
    let e = errors("apiVersion: ecs/v1\nkind: Service\nmetadata:\n\tname: web\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("bad.yaml:4:"), "{e:?}");
}

#[test]
fn duplicate_keys() {
    let e = errors(&GOOD.replace(
        "  desiredCount: 1\n",
        "  desiredCount: 1\n  desiredCount: 2\n",
    ));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("bad.yaml:8:") && e[0].contains("duplicate"),
        "{e:?}"
    );
}

#[test]
fn unknown_kind_and_api_version() {
    let e = errors(&GOOD.replace("kind: Service", "kind: Servise"));
    assert_eq!(
        e,
        vec![
            "bad.yaml:2:7: kind: unknown kind \"Servise\": expected one of Cluster, TaskDefinition, LoadBalancer, Service, Task, Autoscaler, Secret, SecurityGroup, Role (did you mean \"Service\"?)"
        ]
    );
    let e = errors(&GOOD.replace("ecs/v1", "apps/v1"));
    assert_eq!(
        e,
        vec!["bad.yaml:1:13: apiVersion: expected \"ecs/v1\", got \"apps/v1\""]
    );
}

#[test]
fn unknown_field_and_wrong_type() {
    let e = errors(&GOOD.replace("  desiredCount: 1\n", "  desiredCount: many\n"));
    assert_eq!(
        e,
        vec!["bad.yaml:7:17: spec.desiredCount: expected an integer 0..2147483647, got \"many\""]
    );
    let e = errors(&GOOD.replace("  desiredCount: 1\n", "  desiredCount: 1\n  replicas: 3\n"));
    assert_eq!(
        e,
        vec!["bad.yaml:8:13: spec.replicas: unknown field \"replicas\""]
    );
}

#[test]
fn huge_file_is_refused_before_parsing() {
    let big = format!("{GOOD}# {}\n", "x".repeat(50 * 1024 * 1024));
    let t = std::time::Instant::now();
    let e = errors(&big);
    assert!(e[0].contains("the limit is 8388608 bytes"), "{e:?}");
    assert!(t.elapsed().as_secs() < 2);
}

#[test]
fn ten_thousand_documents() {
    let many = (0..10_000)
        .map(|i| GOOD.replace("name: web", &format!("name: web-{i}")))
        .collect::<Vec<_>>()
        .join("---\n");
    let e = errors(&many);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].ends_with("more than 1024 documents in one file; split it into several files"),
        "{e:?}"
    );
}

#[test]
fn binary_and_empty_files() {
    assert_eq!(
        errors("\u{7f}ELF\u{2}\u{1}\u{0}\u{0}"),
        vec!["bad.yaml: file holds binary data (a NUL byte), not YAML or JSON"]
    );
    assert_eq!(
        errors(""),
        vec!["bad.yaml: no documents: the file is empty"]
    );
    assert_eq!(
        errors("# only a comment\n---\n"),
        vec!["bad.yaml: no documents: the file is empty"]
    );
}

#[test]
fn names_with_slashes_or_dots() {
    let e = errors(&GOOD.replace("name: web", "name: ../etc/passwd"));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(
            "bad.yaml:4:9: metadata.name: \"../etc/passwd\" is not a valid ECS name: it contains '.'"
        ),
        "{e:?}"
    );
    let e = errors(&GOOD.replace("name: web", "name: a/b"));
    assert!(e[0].contains("contains '/'"), "{e:?}");
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='k' {
        text.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        prev = c;
    }
    // 10^11 values if expanded: the parser's budget stops it long before (how long it takes
    // is a benchmark's question, not a test's).
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("alias bomb"), "{e:?}");
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let e = errors(&deep);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("nested too deeply"), "{e:?}");
}

#[test]
fn a_list_is_not_a_manifest() {
    let e = errors("- a\n- b\n");
    assert_eq!(
        e,
        vec![
            "bad.yaml:1:1: expected a manifest (a map with apiVersion, kind, metadata, spec), got a list"
        ]
    );
}

#[test]
fn a_null_key_is_named_as_such() {
    let e = errors("apiVersion: ecs/v1\nkind: Service\nmetadata: {name: a}\nspec:\n  : x\n");
    assert_eq!(
        e,
        vec![
            "bad.yaml:5:3: invalid YAML: a mapping key is empty or null (`: value` or `~: value`): every key needs a name"
        ]
    );
}

#[test]
fn a_key_with_a_dot_is_located_at_the_key() {
    let e = errors(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: a}\nspec:\n  containerDefinitions:\n    - name: a\n      image: b\n      memory: 32\n      port.Mappings: []\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("bad.yaml:9:") && e[0].contains("unknown field \"port.Mappings\""),
        "{e:?}"
    );
}
