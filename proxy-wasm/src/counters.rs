//! Envoy stats for decisions: `corsguard.{preflight,actual}.allowed` and
//! `corsguard.{preflight,actual}.denied.<reason>`, shown at the admin `/stats` endpoint.
//!
//! Metrics are defined once per VM. Counting a request adds one to a number in the VM's memory;
//! the root context hands the counts to Envoy on a timer ([`FLUSH_PERIOD`]) and when it is done,
//! so the hot path makes no host call for them, and `/stats` lags by at most one period.

use corsguard::{Decision, Denial, Enforcement, Kind};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::Cell;
use std::time::Duration;

/// How often the counts reach Envoy's stats.
pub(crate) const FLUSH_PERIOD: Duration = Duration::from_millis(250);

/// The kinds of CORS request counted (the others are not CORS requests).
const KINDS: [Kind; 2] = [Kind::Preflight, Kind::Actual];
/// `allowed`, then one outcome per denial of [`Denial::ALL`] (named by its code).
const OUTCOMES: usize = 1 + Denial::ALL.len();

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
                core::iter::once("allowed".into()).chain(Denial::ALL.iter().map(|d| format!("denied.{}", d.code())));
            for (id, outcome) in row.iter_mut().zip(outcomes) {
                let name = format!("corsguard.{}.{outcome}", kind.as_str());
                *id = hostcalls::define_metric(MetricType::Counter, &name).ok()?;
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
        if decision.enforcement == Enforcement::RouteDisabled {
            return;
        }
        let row = KINDS.iter().position(|kind| *kind == decision.kind).and_then(|row| self.pending.get(row));
        if let Some(count) = row.and_then(|row| row.get(outcome(decision.denial.as_ref()))) {
            count.set(count.get().saturating_add(1));
        }
    }
}

/// The index of an outcome: 0 when allowed, else one past the denial's index in [`Denial::ALL`].
fn outcome(denial: Option<&Denial>) -> usize {
    let Some(denial) = denial else { return 0 };
    Denial::ALL.iter().position(|d| d.code() == denial.code()).map_or(OUTCOMES, |i| i + 1)
}
