//! What the fuzz targets share: the invariants (the crate the property tests use) and a
//! helper that evaluates a request and checks them.

use corsguard::{Policy, Request};
use corsguard_invariants as invariants;

/// Evaluates `request` under `policy` (whose applying `origins` entries are `origins`) and panics,
/// so that libFuzzer records the input, if any invariant breaks.
pub fn evaluate_and_check(policy: &Policy, origins: &[&str], request: &Request) {
    let decision = policy.evaluate(request);
    if let Err(broken) = invariants::check(origins, request, &decision) {
        panic!("invariant broken: {broken}\nrequest: {request:?}\ndecision: {decision:?}");
    }
}

/// A preflight and an actual request from `origin`, asking for `method` and `headers`.
pub fn requests<'a>(origin: &'a [u8], method: &'a [u8], headers: Option<&'a [u8]>) -> [Request<'a>; 2] {
    let preflight = Request {
        method: b"OPTIONS",
        origin: Some(origin),
        request_method: Some(method),
        request_headers: headers,
        ..Request::default()
    };
    [preflight, Request { method: b"GET", origin: Some(origin), ..Request::default() }]
}
