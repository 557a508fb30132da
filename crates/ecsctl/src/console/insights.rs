//! Fetches what the service page shows beside its objects ([`pages::service_insights`]): the
//! service's metric series over the charts' window and its load balancers' status, at once.
//! A part that cannot be read becomes its error's words on the page, not a failed page.

use super::pages::{self, service_insights::Fetched};
use crate::client::{Client, encode};
use serde_json::Value;
use time::OffsetDateTime;

/// The series and load balancer status of `service` (the object).
#[tracing::instrument(skip_all, fields(cluster = %cluster, service = %name))]
pub async fn fetch(
    client: &Client,
    cluster: &str,
    name: &str,
    service: &Value,
    now: OffsetDateTime,
) -> Fetched {
    let window =
        pages::service_insights::window(pages::str_at(service, "/metadata/creationTimestamp"), now);
    let series_path = format!(
        "/v1/metrics/services/{}/series?cluster={}&since={}s",
        encode(name),
        encode(cluster),
        window.as_secs()
    );
    let names: Vec<String> = service
        .pointer("/spec/loadBalancers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|lb| lb.get("loadBalancerName").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    // A service names a load balancer or two: one after the other, beside the series.
    let balancers = async {
        let mut out = Vec::with_capacity(names.len());
        for lb in &names {
            let path = format!(
                "/v1/loadbalancers/{}/status?cluster={}",
                encode(lb),
                encode(cluster)
            );
            let status = client.get(&path).await.map_err(|e| format!("{e:#}"));
            out.push((lb.clone(), status));
        }
        out
    };
    let (series, balancers) = tokio::join!(client.get(&series_path), balancers);
    Fetched {
        series: series.map_err(|e| format!("{e:#}")),
        balancers,
    }
}
