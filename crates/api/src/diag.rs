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
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
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
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}
