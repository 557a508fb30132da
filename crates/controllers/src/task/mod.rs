//! The task controller: makes each Task object's containers exist, start in dependsOn order,
//! stop dependents first, and reports what it sees in ECS's words.

pub mod containers;
pub mod pause;
pub mod plan;
