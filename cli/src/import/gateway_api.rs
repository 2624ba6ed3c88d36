//! Gateway API `HTTPRoute`s with a `CORS` filter (Standard channel since v1.5, read as v1.6's
//! `HTTPCORSFilter` documents it):
//!
//! - `allowOrigins`: `*` alone, or `scheme://host[:port]` whose host may start with `*.`, a greedy
//!   match of any number of labels (corsguard's `*.`); a missing port is the scheme's default. With
//!   `allowCredentials: true`, `*` echoes every origin with credentials.
//! - `allowMethods` and `allowHeaders`: `*` alone allows any, echoed with credentials; GET, HEAD and
//!   POST are always allowed. `maxAge` is 5 s when unset.
//! - The gateway answers every preflight itself; a rule without the filter leaves CORS to the
//!   application.
//!
//! One place per hostname and path match of each rule: `PathPrefix` is element-wise (corsguard's
//! segment prefix), `Exact` becomes a prefix, `RegularExpression` is not expressible.

use super::documents::{Child, Document};
use super::draft::{self, Cors, Entry, Found, PathMatch, Place};
use super::kubernetes::{self, Object};
use super::report::{Kind, Note};
use crate::outcome::Failure;
use serde_json::json;

/// The fields of `HTTPCORSFilter` (and of Envoy Gateway's `cors`, which has the same).
pub const FIELDS: [&str; 6] =
    ["allowOrigins", "allowCredentials", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge"];

/// `maxAge` when the filter does not give it.
const DEFAULT_MAX_AGE: u64 = 5;

pub fn read(documents: &[Document]) -> Result<Found, Failure> {
    let mut found = Found::default();
    let routes = kubernetes::objects(documents, &["HTTPRoute"], &mut found.skipped)?;
    read_routes(&routes, &mut found, &mut |_, _| None)?;
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot(format!(
            "no rule of the {} HTTPRoute(s) has a CORS filter: nothing to import",
            found.objects.len()
        )));
    }
    if found.entries.iter().filter_map(|e| e.cors.as_ref()).any(|c| c.origins != ["*"]) {
        found.notes.insert(
            0,
            Note::new(
                Kind::Changed,
                "gateway-api",
                "Vary: Origin is sent with answers that depend on the Origin: the Gateway API does not require it, \
                 so a shared cache could hand one origin's answer to another",
            ),
        );
    }
    Ok(found)
}

/// A rule of a route, for CORS attached to it from outside the route (Envoy Gateway's
/// SecurityPolicy): the route, the rule's name, and the Gateways (and listeners) it is attached to.
pub struct Rule<'r> {
    pub route: &'r Object<'r>,
    /// The route's labels.
    pub labels: &'r [(String, String)],
    pub name: Option<String>,
    pub parents: &'r [Parent],
}

/// A Gateway a route is attached to (`parentRefs`), and the listener when it names one.
pub struct Parent {
    pub namespace: String,
    pub name: String,
    pub section: Option<String>,
}

/// Each route's places; a rule without a CORS filter gets what `attached` gives it.
pub fn read_routes(
    routes: &[Object<'_>],
    found: &mut Found,
    attached: &mut dyn FnMut(&Rule<'_>, &mut Vec<Note>) -> Option<Cors>,
) -> Result<(), Failure> {
    for object in routes {
        route(object, found, attached)?;
        found.objects.push(object.title());
    }
    Ok(())
}

fn route(
    route: &Object<'_>,
    found: &mut Found,
    attached: &mut dyn FnMut(&Rule<'_>, &mut Vec<Note>) -> Option<Cors>,
) -> Result<(), Failure> {
    let object = &route.title();
    let node = route.child.node();
    let Some(spec) = node.get("spec")? else { return Ok(()) };
    let spec = spec.node();
    let labels: Vec<(String, String)> = match node.get("metadata")? {
        Some(metadata) => metadata.node().strings("labels")?.into_iter().map(|(k, v, _)| (k, v)).collect(),
        None => Vec::new(),
    };
    let mut parents = Vec::new();
    for parent in spec.list("parentRefs")? {
        let parent = parent.node();
        parents.push(Parent {
            namespace: parent.string("namespace")?.unwrap_or_else(|| route.namespace.clone()),
            name: parent.string("name")?.unwrap_or_default(),
            section: parent.string("sectionName")?,
        });
    }
    let mut hosts = Vec::new();
    for hostname in spec.list("hostnames")? {
        let at = hostname.node();
        let serde_yaml_ng::Value::String(host) = hostname.value else { return Err(at.error("is not a string")) };
        if host.starts_with("*.") {
            found.notes.push(Note::unplaced(
                at.at(),
                format!("hostname {host}: a corsguard route matches one host; write a route for each host under it"),
            ));
        } else {
            hosts.push(Some(host.to_ascii_lowercase()));
        }
    }
    if spec.get("hostnames")?.is_none() {
        hosts.push(None);
    }
    for rule in spec.list("rules")? {
        let rule = rule.node();
        let mut cors = None;
        let mut filtered = false;
        for filter in rule.list("filters")? {
            let filter = filter.node();
            if filter.string("type")?.as_deref() == Some("CORS") {
                let Some(config) = filter.get("cors")? else { return Err(filter.error("a CORS filter needs cors")) };
                cors = Some(translate(object, &config, &mut found.notes)?);
                filtered = true;
            }
        }
        if !filtered {
            cors = attached(
                &Rule { route, labels: &labels, name: rule.string("name")?, parents: &parents },
                &mut found.notes,
            );
        }
        let matches = rule.list("matches")?;
        let paths = if matches.is_empty() { vec![None] } else { matches.iter().map(Some).collect() };
        for matched in paths {
            let Some(prefix) = place(matched, object, &mut found.notes)? else { continue };
            for host in &hosts {
                let place = Place { host: host.clone(), path_prefix: prefix.clone() };
                found.entries.push(Entry { place, cors: cors.clone() });
            }
        }
    }
    Ok(())
}

/// A match's path as a prefix (`PathPrefix` `/` when it gives none), or none when it cannot be said.
fn place(matched: Option<&Child<'_>>, object: &str, notes: &mut Vec<Note>) -> Result<Option<String>, Failure> {
    let Some(matched) = matched else { return Ok(Some("/".into())) };
    let matched = matched.node();
    let Some(path) = matched.get("path")? else { return Ok(Some("/".into())) };
    let path = path.node();
    let kind = path.string("type")?.unwrap_or_else(|| "PathPrefix".into());
    let value = path.string("value")?.unwrap_or_else(|| "/".into());
    let path_match = match kind.as_str() {
        "PathPrefix" => PathMatch::SegmentPrefix(&value),
        "Exact" => PathMatch::Exact(&value),
        "RegularExpression" => PathMatch::Regex,
        other => return Err(path.error(format!("type {other:?} is not PathPrefix, Exact or RegularExpression"))),
    };
    Ok(draft::prefix(path_match, &format!("{value} ({kind})"), &path.at(), object, notes))
}

/// The filter's `cors` in corsguard's terms, with a note for each point that is not the same.
fn translate(object: &str, config: &Child<'_>, notes: &mut Vec<Note>) -> Result<Cors, Failure> {
    let config = config.node();
    config.known(&FIELDS)?;
    let at = config.at();
    let credentials = config.flag("allowCredentials")?;
    let mut origins = Vec::new();
    let written = config.texts("allowOrigins")?;
    let star = written.iter().any(|o| o == "*");
    let credentials = if star && credentials {
        draft::reflected("allowOrigins * with allowCredentials: true", &at, object, notes);
        false
    } else {
        credentials
    };
    if star {
        origins.push("*".to_string());
    }
    for origin in written.iter().filter(|o| *o != "*") {
        match translate_origin(origin) {
            Ok(written) => {
                if names_default_port(origin) {
                    let what = format!(
                        "{object}: {origin:?} is written {written:?}: the Gateway API assumes the default port, and browsers leave it out"
                    );
                    notes.push(Note::new(Kind::Exact, &at, what));
                }
                origins.push(written);
            }
            Err(why) => notes.push(Note::new(Kind::NotExpressible, &at, format!("{object}: {why}"))),
        }
    }
    // A list field; with credentials, `*` (which the gateway echoes as anything) cannot be said.
    let mut listed = |key: &str, field: &str| -> Result<Vec<String>, Failure> {
        let mut list = config.texts(key)?;
        if key == "allowMethods" {
            list.retain(|m| m == "*" || draft::needs_listing(m));
        }
        if credentials && list.iter().any(|v| v == "*") {
            notes.push(Note::new(
                Kind::NotExpressible,
                &at,
                format!(
                    "{object}: {key} * with allowCredentials: true allows (echoes) anything; corsguard's {field} lists \
                     names with credentials: list the ones your pages use (with --lossy, none)"
                ),
            ));
            list.retain(|v| v != "*");
        }
        Ok(list)
    };
    let methods = listed("allowMethods", "methods")?;
    let request_headers = listed("allowHeaders", "request_headers")?;
    let expose_headers = listed("exposeHeaders", "expose_headers")?;
    let max_age = match config.get("maxAge")? {
        None => DEFAULT_MAX_AGE,
        Some(age) => age.value.as_u64().ok_or_else(|| age.node().error("is not a whole number of seconds"))?,
    };
    let max_age = draft::max_age(max_age, &at, object, notes);
    Ok(Cors { origins, methods, request_headers, expose_headers, credentials, max_age })
}

/// An origin in corsguard's terms (lowercase, without the scheme's default port), or why not.
fn translate_origin(origin: &str) -> Result<String, String> {
    let lower = origin.to_ascii_lowercase();
    let Some((scheme, rest)) = lower.split_once("://") else {
        return Err(format!("{origin:?} is not scheme://host[:port]"));
    };
    if rest == "*" || rest.starts_with("*:") {
        return Err(format!("{origin:?} allows every {scheme} origin: write * (every origin) or list the origins"));
    }
    let default = if scheme == "https" { ":443" } else { ":80" };
    let written = format!("{scheme}://{}", rest.strip_suffix(default).unwrap_or(rest));
    match draft::refusal(&json!({ "origins": [written] })) {
        None => Ok(written),
        Some(why) => Err(format!("{origin:?}: {why}")),
    }
}

/// Whether an origin names its scheme's default port, which browsers leave out of `Origin`.
fn names_default_port(origin: &str) -> bool {
    let lower = origin.to_ascii_lowercase();
    (lower.starts_with("https://") && lower.ends_with(":443"))
        || (lower.starts_with("http://") && lower.ends_with(":80"))
}
