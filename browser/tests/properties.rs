//! Property tests: for random policies and requests, the engine never breaks the safety rules,
//! and this crate's browser model (the Fetch standard's CORS checks, as `corsguard explain` uses
//! them) accepts the engine's answer exactly when the policy means to allow the request.
//!
//! Which origins each policy entry allows is a hand-written table, not the engine's matcher, so
//! the model is independent of the code under test.

// A test or benchmark may panic; only the engine must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::{Action, Decision, HeaderLines, Policy, Request};
use corsguard_browser::{Fetch, Response, cors_check, preflight_check};
use corsguard_invariants as invariants;
use proptest::prelude::*;
use proptest::sample::subsequence;

/// Policy `origins` entries; the table below says which request origins each one allows.
const ENTRIES: [&str; 6] = [
    "https://app.example.com",
    "https://*.example.com",
    "http://localhost:*",
    "null",
    "https://partner.test:8443",
    "*",
];
const ANY: usize = 5;

/// Request `Origin` values (some hostile) and the indexes of the entries that allow each.
const ORIGINS: [(&str, &[usize]); 19] = [
    ("https://app.example.com", &[0, 1]),
    ("https://a.b.example.com", &[1]),
    ("https://example.com", &[]),
    ("https://evilexample.com", &[]),
    ("https://app.example.com.evil.test", &[]),
    ("http://app.example.com", &[]),
    ("http://localhost:3000", &[2]),
    ("http://localhost", &[2]),
    ("https://localhost:3000", &[]),
    ("null", &[3]),
    ("https://partner.test:8443", &[4]),
    ("https://partner.test", &[]),
    ("HTTPS://APP.EXAMPLE.COM", &[]),
    ("https://app.example.com/", &[]),
    ("https://app.example.com\r\nX-Evil: 1", &[]),
    ("https://app.example.com:443", &[]),
    ("", &[]),
    ("https://app.example.com, https://evil.test", &[]),
    ("https://app.example.com\0", &[]),
];

const METHODS: [&str; 4] = ["PUT", "DELETE", "PATCH", "*"];
const HEADERS: [&str; 4] = ["Content-Type", "X-A", "Authorization", "*"];
const REQUEST_METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "put", "PU T"];
const REQUEST_HEADERS: [&str; 8] =
    ["content-type", "x-a", "authorization", "content-type,x-a", "x-b", "x-a,x-b", "x-a,,x-b", "x-a\r\nx"];

#[derive(Debug, Clone)]
struct Spec {
    origins: Vec<usize>,
    methods: Vec<&'static str>,
    headers: Vec<&'static str>,
    credentials: bool,
    private_network: bool,
    max_age: Option<u32>,
}

impl Spec {
    fn json(&self) -> String {
        let origins: Vec<&str> = self.origins.iter().map(|&i| ENTRIES[i]).collect();
        serde_json::json!({
            "origins": origins, "methods": self.methods, "request_headers": self.headers,
            "expose_headers": ["X-Id"], "credentials": self.credentials,
            "private_network": self.private_network, "max_age": self.max_age,
        })
        .to_string()
        .replace(",\"max_age\":null", "")
    }

    fn allows_origin(&self, origin: usize) -> bool {
        self.origins.contains(&ANY) || ORIGINS[origin].1.iter().any(|e| self.origins.contains(e))
    }

    fn allows_method(&self, method: &str) -> bool {
        ["GET", "HEAD", "POST"].contains(&method)
            || self.methods.contains(&"*") && method != "PU T"
            || self.methods.contains(&method)
    }

    fn allows_headers(&self, list: &str) -> bool {
        let names: Vec<&str> = list.split(',').collect();
        names.iter().all(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && (self.headers.iter().any(|h| h.eq_ignore_ascii_case(n))
                    || self.headers.contains(&"*") && !n.eq_ignore_ascii_case("authorization"))
        })
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        subsequence((0..ENTRIES.len()).collect::<Vec<_>>(), 1..=3),
        subsequence(METHODS.to_vec(), 0..=3),
        subsequence(HEADERS.to_vec(), 0..=3),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(0u32..=7200),
    )
        .prop_map(|(origins, methods, headers, credentials, private_network, max_age)| {
            // `*` with credentials is rejected at load time (tested with the validation vectors).
            let keep = |list: Vec<&'static str>| list.into_iter().filter(|e| !credentials || *e != "*").collect();
            let origins = origins.into_iter().filter(|&e| !credentials || e != ANY).collect::<Vec<_>>();
            let origins = if origins.is_empty() { vec![0] } else { origins };
            Spec { origins, methods: keep(methods), headers: keep(headers), credentials, private_network, max_age }
        })
}

#[derive(Debug, Clone)]
struct Browser {
    origin: usize,
    credentials: bool,
    method: &'static str,
    headers: Option<&'static str>,
    private_network: bool,
}

fn browser() -> impl Strategy<Value = Browser> {
    (
        0..ORIGINS.len(),
        any::<bool>(),
        proptest::sample::select(REQUEST_METHODS.to_vec()),
        proptest::option::of(proptest::sample::select(REQUEST_HEADERS.to_vec())),
        any::<bool>(),
    )
        .prop_map(|(origin, credentials, method, headers, private_network)| Browser {
            origin,
            credentials,
            method,
            headers,
            private_network,
        })
}

/// What the page's script asked for, as the browser model takes it: the method and header names
/// exactly as generated (hostile ones included), no values.
fn fetch(browser: &Browser) -> Fetch {
    let names = browser.headers.into_iter().flat_map(|list| list.split(','));
    Fetch {
        origin: ORIGINS[browser.origin].0.into(),
        method: browser.method.into(),
        headers: names.map(|name| (name.to_string(), None)).collect(),
        credentials: browser.credentials,
        private_network: browser.private_network,
    }
}

/// An upstream that tries to answer CORS itself, wrongly.
fn hostile_upstream() -> HeaderLines {
    HeaderLines(vec![
        ("access-control-allow-origin".into(), "*".into()),
        ("access-control-allow-credentials".into(), "true".into()),
        ("access-control-allow-methods".into(), "*".into()),
    ])
}

/// The shared invariants, and that a reflected origin is one the hand-written table allows.
fn assert_safe(spec: &Spec, browser: &Browser, request: &Request, decision: &Decision) -> Result<(), TestCaseError> {
    let entries: Vec<&str> = spec.origins.iter().map(|&i| ENTRIES[i]).collect();
    invariants::check(&entries, request, decision).map_err(TestCaseError::fail)?;
    let headers = match &decision.action {
        Action::Respond { headers, .. } => headers,
        Action::Forward(edits) => &edits.headers,
        Action::PassThrough => return Ok(()),
    };
    if let Some(allowed) = headers.get("access-control-allow-origin").filter(|a| *a != "*") {
        prop_assert!(ORIGINS[browser.origin].1.iter().any(|e| spec.origins.contains(e)), "reflected {}", allowed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn preflights_are_safe_and_the_browser_agrees_with_the_policy(spec in spec(), browser in browser()) {
        let policy = Policy::parse(&spec.json()).map_err(|p| TestCaseError::fail(p.to_string()))?;
        let origin = ORIGINS[browser.origin].0;
        let request = Request {
            method: b"OPTIONS",
            origin: Some(origin.as_bytes()),
            request_method: Some(browser.method.as_bytes()),
            request_headers: browser.headers.map(str::as_bytes),
            request_private_network: browser.private_network.then_some(b"true".as_slice()),
            ..Request::default()
        };
        let decision = policy.evaluate(&request);
        let Action::Respond { status, headers } = &decision.action else {
            return Err(TestCaseError::fail("a preflight must be answered at the edge"));
        };
        assert_safe(&spec, &browser, &request, &decision)?;
        let response = Response { status: *status, headers: headers.iter().map(|(n, v)| (n.into(), v.into())).collect() };
        let intended = spec.allows_origin(browser.origin)
            && spec.allows_method(browser.method)
            && browser.headers.is_none_or(|h| spec.allows_headers(h))
            && (!browser.private_network || spec.private_network)
            && (!browser.credentials || spec.credentials);
        prop_assert_eq!(preflight_check(&fetch(&browser), &response).is_ok(), intended, "{:?}", response);
    }

    #[test]
    fn actual_requests_are_safe_and_the_browser_agrees_with_the_policy(spec in spec(), browser in browser()) {
        let policy = Policy::parse(&spec.json()).map_err(|p| TestCaseError::fail(p.to_string()))?;
        let origin = ORIGINS[browser.origin].0;
        let method = if browser.method == "PU T" { "GET" } else { browser.method };
        let request = Request { method: method.as_bytes(), origin: Some(origin.as_bytes()), ..Request::default() };
        let decision = policy.evaluate(&request);
        let Action::Forward(edits) = &decision.action else {
            return Err(TestCaseError::fail("an actual request must be forwarded"));
        };
        assert_safe(&spec, &browser, &request, &decision)?;
        let mut upstream = hostile_upstream();
        edits.apply(&mut upstream);
        prop_assert!(upstream.get("access-control-allow-methods").is_none(), "the upstream's header survived");
        let response = Response { status: 200, headers: upstream.0 };
        let intended = spec.allows_origin(browser.origin) && (!browser.credentials || spec.credentials);
        prop_assert_eq!(cors_check(&fetch(&browser), &response).is_ok(), intended, "{:?}", response);
        prop_assert_eq!(decision.denial.is_none(), spec.allows_origin(browser.origin));
        // The trace (what `corsguard explain` prints) names the entry that decided: `*` when listed
        // (the answer is then `*` for everyone), else the first the hand-written table allows.
        let first = match spec.origins.iter().position(|&e| e == ANY) {
            Some(any) => Some(any),
            None => spec.origins.iter().position(|e| ORIGINS[browser.origin].1.contains(e)),
        };
        prop_assert_eq!(policy.trace(&request).origin_entry, first.map(|i| format!("origins[{i}]")));
    }
}
