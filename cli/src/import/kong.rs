//! Kong's `cors` plugin (3.x, read as `kong/plugins/cors/handler.lua` runs it), from a decK
//! declarative configuration (`deck gateway dump`: services, their routes, and plugins on each or
//! global) or from `KongPlugin`/`KongClusterPlugin` objects:
//!
//! - `origins` unset, empty or with a `*`: every origin, echoed with credentials when
//!   `credentials` is set. One plain entry (letters, digits, `.:/-` only) is sent as it is to
//!   every request, so a browser allows that one origin. Otherwise a plain entry is an exact
//!   origin, and any other is a regex anchored at both ends, matched against the host alone when
//!   it has no `:` (any scheme, any port).
//! - `headers` unset echoes whatever is asked; `methods` default to all nine; `max_age` unset
//!   sends none. Kong answers every preflight itself unless `preflight_continue`.
//!
//! One place per host and path of each route: a route's plugin first, then its service's, then a
//! global one. A path is a prefix of the text; a regex path (`~`) and a match on methods or headers
//! are not expressible.

use super::documents::{At, Child, Document, Node};
use super::draft::{self, Cors, Entry, Found, PathMatch, Place};
use super::kubernetes;
use super::origin_regex::{self, Anchoring, Matcher, Place as Within};
use super::report::{Kind, Note};
use crate::outcome::Failure;

const DEFAULT_METHODS: [&str; 9] = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"];
/// A browser's preflight cache when no `Access-Control-Max-Age` is sent.
const BROWSER_DEFAULT_MAX_AGE: u64 = 5;

pub fn read(documents: &[Document]) -> Result<Found, Failure> {
    let mut found = Found::default();
    for document in documents.iter().filter(|d| is_declarative(d)) {
        deck(&Child::root(document).node(), &mut found)?;
        found.objects.push(format!("decK configuration {}#{}", document.file, document.index));
    }
    let plugins = documents.iter().filter(|d| !is_declarative(d));
    for object in kubernetes::objects(plugins, &["KongPlugin", "KongClusterPlugin"], &mut found.skipped)? {
        let node = object.child.node();
        if node.string("plugin")?.as_deref() != Some("cors")
            || node.get("disabled")?.is_some_and(|d| d.value.as_bool() == Some(true))
        {
            found.skipped.push(format!("{} (not an enabled cors plugin)", object.title()));
            continue;
        }
        let config = node.get("config")?;
        let cors = translate(config.as_ref().map(Child::node).as_ref(), &object.title(), &node.at(), &mut found.notes)?;
        found.entries.push(Entry { place: Place { host: None, path_prefix: "/".into() }, cors });
        found.objects.push(object.title());
    }
    let plugins = found.entries.iter().filter(|e| e.place == Place { host: None, path_prefix: "/".into() }).count();
    if plugins > 1 {
        return Err(Failure::Cannot(format!(
            "{plugins} cors plugins apply everywhere (global, or KongPlugins whose attachments are not read): import \
             one at a time, or the decK configuration that says where each applies"
        )));
    }
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot("no enabled cors plugin allows an origin: nothing to import".into()));
    }
    found.notes.insert(0, draft::enforced("Kong", "kong"));
    Ok(found)
}

fn is_declarative(document: &Document) -> bool {
    document.value.get("_format_version").is_some() || document.value.get("services").is_some()
}

/// The enabled `cors` plugin among a level's `plugins`, if there is one.
fn plugin<'d>(node: &Node<'d, '_>) -> Result<Option<Child<'d>>, Failure> {
    for plugin in node.list("plugins")? {
        let p = plugin.node();
        let enabled = p.get("enabled")?.is_none_or(|e| e.value.as_bool() != Some(false));
        if p.string("name")?.as_deref() == Some("cors") && enabled {
            return Ok(Some(plugin));
        }
    }
    Ok(None)
}

fn deck(root: &Node<'_, '_>, found: &mut Found) -> Result<(), Failure> {
    // Each plugin read once, by the level it is on.
    let read = |owner: &str, level: &Node<'_, '_>, found: &mut Found| -> Result<Option<Option<Cors>>, Failure> {
        let Some(chosen) = plugin(level)? else { return Ok(None) };
        let chosen = chosen.node();
        let config = chosen.get("config")?;
        translate(config.as_ref().map(Child::node).as_ref(), owner, &chosen.at(), &mut found.notes).map(Some)
    };
    let global = read("the global cors plugin", root, found)?;
    for service in root.list("services")? {
        let service = service.node();
        let service_name = service.string("name")?.unwrap_or_default();
        let on_service = read(&format!("service {service_name}"), &service, found)?;
        for route in service.list("routes")? {
            let route = route.node();
            let name = format!("route {}", route.string("name")?.unwrap_or_else(|| service_name.clone()));
            let on_route = read(&name, &route, found)?;
            let cors = on_route.or_else(|| on_service.clone()).or_else(|| global.clone()).flatten();
            places(&route, &name, cors, found)?;
        }
    }
    Ok(())
}

/// A route's places, each with the CORS it gets.
fn places(route: &Node<'_, '_>, name: &str, mut cors: Option<Cors>, found: &mut Found) -> Result<(), Failure> {
    for key in ["methods", "headers", "snis", "sources", "destinations"] {
        if route.get(key)?.is_some() {
            draft::conditional(key, route.at(), name, &mut found.notes);
            cors = None;
        }
    }
    if route.get("expression")?.is_some() {
        let what = format!("{name}: an expression route: write its host and path as a route by hand");
        found.notes.push(Note::unplaced(route.at(), what));
        return Ok(());
    }
    let mut hosts = Vec::new();
    for host in route.list("hosts")? {
        let text = host.value.as_str().ok_or_else(|| host.node().error("is not a string"))?;
        if text.contains('*') {
            let what = format!("{name}: host {text}: a corsguard route matches one host; write a route for each host");
            found.notes.push(Note::unplaced(host.node().at(), what));
        } else {
            hosts.push(Some(text.to_ascii_lowercase()));
        }
    }
    if route.get("hosts")?.is_none() {
        hosts.push(None);
    }
    let mut prefixes = Vec::new();
    for path in route.list("paths")? {
        let at = path.node().at();
        let text = path.value.as_str().ok_or_else(|| path.node().error("is not a string"))?;
        let (matched, written) = match text.strip_prefix('~') {
            Some(regex) => (PathMatch::Regex, format!("the regex path {regex}")),
            None => (PathMatch::TextPrefix(text), format!("path {text}")),
        };
        prefixes.extend(draft::prefix(matched, &written, &at, name, &mut found.notes));
    }
    if route.get("paths")?.is_none() {
        prefixes.push("/".into());
    }
    for prefix in &prefixes {
        for host in &hosts {
            let place = Place { host: host.clone(), path_prefix: prefix.clone() };
            found.entries.push(Entry { place, cors: cors.clone() });
        }
    }
    Ok(())
}

/// A plugin's `config` in corsguard's terms; none when it allows no origin.
fn translate(
    config: Option<&Node<'_, '_>>,
    object: &str,
    at: &At,
    notes: &mut Vec<Note>,
) -> Result<Option<Cors>, Failure> {
    if let Some(config) = config {
        config.known(&[
            "origins",
            "methods",
            "headers",
            "exposed_headers",
            "credentials",
            "max_age",
            "preflight_continue",
            "private_network",
            "allow_origin_absent",
        ])?;
    }
    // Unset, every field takes its default.
    let get = |key: &str| -> Result<Option<Child<'_>>, Failure> {
        match config {
            Some(config) => config.get(key),
            None => Ok(None),
        }
    };
    let list = |key: &str| -> Result<Option<Vec<String>>, Failure> {
        match config {
            Some(config) if config.get(key)?.is_some() => config.texts(key).map(Some),
            _ => Ok(None),
        }
    };
    let mut credentials = config.map(|c| c.flag("credentials")).transpose()?.unwrap_or(false);
    let written = list("origins")?.unwrap_or_default();
    let origins = if written.is_empty() || written.iter().any(|o| o == "*") {
        if credentials {
            credentials = false;
            draft::reflected("origins unset or *: Kong", at, object, notes);
        }
        vec!["*".to_string()]
    } else {
        let plain = |o: &str| o.bytes().all(|b| b.is_ascii_alphanumeric() || b".:/-".contains(&b));
        let mut matchers = Vec::new();
        for origin in &written {
            let matcher = if plain(origin) {
                let normalized = origin.strip_suffix(":443").filter(|_| origin.starts_with("https://"));
                let normalized =
                    normalized.or_else(|| origin.strip_suffix(":80").filter(|_| origin.starts_with("http://")));
                Matcher::text(normalized.unwrap_or(origin), Within::Exact, false)
            } else {
                let regex = origin.strip_prefix('^').unwrap_or(origin);
                let regex = regex.strip_suffix('$').unwrap_or(regex);
                let pattern = if origin.contains(':') {
                    regex.to_string()
                } else {
                    format!("[a-z][a-z0-9+.-]*://(?:{regex})(?::[0-9]+)?")
                };
                Matcher::regex(&pattern, Anchoring::Whole)
                    .map_err(|why| Failure::Cannot(format!("{at}: {object}: regex {origin:?} {why}")))?
            };
            matchers.push(matcher);
        }
        let findings = origin_regex::translate(&matchers);
        let mut entries = Vec::new();
        for (finding, origin) in findings.iter().zip(&written) {
            entries.extend(finding.entries().iter().cloned());
            let written = if plain(origin) { origin.clone() } else { format!("regex {origin}") };
            notes.extend(origin_regex::note(finding, &written, object, at));
        }
        origin_regex::shortest(entries)
    };
    if origins.is_empty() {
        return Ok(None);
    }
    if get("preflight_continue")?.is_some_and(|f| f.value.as_bool() == Some(true)) {
        notes.push(
            Note::new(
                Kind::Changed,
                at,
                format!(
                    "{object}: preflight_continue: preflights went on to the service; they are answered at the edge now"
                ),
            )
            .example("OPTIONS with Access-Control-Request-Method: the service's answer before, the edge's now"),
        );
    }
    let mut methods = list("methods")?.unwrap_or_else(|| DEFAULT_METHODS.map(String::from).to_vec());
    methods.retain(|m| draft::needs_listing(m));
    let request_headers = match list("headers")?.filter(|h| !h.is_empty()) {
        Some(headers) => headers,
        None if credentials => {
            notes.push(Note::new(
                Kind::NotExpressible,
                at,
                format!(
                    "{object}: without headers Kong echoes whatever headers are asked, with credentials; corsguard \
                     lists them with credentials: give headers (with --lossy, none)"
                ),
            ));
            Vec::new()
        }
        None => vec!["*".to_string()],
    };
    let max_age = match get("max_age")? {
        None => BROWSER_DEFAULT_MAX_AGE,
        Some(age) => age.value.as_u64().ok_or_else(|| age.node().error("is not a whole number of seconds"))?,
    };
    Ok(Some(Cors {
        origins,
        methods,
        request_headers,
        expose_headers: list("exposed_headers")?.unwrap_or_default(),
        credentials,
        max_age: draft::max_age(max_age, at, object, notes),
    }))
}
