//! Attacks on the server as a hostile API user would try them (issue 14), through the real
//! binary on real Docker: each class of attack refused with a message naming the rule, and the
//! same request succeeding where the policy (or an admin) allows it. One module per area.
#![cfg(feature = "docker-tests")]
#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

mod bounds;
mod host;
mod roles;
mod surface;
