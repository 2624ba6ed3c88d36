//! Reading the policy file. Every problem is found in one pass, each with its JSON path and a
//! sentence a person can act on; a policy with any error is never used.

use crate::headers::HeaderNames;
use crate::methods::Methods;
use crate::origin::{is_host, parse_port};
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
#[derive(Clone, Debug, Default)]
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
    /// Route only: the host (and port, if given) a route matches.
    pub host: Option<String>,
    /// Route only: the path prefix a route matches.
    pub path_prefix: Option<String>,
    /// Route only: leave matching requests alone.
    pub disabled: bool,
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
pub const ROUTE_FIELDS: [&str; 13] = [
    "host",
    "path_prefix",
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
                "host" | "path_prefix" | "disabled" => {
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

fn route_host(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let host = string(value, path, problems)?.to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') => (name, Some(port)),
        _ => (host.as_str(), None),
    };
    if !is_host(name) || port.is_some_and(|port| parse_port("", port).is_err()) {
        problems
            .error(path, format!("\"{host}\" is not a host name (such as api.example.com or api.example.com:8443)"));
        return None;
    }
    Some(host)
}

fn path_prefix(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let prefix = string(value, path, problems)?;
    if !prefix.starts_with('/') {
        problems.error(path, format!("\"{prefix}\" does not start with /"));
        return None;
    }
    Some(prefix)
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
