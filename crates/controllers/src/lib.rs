//! ecsctl's controllers. Each kind has a pure planning function (desired + observed + now ->
//! a plan) and an executor that carries the plan out against the store and the runtime.
#![forbid(unsafe_code)]

pub mod task;

use std::fmt;
use std::sync::Arc;

/// What every controller works with: the store, the container runtime and a clock.
/// Injected, so tests use a FakeRuntime and a fixed time.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<dyn store::Store>,
    pub runtime: Arc<dyn runtime::ContainerRuntime>,
    pub now: Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>,
}

impl Context {
    /// A context on the real clock.
    pub fn new(store: Arc<dyn store::Store>, runtime: Arc<dyn runtime::ContainerRuntime>) -> Self {
        Context {
            store,
            runtime,
            now: Arc::new(time::OffsetDateTime::now_utc),
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}
