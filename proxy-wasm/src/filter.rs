//! One HTTP stream: read the request headers the decision needs, apply the decision.

use crate::counters::Counters;
use crate::log;
use crate::response::UpstreamResponse;
use corsguard::{Action, Decision, Kind, Policy, Request};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action as Next, Bytes, LogLevel, MapType};
use std::rc::Rc;

const REQUEST: MapType = MapType::HttpRequestHeaders;
/// How much of a hostile `Origin` a log line shows.
const LOGGED_ORIGIN: usize = 128;

/// What every stream of one VM shares: built once by `on_configure`.
pub(crate) struct Shared {
    policy: Policy,
    pub(crate) counters: Counters,
    /// Whether any route matches on `:authority` / `:path` (else they are never read).
    reads_host: bool,
    reads_path: bool,
}

impl Shared {
    pub(crate) fn new(policy: Policy, counters: Counters) -> Self {
        Shared { reads_host: policy.reads_host(), reads_path: policy.reads_path(), policy, counters }
    }
}

/// The request headers a decision was made from, kept to edit the response. What was not read
/// (see [`Seen::read`]) is empty or `None`: the engine would not have looked at it.
#[derive(Default)]
struct Seen {
    method: Bytes,
    authority: Bytes,
    path: Bytes,
    origin: Option<Bytes>,
    request_method: Option<Bytes>,
    request_headers: Option<Bytes>,
    request_private_network: Option<Bytes>,
}

impl Seen {
    /// Reads only what the engine looks at, one host call per header. `:authority` and `:path`
    /// are read only if a route matches on them. The engine reads the method and the
    /// `Access-Control-Request-*` headers only to recognise and answer a preflight (`OPTIONS` with
    /// `Origin` and `Access-Control-Request-Method`), so `Access-Control-Request-Method` is read
    /// only with `Origin`, `:method` only with both, and the others only on a preflight: a simple
    /// request with `Origin` costs two reads, one of them of a header that is absent (nothing is
    /// copied into the VM), and a request without `Origin` one.
    fn read(shared: &Shared) -> Self {
        let [origin, request_method, request_headers, request_private_network] = Request::HEADERS;
        let read_if = |wanted: bool, name: &str| if wanted { header(name).unwrap_or_default() } else { Bytes::new() };
        let mut seen = Seen {
            authority: read_if(shared.reads_host, ":authority"),
            path: read_if(shared.reads_path, ":path"),
            origin: header(origin),
            ..Seen::default()
        };
        if seen.origin.is_some() {
            seen.request_method = header(request_method);
        }
        if seen.request_method.is_some() {
            seen.method = header(":method").unwrap_or_default();
            if seen.method == b"OPTIONS" {
                seen.request_headers = header(request_headers);
                seen.request_private_network = header(request_private_network);
            }
        }
        seen
    }

    fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            host: &self.authority,
            path: &self.path,
            origin: self.origin.as_deref(),
            request_method: self.request_method.as_deref(),
            request_headers: self.request_headers.as_deref(),
            request_private_network: self.request_private_network.as_deref(),
        }
    }
}

/// A request header's raw bytes; `None` when absent (or if the host fails the call).
fn header(name: &str) -> Option<Bytes> {
    hostcalls::get_map_value_bytes(REQUEST, name).ok().flatten()
}

/// The HTTP context of one stream.
pub(crate) struct Filter {
    shared: Option<Rc<Shared>>,
    state: State,
}

enum State {
    /// Nothing to do on the response (pass-through, or no request headers seen yet).
    Idle,
    /// Forwarded: the response gets the decision's edits, made again from the same request.
    Forwarded(Seen),
    /// Answered locally: Envoy runs the response callback on the local reply too, which must
    /// not be edited a second time.
    Answered,
}

impl Filter {
    pub(crate) fn new(shared: Option<Rc<Shared>>) -> Self {
        Filter { shared, state: State::Idle }
    }
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Next {
        let Some(shared) = self.shared.as_deref() else {
            // No valid policy in this VM (Envoy refuses the filter before this can happen):
            // fail closed rather than let anything through unchecked.
            self.state = State::Answered;
            log(LogLevel::Error, "no valid policy loaded; refusing the request");
            let _ = hostcalls::send_http_response(500, vec![], None);
            return Next::Pause;
        };
        let seen = Seen::read(shared);
        let decision = shared.policy.evaluate(&seen.request());
        shared.counters.count(&decision);
        if decision.denial.is_some() {
            log_denial(&decision, seen.origin.as_deref());
        }
        match decision.action {
            Action::Respond { status, headers } => {
                let headers: Vec<(&str, &str)> = headers.iter().collect();
                self.state = State::Answered;
                let _ = hostcalls::send_http_response(u32::from(status), headers, None);
                Next::Pause
            }
            Action::Forward(_) => {
                self.state = State::Forwarded(seen);
                Next::Continue
            }
            Action::PassThrough => Next::Continue,
        }
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Next {
        if let (State::Forwarded(seen), Some(shared)) = (&self.state, self.shared.as_deref()) {
            // The same request and policy give the same decision: evaluating again is cheaper than
            // copying the decision out of the request's buffers.
            if let Action::Forward(edits) = shared.policy.evaluate(&seen.request()).action {
                let mut response = UpstreamResponse::read();
                edits.apply(&mut response);
                response.write();
            }
        }
        Next::Continue
    }
}

/// One debug line per denial (also in report-only mode, where it is all that happens).
fn log_denial(decision: &Decision, origin: Option<&[u8]>) {
    if hostcalls::get_log_level().map_or(true, |level| level as u32 > LogLevel::Debug as u32) {
        return;
    }
    let Some(denial) = &decision.denial else { return };
    let kind = match decision.kind {
        Kind::Preflight => "preflight",
        _ => "request",
    };
    let mode = if decision.enforced { "denied" } else { "would be denied (report-only)" };
    let origin = origin.map(|origin| {
        let shown = origin.get(..LOGGED_ORIGIN).unwrap_or(origin);
        let cut = if shown.len() < origin.len() { "..." } else { "" };
        format!("{}{cut}", shown.escape_ascii())
    });
    let origin = origin.as_deref().unwrap_or("(none)");
    log(LogLevel::Debug, &format!("{kind} {mode}: {denial}; origin \"{origin}\""));
}
