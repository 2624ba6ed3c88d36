//! Environments: named overlays in one policy file, so that development and production differ in
//! one reviewed place instead of in copies.
//!
//! `"environments": {"production": {"origins": [...]}}` names each environment; a field an
//! environment gives replaces the top level's field of that name (routes included, whole), and
//! every other top-level field is shared. An edge enforces one environment at a time: it is given
//! the [`Environment`] policy, and [`crate::Policy::parse`] refuses a file that still holds
//! environments, so a forgotten choice never falls back to the shared fields.
//!
//! The resolved policy is the file itself with what the environment does not use blanked out:
//! every field stays where it was written, byte for byte, so what the edges enforce is what a
//! reviewer reads, and every problem keeps its line in the file.

use crate::policy_file::json::{self, Member, Value};
use crate::policy_file::problem::{Code, Problems};
use crate::policy_file::source::Spans;
use alloc::{format, string::String, vec::Vec};

/// One environment of a policy file, resolved: the policy an edge takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    text: String,
    name: String,
    /// The top-level fields the environment gives.
    given: Vec<String>,
    /// What the environment loses of the shared fields without saying so.
    warnings: Problems,
}

impl Environment {
    /// Resolves environment `name` of a policy file: its problems if the file has no such
    /// environment or its `environments` is malformed (the policy's own fields are checked by
    /// [`crate::Policy::parse`] on [`Environment::text`]).
    pub fn resolve(text: &str, name: &str) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let (top, spans) = match top_level(text, &mut problems) {
            Some(top) => top,
            None => return Err(problems),
        };
        let names = names(&top, &mut problems);
        problems.locate(&spans);
        if problems.has_errors() {
            return Err(problems);
        }
        let Some((environments, fields)) = find(&top, name) else {
            let message = if names.is_empty() {
                format!("there is no environment {name:?}: the policy has no environments")
            } else {
                format!("there is no environment {name:?}: the policy has {}", names.join(", "))
            };
            problems.error("environments", Code::UnknownEnvironment, message);
            problems.locate(&spans);
            return Err(problems);
        };
        if let Some(nested) = fields.iter().find(|m| m.key == "environments") {
            let path = format!("environments.{name}.{}", nested.key);
            problems.error(&path, Code::MisplacedField, "environments cannot be nested");
            problems.locate(&spans);
            return Err(problems);
        }
        let given: Vec<String> = fields.iter().map(|m| m.key.clone()).collect();
        let mut warnings = Problems::default();
        warn_of_lost_routes(&top, fields, name, &mut warnings);
        warnings.locate(&spans);
        // What the environment enforces, in file order: the shared fields it does not replace, and its own.
        let mut kept: Vec<(usize, usize)> = Vec::new();
        for member in &top {
            if core::ptr::eq(member, environments) {
                kept.extend(fields.iter().map(|field| (field.offset, field.end)));
            } else if !given.contains(&member.key) {
                kept.push((member.offset, member.end));
            }
        }
        let (open, close) = braces(text);
        let mut bytes = text.as_bytes().to_vec();
        let mut inside_kept = kept.iter().peekable();
        for (at, byte) in bytes.iter_mut().enumerate().take(close).skip(open + 1) {
            while inside_kept.peek().is_some_and(|&&(_, end)| end <= at) {
                inside_kept.next();
            }
            let kept_here = inside_kept.peek().is_some_and(|&&(start, _)| start <= at);
            if !kept_here && !matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
        // One comma between consecutive fields, on the first blanked byte between them.
        for pair in kept.windows(2) {
            if let [(_, end), (start, _)] = pair {
                if let Some(at) = (*end..*start).find(|&at| !matches!(text.as_bytes().get(at), Some(b'\n' | b'\r'))) {
                    if let Some(byte) = bytes.get_mut(at) {
                        *byte = b',';
                    }
                }
            }
        }
        // Only ASCII bytes were written, over whole characters: still UTF-8.
        let text = String::from_utf8(bytes).unwrap_or_default();
        Ok(Environment { text, name: String::from(name), given, warnings })
    }

    /// The policy the edge enforces: the file's text, the same length and lines.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the environment loses of the shared fields without saying so: the shared routes its
    /// own `routes` replaces (`replaced-routes`). Paths are the file's.
    #[must_use]
    pub fn warnings(&self) -> &Problems {
        &self.warnings
    }

    /// The environment's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where a JSON path of [`Environment::text`] is written in the file: `origins[0]` is
    /// `environments.production.origins[0]` when the environment gives `origins`.
    #[must_use]
    pub fn file_path(&self, path: &str) -> String {
        let field = path.split(['.', '[']).next().unwrap_or_default();
        if self.given.iter().any(|given| given == field) {
            format!("environments.{}.{path}", self.name)
        } else {
            String::from(path)
        }
    }
}

/// The environments a policy file names, in file order: none when it has no `environments`, or
/// is not a JSON object at all (which [`crate::Policy::parse`] reports). Its problems if
/// `environments` is malformed.
pub fn environments(text: &str) -> Result<Vec<String>, Problems> {
    let mut problems = Problems::default();
    let Some((top, spans)) = top_level(text, &mut Problems::default()) else { return Ok(Vec::new()) };
    let names = names(&top, &mut problems);
    problems.locate(&spans);
    if problems.has_errors() { Err(problems) } else { Ok(names) }
}

/// Whether `name` can name an environment: it becomes part of deployed names (`corsguard-NAME`,
/// wrangler's `[env.NAME]`).
fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The file's top-level object, and where each of its paths is written.
fn top_level(text: &str, problems: &mut Problems) -> Option<(Vec<Member>, Spans)> {
    let (value, spans) = match json::parse_with_spans(text) {
        Ok(parsed) => parsed,
        Err(error) => {
            problems.not_json_at(format!("not valid JSON: {}", error.message), &error);
            return None;
        }
    };
    let spans = Spans::of(&value, &spans);
    match value {
        Value::Object(top) => Some((top, spans)),
        _ => {
            problems.error("", Code::WrongType, "a policy is a JSON object");
            None
        }
    }
}

/// The names of `environments`, every problem of its shape recorded.
fn names(top: &[Member], problems: &mut Problems) -> Vec<String> {
    let mut given = top.iter().filter(|m| m.key == "environments");
    let Some(environments) = given.next() else { return Vec::new() };
    if given.next().is_some() {
        problems.error("environments", Code::DuplicateKey, "is given twice; give it once");
    }
    let Value::Object(overlays) = &environments.value else {
        problems.error(
            "environments",
            Code::WrongType,
            "is an object of named environments, such as {\"production\": {\"origins\": [\"https://app.example.com\"]}}",
        );
        return Vec::new();
    };
    if overlays.is_empty() {
        problems.error("environments", Code::WrongType, "names no environment: name one, or remove it");
    }
    let mut names: Vec<String> = Vec::new();
    for overlay in overlays {
        let path = format!("environments.{}", overlay.key);
        if !is_name(&overlay.key) {
            problems.error(
                "environments",
                Code::InvalidName,
                format!("{:?} cannot name an environment: use letters, digits, - and _", overlay.key),
            );
        } else if names.contains(&overlay.key) {
            problems.error(&path, Code::DuplicateKey, "is given twice; give it once");
        } else if !matches!(overlay.value, Value::Object(_)) {
            problems.error(&path, Code::WrongType, "is an object of the top-level fields it replaces");
        } else {
            names.push(overlay.key.clone());
        }
    }
    names
}

/// Warns when the environment's own routes replace shared routes that none of them matches the
/// same way (the same `host` and `path_prefix`), naming each: an environment that adds a route
/// would otherwise drop the restrictive ones silently. `"routes": []` says it drops them all.
fn warn_of_lost_routes(top: &[Member], fields: &[Member], name: &str, warnings: &mut Problems) {
    let routes = |members: &[Member]| match members.iter().find(|m| m.key == "routes").map(|m| &m.value) {
        Some(Value::Array(routes)) => routes.clone(),
        _ => Vec::new(),
    };
    let (shared, own) = (routes(top), routes(fields));
    let matches = |route: &Value| {
        let field = |key: &str| match route {
            Value::Object(members) => members.iter().find(|m| m.key == key).map(|m| m.value.clone()),
            _ => None,
        };
        (field("host"), field("path_prefix"))
    };
    let kept: Vec<_> = own.iter().map(matches).collect();
    let lost: Vec<String> = shared
        .iter()
        .enumerate()
        .filter(|(_, route)| !kept.contains(&matches(route)))
        .map(|(index, route)| {
            let (host, path_prefix) = matches(route);
            let said: Vec<String> = [("host", host), ("path_prefix", path_prefix)]
                .into_iter()
                .filter_map(|(key, value)| match value {
                    Some(Value::String(text)) => Some(format!("{key} {text:?}")),
                    _ => None,
                })
                .collect();
            format!("routes[{index}] ({})", said.join(" "))
        })
        .collect();
    if own.is_empty() || lost.is_empty() {
        return;
    }
    warnings.warning(
        &format!("environments.{name}.routes"),
        Code::ReplacedRoutes,
        format!(
            "replaces the shared routes whole, so {} {} not apply in {name}; repeat each one it needs here, or give \"routes\": [] to drop them all",
            lost.join(", "),
            if lost.len() == 1 { "does" } else { "do" }
        ),
    );
}

/// The `environments` member and the fields of the named environment in it.
fn find<'t>(top: &'t [Member], name: &str) -> Option<(&'t Member, &'t [Member])> {
    let environments = top.iter().find(|m| m.key == "environments")?;
    let Value::Object(overlays) = &environments.value else { return None };
    match &overlays.iter().find(|m| m.key == name)?.value {
        Value::Object(fields) => Some((environments, fields)),
        _ => None,
    }
}

/// The offsets of the top-level object's `{` and `}`.
fn braces(text: &str) -> (usize, usize) {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let bytes = text.as_bytes();
    let open = bytes.iter().position(|b| !is_space(b)).unwrap_or_default();
    let close = bytes.iter().rposition(|b| !is_space(b)).unwrap_or_default();
    (open, close)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    const FILE: &str = r#"{
  "origins": ["https://app.example.com"],
  "max_age": 600,
  "environments": {
    "development": { "origins": ["http://localhost:*"], "debug": true },
    "production": { "max_age": 7200 },
    "empty": {}
  },
  "credentials": true
}"#;

    #[test]
    fn an_environment_replaces_the_fields_it_gives_and_keeps_every_line() {
        let development = Environment::resolve(FILE, "development").unwrap();
        let text = development.text();
        assert_eq!(text.len(), FILE.len());
        assert_eq!(text.lines().count(), FILE.lines().count());
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"max_age": 600, "origins": ["http://localhost:*"], "debug": true, "credentials": true})
        );
        let production: serde_json::Value =
            serde_json::from_str(Environment::resolve(FILE, "production").unwrap().text()).unwrap();
        assert_eq!(
            production,
            serde_json::json!({"origins": ["https://app.example.com"], "max_age": 7200, "credentials": true})
        );
        let empty: serde_json::Value =
            serde_json::from_str(Environment::resolve(FILE, "empty").unwrap().text()).unwrap();
        assert_eq!(
            empty,
            serde_json::json!({"origins": ["https://app.example.com"], "max_age": 600, "credentials": true})
        );
        assert_eq!(development.file_path("origins[0]"), "environments.development.origins[0]");
        assert_eq!(development.file_path("max_age"), "max_age");
        assert_eq!(environments(FILE).unwrap(), ["development", "production", "empty"]);
    }

    #[test]
    fn fields_at_either_end_and_an_environment_that_replaces_all() {
        for (file, name, expected) in [
            (
                r#"{"environments": {"a": {"origins": ["https://a.example"]}}, "origins": []}"#,
                "a",
                r#"{"origins": ["https://a.example"]}"#,
            ),
            (
                r#"{"origins": [], "environments": {"a": {"origins": ["https://a.example"], "max_age": 5}}}"#,
                "a",
                r#"{"origins": ["https://a.example"], "max_age": 5}"#,
            ),
            (r#"{"origins":[],"environments":{"a":{}},"max_age":1}"#, "a", r#"{"origins": [], "max_age": 1}"#),
        ] {
            let resolved: serde_json::Value =
                serde_json::from_str(Environment::resolve(file, name).unwrap().text()).unwrap();
            assert_eq!(resolved, serde_json::from_str::<serde_json::Value>(expected).unwrap(), "{file}");
        }
    }

    #[test]
    fn an_edge_is_never_handed_a_policy_that_still_holds_environments() {
        let problems = Policy::parse(FILE).unwrap_err();
        assert!(problems.iter().any(|p| p.code == Code::UnresolvedEnvironments && p.path == "environments"));
        let resolved = Environment::resolve(FILE, "development").unwrap();
        assert!(Policy::parse(resolved.text()).is_ok());
    }

    #[test]
    fn malformed_environments_are_refused_with_their_paths() {
        let codes = |file: &str, name: &str| -> Vec<(String, Code)> {
            Environment::resolve(file, name).unwrap_err().iter().map(|p| (p.path.clone(), p.code)).collect()
        };
        let path = |p: &str| String::from(p);
        assert_eq!(codes(FILE, "staging"), [(path("environments"), Code::UnknownEnvironment)]);
        assert_eq!(codes(r#"{"origins": []}"#, "a"), [(path("environments"), Code::UnknownEnvironment)]);
        assert_eq!(codes(r#"{"environments": []}"#, "a"), [(path("environments"), Code::WrongType)]);
        assert_eq!(codes(r#"{"environments": {}}"#, "a"), [(path("environments"), Code::WrongType)]);
        assert_eq!(codes(r#"{"environments": {"a": 1}}"#, "a"), [(path("environments.a"), Code::WrongType)]);
        assert_eq!(codes(r#"{"environments": {"a b": {}}}"#, "a b"), [(path("environments"), Code::InvalidName)]);
        assert_eq!(
            codes(r#"{"environments": {"a": {}, "a": {}}}"#, "a"),
            [(path("environments.a"), Code::DuplicateKey)]
        );
        assert_eq!(
            codes(r#"{"environments": {"a": {}}, "environments": {}}"#, "a")[0],
            (path("environments"), Code::DuplicateKey)
        );
        assert_eq!(
            codes(r#"{"environments": {"a": {"environments": {}}}}"#, "a"),
            [(path("environments.a.environments"), Code::MisplacedField)]
        );
        assert_eq!(codes("{", "a")[0].1, Code::InvalidJson);
        assert_eq!(environments("[1]").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn routes_an_environment_drops_are_named_unless_it_drops_them_all() {
        let file = r#"{"origins": ["https://a.example"], "routes": [
            {"path_prefix": "/admin/", "origins": ["https://a.example"]},
            {"host": "admin.example", "path_prefix": "/x/", "disabled": true},
            {"path_prefix": "/public/", "origins": ["*"]}],
          "environments": {
            "beta": {"routes": [{"path_prefix": "/beta/", "origins": ["*"]}, {"path_prefix": "/public/", "origins": ["*"]}]},
            "bare": {"routes": []},
            "same": {"origins": ["https://b.example"]}}}"#;
        let warnings = |name: &str| -> Vec<(String, Code, String)> {
            let environment = Environment::resolve(file, name).unwrap();
            environment.warnings().iter().map(|p| (p.path.clone(), p.code, p.message.clone())).collect()
        };
        let [(path, code, message)] = &warnings("beta")[..] else { panic!("{:?}", warnings("beta")) };
        assert_eq!((path.as_str(), *code), ("environments.beta.routes", Code::ReplacedRoutes));
        assert!(
            message.contains(r#"routes[0] (path_prefix "/admin/"), routes[1] (host "admin.example" path_prefix "/x/") do not apply in beta"#),
            "{message}"
        );
        assert_eq!(warnings("bare"), []);
        assert_eq!(warnings("same"), []);
    }

    #[test]
    fn non_ascii_text_that_is_blanked_stays_utf8() {
        let file = r#"{"origins": ["https://é.example"], "environments": {"a": {"origins": ["https://a.example"]}, "b": {"origins": ["ü"]}}}"#;
        let resolved: serde_json::Value =
            serde_json::from_str(Environment::resolve(file, "a").unwrap().text()).unwrap();
        assert_eq!(resolved, serde_json::json!({"origins": ["https://a.example"]}));
    }
}
