//! Envoy stats for decisions: `corsguard.{preflight,actual}.allowed` and
//! `corsguard.{preflight,actual}.denied.<reason>`, shown at the admin `/stats` endpoint.
//!
//! Metrics are defined once per VM. Counting a request adds one to a number in the VM's memory;
//! the root context hands the counts to Envoy on a timer ([`FLUSH_PERIOD`]) and when it is done,
//! so the hot path makes no host call for them, and `/stats` lags by at most one period.

use corsguard::{Decision, Denial, Kind};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::Cell;
use std::time::Duration;

/// How often the counts reach Envoy's stats.
pub(crate) const FLUSH_PERIOD: Duration = Duration::from_millis(250);

const KINDS: [&str; 2] = ["preflight", "actual"];
/// Every denial, one counter each (named by its code).
const DENIALS: [Denial<'static>; 5] = [
    Denial::OriginNotAllowed,
    Denial::MethodNotAllowed,
    Denial::HeaderNotAllowed(""),
    Denial::PrivateNetworkNotAllowed,
    Denial::MalformedRequest,
];
/// `allowed`, then one outcome per denial.
const OUTCOMES: usize = 1 + DENIALS.len();

/// The metric ids, and the counts not yet handed to Envoy, by kind and outcome.
pub(crate) struct Counters {
    ids: [[u32; OUTCOMES]; KINDS.len()],
    pending: [[Cell<u32>; OUTCOMES]; KINDS.len()],
}

impl Counters {
    /// Defines every counter; `None` if the host refuses one.
    pub(crate) fn define() -> Option<Self> {
        let mut ids = [[0; OUTCOMES]; KINDS.len()];
        for (row, kind) in ids.iter_mut().zip(KINDS) {
            let outcomes =
                core::iter::once("allowed".into()).chain(DENIALS.iter().map(|d| format!("denied.{}", d.code())));
            for (id, outcome) in row.iter_mut().zip(outcomes) {
                *id = hostcalls::define_metric(MetricType::Counter, &format!("corsguard.{kind}.{outcome}")).ok()?;
            }
        }
        Some(Counters { ids, pending: Default::default() })
    }

    /// Hands the pending counts to Envoy.
    pub(crate) fn flush(&self) {
        for (ids, pending) in self.ids.iter().zip(&self.pending) {
            for (&id, count) in ids.iter().zip(pending) {
                let n = count.take();
                if n > 0 {
                    let _ = hostcalls::increment_metric(id, i64::from(n));
                }
            }
        }
    }

    /// Counts a preflight or actual request (requests without `Origin` and disabled routes are
    /// not CORS requests and are not counted).
    pub(crate) fn count(&self, decision: &Decision) {
        let row = match decision.kind {
            Kind::Preflight => self.pending.first(),
            Kind::Actual => self.pending.get(1),
            Kind::NoOrigin | Kind::Disabled => None,
        };
        if let Some(count) = row.and_then(|row| row.get(outcome(decision.denial.as_ref()))) {
            count.set(count.get().saturating_add(1));
        }
    }
}

/// The index of an outcome: 0 when allowed, else one past the denial's index in [`DENIALS`].
fn outcome(denial: Option<&Denial>) -> usize {
    let Some(denial) = denial else { return 0 };
    let same = |d: &Denial| core::mem::discriminant(d) == core::mem::discriminant(denial);
    DENIALS.iter().position(same).map_or(OUTCOMES, |i| i + 1)
}
