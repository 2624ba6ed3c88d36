//! The series every edge counts decisions in: one counter, `requests_total`, labelled by kind,
//! outcome, reason and mode. Every label has a fixed, small set of values: never the origin.

use crate::decision::{Decision, Enforcement, Kind};
use crate::denial::Denial;

/// The label names, in the order [`series_labels`] gives their values.
pub const SERIES_LABELS: [&str; 4] = ["kind", "outcome", "reason", "mode"];

/// The kinds of request counted (one without `Origin` is no CORS request).
const KINDS: [(Kind, &str); 2] = [(Kind::Preflight, "preflight"), (Kind::Actual, "actual")];
/// `allowed`, then one outcome per denial of [`Denial::ALL`].
const OUTCOMES: usize = 1 + Denial::ALL.len();
/// The modes counted (a disabled route makes no CORS decision).
const MODES: [(Enforcement, &str); 2] = [(Enforcement::Enforced, "enforce"), (Enforcement::ReportOnly, "report_only")];
/// How many series there are.
pub const SERIES: usize = KINDS.len() * OUTCOMES * MODES.len();

/// The label values of series `index` (below [`SERIES`]), in [`SERIES_LABELS`]' order; the reason
/// is the denial's code in the metric's own style (`origin_not_allowed`), empty when allowed.
#[must_use]
pub fn series_labels(index: usize) -> Option<[&'static str; 4]> {
    let (rest, mode) = (index / MODES.len(), index % MODES.len());
    let (kind, outcome) = (rest / OUTCOMES, rest % OUTCOMES);
    let (outcome, reason) = match outcome.checked_sub(1) {
        None => ("allowed", ""),
        Some(place) => ("denied", reason(Denial::ALL.get(place)?)),
    };
    Some([KINDS.get(kind)?.1, outcome, reason, MODES.get(mode)?.1])
}

impl Decision<'_> {
    /// The index of the series that counts this decision (see [`series_labels`]), or `None` when it is
    /// not counted: a request without `Origin`, or one on a disabled route.
    #[must_use]
    pub fn series(&self) -> Option<usize> {
        let kind = KINDS.iter().position(|(kind, _)| *kind == self.kind)?;
        let mode = MODES.iter().position(|(mode, _)| *mode == self.enforcement)?;
        let outcome = match &self.denial {
            None => 0,
            Some(denial) => 1 + Denial::ALL.iter().position(|d| d.code() == denial.code())?,
        };
        Some((kind * OUTCOMES + outcome) * MODES.len() + mode)
    }
}

/// A denial as a label value.
fn reason(denial: &Denial) -> &'static str {
    match denial {
        Denial::OriginNotAllowed => "origin_not_allowed",
        Denial::MethodNotAllowed => "method_not_allowed",
        Denial::HeaderNotAllowed(_) => "header_not_allowed",
        Denial::PrivateNetworkNotAllowed => "private_network_not_allowed",
        Denial::MalformedRequest => "malformed_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Policy, Request};
    use alloc::vec::Vec;

    #[test]
    fn every_series_has_its_own_labels_and_every_decision_its_series() {
        let all: Vec<[&str; 4]> = (0..SERIES).map(|index| series_labels(index).unwrap()).collect();
        for (at, labels) in all.iter().enumerate() {
            assert!(!all[..at].contains(labels), "{labels:?} twice");
        }
        assert_eq!(series_labels(SERIES), None);
        let policy = Policy::parse(r#"{"origins": ["https://app.example.com"], "methods": ["PUT"]}"#).unwrap();
        let of = |request: Request| policy.evaluate(&request).series().and_then(series_labels);
        let preflight = |origin: &'static [u8], method: &'static [u8]| Request {
            method: b"OPTIONS",
            origin: Some(origin),
            request_method: Some(method),
            ..Request::default()
        };
        assert_eq!(of(preflight(b"https://app.example.com", b"PUT")), Some(["preflight", "allowed", "", "enforce"]));
        assert_eq!(
            of(preflight(b"https://app.example.com", b"PATCH")),
            Some(["preflight", "denied", "method_not_allowed", "enforce"])
        );
        assert_eq!(of(Request { method: b"GET", ..Request::default() }), None, "no Origin: not counted");
        let report_only = Policy::parse(r#"{"origins": ["https://app.example.com"], "mode": "report-only"}"#).unwrap();
        let request = Request { method: b"GET", origin: Some(b"https://evil.example"), ..Request::default() };
        let index = report_only.evaluate(&request).series().unwrap();
        assert_eq!(series_labels(index), Some(["actual", "denied", "origin_not_allowed", "report_only"]));
    }
}
