//! Decisions as one labelled Envoy counter, the core's series (`corsguard::SERIES_LABELS`), under
//! the filter's `metrics_namespace` (Prometheus: `envoy_corsguard_requests_total{...}` with
//! `metrics_namespace: corsguard`).
//!
//! A labelled increment costs Envoy more than the rest of a decision (it looks the series up by
//! its tags), so a request only adds one to a number here, and the counts are handed to Envoy on
//! its main thread every [`FLUSH_PERIOD`] while there are any: `/stats` lags by at most that.
//! Counts made in the last period before a configuration is replaced are not handed over.

use crate::abi::{ConfigHandle, Scheduler};
use corsguard::{Decision, Policy, SERIES_LABELS, series_labels};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How often the counts reach Envoy's stats.
const FLUSH_PERIOD: Duration = Duration::from_millis(250);

/// The counter's id in Envoy, and the counts not yet handed to it, by series.
pub(crate) struct Counters {
    id: usize,
    pending: Arc<[AtomicU64]>,
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
    pub(crate) fn define(envoy: &ConfigHandle, policy: &Policy) -> Option<Self> {
        let id = envoy.define_counter("requests_total", &SERIES_LABELS)?;
        let pending: Arc<[AtomicU64]> = (0..policy.series_count()).map(|_| AtomicU64::new(0)).collect();
        let ticker = Ticker::start(envoy.scheduler()?, Arc::clone(&pending))?;
        Some(Counters { id, pending, ticker: Some(ticker) })
    }

    /// Counts a preflight or actual request (requests without `Origin` and disabled routes are
    /// not CORS requests, and are not counted).
    pub(crate) fn count(&self, decision: &Decision) {
        if let Some(count) = decision.series().and_then(|series| self.pending.get(series)) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hands the pending counts to Envoy (on its main thread).
    pub(crate) fn hand_over(&self, envoy: &ConfigHandle) {
        for (series, count) in self.pending.iter().enumerate() {
            let n = count.swap(0, Ordering::Relaxed);
            if n > 0 {
                envoy.add_to_counter(self.id, &series_labels(series).each_ref().map(String::as_str), n);
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
    fn start(scheduler: Scheduler, pending: Arc<[AtomicU64]>) -> Option<Self> {
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
