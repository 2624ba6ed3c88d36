//! corsguard on Fastly Compute.
//!
//! The policy is the `policy` entry of the `corsguard` Config Store: the same JSON file as every
//! other edge. It is read and validated once per instance (instances are reused for many requests),
//! and its warnings are logged then. A policy that does not validate never fails open: every
//! request gets a `500`, and the problems are logged (never sent to clients: they would describe
//! the policy).
//!
//! Preflights are answered here and never reach the backend. Every other request goes to the
//! `origin` backend with its body streamed, and the decision is applied to the backend's response
//! (its CORS headers removed, ours set, `Vary` merged) while that body streams back untouched.
//!
//! The decision is made on exactly what is forwarded: the request's URI as the host holds it
//! (its path and query go to the backend unchanged) and its `Host` header. The SDK's own URL getter
//! is never called: it re-parses the URI, so it could read a path differently from what is sent,
//! and it panics on a URI its parser refuses.

mod log;
mod raw_uri;

use corsguard::{Action, Policy, Request, ResponseHeaders, join_lines, split_absolute_uri};
use fastly::http::serve::Serve;
use fastly::http::{HeaderName, HeaderValue};
use fastly::{ConfigStore, Response};
use std::borrow::Cow;
use std::time::Duration;

/// The Config Store holding the policy, and its key.
const STORE: &str = "corsguard";
const POLICY_KEY: &str = "policy";
/// The backend every forwarded request goes to.
const BACKEND: &str = "origin";
/// How long one instance serves requests before a new one reads the Config Store again.
const INSTANCE_LIFETIME: Duration = Duration::from_secs(60);

/// What an instance loaded from its Config Store, once.
enum Loaded {
    Ready(Box<Policy>),
    /// Every request is refused; the details were logged.
    Invalid,
}

fn main() {
    let mut loaded = None;
    let summary = Serve::new()
        .with_max_lifetime(INSTANCE_LIFETIME)
        .run(|request| handle(loaded.get_or_insert_with(load), request));
    if let Some(error) = summary.error() {
        log::line(&format!("corsguard: could not answer the client: {error}"));
    }
}

/// Reads and validates the policy, logging what is wrong and every warning.
fn load() -> Loaded {
    let json = match ConfigStore::try_open(STORE).map(|store| store.try_get(POLICY_KEY)) {
        Ok(Ok(Some(json))) => json,
        Ok(Ok(None)) => return refuse_all(&format!("the {STORE} Config Store has no \"{POLICY_KEY}\" entry")),
        Ok(Err(error)) => {
            return refuse_all(&format!("cannot read \"{POLICY_KEY}\" from the {STORE} Config Store: {error}"));
        }
        Err(error) => return refuse_all(&format!("cannot open the {STORE} Config Store: {error}")),
    };
    match Policy::parse(&json) {
        Ok(policy) => {
            for warning in policy.warnings() {
                log::line(&format!("corsguard: {STORE}.{POLICY_KEY}: {warning}"));
            }
            Loaded::Ready(Box::new(policy))
        }
        Err(problems) => {
            // One log event per problem: a logging endpoint takes one line per event.
            log::line(&format!("corsguard refuses every request: {STORE}.{POLICY_KEY} is not a valid policy:"));
            for problem in problems.iter() {
                log::line(&format!("corsguard: {STORE}.{POLICY_KEY}: {problem}"));
            }
            Loaded::Invalid
        }
    }
}

fn refuse_all(why: &str) -> Loaded {
    log::line(&format!("corsguard refuses every request: {why}"));
    Loaded::Invalid
}

/// One request: a decision, applied without further thought.
fn handle(loaded: &Loaded, request: fastly::Request) -> Response {
    let Loaded::Ready(policy) = loaded else {
        return plain(500, "corsguard refuses every request: its policy is not valid; the problems are in the log\n");
    };
    // Owned: the request becomes its handles before it is sent.
    let header = |name: &str| join_lines(request.get_header_all(name).map(HeaderValue::as_bytes)).map(Cow::into_owned);
    let [origin, request_method, request_headers, private_network] = Request::HEADERS.map(header);
    let host = header("host");
    let method = request.get_method_str().to_owned();
    let (request_handle, body) = request.into_handles();
    let uri = raw_uri::read(&request_handle);
    let (scheme, authority, path) = split_absolute_uri(&uri);
    let view = Request {
        method: method.as_bytes(),
        scheme: Some(scheme),
        // What the backend is sent: the `Host` header, else the URI's authority.
        host: host.as_deref().unwrap_or(authority),
        path,
        origin: origin.as_deref(),
        request_method: request_method.as_deref(),
        request_headers: request_headers.as_deref(),
        request_private_network: private_network.as_deref(),
    };
    let decision = policy.evaluate(&view);
    // One line per denial (also in report-only mode, where it is all that happens), with the id
    // Fastly gives the request.
    if decision.denial.is_some() {
        let trace_id = std::env::var("FASTLY_TRACE_ID").ok();
        if let Some(line) = decision.denial_line(view.origin, trace_id.as_deref().map(str::as_bytes)) {
            log::line(&line.to_string());
        }
    }
    let edits = match decision.action {
        Action::Respond { status, headers } => {
            let mut answer = Response::from_status(status);
            for (name, value) in headers.iter() {
                Headers(&mut answer).set(name, value);
            }
            return answer;
        }
        Action::Forward(edits) => Some(edits),
        Action::PassThrough => None,
    };
    let body = body.unwrap_or_else(fastly::handle::BodyHandle::new);
    let mut response = match request_handle.send(body, BACKEND) {
        Ok((response, body)) => Response::from_handles(response, body),
        Err(error) => {
            log::line(&format!("corsguard: the {BACKEND} backend did not answer {}: {error}", log::shown(&uri)));
            plain(502, "corsguard: the backend did not answer\n")
        }
    };
    if let Some(edits) = edits {
        edits.apply(&mut Headers(&mut response));
    }
    response
}

/// A text response of ours.
fn plain(status: u16, body: &str) -> Response {
    Response::from_status(status).with_body_text_plain(body)
}

/// A response's headers, as the engine edits them. Names and values are validated here, so the
/// SDK's converting setters (which panic on what they refuse) are never reached.
struct Headers<'r>(&'r mut Response);

impl ResponseHeaders for Headers<'_> {
    fn get_all(&self, name: &str) -> Option<String> {
        let joined = join_lines(self.0.get_header_all(name).map(HeaderValue::as_bytes))?;
        Some(String::from_utf8_lossy(&joined).into_owned())
    }

    fn set(&mut self, name: &str, value: &str) {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) => self.0.set_header(name, value),
            _ => log::line(&format!("corsguard: cannot set {name}: not a valid header")),
        }
    }

    fn remove(&mut self, name: &str) {
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            self.0.remove_header(name);
        }
    }
}
