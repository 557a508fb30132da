//! ecsctl's built-in load balancer: the proxy behind `kind: LoadBalancer`.
//!
//! One [`LbManager`] serves every load balancer of the server. The load balancer controller
//! hands it one load balancer's desired state at a time with [`LbManager::upsert`] and
//! [`LbManager::remove`] ([`LbManager::sync`] replaces them all at once): listeners from the
//! LoadBalancer's spec, targets from the tasks of the services behind it. The controllers read
//! back what it observes: target health
//! ([`LbManager::target_health`]), whether a deregistered task finished draining
//! ([`LbManager::drained`]) and per-target request counts and rates ([`LbManager::snapshot`]).
//!
//! - HTTP listeners (hyper, HTTP/1.1, keep-alive on both sides) route by host and path prefix
//!   rules, as an ALB does, and balance over the healthy targets of the chosen service
//!   (round robin or least outstanding requests). Idempotent requests are retried on another
//!   target when one refuses or drops the connection before it answers.
//! - HTTPS listeners do the same behind TLS (rustls), with certificates from Secrets chosen
//!   by the name the client asks for (SNI).
//! - TCP listeners pass bytes through to a healthy target of their default service.
//! - Connections to targets are HTTP/1.1 keep-alive, pooled per target (idle ones closed after
//!   60 s, or when the target drains or goes away). A client connection with no request for a
//!   whole 30 s period (idle, or sending a request head that never ends) is closed.
//! - Health checks run per target with ALB defaults (path `/`, every 30 s, timeout 5 s, 5
//!   successes to become healthy, 2 failures to become unhealthy, matcher `200`).
//!
//! ```no_run
//! # async fn demo(spec: api::kinds::LoadBalancerSpec) -> Result<(), ecsctl_lb::LbError> {
//! use ecsctl_lb::{LbConfig, LbManager, Target};
//! let lbs = LbManager::new();
//! let target = Target { task_id: "t1".into(), addr: "127.0.0.1:9000".parse().expect("addr") };
//! lbs.sync(vec![LbConfig {
//!     name: "web".into(),
//!     cluster: "default".into(),
//!     spec,
//!     targets: [("web".to_string(), vec![target])].into(),
//!     draining: vec![],
//!     certificates: Default::default(),
//! }])
//! .await?;
//! println!("{:?}", lbs.target_health("t1"));
//! lbs.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod balance;
mod config;
mod error;
mod health;
mod lbstate;
mod listener;
mod manager;
mod metrics;
mod proxy;
mod router;
mod swap;
mod target;
mod tcp;
mod tls;
mod types;
mod upstream;
mod x509;

pub use error::LbError;
pub use manager::LbManager;
pub use types::{
    CertificatePem, LbConfig, LbStatus, ListenerStatus, Target, TargetHealth, TargetStatus,
};
