//! The properties every parse of a manifest must have, whatever the input: shared by the
//! cargo-fuzz target `parse_manifest` (fuzz/) and its proptest stand-in (tests/fuzz.rs), which
//! include this file by path.

use api::parse::{ParseOptions, parse_source};
use api::{Diagnostic, Object};

pub const SOURCE: &str = "fuzz.yaml";

/// Parses `text` as the CLI does, with and without --warn-unknown, and checks the result.
pub fn check_manifest(text: &str) {
    match parse_source(SOURCE, text, &ParseOptions::default()) {
        Ok(docs) => docs.iter().for_each(|d| check_accepted(&d.object)),
        Err(errors) => {
            check_errors(text, &errors);
            // --warn-unknown takes a different path through the ECS import.
            let opts = ParseOptions { warn_unknown: true };
            match parse_source(SOURCE, text, &opts) {
                Ok(docs) => docs.iter().for_each(|d| check_accepted(&d.object)),
                Err(errors) => check_errors(text, &errors),
            }
        }
    }
}

/// Every error names a line and column inside the text, except the few that are about the
/// whole file (empty, binary, too large).
pub fn check_errors(text: &str, errors: &[Diagnostic]) {
    assert!(!errors.is_empty(), "an error result without errors");
    let lines = yaml_lines(text);
    for e in errors {
        let shown = e.to_string();
        assert!(shown.starts_with(SOURCE), "{shown}");
        assert!(!e.message.is_empty(), "{shown}");
        match (e.line, e.column) {
            (Some(line), Some(column)) => {
                assert!(line >= 1 && column >= 1, "{shown}");
                assert!(line <= lines + 1, "line {line} of {lines}: {shown}");
            }
            (None, None) => {
                let whole_file = e.document.is_none()
                    && e.path.is_empty()
                    && (e.message.starts_with("no documents")
                        || e.message.contains("NUL byte")
                        || e.message.contains("bytes; the limit is"));
                assert!(whole_file, "an error without a location: {shown}");
            }
            _ => panic!("a line without a column or the reverse: {e:?}"),
        }
    }
}

/// How many lines YAML sees: CR LF, a lone LF and a lone CR each end one.
pub fn yaml_lines(text: &str) -> u32 {
    let breaks =
        text.matches('\n').count() + text.matches('\r').count() - text.matches("\r\n").count();
    breaks as u32 + 1
}

/// What the CLI accepts, the server accepts (it decodes the JSON and validates again), and
/// the object written back as a manifest (`get -o json`) parses into the same object.
pub fn check_accepted(obj: &Object) {
    let json = serde_json::to_string(obj).expect("an object serializes");
    let back: Object = serde_json::from_str(&json).expect("the server decodes what we send");
    assert_eq!(&back, obj, "JSON round trip changed the object");
    if let Err(e) = api::validate::validate_object(&back) {
        panic!("accepted by parse_source, refused by validate_object: {e:?}\n{json}");
    }
    match parse_source("again.json", &json, &ParseOptions::default()) {
        Ok(docs) => {
            assert_eq!(docs.len(), 1, "{json}");
            assert_eq!(&docs[0].object, obj, "re-import changed the object");
        }
        Err(e) => panic!("our own output does not parse again: {e:?}\n{json}"),
    }
}
