//! Envoy's CORS filter (`envoy.filters.http.cors`, 1.40), which Istio and Envoy Gateway configure
//! too, read as `cors_filter.cc` runs it:
//!
//! - An origin is allowed when a matcher matches it, or matches the text `*` (so `exact: "*"` or
//!   the regex `.*` allows every origin). The answer always echoes the `Origin`, never `*`, with
//!   credentials when `allow_credentials` is set: `*` with credentials reflects every origin.
//! - A preflight from an allowed origin is answered by Envoy with 200 and the methods, headers and
//!   max-age as written (`*` alone echoes what was asked), none of them checked: the browser checks
//!   them. Empty, a header is not sent: only the CORS-safelisted methods and headers, and a 5 s
//!   cache. A preflight from another origin goes to the application (`forward_not_matching_preflights`,
//!   true by default), or gets a 200 without `Access-Control-Allow-Origin`.
//! - `Vary: Origin` is never sent, and the application's own CORS headers are kept but for
//!   `Access-Control-Allow-Origin` ([`general_notes`]).

use super::documents::At;
use super::draft::{self, Cors, Found};
use super::origin_regex::{self, Matcher};
use super::report::{Kind, Note};

/// A browser's preflight cache when no `Access-Control-Max-Age` is sent (the Fetch standard's).
const BROWSER_DEFAULT_MAX_AGE: u64 = 5;

/// One Envoy `CorsPolicy`, as the filter sees it after merging its levels.
#[derive(Clone, Debug, Default)]
pub struct CorsPolicy {
    /// Each origin matcher, with how the source writes it: the origin itself for an exact one,
    /// else its kind first (`regex https://.*\.example\.com`).
    pub origins: Vec<(Matcher, String)>,
    pub allow_methods: String,
    pub allow_headers: String,
    pub expose_headers: String,
    pub max_age: String,
    pub credentials: bool,
    pub forward_not_matching_preflights: bool,
}

/// The CORS a policy gives, in corsguard's terms, with a note for each point that is not the same;
/// none when it allows no origin a browser sends (Envoy then adds nothing).
pub fn translate(policy: &CorsPolicy, object: &str, at: &At, notes: &mut Vec<Note>) -> Option<Cors> {
    let mut credentials = policy.credentials;
    let mut origins = Vec::new();
    if let Some((_, written)) = policy.origins.iter().find(|(matcher, _)| matcher.matches("*")) {
        origins.push("*".to_string());
        if credentials {
            credentials = false;
            draft::reflected(&format!("{written} matches *, so Envoy"), at, object, notes);
        }
    } else {
        let matchers: Vec<Matcher> = policy.origins.iter().map(|(matcher, _)| matcher.clone()).collect();
        for (finding, (_, written)) in origin_regex::translate(&matchers).into_iter().zip(&policy.origins) {
            origins.extend(finding.entries().iter().cloned());
            notes.extend(origin_regex::note(&finding, written, object, at));
        }
    }
    let origins = origin_regex::shortest(origins);
    if origins.is_empty() {
        return None;
    }
    if policy.forward_not_matching_preflights && origins != ["*"] {
        notes.push(
            Note::new(
                Kind::Changed,
                at,
                format!(
                    "{object}: a preflight from an origin that is not allowed went on to the application; it is answered \
                     at the edge now, without CORS"
                ),
            )
            .example("OPTIONS from Origin: https://other.example: the application's answer before, the edge's refusal now"),
        );
    }
    let listed = |written: &str, field: &str, echoes: bool, notes: &mut Vec<Note>| -> Vec<String> {
        let list: Vec<String> = written.split(',').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect();
        if !list.iter().any(|v| v == "*") {
            return list;
        }
        if !credentials {
            return vec!["*".to_string()];
        }
        // With credentials a browser reads `*` as a name, which allows nothing; alone, Envoy echoes
        // what was asked instead, which corsguard does not do with credentials.
        if echoes && written.trim() == "*" {
            notes.push(Note::new(
                Kind::NotExpressible,
                at,
                format!(
                    "{object}: {field} * with credentials: Envoy echoes whatever is asked; corsguard lists names \
                     with credentials: list the ones your pages use (with --lossy, none)"
                ),
            ));
        }
        list.into_iter().filter(|v| v != "*").collect()
    };
    let mut methods = listed(&policy.allow_methods, "allow_methods", true, notes);
    methods.retain(|m| m == "*" || draft::needs_listing(m));
    let request_headers = listed(&policy.allow_headers, "allow_headers", true, notes);
    let expose_headers = listed(&policy.expose_headers, "expose_headers", false, notes);
    let max_age = match policy.max_age.trim() {
        "" => BROWSER_DEFAULT_MAX_AGE,
        written => written.parse::<u64>().unwrap_or_else(|_| {
            let what = format!(
                "{object}: max_age {written:?} is not a whole number of seconds, which browsers ignore for their \
                 default, {BROWSER_DEFAULT_MAX_AGE} s: written as that"
            );
            notes.push(Note::new(Kind::Exact, at, what));
            BROWSER_DEFAULT_MAX_AGE
        }),
    };
    Some(Cors {
        origins,
        methods,
        request_headers,
        expose_headers,
        credentials,
        max_age: draft::max_age(max_age, at, object, notes),
    })
}

/// What changes for every import from Envoy: the application's own CORS headers, which Envoy left
/// beside its own; and `Vary: Origin` where answers depend on the `Origin`.
pub fn general_notes(found: &Found, source: &str) -> Vec<Note> {
    let mut notes = vec![
        Note::new(
            Kind::Changed,
            source,
            "the application's own CORS headers: Envoy overwrote only Access-Control-Allow-Origin, and only for an \
             origin it allowed, so an application's Access-Control-Allow-Credentials or Expose-Headers stayed beside \
             Envoy's echoed origin; corsguard replaces them all with the policy's",
        )
        .example(
            "GET with credentials from any origin where the policy has no credentials and the application sends \
             Access-Control-Allow-Credentials: true: read with cookies before, refused now",
        ),
    ];
    notes.push(draft::enforced("Envoy", source));
    if found.entries.iter().filter_map(|e| e.cors.as_ref()).any(|c| c.origins != ["*"]) {
        notes.push(Note::new(
            Kind::Changed,
            source,
            "Vary: Origin is sent with answers that depend on the Origin: Envoy never sends it, so a shared cache \
             could hand one origin's answer to another",
        ));
    }
    notes
}
