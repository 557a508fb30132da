//! Failover time: two servers on one etcd store, the leader SIGKILLed (its lease must
//! expire) or SIGTERMed (it resigns), and the time until the standby's `GET /v1/status`
//! says `leader`, polled every [`STATUS_POLL`].

use super::node::Node;
use api::wire::{Role, ServerStatus};
use std::time::{Duration, Instant};

/// How often the standby's status is asked while waiting for it to lead.
pub const STATUS_POLL: Duration = Duration::from_millis(50);
/// How often a standby tries to take the leadership (the store's `CAMPAIGN_POLL`: 500 ms,
/// or a quarter of the lease when that is shorter): part of the bound a failover should stay
/// under.
pub fn campaign_poll(lease: Duration) -> Duration {
    Duration::from_millis(500).min(lease / 4)
}
/// Consecutive agreeing polls (100 ms apart) that make a leadership "stable".
const STABLE_POLLS: usize = 3;
/// How long a SIGTERMed server may take to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// The rounds of one lease.
#[derive(Debug)]
pub struct Rounds {
    /// SIGKILL of the leader -> the standby leads.
    pub crash: Vec<Duration>,
    /// SIGTERM of the leader -> the standby leads.
    pub handover: Vec<Duration>,
}

/// Two servers with `--leader-lease LEASE` under `prefix` on the etcd at `store_url`:
/// `rounds` crashes, then `rounds` graceful handovers, the victim started again as a standby
/// after each and the leadership stable before the next.
pub fn rounds(store_url: &str, prefix: &str, lease: Duration, rounds: usize) -> Rounds {
    let lease_arg = format!("{}s", lease.as_secs());
    let args = [
        "--no-local-agent",
        "--store",
        store_url,
        "--store-prefix",
        prefix,
        "--leader-lease",
        &lease_arg,
    ];
    let mut nodes = [Node::start(&args), Node::start(&args)];
    // Whatever happens, a failover longer than this is a failure of the run, not a figure.
    let give_up = lease * 2 + Duration::from_secs(10);
    let mut crash = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let leader = wait_stable(&nodes);
        std::thread::sleep(jitter(lease / 3));
        let t0 = Instant::now();
        nodes[leader].kill();
        let took = until_leads(t0, &nodes[1 - leader], give_up);
        eprintln!(
            "[ha] lease {lease_arg}, kill -9 of the leader, round {round}: standby leads after {:.2} s",
            took.as_secs_f64()
        );
        crash.push(took);
        nodes[leader].restart();
    }
    let mut handover = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let leader = wait_stable(&nodes);
        std::thread::sleep(jitter(campaign_poll(lease)));
        let t0 = Instant::now();
        nodes[leader].signal_terminate();
        let took = until_leads(t0, &nodes[1 - leader], give_up);
        eprintln!(
            "[ha] lease {lease_arg}, SIGTERM of the leader, round {round}: standby leads after {:.3} s",
            took.as_secs_f64()
        );
        handover.push(took);
        nodes[leader].wait_exit(STOP_TIMEOUT);
        nodes[leader].restart();
    }
    Rounds { crash, handover }
}

/// A random wait of up to `span` (from a v4 UUID's random bits). A round starts once the
/// leadership is stable, a nearly fixed time after the victim's restart; without it the
/// kill would fall at about the same point of the standby's campaign cycle (and of the
/// leader's keep-alive cycle) every round, and the rounds would repeat one sample.
fn jitter(span: Duration) -> Duration {
    let bits = uuid::Uuid::new_v4().as_u128() & 0xffff;
    span.mul_f64(f64::from(u16::try_from(bits).unwrap_or(0)) / 65_536.0)
}

/// Polls `standby` every [`STATUS_POLL`] from `t0` on until it says it leads; the time from
/// `t0` to that answer.
fn until_leads(t0: Instant, standby: &Node, give_up: Duration) -> Duration {
    let mut tick = 0u32;
    loop {
        if standby.leads() {
            return t0.elapsed();
        }
        tick += 1;
        let next = t0 + STATUS_POLL * tick;
        assert!(
            next.duration_since(t0) < give_up,
            "the standby did not lead within {give_up:?}"
        );
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// Waits until one node leads, the other stands by and both name the leader, for
/// [`STABLE_POLLS`] polls in a row; the leader's index.
fn wait_stable(nodes: &[Node; 2]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut agreeing = 0;
    let mut last = None;
    loop {
        let statuses = [nodes[0].status(), nodes[1].status()];
        let leader = match &statuses {
            [Some(a), Some(b)] => {
                let leads = [a.role == Role::Leader, b.role == Role::Leader];
                let named = |s: &ServerStatus, by: &ServerStatus| {
                    s.leader.as_deref() == Some(by.id.as_str())
                };
                match leads {
                    [true, false] if named(a, a) && named(b, a) => Some(0),
                    [false, true] if named(a, b) && named(b, b) => Some(1),
                    _ => None,
                }
            }
            _ => None,
        };
        agreeing = match leader {
            Some(_) if leader == last => agreeing + 1,
            Some(_) => 1,
            None => 0,
        };
        last = leader;
        if let Some(index) = leader.filter(|_| agreeing >= STABLE_POLLS) {
            return index;
        }
        assert!(
            Instant::now() < deadline,
            "no stable leadership within 60 s: {statuses:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
