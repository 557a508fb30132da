//! Arbitrary bytes as a manifest file: `api::parse::parse_source` (YAML/JSON reading, the
//! ECS JSON import, validation) must never panic, must locate every error it reports, and
//! what it accepts must survive the trip to the server and back into a manifest. The checks
//! are the proptest stand-in's (crates/api/tests/fuzzing/checks.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/api/tests/fuzzing/checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    // The CLI refuses files that are not UTF-8 before parsing; the lossy text still
    // exercises the parser with whatever the bytes were.
    checks::check_manifest(&String::from_utf8_lossy(data));
});
