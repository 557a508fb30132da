//! The public data types: the desired state handed to `sync` and the observed state read back.
//!
//! The desired state ([`LbConfig`]) and [`TargetHealth`] are `api::balancer`'s, shared with the
//! load balancer controller; the observed state is `api::wire::lb`'s; both are re-exported
//! here.

pub use api::balancer::{CertificatePem, LbConfig, Target, TargetHealth};

/// The observed state read back (`LbManager::snapshot`) is the API's answer itself
/// (`api::wire::lb`, what `ecsctl describe lb` reads): one definition, no copy in between.
pub use api::wire::lb::{
    CertificateStatus, ListenerStatus, LoadBalancerStatus as LbStatus, TargetStatus,
};
