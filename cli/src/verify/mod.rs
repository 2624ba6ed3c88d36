//! `corsguard verify`: proves that live edges enforce the policy. The probe set is derived from
//! the policy itself (each origin entry with near misses, each method and request header and one
//! unlisted, credentials, private network, each route from inside, just outside and through other
//! spellings); every case goes to every edge; every answer is compared with the policy's own
//! answer (the core's decision for exactly that request) and judged by the browser model. Cases
//! that the policy leaves to the upstream (disabled routes) are compared across the edges.
//!
//! Its rooms: `cases` (the probe set, from the policy's view), `judging` (the policy's own answer
//! and the browser model's verdict on each edge's), `report` (what is printed).

mod cases;
mod judging;
mod report;

use crate::outcome::{Failure, Format, Outcome};
use crate::{check, client};
use cases::cases;
use corsguard_browser::Response;
use judging::{Expected, judge};
use report::{CaseReport, EdgeAnswer, EdgeName, Report, Sent};
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
    let agent = client::agent(args.timeout);
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
            let answer = client::send(
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
