//! The policy's `origins` entries and the matcher they compile into.
//!
//! An entry is an exact origin, `*` (any origin), `null`, or a pattern: `https://*.example.com`
//! (any depth of subdomain, never the apex), `https://pr-*.example.com` (a `*` inside the first
//! label: [`crate::origins::label_pattern`]) and/or `http://localhost:*` (any port). Exact hosts, wildcard
//! parents and label patterns live in hash tables, so a lookup costs one probe per label of the
//! request's host (and per shape of label pattern), whatever the number of origins in the policy.

use crate::origins::label_pattern::{LabelPatterns, Pattern};
use crate::origins::origin::{Malformed, Origin, is_host, parse_port, serialized_host};
use crate::origins::public_suffix::{PublicSuffixes, Reach};
use crate::policy_file::problem::{Code, Problems};
use crate::{HashMap, HashSet};
use alloc::{boxed::Box, format, string::String, vec::Vec};

/// Which ports an entry allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Port {
    /// No port in the origin: the scheme's default.
    Default,
    Exact(u16),
    Any,
}

/// The scheme and port an entry allows for a host (or for the subdomains of a parent), and the
/// entry's index in the list (for tools that say which entry allowed an origin).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Target {
    scheme: Box<str>,
    port: Port,
    entry: usize,
}

impl Target {
    fn allows(&self, origin: &Origin) -> bool {
        *self.scheme == *origin.scheme
            && match (self.port, origin.port) {
                (Port::Default, None) => true,
                (Port::Any, port) => port.is_none_or(|port| parse_port(origin.scheme, port).is_ok()),
                (Port::Exact(want), Some(port)) => parse_port(origin.scheme, port) == Ok(want),
                _ => false,
            }
    }
}

/// The compiled `origins` list.
#[derive(Clone, Debug, Default)]
pub(crate) struct OriginMatcher {
    /// `*`: any origin, answered with a literal `*` (never together with credentials); its index.
    any: Option<usize>,
    /// The opaque origin `null`, allowed only when listed; its index.
    null: Option<usize>,
    /// Exact hosts (`app.example.com`).
    hosts: HashMap<Box<str>, Vec<Target>>,
    /// Wildcard parents with their leading dot (`.example.com` for `https://*.example.com`).
    parents: HashMap<Box<str>, Vec<Target>>,
    /// Patterns with a `*` inside the first label (`pr-*.example.com`).
    labels: LabelPatterns<Target>,
    /// Entries whose wildcard reaches sites anyone can host: their paths, and why.
    pub over_public_suffixes: Vec<(String, String)>,
}

/// What part of the host an entry fixes.
enum Kind<'a> {
    Exact,
    /// `*.parent`: any depth of subdomain.
    Subdomains,
    /// `prefix*suffix.parent`.
    Label(Pattern<'a>),
}

impl OriginMatcher {
    /// Compiles the entries of `origins` at `path`, recording every problem.
    pub fn compile(entries: &[String], path: &str, problems: &mut Problems) -> Self {
        let mut matcher = Self::default();
        let mut seen = HashSet::default();
        let mut suffixes: Option<PublicSuffixes> = None;
        for (index, entry) in entries.iter().enumerate() {
            let at = format!("{path}[{index}]");
            let normalized = entry.to_ascii_lowercase();
            if !seen.insert(Box::<str>::from(normalized.as_str())) {
                problems.warning(&at, Code::ListedTwice, format!("\"{entry}\" is listed twice"));
                continue;
            }
            match normalized.as_str() {
                "*" => matcher.any = Some(index),
                "null" => {
                    matcher.null = Some(index);
                    problems.warning(
                        &at,
                        Code::NullOrigin,
                        "\"null\" is the origin of sandboxed iframes, file: pages and some redirects; \
                         any site can produce it, so allowing it is close to allowing everyone",
                    );
                }
                _ => {
                    match parse_entry(&normalized) {
                        Ok((origin, kind, port)) => {
                            if origin.scheme == "http" && !origin.is_loopback() {
                                problems.warning(&at, Code::PlainHttp, format!("\"{entry}\" is plain http: its responses can be read and altered on the network"));
                            }
                            let target = Target { scheme: Box::from(origin.scheme), port, entry: index };
                            let (parent, table) = match kind {
                                Kind::Exact => (None, Some((&mut matcher.hosts, origin.host))),
                                Kind::Subdomains => {
                                    let parent = origin.host.get(1..).unwrap_or_default();
                                    (Some(parent), Some((&mut matcher.parents, parent)))
                                }
                                Kind::Label(pattern) => {
                                    matcher.labels.insert(pattern, origin.host, target.clone());
                                    (Some(pattern.parent), None)
                                }
                            };
                            if let Some((table, key)) = table {
                                table.entry(Box::from(key)).or_default().push(target);
                            }
                            // The parent without its leading dot: does the wildcard reach public suffixes?
                            let parent = parent.and_then(|p| p.get(1..)).unwrap_or_default();
                            if !parent.is_empty() {
                                let suffixes = suffixes.get_or_insert_with(PublicSuffixes::load);
                                let reach = suffixes.reach(parent);
                                let risk = match (&kind, reach) {
                                    (Kind::Label(_), Reach::Suffix) => Some(format!(
                                        "a pattern over the public suffix \"{parent}\" matches every name of its shape that anyone can get there"
                                    )),
                                    (Kind::Label(pattern), Reach::Above) => suffixes.suffix_below(parent, |label| pattern.fits(label)).map(|below| format!(
                                        "a pattern over \"{parent}\" matches public suffixes ({below}), names whose every site is another tenant's"
                                    )),
                                    (Kind::Subdomains, Reach::Suffix) => Some(format!(
                                        "a wildcard over the public suffix \"{parent}\" trusts every site anyone can host under it"
                                    )),
                                    (Kind::Subdomains, Reach::Above) => Some(format!(
                                        "a wildcard over \"{parent}\" reaches the public suffixes under it, and every site anyone can host there"
                                    )),
                                    _ => None,
                                };
                                if let Some(risk) = risk {
                                    matcher.over_public_suffixes.push((at.clone(), risk));
                                }
                            }
                        }
                        Err((code, reason)) => problems.error(&at, code, format!("\"{entry}\" {reason}")),
                    }
                }
            }
        }
        if matcher.any.is_some() && entries.len() > 1 {
            problems.warning(
                path,
                Code::Redundant,
                "\"*\" already allows every origin; the other entries have no effect",
            );
        }
        matcher
    }

    /// Whether the policy allows any origin (answered with a literal `*`).
    pub fn allows_any(&self) -> bool {
        self.any.is_some()
    }

    /// Whether `null` is listed.
    pub fn allows_null(&self) -> bool {
        self.null.is_some()
    }

    /// The index of the first entry that allows this `Origin` value, if one does: for tools that
    /// explain a decision (every table is searched, so it is slower than [`Self::allows`]).
    pub fn allowing_entry(&self, value: &[u8]) -> Option<usize> {
        if self.any.is_some() {
            return self.any;
        }
        if value == b"null" {
            return self.null;
        }
        let origin = Origin::split_request(value)?;
        let mut first: Option<usize> = None;
        let mut consider = |target: &Target| {
            if target.allows(&origin) && first.is_none_or(|first| target.entry < first) {
                first = Some(target.entry);
            }
        };
        let host = origin.host;
        let parents = host.match_indices('.').filter_map(|(at, _)| host.get(at..));
        for targets in core::iter::once(self.hosts.get(host)).chain(parents.map(|p| self.parents.get(p))).flatten() {
            targets.iter().for_each(&mut consider);
        }
        self.labels.find(host, |target| {
            consider(target);
            false
        });
        first.filter(|_| origin.is_serialized())
    }

    /// Whether a listed origin or pattern covers this origin; `Err(())` when it is not what a
    /// browser serializes.
    pub fn allows(&self, origin: &Origin) -> Result<bool, ()> {
        let hit = |targets: Option<&Vec<Target>>| targets.is_some_and(|t| t.iter().any(|t| t.allows(origin)));
        // The table holds only valid hosts and schemes, and targets check the port: a hit is a
        // valid origin, so the common case skips validating it.
        if hit(self.hosts.get(origin.host)) {
            return Ok(true);
        }
        if !origin.is_serialized() {
            return Err(());
        }
        // Every proper parent of the host, with its leading dot: `.b.example.com`, `.example.com`, `.com`.
        let host = origin.host;
        let under_parent = || {
            !self.parents.is_empty()
                && host
                    .match_indices('.')
                    .filter_map(|(at, _)| host.get(at..))
                    .any(|parent| hit(self.parents.get(parent)))
        };
        Ok(under_parent() || (!self.labels.is_empty() && self.labels.find(host, |t| t.allows(origin))))
    }
}

/// Parses a lowercased entry: the origin, what part of its host is fixed, and its port rule.
/// What an `origins` entry matches: [MDN: Origin] is what it is compared with.
///
/// [MDN: Origin]: https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Origin
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginShape {
    /// `*`: every origin.
    Any,
    /// `null`: the opaque origin.
    Null,
    /// One host (`https://app.example.com`).
    Exact {
        /// `:*`: on any port.
        any_port: bool,
    },
    /// `https://*.example.com`: every subdomain, at any depth, never the apex.
    Subdomains {
        /// `:*`: on any port.
        any_port: bool,
    },
    /// `https://pr-*.example.com`: a `*` inside the first label.
    Label {
        /// `:*`: on any port.
        any_port: bool,
    },
}

/// What an `origins` entry matches, read as the matcher reads it; none for an entry it refuses.
pub(crate) fn shape(entry: &str) -> Option<OriginShape> {
    let normalized = entry.to_ascii_lowercase();
    match normalized.as_str() {
        "*" => Some(OriginShape::Any),
        "null" => Some(OriginShape::Null),
        _ => {
            let (_, kind, port) = parse_entry(&normalized).ok()?;
            let any_port = port == Port::Any;
            Some(match kind {
                Kind::Exact => OriginShape::Exact { any_port },
                Kind::Subdomains => OriginShape::Subdomains { any_port },
                Kind::Label(_) => OriginShape::Label { any_port },
            })
        }
    }
}

fn parse_entry(entry: &str) -> Result<(Origin<'_>, Kind<'_>, Port), (Code, String)> {
    if !entry.is_ascii() {
        return Err((
            Code::NotAscii,
            "is not ASCII; write an internationalized host in its punycode (xn--) form".into(),
        ));
    }
    let origin = Origin::split(entry).map_err(|malformed| explain(malformed, entry))?;
    let port = match origin.port {
        None => Port::Default,
        Some("*") => Port::Any,
        Some(port) => Port::Exact(parse_port(origin.scheme, port).map_err(|malformed| explain(malformed, entry))?),
    };
    let (kind, parent) = match (origin.host.strip_prefix("*."), Pattern::split(origin.host)) {
        (Some(parent), _) => (Kind::Subdomains, parent),
        (None, Some(pattern)) => (Kind::Label(pattern), pattern.parent.get(1..).unwrap_or_default()),
        (None, None) => (Kind::Exact, origin.host),
    };
    let wildcard = |why: &str| Err((Code::BadWildcard, String::from(why)));
    if parent.contains('*') || matches!(kind, Kind::Label(p) if p.suffix.contains('*')) {
        return wildcard(
            "has a wildcard that is not a whole leading label, one * inside the leading label, or the port \
             (patterns look like https://*.example.com, https://pr-*.example.com or http://localhost:*)",
        );
    }
    // A label pattern must make valid hosts: check it with its `*` as one letter.
    let sample = match kind {
        Kind::Label(p) => format!("{}a{}{}", p.prefix, p.suffix, p.parent),
        _ => String::new(),
    };
    if !is_host(parent) || (!sample.is_empty() && !is_host(&sample)) {
        return Err(explain(Malformed::BadHost, entry));
    }
    if !matches!(kind, Kind::Exact) {
        let last_label = parent.rsplit('.').next().unwrap_or_default();
        if parent.starts_with('[') || last_label.bytes().all(|b| b.is_ascii_digit()) {
            return wildcard("puts a wildcard over an IP address; list the addresses");
        }
        if !parent.contains('.') {
            return Err((
                Code::TopLevelWildcard,
                format!("puts a wildcard over the top-level domain \"{parent}\", which allows every site under it"),
            ));
        }
    }
    match serialized_host(parent) {
        Ok(()) => Ok((origin, kind, port)),
        Err(None) => Err((Code::InvalidHost, "has a host no URL can have".into())),
        Err(Some(serialized)) => {
            // `parent` ends the host, and only the port follows the host.
            let end = entry.len().saturating_sub(origin.port.map_or(0, |port| port.len() + 1));
            let (before, after) = (entry.get(..end.saturating_sub(parent.len())), entry.get(end..));
            let written = format!("{}{serialized}{}", before.unwrap_or_default(), after.unwrap_or_default());
            Err((
                Code::NotSerialized,
                format!("is never sent: browsers write this host {serialized} (write \"{written}\")"),
            ))
        }
    }
}

fn explain(malformed: Malformed, entry: &str) -> (Code, String) {
    const SHAPE: &str = "an origin is scheme://host[:port]";
    let not_an_origin = |what: &str| (Code::NotAnOrigin, format!("has {what}; {SHAPE}"));
    match malformed {
        Malformed::NoScheme => not_an_origin("no scheme"),
        Malformed::UserInfo => not_an_origin("user info"),
        Malformed::Path => not_an_origin("a path"),
        Malformed::TrailingSlash => {
            (Code::TrailingSlash, format!("has a trailing slash; {SHAPE} (write \"{}\")", entry.trim_end_matches('/')))
        }
        Malformed::Query => not_an_origin("a query"),
        Malformed::Fragment => not_an_origin("a fragment"),
        Malformed::BadHost => (Code::InvalidHost, "has an invalid host".into()),
        Malformed::BadPort => {
            (Code::InvalidHost, "has an invalid port; a port is 1-65535 without leading zeros, or *".into())
        }
        Malformed::DefaultPort => {
            let without = entry.rsplit_once(':').map_or(entry, |(origin, _)| origin);
            (
                Code::DefaultPort,
                format!("names the scheme's default port, which browsers never send (write \"{without}\")"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// What the engine concludes for a request's `Origin` value: `Err(())` when it is malformed.
    fn allows(matcher: &OriginMatcher, value: &[u8]) -> Result<bool, ()> {
        match value {
            _ if matcher.allows_any() => Ok(true),
            b"null" => Ok(matcher.allows_null()),
            _ => Origin::split_request(value).ok_or(()).and_then(|origin| matcher.allows(&origin)),
        }
    }

    fn matcher(entries: &[&str]) -> OriginMatcher {
        let mut problems = Problems::default();
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        let matcher = OriginMatcher::compile(&entries, "origins", &mut problems);
        assert!(!problems.has_errors(), "{problems}");
        matcher
    }

    #[test]
    fn subdomain_patterns_cover_every_depth_but_never_the_apex() {
        let m = matcher(&["https://*.example.com"]);
        assert_eq!(allows(&m, b"https://a.example.com"), Ok(true));
        assert_eq!(allows(&m, b"https://a.b.c.example.com"), Ok(true));
        assert_eq!(allows(&m, b"https://example.com"), Ok(false));
        assert_eq!(allows(&m, b"https://evilexample.com"), Ok(false));
        assert_eq!(allows(&m, b"https://example.com.evil.com"), Ok(false));
        assert_eq!(allows(&m, b"http://a.example.com"), Ok(false));
        assert_eq!(allows(&m, b"https://a.example.com:8443"), Ok(false));
    }

    #[test]
    fn label_patterns_cover_one_label_of_letters_and_digits() {
        let m = matcher(&["https://pr-*.preview.example.com", "https://*-app.example.com:*"]);
        assert_eq!(allows(&m, b"https://pr-12.preview.example.com"), Ok(true));
        assert_eq!(allows(&m, b"https://pr-.preview.example.com"), Ok(false));
        assert_eq!(allows(&m, b"https://pr-1-2.preview.example.com"), Ok(false));
        assert_eq!(allows(&m, b"http://pr-12.preview.example.com"), Ok(false));
        assert_eq!(allows(&m, b"https://pr-12.preview.example.com:8443"), Ok(false));
        assert_eq!(allows(&m, b"https://x-app.example.com:8443"), Ok(true));
        assert_eq!(allows(&m, b"https://a.x-app.example.com"), Ok(false));
    }

    #[test]
    fn port_patterns_cover_every_port() {
        let m = matcher(&["http://localhost:*", "https://*.example.com:*"]);
        assert_eq!(allows(&m, b"http://localhost:3000"), Ok(true));
        assert_eq!(allows(&m, b"http://localhost"), Ok(true));
        assert_eq!(allows(&m, b"https://localhost:3000"), Ok(false));
        assert_eq!(allows(&m, b"https://a.example.com:8443"), Ok(true));
        assert_eq!(allows(&m, b"http://localhost:0"), Err(()));
    }

    #[test]
    fn exact_entries_compare_with_what_browsers_send() {
        let m = matcher(&["https://App.Example.com", "http://localhost:8080", "null"]);
        assert_eq!(allows(&m, b"https://app.example.com"), Ok(true));
        assert_eq!(allows(&m, b"https://App.Example.com"), Err(()));
        assert_eq!(allows(&m, b"http://localhost:8080"), Ok(true));
        assert_eq!(allows(&m, b"http://localhost:8081"), Ok(false));
        assert_eq!(allows(&m, b"null"), Ok(true));
        assert_eq!(allows(&matcher(&["https://a.com"]), b"null"), Ok(false));
    }

    #[test]
    fn custom_scheme_origins_match_exactly() {
        // Found by the origin fuzz target: schemes may hold `+`, `-` and `.`.
        let m = matcher(&["app+custom://lppo", "chrome-extension://abcdef"]);
        assert_eq!(allows(&m, b"app+custom://lppo"), Ok(true));
        assert_eq!(allows(&m, b"chrome-extension://abcdef"), Ok(true));
        assert_eq!(allows(&m, b"app+custom://other"), Ok(false));
    }

    #[test]
    fn bad_entries_are_explained() {
        let cases = [
            (
                "https://example.com/",
                "has a trailing slash; an origin is scheme://host[:port] (write \"https://example.com\")",
            ),
            ("https://example.com/api", "has a path"),
            ("example.com", "has no scheme"),
            ("https://user@example.com", "has user info"),
            ("https://example.com:443", "default port"),
            ("https://*.com", "top-level domain"),
            ("https://a.*.example.com", "wildcard that is not a whole leading label"),
            ("https://*example.com", "top-level domain"),
            ("https://a*b*c.example.com", "wildcard that is not a whole leading label"),
            ("https://a*.b*.example.com", "wildcard that is not a whole leading label"),
            ("https://pr-*.10.0.0.1", "IP address"),
            ("https://*.10.0.0.1", "IP address"),
            ("https://exämple.com", "punycode"),
            ("https://example.com:99999", "invalid port"),
        ];
        for (entry, want) in cases {
            let reason = parse_entry(&entry.to_ascii_lowercase()).err().unwrap_or((Code::Mode, String::new())).1;
            assert!(reason.contains(want), "{entry}: {reason}");
        }
    }
}
