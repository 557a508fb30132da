//! Diagnostics: what went wrong, where (file, document, line, column, field path).

use std::fmt;

/// One problem found in user input, with as much location as is known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    /// Display name of the input: a path, or `<stdin>`.
    pub source: String,
    /// 0-based index of the document in a multi-document stream.
    pub document: Option<usize>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// Field path in the manifest (`spec.containerDefinitions[1].portMappings[0].containerPort`).
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic about a whole source, with no position.
    pub fn source_level(source: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            source: source.to_string(),
            document: None,
            line: None,
            column: None,
            path: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, ":{l}:{c}")?,
            (Some(l), None) => write!(f, ":{l}")?,
            _ => {
                if let Some(d) = self.document {
                    write!(f, " (document {})", d + 1)?;
                }
            }
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", clipped(&self.path))?;
        }
        f.write_str(&clipped(&self.message))
    }
}

/// The longest path or message shown whole: a 4 MB unknown field name is shown by its start.
const SHOWN: usize = 400;

/// `s`, or its first [`SHOWN`] bytes (on a character boundary) and how long it was.
fn clipped(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= SHOWN {
        return s.into();
    }
    let mut end = SHOWN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &s[..end], s.len()).into()
}

/// A problem with one field of an object, before it is tied to a place in a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&clipped(&self.message))
        } else {
            write!(f, "{}: {}", clipped(&self.path), clipped(&self.message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_messages_are_shown_by_their_start() {
        let e = FieldError::new("kind", format!("unknown kind {:?}", "é".repeat(1 << 20)));
        let shown = e.to_string();
        assert!(shown.len() < 500, "{}", shown.len());
        assert!(shown.ends_with("... (2097167 bytes in all)"), "{shown}");
        let short = FieldError::new("spec.x", "expected an integer");
        assert_eq!(short.to_string(), "spec.x: expected an integer");
    }
}
