//! The kinds' spec types under the path they had when they shared this file. Each kind now
//! has its own module; new code should name that one (`api::cluster::ClusterSpec`).

pub use crate::autoscaler::*;
pub use crate::cluster::*;
pub use crate::deployment::DeploymentSpec;
pub use crate::loadbalancer::*;
pub use crate::task::{ContainerOverride, TaskOverride, TaskSpec};
