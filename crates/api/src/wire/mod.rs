//! The HTTP API's request and response bodies, shared by the server (which serializes them)
//! and the CLI (which deserializes them), so that both sides agree on one definition of every
//! field instead of JSON built by hand on one side and read through pointers on the other.
//!
//! Field names and values are the wire format: camelCase, enums in the spelling the API has
//! always used. Types that carry objects are generic over the object's representation
//! (`O`, [`crate::Object`] by default): the server sends typed objects; a client that prints
//! them as it received them may read them as `serde_json::Value`.
//!
//! One file per endpoint family: [`objects`] (list, apply, delete), [`watch`], [`sync`],
//! [`health`], [`logs`], [`exec`] (a command in a task's container), [`metrics`], [`lb`], [`agents`] (what agents send), [`instances`]
//! (draining), [`status`] (the control plane), and [`error`] for the answers that are not 2xx.

pub mod agents;
pub mod error;
pub mod exec;
pub mod health;
pub mod instances;
pub mod lb;
pub mod logs;
pub mod metrics;
pub mod objects;
pub mod status;
pub mod sync;
pub mod watch;

pub use agents::{RegisterInstance, SecretValue, StatusUpdate};
pub use error::{ErrorBody, StreamError};
pub use exec::{EXEC_PROTOCOL, ExecRequest, Frame, FrameDecoder, FrameError, WindowSize};
pub use health::{Health, HealthStatus, RuntimeHealth};
pub use instances::{InstanceStateRequest, InstanceStateResponse};
pub use lb::{CertificateStatus, ListenerStatus, LoadBalancerStatus, TargetHealth, TargetStatus};
pub use logs::{CONTAINERS_HEADER, LogLine, LogStream};
pub use metrics::{
    MetricsList, SeriesPoint, ServiceMetricValues, ServiceMetrics, ServiceSeries, TaskMetrics,
};
pub use objects::{
    ApplyAction, ApplyRequest, ApplyResponse, ApplyResult, DeleteResponse, ObjectList, ObjectRef,
};
pub use status::{Role, ServerStatus};
pub use sync::{SyncCounts, SyncEvent, SyncList, SyncRequest, SyncResponse, SyncState, SyncStatus};
pub use watch::{WatchEvent, WatchEventType};

#[cfg(test)]
mod tests;
