//! Reading a whole directory into a [`Snapshot`]: the same file rules as `ecsctl apply -f DIR`
//! (recursive, `*.yaml` `*.yml` `*.json`, hidden entries skipped, symlink loops not followed,
//! 8 MiB per file), plus one more: a symlink that leads out of the directory is refused.

use crate::{SOURCE_ANNOTATION, SOURCE_FILE_ANNOTATION};
use api::parse::{ParseOptions, parse_source};
use api::{Diagnostic, Object, ObjectKey};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are refused before they are read in full.
pub const MAX_FILE_BYTES: u64 = api::source::MAX_SOURCE_BYTES as u64;

/// The desired state a directory holds at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The directory, as given (the value of the `ecsctl.dev/source` annotation).
    pub source: String,
    /// Every object of every file, in file order, annotated with its source and file.
    pub objects: Vec<Object>,
    /// Hash of the names and contents of the files read (16 hex digits).
    pub revision: String,
    /// Warnings of the parser (ECS JSON read-only fields...), `file:line:col: ...`.
    pub warnings: Vec<String>,
    /// Files read, relative to the directory.
    pub files: usize,
}

impl Snapshot {
    /// The file (relative to the directory) that defines the object `key`, or the directory
    /// when no file does.
    pub fn file_of(&self, key: &ObjectKey) -> &str {
        self.objects
            .iter()
            .find(|o| &o.key() == key)
            .and_then(|o| o.metadata.annotations.get(crate::SOURCE_FILE_ANNOTATION))
            .map_or(self.source.as_str(), String::as_str)
    }
}

/// The `ecsctl.dev/source` value for a directory.
pub fn source_name(dir: &Path) -> String {
    dir.display().to_string()
}

/// Reads and parses every manifest below `dir`. Either every file is valid, or every problem
/// in every file is returned (display names are paths relative to `dir`).
pub fn scan(dir: &Path) -> Result<Snapshot, Vec<Diagnostic>> {
    let source = source_name(dir);
    let root = fs::canonicalize(dir).map_err(|e| {
        vec![Diagnostic::source_level(
            &source,
            format!("cannot read the directory: {}", io_reason(&e)),
        )]
    })?;
    if !root.is_dir() {
        return Err(vec![Diagnostic::source_level(&source, "not a directory")]);
    }
    let mut w = Walk {
        root: root.clone(),
        files: Vec::new(),
        errors: Vec::new(),
        seen: HashSet::new(),
    };
    w.walk(&root, Path::new(""), &mut Vec::new());
    let Walk {
        files, mut errors, ..
    } = w;

    let mut hasher = api::hash::Fnv::new();
    let mut objects = Vec::new();
    let mut warnings = Vec::new();
    let mut defined: BTreeMap<ObjectKey, String> = BTreeMap::new();
    for (rel, text) in &files {
        hasher.write(rel.as_bytes());
        hasher.write(&[0]);
        hasher.write(text.as_bytes());
        hasher.write(&[0]);
        match parse_source(rel, text, &ParseOptions::default()) {
            Ok(docs) => {
                for doc in docs {
                    warnings.extend(doc.warnings.iter().map(ToString::to_string));
                    let mut obj = doc.object;
                    if !obj.kind.is_user_writable() {
                        errors.push(Diagnostic {
                            document: Some(doc.index),
                            ..Diagnostic::source_level(
                                rel,
                                format!(
                                    "kind: {} objects are owned by ecsctl and cannot be synced",
                                    obj.kind
                                ),
                            )
                        });
                        continue;
                    }
                    let key = obj.key();
                    if let Some(first) = defined.get(&key) {
                        errors.push(Diagnostic {
                            document: Some(doc.index),
                            ..Diagnostic::source_level(
                                rel,
                                format!(
                                    "{}/{} is also defined in {first}",
                                    obj.kind.as_str().to_ascii_lowercase(),
                                    obj.metadata.name
                                ),
                            )
                        });
                        continue;
                    }
                    defined.insert(key, rel.clone());
                    obj.metadata
                        .annotations
                        .insert(SOURCE_ANNOTATION.to_string(), source.clone());
                    obj.metadata
                        .annotations
                        .insert(SOURCE_FILE_ANNOTATION.to_string(), rel.clone());
                    objects.push(obj);
                }
            }
            Err(mut diags) => errors.append(&mut diags),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Snapshot {
        source,
        objects,
        revision: format!("{:016x}", hasher.finish()),
        warnings,
        files: files.len(),
    })
}

struct Walk {
    root: PathBuf,
    /// (path relative to the root, text)
    files: Vec<(String, String)>,
    errors: Vec<Diagnostic>,
    seen: HashSet<PathBuf>,
}

impl Walk {
    fn error(&mut self, rel: &Path, msg: impl Into<String>) {
        let name = if rel.as_os_str().is_empty() {
            ".".to_string()
        } else {
            rel.display().to_string()
        };
        self.errors.push(Diagnostic::source_level(&name, msg));
    }

    /// Walks `dir` (relative name `rel`) in name order; `ancestors` holds the canonical
    /// directories being walked, so that a link back to one of them is not followed.
    fn walk(&mut self, dir: &Path, rel: &Path, ancestors: &mut Vec<PathBuf>) {
        let canon = match fs::canonicalize(dir) {
            Ok(p) => p,
            Err(e) => return self.error(rel, io_reason(&e)),
        };
        if !canon.starts_with(&self.root) {
            return self.error(rel, "symlink points outside the watched directory; refused");
        }
        if ancestors.contains(&canon) {
            tracing::debug!(dir = %rel.display(), "symlink loop, not followed");
            return;
        }
        let mut entries = match fs::read_dir(dir).and_then(|rd| rd.collect::<Result<Vec<_>, _>>()) {
            Ok(v) => v,
            Err(e) => return self.error(rel, io_reason(&e)),
        };
        entries.sort_by_key(|e| e.file_name());
        ancestors.push(canon);
        for entry in entries {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = dir.join(&name);
            let child = rel.join(&name);
            match fs::metadata(&path) {
                Ok(md) if md.is_dir() => self.walk(&path, &child, ancestors),
                Ok(md) if md.is_file() && api::source::is_manifest_name(&path) => {
                    self.read(&path, &child, &md)
                }
                Ok(_) => {}
                Err(e) if api::source::is_manifest_name(&path) || is_symlink(&path) => {
                    let why = if e.kind() == std::io::ErrorKind::NotFound && is_symlink(&path) {
                        "broken symlink (its target does not exist)".to_string()
                    } else {
                        io_reason(&e)
                    };
                    self.error(&child, why);
                }
                Err(_) => {}
            }
        }
        ancestors.pop();
    }

    fn read(&mut self, path: &Path, rel: &Path, md: &fs::Metadata) {
        match fs::canonicalize(path) {
            Ok(canon) if !canon.starts_with(&self.root) => {
                return self.error(rel, "symlink points outside the watched directory; refused");
            }
            Ok(canon) => {
                if !self.seen.insert(canon) {
                    return;
                }
            }
            Err(e) => return self.error(rel, io_reason(&e)),
        }
        if md.len() > MAX_FILE_BYTES {
            return self.error(
                rel,
                format!(
                    "file is {} bytes; the limit is {} MiB: split it into several files",
                    md.len(),
                    MAX_FILE_BYTES >> 20
                ),
            );
        }
        let mut bytes = Vec::new();
        let read =
            fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
        if let Err(e) = read {
            return self.error(rel, io_reason(&e));
        }
        match String::from_utf8(bytes) {
            Ok(mut text) => {
                if text.starts_with('\u{feff}') {
                    text.drain(..'\u{feff}'.len_utf8());
                }
                self.files.push((rel.display().to_string(), text));
            }
            Err(e) => self.error(
                rel,
                format!(
                    "not a text file (invalid UTF-8 at byte {})",
                    e.utf8_error().valid_up_to()
                ),
            ),
        }
    }
}

fn is_symlink(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// An I/O error in words, without Rust's `(os error N)` suffix.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}
