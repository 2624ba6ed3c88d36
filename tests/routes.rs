//! Property tests for routes: for paths built from route prefixes and hostile segments (escapes,
//! dot segments, doubled and encoded slashes, backslashes, path parameters, case, escaped
//! delimiters, trailing dots and spaces, extensions, full-width forms, overlong UTF-8), the engine
//! never gives a request the answer of a route that some server would not route it to.
//!
//! The servers are modelled here independently of the engine: each decodes, splits and resolves
//! a path its own simple way, written with string operations rather than the engine's scanner.

// A test or benchmark may panic; only the engine must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::tools::canonical_path;
use corsguard::{Action, Decision, Policy, Request, Selected};
use proptest::prelude::*;

const POLICY: &str = r#"{
    "origins": ["https://app.example.com", "https://other.example.com"], "credentials": true,
    "routes": [
        {"path_prefix": "/admin/", "origins": ["https://app.example.com"]},
        {"path_prefix": "/public/", "origins": ["*"], "credentials": false},
        {"path_prefix": "/internal/", "disabled": true}
    ]
}"#;
const OTHER: &str = "https://other.example.com";

const SEGMENTS: [&str; 27] = [
    "admin",
    "Admin",
    "%61dmin",
    "public",
    "internal",
    "api",
    "x",
    "secret",
    "..",
    ".",
    "%2e%2e",
    "%2E.",
    "",
    "..;",
    "admin;v=1",
    "admin%3Bv",
    "%2561dmin",
    "caf\u{e9}",
    "admin.",
    "admin%20",
    "...",
    "admin.json",
    "admin%3F",
    "admin%23x",
    "%EF%BD%81dmin",
    "\u{ff41}dmin",
    "%EF%BC%8E%EF%BC%8E",
];
const SEPARATORS: [&str; 11] = ["/", "/", "//", "%2F", "%2f", "\\", "%5C", "%252F", "%EF%BC%8F", "%3F", "%C0%AF"];

/// Percent-decodes every escape once; `None` for an invalid one.
fn decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Splits on `/`, cuts `;params` if asked, resolves `.` and `..`, drops empty segments.
fn resolve(path: &str, cut_params: bool) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing = false;
    for part in path.split('/').skip(1) {
        let part = if cut_params { part.split(';').next().unwrap() } else { part };
        trailing = matches!(part, "" | "." | "..");
        match part {
            "" | "." => {}
            ".." => drop(kept.pop()),
            name => kept.push(name),
        }
    }
    let mut out = format!("/{}", kept.join("/"));
    if trailing && !kept.is_empty() {
        out.push('/');
    }
    out
}

/// What each modelled server routes on, for a path without query.
fn server_readings(path: &str) -> Vec<String> {
    let mut readings = vec![path.to_string()];
    // Decodes only what RFC 3986 says is safe to decode, then resolves.
    let unreserved = path.replace("%61", "a").replace("%2e", ".").replace("%2E", ".");
    readings.push(resolve(&unreserved, false));
    // nginx: decodes every escape (a decoded \ is a byte of a name), then resolves.
    if let Some(decoded) = decode(path) {
        readings.push(resolve(&decoded, false));
    }
    // Tomcat: cuts ;params at raw semicolons, then decodes (%3B is a byte of a name), then resolves.
    let cut: Vec<&str> = path.split('/').map(|segment| segment.split(';').next().unwrap()).collect();
    if let Some(decoded) = decode(&cut.join("/")) {
        readings.push(resolve(&decoded, false));
    }
    // Decodes every escape, takes \ as /, then resolves (with and without cutting ;params).
    if let Some(decoded) = decode(path) {
        let slashed = decoded.replace('\\', "/");
        readings.push(resolve(&slashed, false));
        readings.push(resolve(&slashed, true));
        // Behind a proxy that decoded once already.
        if let Some(twice) = decode(&decoded) {
            readings.push(resolve(&twice.replace('\\', "/"), true));
        }
    }
    // A proxy that decodes, then splits off a query or a fragment again.
    if let Some(decoded) = decode(path) {
        readings.push(resolve(decoded.split(['?', '#']).next().unwrap(), false));
    }
    // Windows (IIS): decodes, takes \ as /, drops the trailing dots and spaces of every name.
    if let Some(decoded) = decode(path) {
        let names: Vec<&str> = decoded.split(['/', '\\']).collect();
        let trimmed: Vec<&str> =
            names.iter().map(|n| if matches!(*n, "." | "..") { n } else { n.trim_end_matches(['.', ' ']) }).collect();
        readings.push(resolve(&trimmed.join("/"), false));
    }
    // Spring's suffix patterns: the last segment's extension dropped.
    let resolved = resolve(&unreserved, false);
    if let Some((stem, _)) =
        resolved.rsplit_once('.').filter(|(stem, extension)| !extension.contains('/') && !stem.ends_with('/'))
    {
        readings.push(stem.to_string());
    }
    // Unicode normalization (NFKC) of the full-width forms, after decoding.
    if let Some(decoded) = decode(path) {
        let narrow: String = decoded
            .chars()
            .map(|c| match c {
                '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xff01 + 0x21).unwrap(),
                c => c,
            })
            .collect();
        readings.push(resolve(narrow.split(['?', '#']).next().unwrap(), false));
    }
    // An old decoder that reads overlong UTF-8 (`%C0%AF`) as `/`.
    if let Some(decoded) = decode(&path.replace("%C0%AF", "/")) {
        readings.push(resolve(&decoded, false));
    }
    // Routes without case (Express).
    let lowered: Vec<String> = readings.iter().map(|r| r.to_ascii_lowercase()).collect();
    readings.extend(lowered);
    readings
}

fn hostile_path() -> impl Strategy<Value = String> {
    let piece = (prop::sample::select(&SEPARATORS[..]), prop::sample::select(&SEGMENTS[..]));
    (prop::collection::vec(piece, 1..6), prop::bool::ANY).prop_map(|(pieces, query)| {
        let mut path = String::from("/");
        for (index, (separator, segment)) in pieces.iter().enumerate() {
            if index > 0 {
                path.push_str(separator);
            }
            path.push_str(segment);
        }
        if query {
            path.push_str("?next=/admin/");
        }
        path
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// An answer that only one route gives is given only when every server routes there.
    #[test]
    fn no_server_routes_elsewhere_than_the_answer_says(path in hostile_path()) {
        let policy = Policy::parse(POLICY).unwrap();
        let request = Request {
            method: b"GET",
            scheme: Some(b"https"),
            host: b"api.test",
            path: path.as_bytes(),
            origin: Some(OTHER.as_bytes()),
            ..Request::default()
        };
        let decision = policy.evaluate(&request);
        let without_query = path.split('?').next().unwrap();
        let readings = server_readings(without_query);
        // A prefix `/p/` covers `/p` as well, as servers route them alike.
        let under = |prefix: &str| {
            readings.iter().filter(|r| r.starts_with(prefix) || **r == prefix[..prefix.len() - 1]).count()
        };
        match &decision.action {
            // The top level's answer (other is allowed only there): no server serves /admin/.
            Action::Forward(edits) if edits.headers.get("access-control-allow-origin") == Some(OTHER) => {
                prop_assert_eq!(under("/admin/"), 0, "{} read as {:?}", path, readings);
                prop_assert_eq!(under("/public/") + under("/internal/"), 0, "{} read as {:?}", path, readings);
            }
            // The public route's `*`: every server serves /public/.
            Action::Forward(edits) if edits.headers.get("access-control-allow-origin") == Some("*") => {
                prop_assert_eq!(under("/public/"), readings.len(), "{} read as {:?}", path, readings);
            }
            // The disabled route's pass-through: every server serves /internal/.
            Action::PassThrough => {
                prop_assert_eq!(under("/internal/"), readings.len(), "{} read as {:?}", path, readings);
            }
            _ => prop_assert!(allows_nothing(&decision), "{path}: {decision:?}"),
        }
        // What `route_for` says is what the canonical path is under.
        if let (Selected::Route(index), Some(canonical)) = (policy.route_for(&request), canonical_path(path.as_bytes())) {
            let prefix = ["/admin/", "/public/", "/internal/"][index];
            let covered = canonical.starts_with(prefix.as_bytes()) || canonical == prefix.trim_end_matches('/').as_bytes();
            prop_assert!(covered, "{path}");
        }
    }

    /// The canonical form is its own canonical form, and keeps a leading `/`.
    #[test]
    fn canonical_paths_are_fixed_points(path in hostile_path()) {
        if let Some(canonical) = canonical_path(path.as_bytes()) {
            prop_assert!(canonical.starts_with(b"/"));
            prop_assert_eq!(canonical_path(&canonical), Some(canonical.clone()));
        }
    }
}

/// Whether a decision allows nothing: no `Access-Control-Allow-*` header at all.
fn allows_nothing(decision: &Decision) -> bool {
    let headers = match &decision.action {
        Action::Respond { headers, .. } => headers,
        Action::Forward(edits) => &edits.headers,
        Action::PassThrough => return false,
    };
    headers.iter().all(|(name, _)| !name.starts_with("access-control-allow-"))
}
