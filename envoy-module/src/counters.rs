//! Decisions as one labelled Envoy counter, `requests_total{kind, outcome, reason, mode}` under
//! the filter's `metrics_namespace` (Prometheus: `envoy_corsguard_requests_total{...}` with
//! `metrics_namespace: corsguard`). Every label has a fixed, small set of values: never the origin.

use crate::abi::{ConfigHandle, Stream};
use corsguard::{Decision, Enforcement, Kind};

/// The label names, in the order their values are given.
const LABELS: [&str; 4] = ["kind", "outcome", "reason", "mode"];

/// The counter's id in Envoy.
pub(crate) struct Counters {
    requests: usize,
}

impl Counters {
    /// Defines the counter (Envoy allows it only while the configuration is made).
    pub(crate) fn define(envoy: &ConfigHandle) -> Option<Self> {
        Some(Counters { requests: envoy.define_counter("requests_total", &LABELS)? })
    }

    /// Counts a preflight or actual request (requests without `Origin` and disabled routes are
    /// not CORS requests, and are not counted).
    pub(crate) fn count(&self, stream: &Stream, decision: &Decision) {
        let kind = match decision.kind {
            Kind::Preflight => "preflight",
            Kind::Actual => "actual",
            Kind::NoOrigin => return,
        };
        let mode = match decision.enforcement {
            Enforcement::Enforced => "enforce",
            Enforcement::ReportOnly => "report_only",
            Enforcement::RouteDisabled => return,
        };
        let (outcome, reason) = match &decision.denial {
            None => ("allowed", ""),
            Some(denial) => ("denied", reason(denial.code())),
        };
        stream.count(self.requests, &[kind, outcome, reason, mode]);
    }
}

/// A denial code as a label value, in the metric's own style (`origin_not_allowed`).
fn reason(code: &str) -> &'static str {
    match code {
        "origin-not-allowed" => "origin_not_allowed",
        "method-not-allowed" => "method_not_allowed",
        "header-not-allowed" => "header_not_allowed",
        "private-network-not-allowed" => "private_network_not_allowed",
        _ => "malformed_request",
    }
}
