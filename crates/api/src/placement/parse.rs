//! The recursive descent over the tokens of `lex`: one function per rule of the grammar in
//! the module doc, each error naming what was expected at the offset where it was not found.

use super::lex::{Tok, Token, lex};
use super::{Expr, MAX_DEPTH, MAX_LEN, Op, QueryError, Subject, Test};

pub(super) fn parse(input: &str) -> Result<Expr, QueryError> {
    if let Some((at, _)) = input.char_indices().nth(MAX_LEN) {
        return Err(QueryError::new(
            at,
            format!("an expression has at most {MAX_LEN} characters (as in ECS)"),
        ));
    }
    let mut p = Parser {
        toks: lex(input)?,
        i: 0,
        end: input.len(),
        depth: 0,
    };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(t) if t.tok == Tok::RParen => Err(QueryError::new(t.at, "')' closes nothing")),
        Some(_) => Err(p.expected("and, or, or the end of the expression")),
    }
}

/// ECS subjects that compare by order; ecsctl does not place on them.
const UNSUPPORTED_SUBJECTS: &[&str] = &["agentVersion", "registeredAt", "runningTasksCount"];
const SUBJECTS: &str = "attribute:NAME, task:group, agentConnected, instanceId or ec2InstanceId";
const OPERATORS: &str = "==, !=, =~, !~, in, not_in, exists or not_exists";

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    i: usize,
    /// The input's length: where "the end of the expression" is.
    end: usize,
    /// Parentheses and `not`s open around the current position.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.toks.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<Token<'a>> {
        let t = self.peek();
        self.i += 1;
        t
    }

    /// Where the current token starts (the end of the input when there is none).
    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    /// "expected WHAT, found X" at the current token, or "expected WHAT" at the end.
    fn expected(&self, what: &str) -> QueryError {
        match self.peek() {
            Some(t) => {
                QueryError::new(t.at, format!("expected {what}, found {}", t.tok.describe()))
            }
            None => QueryError::new(self.end, format!("expected {what}")),
        }
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(x), .. }) if x == w)
    }

    /// One level deeper, for the `(` or `not` at `at`.
    fn enter(&mut self, at: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(QueryError::new(
                at,
                format!("parentheses and not nest at most {MAX_DEPTH} deep"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut es = vec![self.and()?];
        while self.is_word("or") || self.peek().is_some_and(|t| t.tok == Tok::OrOr) {
            self.bump();
            es.push(self.and()?);
        }
        Ok(if es.len() == 1 {
            es.remove(0)
        } else {
            Expr::Or(es)
        })
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut es = vec![self.unary()?];
        while self.is_word("and") || self.peek().is_some_and(|t| t.tok == Tok::AndAnd) {
            self.bump();
            es.push(self.unary()?);
        }
        Ok(if es.len() == 1 {
            es.remove(0)
        } else {
            Expr::And(es)
        })
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.is_word("not") || self.peek().is_some_and(|t| t.tok == Tok::Bang) {
            let at = self.here();
            self.bump();
            self.enter(at)?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if let Some(open) = self.peek().filter(|t| t.tok == Tok::LParen) {
            self.bump();
            self.enter(open.at)?;
            let e = self.or()?;
            if self.peek().is_none_or(|t| t.tok != Tok::RParen) {
                let what = format!("and, or, or ')' (the '(' at {} is open)", open.at);
                return Err(self.expected(&what));
            }
            self.bump();
            self.depth -= 1;
            return Ok(e);
        }
        self.test().map(Expr::Test)
    }

    fn test(&mut self) -> Result<Test, QueryError> {
        let what = format!("a subject ({SUBJECTS})");
        let Some(Token {
            tok: Tok::Word(word),
            at,
        }) = self.peek()
        else {
            return Err(self.expected(&what));
        };
        let subject = subject(word, at)?;
        self.bump();
        let op = self.op(word, &subject)?;
        Ok(Test { subject, op })
    }

    /// The operator after `subject` (written `word`), and its argument.
    fn op(&mut self, word: &str, subject: &Subject) -> Result<Op, QueryError> {
        let at = self.here();
        let after = format!("an operator after {word}");
        let Some(t) = self.bump() else {
            return Err(self.expected(&after));
        };
        #[derive(PartialEq)]
        enum Kind {
            Eq,
            Ne,
            Matches,
            NotMatches,
            In,
            NotIn,
            Exists,
            NotExists,
        }
        let kind = match t.tok {
            Tok::Op("==") | Tok::Word("equals") => Kind::Eq,
            Tok::Op("!=") | Tok::Word("not_equals") => Kind::Ne,
            Tok::Op("=~") | Tok::Word("matches") => Kind::Matches,
            Tok::Op("!~") | Tok::Word("not_matches") => Kind::NotMatches,
            Tok::Word("in") => Kind::In,
            Tok::Word("not_in") => Kind::NotIn,
            Tok::Word("exists") => Kind::Exists,
            Tok::Word("not_exists") => Kind::NotExists,
            Tok::Bang if self.is_word("in") => {
                self.bump();
                Kind::NotIn
            }
            Tok::Bang if self.is_word("exists") => {
                self.bump();
                Kind::NotExists
            }
            Tok::Op(o @ ("<" | "<=" | ">" | ">=")) => {
                return Err(QueryError::new(
                    at,
                    format!(
                        "{o} compares agentVersion, registeredAt or runningTasksCount, which ecsctl does not place on; use {OPERATORS}"
                    ),
                ));
            }
            _ => {
                self.i -= 1;
                return Err(self.expected(&format!("{after} ({OPERATORS})")));
            }
        };
        let allowed: &[Kind] = match subject {
            Subject::Attribute(_) => &[],
            Subject::TaskGroup | Subject::AgentConnected => {
                &[Kind::Eq, Kind::Ne, Kind::In, Kind::NotIn]
            }
            Subject::InstanceId | Subject::Ec2InstanceId => &[
                Kind::Eq,
                Kind::Ne,
                Kind::Matches,
                Kind::NotMatches,
                Kind::In,
                Kind::NotIn,
            ],
        };
        if !allowed.is_empty() && !allowed.contains(&kind) {
            let takes = if allowed.len() == 4 {
                "==, !=, in or not_in"
            } else {
                "==, !=, =~, !~, in or not_in"
            };
            return Err(QueryError::new(
                at,
                format!("{word} takes {takes}, not {}", t.tok.describe()),
            ));
        }
        let op = match kind {
            Kind::Eq => Op::Eq(self.value(subject)?),
            Kind::Ne => Op::Ne(self.value(subject)?),
            Kind::Matches => Op::Matches(self.value(subject)?),
            Kind::NotMatches => Op::NotMatches(self.value(subject)?),
            Kind::In => Op::In(self.list(subject)?),
            Kind::NotIn => Op::NotIn(self.list(subject)?),
            Kind::Exists => Op::Exists,
            Kind::NotExists => Op::NotExists,
        };
        Ok(op)
    }

    /// One value: a bare word or a quoted string.
    fn value(&mut self, subject: &Subject) -> Result<String, QueryError> {
        let (v, at) = match self.peek() {
            Some(Token {
                tok: Tok::Word(v) | Tok::Quoted(v),
                at,
            }) => (v, at),
            _ => return Err(self.expected("a value (a word, or text in quotes)")),
        };
        if *subject == Subject::AgentConnected && v != "true" && v != "false" {
            return Err(QueryError::new(
                at,
                format!("agentConnected is true or false, not {v:?}"),
            ));
        }
        self.bump();
        Ok(v.to_string())
    }

    /// `[v1, v2, ...]`, at least one value.
    fn list(&mut self, subject: &Subject) -> Result<Vec<String>, QueryError> {
        if self.peek().is_none_or(|t| t.tok != Tok::LBracket) {
            return Err(self.expected("a list of values in [ ]"));
        }
        self.bump();
        let mut vs = vec![self.value(subject)?];
        loop {
            match self.peek().map(|t| t.tok) {
                Some(Tok::Comma) => {
                    self.bump();
                    vs.push(self.value(subject)?);
                }
                Some(Tok::RBracket) => {
                    self.bump();
                    return Ok(vs);
                }
                _ => return Err(self.expected("',' or ']'")),
            }
        }
    }
}

/// The subject a word names.
fn subject(word: &str, at: usize) -> Result<Subject, QueryError> {
    Ok(match word {
        "task:group" => Subject::TaskGroup,
        "agentConnected" => Subject::AgentConnected,
        "instanceId" => Subject::InstanceId,
        "ec2InstanceId" => Subject::Ec2InstanceId,
        w if UNSUPPORTED_SUBJECTS.contains(&w) => {
            return Err(QueryError::new(
                at,
                format!("ecsctl does not place on {w}; the subjects are {SUBJECTS}"),
            ));
        }
        w => {
            let Some(name) = w.strip_prefix("attribute:") else {
                return Err(QueryError::new(
                    at,
                    format!("expected a subject ({SUBJECTS}), found {w:?}"),
                ));
            };
            check_attribute_name(name, at + "attribute:".len())?;
            Subject::Attribute(name.to_string())
        }
    })
}

/// ECS's attribute names: 1..128 letters, digits, `-`, `_`, `/`, `\` and `.`.
fn check_attribute_name(name: &str, at: usize) -> Result<(), QueryError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_/\\.".contains(c);
    if name.is_empty() {
        return Err(QueryError::new(
            at,
            "expected an attribute name after attribute:",
        ));
    }
    if let Some((i, c)) = name.char_indices().find(|&(_, c)| !ok(c)) {
        return Err(QueryError::new(
            at + i,
            format!(
                "{c:?} cannot be in an attribute name (letters, digits, '-', '_', '/', '\\' and '.')"
            ),
        ));
    }
    if name.len() > 128 {
        return Err(QueryError::new(
            at + 128,
            "an attribute name has at most 128 characters",
        ));
    }
    Ok(())
}
