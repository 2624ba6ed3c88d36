//! Random paths and hosts against a policy with path and host routes: canonical paths are fixed
//! points, a route is chosen only for requests whose canonical path and host are under it, and
//! each answer comes from the only level that gives it.
#![no_main]

use corsguard::tools::canonical_path;
use corsguard::{Action, Policy, Request, Selected};
use corsguard_fuzz::evaluate_and_check;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const ORIGINS: [&str; 2] = ["https://app.example.com", "https://other.example.com"];
/// Every `origins` entry of the policy, for the shared invariants.
const ENTRIES: [&str; 3] = ["https://app.example.com", "https://other.example.com", "*"];
const PREFIXES: [&str; 3] = ["/admin/", "/public/", "/internal/"];

static POLICY: LazyLock<Policy> = LazyLock::new(|| {
    Policy::parse(
        r#"{"origins": ["https://app.example.com", "https://other.example.com"], "credentials": true,
            "routes": [
                {"path_prefix": "/admin/", "origins": ["https://app.example.com"]},
                {"path_prefix": "/public/", "origins": ["*"], "credentials": false},
                {"path_prefix": "/internal/", "disabled": true},
                {"host": "admin.test:8443", "origins": ["https://app.example.com"]}
            ]}"#,
    )
    .unwrap()
});

/// `path \n host \n flags`, as scripts/fuzz.sh seeds it from every decision vector's path and host
/// (the route-confusion spellings among them) and fuzz/route.dict names the pieces of: flags bit 0
/// is https, bit 1 the other origin.
struct Input<'a> {
    path: &'a [u8],
    host: &'a [u8],
    https: bool,
    other: bool,
}

impl<'a> Input<'a> {
    fn read(data: &'a [u8]) -> Self {
        let mut parts = data.splitn(3, |&b| b == b'\n');
        let (path, host) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let flags = parts.next().and_then(|flags| flags.first().copied()).unwrap_or(0);
        Input { path, host, https: flags & 1 != 0, other: flags & 2 != 0 }
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::read(data);
    if let Some(canonical) = canonical_path(input.path) {
        assert!(canonical.starts_with(b"/"), "{:?}", canonical);
        assert_eq!(canonical_path(&canonical).as_ref(), Some(&canonical), "not a fixed point: {:?}", input.path);
    }
    let request = Request {
        method: b"GET",
        scheme: Some(if input.https { b"https" } else { b"http" }),
        host: input.host,
        path: input.path,
        origin: Some(ORIGINS[usize::from(input.other)].as_bytes()),
        ..Request::default()
    };
    let selected = POLICY.route_for(&request);
    if let Selected::Route(index) = selected {
        let canonical = canonical_path(input.path).expect("a route was chosen for a malformed path");
        match PREFIXES.get(index) {
            // A prefix `/p/` covers `/p` as well.
            Some(prefix) => assert!(
                canonical.starts_with(prefix.as_bytes()) || canonical == prefix.trim_end_matches('/').as_bytes(),
                "{:?} is not under {prefix}",
                input.path
            ),
            None => assert!(input.host.to_ascii_lowercase().starts_with(b"admin.test"), "{:?}", input.host),
        }
    }
    // `*` comes only from /public/, other's origin only from the top level.
    if let Action::Forward(edits) = POLICY.evaluate(&request).action {
        match edits.headers.get("access-control-allow-origin") {
            Some("*") => assert_eq!(selected, Selected::Route(1), "{:?}", input.path),
            Some("https://other.example.com") => assert_eq!(selected, Selected::TopLevel, "{:?}", input.path),
            _ => {}
        }
    }
    evaluate_and_check(&POLICY, &ENTRIES, &request);
});
