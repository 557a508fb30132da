use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// A container instance for tests.
struct Host {
    id: &'static str,
    attributes: BTreeMap<&'static str, &'static str>,
    groups: BTreeSet<&'static str>,
    connected: bool,
}

impl InstanceFacts for Host {
    fn id(&self) -> &str {
        self.id
    }
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).copied()
    }
    fn runs_group(&self, group: &str) -> bool {
        self.groups.contains(group)
    }
    fn agent_connected(&self) -> bool {
        self.connected
    }
}

fn host() -> Host {
    Host {
        id: "ci-1",
        attributes: BTreeMap::from([
            ("ecs.instance-type", "g2.2xlarge"),
            ("ecs.availability-zone", "us-east-1a"),
            ("stack", "prod"),
            ("empty", ""),
        ]),
        groups: BTreeSet::from(["service:web", "family:batch"]),
        connected: true,
    }
}

fn eval(expr: &str) -> bool {
    Expr::parse(expr)
        .unwrap_or_else(|e| panic!("{expr:?}: {e}"))
        .matches(&host())
}

#[test]
fn every_operator_on_attributes() {
    let table = [
        ("attribute:stack == prod", true),
        ("attribute:stack == dev", false),
        ("attribute:stack equals prod", true),
        ("attribute:stack != dev", true),
        ("attribute:stack != prod", false),
        ("attribute:stack not_equals prod", false),
        ("attribute:ecs.instance-type =~ g2.*", true),
        ("attribute:ecs.instance-type =~ t3.*", false),
        ("attribute:ecs.instance-type matches *.2xlarge", true),
        ("attribute:ecs.instance-type !~ g2.*", false),
        ("attribute:ecs.instance-type not_matches t3.*", true),
        (
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            true,
        ),
        ("attribute:ecs.availability-zone in [us-east-1c]", false),
        (
            "attribute:ecs.availability-zone not_in [us-east-1c, us-east-1d]",
            true,
        ),
        ("attribute:ecs.availability-zone !in [us-east-1a]", false),
        ("attribute:stack exists", true),
        ("attribute:gpu exists", false),
        ("attribute:gpu not_exists", true),
        ("attribute:stack !exists", false),
        ("attribute:empty exists", true),
        ("attribute:empty == ''", true),
        // A missing attribute fails the positive tests and passes their negations.
        ("attribute:gpu == yes", false),
        ("attribute:gpu != yes", true),
        ("attribute:gpu =~ *", false),
        ("attribute:gpu !~ *", true),
        ("attribute:gpu in [yes]", false),
        ("attribute:gpu not_in [yes]", true),
        // No spaces needed around symbols (a real task definition writes it so).
        ("attribute:ecs.availability-zone==us-east-1a", true),
        ("attribute:stack=='prod'", true),
        ("attribute:stack == \"prod\"", true),
    ];
    for (expr, want) in table {
        assert_eq!(eval(expr), want, "{expr}");
    }
}

#[test]
fn task_groups_agent_and_instance_ids() {
    let table = [
        ("task:group == service:web", true),
        ("task:group == database", false),
        ("task:group != database", true),
        ("task:group != family:batch", false),
        ("task:group in [database, family:batch]", true),
        ("task:group in [database, cache]", false),
        ("task:group not_in [database, cache]", true),
        ("task:group not_in [service:web]", false),
        ("not(task:group == database)", true),
        ("agentConnected == true", true),
        ("agentConnected == false", false),
        ("agentConnected != true", false),
        ("agentConnected in [false, true]", true),
        ("instanceId == ci-1", true),
        ("instanceId != ci-1", false),
        ("ec2InstanceId in ['ci-0', 'ci-1']", true),
        ("ec2InstanceId not_in [ci-0]", true),
        ("instanceId =~ ci-*", true),
        ("ec2InstanceId !~ ci-*", false),
    ];
    for (expr, want) in table {
        assert_eq!(eval(expr), want, "{expr}");
    }
    let mut gone = host();
    gone.connected = false;
    let e = Expr::parse("agentConnected == false").unwrap();
    assert!(e.matches(&gone));
}

#[test]
fn compound_expressions_and_aliases() {
    let table = [
        (
            "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
            true,
        ),
        ("attribute:stack == dev or attribute:stack == prod", true),
        ("attribute:stack == dev || attribute:stack == prod", true),
        ("attribute:stack == prod && attribute:gpu exists", false),
        ("!(attribute:gpu exists)", true),
        ("! attribute:gpu exists", true),
        ("not attribute:stack == prod", false),
        ("not not attribute:stack == prod", true),
    ];
    for (expr, want) in table {
        assert_eq!(eval(expr), want, "{expr}");
    }
}

#[test]
fn not_binds_tightest_then_and_then_or() {
    let t = |s: &str| Expr::parse(s).unwrap();
    let (a, b, c) = (
        t("attribute:a exists"),
        t("attribute:b exists"),
        t("attribute:c exists"),
    );
    assert_eq!(
        t("attribute:a exists or attribute:b exists and attribute:c exists"),
        Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])])
    );
    assert_eq!(
        t("attribute:a exists and attribute:b exists or attribute:c exists"),
        Expr::Or(vec![Expr::And(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(
        t("(attribute:a exists or attribute:b exists) and attribute:c exists"),
        Expr::And(vec![Expr::Or(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(
        t("not attribute:a exists and attribute:b exists"),
        Expr::And(vec![Expr::Not(Box::new(a.clone())), b.clone()])
    );
    assert_eq!(
        t("attribute:a exists or attribute:b exists or attribute:c exists"),
        Expr::Or(vec![a.clone(), b.clone(), c.clone()])
    );
    // The difference shows in evaluation: only a holds.
    let only_a = Host {
        id: "x",
        attributes: BTreeMap::from([("a", "1")]),
        groups: BTreeSet::new(),
        connected: true,
    };
    assert!(t("attribute:a exists or attribute:b exists and attribute:c exists").matches(&only_a));
    assert!(
        !t("(attribute:a exists or attribute:b exists) and attribute:c exists").matches(&only_a)
    );
}

#[test]
fn errors_say_what_was_expected_and_where() {
    let table = [
        (
            "attribute:stack",
            "expected an operator after attribute:stack at 15",
        ),
        (
            "attribute:stack  prod",
            "expected an operator after attribute:stack (==, !=, =~, !~, in, not_in, exists or not_exists), found \"prod\" at 17",
        ),
        (
            "",
            "expected a subject (attribute:NAME, task:group, agentConnected, instanceId or ec2InstanceId) at 0",
        ),
        (
            "stack == prod",
            "expected a subject (attribute:NAME, task:group, agentConnected, instanceId or ec2InstanceId), found \"stack\" at 0",
        ),
        (
            "attribute: == x",
            "expected an attribute name after attribute: at 10",
        ),
        (
            "attribute:a$b exists",
            "'$' cannot be in an attribute name (letters, digits, '-', '_', '/', '\\' and '.') at 11",
        ),
        (
            "attribute:a ==",
            "expected a value (a word, or text in quotes) at 14",
        ),
        (
            "attribute:a == 'x",
            "this quoted value has no closing ' at 15",
        ),
        (
            "attribute:a = x",
            "a single '=' is not an operator (compare with ==, match with =~) at 12",
        ),
        (
            "attribute:a in x",
            "expected a list of values in [ ], found \"x\" at 15",
        ),
        (
            "attribute:a in [x y]",
            "expected ',' or ']', found \"y\" at 18",
        ),
        (
            "attribute:a in []",
            "expected a value (a word, or text in quotes), found ']' at 16",
        ),
        (
            "attribute:a in [x,]",
            "expected a value (a word, or text in quotes), found ']' at 18",
        ),
        (
            "attribute:a == x attribute:b == y",
            "expected and, or, or the end of the expression, found \"attribute:b\" at 17",
        ),
        (
            "(attribute:a exists",
            "expected and, or, or ')' (the '(' at 0 is open) at 19",
        ),
        ("attribute:a exists)", "')' closes nothing at 18"),
        (
            "attribute:a exists and",
            "expected a subject (attribute:NAME, task:group, agentConnected, instanceId or ec2InstanceId) at 22",
        ),
        (
            "task:group =~ web*",
            "task:group takes ==, !=, in or not_in, not =~ at 11",
        ),
        (
            "task:group exists",
            "task:group takes ==, !=, in or not_in, not \"exists\" at 11",
        ),
        (
            "agentConnected == yes",
            "agentConnected is true or false, not \"yes\" at 18",
        ),
        (
            "instanceId exists",
            "instanceId takes ==, !=, =~, !~, in or not_in, not \"exists\" at 11",
        ),
        (
            "runningTasksCount == 1",
            "ecsctl does not place on runningTasksCount; the subjects are attribute:NAME, task:group, agentConnected, instanceId or ec2InstanceId at 0",
        ),
        (
            "attribute:a > 1",
            "> compares agentVersion, registeredAt or runningTasksCount, which ecsctl does not place on; use ==, !=, =~, !~, in, not_in, exists or not_exists at 12",
        ),
        (
            "attribute:a exists & attribute:b exists",
            "expected && (or the word and) at 19",
        ),
        (
            "attribute:a ~ x",
            "a '~' only follows '=' or '!' (=~, !~) at 12",
        ),
    ];
    for (expr, want) in table {
        let err = Expr::parse(expr).expect_err(expr);
        assert_eq!(err.to_string(), want, "{expr:?}");
    }
}

#[test]
fn positions_are_byte_offsets() {
    // "é" is two bytes: the "b" after it is at byte 18, though it is character 17.
    let err = Expr::parse("attribute:a == é b").unwrap_err();
    assert_eq!(err.position, 18);
    assert!(err.message.contains("\"b\""), "{err}");
}

#[test]
fn limits_bound_length_and_nesting() {
    let long = format!("attribute:a == {}", "x".repeat(MAX_LEN));
    let err = Expr::parse(&long).unwrap_err();
    assert_eq!(err.position, MAX_LEN);
    assert!(err.message.contains("at most 2000 characters"));
    let deep = format!("{}attribute:a exists{}", "(".repeat(40), ")".repeat(40));
    let err = Expr::parse(&deep).unwrap_err();
    assert_eq!(err.position, MAX_DEPTH);
    let ok = format!(
        "{}attribute:a exists{}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    assert!(Expr::parse(&ok).is_ok());
    let nots = format!("{}attribute:a exists", "not ".repeat(MAX_DEPTH + 1));
    assert!(Expr::parse(&nots).is_err());
}

#[test]
fn uses_task_groups_looks_inside() {
    let t = |s: &str| Expr::parse(s).unwrap().uses_task_groups();
    assert!(t("attribute:a exists and not(task:group == db)"));
    assert!(!t("attribute:a exists or instanceId == x"));
}

#[test]
fn display_is_canonical_and_parses_back() {
    let table = [
        ("attribute:a==b", "attribute:a == b"),
        ("attribute:a equals 'b c'", "attribute:a == 'b c'"),
        ("attribute:a == \"it's\"", "attribute:a == \"it's\""),
        ("attribute:a !in [x,y]", "attribute:a not_in [x, y]"),
        ("attribute:a !exists", "attribute:a not_exists"),
        ("!(task:group == db)", "not(task:group == db)"),
        (
            "(attribute:a exists or attribute:b exists) and attribute:c exists",
            "(attribute:a exists or attribute:b exists) and attribute:c exists",
        ),
        (
            "attribute:a exists || (attribute:b exists && attribute:c exists)",
            "attribute:a exists or attribute:b exists and attribute:c exists",
        ),
        (
            "(attribute:a exists and attribute:b exists) and attribute:c exists",
            "(attribute:a exists and attribute:b exists) and attribute:c exists",
        ),
        ("attribute:a == ''", "attribute:a == ''"),
        ("attribute:a == 'x=y'", "attribute:a == 'x=y'"),
    ];
    for (input, canonical) in table {
        let e = Expr::parse(input).unwrap();
        assert_eq!(e.to_string(), canonical, "{input}");
        assert_eq!(Expr::parse(canonical).unwrap(), e, "{canonical}");
    }
}

fn value() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        "[a-z0-9.*:-]{1,8}",
        "[a-z ,()=!]{0,6}",
        "[a-z\"]{0,4}",
        "[a-z']{0,4}",
        Just("and".to_string()),
        Just("not".to_string()),
    ]
}

fn test_expr() -> impl Strategy<Value = Test> {
    let values = prop::collection::vec(value(), 1..4);
    let attr = "[a-z][a-z0-9._/-]{0,12}".prop_map(Subject::Attribute);
    let any_op = prop_oneof![
        value().prop_map(Op::Eq),
        value().prop_map(Op::Ne),
        value().prop_map(Op::Matches),
        value().prop_map(Op::NotMatches),
        values.clone().prop_map(Op::In),
        values.clone().prop_map(Op::NotIn),
        Just(Op::Exists),
        Just(Op::NotExists),
    ];
    let group_op = prop_oneof![
        value().prop_map(Op::Eq),
        value().prop_map(Op::Ne),
        values.clone().prop_map(Op::In),
        values.prop_map(Op::NotIn),
    ];
    let bool_op = prop_oneof![
        prop_oneof![Just("true"), Just("false")].prop_map(|v| Op::Eq(v.into())),
        prop_oneof![Just("true"), Just("false")].prop_map(|v| Op::Ne(v.into())),
    ];
    prop_oneof![
        (attr, any_op).prop_map(|(subject, op)| Test { subject, op }),
        group_op.prop_map(|op| Test {
            subject: Subject::TaskGroup,
            op
        }),
        bool_op.prop_map(|op| Test {
            subject: Subject::AgentConnected,
            op
        }),
        value().prop_map(|v| Test {
            subject: Subject::InstanceId,
            op: Op::Eq(v)
        }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    test_expr()
        .prop_map(Expr::Test)
        .prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
            ]
        })
}

/// A value with both quote characters cannot be written in the language.
fn writable(e: &Expr) -> bool {
    let ok = |v: &String| !(v.contains('\'') && v.contains('"'));
    match e {
        Expr::Test(t) => match &t.op {
            Op::Eq(v) | Op::Ne(v) | Op::Matches(v) | Op::NotMatches(v) => ok(v),
            Op::In(vs) | Op::NotIn(vs) => vs.iter().all(ok),
            Op::Exists | Op::NotExists => true,
        },
        Expr::Not(e) => writable(e),
        Expr::And(es) | Expr::Or(es) => es.iter().all(writable),
    }
}

proptest! {
    #[test]
    fn display_round_trips(e in expr().prop_filter("writable", writable)) {
        let text = e.to_string();
        prop_assert!(text.chars().count() <= MAX_LEN);
        let back = Expr::parse(&text);
        prop_assert_eq!(back.as_ref(), Ok(&e), "{}", text);
    }

    #[test]
    fn parse_never_panics_and_errors_point_inside(s in "[ -~é]{0,60}") {
        if let Err(e) = Expr::parse(&s) {
            prop_assert!(e.position <= s.len());
            prop_assert!(s.is_char_boundary(e.position));
        }
    }

    #[test]
    fn negated_operators_are_exact_negations(
        name in prop_oneof![Just("stack"), Just("gpu"), Just("empty")],
        v in value(),
        vs in prop::collection::vec(value(), 1..3),
    ) {
        let h = host();
        let test = |op: Op| Test { subject: Subject::Attribute(name.to_string()), op }.matches(&h);
        prop_assert_eq!(test(Op::Ne(v.clone())), !test(Op::Eq(v.clone())));
        prop_assert_eq!(test(Op::NotMatches(v.clone())), !test(Op::Matches(v.clone())));
        prop_assert_eq!(test(Op::NotIn(vs.clone())), !test(Op::In(vs.clone())));
        prop_assert_eq!(test(Op::NotExists), !test(Op::Exists));
        prop_assert_eq!(test(Op::In(vs.clone())), vs.iter().any(|x| test(Op::Eq(x.clone()))));
    }
}
