//! The autoscaler controller: measures (through `Metrics`), decides (pure `plan::decide`)
//! and writes the service's desiredCount like any client, with compare-and-swap.

pub mod cron;
pub mod plan;
