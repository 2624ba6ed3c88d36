//! The probe set: requests a browser would send, derived from the policy's view. Each origin entry
//! with its near misses, each method and request header and one unlisted, credentials, private
//! network, and each route from inside, just outside and through other spellings.

use corsguard::tools::{Entry, PolicyView};
use corsguard_browser::{self as browser, Fetch};
use std::collections::BTreeSet;

/// An origin no policy lists: what an attacker's page is.
pub(super) const STRANGER: &str = "https://corsguard-verify.invalid";
/// A request header no policy lists.
pub(super) const UNLISTED_HEADER: &str = "X-Corsguard-Verify";
/// The path of cases at the top level, and the last segment of paths inside a route.
pub(super) const LEAF: &str = "corsguard-verify";

/// One request a browser would send, and why it is in the set.
pub(super) struct Case {
    pub(super) why: String,
    pub(super) preflight: bool,
    pub(super) path: String,
    /// The `Host` to send instead of the URL's (a route's host, and its other spellings).
    pub(super) host: Option<String>,
    pub(super) fetch: Fetch,
}

impl Case {
    pub(super) fn label(&self) -> String {
        let request = if self.preflight { format!("preflight {}", self.fetch.method) } else { "GET".to_string() };
        format!("{}: {request} from {}", self.why, self.fetch.origin)
    }

    /// The header lines sent: what a browser sends, never a cookie.
    pub(super) fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![("Origin".to_string(), self.fetch.origin.clone())];
        if let Some(host) = &self.host {
            headers.push(("Host".to_string(), host.clone()));
        }
        if self.preflight {
            headers.push(("Access-Control-Request-Method".to_string(), self.fetch.method.clone()));
            if let Some(names) = self.fetch.request_headers_value() {
                headers.push(("Access-Control-Request-Headers".to_string(), names));
            }
            if self.fetch.private_network {
                headers.push(("Access-Control-Request-Private-Network".to_string(), "true".to_string()));
            }
        }
        headers.push(("Sec-Fetch-Mode".to_string(), "cors".to_string()));
        headers
    }

    pub(super) fn method(&self) -> &'static str {
        if self.preflight { "OPTIONS" } else { "GET" }
    }
}

/// One level of the policy (the top level or an enabled route) as the cases see it: what it
/// lists (inherited from the top level where it gives nothing) and a request inside it.
struct Level<'v> {
    name: String,
    path: String,
    host: Option<String>,
    origins: Vec<&'v str>,
    methods: Vec<&'v str>,
    request_headers: Vec<&'v str>,
}

fn texts(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.text.as_str()).collect()
}

/// The path inside a route's prefix.
fn inside(prefix: &str) -> String {
    if prefix.ends_with('/') { format!("{prefix}{LEAF}") } else { format!("{prefix}/{LEAF}") }
}

pub(super) fn cases(view: &PolicyView) -> Vec<Case> {
    let top = view.top();
    let top_origins: Vec<&str> = top.origins.value.iter().map(|o| o.text.as_str()).collect();
    let mut levels = vec![Level {
        name: "top level".into(),
        path: format!("/{LEAF}"),
        host: None,
        origins: top_origins.clone(),
        methods: texts(&top.methods.value),
        request_headers: texts(&top.request_headers.value),
    }];
    let mut cases = Vec::new();
    for route in view.routes() {
        let name = route.path.clone();
        let prefix = route.path_prefix.as_deref();
        let host = route.host.clone();
        let path = prefix.map_or_else(|| format!("/{LEAF}"), inside);
        if route.disabled {
            let origin = top_origins.iter().find_map(|o| allowed(o)).unwrap_or_else(|| STRANGER.to_string());
            cases.push(Case {
                why: format!("{name} is disabled: the upstream answers"),
                preflight: false,
                path,
                host,
                fetch: get(&origin),
            });
            continue;
        }
        let level = Level {
            name: name.clone(),
            path,
            host,
            origins: route.origins.value.iter().map(|o| o.text.as_str()).collect(),
            methods: texts(&route.methods.value),
            request_headers: texts(&route.request_headers.value),
        };
        let origin = level.origins.iter().find_map(|o| allowed(o)).unwrap_or_else(|| STRANGER.to_string());
        if let Some(prefix) = prefix {
            for (why, path) in path_variants(prefix, route.case_sensitive) {
                for (who, origin) in [("its origin", origin.as_str()), ("a stranger", STRANGER)] {
                    cases.push(Case {
                        why: format!("{name}, {why}, {who}"),
                        preflight: false,
                        path: path.clone(),
                        host: level.host.clone(),
                        fetch: get(origin),
                    });
                }
                cases.push(Case {
                    why: format!("{name}, {why}"),
                    preflight: true,
                    path,
                    host: level.host.clone(),
                    fetch: preflight(&origin, "PUT"),
                });
            }
        }
        if let Some(host) = &route.host {
            for (why, variant) in host_variants(host) {
                for (who, origin) in [("its origin", origin.as_str()), ("a stranger", STRANGER)] {
                    cases.push(Case {
                        why: format!("{name}, {why}, {who}"),
                        preflight: false,
                        path: level.path.clone(),
                        host: Some(variant.clone()),
                        fetch: get(origin),
                    });
                }
                cases.push(Case {
                    why: format!("{name}, {why}"),
                    preflight: true,
                    path: level.path.clone(),
                    host: Some(variant),
                    fetch: preflight(&origin, "PUT"),
                });
            }
        }
        levels.push(level);
    }
    let mut seen_origins = BTreeSet::new();
    for level in &levels {
        level_cases(level, &mut seen_origins, &mut cases);
    }
    cases
}

fn get(origin: &str) -> Fetch {
    Fetch {
        origin: origin.to_string(),
        method: "GET".into(),
        headers: Vec::new(),
        credentials: false,
        private_network: false,
    }
}

fn preflight(origin: &str, method: &str) -> Fetch {
    Fetch { method: method.to_string(), ..get(origin) }
}

/// Every case of one level: its origin entries with their near misses, its methods and request
/// headers and one unlisted of each, credentials, private network.
fn level_cases(level: &Level, seen_origins: &mut BTreeSet<String>, cases: &mut Vec<Case>) {
    let case = |why: String, preflight: bool, fetch: Fetch| Case {
        why: format!("{}, {why}", level.name),
        preflight,
        path: level.path.clone(),
        host: level.host.clone(),
        fetch,
    };
    for entry in &level.origins {
        let mut probes: Vec<(String, String)> = allowed(entry).map(|o| (entry.to_string(), o)).into_iter().collect();
        probes.extend(near_misses(entry).into_iter().map(|(miss, origin)| (format!("{miss} of {entry}"), origin)));
        for (why, origin) in probes {
            if !seen_origins.insert(format!("{}{origin}", level.name)) {
                continue;
            }
            cases.push(case(why.clone(), false, get(&origin)));
            cases.push(case(why, true, preflight(&origin, "PUT")));
        }
    }
    if seen_origins.insert(format!("{}{STRANGER}", level.name)) {
        cases.push(case("an unlisted origin".into(), false, get(STRANGER)));
    }
    let Some(origin) = level.origins.iter().find_map(|o| allowed(o)) else { return };
    cases.push(case("with credentials".into(), false, Fetch { credentials: true, ..get(&origin) }));
    let unsafe_methods: Vec<&str> =
        level.methods.iter().copied().filter(|m| !browser::is_safelisted_method(m) && *m != "*").collect();
    for method in &unsafe_methods {
        cases.push(case(format!("method {method}"), true, preflight(&origin, method)));
    }
    if let Some(unlisted) = ["PATCH", "PUT", "DELETE", "PROPFIND"].iter().find(|m| !level.methods.contains(m)) {
        cases.push(case(format!("unlisted method {unlisted}"), true, preflight(&origin, unlisted)));
    }
    let with_header = |name: &str| Fetch { headers: vec![(name.to_string(), None)], ..get(&origin) };
    for name in level.request_headers.iter().filter(|n| **n != "*") {
        cases.push(case(format!("request header {name}"), true, with_header(name)));
    }
    cases.push(case(format!("unlisted request header {UNLISTED_HEADER}"), true, with_header(UNLISTED_HEADER)));
    let method = unsafe_methods.first().copied().unwrap_or("PUT");
    cases.push(case(
        format!("method {method} with credentials"),
        true,
        Fetch { credentials: true, ..preflight(&origin, method) },
    ));
    cases.push(case("private network".into(), true, Fetch { private_network: true, ..get(&origin) }));
}

/// `scheme`, `host` and `port` of an origin entry (`*` in either where the entry has one).
fn split(entry: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = entry.split_once("://")?;
    Some(match rest.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (scheme, host, Some(port)),
        _ => (scheme, rest, None),
    })
}

fn join(scheme: &str, host: &str, port: Option<&str>) -> String {
    match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// An origin the entry allows, as a browser sends it.
fn allowed(entry: &str) -> Option<String> {
    match entry {
        "*" => return Some("https://corsguard-verify.example".into()),
        "null" => return Some("null".into()),
        _ => {}
    }
    let (scheme, host, port) = split(entry)?;
    let host = match host.strip_prefix("*.") {
        Some(parent) => format!("{LEAF}.{parent}"),
        None => host.replace('*', "7"),
    };
    Some(join(scheme, &host, port.map(|p| if p == "*" { "5173" } else { p })))
}

/// Origins one label, one scheme or one port away from what the entry allows: where a matcher
/// that compares prefixes, suffixes or substrings lets an attacker in (a suffix attack appends to
/// the allowed host, a prefix attack prepends to it).
fn near_misses(entry: &str) -> Vec<(String, String)> {
    let (Some((scheme, host, port)), Some(origin)) = (split(entry), allowed(entry)) else { return Vec::new() };
    let Some((_, allowed_host, allowed_port)) = split(&origin) else { return Vec::new() };
    let other_scheme = if scheme == "https" { "http" } else { "https" };
    let mut misses = vec![
        ("suffix attack".to_string(), join(scheme, &format!("{allowed_host}.{LEAF}.invalid"), allowed_port)),
        ("another scheme".to_string(), join(other_scheme, allowed_host, allowed_port)),
    ];
    match host.strip_prefix("*.") {
        Some(parent) => {
            misses.push(("the wildcard's apex".into(), join(scheme, parent, allowed_port)));
            misses.push(("prefix attack".into(), join(scheme, &format!("{LEAF}{parent}"), allowed_port)));
        }
        None => misses.push(("prefix attack".into(), join(scheme, &format!("{LEAF}{allowed_host}"), allowed_port))),
    }
    match port {
        Some("*") => misses.push(("no port".into(), join(scheme, allowed_host, None))),
        Some(port) => {
            let other = port.parse::<u16>().map_or(8443, |p| p.wrapping_add(1).max(1));
            misses.push(("another port".into(), join(scheme, allowed_host, Some(&other.to_string()))));
        }
        None => misses.push(("another port".into(), join(scheme, allowed_host, Some("8443")))),
    }
    misses
}

/// A route's prefix and the paths around it: inside, just outside, and spellings that servers
/// read as inside or outside (the policy decides which, the edges must agree).
fn path_variants(prefix: &str, case_sensitive: bool) -> Vec<(String, String)> {
    let trimmed = prefix.trim_end_matches('/');
    let mut variants = vec![("inside".to_string(), inside(prefix))];
    if !trimmed.is_empty() {
        if prefix.ends_with('/') {
            variants.push(("the prefix without its slash".into(), trimmed.to_string()));
        }
        variants.push(("a sibling path".into(), format!("{trimmed}-{LEAF}/")));
    }
    if case_sensitive && prefix.bytes().any(|b| b.is_ascii_lowercase()) {
        variants.push(("in capitals".into(), inside(&prefix.to_ascii_uppercase())));
    }
    let inner = trimmed.rfind('/').filter(|&last| last > 0);
    if let Some((before, after)) =
        inner.and_then(|last| Some((trimmed.get(..last)?, inside(prefix).get(last + 1..)?.to_string())))
    {
        variants.push(("with an escaped slash".into(), format!("{before}%2F{after}")));
    }
    if !trimmed.is_empty() {
        variants.push(("with an escaped slash after the prefix".into(), format!("{trimmed}%2F{LEAF}")));
    }
    variants
}

/// A route's host and its other spellings: a trailing dot, capitals, a subdomain, another port.
fn host_variants(host: &str) -> Vec<(String, String)> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') => (name, Some(port)),
        _ => (host, None),
    };
    let with = |name: &str| port.map_or_else(|| name.to_string(), |p| format!("{name}:{p}"));
    vec![
        ("its host".to_string(), with(name)),
        ("its host with a trailing dot".into(), with(&format!("{name}."))),
        ("its host in capitals".into(), with(&name.to_ascii_uppercase())),
        ("a subdomain of its host".into(), with(&format!("{LEAF}.{name}"))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(entry: &str) -> Vec<String> {
        near_misses(entry).into_iter().map(|(_, origin)| origin).collect()
    }

    #[test]
    fn every_kind_of_entry_gets_an_allowed_origin_and_its_near_misses() {
        assert_eq!(allowed("https://app.example.com").as_deref(), Some("https://app.example.com"));
        assert_eq!(allowed("https://*.example.com").as_deref(), Some("https://corsguard-verify.example.com"));
        assert_eq!(allowed("https://pr-*.preview.example.com").as_deref(), Some("https://pr-7.preview.example.com"));
        assert_eq!(allowed("http://localhost:*").as_deref(), Some("http://localhost:5173"));
        assert_eq!(allowed("*").as_deref(), Some("https://corsguard-verify.example"));
        assert_eq!(allowed("null").as_deref(), Some("null"));
        assert_eq!(
            origins("https://app.example.com"),
            [
                "https://app.example.com.corsguard-verify.invalid",
                "http://app.example.com",
                "https://corsguard-verifyapp.example.com",
                "https://app.example.com:8443",
            ]
        );
        assert_eq!(
            origins("https://*.example.com"),
            [
                "https://corsguard-verify.example.com.corsguard-verify.invalid",
                "http://corsguard-verify.example.com",
                "https://example.com",
                "https://corsguard-verifyexample.com",
                "https://corsguard-verify.example.com:8443",
            ]
        );
        assert_eq!(
            origins("http://localhost:*"),
            [
                "http://localhost.corsguard-verify.invalid:5173",
                "https://localhost:5173",
                "http://corsguard-verifylocalhost:5173",
                "http://localhost",
            ]
        );
        assert_eq!(origins("http://127.0.0.1:8080")[3], "http://127.0.0.1:8081");
        assert!(origins("*").is_empty() && origins("null").is_empty());
    }

    #[test]
    fn a_route_is_probed_inside_just_outside_and_in_other_spellings() {
        let paths: Vec<String> = path_variants("/api/v1/", true).into_iter().map(|(_, path)| path).collect();
        assert_eq!(
            paths,
            [
                "/api/v1/corsguard-verify",
                "/api/v1",
                "/api/v1-corsguard-verify/",
                "/API/V1/corsguard-verify",
                "/api%2Fv1/corsguard-verify",
                "/api/v1%2Fcorsguard-verify",
            ]
        );
        assert_eq!(path_variants("/", true).len(), 1, "the root has no outside");
        let hosts: Vec<String> = host_variants("api.example.com:8443").into_iter().map(|(_, host)| host).collect();
        assert_eq!(
            hosts,
            [
                "api.example.com:8443",
                "api.example.com.:8443",
                "API.EXAMPLE.COM:8443",
                "corsguard-verify.api.example.com:8443"
            ]
        );
    }

    #[test]
    fn the_probe_set_covers_each_level_and_sends_no_cookie() {
        let policy = PolicyView::parse(
            r#"{"origins": ["https://app.example.com"], "methods": ["PUT"], "request_headers": ["X-Token"],
                "routes": [{"path_prefix": "/internal/", "disabled": true}, {"host": "admin.example.com"}]}"#,
        )
        .unwrap();
        let cases = cases(&policy);
        let labels: Vec<String> = cases.iter().map(Case::label).collect();
        for wanted in [
            "routes[0] is disabled: the upstream answers: GET from https://app.example.com",
            "top level, method PUT: preflight PUT from https://app.example.com",
            "top level, unlisted method PATCH: preflight PATCH from https://app.example.com",
            "top level, request header X-Token: preflight GET from https://app.example.com",
            "routes[1], its host with a trailing dot: preflight PUT from https://app.example.com",
        ] {
            assert!(labels.iter().any(|l| l == wanted), "{wanted}: {labels:#?}");
        }
        for case in &cases {
            let headers = case.headers();
            assert!(
                headers
                    .iter()
                    .all(|(n, _)| !n.eq_ignore_ascii_case("cookie") && !n.eq_ignore_ascii_case("authorization"))
            );
            assert!(matches!(case.method(), "GET" | "OPTIONS"));
        }
    }
}
