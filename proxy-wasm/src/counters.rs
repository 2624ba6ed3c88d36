//! Envoy stats for decisions: `corsguard.{preflight,actual}.allowed` and
//! `corsguard.{preflight,actual}.denied.<reason>`, shown at the admin `/stats` endpoint.
//!
//! Metrics are defined once per VM; counting a request is one host call with a precomputed id.

use corsguard::{Decision, Denial, Kind};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

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

/// The metric ids, by kind and outcome.
pub(crate) struct Counters {
    ids: [[u32; OUTCOMES]; KINDS.len()],
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
        Some(Counters { ids })
    }

    /// Counts a preflight or actual request (requests without `Origin` and disabled routes are
    /// not CORS requests and are not counted).
    pub(crate) fn count(&self, decision: &Decision) {
        let row = match decision.kind {
            Kind::Preflight => self.ids.first(),
            Kind::Actual => self.ids.get(1),
            Kind::NoOrigin | Kind::Disabled => None,
        };
        if let Some(&id) = row.and_then(|row| row.get(outcome(decision.denial.as_ref()))) {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }
}

/// The index of an outcome: 0 when allowed, else one past the denial's index in [`DENIALS`].
fn outcome(denial: Option<&Denial>) -> usize {
    let Some(denial) = denial else { return 0 };
    let same = |d: &Denial| core::mem::discriminant(d) == core::mem::discriminant(denial);
    DENIALS.iter().position(same).map_or(OUTCOMES, |i| i + 1)
}
