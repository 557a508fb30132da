//! The contract suite against [`FakeRuntime`], with tokio's clock paused: the fake's
//! timers (exits, health checks, stop timeouts) fire as soon as everything waits.

mod contract;

use ecsctl_runtime::{ContainerRuntime, FakeBehavior, FakeRuntime};

use contract::Harness;

/// One fresh fake engine with the busybox image.
#[derive(Debug)]
struct FakeHarness {
    fake: FakeRuntime,
}

const IMAGE: &str = "ecsctl/busybox:local";

impl FakeHarness {
    fn new() -> Self {
        let fake = FakeRuntime::with_images([IMAGE]);
        fake.set_default_behavior(contract::idle());
        Self { fake }
    }
}

impl Harness for FakeHarness {
    fn rt(&self) -> &dyn ContainerRuntime {
        &self.fake
    }
    fn image(&self) -> &str {
        IMAGE
    }
    fn run_id(&self) -> &str {
        "fake"
    }
    fn program(&self, name: &str, behavior: FakeBehavior) {
        self.fake.program(name, behavior);
    }
    fn real_network(&self) -> bool {
        false
    }
}

contract_tests!(tokio::test(start_paused = true), FakeHarness::new());
