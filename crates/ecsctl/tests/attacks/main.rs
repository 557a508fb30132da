//! Attacks on the server (issue 14), through the real binary on real Docker: each class of
//! attack is tried as an API user would and shown refused with a clear message. One module
//! per area.
#![cfg(feature = "docker-tests")]

#[path = "../support/mod.rs"]
mod support;

mod bounds;
