//! `corsguard probe`: acts as the browser does against a live server — the preflight when one is
//! needed, then the request — and runs the browser's CORS check on the real responses.

use crate::client;
use crate::engines::{self, Cached, Console};
use crate::outcome::{Failure, Format, Outcome};
use corsguard_browser::{self as browser, Engine, Fetch, Response};
use serde::Serialize;
use std::time::Duration;
use ureq::http;

pub struct Args {
    pub url: String,
    pub fetch: Fetch,
    /// The engines the report speaks for.
    pub engines: Vec<Engine>,
    pub timeout: Duration,
    pub strict: bool,
    pub format: Format,
}

/// What `probe` found: printed as JSON as it is, or rendered for people.
#[derive(Serialize)]
struct Report {
    verdict: &'static str,
    url: String,
    origin: String,
    preflight_reasons: Vec<String>,
    steps: Vec<Step>,
    /// The browser's console message when it blocks (the first engine's that was observed), each
    /// engine's, and what to change on the server.
    console: Option<String>,
    consoles: Vec<Console>,
    fix: Option<String>,
    /// How long each engine keeps the preflight's answer, when some keeps it less than it asks.
    #[serde(skip_serializing_if = "Option::is_none")]
    cached: Option<Vec<Cached>>,
    warnings: Vec<String>,
    /// The request as the page's script makes it (people only).
    #[serde(skip)]
    asked: String,
}

/// One request sent and its answer.
struct Exchange {
    preflight: bool,
    sent: Vec<(String, String)>,
    response: Response,
    verdict: Result<(), browser::Failure>,
}

/// One request sent and its answer, as the browser judges it.
#[derive(Serialize)]
struct Step {
    kind: &'static str,
    sent: Vec<(String, String)>,
    status: u16,
    headers: Vec<(String, String)>,
    passes: bool,
    failure: Option<&'static str>,
}

/// Response headers worth showing: those CORS reads, and where a redirect goes.
fn relevant(name: &str) -> bool {
    name.starts_with("access-control-") || matches!(name, "vary" | "location" | "corsguard-reason")
}

/// `scheme://host[:port]` and nothing else, as browsers send it.
fn check_origin(origin: &str) -> Result<(), Failure> {
    let problem = match origin.split_once("://") {
        _ if origin == "null" => return Ok(()),
        None => Some("has no scheme (write https://app.example.com)"),
        Some((_, "")) => Some("has no host"),
        Some((_, rest)) if rest.ends_with('/') => Some("ends with a slash; browsers send no trailing slash"),
        Some((_, rest)) if rest.contains(['/', '?', '#']) => Some("has a path; an origin is scheme://host[:port]"),
        Some(_) if origin.bytes().any(|b| b.is_ascii_uppercase()) => Some("has capitals; browsers send lowercase"),
        Some(_) => None,
    };
    match problem {
        Some(problem) => Err(Failure::Usage(format!("--origin {origin} {problem}"))),
        None => Ok(()),
    }
}

fn url_origin(uri: &http::Uri) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let host = uri.host()?.to_ascii_lowercase();
    let default = matches!((scheme, uri.port_u16()), ("http", Some(80)) | ("https", Some(443)));
    match uri.port_u16() {
        Some(port) if !default => Some(format!("{scheme}://{host}:{port}")),
        _ => Some(format!("{scheme}://{host}")),
    }
}

pub fn run(args: &Args) -> Result<Outcome, Failure> {
    let fetch = &args.fetch;
    let uri: http::Uri = args.url.parse().map_err(|e| Failure::Usage(format!("{} is not a URL: {e}", args.url)))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(Failure::Usage(format!("{} is not an http:// or https:// URL", args.url)));
    }
    check_origin(&fetch.origin)?;
    let agent = client::agent(args.timeout);
    let send =
        |method: &str, headers: &[(String, String)]| client::send(&agent, args.timeout, method, &args.url, headers);

    let reasons = fetch.preflight_reasons();
    let mut exchanges = Vec::new();
    let browser_headers = [
        ("Origin".to_string(), fetch.origin.clone()),
        ("Sec-Fetch-Mode".to_string(), "cors".to_string()),
        ("Sec-Fetch-Dest".to_string(), "empty".to_string()),
    ];
    if !reasons.is_empty() {
        let mut sent = browser_headers.to_vec();
        sent.push(("Access-Control-Request-Method".to_string(), fetch.method.clone()));
        if let Some(names) = fetch.request_headers_value() {
            sent.push(("Access-Control-Request-Headers".to_string(), names));
        }
        let response = send("OPTIONS", &sent)?;
        let verdict = browser::preflight_check(fetch, &response);
        sent.insert(0, ("OPTIONS".to_string(), args.url.clone()));
        exchanges.push(Exchange { preflight: true, sent, response, verdict });
    }
    if exchanges.iter().all(|e| e.verdict.is_ok()) {
        let mut sent = browser_headers.to_vec();
        for (name, value) in &fetch.headers {
            let value = value.clone().unwrap_or_else(|| {
                if name.eq_ignore_ascii_case("content-type") { "application/json" } else { "corsguard-probe" }
                    .to_string()
            });
            sent.push((name.clone(), value));
        }
        let response = send(&fetch.method, &sent)?;
        let verdict = browser::cors_check(fetch, &response);
        sent.insert(0, (fetch.method.clone(), args.url.clone()));
        exchanges.push(Exchange { preflight: false, sent, response, verdict });
    }

    let failed = exchanges.iter().find_map(|e| e.verdict.as_ref().err().map(|f| (e.preflight, f)));
    let consoles = failed
        .map(|(preflight, f)| engines::consoles(&args.engines, f, &args.url, fetch, preflight))
        .unwrap_or_default();
    let console = consoles.first().map(|c| c.message.clone());
    let cached = exchanges
        .iter()
        .filter(|e| e.preflight && e.verdict.is_ok())
        .find_map(|e| e.response.get("access-control-max-age")?.trim().parse().ok())
        .and_then(|seconds| engines::cache_lifetimes(&args.engines, seconds));
    let fix = failed.map(|(preflight, f)| f.fix(fetch, preflight));
    let mut warnings = Vec::new();
    if url_origin(&uri).is_some_and(|o| o == fetch.origin) {
        warnings.push(Warning::note(format!(
            "{} is the URL's own origin: the browser makes a same-origin request and checks no CORS at all",
            fetch.origin
        )));
    }
    if fetch.credentials {
        warnings.push(Warning::note(
            "with credentials the browser would also send the page's cookies for this site; this probe sends none, \
             so a server that answers differently with cookies may differ"
                .to_string(),
        ));
    }
    for Exchange { response, .. } in exchanges.iter().filter(|e| e.preflight && e.verdict.is_ok()) {
        warnings.extend(browser::preflight_warnings(fetch, response).into_iter().map(Warning::risk));
    }
    for Exchange { response, .. } in exchanges.iter().filter(|e| !e.preflight && e.verdict.is_ok()) {
        warnings.extend(browser::warnings(fetch, response).into_iter().map(Warning::risk));
        if (300..400).contains(&response.status) {
            let location = response.get("location").unwrap_or_default();
            warnings.push(Warning::risk(format!(
                "the server redirects ({}) to {location}: the browser follows it and checks CORS again there; probe \
                 that URL too",
                response.status
            )));
        }
    }
    let risky = warnings.iter().any(|w| w.risk);
    let outcome = if failed.is_some() || (args.strict && risky) { Outcome::No } else { Outcome::Yes };
    let warnings: Vec<String> = warnings.into_iter().map(|w| w.message).collect();

    let credentials = if fetch.credentials { ", with credentials" } else { "" };
    let report = Report {
        verdict: if failed.is_some() { "blocked" } else { "allowed" },
        url: args.url.clone(),
        origin: fetch.origin.clone(),
        preflight_reasons: reasons,
        steps: exchanges
            .into_iter()
            .map(|Exchange { preflight, sent, response, verdict }| Step {
                kind: if preflight { "preflight" } else { "actual" },
                sent,
                status: response.status,
                headers: response.headers,
                passes: verdict.is_ok(),
                failure: verdict.as_ref().err().map(browser::Failure::code),
            })
            .collect(),
        console,
        consoles,
        fix,
        cached,
        warnings,
        asked: format!("fetch {} {} from {}{credentials}", fetch.method, args.url, fetch.origin),
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
        Format::Human => print!("{}", report.human()),
    }
    Ok(outcome)
}

impl Report {
    /// The report for people.
    fn human(&self) -> String {
        let mut out = format!("Probe      {}\n", self.asked);
        if self.preflight_reasons.is_empty() {
            out.push_str("           a simple request: the browser sends no preflight\n");
        }
        for reason in &self.preflight_reasons {
            out.push_str(&format!("           needs a preflight: {reason}\n"));
        }
        for step in &self.steps {
            out.push('\n');
            let title = if step.kind == "preflight" { "Preflight" } else { "Actual" };
            for (index, (name, value)) in step.sent.iter().enumerate() {
                let (label, sep) = if index == 0 { (title, " ") } else { ("", ": ") };
                out.push_str(&format!("{label:<10} > {name}{sep}{value}\n"));
            }
            out.push_str(&format!("           < {}\n", step.status));
            let (shown, others): (Vec<_>, Vec<_>) = step.headers.iter().partition(|(name, _)| relevant(name));
            for (name, value) in shown {
                out.push_str(&format!("           < {name}: {value}\n"));
            }
            if !others.is_empty() {
                out.push_str(&format!("             ({} other headers)\n", others.len()));
            }
            match step.failure {
                None => out.push_str("           browser: passes the CORS check\n"),
                Some(code) => out.push_str(&format!("           browser: fails ({code})\n")),
            }
        }
        out.push('\n');
        let failed = self.steps.iter().find(|step| !step.passes);
        out.push_str(match failed {
            Some(step) if step.kind == "preflight" => {
                "Verdict    BLOCKED: the preflight fails, so the browser never sends the request\n"
            }
            Some(_) => "Verdict    BLOCKED: the page's script cannot read the response\n",
            None => "Verdict    ALLOWED: the page's script can read the response\n",
        });
        out.push_str(&engines::human(&self.consoles));
        if let Some(cached) = &self.cached {
            out.push_str(&engines::human_cache(cached));
        }
        if let Some(fix) = &self.fix {
            out.push_str(&format!("Fix        {fix}\n"));
        }
        for warning in &self.warnings {
            out.push_str(&format!("Warning    {warning}\n"));
        }
        out
    }
}

/// Something the verdict does not show: a note about the probe itself, or a risk in the server's
/// answer (which `--strict` counts as a failure).
struct Warning {
    message: String,
    risk: bool,
}

impl Warning {
    fn note(message: String) -> Self {
        Warning { message, risk: false }
    }

    fn risk(message: String) -> Self {
        Warning { message, risk: true }
    }
}
