//! The service controller: keeps desiredCount healthy tasks of the service's task definition
//! running and moves them to a new revision with ECS's rolling-update rules.

pub mod plan;
