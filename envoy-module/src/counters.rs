//! Decisions as one labelled Envoy counter, `requests_total{kind, outcome, reason, mode}` under
//! the filter's `metrics_namespace` (Prometheus: `envoy_corsguard_requests_total{...}` with
//! `metrics_namespace: corsguard`). Every label has a fixed, small set of values: never the origin.
//!
//! A labelled increment costs Envoy more than the rest of a decision (it looks the series up by
//! its tags), so a request only adds one to a number here, and the counts are handed to Envoy on
//! its main thread every [`FLUSH_PERIOD`] while there are any: `/stats` lags by at most that.
//! Counts made in the last period before a configuration is replaced are not handed over.

use crate::abi::{ConfigHandle, Scheduler};
use corsguard::{Decision, Denial, Enforcement, Kind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How often the counts reach Envoy's stats.
const FLUSH_PERIOD: Duration = Duration::from_millis(250);

/// The label names, in the order their values are given.
const LABELS: [&str; 4] = ["kind", "outcome", "reason", "mode"];
/// The kinds of CORS request counted (the others are not CORS requests).
const KINDS: [(Kind, &str); 2] = [(Kind::Preflight, "preflight"), (Kind::Actual, "actual")];
/// `allowed`, then one outcome per denial of [`Denial::ALL`].
const OUTCOMES: usize = 1 + Denial::ALL.len();
/// The modes counted (a disabled route is not a CORS decision).
const MODES: [(Enforcement, &str); 2] = [(Enforcement::Enforced, "enforce"), (Enforcement::ReportOnly, "report_only")];
/// One series per kind, outcome and mode.
const SERIES: usize = KINDS.len() * OUTCOMES * MODES.len();

/// The counter's id in Envoy, and the counts not yet handed to it.
pub(crate) struct Counters {
    id: usize,
    pending: Arc<[AtomicU64; SERIES]>,
    ticker: Option<Ticker>,
}

/// The thread that asks Envoy's main thread to take the counts, while there are any.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Counters {
    /// Defines the counter (Envoy allows it only while the configuration is made) and starts the
    /// ticker; `None` if either fails.
    pub(crate) fn define(envoy: &ConfigHandle) -> Option<Self> {
        let id = envoy.define_counter("requests_total", &LABELS)?;
        let pending: Arc<[AtomicU64; SERIES]> = Arc::new(core::array::from_fn(|_| AtomicU64::new(0)));
        let ticker = Ticker::start(envoy.scheduler()?, Arc::clone(&pending))?;
        Some(Counters { id, pending, ticker: Some(ticker) })
    }

    /// Counts a preflight or actual request (requests without `Origin` and disabled routes are
    /// not CORS requests, and are not counted).
    pub(crate) fn count(&self, decision: &Decision) {
        let kind = KINDS.iter().position(|(kind, _)| *kind == decision.kind);
        let mode = MODES.iter().position(|(mode, _)| *mode == decision.enforcement);
        let (Some(kind), Some(mode)) = (kind, mode) else { return };
        let outcome = decision.denial.map_or(0, |denial| 1 + place(&denial));
        if let Some(count) = self.pending.get((kind * OUTCOMES + outcome) * MODES.len() + mode) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hands the pending counts to Envoy (on its main thread).
    pub(crate) fn hand_over(&self, envoy: &ConfigHandle) {
        for (series, count) in self.pending.iter().enumerate() {
            let n = count.swap(0, Ordering::Relaxed);
            if n > 0 {
                envoy.add_to_counter(self.id, &labels(series), n);
            }
        }
    }
}

impl Drop for Counters {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop.store(true, Ordering::Release);
            ticker.thread.thread().unpark();
            let _ = ticker.thread.join();
        }
    }
}

impl Ticker {
    fn start(scheduler: Scheduler, pending: Arc<[AtomicU64; SERIES]>) -> Option<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("corsguard-counts".into())
            .spawn(move || {
                while !stopped.load(Ordering::Acquire) {
                    thread::park_timeout(FLUSH_PERIOD);
                    if pending.iter().any(|count| count.load(Ordering::Relaxed) > 0) {
                        scheduler.commit();
                    }
                }
            })
            .ok()?;
        Some(Ticker { stop, thread })
    }
}

/// A denial's place in [`Denial::ALL`] (every denial has one: the core's tests say so).
fn place(denial: &Denial) -> usize {
    Denial::ALL.iter().position(|d| d.code() == denial.code()).unwrap_or_default()
}

/// The label values of a series, in [`LABELS`]' order.
fn labels(series: usize) -> [&'static str; 4] {
    let (rest, mode) = (series / MODES.len(), series % MODES.len());
    let (kind, outcome) = (rest / OUTCOMES, rest % OUTCOMES);
    let (outcome, reason) = match outcome.checked_sub(1).and_then(|place| Denial::ALL.get(place)) {
        None => ("allowed", ""),
        Some(denial) => ("denied", reason(denial)),
    };
    let kind = KINDS.get(kind).map_or("", |(_, name)| name);
    let mode = MODES.get(mode).map_or("", |(_, name)| name);
    [kind, outcome, reason, mode]
}

/// A denial as a label value, in the metric's own style.
fn reason(denial: &Denial) -> &'static str {
    match denial {
        Denial::OriginNotAllowed => "origin_not_allowed",
        Denial::MethodNotAllowed => "method_not_allowed",
        Denial::HeaderNotAllowed(_) => "header_not_allowed",
        Denial::PrivateNetworkNotAllowed => "private_network_not_allowed",
        Denial::MalformedRequest => "malformed_request",
    }
}
