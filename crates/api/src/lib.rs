//! ecsctl's API types: the kinds users write in manifests, their validation and defaults,
//! the import of raw ECS JSON, and the JSON Schema editors use.
#![forbid(unsafe_code)]

pub mod kind;
pub mod object;
pub mod ownership;

pub use kind::Kind;
pub use object::{API_VERSION, DEFAULT_CLUSTER, Object, ObjectKey, ObjectMeta};
pub mod diag;
pub mod hash;
pub mod hostpath;
pub mod source;
pub mod state;

pub use diag::{Diagnostic, FieldError};
pub mod autoscaler;
pub mod balancer;
pub mod cluster;
pub mod deployment;
mod humanize;
pub mod import;
pub mod instance;
pub mod kinds;
pub mod loadbalancer;
pub mod names;
pub mod parse;
pub mod placement;
pub mod role;
pub mod schema;
pub mod secret;
pub mod securitygroup;
pub mod service;
pub mod task;
pub mod taskdef;
pub mod text;
pub mod units;
pub mod validate;
pub mod wire;
