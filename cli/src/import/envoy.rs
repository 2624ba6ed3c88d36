//! Envoy's own configuration (a bootstrap, YAML or JSON, or a `RouteConfiguration` alone): the
//! CORS filter's `CorsPolicy` in `typed_per_filter_config` on route configurations, virtual hosts
//! and routes, or the deprecated `cors` of a virtual host or route action, read as the filter
//! merges them ([`super::envoy_cors`] for what one policy does):
//!
//! - Field by field, the route's policy first, then its virtual host's, then the route
//!   configuration's: a list or string from the first level that gives one, a flag from the first
//!   that sets it. The deprecated fields count only where no level has a typed policy.
//! - An HTTP connection manager without the `envoy.filters.http.cors` filter adds no CORS,
//!   whatever its routes say; nor does a route that redirects or answers directly.
//! - `filter_enabled` at 0% turns the filter off on a route; another fraction is not expressible.
//!
//! One place per domain of each virtual host and match of each route: `prefix` is a prefix of the
//! text, `path_separated_prefix` of segments (corsguard's), `path` becomes a prefix; `safe_regex`,
//! and matches on headers or query parameters, are not expressible. Envoy takes the first route of
//! a virtual host that matches.

use super::documents::{Child, Document, Node};
use super::draft::{self, Entry, Found, PathMatch, Place};
use super::envoy_cors::{self, CorsPolicy};
use super::origin_regex::{Anchoring, Matcher, Place as Within};
use super::report::{Kind, Note};
use crate::outcome::Failure;

/// The name the filter is configured under, in `http_filters` and `typed_per_filter_config`.
const FILTER: &str = "envoy.filters.http.cors";

pub fn read(documents: &[Document]) -> Result<Found, Failure> {
    let mut found = Found::default();
    for document in documents {
        let root = Child::root(document);
        let node = root.node();
        if node.get("virtual_hosts")?.is_some() {
            found.objects.push(format!("RouteConfiguration {}", node.string("name")?.unwrap_or_default()));
            route_configuration(&node, true, &mut found)?;
            continue;
        }
        let Some(resources) = node.get("static_resources")? else {
            found
                .skipped
                .push(format!("a document that is neither a bootstrap nor a RouteConfiguration ({})", node.at()));
            continue;
        };
        for listener in resources.node().list("listeners")? {
            let listener = listener.node();
            let name = listener.string("name")?.unwrap_or_default();
            for chain in listener.list("filter_chains")? {
                for filter in chain.node().list("filters")? {
                    let filter = filter.node();
                    let Some(config) = filter.get("typed_config")? else { continue };
                    let config = config.node();
                    let Some(routes) = config.get("route_config")? else {
                        if config.get("rds")?.is_some() {
                            return Err(config.error(
                                "routes come from RDS: import the RouteConfiguration itself (from the admin's /config_dump)",
                            ));
                        }
                        continue;
                    };
                    let cors_filter = config
                        .list("http_filters")?
                        .iter()
                        .any(|f| f.node().string("name").ok().flatten().as_deref() == Some(FILTER));
                    found.objects.push(format!("Listener {name}"));
                    route_configuration(&routes.node(), cors_filter, &mut found)?;
                }
            }
        }
    }
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot(format!(
            "no route of the {} listener(s) or route configuration(s) has a CORS policy that allows an origin: nothing to import",
            found.objects.len()
        )));
    }
    found.notes.splice(0..0, envoy_cors::general_notes(&found, "envoy"));
    Ok(found)
}

/// The policy levels of one request's route, the most specific first: each typed policy, or else
/// each deprecated one.
struct Levels<'d> {
    typed: Vec<Child<'d>>,
    deprecated: Vec<Child<'d>>,
}

fn route_configuration(config: &Node<'_, '_>, cors_filter: bool, found: &mut Found) -> Result<(), Failure> {
    let top = typed(config)?;
    for host in config.list("virtual_hosts")? {
        let host = host.node();
        let name = format!("virtual host {}", host.string("name")?.unwrap_or_default());
        let mut hosts = Vec::new();
        for domain in host.list("domains")? {
            let at = domain.node();
            let domain = domain.value.as_str().ok_or_else(|| at.error("is not a string"))?;
            match domain {
                "*" => hosts.push(None),
                wildcard if wildcard.contains('*') => found.notes.push(Note::unplaced(
                    at.at(),
                    format!("{name}: domain {domain}: a corsguard route matches one host; write a route for each host"),
                )),
                _ => hosts.push(Some(domain.to_ascii_lowercase())),
            }
        }
        let host_typed = typed(&host)?;
        let mut taken: Vec<Place> = Vec::new();
        for route in host.list("routes")? {
            let route = route.node();
            let Some((prefix, conditional)) = prefix(&route, &name, &mut found.notes)? else { continue };
            let action = route.get("route")?;
            let mut levels = Levels { typed: Vec::new(), deprecated: Vec::new() };
            levels.typed.extend(typed(&route)?);
            levels.typed.extend(host_typed.iter().cloned());
            levels.typed.extend(top.iter().cloned());
            if let Some(action) = &action {
                levels.deprecated.extend(action.node().get("cors")?);
            }
            levels.deprecated.extend(host.get("cors")?);
            let cors = if !cors_filter || action.is_none() || conditional {
                None
            } else {
                policy(&levels, &name, &route, found)?
            };
            for host in &hosts {
                let place = Place { host: host.clone(), path_prefix: prefix.clone() };
                if !taken.iter().any(|earlier| earlier.covers(&place)) {
                    taken.push(place.clone());
                    found.entries.push(Entry { place, cors: cors.clone() });
                }
            }
        }
    }
    Ok(())
}

/// A level's typed CORS policy, if it has one.
fn typed<'d>(node: &Node<'d, '_>) -> Result<Option<Child<'d>>, Failure> {
    match node.get("typed_per_filter_config")? {
        None => Ok(None),
        Some(configs) => configs.node().get(FILTER),
    }
}

/// The CORS the merged levels give a route (none: off there).
fn policy(
    levels: &Levels<'_>,
    name: &str,
    route: &Node<'_, '_>,
    found: &mut Found,
) -> Result<Option<draft::Cors>, Failure> {
    let chosen = if levels.typed.is_empty() { &levels.deprecated } else { &levels.typed };
    let Some(first) = chosen.first() else { return Ok(None) };
    let first = first.node();
    if let Some(enabled) = first.get("filter_enabled")? {
        let enabled = enabled.node();
        let numerator = enabled.get("default_value")?.map(|v| v.node().get("numerator")).transpose()?.flatten();
        match numerator.and_then(|n| n.value.as_u64()) {
            Some(0) => return Ok(None),
            Some(100)
                if enabled
                    .get("default_value")?
                    .is_some_and(|v| v.node().string("denominator").ok().flatten().is_none_or(|d| d == "HUNDRED")) => {}
            _ => {
                let what = format!(
                    "{name}: filter_enabled at a fraction applies CORS to some requests only: corsguard applies it to all or none"
                );
                found.notes.push(Note::new(Kind::NotExpressible, enabled.at(), what));
                return Ok(None);
            }
        }
    }
    let mut policy = CorsPolicy { forward_not_matching_preflights: true, ..CorsPolicy::default() };
    let mut origins_set = false;
    let (mut methods, mut headers, mut expose, mut max_age) = (None, None, None, None);
    let (mut credentials, mut forward) = (None, None);
    for level in chosen {
        let level = level.node();
        level.known(&[
            "@type",
            "allow_origin_string_match",
            "allow_methods",
            "allow_headers",
            "expose_headers",
            "max_age",
            "allow_credentials",
            "filter_enabled",
            "shadow_enabled",
            "allow_private_network_access",
            "forward_not_matching_preflights",
        ])?;
        if !origins_set {
            let matchers = level.list("allow_origin_string_match")?;
            if !matchers.is_empty() {
                origins_set = true;
                for matcher in &matchers {
                    policy.origins.push(string_matcher(&matcher.node())?);
                }
            }
        }
        for (slot, key) in [
            (&mut methods, "allow_methods"),
            (&mut headers, "allow_headers"),
            (&mut expose, "expose_headers"),
            (&mut max_age, "max_age"),
        ] {
            if slot.is_none() {
                *slot = level.string(key)?.filter(|v| !v.is_empty());
            }
        }
        for (slot, key) in [(&mut credentials, "allow_credentials"), (&mut forward, "forward_not_matching_preflights")]
        {
            if slot.is_none() {
                *slot = level.get(key)?.map(|flag| boolean(&flag)).transpose()?;
            }
        }
    }
    policy.allow_methods = methods.unwrap_or_default();
    policy.allow_headers = headers.unwrap_or_default();
    policy.expose_headers = expose.unwrap_or_default();
    policy.max_age = max_age.unwrap_or_default();
    policy.credentials = credentials.unwrap_or(false);
    policy.forward_not_matching_preflights = forward.unwrap_or(true);
    Ok(envoy_cors::translate(&policy, name, &route.at(), &mut found.notes))
}

/// A `BoolValue`: `true`, or `{value: true}` as protobuf's JSON also allows.
fn boolean(flag: &Child<'_>) -> Result<bool, Failure> {
    let node = flag.node();
    if let Some(value) = flag.value.as_bool() {
        return Ok(value);
    }
    let inner = node.get("value")?.ok_or_else(|| node.error("is not true or false"))?;
    inner.value.as_bool().ok_or_else(|| inner.node().error("is not true or false"))
}

/// A `StringMatcher`, with how it is written (the origin itself when exact, with case).
fn string_matcher(node: &Node<'_, '_>) -> Result<(Matcher, String), Failure> {
    node.known(&["exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"])?;
    let ignore_case = node.flag("ignore_case")?;
    let case = if ignore_case { ", ignore_case" } else { "" };
    for (key, within) in [
        ("exact", Within::Exact),
        ("prefix", Within::Prefix),
        ("suffix", Within::Suffix),
        ("contains", Within::Contains),
    ] {
        if let Some(text) = node.string(key)? {
            let written = if key == "exact" && !ignore_case { text.clone() } else { format!("{key} {text}{case}") };
            return Ok((Matcher::text(&text, within, ignore_case), written));
        }
    }
    if let Some(regex) = node.get("safe_regex")? {
        if ignore_case {
            return Err(node.error("ignore_case with safe_regex: Envoy refuses this configuration"));
        }
        let regex = regex.node().string("regex")?.ok_or_else(|| regex.node().error("has no regex"))?;
        let matcher =
            Matcher::regex(&regex, Anchoring::Whole).map_err(|why| node.error(format!("regex {regex:?} {why}")))?;
        return Ok((matcher, format!("safe_regex {regex}")));
    }
    Err(node.error("gives none of exact, prefix, suffix, contains and safe_regex"))
}

/// A route's match as a prefix, or none when it cannot be said as one.
/// (With whether it also matches on more than the path: then it gets no CORS.)
fn prefix(route: &Node<'_, '_>, name: &str, notes: &mut Vec<Note>) -> Result<Option<(String, bool)>, Failure> {
    let Some(matched) = route.get("match")? else { return Err(route.error("has no match")) };
    let matched = matched.node();
    let at = matched.at();
    let mut conditional = false;
    for key in ["headers", "query_parameters", "grpc", "runtime_fraction", "dynamic_metadata", "filter_state"] {
        if matched.get(key)?.is_some() {
            draft::conditional(key, &at, name, notes);
            conditional = true;
        }
    }
    if matched.get("case_sensitive")?.is_some_and(|flag| flag.value.as_bool() == Some(false)) {
        let what = format!("{name}: case_sensitive: false: write case_sensitive: false on the route corsguard writes");
        notes.push(Note::unplaced(at, what));
        return Ok(None);
    }
    let (segments, path) = (matched.string("path_separated_prefix")?, matched.string("path")?);
    let (text, regex) =
        (matched.string("prefix")?, matched.get("safe_regex")?.map(|r| r.node().string("regex")).transpose()?);
    let (path_match, written) = match (&segments, &path, &text, &regex) {
        (Some(segments), ..) => (PathMatch::SegmentPrefix(segments), format!("path_separated_prefix {segments}")),
        (_, Some(path), ..) => (PathMatch::Exact(path), format!("path {path}")),
        (_, _, Some(text), _) => (PathMatch::TextPrefix(text), format!("prefix {text}")),
        (.., Some(regex)) => (PathMatch::Regex, format!("safe_regex path {}", regex.as_deref().unwrap_or_default())),
        _ => return Err(matched.error("gives none of prefix, path, path_separated_prefix and safe_regex")),
    };
    Ok(draft::prefix(path_match, &written, &at, name, notes).map(|prefix| (prefix, conditional)))
}
