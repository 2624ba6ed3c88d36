//! The compiled policy: its routes and the rules of each level (`rules`), and which of `preflight`
//! and `actual` decides a request.

use crate::answer::decision::{Action, Decision, Enforcement, Kind};
use crate::answer::denial::Denial;
use crate::answer::response::{HeaderList, ResponseEdits, VARY};
use crate::answer::trace::{Sources, Trace};
use crate::deciders::actual;
use crate::deciders::preflight;
use crate::deciders::request::Request;
use crate::deciders::rules::Rules;
use crate::policy_file::config::{self, Levels};
use crate::policy_file::fields::{POLICY_FIELDS, ROUTE_FIELDS};
use crate::policy_file::json;
use crate::policy_file::problem::{Problem, Problems};
use crate::routes::route::{Route, Routes, Selected};
use alloc::{boxed::Box, format, vec::Vec};

/// A validated, compiled CORS policy. Build it once with [`Policy::parse`]; evaluate it per request
/// with [`Policy::evaluate`], which does no JSON or policy work. What it decides is [MDN:
/// Cross-Origin Resource Sharing].
///
/// [MDN: Cross-Origin Resource Sharing]: https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CORS
#[derive(Clone, Debug)]
pub struct Policy {
    default: Rules,
    routes: Routes,
    /// Whether every level is `report-only`: only then is an unclear request left alone too.
    report_only: bool,
    pub(crate) warnings: Vec<Problem>,
}

impl Policy {
    /// Validates and compiles a policy file. On error, every problem is returned (errors and
    /// warnings, with JSON paths); no policy is built from a file with any error.
    pub fn parse(json: &str) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let value = match json::parse(json) {
            Ok(value) => value,
            Err(error) => {
                problems.not_json(json, &error);
                return Err(problems);
            }
        };
        match config::read(&value, json, &mut problems) {
            Some(levels) => Self::compile(&levels, problems),
            None => Err(problems),
        }
    }

    /// Compiles the levels of a policy file as read, whose problems so far are `problems`.
    pub(crate) fn compile((top, routes): &Levels, mut problems: Problems) -> Result<Self, Problems> {
        let default = Rules::resolve(top, None, "", &mut problems);
        let compiled = routes
            .iter()
            .map(|(path, level)| Route {
                host: level.host.as_ref().map(|(name, port)| (Box::from(name.as_str()), *port)),
                path_prefix: level.path_prefix.as_deref().map(Box::from),
                case_sensitive: level.case_sensitive,
                rules: (!level.disabled).then(|| Rules::resolve(top, Some(level), path, &mut problems)),
            })
            .collect();
        if problems.has_errors() {
            return Err(problems);
        }
        let routes = Routes::new(compiled);
        routes.warn_shadowed(&mut problems);
        let report_only =
            default.report_only && routes.iter().all(|r| r.rules.as_ref().is_some_and(|rules| rules.report_only));
        Ok(Policy { default, routes, report_only, warnings: problems.into_vec() })
    }

    /// The warnings found while parsing: legal but risky choices.
    #[must_use]
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// Whether the policy has routes: only then do a request's path and host take part in its
    /// decision (an adapter can skip reading them otherwise).
    #[must_use]
    pub fn has_routes(&self) -> bool {
        !self.routes.is_empty()
    }

    /// How many `routes` entries the policy has.
    pub(crate) fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// The level of the policy that decides this request. For tools that explain a decision;
    /// [`Policy::evaluate`] uses the same choice.
    #[must_use]
    pub fn route_for(&self, request: &Request) -> Selected {
        self.routes.select(request)
    }

    /// Decides what to do with one request, and says what the decision was made from: for tools
    /// that explain a decision (it costs more than [`Policy::evaluate`]).
    pub fn trace<'a>(&'a self, request: &Request<'a>) -> Trace<'a> {
        let selected = self.route_for(request);
        let top = &self.default.given;
        let (rules, sources) = match selected {
            Selected::Route(index) => {
                let rules = self.routes.get(index).and_then(|route| route.rules.as_ref());
                let own = rules.map_or(&[][..], |rules| &rules.given);
                (rules, Sources::resolve(&ROUTE_FIELDS, top, Some((&format!("routes[{index}]"), own))))
            }
            Selected::TopLevel | Selected::Unclear => {
                (Some(&self.default), Sources::resolve(&POLICY_FIELDS, top, None))
            }
        };
        let entry = |rules: &Rules| sources.origin_entry(rules.origins.allowing_entry(request.origin?)?);
        let origin_entry = rules.filter(|_| selected != Selected::Unclear).and_then(entry);
        Trace { decision: self.evaluate(request), selected, origin_entry, sources }
    }

    /// Decides what to do with one request.
    pub fn evaluate<'a>(&'a self, request: &Request<'a>) -> Decision<'a> {
        let route = self.route_for(request);
        match route {
            Selected::TopLevel => decide(&self.default, request, route),
            Selected::Route(index) => match self.routes.get(index).and_then(|route| route.rules.as_ref()) {
                Some(rules) => decide(rules, request, route),
                None => Decision {
                    kind: Kind::of(request),
                    denial: None,
                    enforcement: Enforcement::RouteDisabled,
                    route,
                    action: Action::PassThrough,
                },
            },
            Selected::Unclear => refuse(&self.default, request, self.report_only),
        }
    }
}

/// The answer to a request whose route is unclear: refused whatever it asks (no
/// `Access-Control-Allow-*`; a preflight gets `403`, anything else is forwarded with the
/// upstream's CORS headers removed), and enforced unless the whole policy is report-only.
fn refuse<'a>(rules: &'a Rules, request: &Request<'a>, report_only: bool) -> Decision<'a> {
    let denial = Denial::MalformedRequest;
    let mut headers = HeaderList::default();
    let kind = Kind::of(request);
    let action = if kind == Kind::Preflight {
        headers.push(VARY, rules.preflight_vary);
        rules.push_debug(&mut headers, &denial);
        Action::Respond { status: 403, headers }
    } else {
        rules.push_debug(&mut headers, &denial);
        Action::Forward(ResponseEdits { headers, vary_origin: true })
    };
    carried_out(kind, Some(denial), action, report_only, Selected::Unclear)
}

fn decide<'a>(rules: &'a Rules, request: &Request<'a>, route: Selected) -> Decision<'a> {
    let kind = Kind::of(request);
    let (denial, action) = if kind == Kind::Preflight {
        let (denial, status, headers) = preflight::answer(rules, request);
        (denial, Action::Respond { status, headers })
    } else {
        let (denial, edits) = actual::edits(rules, request);
        (denial, Action::Forward(edits))
    };
    carried_out(kind, denial, action, rules.report_only, route)
}

/// The decision, with its action kept only when it is enforced.
fn carried_out<'a>(
    kind: Kind,
    denial: Option<Denial<'a>>,
    action: Action<'a>,
    report_only: bool,
    route: Selected,
) -> Decision<'a> {
    let (enforcement, action) =
        if report_only { (Enforcement::ReportOnly, Action::PassThrough) } else { (Enforcement::Enforced, action) };
    Decision { kind, denial, enforcement, route, action }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn a_path_over_1_kib_is_unclear_where_routes_read_it_and_the_query_never_counts() {
        let policy = Policy::parse(
            r#"{"origins": ["https://a.example"], "routes": [{"path_prefix": "/a/", "disabled": true}]}"#,
        )
        .unwrap();
        let at = |path: &str| policy.route_for(&Request { path: path.as_bytes(), ..Request::default() });
        let long = alloc::format!("/a/{}", "x".repeat(1024 - 3));
        assert_eq!(at(&long), Selected::Route(0));
        assert_eq!(at(&alloc::format!("{long}x")), Selected::Unclear);
        assert_eq!(at(&alloc::format!("{long}?{long}")), Selected::Route(0));
        let without_routes = Policy::parse(r#"{"origins": ["https://a.example"]}"#).unwrap();
        let request = Request { path: long.as_bytes(), ..Request::default() };
        assert_eq!(without_routes.route_for(&Request { path: b"/a%zz", ..request }), Selected::TopLevel);
    }

    #[test]
    fn an_escaped_delimiter_cannot_hide_dot_segments_that_leave_a_route() {
        // A re-splitting proxy reads /admin/x; the canonical path is /api/y. (Edges whose URL
        // parser resolves the dot segments first forward /api/y itself, so no common vector.)
        let policy = Policy::parse(
            r#"{"origins": ["https://a.example"], "routes": [{"path_prefix": "/admin/", "disabled": true}]}"#,
        )
        .unwrap();
        for path in ["/admin/x%3F/../../api/y", "/admin/x%23/../../api/y"] {
            assert_eq!(policy.route_for(&Request { path: path.as_bytes(), ..Request::default() }), Selected::Unclear);
        }
        assert_eq!(policy.route_for(&Request { path: b"/api/y%3F", ..Request::default() }), Selected::TopLevel);
    }

    #[test]
    fn route_for_names_the_first_matching_route() {
        let policy = Policy::parse(
            r#"{"origins": ["https://a.example"], "routes": [
                {"host": "api.example:8443", "path_prefix": "/v1/"},
                {"path_prefix": "/v1/", "disabled": true},
                {"host": "API.example"}
            ]}"#,
        )
        .unwrap();
        let at = |host: &'static str, path: &'static str| {
            policy.route_for(&Request { host: host.as_bytes(), path: path.as_bytes(), ..Request::default() })
        };
        assert_eq!(at("api.example:8443", "/v1/x"), Selected::Route(0));
        assert_eq!(at("api.example", "/v1/x"), Selected::Route(1));
        assert_eq!(at("api.example:9000", "/v2/"), Selected::Route(2));
        assert_eq!(at("other.example", "/v2/"), Selected::TopLevel);
        let named = [Selected::Route(2), Selected::TopLevel, Selected::Unclear].map(|s| s.to_string());
        assert_eq!(named, ["routes[2]", "", ""]);
        let disabled = Request { host: b"x", path: b"/v1/", origin: Some(b"https://a.example"), ..Request::default() };
        let decision = policy.evaluate(&disabled);
        assert_eq!((decision.kind, decision.enforcement), (Kind::Actual, Enforcement::RouteDisabled));
        assert_eq!(decision.action, Action::PassThrough);
    }

    #[test]
    fn a_trace_names_the_route_the_sources_of_its_fields_and_the_first_entry_that_allows() {
        let policy = Policy::parse(
            r#"{"origins": ["https://a.example.com", "https://*.example.com", "https://pr-*.example.com"],
                "credentials": true,
                "routes": [{"path_prefix": "/api/", "methods": ["PUT"]},
                           {"path_prefix": "/own/", "origins": ["https://x.test", "https://pr-*.example.com"]}]}"#,
        )
        .unwrap();
        let trace = |path: &'static str, origin: &'static str| {
            policy.trace(&Request { path: path.as_bytes(), origin: Some(origin.as_bytes()), ..Request::default() })
        };
        let api = trace("/api/items", "https://a.example.com");
        assert_eq!(api.selected, Selected::Route(0));
        assert_eq!(api.source("methods"), Some("routes[0].methods"));
        assert_eq!((api.source("origins"), api.source("credentials")), (Some("origins"), Some("credentials")));
        assert_eq!(api.source("request_headers"), None);
        assert_eq!(api.origin_entry.as_deref(), Some("origins[0]"), "the exact entry before the wildcard");
        assert_eq!(trace("/", "https://pr-7.example.com").origin_entry.as_deref(), Some("origins[1]"));
        let own = trace("/own/", "https://pr-7.example.com");
        assert_eq!((own.selected, own.origin_entry.as_deref()), (Selected::Route(1), Some("routes[1].origins[1]")));
        assert_eq!(trace("/own/", "https://a.example.com").origin_entry, None);
        assert_eq!(trace("/", "https://A.example.com").origin_entry, None, "not what a browser sends");
        assert_eq!(trace("/%2e%2e/api/", "https://a.example.com").selected, Selected::Unclear);
        let any = Policy::parse(r#"{"origins": ["null", "*"]}"#).unwrap();
        let null = any.trace(&Request { origin: Some(b"null"), ..Request::default() });
        assert_eq!(null.origin_entry.as_deref(), Some("origins[1]"), "answered by *");
        assert_eq!(null.decision, any.evaluate(&Request { origin: Some(b"null"), ..Request::default() }));
    }
}
