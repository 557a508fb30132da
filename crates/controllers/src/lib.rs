//! ecsctl's controllers. Each kind has a pure planning function (desired + observed + now ->
//! a plan) and an executor that carries the plan out against the store and the runtime.
#![forbid(unsafe_code)]

pub mod task;
