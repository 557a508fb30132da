//! Attacks on the server as a hostile API user would try them (issue 14), through the real
//! binary on real Docker: one module per area, each refusal pinned with its message, and the
//! same request succeeding for an admin where it should.
#![cfg(feature = "docker-tests")]

#[path = "../support/mod.rs"]
mod support;

mod host;
