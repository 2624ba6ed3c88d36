//! A read-only view of a compiled policy, for tools (`corsguard check`, `explain`, `verify`,
//! `emit`, `import`): every level with what it matches and what it resolves each field to, where
//! that value is written, and each `origins` entry's shape. Tools read the policy only through it,
//! so no tool parses a policy file or re-derives inheritance. Edges never build it.

use crate::answer::trace::Sources;
use crate::deciders::policy::Policy;
use crate::deciders::rules::{DEFAULT_PREFLIGHT_STATUS, inherit};
use crate::origins::pattern::{self, OriginShape};
use crate::policy_file::config::{self, Level as Read};
use crate::policy_file::fields::{POLICY_FIELDS, ROUTE_FIELDS};
use crate::policy_file::json::{self, Layout, Member, Value};
use crate::policy_file::problem::{Problems, locate};
use crate::policy_file::source::{Span, Spans};
use alloc::{format, string::String, vec::Vec};

/// A policy file as the core read and compiled it.
#[derive(Clone, Debug)]
pub struct PolicyView {
    policy: Policy,
    /// The file's JSON, as read.
    value: Value,
    top: Level,
    routes: Vec<Level>,
    spans: Spans,
}

/// One level of the policy: the top level, or one entry of `routes`, with every field resolved
/// (its own value, else the top level's, else the default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// `""` for the top level, `routes[N]` for a route.
    pub path: String,
    /// A route's `host`, as written.
    pub host: Option<String>,
    /// A route's `path_prefix`.
    pub path_prefix: Option<String>,
    /// A route's `case_sensitive` (`true` unless it says otherwise).
    pub case_sensitive: bool,
    /// A route's `disabled`: corsguard leaves matching requests alone.
    pub disabled: bool,
    /// `origins`: which origins may read responses.
    pub origins: Resolved<Vec<OriginEntry>>,
    /// `methods`: beyond the CORS-safelisted GET, HEAD and POST.
    pub methods: Resolved<Vec<Entry>>,
    /// `request_headers`: what `Access-Control-Request-Headers` may ask for.
    pub request_headers: Resolved<Vec<Entry>>,
    /// `expose_headers`: response headers scripts may read.
    pub expose_headers: Resolved<Vec<Entry>>,
    /// `credentials`: whether cookies and authorization may be sent.
    pub credentials: Resolved<bool>,
    /// Seconds, or none when no level gives it (no `Access-Control-Max-Age` is sent).
    pub max_age: Resolved<Option<u32>>,
    /// `private_network`: whether public pages may reach this private address.
    pub private_network: Resolved<bool>,
    /// `preflight_status`: the status of a preflight's answer (204 unless given).
    pub preflight_status: Resolved<u16>,
    /// `mode: "report-only"`.
    pub report_only: Resolved<bool>,
    /// `debug`: whether a refusal says why in a response header.
    pub debug: Resolved<bool>,
}

/// A level's value of one field, and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved<T> {
    /// The resolved value.
    pub value: T,
    /// The JSON path that gives it (`routes[1].methods`, or `methods` when the route inherits the
    /// top level's); none when no level gives it and its default applies.
    pub source: Option<String>,
}

/// One entry of a list field, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its JSON path (`routes[1].methods[0]`).
    pub path: String,
    /// The string, escapes decoded.
    pub text: String,
}

/// One entry of `origins`, as written, and what it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginEntry {
    /// Its JSON path (`origins[2]`).
    pub path: String,
    /// The string, escapes decoded.
    pub text: String,
    /// What it matches.
    pub shape: OriginShape,
}

impl PolicyView {
    /// Validates and compiles a policy file as [`Policy::parse`] does, and keeps what tools read.
    /// Every problem (of a rejected file, or each warning of an accepted one) carries its byte
    /// offset and offending value.
    pub fn parse(text: &str) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let (value, spans) = match json::parse_with_spans(text) {
            Ok(parsed) => parsed,
            Err(error) => {
                problems.not_json_at(format!("not valid JSON: {}", error.message), &error);
                return Err(problems);
            }
        };
        let spans = Spans::of(&value, &spans);
        let compiled = match config::read(&value, text, &mut problems) {
            Some(levels) => Policy::compile(&levels, problems).map(|policy| (policy, levels)),
            None => Err(problems),
        };
        let (mut policy, (top, routes)) = compiled.map_err(|mut problems| {
            problems.locate(&spans);
            problems
        })?;
        locate(&mut policy.warnings, &spans);
        let objects = objects(&value);
        let routes =
            routes.iter().enumerate().map(|(index, (path, route))| level(&objects, &top, Some((index, path, route))));
        let (top, routes) = (level(&objects, &top, None), routes.collect());
        Ok(PolicyView { policy, value, top, routes, spans })
    }

    /// The compiled policy, as an edge evaluates it.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The policy as JSON text, laid out anew: the same members in the same order, ASCII only (for
    /// embedding in another file: an edge's YAML or TOML, a store entry).
    #[must_use]
    pub fn json(&self, layout: Layout) -> String {
        let mut out = String::new();
        json::write(&self.value, layout, 0, &mut out);
        out
    }

    /// The top level.
    #[must_use]
    pub fn top(&self) -> &Level {
        &self.top
    }

    /// The routes, in file order.
    #[must_use]
    pub fn routes(&self) -> &[Level] {
        &self.routes
    }

    /// The top level, then each route.
    pub fn levels(&self) -> impl Iterator<Item = &Level> {
        core::iter::once(&self.top).chain(&self.routes)
    }

    /// Each value of a field as written: from each level that gives it itself (where the levels
    /// that inherit it would repeat it).
    pub fn given<'v, T: 'v>(
        &'v self,
        field: impl Fn(&'v Level) -> &'v Resolved<T>,
    ) -> impl Iterator<Item = &'v Resolved<T>> {
        self.levels().filter_map(move |level| {
            let value = field(level);
            let giver = value.source.as_deref()?.rsplit_once('.').map_or("", |(level, _)| level);
            (giver == level.path).then_some(value)
        })
    }

    /// Where a JSON path is written, or else the nearest written path that holds it.
    #[must_use]
    pub fn span(&self, path: &str) -> Option<Span> {
        self.spans.nearest(path)
    }
}

/// The top-level object's members and each route object's.
struct Objects<'v> {
    top: &'v [Member],
    routes: Vec<&'v [Member]>,
}

fn objects(value: &Value) -> Objects<'_> {
    let top = match value {
        Value::Object(members) => members.as_slice(),
        _ => &[],
    };
    let routes = match member(top, "routes") {
        Some(Value::Array(routes)) => routes
            .iter()
            .map(|route| match route {
                Value::Object(members) => members.as_slice(),
                _ => &[],
            })
            .collect(),
        _ => Vec::new(),
    };
    Objects { top, routes }
}

fn member<'v>(object: &'v [Member], key: &str) -> Option<&'v Value> {
    object.iter().find(|m| m.key == key).map(|m| &m.value)
}

/// A level's fields resolved from the levels as read, each with the path [`Sources`] gives it.
fn level(objects: &Objects, top: &Read, route: Option<(usize, &String, &Read)>) -> Level {
    let (fields, own) = match route {
        Some((_, path, read)) => (&ROUTE_FIELDS[..], Some((path.as_str(), &read.given[..]))),
        None => (&POLICY_FIELDS[..], None),
    };
    let sources = Sources::resolve(fields, &top.given, own);
    let source = |field: &str| sources.0.iter().find(|(name, _)| *name == field).map(|(_, path)| String::from(&**path));
    let route_object = route.and_then(|(index, ..)| objects.routes.get(index).copied()).unwrap_or_default();
    // The list a field's source gives: the route's own, or the top level's.
    let list = |field: &str| -> Resolved<Vec<Entry>> {
        let source = source(field);
        let object = if source.as_deref() == Some(field) { objects.top } else { route_object };
        let value = match (&source, member(object, field)) {
            (Some(path), Some(Value::Array(items))) => items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| match item {
                    Value::String(text) => Some(Entry { path: format!("{path}[{index}]"), text: text.clone() }),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Resolved { value, source }
    };
    let read = route.map(|(_, _, read)| read);
    let origins = list("origins");
    let origins = Resolved {
        value: origins
            .value
            .into_iter()
            .filter_map(|Entry { path, text }| Some(OriginEntry { shape: pattern::shape(&text)?, path, text }))
            .collect(),
        source: origins.source,
    };
    Level {
        path: route.map(|(_, path, _)| path.clone()).unwrap_or_default(),
        host: match member(route_object, "host") {
            Some(Value::String(host)) => Some(host.clone()),
            _ => None,
        },
        path_prefix: read.and_then(|r| r.path_prefix.clone()),
        case_sensitive: read.is_none_or(|r| r.case_sensitive),
        disabled: read.is_some_and(|r| r.disabled),
        origins,
        methods: list("methods"),
        request_headers: list("request_headers"),
        expose_headers: list("expose_headers"),
        credentials: Resolved {
            value: *inherit(top, read, |l| l.credentials.as_ref()).unwrap_or(&false),
            source: source("credentials"),
        },
        max_age: Resolved { value: inherit(top, read, |l| l.max_age.as_ref()).copied(), source: source("max_age") },
        private_network: Resolved {
            value: *inherit(top, read, |l| l.private_network.as_ref()).unwrap_or(&false),
            source: source("private_network"),
        },
        preflight_status: Resolved {
            value: *inherit(top, read, |l| l.preflight_status.as_ref()).unwrap_or(&DEFAULT_PREFLIGHT_STATUS),
            source: source("preflight_status"),
        },
        report_only: Resolved {
            value: *inherit(top, read, |l| l.report_only.as_ref()).unwrap_or(&false),
            source: source("mode"),
        },
        debug: Resolved { value: *inherit(top, read, |l| l.debug.as_ref()).unwrap_or(&false), source: source("debug") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_file::problem::Code;

    const POLICY: &str = r#"{
  "origins": ["https://app.example.com", "https://*.example.com", "http://localhost:*"],
  "methods": ["PUT"],
  "max_age": 600,
  "routes": [
    { "path_prefix": "/public", "origins": ["*"], "credentials": false },
    { "host": "Admin.Example.com", "methods": ["DELETE"], "mode": "report-only" },
    { "path_prefix": "/legacy", "disabled": true }
  ]
}"#;

    #[test]
    fn each_level_resolves_its_fields_and_says_where_they_come_from() {
        let view = PolicyView::parse(POLICY).unwrap();
        let top = view.top();
        let [public, admin, legacy] = view.routes() else { panic!("{:?}", view.routes()) };
        assert_eq!(top.path, "");
        assert_eq!(top.methods.source.as_deref(), Some("methods"));
        assert_eq!(top.methods.value, [Entry { path: "methods[0]".into(), text: "PUT".into() }]);
        let shapes: Vec<_> = top.origins.value.iter().map(|o| o.shape).collect();
        assert_eq!(
            shapes,
            [
                OriginShape::Exact { any_port: false },
                OriginShape::Subdomains { any_port: false },
                OriginShape::Exact { any_port: true }
            ]
        );
        assert_eq!(public.path_prefix.as_deref(), Some("/public"));
        assert_eq!(public.origins.source.as_deref(), Some("routes[0].origins"));
        assert_eq!(public.origins.value[0].shape, OriginShape::Any);
        assert_eq!(public.methods.source.as_deref(), Some("methods"));
        assert_eq!(public.max_age, Resolved { value: Some(600), source: Some("max_age".into()) });
        assert_eq!(public.credentials, Resolved { value: false, source: Some("routes[0].credentials".into()) });
        assert_eq!(admin.host.as_deref(), Some("Admin.Example.com"));
        assert_eq!(admin.methods.value[0].path, "routes[1].methods[0]");
        assert_eq!(admin.report_only, Resolved { value: true, source: Some("routes[1].mode".into()) });
        assert_eq!(admin.preflight_status, Resolved { value: 204, source: None });
        assert!(legacy.disabled && legacy.case_sensitive);
        let methods: Vec<_> = view.given(|level| &level.methods).map(|m| m.source.as_deref()).collect();
        assert_eq!(methods, [Some("methods"), Some("routes[1].methods")]);
    }

    #[test]
    fn problems_carry_their_offset_and_value() {
        let text = "{\n  \"origins\": [\"https://a.example/\"],\n  \"max_age\": 9000\n}";
        let problems = PolicyView::parse(text).unwrap_err();
        let slash = problems.iter().find(|p| p.code == Code::TrailingSlash).unwrap();
        assert_eq!(slash.offset, Some(text.find("\"https").unwrap()));
        assert_eq!(slash.value.clone().map(|v| &text[v]), Some("\"https://a.example/\""));
        let view = PolicyView::parse("{\"max_age\": 9000}").unwrap_err();
        let missing = view.iter().find(|p| p.code == Code::NoOrigins).unwrap();
        assert_eq!((missing.offset, missing.value.clone()), (Some(0), None));
        let text = "{\"origins\": [\"*\"],\n \"methods\": [\"patch\"]}";
        let valid = PolicyView::parse(text).unwrap();
        let warning = &valid.policy().warnings()[0];
        assert_eq!(warning.code, Code::LowercasePatch);
        assert_eq!(
            (warning.offset, warning.value.clone().map(|v| &text[v])),
            (text.find("\"patch"), Some("\"patch\""))
        );
        let broken = PolicyView::parse("{\"origins\": [\"*\",]}").unwrap_err();
        let broken = broken.iter().next().unwrap();
        assert_eq!(
            (broken.code, broken.offset, broken.message.as_str()),
            (Code::InvalidJson, Some(17), "not valid JSON: trailing comma")
        );
    }

    #[test]
    fn an_edge_parse_is_unlocated_and_places_text_that_is_not_json_in_its_message() {
        let problems = Policy::parse("{\"origins\": [\"https://a.example/\"]}").unwrap_err();
        assert!(problems.iter().all(|p| p.offset.is_none() && p.value.is_none()));
        let broken = Policy::parse("{\"origins\": [\"*\",]}").unwrap_err();
        let broken = broken.iter().next().unwrap();
        assert_eq!(
            (broken.message.as_str(), broken.offset),
            ("not valid JSON: trailing comma at line 1 column 18", None)
        );
    }
}
