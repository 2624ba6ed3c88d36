//! ingress-nginx's CORS annotations on `Ingress` objects, read as controller v1.13 reads them
//! (`internal/ingress/annotations/cors/main.go`, the template's `buildCorsOriginRegex`):
//!
//! - `enable-cors` turns it on; unset, CORS is left to the application.
//! - `cors-allow-origin` is `*` when unset, blank, or when the whole value fails the controller's
//!   validation (a trailing slash, a path, an uppercase scheme); `*` anywhere makes it `*`; an entry
//!   without `scheme://`, or with a `*` other than `scheme://*.`, is skipped; `*.` is exactly one
//!   label; the match is case-insensitive and anchored at the end only.
//! - `cors-allow-credentials` is `true` unless it says `false`; `cors-max-age` 1728000 s; methods
//!   and headers have defaults, and a value that fails validation gets them.
//! - nginx answers every OPTIONS with a matching `Origin` with a 204 itself (every OPTIONS at all
//!   with `*`), sends `Access-Control-Allow-Origin: *` with credentials for `*`, and never sends
//!   `Vary: Origin`.
//!
//! One place per Ingress path: its rule's host (none: every host) and the path as a prefix.

use super::documents::{At, Document, Node};
use super::draft::{self, Cors, Entry, Found, Place};
use super::kubernetes;
use super::report::{Kind, Note};
use crate::outcome::Failure;
use regex::Regex;

const PREFIX: &str = "nginx.ingress.kubernetes.io/";
const DEFAULT_METHODS: &str = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
const DEFAULT_HEADERS: &str =
    "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization";
const DEFAULT_MAX_AGE: u64 = 1_728_000;
/// The annotations this reads, and `use-regex`, which changes what paths mean.
const ANNOTATIONS: [&str; 8] = [
    "enable-cors",
    "cors-allow-origin",
    "cors-allow-methods",
    "cors-allow-headers",
    "cors-expose-headers",
    "cors-allow-credentials",
    "cors-max-age",
    "use-regex",
];

/// The controller's validators, as it compiles them.
struct Validators {
    origins: Regex,
    origin: Regex,
    methods: Regex,
    headers: Regex,
    expose: Regex,
}

impl Validators {
    fn new() -> Result<Self, Failure> {
        let regex = |pattern: &str| Regex::new(pattern).map_err(|e| Failure::Cannot(format!("internal: {e}")));
        Ok(Validators {
            origins: regex(r"^((((([a-z]+://)?(\*\.)?[A-Za-z0-9\-.]*(:\d+)?,?)|null)+)|\*)?$")?,
            origin: regex(r"^([a-z]+://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*|null)?$")?,
            methods: regex(r"^([A-Za-z]+,?\s?)+$")?,
            headers: regex(r"^[A-Za-z0-9-_, ]*$")?,
            expose: regex(r"^(([A-Za-z0-9\-\_]+|\*),?\s?)+$")?,
        })
    }
}

pub fn read(documents: &[Document]) -> Result<Found, Failure> {
    let validators = Validators::new()?;
    let mut found = Found::default();
    for object in kubernetes::objects(documents, &["Ingress"], &mut found.skipped)? {
        ingress(&object.child.node(), &object.title(), &validators, &mut found)?;
        found.objects.push(object.title());
    }
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot(format!(
            "no Ingress enables CORS (nginx.ingress.kubernetes.io/enable-cors: \"true\") in {}: nothing to import",
            found.objects.len()
        )));
    }
    add_global_notes(&mut found);
    Ok(found)
}

fn ingress(node: &Node<'_, '_>, object: &str, validators: &Validators, found: &mut Found) -> Result<(), Failure> {
    let metadata = node.get("metadata")?;
    let annotations = match &metadata {
        Some(metadata) => metadata.node().strings("annotations")?,
        None => Vec::new(),
    };
    let mut ours = Vec::new();
    for (key, value, at) in annotations {
        let Some(short) = key.strip_prefix(PREFIX) else { continue };
        if ANNOTATIONS.contains(&short) {
            ours.push((short.to_string(), value, at));
        } else if short.contains("cors") {
            return Err(Failure::Cannot(format!(
                "{at}: {key} is not an ingress-nginx annotation, so ingress-nginx ignores it; its CORS annotations \
                 are {}",
                ANNOTATIONS.get(..7).unwrap_or_default().join(", ")
            )));
        }
    }
    let get = |name: &str| ours.iter().find(|(k, _, _)| k == name).map(|(_, v, at)| (v.as_str(), at.clone()));
    let enabled = get("enable-cors").is_some_and(|(v, _)| parse_bool(v) == Some(true));
    let cors = if enabled { cors(object, node, &get, validators, &mut found.notes)? } else { None };
    let regex_paths = get("use-regex").is_some_and(|(v, _)| parse_bool(v) == Some(true));
    places(node, cors, regex_paths, found)
}

type Lookup<'a> = dyn Fn(&str) -> Option<(&'a str, At)> + 'a;

/// Go's `strconv.ParseBool`, which the controller reads booleans with.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn cors(
    object: &str,
    node: &Node<'_, '_>,
    get: &Lookup,
    validators: &Validators,
    notes: &mut Vec<Note>,
) -> Result<Option<Cors>, Failure> {
    let at_object = || {
        let at = node.at();
        let path = if at.path.is_empty() {
            "metadata.annotations".into()
        } else {
            format!("{}.metadata.annotations", at.path)
        };
        At { path, ..at }
    };
    let at = |name: &str| get(name).map_or_else(at_object, |(_, at)| at);
    let Some(origins) = origins(get, &at("cors-allow-origin"), validators, notes) else {
        notes.push(Note::new(
            Kind::Exact,
            at("cors-allow-origin"),
            format!("{object}: no entry of cors-allow-origin is valid, so ingress-nginx adds no CORS: its paths are left alone (disabled routes)"),
        ));
        return Ok(None);
    };
    // A value the controller's validator refuses gets its default, as in the controller.
    let mut list = |name: &str, default: &str, valid: &Regex| -> Vec<String> {
        let given = get(name);
        let value =
            given.as_ref().map(|(v, _)| *v).filter(|v| valid.is_match(&v.replace(' ', "")) && valid.is_match(v));
        if let (Some((written, at)), None) = (&given, value) {
            let shown = if default.is_empty() { "none".to_string() } else { format!("{default:?}") };
            notes.push(Note::new(
                Kind::Exact,
                at,
                format!("{object}: {written:?} fails ingress-nginx's validation, which then uses its default, {shown}: written as that"),
            ));
        }
        split(value.unwrap_or(default))
    };
    let mut methods = list("cors-allow-methods", DEFAULT_METHODS, &validators.methods);
    let headers = list("cors-allow-headers", DEFAULT_HEADERS, &validators.headers);
    let expose_headers = list("cors-expose-headers", "", &validators.expose);
    methods.retain(|m| draft::needs_listing(m));
    let (request_headers, forbidden): (Vec<String>, Vec<String>) =
        headers.into_iter().partition(|h| !corsguard::tools::is_forbidden_request_header(h));
    if !forbidden.is_empty() {
        notes.push(Note::new(
            Kind::Exact,
            at("cors-allow-headers"),
            format!(
                "{object}: {} left out: scripts cannot set these headers, so no preflight asks for them",
                forbidden.join(", ")
            ),
        ));
    }
    let credentials = get("cors-allow-credentials").is_none_or(|(v, _)| parse_bool(v) != Some(false));
    if let Some((written, at)) = get("cors-allow-credentials").filter(|(v, _)| parse_bool(v).is_none()) {
        notes.push(Note::new(
            Kind::Exact,
            at,
            format!("{object}: {written:?} is not a boolean, so ingress-nginx uses its default, true: written as that"),
        ));
    }
    let max_age = match get("cors-max-age") {
        None => DEFAULT_MAX_AGE,
        Some((written, at)) => written.trim().parse::<u64>().unwrap_or_else(|_| {
            let what = format!("{object}: {written:?} is not a whole number of seconds, so ingress-nginx uses its default, {DEFAULT_MAX_AGE}");
            notes.push(Note::new(Kind::Exact, at, what));
            DEFAULT_MAX_AGE
        }),
    };
    let max_age = draft::max_age(max_age, at("cors-max-age"), object, notes);
    let star = origins == ["*"];
    let credentials = if star && credentials {
        notes.push(Note::new(
            Kind::Exact,
            at("cors-allow-credentials"),
            format!(
                "{object}: origin * with credentials: ingress-nginx sent Access-Control-Allow-Origin: * with \
                 Access-Control-Allow-Credentials: true, which every browser refuses for a credentialed request; \
                 written as credentials: false, the same in a browser. List the origins if credentialed requests \
                 are meant to work"
            ),
        ));
        false
    } else {
        credentials
    };
    Ok(Some(Cors { origins, methods, request_headers, expose_headers, credentials, max_age }))
}

/// A comma-separated list, each entry trimmed, empty ones dropped.
fn split(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect()
}

/// The origins as the controller keeps them, translated: none when no entry is valid.
fn origins(get: &Lookup, at: &At, validators: &Validators, notes: &mut Vec<Note>) -> Option<Vec<String>> {
    let Some((value, _)) = get("cors-allow-origin") else { return Some(vec!["*".into()]) };
    let squeezed = value.replace(' ', "");
    if squeezed.is_empty() {
        return Some(vec!["*".into()]);
    }
    if !validators.origins.is_match(&squeezed) || value.contains(['\r', '\n']) {
        notes.push(
            Note::new(
                Kind::Exact,
                at,
                format!(
                    "{value:?} fails ingress-nginx's validation as a whole (a trailing slash, a path, an uppercase \
                     scheme, or * beside origins), so ingress-nginx allowed every origin (*): written as *. List \
                     the origins without a path or trailing slash if that was meant"
                ),
            )
            .example("Origin: https://attacker.example: allowed before and now"),
        );
        return Some(vec!["*".into()]);
    }
    let mut kept = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if entry == "*" {
            return Some(vec!["*".into()]);
        }
        if !validators.origin.is_match(entry) {
            notes.push(Note::new(
                Kind::Exact,
                at,
                format!("{entry:?} is skipped by ingress-nginx (an origin needs scheme://, and * only as scheme://*.), so it is left out"),
            ));
            continue;
        }
        match translate(entry) {
            Ok(origin) => {
                if entry == "null" {
                    notes.push(
                        Note::new(
                            Kind::Changed,
                            at,
                            "null: ingress-nginx's regex is anchored at the end only, so it admitted every origin ending \
                             in null; now only the opaque origin null (which any sandboxed page can produce: list your \
                             origins instead)",
                        )
                        .example("Origin: http://anull: allowed before, refused now"),
                    );
                }
                kept.push(origin);
            }
            Err(note) => notes.push(Note::new(Kind::NotExpressible, at, note)),
        }
    }
    (!kept.is_empty()).then_some(kept)
}

/// One kept entry in corsguard's terms, or why it cannot be said.
fn translate(entry: &str) -> Result<String, String> {
    if let Some((scheme, rest)) = entry.split_once("://*.") {
        let parent = rest.split(':').next().unwrap_or(rest);
        return Err(format!(
            "{entry:?}: ingress-nginx's * is exactly one label (https://a.{parent} but not https://a.b.{parent}), \
             and corsguard's {scheme}://*.{rest} is any depth of subdomain: write it if every subdomain is yours, or \
             list the subdomains (with --lossy the entry is left out, and those origins are refused)"
        ));
    }
    let origin = entry.to_ascii_lowercase();
    match draft::refusal(&serde_json::json!({ "origins": [origin] })) {
        None => Ok(origin),
        Some(why) => Err(format!("{entry:?} matches no origin a browser sends: {why} (with --lossy it is left out)")),
    }
}

/// The places an Ingress's paths make, each with the Ingress's CORS.
fn places(node: &Node<'_, '_>, cors: Option<Cors>, regex_paths: bool, found: &mut Found) -> Result<(), Failure> {
    let Some(spec) = node.get("spec")? else { return Ok(()) };
    let spec = spec.node();
    let rules = spec.list("rules")?;
    if rules.is_empty() && spec.get("defaultBackend")?.is_some() {
        found.entries.push(Entry { place: Place { host: None, path_prefix: "/".into() }, cors });
        return Ok(());
    }
    for rule in &rules {
        let rule = rule.node();
        let host = rule.string("host")?.map(|h| h.to_ascii_lowercase());
        if let Some(host) = host.as_ref().filter(|h| h.starts_with("*.")) {
            found.notes.push(Note::unplaced(
                rule.at(),
                format!("host {host}: a corsguard route matches one host; write a route for each host under it"),
            ));
            continue;
        }
        let Some(http) = rule.get("http")? else { continue };
        for path in http.node().list("paths")? {
            let path = path.node();
            let written = path.string("path")?.unwrap_or_else(|| "/".into());
            let kind = path.string("pathType")?.unwrap_or_else(|| "ImplementationSpecific".into());
            if regex_paths {
                found.notes.push(Note::unplaced(
                    path.at(),
                    format!(
                        "{written}: use-regex makes it a regular expression; write its prefix as a route's path_prefix"
                    ),
                ));
                continue;
            }
            let prefix = if written.ends_with('/') { written.clone() } else { format!("{written}/") };
            if let Some(why) = draft::prefix_refusal(&prefix) {
                found.notes.push(Note::unplaced(path.at(), format!("{written}: {why}")));
                continue;
            }
            let under = if written == "/" { String::new() } else { written.trim_end_matches('/').to_string() };
            match kind.as_str() {
                "Prefix" => {}
                "Exact" if written != "/" => found.notes.push(
                    Note::new(
                        Kind::Changed,
                        path.at(),
                        format!("{written} (Exact): a route's path_prefix {prefix} also covers the paths below it"),
                    )
                    .example(format!("GET {under}/x: whatever location nginx chose before, this route's answer now")),
                ),
                _ if written != "/" && !written.ends_with('/') => found.notes.push(
                    Note::new(
                        Kind::Changed,
                        path.at(),
                        format!(
                            "{written} ({kind}): nginx matched it as a string prefix; the route's path_prefix {prefix} \
                             matches whole segments"
                        ),
                    )
                    .example(format!("GET {under}x: under this Ingress before, not under this route now")),
                ),
                _ => {}
            }
            found.entries.push(Entry { place: Place { host: host.clone(), path_prefix: prefix }, cors: cors.clone() });
        }
    }
    Ok(())
}

/// The changes every enabled Ingress shares, said once.
fn add_global_notes(found: &mut Found) {
    let any = |pick: fn(&Cors) -> bool| found.entries.iter().filter_map(|e| e.cors.as_ref()).any(pick);
    let listed = any(|c| c.origins != ["*"]);
    let star = any(|c| c.origins == ["*"]);
    let at = "ingress-nginx";
    let mut notes = vec![
        Note::new(
            Kind::Changed,
            at,
            "preflights are answered at the edge only when they are preflights: nginx answered every OPTIONS \
             with a matching Origin with a 204 itself; an OPTIONS without Access-Control-Request-Method now reaches \
             the application",
        )
        .example("OPTIONS /x with Origin but no Access-Control-Request-Method: 204 from nginx before, the application's answer now"),
        Note::new(
            Kind::Changed,
            at,
            "methods and request headers are enforced at the edge: nginx answered every preflight with its lists and \
             left the refusal to the browser; now a preflight asking for more is refused (403), the same outcome in a \
             browser",
        )
        .example("OPTIONS with Access-Control-Request-Method: PURGE (not listed): a 204 the browser then refused before, 403 now"),
    ];
    if listed {
        notes.push(
            Note::new(
                Kind::Changed,
                at,
                "Vary: Origin is sent with answers that depend on the Origin: nginx never sent it, so a shared cache could \
                 hand one origin's answer to another",
            )
            .example("GET with Origin: https://app.example.com, then from another origin through a CDN: the first answer's Access-Control-Allow-Origin before, the right one now"),
        );
        notes.push(
            Note::new(
                Kind::Changed,
                at,
                "a preflight from an origin not listed went on to the application; now it is refused at the edge",
            )
            .example("OPTIONS from Origin: https://attacker.example: the application's answer before, 403 now"),
        );
    }
    if star {
        notes.push(Note::new(
            Kind::Changed,
            at,
            "with *, nginx answered every OPTIONS request with a 204, even without Origin; now only preflights",
        ));
    }
    found.notes.splice(0..0, notes);
}
