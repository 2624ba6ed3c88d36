//! Reading the policy file. Every problem is found in one pass, each with its JSON path and a
//! sentence a person can act on; a policy with any error is never used.

use crate::HashMap;
use crate::deciders::headers::{Direction, HeaderNames};
use crate::deciders::methods::Methods;
use crate::origins::origin::is_host;
use crate::origins::pattern::OriginMatcher;
use crate::policy_file::fields::{POLICY_FIELDS, ROUTE_FIELDS};
use crate::policy_file::json::{Member, Value};
use crate::policy_file::problem::{Code, Problems};
use crate::policy_file::source::Lines;
use crate::routes::host::parse_port;
use alloc::{format, string::String, vec::Vec};

/// One level of the policy file as written (the top level or one route): `None` where absent.
#[derive(Clone, Debug)]
pub(crate) struct Level {
    pub origins: Option<OriginMatcher>,
    pub methods: Option<Methods>,
    pub request_headers: Option<HeaderNames>,
    pub expose_headers: Option<HeaderNames>,
    pub credentials: Option<bool>,
    pub max_age: Option<u32>,
    pub private_network: Option<bool>,
    pub preflight_status: Option<u16>,
    pub report_only: Option<bool>,
    pub debug: Option<bool>,
    /// Route only: the host (lowercase, no trailing dot) and the port, if given, a route matches.
    pub host: Option<(String, Option<u16>)>,
    /// Route only: the canonical path prefix a route matches.
    pub path_prefix: Option<String>,
    /// Route only: whether the prefix compares letters with their case.
    pub case_sensitive: bool,
    /// Route only: leave matching requests alone.
    pub disabled: bool,
    /// The fields this level gives, in file order: where an inherited value comes from.
    pub given: Vec<&'static str>,
}

impl Default for Level {
    fn default() -> Self {
        Level {
            origins: None,
            methods: None,
            request_headers: None,
            expose_headers: None,
            credentials: None,
            max_age: None,
            private_network: None,
            preflight_status: None,
            report_only: None,
            debug: None,
            host: None,
            path_prefix: None,
            case_sensitive: true,
            disabled: false,
            given: Vec::new(),
        }
    }
}

/// Beyond a week, the number is surely a mistake (milliseconds, most often). What each browser
/// keeps is the browser model's (`corsguard-browser`), and `corsguard check` warns of it.
const ABSURD_MAX_AGE: i64 = 7 * 86400;

/// The file's top level and its routes, each with its path (`routes[0]`).
pub(crate) type Levels = (Level, Vec<(String, Level)>);

/// Reads the file's parsed JSON (`text` is what it was parsed from) into its [`Levels`], recording
/// problems.
pub(crate) fn read(value: &Value, text: &str, problems: &mut Problems) -> Option<Levels> {
    let Value::Object(top) = value else {
        problems.error(
            "",
            Code::WrongType,
            "a policy is a JSON object, such as {\"origins\": [\"https://app.example.com\"]}",
        );
        return None;
    };
    let mut file = File { text, lines: None, problems };
    let level = file.level(top, "");
    let mut routes = Vec::new();
    if let Some(member) = top.iter().find(|m| m.key == "routes") {
        match &member.value {
            Value::Array(entries) => {
                for (index, entry) in entries.iter().enumerate() {
                    let path = format!("routes[{index}]");
                    match entry {
                        Value::Object(route) => {
                            let level = file.level(route, &path);
                            if !route.iter().any(|m| m.key == "host" || m.key == "path_prefix") {
                                file.problems.error(
                                    &path,
                                    Code::RouteMatchesNothing,
                                    "a route needs host or path_prefix to match requests on",
                                );
                            }
                            routes.push((path, level));
                        }
                        _ => file.problems.error(&path, Code::WrongType, "a route is a JSON object"),
                    }
                }
            }
            _ => file.problems.error("routes", Code::WrongType, "is a list of route objects"),
        }
    }
    Some((level, routes))
}

/// The text being read (its lines, found when a repeated key must be placed) and the problems
/// found so far.
struct File<'a, 'p> {
    text: &'a str,
    lines: Option<Lines<&'a str>>,
    problems: &'p mut Problems,
}

impl File<'_, '_> {
    fn level(&mut self, object: &[Member], prefix: &str) -> Level {
        let route = !prefix.is_empty();
        let problems = &mut *self.problems;
        let mut level = Level::default();
        let fields: &[&str] = if route { &ROUTE_FIELDS } else { &POLICY_FIELDS };
        let mut seen: HashMap<&str, usize> = HashMap::default();
        for member in object {
            let key = member.key.as_str();
            let path = &if route { format!("{prefix}.{key}") } else { String::from(key) };
            if let Some(first) = seen.insert(key, member.offset) {
                let (line, column) = self.lines.get_or_insert_with(|| Lines::new(self.text)).locate(first);
                problems.error(
                    path,
                    Code::DuplicateKey,
                    format!("is given twice in one object (first at line {line} column {column}); parsers disagree on which one counts, so give it once"),
                );
                continue;
            }
            let value = &member.value;
            if let Some(field) = fields.iter().find(|field| **field == key) {
                level.given.push(field);
            }
            match key {
                "$schema" if !route => drop(string(value, path, problems)),
                "environments" if !route => problems.error(
                    path,
                    Code::UnresolvedEnvironments,
                    "holds environments, and an edge enforces one of them: give it that environment's policy \
                     (corsguard emit EDGE FILE --env NAME prints it)",
                ),
                _ if !fields.contains(&key) => unknown(key, path, route, problems),
                "origins" => {
                    level.origins = strings(value, path, problems).map(|l| OriginMatcher::compile(&l, path, problems));
                    if !route
                        && matches!(value, Value::Array(entries) if entries.is_empty())
                        && !routes_list_origins(object)
                    {
                        problems.error(path, Code::NoOrigins, "is empty and no route lists its own, so every origin is refused everywhere; list the origins that may read responses");
                    }
                }
                "methods" => {
                    level.methods = strings(value, path, problems).map(|l| Methods::compile(&l, path, problems))
                }
                "request_headers" => {
                    level.request_headers = strings(value, path, problems)
                        .map(|l| HeaderNames::compile(&l, path, Direction::Request, problems));
                }
                "expose_headers" => {
                    level.expose_headers = strings(value, path, problems)
                        .map(|l| HeaderNames::compile(&l, path, Direction::Exposed, problems));
                }
                "credentials" => level.credentials = boolean(value, path, problems),
                "private_network" => level.private_network = boolean(value, path, problems),
                "debug" => level.debug = boolean(value, path, problems),
                "max_age" => level.max_age = max_age(value, path, problems),
                "preflight_status" => level.preflight_status = preflight_status(value, path, problems),
                "mode" => level.report_only = mode(value, path, problems),
                "host" => level.host = route_host(value, path, problems),
                "path_prefix" => level.path_prefix = path_prefix(value, path, problems),
                "case_sensitive" => level.case_sensitive = boolean(value, path, problems).unwrap_or(true),
                "disabled" => level.disabled = boolean(value, path, problems).unwrap_or_default(),
                // `routes` (top level only) is read by `read`; every other listed field has its arm above.
                _ => {}
            }
        }
        if !route && level.origins.is_none() && !seen.contains_key("origins") {
            problems.error("origins", Code::NoOrigins, "is required: list the origins that may read responses");
        }
        level
    }
}

/// Whether some route of a top-level object has its own `origins`: then `[]` at the top level
/// means "refused unless a route says otherwise".
fn routes_list_origins(top: &[Member]) -> bool {
    top.iter().filter(|m| m.key == "routes").any(|m| match &m.value {
        Value::Array(routes) => {
            routes.iter().any(|r| matches!(r, Value::Object(r) if r.iter().any(|m| m.key == "origins")))
        }
        _ => false,
    })
}

fn unknown(key: &str, path: &str, route: bool, problems: &mut Problems) {
    if key == "environments" {
        problems.error(path, Code::MisplacedField, "only the top level has environments");
    } else if !route && ROUTE_FIELDS.contains(&key) {
        problems.error(path, Code::MisplacedField, "only a route has this field (put it in an entry of routes)");
    } else if route && POLICY_FIELDS.contains(&key) {
        problems.error(path, Code::MisplacedField, "only the top level has this field: routes cannot be nested");
    } else if route {
        problems.error(path, Code::UnknownField, format!("unknown field; a route has {}", ROUTE_FIELDS.join(", ")));
    } else {
        problems.error(path, Code::UnknownField, format!("unknown field; a policy has {}", POLICY_FIELDS.join(", ")));
    }
}

fn strings(value: &Value, path: &str, problems: &mut Problems) -> Option<Vec<String>> {
    let Value::Array(items) = value else {
        problems.error(path, Code::WrongType, "is a list of strings");
        return None;
    };
    let mut list = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item {
            Value::String(text) => list.push(text.clone()),
            _ => problems.error(&format!("{path}[{index}]"), Code::WrongType, "is not a string"),
        }
    }
    Some(list)
}

fn boolean(value: &Value, path: &str, problems: &mut Problems) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        _ => {
            problems.error(path, Code::WrongType, "is true or false");
            None
        }
    }
}

fn integer(value: &Value, path: &str, problems: &mut Problems) -> Option<i64> {
    match value {
        Value::Number(Some(number)) => Some(*number),
        _ => {
            problems.error(path, Code::WrongType, "is a whole number");
            None
        }
    }
}

fn max_age(value: &Value, path: &str, problems: &mut Problems) -> Option<u32> {
    let seconds = integer(value, path, problems)?;
    if seconds < 0 {
        problems.error(
            path,
            Code::MaxAge,
            format!("{seconds} is negative; give seconds, 0 to disable preflight caching"),
        );
        return None;
    }
    if seconds > ABSURD_MAX_AGE {
        problems.error(
            path,
            Code::MaxAge,
            format!(
                "{seconds} seconds is more than a week, far beyond what any browser caches; is it in milliseconds?"
            ),
        );
        return None;
    }
    u32::try_from(seconds).ok()
}

fn preflight_status(value: &Value, path: &str, problems: &mut Problems) -> Option<u16> {
    let status = integer(value, path, problems)?;
    match u16::try_from(status) {
        Ok(status @ 200..=299) => Some(status),
        _ => {
            problems.error(
                path,
                Code::PreflightStatus,
                format!("{status} is not 200-299; browsers fail a preflight without an ok status"),
            );
            None
        }
    }
}

/// `Some(true)` for report-only.
fn mode(value: &Value, path: &str, problems: &mut Problems) -> Option<bool> {
    match value {
        Value::String(mode) if mode == "enforce" => Some(false),
        Value::String(mode) if mode == "report-only" => Some(true),
        _ => {
            problems.error(path, Code::Mode, "is \"enforce\" or \"report-only\"");
            None
        }
    }
}

fn string(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        _ => {
            problems.error(path, Code::WrongType, "is a string");
            None
        }
    }
}

/// A route's host, lowercase and without its trailing dot (`api.example.com.` is the same host),
/// and its port as a number.
fn route_host(value: &Value, path: &str, problems: &mut Problems) -> Option<(String, Option<u16>)> {
    let written = string(value, path, problems)?;
    let host = written.to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') => (name, Some(port)),
        _ => (host.as_str(), None),
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let port = port.map(|port| parse_port(port.as_bytes()).filter(|&p| p != 0));
    if !is_host(name) || port.is_some_and(|port| port.is_none()) {
        problems.error(
            path,
            Code::InvalidHost,
            format!("\"{written}\" is not a host name (such as api.example.com or api.example.com:8443)"),
        );
        return None;
    }
    if let Some(Some(default @ (80 | 443))) = port {
        // Which port is the default depends on the scheme, and behind a load balancer that
        // terminates TLS the edge sees http where the browser used https: the route would stop
        // applying, silently, and a broader level decide.
        problems.error(
            path,
            Code::DefaultPort,
            format!("{default} is a default port, which browsers leave out of Host, so the route would match only where the edge knows the browser's scheme (not behind TLS termination); write \"{name}\""),
        );
        return None;
    }
    Some((name.into(), port.flatten()))
}

/// A route's path prefix: canonical (what [`crate::routes::path::canonical`] makes of a path, so that it
/// is compared with requests' canonical paths), and free of what servers read differently.
fn path_prefix(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let prefix = string(value, path, problems)?;
    let bytes = prefix.as_bytes();
    let invalid = |why: String| Some((Code::InvalidPathPrefix, why));
    let problem = if !prefix.starts_with('/') {
        invalid(format!("\"{prefix}\" does not start with /"))
    } else if prefix.contains(['?', '#']) {
        invalid(format!("\"{prefix}\" holds ? or #; a route matches the path alone, never the query"))
    } else if bytes.iter().any(|b| b.is_ascii_control()) {
        invalid(String::from("holds a control character, which no request path can"))
    } else if bytes.iter().any(|&b| !b.is_ascii() || b" \"<>`{}".contains(&b)) {
        let mut encoded = String::new();
        for &byte in bytes {
            match byte {
                b if !b.is_ascii() || b" \"<>`{}".contains(&b) => encoded.push_str(&format!("%{byte:02X}")),
                b => encoded.push(char::from(b)),
            }
        }
        invalid(format!(
            "\"{prefix}\" holds bytes browsers percent-encode, so no request can match it; write \"{encoded}\""
        ))
    } else if prefix.contains([';', '\\'])
        || bytes.windows(3).any(|w| matches!(w, [b'%', b'2', b'F' | b'f' | b'5'] | [b'%', b'5', b'C' | b'c']))
    {
        invalid(format!(
            "\"{prefix}\" holds ;, \\, %2F, %5C or %25, which servers read differently; such requests are refused whatever the route"
        ))
    } else if !crate::routes::path::is_canonical(bytes) {
        match crate::routes::path::canonical(bytes, crate::routes::path::Reading::CANONICAL).map(String::from_utf8) {
            Ok(Ok(canonical)) => Some((
                Code::NonCanonicalPath,
                format!("\"{prefix}\" is not a canonical path, which requests are compared in; write \"{canonical}\""),
            )),
            _ => invalid(format!("\"{prefix}\" is not a valid path (an invalid or NUL percent-escape)")),
        }
    } else {
        None
    };
    match problem {
        Some((code, problem)) => {
            problems.error(path, code, problem);
            None
        }
        None => Some(prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_file::problem::Problem;
    use alloc::string::ToString;

    /// The problems of a policy with one field of the wrong type (an object suits none of them).
    fn problems_with(field: &str, in_route: bool) -> Vec<Problem> {
        let json = if in_route {
            format!(r#"{{"origins": ["https://a.example"], "routes": [{{"path_prefix": "/", "{field}": {{}}}}]}}"#)
        } else if field == "origins" {
            String::from(r#"{"origins": {}}"#)
        } else {
            format!(r#"{{"origins": ["https://a.example"], "{field}": {{}}}}"#)
        };
        let mut problems = Problems::default();
        read(&crate::policy_file::json::parse(&json).unwrap(), &json, &mut problems);
        problems.into_vec()
    }

    #[test]
    fn every_listed_field_is_read_and_no_other() {
        for (fields, in_route) in [(&POLICY_FIELDS[..], false), (&ROUTE_FIELDS[..], true)] {
            for field in fields {
                let path = if in_route { format!("routes[0].{field}") } else { field.to_string() };
                let problems = problems_with(field, in_route);
                let here: Vec<_> = problems.iter().filter(|p| p.path == path).collect();
                assert_eq!(here.len(), 1, "{field}: {problems:?}");
                assert!(!here[0].message.contains("unknown field"), "{field}: {problems:?}");
            }
            for field in ["origin", "Origins", "allow_origins"] {
                let problems = problems_with(field, in_route);
                assert!(problems.iter().any(|p| p.message.starts_with("unknown field")), "{field}: {problems:?}");
            }
        }
        assert!(problems_with("routes", true)[0].message.contains("cannot be nested"));
        assert!(problems_with("host", false)[0].message.contains("only a route"));
    }
}
