//! Istio `VirtualService` `corsPolicy` (networking.istio.io v1 and v1beta1/v1alpha3), read as
//! istiod translates it (`pilot/pkg/networking/core/route/route.go`, `TranslateCORSPolicy`) into
//! Envoy's CORS filter on each route ([`super::envoy_cors`]):
//!
//! - `allowOrigins` entries are `exact`, `prefix` or `regex` (RE2, the whole value), matched with
//!   case; the deprecated `allowOrigin` strings are exact. None: no origin is allowed.
//! - `allowMethods`, `allowHeaders` and `exposeHeaders` are joined with commas; `maxAge` is whole
//!   seconds; a preflight from an origin not allowed is forwarded unless `unmatchedPreflights:
//!   IGNORE`.
//! - CORS is per `http` route, and the first route that matches a request takes it.
//!
//! One place per host and `match` of each route: `uri.prefix` is a prefix of the text (corsguard's
//! is a prefix of segments), `uri.exact` becomes a prefix, `uri.regex` and matches on anything but
//! the path are not expressible.

use super::documents::{Child, Document, Node};
use super::draft::{self, Entry, Found, PathMatch, Place};
use super::envoy_cors::{self, CorsPolicy};
use super::kubernetes;
use super::origin_regex::{Anchoring, Matcher, Place as Within};
use super::report::Note;
use crate::outcome::Failure;

pub fn read(documents: &[Document]) -> Result<Found, Failure> {
    let mut found = Found::default();
    for object in kubernetes::objects(documents, &["VirtualService"], &mut found.skipped)? {
        virtual_service(&object.child.node(), &object.title(), &mut found)?;
        found.objects.push(object.title());
    }
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot(format!(
            "no route of the {} VirtualService(s) has a corsPolicy that allows an origin: nothing to import",
            found.objects.len()
        )));
    }
    found.notes.splice(0..0, envoy_cors::general_notes(&found, "istio"));
    Ok(found)
}

fn virtual_service(node: &Node<'_, '_>, object: &str, found: &mut Found) -> Result<(), Failure> {
    let Some(spec) = node.get("spec")? else { return Ok(()) };
    let spec = spec.node();
    let mut hosts = Vec::new();
    for host in spec.list("hosts")? {
        let at = host.node();
        let serde_yaml_ng::Value::String(host) = host.value else { return Err(at.error("is not a string")) };
        match host.as_str() {
            "*" => hosts.push(None),
            wildcard if wildcard.starts_with("*.") => found.notes.push(Note::unplaced(
                at.at(),
                format!(
                    "{object}: host {host}: a corsguard route matches one host; write a route for each host under it"
                ),
            )),
            _ => hosts.push(Some(host.to_ascii_lowercase())),
        }
    }
    // The places earlier routes took: a request goes to the first route that matches it.
    let mut taken: Vec<Place> = Vec::new();
    for route in spec.list("http")? {
        let route = route.node();
        let cors = match route.get("corsPolicy")? {
            None => None,
            Some(config) => {
                envoy_cors::translate(&policy(&config.node())?, object, &config.node().at(), &mut found.notes)
            }
        };
        let matches = route.list("match")?;
        let prefixes = if matches.is_empty() {
            vec![Some(("/".to_string(), false))]
        } else {
            matches.iter().map(|m| prefix(&m.node(), object, &mut found.notes)).collect::<Result<_, _>>()?
        };
        for (prefix, conditional) in prefixes.into_iter().flatten() {
            for host in &hosts {
                let place = Place { host: host.clone(), path_prefix: prefix.clone() };
                if taken.iter().any(|earlier| earlier.covers(&place)) {
                    continue;
                }
                taken.push(place.clone());
                let cors = if conditional { None } else { cors.clone() };
                found.entries.push(Entry { place, cors });
            }
        }
    }
    Ok(())
}

/// A match's path as a prefix, or none when the match cannot be said as one.
/// (With whether it also matches on more than the path: then it gets no CORS.)
fn prefix(matched: &Node<'_, '_>, object: &str, notes: &mut Vec<Note>) -> Result<Option<(String, bool)>, Failure> {
    let serde_yaml_ng::Value::Mapping(fields) = matched.value else { return Err(matched.error("is not a mapping")) };
    let others: Vec<&str> =
        fields.keys().filter_map(|k| k.as_str()).filter(|k| !matches!(*k, "uri" | "name")).collect();
    let conditional = !others.is_empty();
    if conditional {
        draft::conditional(&others.join(", "), matched.at(), object, notes);
    }
    let Some(uri) = matched.get("uri")? else { return Ok(Some(("/".into(), conditional))) };
    let uri = uri.node();
    let at = uri.at();
    let (exact, text, regex) = (uri.string("exact")?, uri.string("prefix")?, uri.string("regex")?);
    let (matched, written) = match (&exact, &text, &regex) {
        (Some(exact), ..) => (PathMatch::Exact(exact), format!("uri exact {exact}")),
        (_, Some(text), _) => (PathMatch::TextPrefix(text), format!("uri prefix {text}")),
        (.., Some(regex)) => (PathMatch::Regex, format!("uri regex {regex}")),
        _ => return Err(uri.error("gives none of exact, prefix and regex")),
    };
    Ok(draft::prefix(matched, &written, &at, object, notes).map(|prefix| (prefix, conditional)))
}

/// The Envoy policy istiod makes of a `corsPolicy`.
fn policy(config: &Node<'_, '_>) -> Result<CorsPolicy, Failure> {
    config.known(&[
        "allowOrigins",
        "allowOrigin",
        "allowMethods",
        "allowHeaders",
        "exposeHeaders",
        "maxAge",
        "allowCredentials",
        "unmatchedPreflights",
    ])?;
    let mut origins = Vec::new();
    let listed = config.list("allowOrigins")?;
    for item in &listed {
        origins.push(string_match(item)?);
    }
    if config.get("allowOrigins")?.is_none() {
        for origin in config.texts("allowOrigin")? {
            origins.push((Matcher::text(&origin, Within::Exact, false), origin));
        }
    }
    let credentials = config.flag("allowCredentials")?;
    let max_age = match config.get("maxAge")? {
        None => String::new(),
        Some(age) => {
            let text = age.value.as_str().ok_or_else(|| age.node().error("is not a duration (\"24h\")"))?;
            kubernetes::duration_seconds(text)
                .ok_or_else(|| age.node().error(format!("{text:?} is not a duration (\"24h\", \"90s\")")))?
                .to_string()
        }
    };
    let forward = match config.string("unmatchedPreflights")?.as_deref() {
        None | Some("FORWARD" | "UNSPECIFIED") => true,
        Some("IGNORE") => false,
        Some(other) => return Err(config.error(format!("unmatchedPreflights {other:?} is not FORWARD or IGNORE"))),
    };
    Ok(CorsPolicy {
        origins,
        allow_methods: config.texts("allowMethods")?.join(","),
        allow_headers: config.texts("allowHeaders")?.join(","),
        expose_headers: config.texts("exposeHeaders")?.join(","),
        max_age,
        credentials,
        forward_not_matching_preflights: forward,
    })
}

/// A `StringMatch`: `exact`, `prefix` or `regex`, with how it is written.
fn string_match(item: &Child<'_>) -> Result<(Matcher, String), Failure> {
    let node = item.node();
    node.known(&["exact", "prefix", "regex"])?;
    if let Some(exact) = node.string("exact")? {
        return Ok((Matcher::text(&exact, Within::Exact, false), exact));
    }
    if let Some(prefix) = node.string("prefix")? {
        return Ok((Matcher::text(&prefix, Within::Prefix, false), format!("prefix {prefix}")));
    }
    if let Some(regex) = node.string("regex")? {
        let matcher =
            Matcher::regex(&regex, Anchoring::Whole).map_err(|why| node.error(format!("regex {regex:?} {why}")))?;
        return Ok((matcher, format!("regex {regex}")));
    }
    Err(node.error("gives none of exact, prefix and regex"))
}
