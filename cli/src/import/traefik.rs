//! Traefik's headers middleware (v3.6.22 / v3.7.6 and later, read as
//! `pkg/middlewares/headers/header.go` runs it), from Kubernetes objects (`Middleware` and the
//! `IngressRoute`s that use it, traefik.io/v1alpha1) or a file provider's dynamic configuration
//! (`http.middlewares` and `http.routers`):
//!
//! - `accessControlAllowOriginList` entries are matched exactly, with case; `*` allows every
//!   origin, echoed with credentials when `accessControlAllowCredentials` is set (older versions
//!   sent `*`, which a browser refuses with credentials). `accessControlAllowOriginListRegex`
//!   entries are Go regexes that match anywhere in the origin.
//! - Methods and headers are sent as listed (`*` with credentials echoes what is asked); none
//!   listed, none sent. `accessControlMaxAge` unset sends none. Traefik answers every preflight
//!   itself, and sends `Vary: Origin` only with `addVaryHeader`.
//!
//! One place per router that uses such a middleware: its rule's `Host` and `PathPrefix` or `Path`,
//! joined by `&&`; any other rule is not expressible.

use super::documents::{At, Child, Document, Node};
use super::draft::{self, Cors, Entry, Found, PathMatch, Place};
use super::kubernetes;
use super::origin_regex::{self, Anchoring, Matcher, Place as Within};
use super::report::{Kind, Note};
use crate::outcome::Failure;
use regex::Regex;

/// The headers middleware's CORS fields.
const CORS_FIELDS: [&str; 8] = [
    "accessControlAllowCredentials",
    "accessControlAllowHeaders",
    "accessControlAllowMethods",
    "accessControlAllowOriginList",
    "accessControlAllowOriginListRegex",
    "accessControlExposeHeaders",
    "accessControlMaxAge",
    "addVaryHeader",
];

/// A browser's preflight cache when no `Access-Control-Max-Age` is sent.
const BROWSER_DEFAULT_MAX_AGE: u64 = 5;

/// A middleware with CORS: its name and what it gives.
struct Middleware {
    name: String,
    cors: Option<Cors>,
    vary: bool,
}

pub fn read(documents: &[Document]) -> Result<Found, Failure> {
    let mut found = Found::default();
    let mut middlewares = Vec::new();
    // A router: its name, rule, middlewares' names, and where it is.
    let mut routers: Vec<(String, String, Vec<String>, At)> = Vec::new();
    let file_config = |d: &&Document| d.value.get("http").is_some();
    for document in documents.iter().filter(file_config) {
        let root = Child::root(document);
        let http = root.node().get("http")?.ok_or_else(|| root.node().error("has no http"))?;
        let http = http.node();
        if let Some(defined) = http.get("middlewares")? {
            for (name, middleware) in entries(&defined.node())? {
                if let Some(headers) = middleware.node().get("headers")? {
                    middlewares.push(middleware_of(&name, &headers.node(), &mut found.notes)?);
                }
            }
        }
        if let Some(defined) = http.get("routers")? {
            for (name, router) in entries(&defined.node())? {
                let router = router.node();
                let rule = router.string("rule")?.ok_or_else(|| router.error("has no rule"))?;
                let used = router.list("middlewares")?;
                let used =
                    used.iter().filter_map(|m| m.value.as_str()).map(|m| m.split('@').next().unwrap_or(m).to_string());
                routers.push((format!("router {name}"), rule, used.collect(), router.at()));
            }
        }
        found.objects.push(format!("dynamic configuration {}#{}", document.file, document.index));
    }
    let objects = kubernetes::objects(
        documents.iter().filter(|d| !file_config(d)),
        &["Middleware", "IngressRoute"],
        &mut found.skipped,
    )?;
    for object in &objects {
        let node = object.child.node();
        let Some(spec) = node.get("spec")? else { continue };
        let spec = spec.node();
        if object.kind == "Middleware" {
            if let Some(headers) = spec.get("headers")? {
                middlewares.push(middleware_of(&object.name, &headers.node(), &mut found.notes)?);
            }
        } else {
            for (index, route) in spec.list("routes")?.iter().enumerate() {
                let route = route.node();
                let rule = route.string("match")?.ok_or_else(|| route.error("has no match"))?;
                let used = route.list("middlewares")?;
                let used = used.iter().map(|m| m.node().string("name")).collect::<Result<Vec<_>, _>>()?;
                routers.push((
                    format!("{} route {index}", object.title()),
                    rule,
                    used.into_iter().flatten().collect(),
                    route.at(),
                ));
            }
        }
        found.objects.push(object.title());
    }
    let with_cors: Vec<&Middleware> = middlewares.iter().filter(|m| m.cors.is_some()).collect();
    if routers.is_empty() {
        match with_cors.as_slice() {
            [one] => found
                .entries
                .push(Entry { place: Place { host: None, path_prefix: "/".into() }, cors: one.cors.clone() }),
            [] => {}
            more => {
                return Err(Failure::Cannot(format!(
                    "{} middlewares with CORS and no router that says where each applies: import one at a time, or \
                     with the routers (IngressRoutes, or the dynamic configuration's http.routers)",
                    more.len()
                )));
            }
        }
    }
    for (name, rule, used, at) in &routers {
        let given: Vec<&Middleware> = middlewares.iter().filter(|m| used.contains(&m.name)).collect();
        let cors = given.iter().rev().find_map(|m| m.cors.clone());
        if let Some((place, conditional)) = place(name, rule, at, &mut found.notes) {
            found.entries.push(Entry { place, cors: if conditional { None } else { cors } });
        }
    }
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot("no router uses a headers middleware with CORS: nothing to import".into()));
    }
    found.notes.insert(0, draft::enforced("Traefik", "traefik"));
    let origin_dependent = |m: &&Middleware| m.cors.as_ref().is_some_and(|c| c.origins != ["*"]);
    if middlewares.iter().filter(origin_dependent).any(|m| !m.vary) {
        found.notes.insert(
            0,
            Note::new(
                Kind::Changed,
                "traefik",
                "Vary: Origin is sent with answers that depend on the Origin: without addVaryHeader Traefik did not \
                 send it, so a shared cache could hand one origin's answer to another",
            ),
        );
    }
    Ok(found)
}

/// A mapping's entries by name.
fn entries<'d>(node: &Node<'d, '_>) -> Result<Vec<(String, Child<'d>)>, Failure> {
    let serde_yaml_ng::Value::Mapping(map) = node.value else { return Err(node.error("is not a mapping")) };
    map.keys()
        .map(|key| {
            let name = key.as_str().ok_or_else(|| node.error("has a key that is not a string"))?;
            let child = node.get(name)?.ok_or_else(|| node.error(format!("{name} is empty")))?;
            Ok((name.to_string(), child))
        })
        .collect()
}

/// A router's rule as a place: `Host` and `PathPrefix` or `Path` joined by `&&`, with whether it
/// also matches on more (then it gets no CORS); none when it cannot be said.
fn place(name: &str, rule: &str, at: &At, notes: &mut Vec<Note>) -> Option<(Place, bool)> {
    let term = Regex::new(r"^\s*(\w+)\(\s*`([^`]*)`\s*\)\s*$").ok()?;
    let mut place = Place { host: None, path_prefix: "/".into() };
    let mut conditions = Vec::new();
    let mut path = None;
    for part in rule.split("&&") {
        let found = term.captures(part).filter(|_| !part.contains("||"));
        let Some((matcher, value)) = found.as_ref().and_then(|f| Some((f.get(1)?.as_str(), f.get(2)?.as_str()))) else {
            let what = format!(
                "{name}: the rule {rule}: a corsguard route matches on one host and a path prefix: write the rule as \
                 Host(`...`) && PathPrefix(`...`), or a route by hand"
            );
            notes.push(Note::unplaced(at, what));
            return None;
        };
        match matcher {
            "Host" => place.host = Some(value.to_ascii_lowercase()),
            "PathPrefix" => path = Some((PathMatch::TextPrefix(value), format!("PathPrefix({value})"))),
            "Path" => path = Some((PathMatch::Exact(value), format!("Path({value})"))),
            "Method" | "Header" | "HeaderRegexp" | "Query" | "QueryRegexp" | "ClientIP" => conditions.push(matcher),
            _ => {
                let what = format!("{name}: {matcher} in the rule {rule}: write the route by hand");
                notes.push(Note::unplaced(at, what));
                return None;
            }
        }
    }
    if let Some((matched, written)) = path {
        place.path_prefix = draft::prefix(matched, &written, at, name, notes)?;
    }
    if !conditions.is_empty() {
        draft::conditional(&conditions.join(", "), at, name, notes);
    }
    Some((place, !conditions.is_empty()))
}

fn middleware_of(name: &str, headers: &Node<'_, '_>, notes: &mut Vec<Note>) -> Result<Middleware, Failure> {
    let object = format!("middleware {name}");
    let at = headers.at();
    // Of the many headers fields, those about CORS must be ones Traefik has.
    if let serde_yaml_ng::Value::Mapping(fields) = headers.value {
        let cors = fields.keys().filter_map(|k| k.as_str()).find(|k| {
            let lower = k.to_ascii_lowercase();
            (lower.starts_with("accesscontrol") || lower.starts_with("addvary")) && !CORS_FIELDS.contains(k)
        });
        if let Some(unknown) = cors {
            return Err(headers
                .error(format!("{unknown:?} is not a CORS field of Traefik's headers ({})", CORS_FIELDS.join(", "))));
        }
    }
    let listed = headers.texts("accessControlAllowOriginList")?;
    let regexes = headers.texts("accessControlAllowOriginListRegex")?;
    let vary = headers.flag("addVaryHeader")?;
    if listed.is_empty() && regexes.is_empty() {
        return Ok(Middleware { name: name.to_string(), cors: None, vary });
    }
    let mut credentials = headers.flag("accessControlAllowCredentials")?;
    let origins = if listed.iter().any(|o| o == "*") {
        if credentials {
            credentials = false;
            draft::reflected("* with accessControlAllowCredentials", &at, &object, notes);
        }
        vec!["*".to_string()]
    } else {
        let mut matchers: Vec<(Matcher, String)> =
            listed.iter().map(|o| (Matcher::text(o, Within::Exact, false), o.clone())).collect();
        for regex in &regexes {
            let matcher = Matcher::regex(regex, Anchoring::Anywhere)
                .map_err(|why| Failure::Cannot(format!("{at}: {object}: regex {regex:?} {why}")))?;
            matchers.push((matcher, format!("regex {regex}")));
        }
        let findings = origin_regex::translate(&matchers.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>());
        let mut entries = Vec::new();
        for (finding, (_, written)) in findings.iter().zip(&matchers) {
            entries.extend(finding.entries().iter().cloned());
            notes.extend(origin_regex::note(finding, written, &object, &at));
        }
        origin_regex::shortest(entries)
    };
    if origins.is_empty() {
        return Ok(Middleware { name: name.to_string(), cors: None, vary });
    }
    let mut listed_or_echoed = |key: &str, field: &str| -> Result<Vec<String>, Failure> {
        let list = headers.texts(key)?;
        if !list.iter().any(|v| v == "*") || !credentials {
            return Ok(list);
        }
        notes.push(Note::new(
            Kind::NotExpressible,
            &at,
            format!(
                "{object}: {key} * with credentials: Traefik echoes whatever is asked; corsguard's {field} lists names \
                 with credentials: list the ones your pages use (with --lossy, none)"
            ),
        ));
        Ok(list.into_iter().filter(|v| v != "*").collect())
    };
    let mut methods = listed_or_echoed("accessControlAllowMethods", "methods")?;
    methods.retain(|m| m == "*" || draft::needs_listing(m));
    let request_headers = listed_or_echoed("accessControlAllowHeaders", "request_headers")?;
    let mut expose_headers = headers.texts("accessControlExposeHeaders")?;
    if credentials && expose_headers.iter().any(|h| h == "*") {
        // Traefik then sends none.
        expose_headers.clear();
    }
    let max_age = match headers.get("accessControlMaxAge")? {
        None => BROWSER_DEFAULT_MAX_AGE,
        Some(age) => age.value.as_u64().ok_or_else(|| age.node().error("is not a whole number of seconds"))?,
    };
    let cors = Cors {
        origins,
        methods,
        request_headers,
        expose_headers,
        credentials,
        max_age: draft::max_age(max_age, &at, &object, notes),
    };
    Ok(Middleware { name: name.to_string(), cors: Some(cors), vary })
}
