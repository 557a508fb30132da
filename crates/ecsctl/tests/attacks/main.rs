//! Issue 14's attack suite: the real binary on real Docker, each class of attack tried as a
//! hostile API user (a `deployer`) and shown refused with a clear message, and the same
//! request passing as an `admin` where it should. One module per area.
#![cfg(feature = "docker-tests")]
#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

mod roles;
