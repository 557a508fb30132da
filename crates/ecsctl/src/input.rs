//! Collecting manifests from `-f PATH...`: files, directories (recursive), and `-` for stdin.
//!
//! Everything is read before anything is parsed, and every problem with every file is kept, so
//! that one run reports all of them (and an apply with any problem sends nothing).

use crate::error::{Reported, io_reason};
use api::parse::{ParseOptions, ParsedDocument};
use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are refused before they are read in full.
pub const MAX_FILE_BYTES: u64 = api::source::MAX_SOURCE_BYTES as u64;

/// One input read into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What diagnostics call it: the path as the user wrote it (plus the part found by walking
    /// a directory), or `<stdin>`.
    pub name: String,
    pub text: String,
}

/// Everything read from a set of paths, with the problems found on the way.
#[derive(Debug, Default)]
pub struct Collected {
    /// In the order found: a source read, or `PATH: what is wrong` (so that errors are
    /// reported in file order, whether found while reading or while parsing).
    pub items: Vec<Result<Source, String>>,
    pub warnings: Vec<String>,
}

impl Collected {
    fn error(&mut self, e: String) {
        self.items.push(Err(e));
    }

    /// The sources read.
    #[cfg(test)]
    pub fn sources(&self) -> Vec<&Source> {
        self.items.iter().filter_map(|i| i.as_ref().ok()).collect()
    }

    /// The problems found.
    #[cfg(test)]
    pub fn errors(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter_map(|i| i.as_ref().err().map(String::as_str))
            .collect()
    }
}

/// Reads every path; `-` reads `stdin` (once, however often it is named).
pub fn collect(paths: &[String], stdin: &mut dyn Read) -> Collected {
    let mut c = Collected::default();
    let mut seen = HashSet::new();
    let mut stdin_read = false;
    for p in paths {
        if p == "-" {
            if !stdin_read {
                stdin_read = true;
                read_stream("<stdin>", &mut *stdin, &mut c);
            }
            continue;
        }
        let path = Path::new(p);
        match fs::metadata(path) {
            Ok(md) if md.is_dir() => walk(path, &mut Vec::new(), &mut seen, &mut c),
            Ok(_) => read_file(path, &mut seen, &mut c),
            Err(e) => c.error(format!("{p}: {}", missing_reason(path, &e))),
        }
    }
    c
}

/// Why a path cannot be opened; a dangling symlink is named as such.
fn missing_reason(path: &Path, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound
        && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    {
        return "broken symlink (its target does not exist)".to_string();
    }
    io_reason(e)
}

/// Walks `dir` in name order. `ancestors` holds the canonical paths of the directories being
/// walked, so a symlink back to one of them is a loop: reported once, not followed.
fn walk(dir: &Path, ancestors: &mut Vec<PathBuf>, seen: &mut HashSet<PathBuf>, c: &mut Collected) {
    let canon = match fs::canonicalize(dir) {
        Ok(p) => p,
        Err(e) => {
            c.error(format!("{}: {}", dir.display(), io_reason(&e)));
            return;
        }
    };
    if ancestors.contains(&canon) {
        c.warnings.push(format!(
            "{}: symlink loop (points back to {}), not followed",
            dir.display(),
            canon.display()
        ));
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd.collect::<Result<Vec<_>, _>>(),
        Err(e) => Err(e),
    };
    let mut entries = match entries {
        Ok(v) => v,
        Err(e) => {
            c.error(format!("{}: {}", dir.display(), io_reason(&e)));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    ancestors.push(canon);
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = dir.join(&name);
        // `metadata` follows symlinks: a link to a directory is walked, a link to a file read.
        match fs::metadata(&path) {
            Ok(md) if md.is_dir() => walk(&path, ancestors, seen, c),
            Ok(md) if md.is_file() && api::source::is_manifest_name(&path) => {
                read_file(&path, seen, c)
            }
            Ok(_) => {}
            Err(e) if api::source::is_manifest_name(&path) || is_symlink(&path) => {
                c.error(format!("{}: {}", path.display(), missing_reason(&path, &e)));
            }
            Err(_) => {}
        }
    }
    ancestors.pop();
}

fn is_symlink(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

fn read_file(path: &Path, seen: &mut HashSet<PathBuf>, c: &mut Collected) {
    let name = path.display().to_string();
    // The same file reached twice (named twice, or through a symlink) is read once.
    if let Ok(canon) = fs::canonicalize(path)
        && !seen.insert(canon)
    {
        return;
    }
    let md = match fs::metadata(path) {
        Ok(md) => md,
        Err(e) => {
            c.error(format!("{name}: {}", io_reason(&e)));
            return;
        }
    };
    if md.is_file() && md.len() > MAX_FILE_BYTES {
        c.error(too_big(&name, Some(md.len())));
        return;
    }
    match fs::File::open(path) {
        Ok(f) => read_stream(&name, f, c),
        Err(e) => c.error(format!("{name}: {}", io_reason(&e))),
    }
}

/// Reads at most the limit (plus one byte, to tell that there is more) and checks for UTF-8.
fn read_stream(name: &str, r: impl Read, c: &mut Collected) {
    let mut bytes = Vec::new();
    if let Err(e) = r.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
        c.error(format!("{name}: {}", io_reason(&e)));
        return;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        c.error(too_big(name, None));
        return;
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            c.items.push(Ok(Source {
                name: name.to_string(),
                text,
            }));
        }
        Err(e) => c.error(format!(
            "{name}: not a text file (invalid UTF-8 at byte {})",
            e.utf8_error().valid_up_to()
        )),
    }
}

/// `len` is the size when known (a file), `None` for a stream cut off at the limit.
fn too_big(name: &str, len: Option<u64>) -> String {
    let size = match len {
        Some(n) => format!("{n} bytes"),
        None => format!("more than {MAX_FILE_BYTES} bytes"),
    };
    format!(
        "{name}: file is {size}; the limit is {} MiB ({MAX_FILE_BYTES} bytes): split it into several files",
        MAX_FILE_BYTES / (1024 * 1024)
    )
}

/// Reads and parses every path. Warnings go to stderr as `warning: ...`; if anything is wrong,
/// every error is printed, one a line, then a summary ending in `consequence` (such as
/// "; nothing was applied"), and the result is `Reported(2)`.
pub fn load(
    paths: &[String],
    opts: &ParseOptions,
    consequence: &str,
) -> anyhow::Result<Vec<ParsedDocument>> {
    let collected = collect(paths, &mut std::io::stdin().lock());
    let (loaded, warnings, errors) = parse_all(collected, opts);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        let n = errors.len();
        eprintln!(
            "error: {n} problem{} found{consequence}",
            if n == 1 { "" } else { "s" }
        );
        return Err(Reported(2).into());
    }
    Ok(loaded)
}

/// Parses collected sources: (documents, warnings, errors), every list complete.
pub fn parse_all(
    c: Collected,
    opts: &ParseOptions,
) -> (Vec<ParsedDocument>, Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = c.warnings;
    let mut loaded = Vec::new();
    for item in c.items {
        let s = match item {
            Ok(s) => s,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match api::parse::parse_source(&s.name, &s.text, opts) {
            Ok(docs) => {
                for doc in docs {
                    warnings.extend(doc.warnings.iter().map(ToString::to_string));
                    loaded.push(doc);
                }
            }
            Err(diags) => errors.extend(diags.iter().map(ToString::to_string)),
        }
    }
    (loaded, warnings, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn names(c: &Collected) -> Vec<String> {
        c.sources().iter().map(|s| s.name.clone()).collect()
    }

    fn strip(root: &Path, c: &Collected) -> Vec<String> {
        let prefix = format!("{}/", root.display());
        names(c)
            .into_iter()
            .map(|n| n.trim_start_matches(&prefix).to_string())
            .collect()
    }

    #[test]
    fn directories_are_walked_in_order_skipping_hidden_and_other_files() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("sub/deeper")).unwrap();
        fs::create_dir_all(r.join(".git")).unwrap();
        fs::write(r.join("b.yaml"), "b").unwrap();
        fs::write(r.join("a.yml"), "a").unwrap();
        fs::write(r.join("c.JSON"), "c").unwrap();
        fs::write(r.join("README.md"), "no").unwrap();
        fs::write(r.join(".hidden.yaml"), "no").unwrap();
        fs::write(r.join(".git/x.yaml"), "no").unwrap();
        fs::write(r.join("sub/deeper/z.yaml"), "z").unwrap();
        let c = collect(&[r.display().to_string()], &mut Cursor::new(""));
        assert!(c.errors().is_empty(), "{:?}", c.errors());
        assert_eq!(
            strip(r, &c),
            ["a.yml", "b.yaml", "c.JSON", "sub/deeper/z.yaml"]
        );
        assert_eq!(c.sources()[0].text, "a");
    }

    #[test]
    fn an_explicit_file_is_read_whatever_its_name() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join(".manifest.txt");
        fs::write(&f, "\u{feff}kind: Cluster").unwrap();
        let c = collect(&[f.display().to_string()], &mut Cursor::new(""));
        assert_eq!(c.sources().len(), 1);
        assert_eq!(c.sources()[0].text, "kind: Cluster", "the BOM is dropped");
    }

    #[test]
    fn symlink_loops_are_reported_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("a")).unwrap();
        fs::write(r.join("a/x.yaml"), "x").unwrap();
        std::os::unix::fs::symlink(r, r.join("a/loop")).unwrap();
        std::os::unix::fs::symlink(r.join("a/x.yaml"), r.join("alias.yaml")).unwrap();
        // Two links pointing at each other: the OS refuses to resolve them.
        std::os::unix::fs::symlink(r.join("p2.yaml"), r.join("p1.yaml")).unwrap();
        std::os::unix::fs::symlink(r.join("p1.yaml"), r.join("p2.yaml")).unwrap();
        let c = collect(&[r.display().to_string()], &mut Cursor::new(""));
        assert_eq!(c.sources().len(), 1, "x.yaml is read once: {:?}", names(&c));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("symlink loop"), "{:?}", c.warnings);
        assert_eq!(c.errors().len(), 2, "{:?}", c.errors());
        assert!(
            c.errors().iter().all(|e| e.contains("symbolic links")),
            "{:?}",
            c.errors()
        );
    }

    #[test]
    fn broken_symlinks_and_missing_paths_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::os::unix::fs::symlink(r.join("nowhere"), r.join("gone.yaml")).unwrap();
        let missing = r.join("missing.yaml").display().to_string();
        let c = collect(
            &[r.display().to_string(), missing.clone()],
            &mut Cursor::new(""),
        );
        assert_eq!(c.errors().len(), 2, "{:?}", c.errors());
        assert!(
            c.errors()[0].ends_with("gone.yaml: broken symlink (its target does not exist)"),
            "{:?}",
            c.errors()
        );
        assert_eq!(
            c.errors()[1],
            format!("{missing}: no such file or directory")
        );
    }

    #[test]
    fn large_files_are_refused_before_reading() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("big.yaml");
        let file = fs::File::create(&f).unwrap();
        file.set_len(MAX_FILE_BYTES + 10).unwrap();
        let c = collect(&[f.display().to_string()], &mut Cursor::new(""));
        assert!(c.sources().is_empty());
        assert_eq!(c.errors().len(), 1);
        assert!(
            c.errors()[0].starts_with(&format!(
                "{}: file is 8388618 bytes; the limit is 8 MiB",
                f.display()
            )),
            "{}",
            c.errors()[0]
        );
    }

    #[test]
    fn stdin_is_read_once_and_limited() {
        let c = collect(
            &["-".into(), "-".into()],
            &mut Cursor::new("kind: Cluster\n"),
        );
        assert_eq!(
            c.sources(),
            [&Source {
                name: "<stdin>".into(),
                text: "kind: Cluster\n".into()
            }]
        );

        let big = vec![b'a'; MAX_FILE_BYTES as usize + 100];
        let c = collect(&["-".into()], &mut Cursor::new(big));
        assert!(c.sources().is_empty());
        assert!(
            c.errors()[0].starts_with("<stdin>: file is more than"),
            "{}",
            c.errors()[0]
        );
    }

    #[test]
    fn binary_files_are_named() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("bin.yaml");
        fs::write(&f, b"abc\xff\xfe").unwrap();
        let c = collect(&[f.display().to_string()], &mut Cursor::new(""));
        assert_eq!(
            c.errors(),
            [format!(
                "{}: not a text file (invalid UTF-8 at byte 3)",
                f.display()
            )]
        );
    }
}
