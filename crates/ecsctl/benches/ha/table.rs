//! The run's figures and the one table they are printed as: figure | etcd | sled |
//! etcd / sled | target or bound, in markdown (bench/RESULTS.md takes it as it is).

use super::failover::{Rounds, STATUS_POLL, campaign_poll};
use std::collections::BTreeMap;
use std::time::Duration;

/// The target for the apply p99 on etcd.
pub const APPLY_P99_TARGET_MS: f64 = 20.0;
/// How often etcd looks for expired leases (its lessor's loop): part of the crash bound.
pub const ETCD_LEASE_SWEEP: Duration = Duration::from_millis(500);

/// One measurement on both backends.
#[derive(Debug, Default)]
pub struct Both<T> {
    pub etcd: T,
    pub sled: T,
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Figures {
    /// `POST /v1/apply` of a new TaskDefinition revision.
    pub td_apply: Both<Vec<Duration>>,
    /// `POST /v1/apply` of a new Secret.
    pub secret_apply: Both<Vec<Duration>>,
    /// `Store::apply` of a Service update, no server.
    pub store_apply: Both<Vec<Duration>>,
    /// Store level: `apply` returned -> event on a watch, in ms (signed).
    pub store_watch: Both<Vec<f64>>,
    /// Through the API: apply answered -> event on `GET /v1/watch`, in ms (signed).
    pub http_watch: Both<Vec<f64>>,
    /// etcd's KV calls during the TaskDefinition applies, and how many applies that was.
    pub td_apply_calls: (BTreeMap<String, u64>, usize),
    /// One bare etcd put.
    pub etcd_puts: Vec<Duration>,
    /// Failover rounds per lease.
    pub failovers: Vec<(Duration, Rounds)>,
}

/// p50, p99 and max in milliseconds (the ranks of `common::percentiles`).
#[derive(Debug, Clone, Copy)]
struct Spread {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Spread {
    fn of_durations(v: &[Duration]) -> Spread {
        Spread::of_ms(v.iter().map(|d| d.as_secs_f64() * 1000.0).collect())
    }

    fn of_ms(mut v: Vec<f64>) -> Spread {
        assert!(!v.is_empty(), "a figure without samples");
        v.sort_by(f64::total_cmp);
        Spread {
            p50: v[v.len() / 2],
            p99: v[v.len() * 99 / 100],
            max: v[v.len() - 1],
        }
    }

    fn get(self, which: Rank) -> f64 {
        match which {
            Rank::P50 => self.p50,
            Rank::P99 => self.p99,
            Rank::Max => self.max,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    P50,
    P99,
    Max,
}

impl Rank {
    fn name(self) -> &'static str {
        match self {
            Rank::P50 => "p50",
            Rank::P99 => "p99",
            Rank::Max => "max",
        }
    }
}

/// `1.23 ms`, with three decimals below a tenth of a millisecond.
fn ms(v: f64) -> String {
    if v.abs() < 0.1 {
        format!("{v:.3} ms")
    } else {
        format!("{v:.2} ms")
    }
}

/// etcd / sled, when both are positive (a delay at or below zero has no ratio).
fn ratio(etcd: f64, sled: f64) -> String {
    if etcd > 0.0 && sled > 0.0 {
        format!("{:.1}", etcd / sled)
    } else {
        "n/a".to_string()
    }
}

fn secs_list(v: &[Duration]) -> String {
    let each: Vec<String> = v
        .iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect();
    format!("{} s", each.join(", "))
}

/// One line of the table.
#[derive(Debug)]
pub struct Row {
    figure: String,
    etcd: String,
    sled: String,
    ratio: String,
    target: String,
}

impl Row {
    fn etcd_only(figure: String, etcd: String, target: String) -> Row {
        Row {
            figure,
            etcd,
            sled: "n/a (one server)".to_string(),
            ratio: "n/a".to_string(),
            target,
        }
    }
}

/// A row per rank of a figure measured on both backends; `target` goes beside the p99.
fn ranked(
    rows: &mut Vec<Row>,
    figure: &str,
    etcd: Spread,
    sled: Spread,
    ranks: &[Rank],
    p99_target: &str,
) {
    for &rank in ranks {
        let (e, s) = (etcd.get(rank), sled.get(rank));
        rows.push(Row {
            figure: format!("{figure}, {}", rank.name()),
            etcd: ms(e),
            sled: ms(s),
            ratio: ratio(e, s),
            target: if rank == Rank::P99 {
                p99_target.to_string()
            } else {
                String::new()
            },
        });
    }
}

fn durations(
    rows: &mut Vec<Row>,
    figure: &str,
    both: &Both<Vec<Duration>>,
    ranks: &[Rank],
    p99_target: &str,
) {
    let (etcd, sled) = (
        Spread::of_durations(&both.etcd),
        Spread::of_durations(&both.sled),
    );
    ranked(rows, figure, etcd, sled, ranks, p99_target);
}

fn delays(rows: &mut Vec<Row>, figure: &str, both: &Both<Vec<f64>>) {
    let (etcd, sled) = (
        Spread::of_ms(both.etcd.clone()),
        Spread::of_ms(both.sled.clone()),
    );
    ranked(rows, figure, etcd, sled, &[Rank::P50, Rank::P99], "");
}

fn failover_rows(rows: &mut Vec<Row>, lease: Duration, rounds: &Rounds) {
    let secs = lease.as_secs();
    let poll = campaign_poll(lease);
    let bound = lease + ETCD_LEASE_SWEEP + poll + STATUS_POLL;
    let within = rounds.crash.iter().filter(|d| **d < bound).count();
    rows.push(Row::etcd_only(
        format!(
            "failover: `kill -9` of the leader -> the standby's status says leader, lease {secs} s, each round"
        ),
        secs_list(&rounds.crash),
        format!(
            "< {:.2} s = lease + {:.2} s etcd's lease sweep + {:.2} s campaign poll + {:.2} s status poll: {within} of {} within",
            bound.as_secs_f64(),
            ETCD_LEASE_SWEEP.as_secs_f64(),
            poll.as_secs_f64(),
            STATUS_POLL.as_secs_f64(),
            rounds.crash.len()
        ),
    ));
    let second = Duration::from_secs(1);
    let within = rounds.handover.iter().filter(|d| **d < second).count();
    rows.push(Row::etcd_only(
        format!(
            "graceful handover: SIGTERM of the leader (it resigns) -> the standby leads, lease {secs} s, each round"
        ),
        secs_list(&rounds.handover),
        format!(
            "well under 1 s (a standby tries every {:.2} s): {within} of {} under 1 s",
            campaign_poll(lease).as_secs_f64(),
            rounds.handover.len()
        ),
    ));
}

/// The table's rows, in the order of the questions.
pub fn rows(f: &Figures) -> Vec<Row> {
    let mut rows = Vec::new();
    let td_p99 = Spread::of_durations(&f.td_apply.etcd).p99;
    let verdict = if td_p99 < APPLY_P99_TARGET_MS {
        "met"
    } else {
        "missed"
    };
    durations(
        &mut rows,
        &format!(
            "apply of a new TaskDefinition revision through the server ({}, sequential)",
            f.td_apply.etcd.len()
        ),
        &f.td_apply,
        &[Rank::P50, Rank::P99, Rank::Max],
        &format!("< {APPLY_P99_TARGET_MS:.0} ms: {verdict}"),
    );
    let (calls, applied) = &f.td_apply_calls;
    let per_apply: Vec<String> = calls
        .iter()
        .map(|(method, n)| {
            #[allow(clippy::cast_precision_loss)]
            let each = *n as f64 / (*applied).max(1) as f64;
            format!("{each:.1} {method}")
        })
        .collect();
    rows.push(Row {
        figure: format!(
            "etcd requests per TaskDefinition apply (etcd's gRPC counters, all members, over the {applied} applies; the leader's revision collector, the standby's campaign and the keep-alives included)"
        ),
        etcd: per_apply.join(" + "),
        sled: "n/a".to_string(),
        ratio: "n/a".to_string(),
        target: String::new(),
    });
    durations(
        &mut rows,
        &format!(
            "apply of a new Secret through the server ({}, sequential; no controller reacts to it)",
            f.secret_apply.etcd.len()
        ),
        &f.secret_apply,
        &[Rank::P50, Rank::P99],
        "",
    );
    durations(
        &mut rows,
        &format!(
            "`Store::apply` of a Service update at the store level, no server ({}, sequential)",
            f.store_apply.etcd.len()
        ),
        &f.store_apply,
        &[Rank::P50, Rank::P99],
        "",
    );
    let puts = Spread::of_durations(&f.etcd_puts);
    rows.push(Row {
        figure: format!(
            "one bare etcd put on the same cluster ({}, the harness's JSON-gateway client, a connection each), p50 / p99",
            f.etcd_puts.len()
        ),
        etcd: format!("{} / {}", ms(puts.p50), ms(puts.p99)),
        sled: "n/a".to_string(),
        ratio: "n/a".to_string(),
        target: String::new(),
    });
    delays(
        &mut rows,
        &format!(
            "watch delay, store level: `apply` returned -> the event on a `watch()` of the same store ({})",
            f.store_watch.etcd.len()
        ),
        &f.store_watch,
    );
    delays(
        &mut rows,
        &format!(
            "watch delay through the API: apply answered by server A -> the event on `GET /v1/watch` of server B (sled: both on its one server) ({})",
            f.http_watch.etcd.len()
        ),
        &f.http_watch,
    );
    for (lease, r) in &f.failovers {
        failover_rows(&mut rows, *lease, r);
    }
    rows
}

/// Prints the table as markdown.
pub fn print(rows: &[Row]) {
    println!("| figure | etcd (3 members) | sled | etcd / sled | target or bound |");
    println!("|---|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.figure, r.etcd, r.sled, r.ratio, r.target
        );
    }
}
