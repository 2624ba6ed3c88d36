//! One kind of request evaluated N times, for `scripts/bench-core.sh --instructions`, which runs
//! it under callgrind at two values of N: the difference over the extra requests is the engine's
//! instructions per request, a count that the machine's load does not move.
//!
//! `cargo bench --bench instructions -- KIND N`, KIND one of `preflight`, `actual` (the criterion
//! suite's 1-origin policy), `no-routes`, `canonical-path`, `hostile-path` (an actual request under
//! a policy without routes, and under three path routes with an ordinary and a hostile path),
//! `longest-path` (the worst case: 1 KiB that every reading must make, and all agree on),
//! `headers-1` / `headers-10000` (a preflight asking for the last of 1 or 10,000 listed request
//! headers), `label-1` / `label-10000` (an actual request from an origin that the last of 1 or
//! 10,000 preview-deployment patterns matches); and `load-wildcard`, which is no request: the policy
//! `{"origins": ["https://*.example.com"], "credentials": true}` read N times (a wildcard makes the
//! reader consult the public suffix table, which every edge pays once per VM, isolate or instance).

// A test or benchmark may panic; only the engine must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::{Policy, Request};
use std::hint::black_box;

const ORIGIN: &[u8] = b"https://app0.example.com";
const POLICY: &str =
    r#""origins": ["https://app0.example.com"], "credentials": true, "expose_headers": ["X-Request-Id"]"#;
const ROUTES: &str = r#""routes": [{"path_prefix": "/admin/", "origins": []},
    {"path_prefix": "/public/", "origins": ["*"], "credentials": false}, {"path_prefix": "/internal/", "disabled": true}]"#;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (kind, n) = (args[0].as_str(), args[1].parse::<usize>().unwrap());
    if kind == "load-wildcard" {
        for _ in 0..n {
            black_box(Policy::parse(black_box(r#"{"origins": ["https://*.example.com"], "credentials": true}"#)))
                .unwrap();
        }
        return;
    }
    let preflight_policy = r#""methods": ["GET", "POST", "PUT", "DELETE"], "request_headers": ["Content-Type", "Authorization"], "max_age": 7200"#;
    let listed = |n: usize| (0..n).map(|i| format!("\"X-H{i}\"")).collect::<Vec<_>>().join(", ");
    let patterns =
        |n: usize| (0..n).map(|i| format!("\"https://pr-*-t{i}.example.com\"")).collect::<Vec<_>>().join(", ");
    let policy = match kind {
        "preflight" | "actual" => format!("{{{POLICY}, {preflight_policy}}}"),
        "no-routes" => format!(r#"{{{POLICY}, "debug": false}}"#),
        "canonical-path" | "hostile-path" | "longest-path" => format!("{{{POLICY}, {ROUTES}}}"),
        "headers-1" => format!(r#"{{{POLICY}, "methods": ["PUT"], "request_headers": [{}]}}"#, listed(1)),
        "headers-10000" => format!(r#"{{{POLICY}, "methods": ["PUT"], "request_headers": [{}]}}"#, listed(10_000)),
        "label-1" => format!(r#"{{"origins": [{}], "credentials": true}}"#, patterns(1)),
        "label-10000" => format!(r#"{{"origins": [{}], "credentials": true}}"#, patterns(10_000)),
        _ => panic!("unknown kind {kind}"),
    };
    let policy = Policy::parse(&policy).unwrap();
    let last_header = match kind {
        "headers-10000" => "x-h9999",
        _ => "x-h0",
    };
    let label_origin = match kind {
        "label-10000" => "https://pr-7k2-t9999.example.com",
        _ => "https://pr-7k2-t0.example.com",
    };
    let longest = format!("/{}", "a%2Fb%5Cc;d%3Be\\f/".repeat(1024 / 18));
    let path: &[u8] = match kind {
        "hostile-path" => b"/API/v1/..%2Fitems;x=1/%7E",
        "longest-path" => longest.as_bytes(),
        _ => b"/api/items?page=2",
    };
    let request = match kind {
        "headers-1" | "headers-10000" => Request {
            method: b"OPTIONS",
            path,
            origin: Some(ORIGIN),
            request_method: Some(b"PUT"),
            request_headers: Some(last_header.as_bytes()),
            ..Request::default()
        },
        "label-1" | "label-10000" => {
            Request { method: b"GET", path, origin: Some(label_origin.as_bytes()), ..Request::default() }
        }
        "preflight" => Request {
            method: b"OPTIONS",
            path,
            origin: Some(ORIGIN),
            request_method: Some(b"PUT"),
            request_headers: Some(b"content-type,authorization"),
            ..Request::default()
        },
        _ => Request { method: b"GET", path, origin: Some(ORIGIN), ..Request::default() },
    };
    assert!(policy.evaluate(&request).denial.is_none(), "{kind}: the request must be allowed");
    for _ in 0..n {
        let _ = black_box(policy.evaluate(black_box(&request)));
    }
}
