//! Judging an edge's answer: the policy's own answer to the case (the core's decision for exactly
//! that request), what differs from it, and what a browser does with each.

use super::cases::Case;
use super::report::{Answer, EdgeAnswer};
use corsguard::{Action, DEBUG_HEADER, HeaderLines, Policy, Request};
use corsguard_browser::{self as browser, Response};
use std::collections::{BTreeMap, BTreeSet};

/// What the policy answers a case with.
pub(super) enum Expected {
    /// The edge answers itself: this status and these headers.
    Answer(Response),
    /// The edge forwards, and sets these headers on the upstream's answer.
    Edits(Response),
    /// The policy leaves it to the upstream: every edge must answer alike.
    Upstream,
}

impl Expected {
    pub(super) fn of(policy: &Policy, case: &Case, scheme: &str, authority: &str) -> Self {
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
    pub(super) fn verdict(&self, case: &Case) -> &'static str {
        match self {
            Expected::Answer(want) | Expected::Edits(want) => verdict_word(&verdict(case, want)),
            Expected::Upstream => "upstream",
        }
    }

    pub(super) fn answer(&self) -> Option<Answer> {
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
pub(super) fn judge(
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

pub(super) fn verdict(case: &Case, response: &Response) -> Result<(), browser::Failure> {
    if case.preflight {
        browser::preflight_check(&case.fetch, response)
    } else {
        browser::cors_check(&case.fetch, response)
    }
}

pub(super) fn verdict_word(verdict: &Result<(), browser::Failure>) -> &'static str {
    if verdict.is_ok() { "allowed" } else { "blocked" }
}
