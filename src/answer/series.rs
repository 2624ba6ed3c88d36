//! The series every edge counts decisions in: one counter, `requests_total`, labelled by kind,
//! outcome, reason, mode and route. Every label has a fixed, small set of values (the route's: the
//! policy's own `routes`): never the origin.

use crate::answer::decision::{Decision, Enforcement, Kind};
use crate::answer::denial::Denial;
use crate::deciders::policy::Policy;
use crate::routes::route::Selected;
use alloc::string::{String, ToString};

/// The label names, in the order [`series_labels`] gives their values.
pub const SERIES_LABELS: [&str; 5] = ["kind", "outcome", "reason", "mode", "route"];

/// The kinds of request counted (one without `Origin` is no CORS request).
const KINDS: [(Kind, &str); 2] = [(Kind::Preflight, "preflight"), (Kind::Actual, "actual")];
/// `allowed`, then one outcome per denial of [`Denial::ALL`].
const OUTCOMES: usize = 1 + Denial::ALL.len();
/// The modes counted (a disabled route makes no CORS decision).
const MODES: [(Enforcement, &str); 2] = [(Enforcement::Enforced, "enforce"), (Enforcement::ReportOnly, "report_only")];
/// How many series each level of a policy (its top level, each route) has.
const PER_LEVEL: usize = KINDS.len() * OUTCOMES * MODES.len();

impl Policy {
    /// How many series this policy's decisions are counted in: indexes below it are
    /// [`Decision::series`]'s, each named by [`series_labels`].
    #[must_use]
    pub fn series_count(&self) -> usize {
        PER_LEVEL * (1 + self.route_count())
    }
}

/// The label values of series `index`, in [`SERIES_LABELS`]' order: the reason is the denial's code
/// in the metric's own style (`origin_not_allowed`), empty when allowed; the route is the level that
/// decided as the policy file names it (`routes[1]`), empty for the top level.
#[must_use]
pub fn series_labels(index: usize) -> [String; 5] {
    let (level, index) = (index / PER_LEVEL, index % PER_LEVEL);
    let (rest, mode) = (index / MODES.len(), index % MODES.len());
    let (kind, outcome) = (rest / OUTCOMES, rest % OUTCOMES);
    let (outcome, reason) = match outcome.checked_sub(1).and_then(|place| Denial::ALL.get(place)) {
        None => ("allowed", ""),
        Some(denial) => ("denied", reason(denial)),
    };
    let route = level.checked_sub(1).map_or(Selected::TopLevel, Selected::Route);
    let kind = KINDS.get(kind).map_or("", |(_, name)| name);
    let mode = MODES.get(mode).map_or("", |(_, name)| name);
    [kind.into(), outcome.into(), reason.into(), mode.into(), route.to_string()]
}

impl Decision<'_> {
    /// The index of the series that counts this decision (see [`series_labels`]), or `None` when it is
    /// not counted: a request without `Origin`, or one on a disabled route. An unclear request
    /// (refused as `malformed-request`) counts at the top level, which no route decided.
    #[must_use]
    pub fn series(&self) -> Option<usize> {
        let kind = KINDS.iter().position(|(kind, _)| *kind == self.kind)?;
        let mode = MODES.iter().position(|(mode, _)| *mode == self.enforcement)?;
        let outcome = match &self.denial {
            None => 0,
            Some(denial) => 1 + Denial::ALL.iter().position(|d| d.code() == denial.code())?,
        };
        let level = match self.route {
            Selected::Route(index) => 1 + index,
            Selected::TopLevel | Selected::Unclear => 0,
        };
        Some(level * PER_LEVEL + (kind * OUTCOMES + outcome) * MODES.len() + mode)
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
        let policy = Policy::parse(
            r#"{"origins": ["https://app.example.com"], "methods": ["PUT"], "routes": [
                {"path_prefix": "/public/", "origins": ["*"]}, {"path_prefix": "/off/", "disabled": true}]}"#,
        )
        .unwrap();
        assert_eq!(policy.series_count(), 3 * 24);
        let all: Vec<[String; 5]> = (0..policy.series_count()).map(series_labels).collect();
        for (at, labels) in all.iter().enumerate() {
            assert!(!all[..at].contains(labels), "{labels:?} twice");
        }
        let of = |request: Request| policy.evaluate(&request).series().map(series_labels);
        let preflight = |origin: &'static [u8], method: &'static [u8]| Request {
            method: b"OPTIONS",
            path: b"/api",
            origin: Some(origin),
            request_method: Some(method),
            ..Request::default()
        };
        let labels = |values: [&str; 5]| Some(values.map(String::from));
        assert_eq!(
            of(preflight(b"https://app.example.com", b"PUT")),
            labels(["preflight", "allowed", "", "enforce", ""])
        );
        assert_eq!(
            of(preflight(b"https://app.example.com", b"PATCH")),
            labels(["preflight", "denied", "method_not_allowed", "enforce", ""])
        );
        let public =
            Request { method: b"GET", path: b"/public/x", origin: Some(b"https://a.example"), ..Request::default() };
        assert_eq!(of(public), labels(["actual", "allowed", "", "enforce", "routes[0]"]));
        let disabled = Request { path: b"/off/x", ..public };
        assert_eq!(of(disabled), None, "a disabled route: not counted");
        assert_eq!(of(Request { method: b"GET", path: b"/api", ..Request::default() }), None, "no Origin: not counted");
        let unclear = Request { path: b"/public%2f..%2foff/x", ..public };
        assert_eq!(of(unclear), labels(["actual", "denied", "malformed_request", "enforce", ""]));
        let report_only = Policy::parse(r#"{"origins": ["https://app.example.com"], "mode": "report-only"}"#).unwrap();
        let request = Request { method: b"GET", origin: Some(b"https://evil.example"), ..Request::default() };
        let index = report_only.evaluate(&request).series().unwrap();
        assert!(index < report_only.series_count());
        assert_eq!(Some(series_labels(index)), labels(["actual", "denied", "origin_not_allowed", "report_only", ""]));
    }
}
