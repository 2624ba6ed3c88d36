//! Reading the policy file. Every problem is found in one pass, each with its JSON path and a
//! sentence a person can act on; a policy with any error is never used.

use crate::headers::HeaderNames;
use crate::host::parse_port;
use crate::methods::Methods;
use crate::origin::is_host;
use crate::pattern::OriginMatcher;
use alloc::{format, string::String, vec::Vec};
use core::fmt;
use serde_json::{Map, Value};

/// How serious a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The policy is rejected.
    Error,
    /// Legal but risky; the policy is used.
    Warning,
}

/// One problem in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Where, as a JSON path (`routes[0].origins[2]`); empty for the whole file.
    pub path: String,
    /// What is wrong, and what to write instead where that is clear.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.path.as_str() {
            "" => write!(f, "{severity}: {}", self.message),
            path => write!(f, "{severity}: {path}: {}", self.message),
        }
    }
}

/// Every problem found in a policy file: each level's fields in name order, then the routes, then
/// the checks that span fields (the `corsguard check` command sorts them by line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, path, message.into());
    }

    pub(crate) fn warning(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, path, message.into());
    }

    fn push(&mut self, severity: Severity, path: &str, message: String) {
        self.0.push(Problem { severity, path: path.into(), message });
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|p| p.severity == Severity::Error)
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> core::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

impl fmt::Display for Problems {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.0 {
            writeln!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Problems {}

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
        }
    }
}

/// The fields of a policy file's top level, in the order the README documents them. The reader
/// accepts exactly these: any other key is an error.
pub const POLICY_FIELDS: [&str; 11] = [
    "origins",
    "methods",
    "request_headers",
    "expose_headers",
    "credentials",
    "max_age",
    "private_network",
    "preflight_status",
    "mode",
    "debug",
    "routes",
];

/// The fields of a `routes` entry: what it matches on, whether it is disabled, then the top
/// level's fields (but `routes`) that it may override. The reader accepts exactly these.
pub const ROUTE_FIELDS: [&str; 14] = [
    "host",
    "path_prefix",
    "case_sensitive",
    "disabled",
    "origins",
    "methods",
    "request_headers",
    "expose_headers",
    "credentials",
    "max_age",
    "private_network",
    "preflight_status",
    "mode",
    "debug",
];

/// Browsers cap the preflight cache: Chromium at 7200 s, Firefox at 86400 s.
const CHROMIUM_MAX_AGE: i64 = 7200;
/// Beyond a week, the number is surely a mistake (milliseconds, most often).
const ABSURD_MAX_AGE: i64 = 7 * 86400;

/// Reads the file into its top level and its routes (with their paths), recording problems.
pub(crate) fn read(json: &str, problems: &mut Problems) -> Option<(Level, Vec<(String, Level)>)> {
    let value: Value = match serde_json::from_str(json) {
        Ok(value) => value,
        Err(error) => {
            problems.error("", format!("not valid JSON: {error}"));
            return None;
        }
    };
    let Value::Object(top) = value else {
        problems.error("", "a policy is a JSON object, such as {\"origins\": [\"https://app.example.com\"]}");
        return None;
    };
    let level = read_level(&top, "", problems);
    if level.origins.is_none() && problems.iter().all(|p| p.path != "origins") {
        problems.error("origins", "is required: list the origins that may read responses ([] allows none)");
    }
    let mut routes = Vec::new();
    match top.get("routes") {
        None => {}
        Some(Value::Array(entries)) => {
            for (index, entry) in entries.iter().enumerate() {
                let path = format!("routes[{index}]");
                match entry {
                    Value::Object(route) => {
                        let level = read_level(route, &path, problems);
                        if !route.contains_key("host") && !route.contains_key("path_prefix") {
                            problems.error(&path, "a route needs host or path_prefix to match requests on");
                        }
                        routes.push((path, level));
                    }
                    _ => problems.error(&path, "a route is a JSON object"),
                }
            }
        }
        Some(_) => problems.error("routes", "is a list of route objects"),
    }
    Some((level, routes))
}

fn read_level(object: &Map<String, Value>, prefix: &str, problems: &mut Problems) -> Level {
    let route = !prefix.is_empty();
    let mut level = Level::default();
    let fields: &[&str] = if route { &ROUTE_FIELDS } else { &POLICY_FIELDS };
    for (key, value) in object {
        let path = &if route { format!("{prefix}.{key}") } else { key.clone() };
        if !fields.contains(&key.as_str()) {
            match key.as_str() {
                "host" | "path_prefix" | "case_sensitive" | "disabled" => {
                    problems.error(path, "only a route has this field (put it in an entry of routes)")
                }
                "routes" => problems.error(path, "routes cannot be nested"),
                _ if route => problems.error(path, format!("unknown field; a route has {}", fields.join(", "))),
                _ => problems.error(path, format!("unknown field; a policy has {}", fields.join(", "))),
            }
            continue;
        }
        match key.as_str() {
            "origins" => {
                level.origins = strings(value, path, problems).map(|l| OriginMatcher::compile(&l, path, problems))
            }
            "methods" => level.methods = strings(value, path, problems).map(|l| Methods::compile(&l, path, problems)),
            "request_headers" => {
                level.request_headers =
                    strings(value, path, problems).map(|l| HeaderNames::compile(&l, path, problems));
            }
            "expose_headers" => {
                level.expose_headers = strings(value, path, problems).map(|l| HeaderNames::compile(&l, path, problems));
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
    level
}

fn strings(value: &Value, path: &str, problems: &mut Problems) -> Option<Vec<String>> {
    let Value::Array(items) = value else {
        problems.error(path, "is a list of strings");
        return None;
    };
    let mut list = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item {
            Value::String(text) => list.push(text.clone()),
            _ => problems.error(&format!("{path}[{index}]"), "is not a string"),
        }
    }
    Some(list)
}

fn boolean(value: &Value, path: &str, problems: &mut Problems) -> Option<bool> {
    let flag = value.as_bool();
    if flag.is_none() {
        problems.error(path, "is true or false");
    }
    flag
}

fn integer(value: &Value, path: &str, problems: &mut Problems) -> Option<i64> {
    let number = value.as_i64();
    if number.is_none() {
        problems.error(path, "is a whole number");
    }
    number
}

fn max_age(value: &Value, path: &str, problems: &mut Problems) -> Option<u32> {
    let seconds = integer(value, path, problems)?;
    if seconds < 0 {
        problems.error(path, format!("{seconds} is negative; give seconds, 0 to disable preflight caching"));
        return None;
    }
    if seconds > ABSURD_MAX_AGE {
        problems.error(path, format!("{seconds} seconds is far beyond what any browser caches (Chromium 7200, Firefox 86400); is it in milliseconds?"));
        return None;
    }
    if seconds > CHROMIUM_MAX_AGE {
        problems.warning(
            path,
            format!(
                "{seconds} seconds: Chromium caches a preflight for at most 7200 s and Firefox for at most 86400 s"
            ),
        );
    }
    u32::try_from(seconds).ok()
}

fn preflight_status(value: &Value, path: &str, problems: &mut Problems) -> Option<u16> {
    let status = integer(value, path, problems)?;
    match u16::try_from(status) {
        Ok(status @ 200..=299) => Some(status),
        _ => {
            problems.error(path, format!("{status} is not 200-299; browsers fail a preflight without an ok status"));
            None
        }
    }
}

/// `Some(true)` for report-only.
fn mode(value: &Value, path: &str, problems: &mut Problems) -> Option<bool> {
    match value.as_str() {
        Some("enforce") => Some(false),
        Some("report-only") => Some(true),
        _ => {
            problems.error(path, "is \"enforce\" or \"report-only\"");
            None
        }
    }
}

fn string(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let text = value.as_str().map(String::from);
    if text.is_none() {
        problems.error(path, "is a string");
    }
    text
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
        problems
            .error(path, format!("\"{written}\" is not a host name (such as api.example.com or api.example.com:8443)"));
        return None;
    }
    Some((name.into(), port.flatten()))
}

/// A route's path prefix: canonical (what [`crate::path::canonical`] makes of a path, so that it
/// is compared with requests' canonical paths), and free of what servers read differently.
fn path_prefix(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let prefix = string(value, path, problems)?;
    let bytes = prefix.as_bytes();
    let problem = if !prefix.starts_with('/') {
        Some(format!("\"{prefix}\" does not start with /"))
    } else if prefix.contains(['?', '#']) {
        Some(format!("\"{prefix}\" holds ? or #; a route matches the path alone, never the query"))
    } else if prefix.contains([';', '\\'])
        || ["%2F", "%5C", "%25"].iter().any(|e| prefix.to_ascii_uppercase().contains(e))
    {
        Some(format!(
            "\"{prefix}\" holds ;, \\, %2F, %5C or %25, which servers read differently; such requests are refused whatever the route"
        ))
    } else if !crate::path::is_canonical(bytes) {
        match crate::path::canonical(bytes, crate::path::Reading::CANONICAL).map(String::from_utf8) {
            Ok(Ok(canonical)) => Some(format!(
                "\"{prefix}\" is not a canonical path, which requests are compared in; write \"{canonical}\""
            )),
            _ => Some(format!("\"{prefix}\" is not a valid path (an invalid or NUL percent-escape)")),
        }
    } else {
        None
    };
    match problem {
        Some(problem) => {
            problems.error(path, problem);
            None
        }
        None => Some(prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// The problems of a policy with one field of the wrong type (an object suits none of them).
    fn problems_with(field: &str, in_route: bool) -> Vec<Problem> {
        let json = if in_route {
            format!(r#"{{"origins": [], "routes": [{{"path_prefix": "/", "{field}": {{}}}}]}}"#)
        } else {
            format!(r#"{{"origins": [], "{field}": {{}}}}"#)
        };
        let mut problems = Problems::default();
        read(&json, &mut problems);
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
            for field in ["origin", "Origins", "allow_origins", "$schema"] {
                let problems = problems_with(field, in_route);
                assert!(problems.iter().any(|p| p.message.starts_with("unknown field")), "{field}: {problems:?}");
            }
        }
        assert!(problems_with("routes", true)[0].message.contains("cannot be nested"));
        assert!(problems_with("host", false)[0].message.contains("only a route"));
    }
}
