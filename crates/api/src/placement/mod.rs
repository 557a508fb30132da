//! ECS's cluster query language: the `memberOf` expressions of placement constraints
//! (`attribute:ecs.instance-type =~ t3.* and not(task:group == database)`), parsed into a
//! typed [`Expr`] and evaluated against one container instance ([`InstanceFacts`]).
//!
//! What is understood, following ECS's developer guide ("Cluster query language"):
//!
//! ```text
//! expr    := or
//! or      := and (("or" | "||") and)*
//! and     := unary (("and" | "&&") unary)*
//! unary   := ("not" | "!") unary | "(" expr ")" | test
//! test    := subject operator [argument]
//! subject := attribute:NAME | task:group | agentConnected | instanceId | ec2InstanceId
//! operator:= == | equals | != | not_equals | =~ | matches | !~ | not_matches
//!          | in | not_in | !in | exists | not_exists | !exists
//! argument:= value | "[" value ("," value)* "]"        (a list for in / not_in only)
//! value   := bare word | '...' | "..."
//! ```
//!
//! Precedence is the usual one, and the one ECS's guide implies when it says parentheses
//! are how to group `(a or b) and c`: `not` binds tightest, then `and`, then `or`; `and` and
//! `or` chain left to right. A single test cannot hold parentheses; compound expressions can.
//!
//! Where ecsctl differs from ECS, on purpose:
//! - `=~` / `!~` take a wildcard pattern in which `*` matches any run of characters and
//!   every other character is itself (ECS documents a Java regular expression). ECS's own
//!   example, `attribute:ecs.instance-type =~ g2.*`, selects the same instances either way.
//! - The subjects ECS compares with `<`, `>` (`agentVersion`, `registeredAt`,
//!   `runningTasksCount`) are refused with a message that says so, not ignored.
//!
//! The parser is written by hand rather than with a parser crate: the grammar is a dozen
//! lines, a hand-written recursive descent gives errors that name exactly what was expected
//! and where (a byte offset), and `api` stays free of another dependency.
//!
//! Semantics of a missing value: an instance without the attribute fails `==`, `=~`, `in`
//! and `exists`, and passes their negations (`!=` is exactly `not(==)`, and so on).
//! `task:group == g` holds on an instance running (or about to run) a task of group `g`;
//! `task:group != g` on one running none.

mod glob;
mod lex;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

/// The longest expression ECS accepts (characters).
pub const MAX_LEN: usize = 2000;
/// How deeply parentheses and `not` may nest: deep enough for any real expression, shallow
/// enough that a hostile one cannot exhaust the parser's stack.
pub const MAX_DEPTH: usize = 32;

/// A parsed cluster query language expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// One `subject operator [argument]`.
    Test(Test),
    Not(Box<Expr>),
    /// Every operand holds (two or more, in the order written).
    And(Vec<Expr>),
    /// Some operand holds (two or more, in the order written).
    Or(Vec<Expr>),
}

/// One comparison. [`Expr::parse`] only builds the pairs of subject and operator that ECS
/// allows; a pair built by hand that it would refuse (`task:group exists`) never matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Test {
    pub subject: Subject,
    pub op: Op,
}

/// What a test looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `attribute:NAME`: a built-in (`ecs.availability-zone`) or custom attribute.
    Attribute(String),
    /// `task:group`: the groups of the tasks on the instance.
    TaskGroup,
    /// `agentConnected`: `true` or `false`.
    AgentConnected,
    /// `instanceId`: the container instance's id.
    InstanceId,
    /// `ec2InstanceId`: ECS's name for the host's id; here the same id as `instanceId`.
    Ec2InstanceId,
}

/// An operator with its argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Eq(String),
    Ne(String),
    /// A wildcard pattern (`*` matches any run of characters).
    Matches(String),
    NotMatches(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// What an expression needs to know about a container instance.
pub trait InstanceFacts {
    /// The container instance's id.
    fn id(&self) -> &str;
    /// The value of an attribute, if the instance has it.
    fn attribute(&self, name: &str) -> Option<&str>;
    /// Whether a task of this group runs (or is placed) on the instance.
    fn runs_group(&self, group: &str) -> bool;
    /// Whether the instance's agent is connected.
    fn agent_connected(&self) -> bool;
}

/// Why an expression does not parse: what was expected, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {position}")]
pub struct QueryError {
    /// Byte offset into the expression, 0-based (the length of the input at its end).
    pub position: usize,
    pub message: String,
}

impl QueryError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        QueryError {
            position,
            message: message.into(),
        }
    }
}

impl Expr {
    /// Parses an expression (see the module's grammar).
    pub fn parse(input: &str) -> Result<Expr, QueryError> {
        parse::parse(input)
    }

    /// Whether the instance is a member of the group this expression describes.
    pub fn matches(&self, instance: &dyn InstanceFacts) -> bool {
        match self {
            Expr::Test(t) => t.matches(instance),
            Expr::Not(e) => !e.matches(instance),
            Expr::And(es) => es.iter().all(|e| e.matches(instance)),
            Expr::Or(es) => es.iter().any(|e| e.matches(instance)),
        }
    }

    /// Whether the answer depends on the tasks on the instance (`task:group`): a planner
    /// must then ask again after placing a task there.
    pub fn uses_task_groups(&self) -> bool {
        match self {
            Expr::Test(t) => t.subject == Subject::TaskGroup,
            Expr::Not(e) => e.uses_task_groups(),
            Expr::And(es) | Expr::Or(es) => es.iter().any(Expr::uses_task_groups),
        }
    }
}

impl std::str::FromStr for Expr {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Expr::parse(s)
    }
}

impl Test {
    fn matches(&self, f: &dyn InstanceFacts) -> bool {
        let value = match &self.subject {
            Subject::TaskGroup => {
                let any = |vs: &[String]| vs.iter().any(|v| f.runs_group(v));
                return match &self.op {
                    Op::Eq(v) => f.runs_group(v),
                    Op::Ne(v) => !f.runs_group(v),
                    Op::In(vs) => any(vs),
                    Op::NotIn(vs) => !any(vs),
                    _ => false,
                };
            }
            Subject::Attribute(name) => f.attribute(name),
            Subject::AgentConnected => Some(if f.agent_connected() { "true" } else { "false" }),
            Subject::InstanceId | Subject::Ec2InstanceId => Some(f.id()),
        };
        let is = |v: &String| value == Some(v.as_str());
        let like = |p: &String| value.is_some_and(|v| glob::matches(p, v));
        match &self.op {
            Op::Eq(v) => is(v),
            Op::Ne(v) => !is(v),
            Op::Matches(p) => like(p),
            Op::NotMatches(p) => !like(p),
            Op::In(vs) => vs.iter().any(is),
            Op::NotIn(vs) => !vs.iter().any(is),
            Op::Exists => value.is_some(),
            Op::NotExists => value.is_none(),
        }
    }
}

// Display writes the canonical form, which parses back to the same `Expr`: one space around
// operators, `not(...)`, and parentheses exactly where the tree needs them.

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join =
            |f: &mut fmt::Formatter<'_>, es: &[Expr], word: &str, grouped: fn(&Expr) -> bool| {
                for (i, e) in es.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {word} ")?;
                    }
                    if grouped(e) {
                        write!(f, "({e})")?;
                    } else {
                        write!(f, "{e}")?;
                    }
                }
                Ok(())
            };
        match self {
            Expr::Test(t) => write!(f, "{t}"),
            Expr::Not(e) => write!(f, "not({e})"),
            Expr::And(es) => join(f, es, "and", |e| matches!(e, Expr::And(_) | Expr::Or(_))),
            Expr::Or(es) => join(f, es, "or", |e| matches!(e, Expr::Or(_))),
        }
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.subject)?;
        let list = |f: &mut fmt::Formatter<'_>, vs: &[String]| {
            f.write_str(" [")?;
            for (i, v) in vs.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_value(f, v)?;
            }
            f.write_str("]")
        };
        let one = |f: &mut fmt::Formatter<'_>, op: &str, v: &str| {
            write!(f, " {op} ")?;
            write_value(f, v)
        };
        match &self.op {
            Op::Eq(v) => one(f, "==", v),
            Op::Ne(v) => one(f, "!=", v),
            Op::Matches(v) => one(f, "=~", v),
            Op::NotMatches(v) => one(f, "!~", v),
            Op::In(vs) => {
                f.write_str(" in")?;
                list(f, vs)
            }
            Op::NotIn(vs) => {
                f.write_str(" not_in")?;
                list(f, vs)
            }
            Op::Exists => f.write_str(" exists"),
            Op::NotExists => f.write_str(" not_exists"),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Attribute(n) => write!(f, "attribute:{n}"),
            Subject::TaskGroup => f.write_str("task:group"),
            Subject::AgentConnected => f.write_str("agentConnected"),
            Subject::InstanceId => f.write_str("instanceId"),
            Subject::Ec2InstanceId => f.write_str("ec2InstanceId"),
        }
    }
}

/// A value bare when it lexes as one word, else in the quotes it does not contain.
fn write_value(f: &mut fmt::Formatter<'_>, v: &str) -> fmt::Result {
    if !v.is_empty() && v.chars().all(lex::is_word_char) {
        f.write_str(v)
    } else if v.contains('\'') {
        write!(f, "\"{v}\"")
    } else {
        write!(f, "'{v}'")
    }
}
