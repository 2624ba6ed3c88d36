//! What every source format translates into: each place of the source (a host and path) with the
//! CORS it configures there, or none. From that, the policy as short as a person would write it:
//! the most common CORS at the top level, and a route only where a place differs from it (or where
//! a later, broader route would otherwise catch it), giving only the fields that differ.

use super::documents::At;
use super::report::{Kind, Note};
use serde_json::{Map, Value, json};

/// The CORS one place of the source configures, in corsguard's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cors {
    pub origins: Vec<String>,
    /// Beyond the CORS-safelisted GET, HEAD and POST.
    pub methods: Vec<String>,
    pub request_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub credentials: bool,
    /// Seconds.
    pub max_age: u32,
}

/// A place of the source configuration: what a route matches on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// A host (lowercase), or none for every host.
    pub host: Option<String>,
    /// A canonical path prefix, ending with `/` (which also covers the path without it).
    pub path_prefix: String,
}

impl Place {
    /// Whether every request of `other` is also one of this place's.
    pub fn covers(&self, other: &Place) -> bool {
        (self.host.is_none() || self.host == other.host) && other.path_prefix.starts_with(&self.path_prefix)
    }
}

/// One place and its CORS (none: the source adds no CORS there, and the route is disabled).
#[derive(Clone, Debug)]
pub struct Entry {
    pub place: Place,
    pub cors: Option<Cors>,
}

/// The longest any browser keeps a preflight's answer (Firefox; Chromium 7200 s, WebKit 600 s): a
/// longer max-age is written as this, with the same behaviour in every browser.
const LONGEST_KEPT: u64 = 86_400;

/// A max-age as the policy writes it: at most [`LONGEST_KEPT`], with a note when it was longer.
pub fn max_age(seconds: u64, at: impl ToString, object: &str, notes: &mut Vec<Note>) -> u32 {
    if seconds > LONGEST_KEPT {
        notes.push(Note::new(
            Kind::Exact,
            at,
            format!(
                "{object}: a preflight cache of {seconds} s is written as {LONGEST_KEPT} s: no browser keeps one longer \
                 (Firefox 86400 s, Chromium 7200 s, WebKit 600 s)"
            ),
        ));
    }
    u32::try_from(seconds.min(LONGEST_KEPT)).unwrap_or(u32::MAX)
}

/// How a source matches a request's path.
pub enum PathMatch<'a> {
    Exact(&'a str),
    /// A prefix of the text (`/v1` also matches `/v1x`).
    TextPrefix(&'a str),
    /// A prefix of segments, as corsguard's.
    SegmentPrefix(&'a str),
    Regex,
}

/// A path match (`written` says how: `uri prefix /v1`) as a route's prefix, with a note for what
/// changes; none, noted, when no prefix says it.
pub fn prefix(matched: PathMatch<'_>, written: &str, at: &At, object: &str, notes: &mut Vec<Note>) -> Option<String> {
    let mut said = Vec::new();
    let prefix = match matched {
        PathMatch::Exact(path) => exact_path(path, written, at, object, &mut said),
        PathMatch::TextPrefix(text) => text_prefix(text, written, at, object, &mut said),
        PathMatch::SegmentPrefix(text) => format!("{}/", text.trim_end_matches('/')),
        PathMatch::Regex => {
            let what = format!("{object}: {written}: write the prefix it stands for as a route's path_prefix");
            notes.push(Note::unplaced(at, what));
            return None;
        }
    };
    if let Some(why) = prefix_refusal(&prefix) {
        notes.push(Note::unplaced(at, format!("{object}: {prefix}: {why}")));
        return None;
    }
    notes.extend(said);
    Some(prefix)
}

/// A path matched exactly, as a route's prefix, which also covers the paths below it.
fn exact_path(path: &str, written: &str, at: impl ToString, object: &str, notes: &mut Vec<Note>) -> String {
    let path = path.trim_end_matches('/');
    if !path.is_empty() {
        notes.push(
            Note::new(
                Kind::Changed,
                at,
                format!("{object}: {written}: the path_prefix {path}/ also covers the paths below it"),
            )
            .example(format!("GET {path}/x: another route's answer before, this one's now")),
        );
    }
    format!("{path}/")
}

/// A prefix of the path's text (`/v1`, which also matches `/v1x`), as a route's prefix of segments.
fn text_prefix(text: &str, written: &str, at: impl ToString, object: &str, notes: &mut Vec<Note>) -> String {
    if text.ends_with('/') {
        return text.to_string();
    }
    notes.push(
        Note::new(
            Kind::Changed,
            at,
            format!(
                "{object}: {written} also matched {text}x; the path_prefix {text}/ covers {text} and the paths below it"
            ),
        )
        .example(format!("GET {text}x: this route's answer before, another's now")),
    );
    format!("{text}/")
}

/// Notes a source that echoes every origin with credentials (`how` it comes to: `origin: true with
/// credentials`), written as `*` without them.
pub fn reflected(how: &str, at: impl ToString, object: &str, notes: &mut Vec<Note>) {
    notes.push(
        Note::new(
            Kind::Changed,
            at,
            format!(
                "{object}: {how} echoes every origin with credentials, so any site reads these responses with the \
                 user's cookies; written as * without credentials, which refuses credentialed requests: list the \
                 origins that need them"
            ),
        )
        .example("GET with credentials from Origin: https://attacker.example: read with cookies before, refused now"),
    );
}

/// The note for a source that answered every preflight from an allowed origin with 200, whatever
/// it asked for, and left the refusal to the browser.
pub fn enforced(software: &str, source: &str) -> Note {
    Note::new(
        Kind::Changed,
        source,
        format!(
            "methods and headers are enforced at the edge: {software} answered every preflight from an allowed origin \
             with 200 and left the refusal to the browser; the edge refuses it now (a browser refused it either way)"
        ),
    )
    .example("OPTIONS asking for a method not listed: 200 before, refused at the edge now")
}

/// Notes a match on more than host and path (`headers`, a method): the place can only be written
/// without CORS, which refuses what the source allowed on it but never admits more.
pub fn conditional(on: &str, at: impl ToString, object: &str, notes: &mut Vec<Note>) {
    notes.push(Note::new(
        Kind::NotExpressible,
        at,
        format!(
            "{object}: a match on {on} gives this route's CORS to some requests of its path only, and a corsguard \
             route matches on host and path: give those requests their own path, or the same CORS (with --lossy the \
             path gets no CORS from the edge)"
        ),
    ));
}

/// Whether a method needs listing: not a CORS-safelisted one (GET, HEAD, POST, which need no
/// preflight), nor one browsers never send (CONNECT, TRACE, TRACK).
pub fn needs_listing(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "POST") && !corsguard::tools::is_forbidden_method(method)
}

/// Why the core refuses a policy (each error's message), or none.
pub fn refusal(policy: &Value) -> Option<String> {
    let problems = corsguard::Policy::parse(&policy.to_string()).err()?;
    let errors = problems.iter().filter(|p| p.severity == corsguard::Severity::Error);
    Some(errors.map(|p| p.message.clone()).collect::<Vec<_>>().join("; "))
}

/// Why the core refuses a route's path prefix, or none.
pub fn prefix_refusal(prefix: &str) -> Option<String> {
    refusal(&json!({ "origins": ["*"], "routes": [{ "path_prefix": prefix }] }))
}

/// What an import of one format found: each place with its CORS, the objects read, the
/// documents skipped, and the report's notes.
#[derive(Default)]
pub struct Found {
    pub entries: Vec<Entry>,
    pub objects: Vec<String>,
    pub skipped: Vec<String>,
    pub notes: Vec<Note>,
}

/// The policy for the entries: a route for each place that needs one, the most specific first
/// (the source's longest-prefix match), as corsguard's first-match routes read them. `closed`
/// when some place of the source could not be written: then every place gets its route and a last
/// one turns CORS off for every other request, which would otherwise get the top level's. None
/// when no entry configures CORS at all.
pub fn policy(entries: &[Entry], closed: bool) -> Option<Value> {
    let mut counts: Vec<(&Cors, usize)> = Vec::new();
    for cors in entries.iter().filter_map(|e| e.cors.as_ref()) {
        match counts.iter_mut().find(|(c, _)| *c == cors) {
            Some((_, n)) => *n += 1,
            None => counts.push((cors, 1)),
        }
    }
    // The most common; the first of them on a tie.
    let top = counts.iter().rev().max_by_key(|(_, n)| *n).map(|(cors, _)| *cors)?;
    let mut ordered: Vec<&Entry> = entries.iter().collect();
    ordered
        .sort_by_key(|e| (e.place.host.is_none(), e.place.host.clone(), std::cmp::Reverse(e.place.path_prefix.len())));
    let differs = |e: &Entry| e.cors.as_ref() != Some(top);
    let mut routes = Vec::new();
    for (index, entry) in ordered.iter().enumerate() {
        let shadowed = ordered
            .get(index + 1..)
            .unwrap_or_default()
            .iter()
            .any(|later| differs(later) && later.place.covers(&entry.place));
        if !differs(entry) && !shadowed && !closed {
            continue;
        }
        let mut route = Map::new();
        if let Some(host) = &entry.place.host {
            route.insert("host".into(), json!(host));
        }
        route.insert("path_prefix".into(), json!(entry.place.path_prefix));
        match &entry.cors {
            None => {
                route.insert("disabled".into(), json!(true));
            }
            Some(cors) => route.extend(fields(cors, Some(top)).into_iter().map(|(n, v)| (n.to_string(), v))),
        }
        routes.push(Value::Object(route));
    }
    let everywhere = Place { host: None, path_prefix: "/".into() };
    if closed && !entries.iter().any(|e| e.place == everywhere) {
        routes.push(json!({ "path_prefix": "/", "disabled": true }));
    }
    let mut policy: Map<String, Value> = fields(top, None).into_iter().map(|(n, v)| (n.to_string(), v)).collect();
    if !routes.is_empty() {
        policy.insert("routes".into(), Value::Array(routes));
    }
    Some(Value::Object(policy))
}

/// A CORS's fields as the policy writes them: at the top level (no `base`) those that are not the
/// default, in a route those whose value is not the top level's.
fn fields(cors: &Cors, base: Option<&Cors>) -> Vec<(&'static str, Value)> {
    let all = [
        ("origins", json!(cors.origins), base.map(|b| json!(b.origins))),
        ("methods", json!(cors.methods), base.map_or(Some(json!([])), |b| Some(json!(b.methods)))),
        (
            "request_headers",
            json!(cors.request_headers),
            base.map_or(Some(json!([])), |b| Some(json!(b.request_headers))),
        ),
        ("expose_headers", json!(cors.expose_headers), base.map_or(Some(json!([])), |b| Some(json!(b.expose_headers)))),
        ("credentials", json!(cors.credentials), base.map_or(Some(json!(false)), |b| Some(json!(b.credentials)))),
        ("max_age", json!(cors.max_age), base.map(|b| json!(b.max_age))),
    ];
    all.into_iter().filter(|(_, value, against)| against.as_ref() != Some(value)).map(|(n, v, _)| (n, v)).collect()
}
