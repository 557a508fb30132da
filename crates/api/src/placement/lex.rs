//! Tokens of the cluster query language, each with the byte offset where it starts.

use super::QueryError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `!` alone: `not` before an expression, or the start of `!in` / `!exists`.
    Bang,
    /// A symbolic operator: `==`, `!=`, `=~`, `!~`, or one of the ordering operators
    /// (`<`, `<=`, `>`, `>=`), which are lexed only to be refused by name.
    Op(&'static str),
    /// A run of word characters: a subject, a keyword or a bare value.
    Word(&'a str),
    /// The text between quotes.
    Quoted(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub tok: Tok<'a>,
    pub at: usize,
}

/// Characters that end a word: whitespace, punctuation, quotes and operator characters.
/// Everything else (letters, digits, `.`, `-`, `_`, `:`, `/`, `*`, ...) is part of one.
pub(super) fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !"()[],'\"=!~&|<>".contains(c)
}

impl Tok<'_> {
    /// How a token is named in an error ("found ...").
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Comma => "','".into(),
            Tok::AndAnd => "&&".into(),
            Tok::OrOr => "||".into(),
            Tok::Bang => "'!'".into(),
            Tok::Op(o) => (*o).into(),
            Tok::Word(w) => format!("{w:?}"),
            Tok::Quoted(q) => format!("the quoted value {q:?}"),
        }
    }
}

pub(super) fn lex(input: &str) -> Result<Vec<Token<'_>>, QueryError> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let mut next_is = |want: char| chars.next_if(|&(_, n)| n == want).is_some();
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            '!' if next_is('=') => Tok::Op("!="),
            '!' if next_is('~') => Tok::Op("!~"),
            '!' => Tok::Bang,
            '=' if next_is('=') => Tok::Op("=="),
            '=' if next_is('~') => Tok::Op("=~"),
            '=' => {
                return Err(QueryError::new(
                    at,
                    "a single '=' is not an operator (compare with ==, match with =~)",
                ));
            }
            '&' if next_is('&') => Tok::AndAnd,
            '|' if next_is('|') => Tok::OrOr,
            '&' | '|' => {
                return Err(QueryError::new(
                    at,
                    format!(
                        "expected {c}{c} (or the word {})",
                        if c == '&' { "and" } else { "or" }
                    ),
                ));
            }
            '<' if next_is('=') => Tok::Op("<="),
            '<' => Tok::Op("<"),
            '>' if next_is('=') => Tok::Op(">="),
            '>' => Tok::Op(">"),
            '~' => {
                return Err(QueryError::new(
                    at,
                    "a '~' only follows '=' or '!' (=~, !~)",
                ));
            }
            '\'' | '"' => {
                let start = at + 1;
                let Some(len) = input[start..].find(c) else {
                    return Err(QueryError::new(
                        at,
                        format!("this quoted value has no closing {c}"),
                    ));
                };
                // Skip the quoted text and the closing quote.
                while chars.next_if(|&(i, _)| i <= start + len).is_some() {}
                Tok::Quoted(&input[start..start + len])
            }
            _ => {
                let mut end = at + c.len_utf8();
                while let Some((i, n)) = chars.next_if(|&(_, n)| is_word_char(n)) {
                    end = i + n.len_utf8();
                }
                Tok::Word(&input[at..end])
            }
        };
        out.push(Token { tok, at });
    }
    Ok(out)
}
