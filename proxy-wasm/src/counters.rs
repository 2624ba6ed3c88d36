//! Envoy stats for decisions: the core's series (`corsguard::SERIES_LABELS`), one counter each,
//! named so that the bootstrap's `stats_tags` (`corsguard emit envoy-stats`) turn them into one
//! labelled Prometheus counter: `corsguard.requests_total.kind=.=preflight;.;outcome=.=denied;.;
//! reason=.=origin_not_allowed;.;mode=.=enforce;.;route=.=routes[1];.;` is
//! `corsguard_requests_total{kind="preflight",outcome="denied",reason="origin_not_allowed",mode="enforce",route="routes[1]"}`
//! (a plugin cannot register tags itself).
//!
//! Metrics are defined with each policy (how many depends on its routes). Counting a request adds one to a number in the VM's memory;
//! the root context hands the counts to Envoy on a timer ([`FLUSH_PERIOD`]) and when it is done,
//! so the hot path makes no host call for them, and `/stats` lags by at most one period.

use corsguard::{Decision, Policy, SERIES_LABELS, series_labels};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::Cell;
use std::time::Duration;

/// How often the counts reach Envoy's stats.
pub(crate) const FLUSH_PERIOD: Duration = Duration::from_millis(250);

/// The metric ids, and the counts not yet handed to Envoy, by series.
pub(crate) struct Counters {
    ids: Vec<u32>,
    pending: Vec<Cell<u32>>,
}

impl Counters {
    /// Defines every counter of the policy's series; `None` if the host refuses one.
    pub(crate) fn define(policy: &Policy) -> Option<Self> {
        let ids = (0..policy.series_count())
            .map(|series| {
                let mut name = String::from("corsguard.requests_total.");
                for (label, value) in SERIES_LABELS.iter().zip(series_labels(series)) {
                    name.push_str(&format!("{label}=.={value};.;"));
                }
                hostcalls::define_metric(MetricType::Counter, &name).ok()
            })
            .collect::<Option<Vec<u32>>>()?;
        let pending = ids.iter().map(|_| Cell::new(0)).collect();
        Some(Counters { ids, pending })
    }

    /// Hands the pending counts to Envoy.
    pub(crate) fn flush(&self) {
        for (&id, count) in self.ids.iter().zip(&self.pending) {
            let n = count.take();
            if n > 0 {
                let _ = hostcalls::increment_metric(id, i64::from(n));
            }
        }
    }

    /// Counts a preflight or actual request (requests without `Origin` and disabled routes are
    /// not CORS requests and are not counted).
    pub(crate) fn count(&self, decision: &Decision) {
        if let Some(count) = decision.series().and_then(|series| self.pending.get(series)) {
            count.set(count.get().saturating_add(1));
        }
    }
}
