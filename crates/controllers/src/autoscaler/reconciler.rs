//! The autoscaler's reconcile: read the Autoscaler and its service, measure, decide, and
//! write the service's desiredCount (compare-and-swap) and the decision in the Autoscaler's
//! status, which the service controller turns into a service event.

use super::plan::{Inputs, decide};
use crate::Context;
use crate::metrics::MetricKind;
use crate::timefmt::rfc3339;
use api::autoscaler::{AutoscalerSpec, AutoscalerStatus, Decision, Measured, ScalingMetric};
use api::service::{ScaleRequest, ServiceSpec};
use api::{Kind, ObjectKey};
use reconcile::Action;
use std::time::Duration;
use tracing::info;

/// Why an autoscaler reconcile failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum AutoscalerError {
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("autoscaler {name}: {message}")]
    Invalid { name: String, message: String },
}

fn kind_of(m: ScalingMetric) -> MetricKind {
    match m {
        ScalingMetric::EcsServiceAverageCpuUtilization => MetricKind::Cpu,
        ScalingMetric::EcsServiceAverageMemoryUtilization => MetricKind::Memory,
        ScalingMetric::AlbRequestCountPerTarget => MetricKind::RequestsPerTarget,
    }
}

/// Reconciles one Autoscaler; looks again every sampling period.
pub async fn reconcile_autoscaler(
    ctx: &Context,
    key: &ObjectKey,
) -> Result<Action, AutoscalerError> {
    let period = ctx.metrics.resolution();
    let Some(obj) = ctx.store.get(key).await? else {
        return Ok(Action::await_change());
    };
    let invalid = |m: String| AutoscalerError::Invalid {
        name: key.name.clone(),
        message: m,
    };
    let spec: AutoscalerSpec = obj.spec_as().map_err(|e| invalid(e.to_string()))?;
    let status: AutoscalerStatus = obj.status_as().map_err(|e| invalid(e.to_string()))?;
    let cluster = obj.metadata.cluster_or_default().to_string();
    let svc_key = ObjectKey::new(Kind::Service, Some(&cluster), &spec.service);
    let Some(svc) = ctx.store.get(&svc_key).await? else {
        return Ok(Action::requeue(period));
    };
    let current = svc
        .spec_as::<ServiceSpec>()
        .map_err(|e| invalid(format!("service {}: {e}", spec.service)))?
        .desired_count
        .map_or(0, |c| c.get());
    let now = (ctx.now)();
    // Two sampling periods: the latest full one and the one being filled.
    let window = period.saturating_mul(2).max(Duration::from_secs(2));
    let measure = |m: ScalingMetric| {
        ctx.metrics
            .service_average(&cluster, &spec.service, kind_of(m), window, now)
    };
    let outcome = decide(&Inputs {
        spec: &spec,
        current,
        measure: &measure,
        status: &status,
        now,
    });
    let mut next = status.clone();
    next.min_capacity = outcome.min;
    next.max_capacity = outcome.max;
    next.desired_capacity = outcome.desired;
    next.metrics = outcome
        .measured
        .iter()
        .map(|m| Measured {
            metric: m.metric,
            value: (m.value * 10.0).round() / 10.0,
        })
        .collect();
    let at = rfc3339(now);
    if outcome.desired != current {
        let message = format!(
            "scaled from {current} to {}: {}",
            outcome.desired,
            outcome
                .reason
                .clone()
                .unwrap_or_else(|| "capacity bounds".to_string())
        );
        info!(autoscaler = %key.name, service = %spec.service, %message, "scaling");
        if outcome.desired > current {
            next.last_scale_out_at = Some(at.clone());
        } else {
            next.last_scale_in_at = Some(at.clone());
        }
        next.last_decision = Some(Decision {
            id: format!("{}", now.unix_timestamp_nanos()),
            at,
            from: current,
            to: outcome.desired,
            message,
        });
        // The decision first, then the count: the service controller, woken by the count,
        // finds the decision to report.
        ctx.store.write_status(key, &next, None).await?;
        let mut svc = svc;
        svc.merge_spec(&ScaleRequest {
            desired_count: outcome.desired,
        })
        .map_err(|e| invalid(e.to_string()))?;
        match ctx.store.apply(svc).await {
            Ok(_) => {}
            Err(store::StoreError::Conflict { .. }) => {
                return Ok(Action::requeue(Duration::from_millis(100)));
            }
            Err(e) => return Err(e.into()),
        }
    } else if next != status {
        ctx.store.write_status(key, &next, None).await?;
    }
    Ok(Action::requeue(period))
}
