//! `corsguard verify`: proves that live edges enforce the policy. The probe set is derived from
//! the policy itself (each origin entry with near misses, each method and request header and one
//! unlisted, credentials, private network, each route from inside, just outside and through other
//! spellings); every case goes to every edge; every answer is compared with the policy's own
//! answer (the core's decision for exactly that request) and judged by the browser model. Cases
//! that the policy leaves to the upstream (disabled routes) are compared across the edges.

use crate::browser::{self, Fetch, Response};
use crate::check;
use crate::probe;
use crate::{Failure, Format, Outcome};
use corsguard::tools::{Entry, PolicyView};
use corsguard::{Action, DEBUG_HEADER, HeaderLines, Policy, Request};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use ureq::http;

pub struct Args {
    pub policy: String,
    pub env: Option<String>,
    pub urls: Vec<String>,
    pub timeout: Duration,
    /// Requests per second, over all edges.
    pub rate: f64,
    pub format: Format,
}

/// An origin no policy lists: what an attacker's page is.
const STRANGER: &str = "https://corsguard-verify.invalid";
/// A request header no policy lists.
const UNLISTED_HEADER: &str = "X-Corsguard-Verify";
/// The path of cases at the top level, and the last segment of paths inside a route.
const LEAF: &str = "corsguard-verify";

/// One request a browser would send, and why it is in the set.
struct Case {
    why: String,
    preflight: bool,
    path: String,
    /// The `Host` to send instead of the URL's (a route's host, and its other spellings).
    host: Option<String>,
    fetch: Fetch,
}

impl Case {
    fn label(&self) -> String {
        let request = if self.preflight { format!("preflight {}", self.fetch.method) } else { "GET".to_string() };
        format!("{}: {request} from {}", self.why, self.fetch.origin)
    }

    /// The header lines sent: what a browser sends, never a cookie.
    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![("Origin".to_string(), self.fetch.origin.clone())];
        if let Some(host) = &self.host {
            headers.push(("Host".to_string(), host.clone()));
        }
        if self.preflight {
            headers.push(("Access-Control-Request-Method".to_string(), self.fetch.method.clone()));
            if let Some(names) = self.fetch.request_headers_value() {
                headers.push(("Access-Control-Request-Headers".to_string(), names));
            }
            if self.fetch.private_network {
                headers.push(("Access-Control-Request-Private-Network".to_string(), "true".to_string()));
            }
        }
        headers.push(("Sec-Fetch-Mode".to_string(), "cors".to_string()));
        headers
    }

    fn method(&self) -> &'static str {
        if self.preflight { "OPTIONS" } else { "GET" }
    }
}

/// What the policy answers a case with.
enum Expected {
    /// The edge answers itself: this status and these headers.
    Answer(Response),
    /// The edge forwards, and sets these headers on the upstream's answer.
    Edits(Response),
    /// The policy leaves it to the upstream: every edge must answer alike.
    Upstream,
}

impl Expected {
    fn of(policy: &Policy, case: &Case, scheme: &str, authority: &str) -> Self {
        let sent = case.headers();
        let header = |name: &str| sent.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_bytes());
        let request = Request {
            method: case.method().as_bytes(),
            scheme: Some(scheme.as_bytes()),
            host: header("host").unwrap_or(authority.as_bytes()),
            path: case.path.as_bytes(),
            origin: header("origin"),
            request_method: header("access-control-request-method"),
            request_headers: header("access-control-request-headers"),
            request_private_network: header("access-control-request-private-network"),
        };
        let line = |(name, value): (&str, &str)| (name.to_string(), value.to_string());
        match policy.evaluate(&request).action {
            Action::Respond { status, headers } => {
                Expected::Answer(Response { status, headers: headers.iter().map(line).collect() })
            }
            Action::Forward(edits) => {
                let mut headers = HeaderLines::default();
                edits.apply(&mut headers);
                Expected::Edits(Response { status: 200, headers: headers.0 })
            }
            Action::PassThrough => Expected::Upstream,
        }
    }
}

impl Expected {
    /// What a browser does with the policy's answer: `allowed`, `blocked`, or `upstream`.
    fn verdict(&self, case: &Case) -> &'static str {
        match self {
            Expected::Answer(want) | Expected::Edits(want) => verdict_word(&verdict(case, want)),
            Expected::Upstream => "upstream",
        }
    }

    fn answer(&self) -> Option<Answer> {
        match self {
            Expected::Answer(want) => {
                Some(Answer { status: Some(want.status), headers: cors_headers(want), vary: vary(want) })
            }
            Expected::Edits(want) => Some(Answer { status: None, headers: cors_headers(want), vary: vary(want) }),
            Expected::Upstream => None,
        }
    }
}

/// One edge's answer to a case, judged: against the policy's answer, or, for what the policy
/// leaves to the upstream, against the first edge's (`first`, with its name).
fn judge(
    edge: &str,
    case: &Case,
    expected: &Expected,
    answer: &Response,
    first: Option<(&Response, &str)>,
) -> EdgeAnswer {
    let judged = verdict(case, answer);
    let differences = match expected {
        Expected::Answer(want) | Expected::Edits(want) => {
            if verdict(case, want).is_err() && judged.is_err() && refused_before_the_policy(answer) {
                Vec::new() // failed closed before the policy could answer: Envoy's 400 for an escaped slash
            } else {
                differences(want, answer, matches!(expected, Expected::Answer(_)))
            }
        }
        Expected::Upstream => first.map_or_else(Vec::new, |(first, name)| {
            differences(first, answer, true)
                .into_iter()
                .map(|d| format!("{} (as {name} answers it)", d.replace("the policy", name)))
                .collect()
        }),
    };
    EdgeAnswer {
        edge: edge.to_string(),
        policy: expected.verdict(case),
        browser: verdict_word(&judged),
        failure: judged.as_ref().err().map(browser::Failure::code),
        agrees: differences.is_empty(),
        differences,
        answer: Some(Answer { status: Some(answer.status), headers: cors_headers(answer), vary: vary(answer) }),
    }
}

/// The headers an answer is compared on: CORS's own and corsguard's reason, joined per name.
fn cors_headers(response: &Response) -> BTreeMap<String, String> {
    let names: Vec<String> = response
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| n.starts_with("access-control-") || n == DEBUG_HEADER)
        .collect();
    names.into_iter().filter_map(|n| Some((n.clone(), response.get(&n)?))).collect()
}

fn vary(response: &Response) -> BTreeSet<String> {
    response.all("vary").iter().flat_map(|v| v.split(',')).map(|t| t.trim().to_ascii_lowercase()).collect()
}

/// How `answer` differs from `want`, in words; `status` too when the edge answers itself.
fn differences(want: &Response, answer: &Response, status: bool) -> Vec<String> {
    let mut found = Vec::new();
    if status && want.status != answer.status {
        found.push(format!("status {} where the policy answers {}", answer.status, want.status));
    }
    let (want_headers, got) = (cors_headers(want), cors_headers(answer));
    for name in want_headers.keys().chain(got.keys()).collect::<BTreeSet<_>>() {
        match (want_headers.get(name), got.get(name)) {
            (Some(w), Some(g)) if w == g => {}
            (Some(w), Some(g)) => found.push(format!("{name}: {g} where the policy sends {w}")),
            (Some(w), None) => found.push(format!("no {name} where the policy sends {w}")),
            (None, Some(g)) => found.push(format!("{name}: {g}, which the policy never sends")),
            (None, None) => {}
        }
    }
    let missing: Vec<String> = vary(want).difference(&vary(answer)).cloned().collect();
    if !missing.is_empty() {
        found.push(format!("Vary lacks {}: caches may serve this answer to other origins", missing.join(", ")));
    }
    found
}

/// An error the edge's server gave before corsguard could answer (a path it refuses to read):
/// no CORS header at all, so it grants nothing.
fn refused_before_the_policy(answer: &Response) -> bool {
    answer.status >= 400 && !answer.headers.iter().any(|(n, _)| n.to_ascii_lowercase().starts_with("access-control-"))
}

fn verdict(case: &Case, response: &Response) -> Result<(), browser::Failure> {
    if case.preflight {
        browser::preflight_check(&case.fetch, response)
    } else {
        browser::cors_check(&case.fetch, response)
    }
}

fn verdict_word(verdict: &Result<(), browser::Failure>) -> &'static str {
    if verdict.is_ok() { "allowed" } else { "blocked" }
}

/// The report, as `--format json` prints it.
#[derive(Serialize)]
struct Report {
    policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    edges: Vec<EdgeName>,
    cases: Vec<CaseReport>,
    disagreements: usize,
}

#[derive(Serialize)]
struct EdgeName {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct CaseReport {
    case: String,
    request: Sent,
    /// `allowed`, `blocked`, or `upstream` (the policy leaves it to the upstream).
    policy: &'static str,
    /// The policy's answer: its status (when the edge answers itself) and headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<Answer>,
    answers: Vec<EdgeAnswer>,
}

#[derive(Serialize)]
struct Sent {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Answer {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    headers: BTreeMap<String, String>,
    vary: BTreeSet<String>,
}

#[derive(Serialize)]
struct EdgeAnswer {
    edge: String,
    /// What a browser does with the policy's answer to this edge (its Host may choose the route).
    policy: &'static str,
    /// None when the edge did not answer (the reason is in `differences`).
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<Answer>,
    browser: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'static str>,
    agrees: bool,
    differences: Vec<String>,
}

/// Spaces requests so that no more than `rate` go out per second.
struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next = self.next.max(now) + self.interval;
    }
}

/// One edge as verify reaches it.
#[derive(Clone)]
struct Edge {
    /// What the table calls it: the name given as `NAME=URL`, else `edge N`.
    name: String,
    /// `scheme://authority`.
    base: String,
    scheme: String,
    /// The URL's authority: the `Host` sent unless a case names another.
    authority: String,
}

fn edge(index: usize, arg: &str) -> Result<Edge, Failure> {
    let (name, url) = match arg.split_once('=') {
        Some((name, url)) if !name.contains("://") => (name.to_string(), url),
        _ => (format!("edge {}", index + 1), arg),
    };
    let uri: http::Uri = url.parse().map_err(|e| Failure::Usage(format!("{url} is not a URL: {e}")))?;
    let (Some(scheme @ ("http" | "https")), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(Failure::Usage(format!("{url}: give an edge as http://host[:port] or https://host[:port]")));
    };
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(Failure::Usage(format!(
            "{url}: give the edge's origin only; verify chooses the paths from the policy"
        )));
    }
    Ok(Edge {
        name,
        base: format!("{scheme}://{authority}"),
        scheme: scheme.to_string(),
        authority: authority.to_string(),
    })
}

pub fn run(args: &Args) -> Result<Outcome, Failure> {
    if !(args.rate > 0.0 && args.rate <= 1000.0) {
        return Err(Failure::Usage(format!("--rate {}: give 0 < requests per second <= 1000", args.rate)));
    }
    let edges = args.urls.iter().enumerate().map(|(index, url)| edge(index, url)).collect::<Result<Vec<_>, _>>()?;
    let Some(Edge { scheme, authority, .. }) = edges.first().cloned() else {
        return Err(Failure::Usage("give the URL of at least one edge".into()));
    };
    let (file, view) = check::load(&args.policy, args.env.as_deref())?;
    let policy = view.policy();
    let cases = cases(&view);
    let agent = probe::agent(args.timeout);
    let mut pacer = Pacer { interval: Duration::from_secs_f64(1.0 / args.rate), next: Instant::now() };
    let mut reports = Vec::new();
    for case in &cases {
        let mut answers: Vec<EdgeAnswer> = Vec::new();
        // The first answer, and whose: what the others are compared with where the upstream decides.
        let mut first: Option<(Response, String)> = None;
        for edge in &edges {
            pacer.wait();
            // Per edge: a route may match on the Host, which is each edge's own.
            let expected = Expected::of(policy, case, &edge.scheme, &edge.authority);
            let answer = probe::send(
                &agent,
                args.timeout,
                case.method(),
                &format!("{}{}", edge.base, case.path),
                &case.headers(),
            );
            answers.push(match answer {
                Ok(answer) => {
                    let judged =
                        judge(&edge.name, case, &expected, &answer, first.as_ref().map(|(f, n)| (f, n.as_str())));
                    first.get_or_insert((answer, edge.name.clone()));
                    judged
                }
                // An edge unreachable from the first case cannot be verified at all: exit 2.
                Err(Failure::Cannot(why)) if reports.is_empty() => return Err(Failure::Cannot(why)),
                Err(Failure::Cannot(why)) => EdgeAnswer {
                    edge: edge.name.clone(),
                    policy: expected.verdict(case),
                    answer: None,
                    browser: "blocked",
                    failure: Some("network-error"),
                    agrees: false,
                    differences: vec![why],
                },
                Err(other) => return Err(other),
            });
        }
        let expected = Expected::of(policy, case, &scheme, &authority);
        reports.push(CaseReport {
            case: case.label(),
            request: Sent { method: case.method(), path: case.path.clone(), headers: case.headers() },
            policy: expected.verdict(case),
            expected: expected.answer(),
            answers,
        });
    }
    let disagreements = reports.iter().flat_map(|r| &r.answers).filter(|a| !a.agrees).count();
    let report = Report {
        policy: file.name.clone(),
        environment: args.env.clone(),
        edges: edges.iter().map(|e| EdgeName { name: e.name.clone(), url: e.base.clone() }).collect(),
        cases: reports,
        disagreements,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
        Format::Human => print!("{}", report.human()),
    }
    Ok(if disagreements == 0 { Outcome::Yes } else { Outcome::No })
}

impl Report {
    fn human(&self) -> String {
        let environment = self.environment.as_ref().map(|e| format!(", environment {e}")).unwrap_or_default();
        let mut out = format!(
            "Verify     {}{environment}: {} cases, each sent to {} edge{}\n",
            self.policy,
            self.cases.len(),
            self.edges.len(),
            if self.edges.len() == 1 { "" } else { "s" }
        );
        let named = self.edges.iter().map(|e| e.name.chars().count()).max().unwrap_or_default();
        for edge in &self.edges {
            out.push_str(&format!("           {:<named$}  {}\n", edge.name, edge.url));
        }
        let width = self.cases.iter().map(|c| c.case.chars().count()).max().unwrap_or(4).max(4);
        let cell = named.max("blocked ✗".chars().count());
        out.push_str(&format!("\n{:<width$}  policy  ", "case"));
        for edge in &self.edges {
            out.push_str(&format!(" {:<cell$}", edge.name));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        for case in &self.cases {
            out.push_str(&format!("{:<width$}  {:<8}", case.case, case.policy));
            for answer in &case.answers {
                let verdict =
                    if answer.agrees { answer.browser.to_string() } else { format!("{} ✗", answer.browser) };
                out.push_str(&format!(" {verdict:<cell$}"));
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
        }
        for case in self.cases.iter().filter(|c| c.answers.iter().any(|a| !a.agrees)) {
            out.push_str(&format!("\nDisagrees  {}\n", case.case));
            out.push_str(&format!("           > {} {}\n", case.request.method, case.request.path));
            for (name, value) in &case.request.headers {
                out.push_str(&format!("           > {name}: {value}\n"));
            }
            if let Some(expected) = &case.expected {
                out.push_str(&format!("           policy: {}{}\n", case.policy, answer_line(expected)));
            }
            for answer in case.answers.iter().filter(|a| !a.agrees) {
                let shown = answer.answer.as_ref().map(answer_line).unwrap_or_default();
                out.push_str(&format!("           {}: {} in a browser{shown}\n", answer.edge, answer.browser));
                for difference in &answer.differences {
                    out.push_str(&format!("             - {difference}\n"));
                }
            }
        }
        let answers = self.cases.len() * self.edges.len();
        out.push('\n');
        if self.disagreements == 0 {
            out.push_str(&format!("Result     every edge enforces the policy: {answers} answers, none disagrees\n"));
        } else {
            out.push_str(&format!(
                "Result     DISAGREEMENT: {} of {answers} answers differ from the policy or from another edge\n",
                self.disagreements
            ));
        }
        out
    }
}

fn answer_line(answer: &Answer) -> String {
    let status = answer.status.map(|s| format!("{s}, ")).unwrap_or_default();
    let headers: Vec<String> = answer.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    let vary: Vec<&str> = answer.vary.iter().map(String::as_str).collect();
    let headers = if headers.is_empty() { "no CORS headers".to_string() } else { headers.join("; ") };
    let vary = if vary.is_empty() { "-".to_string() } else { vary.join(", ") };
    format!(" ({status}{headers}; vary: {vary})")
}

// --- The probe set -------------------------------------------------------------------------------

/// One level of the policy (the top level or an enabled route) as the cases see it: what it
/// lists (inherited from the top level where it gives nothing) and a request inside it.
struct Level<'v> {
    name: String,
    path: String,
    host: Option<String>,
    origins: Vec<&'v str>,
    methods: Vec<&'v str>,
    request_headers: Vec<&'v str>,
}

fn texts(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.text.as_str()).collect()
}

/// The path inside a route's prefix.
fn inside(prefix: &str) -> String {
    if prefix.ends_with('/') { format!("{prefix}{LEAF}") } else { format!("{prefix}/{LEAF}") }
}

fn cases(view: &PolicyView) -> Vec<Case> {
    let top = view.top();
    let top_origins: Vec<&str> = top.origins.value.iter().map(|o| o.text.as_str()).collect();
    let mut levels = vec![Level {
        name: "top level".into(),
        path: format!("/{LEAF}"),
        host: None,
        origins: top_origins.clone(),
        methods: texts(&top.methods.value),
        request_headers: texts(&top.request_headers.value),
    }];
    let mut cases = Vec::new();
    for route in view.routes() {
        let name = route.path.clone();
        let prefix = route.path_prefix.as_deref();
        let host = route.host.clone();
        let path = prefix.map_or_else(|| format!("/{LEAF}"), inside);
        if route.disabled {
            let origin = top_origins.iter().find_map(|o| allowed(o)).unwrap_or_else(|| STRANGER.to_string());
            cases.push(Case {
                why: format!("{name} is disabled: the upstream answers"),
                preflight: false,
                path,
                host,
                fetch: get(&origin),
            });
            continue;
        }
        let level = Level {
            name: name.clone(),
            path,
            host,
            origins: route.origins.value.iter().map(|o| o.text.as_str()).collect(),
            methods: texts(&route.methods.value),
            request_headers: texts(&route.request_headers.value),
        };
        let origin = level.origins.iter().find_map(|o| allowed(o)).unwrap_or_else(|| STRANGER.to_string());
        if let Some(prefix) = prefix {
            for (why, path) in path_variants(prefix, route.case_sensitive) {
                for (who, origin) in [("its origin", origin.as_str()), ("a stranger", STRANGER)] {
                    cases.push(Case {
                        why: format!("{name}, {why}, {who}"),
                        preflight: false,
                        path: path.clone(),
                        host: level.host.clone(),
                        fetch: get(origin),
                    });
                }
                cases.push(Case {
                    why: format!("{name}, {why}"),
                    preflight: true,
                    path,
                    host: level.host.clone(),
                    fetch: preflight(&origin, "PUT"),
                });
            }
        }
        if let Some(host) = &route.host {
            for (why, variant) in host_variants(host) {
                for (who, origin) in [("its origin", origin.as_str()), ("a stranger", STRANGER)] {
                    cases.push(Case {
                        why: format!("{name}, {why}, {who}"),
                        preflight: false,
                        path: level.path.clone(),
                        host: Some(variant.clone()),
                        fetch: get(origin),
                    });
                }
                cases.push(Case {
                    why: format!("{name}, {why}"),
                    preflight: true,
                    path: level.path.clone(),
                    host: Some(variant),
                    fetch: preflight(&origin, "PUT"),
                });
            }
        }
        levels.push(level);
    }
    let mut seen_origins = BTreeSet::new();
    for level in &levels {
        level_cases(level, &mut seen_origins, &mut cases);
    }
    cases
}

fn get(origin: &str) -> Fetch {
    Fetch {
        origin: origin.to_string(),
        method: "GET".into(),
        headers: Vec::new(),
        credentials: false,
        private_network: false,
    }
}

fn preflight(origin: &str, method: &str) -> Fetch {
    Fetch { method: method.to_string(), ..get(origin) }
}

/// Every case of one level: its origin entries with their near misses, its methods and request
/// headers and one unlisted of each, credentials, private network.
fn level_cases(level: &Level, seen_origins: &mut BTreeSet<String>, cases: &mut Vec<Case>) {
    let case = |why: String, preflight: bool, fetch: Fetch| Case {
        why: format!("{}, {why}", level.name),
        preflight,
        path: level.path.clone(),
        host: level.host.clone(),
        fetch,
    };
    for entry in &level.origins {
        let mut probes: Vec<(String, String)> = allowed(entry).map(|o| (entry.to_string(), o)).into_iter().collect();
        probes.extend(near_misses(entry).into_iter().map(|(miss, origin)| (format!("{miss} of {entry}"), origin)));
        for (why, origin) in probes {
            if !seen_origins.insert(format!("{}{origin}", level.name)) {
                continue;
            }
            cases.push(case(why.clone(), false, get(&origin)));
            cases.push(case(why, true, preflight(&origin, "PUT")));
        }
    }
    if seen_origins.insert(format!("{}{STRANGER}", level.name)) {
        cases.push(case("an unlisted origin".into(), false, get(STRANGER)));
    }
    let Some(origin) = level.origins.iter().find_map(|o| allowed(o)) else { return };
    cases.push(case("with credentials".into(), false, Fetch { credentials: true, ..get(&origin) }));
    let unsafe_methods: Vec<&str> =
        level.methods.iter().copied().filter(|m| !browser::is_safelisted_method(m) && *m != "*").collect();
    for method in &unsafe_methods {
        cases.push(case(format!("method {method}"), true, preflight(&origin, method)));
    }
    if let Some(unlisted) = ["PATCH", "PUT", "DELETE", "PROPFIND"].iter().find(|m| !level.methods.contains(m)) {
        cases.push(case(format!("unlisted method {unlisted}"), true, preflight(&origin, unlisted)));
    }
    let with_header = |name: &str| Fetch { headers: vec![(name.to_string(), None)], ..get(&origin) };
    for name in level.request_headers.iter().filter(|n| **n != "*") {
        cases.push(case(format!("request header {name}"), true, with_header(name)));
    }
    cases.push(case(format!("unlisted request header {UNLISTED_HEADER}"), true, with_header(UNLISTED_HEADER)));
    let method = unsafe_methods.first().copied().unwrap_or("PUT");
    cases.push(case(
        format!("method {method} with credentials"),
        true,
        Fetch { credentials: true, ..preflight(&origin, method) },
    ));
    cases.push(case("private network".into(), true, Fetch { private_network: true, ..get(&origin) }));
}

/// `scheme`, `host` and `port` of an origin entry (`*` in either where the entry has one).
fn split(entry: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = entry.split_once("://")?;
    Some(match rest.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (scheme, host, Some(port)),
        _ => (scheme, rest, None),
    })
}

fn join(scheme: &str, host: &str, port: Option<&str>) -> String {
    match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// An origin the entry allows, as a browser sends it.
fn allowed(entry: &str) -> Option<String> {
    match entry {
        "*" => return Some("https://corsguard-verify.example".into()),
        "null" => return Some("null".into()),
        _ => {}
    }
    let (scheme, host, port) = split(entry)?;
    let host = match host.strip_prefix("*.") {
        Some(parent) => format!("{LEAF}.{parent}"),
        None => host.replace('*', "7"),
    };
    Some(join(scheme, &host, port.map(|p| if p == "*" { "5173" } else { p })))
}

/// Origins one label, one scheme or one port away from what the entry allows: where a matcher
/// that compares prefixes, suffixes or substrings lets an attacker in (a suffix attack appends to
/// the allowed host, a prefix attack prepends to it).
fn near_misses(entry: &str) -> Vec<(String, String)> {
    let (Some((scheme, host, port)), Some(origin)) = (split(entry), allowed(entry)) else { return Vec::new() };
    let Some((_, allowed_host, allowed_port)) = split(&origin) else { return Vec::new() };
    let other_scheme = if scheme == "https" { "http" } else { "https" };
    let mut misses = vec![
        ("suffix attack".to_string(), join(scheme, &format!("{allowed_host}.{LEAF}.invalid"), allowed_port)),
        ("another scheme".to_string(), join(other_scheme, allowed_host, allowed_port)),
    ];
    match host.strip_prefix("*.") {
        Some(parent) => {
            misses.push(("the wildcard's apex".into(), join(scheme, parent, allowed_port)));
            misses.push(("prefix attack".into(), join(scheme, &format!("{LEAF}{parent}"), allowed_port)));
        }
        None => misses.push(("prefix attack".into(), join(scheme, &format!("{LEAF}{allowed_host}"), allowed_port))),
    }
    match port {
        Some("*") => misses.push(("no port".into(), join(scheme, allowed_host, None))),
        Some(port) => {
            let other = port.parse::<u16>().map_or(8443, |p| p.wrapping_add(1).max(1));
            misses.push(("another port".into(), join(scheme, allowed_host, Some(&other.to_string()))));
        }
        None => misses.push(("another port".into(), join(scheme, allowed_host, Some("8443")))),
    }
    misses
}

/// A route's prefix and the paths around it: inside, just outside, and spellings that servers
/// read as inside or outside (the policy decides which, the edges must agree).
fn path_variants(prefix: &str, case_sensitive: bool) -> Vec<(String, String)> {
    let trimmed = prefix.trim_end_matches('/');
    let mut variants = vec![("inside".to_string(), inside(prefix))];
    if !trimmed.is_empty() {
        if prefix.ends_with('/') {
            variants.push(("the prefix without its slash".into(), trimmed.to_string()));
        }
        variants.push(("a sibling path".into(), format!("{trimmed}-{LEAF}/")));
    }
    if case_sensitive && prefix.bytes().any(|b| b.is_ascii_lowercase()) {
        variants.push(("in capitals".into(), inside(&prefix.to_ascii_uppercase())));
    }
    let inner = trimmed.rfind('/').filter(|&last| last > 0);
    if let Some((before, after)) =
        inner.and_then(|last| Some((trimmed.get(..last)?, inside(prefix).get(last + 1..)?.to_string())))
    {
        variants.push(("with an escaped slash".into(), format!("{before}%2F{after}")));
    }
    if !trimmed.is_empty() {
        variants.push(("with an escaped slash after the prefix".into(), format!("{trimmed}%2F{LEAF}")));
    }
    variants
}

/// A route's host and its other spellings: a trailing dot, capitals, a subdomain, another port.
fn host_variants(host: &str) -> Vec<(String, String)> {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') => (name, Some(port)),
        _ => (host, None),
    };
    let with = |name: &str| port.map_or_else(|| name.to_string(), |p| format!("{name}:{p}"));
    vec![
        ("its host".to_string(), with(name)),
        ("its host with a trailing dot".into(), with(&format!("{name}."))),
        ("its host in capitals".into(), with(&name.to_ascii_uppercase())),
        ("a subdomain of its host".into(), with(&format!("{LEAF}.{name}"))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(entry: &str) -> Vec<String> {
        near_misses(entry).into_iter().map(|(_, origin)| origin).collect()
    }

    #[test]
    fn every_kind_of_entry_gets_an_allowed_origin_and_its_near_misses() {
        assert_eq!(allowed("https://app.example.com").as_deref(), Some("https://app.example.com"));
        assert_eq!(allowed("https://*.example.com").as_deref(), Some("https://corsguard-verify.example.com"));
        assert_eq!(allowed("https://pr-*.preview.example.com").as_deref(), Some("https://pr-7.preview.example.com"));
        assert_eq!(allowed("http://localhost:*").as_deref(), Some("http://localhost:5173"));
        assert_eq!(allowed("*").as_deref(), Some("https://corsguard-verify.example"));
        assert_eq!(allowed("null").as_deref(), Some("null"));
        assert_eq!(
            origins("https://app.example.com"),
            [
                "https://app.example.com.corsguard-verify.invalid",
                "http://app.example.com",
                "https://corsguard-verifyapp.example.com",
                "https://app.example.com:8443",
            ]
        );
        assert_eq!(
            origins("https://*.example.com"),
            [
                "https://corsguard-verify.example.com.corsguard-verify.invalid",
                "http://corsguard-verify.example.com",
                "https://example.com",
                "https://corsguard-verifyexample.com",
                "https://corsguard-verify.example.com:8443",
            ]
        );
        assert_eq!(
            origins("http://localhost:*"),
            [
                "http://localhost.corsguard-verify.invalid:5173",
                "https://localhost:5173",
                "http://corsguard-verifylocalhost:5173",
                "http://localhost",
            ]
        );
        assert_eq!(origins("http://127.0.0.1:8080")[3], "http://127.0.0.1:8081");
        assert!(origins("*").is_empty() && origins("null").is_empty());
    }

    #[test]
    fn a_route_is_probed_inside_just_outside_and_in_other_spellings() {
        let paths: Vec<String> = path_variants("/api/v1/", true).into_iter().map(|(_, path)| path).collect();
        assert_eq!(
            paths,
            [
                "/api/v1/corsguard-verify",
                "/api/v1",
                "/api/v1-corsguard-verify/",
                "/API/V1/corsguard-verify",
                "/api%2Fv1/corsguard-verify",
                "/api/v1%2Fcorsguard-verify",
            ]
        );
        assert_eq!(path_variants("/", true).len(), 1, "the root has no outside");
        let hosts: Vec<String> = host_variants("api.example.com:8443").into_iter().map(|(_, host)| host).collect();
        assert_eq!(
            hosts,
            [
                "api.example.com:8443",
                "api.example.com.:8443",
                "API.EXAMPLE.COM:8443",
                "corsguard-verify.api.example.com:8443"
            ]
        );
    }

    #[test]
    fn the_probe_set_covers_each_level_and_sends_no_cookie() {
        let policy = PolicyView::parse(
            r#"{"origins": ["https://app.example.com"], "methods": ["PUT"], "request_headers": ["X-Token"],
                "routes": [{"path_prefix": "/internal/", "disabled": true}, {"host": "admin.example.com"}]}"#,
        )
        .unwrap();
        let cases = cases(&policy);
        let labels: Vec<String> = cases.iter().map(Case::label).collect();
        for wanted in [
            "routes[0] is disabled: the upstream answers: GET from https://app.example.com",
            "top level, method PUT: preflight PUT from https://app.example.com",
            "top level, unlisted method PATCH: preflight PATCH from https://app.example.com",
            "top level, request header X-Token: preflight GET from https://app.example.com",
            "routes[1], its host with a trailing dot: preflight PUT from https://app.example.com",
        ] {
            assert!(labels.iter().any(|l| l == wanted), "{wanted}: {labels:#?}");
        }
        for case in &cases {
            let headers = case.headers();
            assert!(
                headers
                    .iter()
                    .all(|(n, _)| !n.eq_ignore_ascii_case("cookie") && !n.eq_ignore_ascii_case("authorization"))
            );
            assert!(matches!(case.method(), "GET" | "OPTIONS"));
        }
    }
}
