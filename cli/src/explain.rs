//! `corsguard explain`: what the edge answers to one browser request, which rule decided, and
//! what the browser then does with the answer.

use crate::check;
use crate::engines::{self, Cached, Console};
use crate::outcome::{Failure, Format, Outcome};
use crate::policy_file::PolicyFile;
use corsguard::tools::{Entry, Level, PolicyView, Resolved, Trace};
use corsguard::{Action, Decision, Denial, Enforcement, HeaderLines, Request, Selected};
use corsguard_browser::{self as browser, Engine, Fetch, Response};
use serde::Serialize;

/// The request to explain.
pub struct Args {
    pub fetch: Fetch,
    /// The engines the report speaks for.
    pub engines: Vec<Engine>,
    /// `https` unless `--url` says otherwise: the URL in the console message.
    pub scheme: String,
    pub host: Option<String>,
    pub path: String,
    pub format: Format,
}

/// What `explain` found: printed as JSON as it is, or rendered for people.
#[derive(Serialize)]
struct Report {
    verdict: Verdict,
    request: Asked,
    /// The route that decided (`routes[1]`), or `None` for the top level or an unclear request.
    route: Option<String>,
    /// Which part of the policy decided, in words.
    rule: Vec<String>,
    fixes: Vec<String>,
    steps: Vec<Step>,
    /// The route, in words (people only).
    #[serde(skip)]
    route_line: String,
    /// Whether `--host` was given (people only: routes on hosts were not considered without it).
    #[serde(skip)]
    host_given: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Verdict {
    Blocked,
    /// The edge passes the request through: the upstream's own headers decide.
    UpstreamDecides,
    Allowed,
}

/// The request, as the page's script makes it.
#[derive(Serialize)]
struct Asked {
    url: String,
    origin: String,
    method: String,
    headers: Vec<Header>,
    credentials: bool,
    preflight_reasons: Vec<String>,
}

#[derive(Serialize)]
struct Header {
    name: String,
    value: Option<String>,
}

/// One exchange (the preflight, or the request itself) as the edge and then the browser see it.
#[derive(Serialize)]
struct Step {
    kind: &'static str,
    /// What the edge does: "answered", "forwarded", "passed through".
    edge: &'static str,
    /// The status (`None` when it is the upstream's) and the headers the edge sets.
    status: Option<u16>,
    headers: Vec<(String, String)>,
    denial: Option<String>,
    /// The browser's verdict: `None` when it depends on the upstream (corsguard stays out).
    browser: Option<Browser>,
    /// The request line and the CORS headers the browser sends (people only).
    #[serde(skip)]
    sent: Vec<(String, String)>,
}

/// The browser's verdict on one answer.
#[derive(Serialize)]
struct Browser {
    passes: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'static str>,
    /// The console message of a refusal: the first engine's that was observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    console: Option<String>,
    /// Each engine's console message, where it was observed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    consoles: Vec<Console>,
    /// How long each engine keeps a preflight's answer, when some keeps it less than it asks.
    #[serde(skip_serializing_if = "Option::is_none")]
    cached: Option<Vec<Cached>>,
}

pub fn run(policy: &str, environment: Option<&str>, args: &Args) -> Result<Outcome, Failure> {
    let (file, view) = check::load(policy, environment)?;
    let policy = view.policy();
    let fetch = &args.fetch;
    let host = args.host.as_deref().unwrap_or_default();
    let shown_host = args.host.as_deref().unwrap_or("api.example.com");
    let url = format!("{}://{shown_host}{}", args.scheme, args.path);
    let base = Request {
        scheme: Some(args.scheme.as_bytes()),
        host: host.as_bytes(),
        path: args.path.as_bytes(),
        ..Request::default()
    };
    let selected = policy.route_for(&base);
    let reasons = fetch.preflight_reasons();

    let mut steps = Vec::new();
    let request_headers = fetch.request_headers_value();
    if !reasons.is_empty() {
        let request = Request {
            method: b"OPTIONS",
            origin: Some(fetch.origin.as_bytes()),
            request_method: Some(fetch.method.as_bytes()),
            request_headers: request_headers.as_deref().map(str::as_bytes),
            ..base
        };
        let mut sent = vec![
            ("OPTIONS".to_string(), url.clone()),
            ("Origin".to_string(), fetch.origin.clone()),
            ("Access-Control-Request-Method".to_string(), fetch.method.clone()),
        ];
        if let Some(names) = &request_headers {
            sent.push(("Access-Control-Request-Headers".to_string(), names.clone()));
        }
        steps.push(step(true, sent, &policy.evaluate(&request), args, &url));
    }
    let preflight_passed = steps.iter().all(|s| s.browser.as_ref().is_none_or(|b| b.passes));
    if preflight_passed {
        let request = Request { method: fetch.method.as_bytes(), origin: Some(fetch.origin.as_bytes()), ..base };
        let mut sent = vec![(fetch.method.clone(), url.clone()), ("Origin".to_string(), fetch.origin.clone())];
        if fetch.credentials {
            sent.push(("Cookie".to_string(), "(the page's cookies for the API)".to_string()));
        }
        for (name, value) in &fetch.headers {
            sent.push((name.clone(), value.clone().unwrap_or_else(|| "…".to_string())));
        }
        steps.push(step(false, sent, &policy.evaluate(&request), args, &url));
    }

    let blocked = steps.iter().any(|s| s.browser.as_ref().is_some_and(|b| !b.passes));
    let undecided = steps.iter().any(|s| s.browser.is_none());
    let rule = match selected {
        Selected::Unclear => Rule::unclear(args),
        _ => Rule::find(&view, &file, args, fetch),
    };
    let report = Report {
        verdict: if blocked {
            Verdict::Blocked
        } else if undecided {
            Verdict::UpstreamDecides
        } else {
            Verdict::Allowed
        },
        request: Asked {
            url,
            origin: fetch.origin.clone(),
            method: fetch.method.clone(),
            headers: fetch
                .headers
                .iter()
                .map(|(name, value)| Header { name: name.clone(), value: value.clone() })
                .collect(),
            credentials: fetch.credentials,
            preflight_reasons: reasons,
        },
        route: rule.route_path,
        rule: rule.lines,
        fixes: rule.fixes,
        steps,
        route_line: rule.route_line,
        host_given: args.host.is_some(),
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
        Format::Human => print!("{}", report.human()),
    }
    Ok(if blocked { Outcome::No } else { Outcome::Yes })
}

impl Report {
    /// The report for people.
    fn human(&self) -> String {
        let request = &self.request;
        let mut out = String::new();
        let credentials = if request.credentials { ", with credentials" } else { "" };
        out.push_str(&format!(
            "Request    fetch {} {} from {}{credentials}\n",
            request.method, request.url, request.origin
        ));
        if !self.host_given {
            out.push_str("           (no --host: routes that match on host are not considered)\n");
        }
        if request.preflight_reasons.is_empty() {
            out.push_str("           a simple request: the browser sends no preflight\n");
        }
        for reason in &request.preflight_reasons {
            out.push_str(&format!("           needs a preflight: {reason}\n"));
        }
        out.push_str(&format!("Rule       {}\n", self.route_line));
        for line in &self.rule {
            out.push_str(&format!("           {line}\n"));
        }
        for s in &self.steps {
            out.push('\n');
            let title = if s.kind == "preflight" { "Preflight" } else { "Actual" };
            let status = s.status.map_or_else(|| "the upstream's status".to_string(), |st| st.to_string());
            for (index, (name, value)) in s.sent.iter().enumerate() {
                let label = if index == 0 { title } else { "" };
                let sep = if index == 0 { " " } else { ": " };
                out.push_str(&format!("{label:<10} > {name}{sep}{value}\n"));
            }
            out.push_str(&format!("           < {status} ({} by the edge)\n", s.edge));
            for (name, value) in &s.headers {
                out.push_str(&format!("           < {name}: {value}\n"));
            }
            if s.edge == "forwarded" {
                out.push_str("             (set on the upstream's response; its own CORS headers removed)\n");
            }
            if let Some(denial) = &s.denial {
                out.push_str(&format!("           refused: {denial}\n"));
            }
            match &s.browser {
                None => out.push_str("           browser: decided by the upstream's own headers\n"),
                Some(Browser { passes: true, .. }) => out.push_str("           browser: passes the CORS check\n"),
                Some(Browser { failure, .. }) => {
                    out.push_str(&format!("           browser: fails ({})\n", failure.unwrap_or_default()))
                }
            }
        }
        out.push('\n');
        let verdict = match self.verdict {
            Verdict::Blocked => "BLOCKED: the page's script cannot read the response",
            Verdict::UpstreamDecides => "NOT DECIDED BY CORSGUARD: the upstream's own CORS headers decide",
            Verdict::Allowed => "ALLOWED: the page's script can read the response",
        };
        out.push_str(&format!("Verdict    {verdict}\n"));
        if let Some(browser) = self.steps.iter().filter_map(|s| s.browser.as_ref()).find(|b| !b.passes) {
            out.push_str(&engines::human(&browser.consoles));
        }
        if let Some(cached) = self.steps.iter().find_map(|s| s.browser.as_ref()?.cached.as_ref()) {
            out.push_str(&engines::human_cache(cached));
        }
        for fix in &self.fixes {
            out.push_str(&format!("Fix        {fix}\n"));
        }
        out
    }
}

fn step(preflight: bool, sent: Vec<(String, String)>, decision: &Decision, args: &Args, url: &str) -> Step {
    let fetch = &args.fetch;
    let denial = decision.denial.map(|d| d.to_string());
    let (edge, status, headers, verdict) = match &decision.action {
        Action::Respond { status, headers } => {
            let response = Response {
                status: *status,
                headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            };
            let verdict = if preflight {
                browser::preflight_check(fetch, &response)
            } else {
                browser::cors_check(fetch, &response)
            };
            ("answered", Some(*status), response.headers, Some(verdict))
        }
        Action::Forward(edits) => {
            let mut headers = HeaderLines::default();
            edits.apply(&mut headers);
            let response = Response { status: 200, headers: headers.0 };
            let verdict = browser::cors_check(fetch, &response);
            ("forwarded", None, response.headers, Some(verdict))
        }
        Action::PassThrough => ("passed through", None, Vec::new(), None),
    };
    // In each engine's words (the browser model's, checked against the engines by the browser suite).
    let max_age = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("access-control-max-age"));
    let cached = max_age.and_then(|(_, v)| v.parse().ok()).and_then(|s| engines::cache_lifetimes(&args.engines, s));
    let browser = verdict.map(|verdict| match verdict {
        Ok(()) => Browser { passes: true, failure: None, console: None, consoles: Vec::new(), cached },
        Err(failure) => {
            let consoles = engines::consoles(&args.engines, &failure, url, fetch, preflight);
            let console = consoles.first().map(|c| c.message.clone());
            Browser { passes: false, failure: Some(failure.code()), console, consoles, cached: None }
        }
    });
    let kind = if preflight { "preflight" } else { "actual" };
    Step { kind, edge, status, headers, denial, browser, sent }
}

/// Which part of the policy decided, in words, with fixes.
struct Rule {
    route_path: Option<String>,
    route_line: String,
    lines: Vec<String>,
    fixes: Vec<String>,
}

/// Where a field's value comes from: its source, or the top level (where it would go) when no
/// level gives it.
fn source<T>(field: &Resolved<T>, name: &str) -> String {
    field.source.clone().unwrap_or_else(|| name.to_string())
}

fn texts(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.text.clone()).collect()
}

impl Rule {
    /// A path or host that servers read in more than one way: no route decides, it is refused.
    fn unclear(args: &Args) -> Self {
        let canonical = corsguard::tools::canonical_path(args.path.as_bytes())
            .map_or_else(|| "none: the path is malformed".to_string(), |c| String::from_utf8_lossy(&c).into_owned());
        let route_line = format!(
            "none: host {:?}, path {:?} (canonical path {canonical}) is malformed, or servers would read it as \
             being under different routes",
            args.host.as_deref().unwrap_or_default(),
            args.path
        );
        let lines = vec![
            "refused as malformed-request, whatever the origin: no Access-Control-Allow-*, a 403 preflight".into(),
        ];
        let fixes = vec![
            "request the path as the browser sends it: no %2F, %5C, \\, ;params, dot segments or other case that \
             would change which route applies, and a host without userinfo or escapes"
                .to_string(),
        ];
        Rule { route_path: None, route_line, lines, fixes }
    }

    fn find(view: &PolicyView, file: &PolicyFile, args: &Args, fetch: &Fetch) -> Self {
        let policy = view.policy();
        let at = |path: &str| file.line_of(view, path);
        let mut lines = Vec::new();
        let mut fixes = Vec::new();
        let request = Request {
            method: b"GET",
            scheme: Some(args.scheme.as_bytes()),
            host: args.host.as_deref().unwrap_or_default().as_bytes(),
            path: args.path.as_bytes(),
            origin: Some(fetch.origin.as_bytes()),
            ..Request::default()
        };
        let trace = policy.trace(&request);
        let route = match trace.selected {
            Selected::Route(index) => Some(index),
            Selected::TopLevel | Selected::Unclear => None,
        };
        let disabled = trace.decision.enforcement == Enforcement::RouteDisabled;
        let level = route.and_then(|index| view.routes().get(index)).unwrap_or(view.top());
        let route_line = match route {
            Some(_) => {
                let mut matched = Vec::new();
                if let Some(host) = &level.host {
                    matched.push(format!("host {host:?}"));
                }
                if let Some(prefix) = &level.path_prefix {
                    matched.push(format!("path_prefix {prefix:?}"));
                }
                let tail = if disabled { ": disabled, corsguard leaves these requests alone" } else { "" };
                format!("{} matches ({}){tail}", at(&level.path), matched.join(", "))
            }
            None => {
                let routes = view.routes().len();
                if routes == 0 {
                    "the top level (the policy has no routes)".to_string()
                } else {
                    format!(
                        "the top level (none of the {routes} routes matches host {:?}, path {:?})",
                        args.host.as_deref().unwrap_or_default(),
                        args.path
                    )
                }
            }
        };
        if trace.decision.enforcement == Enforcement::ReportOnly {
            let mode_path = source(&level.report_only, "mode");
            lines.push(format!("{}: report-only: the edge decides and logs but changes nothing", at(&mode_path)));
        }
        if !disabled && Self::origin(level, &at, &trace, fetch, &mut lines, &mut fixes) {
            // Whether the core refuses a preflight asking for this, for this reason.
            let refuses = |method: &str, headers: Option<&str>, reason: fn(&Denial) -> bool| {
                let preflight = Request {
                    method: b"OPTIONS",
                    request_method: Some(method.as_bytes()),
                    request_headers: headers.map(str::as_bytes),
                    ..request
                };
                policy.evaluate(&preflight).denial.as_ref().is_some_and(reason)
            };
            if !browser::is_safelisted_method(&fetch.method) {
                let (path, methods) = (source(&level.methods, "methods"), texts(&level.methods.value));
                if refuses(&fetch.method, None, |denial| *denial == Denial::MethodNotAllowed) {
                    lines.push(format!("method {}: not in {}: {:?}", fetch.method, at(&path), methods));
                    let case = methods.iter().find(|m| m.eq_ignore_ascii_case(&fetch.method));
                    fixes.push(match case {
                        Some(listed) => format!(
                            "methods compare case-sensitively: the page sends {:?}, the policy lists {:?}; list {:?} \
                             (or have the page send {listed:?})",
                            fetch.method, listed, fetch.method
                        ),
                        None => format!("add {:?} to {path}", fetch.method),
                    });
                } else if methods.contains(&fetch.method) {
                    lines.push(format!("method {}: listed in {}", fetch.method, at(&path)));
                } else {
                    lines.push(format!("method {}: allowed by \"*\" in {}", fetch.method, at(&path)));
                }
            }
            let (path, allowed) =
                (source(&level.request_headers, "request_headers"), texts(&level.request_headers.value));
            for name in fetch.unsafe_header_names() {
                if refuses("GET", Some(&name), |denial| matches!(denial, Denial::HeaderNotAllowed(_))) {
                    lines.push(format!("header {name}: not in {}: {:?}", at(&path), allowed));
                    let star = if name == "authorization" && allowed.iter().any(|a| a == "*") {
                        " (\"*\" never covers Authorization: Fetch requires it by name)"
                    } else {
                        ""
                    };
                    fixes.push(format!("add {name:?} to {path}{star}"));
                } else if allowed.iter().any(|a| a.eq_ignore_ascii_case(&name)) {
                    lines.push(format!("header {name}: listed in {}", at(&path)));
                } else {
                    lines.push(format!("header {name}: allowed by \"*\" in {}", at(&path)));
                }
            }
            let path = source(&level.credentials, "credentials");
            if fetch.credentials && !level.credentials.value {
                lines.push(format!(
                    "credentials: {} is false (or unset): no Access-Control-Allow-Credentials is sent",
                    at(&path)
                ));
                fixes.push(format!(
                    "set \"credentials\": true (at {path}) and list the origins by name, or make the request \
                     without credentials"
                ));
            }
        } else if !disabled {
            lines.push("methods and headers are not looked at: the origin is refused first".to_string());
        }
        let route_path = route.map(|i| format!("routes[{i}]"));
        Rule { route_path, route_line, lines, fixes }
    }

    fn origin(
        level: &Level,
        at: &dyn Fn(&str) -> String,
        trace: &Trace,
        fetch: &Fetch,
        lines: &mut Vec<String>,
        fixes: &mut Vec<String>,
    ) -> bool {
        let path = source(&level.origins, "origins");
        let entries: Vec<String> = level.origins.value.iter().map(|o| o.text.clone()).collect();
        match trace.decision.denial {
            Some(Denial::MalformedRequest) => {
                lines.push(format!(
                    "origin {}: not an origin as a browser sends it (scheme://host[:port], lowercase, no default \
                     port, no path or trailing slash): refused, never reflected",
                    fetch.origin
                ));
                fixes.push(
                    "pass --origin exactly as the browser's Origin header shows it (DevTools, Network tab)".into(),
                );
                false
            }
            Some(_) => {
                lines.push(format!("origin {}: not allowed by {}: {:?}", fetch.origin, at(&path), entries));
                fixes.extend(near_misses(&fetch.origin, &entries));
                fixes
                    .push(format!("if {} should read these responses, add {:?} to {path}", fetch.origin, fetch.origin));
                false
            }
            None => {
                match &trace.origin_entry {
                    Some(entry) => {
                        let written = level.origins.value.iter().find(|o| o.path == *entry).map(|o| o.text.as_str());
                        let written = written.unwrap_or_default();
                        lines.push(format!("origin {}: allowed by {} {written:?}", fetch.origin, at(entry)));
                    }
                    None => lines.push(format!("origin {}: allowed by {}", fetch.origin, at(&path))),
                }
                true
            }
        }
    }
}

/// Entries that almost match: the same host on another scheme or port, a wildcard's apex, case.
fn near_misses(origin: &str, entries: &[String]) -> Vec<String> {
    let split = |o: &str| -> Option<(String, String, String)> {
        let (scheme, rest) = o.split_once("://")?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h.to_string(), p.to_string()),
            _ => (rest.to_string(), String::new()),
        };
        Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), port))
    };
    let Some((scheme, host, port)) = split(origin) else { return Vec::new() };
    let mut hints = Vec::new();
    for entry in entries {
        let Some((e_scheme, e_host, e_port)) = split(entry) else { continue };
        if let Some(parent) = e_host.strip_prefix("*.") {
            if parent == host && e_scheme == scheme {
                hints.push(format!("{entry:?} covers the subdomains of {parent}, never {parent} itself"));
            }
            continue;
        }
        if e_host == host && (e_scheme != scheme || (e_port != port && e_port != "*")) {
            hints.push(format!(
                "{entry:?} has the same host but another scheme or port: an origin is scheme, host and port together"
            ));
        }
    }
    hints
}
