//! One HTTP stream: read the request headers the decision needs, apply the decision.

use crate::counters::Counters;
use crate::header_map::HeaderMap;
use crate::log;
use crate::response::UpstreamResponse;
use corsguard::{Action, Policy, Request, ResponseEdits, join_line};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action as Next, LogLevel, MapType};
use std::borrow::Cow;
use std::rc::Rc;

const REQUEST: MapType = MapType::HttpRequestHeaders;

/// What every stream of one VM shares: built once by `on_configure`.
pub(crate) struct Shared {
    pub(crate) policy: Policy,
    pub(crate) counters: Counters,
}

/// The request headers the engine reads, found in the request's header map.
#[derive(Default)]
struct Seen<'a> {
    method: &'a [u8],
    scheme: Option<&'a [u8]>,
    authority: &'a [u8],
    path: &'a [u8],
    origin: Option<Cow<'a, [u8]>>,
    request_method: Option<Cow<'a, [u8]>>,
    request_headers: Option<Cow<'a, [u8]>>,
    request_private_network: Option<Cow<'a, [u8]>>,
}

impl<'a> Seen<'a> {
    /// One pass over the request's headers; values are borrowed, copied only to join repeated
    /// lines ([`join_line`]: the engine then judges the whole, never a choice of one line).
    fn find(headers: &'a HeaderMap) -> Self {
        let [origin, request_method, request_headers, request_private_network] = Request::HEADERS.map(str::as_bytes);
        let mut seen = Seen::default();
        for (name, value) in headers.iter() {
            match name {
                b":method" => seen.method = value,
                b":scheme" => seen.scheme = Some(value),
                b":authority" => seen.authority = value,
                b":path" => seen.path = value,
                name if name == origin => join_line(&mut seen.origin, value),
                name if name == request_method => join_line(&mut seen.request_method, value),
                name if name == request_headers => join_line(&mut seen.request_headers, value),
                name if name == request_private_network => join_line(&mut seen.request_private_network, value),
                _ => {}
            }
        }
        seen
    }

    fn request(&self) -> Request<'_> {
        Request {
            method: self.method,
            scheme: self.scheme,
            host: self.authority,
            path: self.path,
            origin: self.origin.as_deref(),
            request_method: self.request_method.as_deref(),
            request_headers: self.request_headers.as_deref(),
            request_private_network: self.request_private_network.as_deref(),
        }
    }
}

/// The HTTP context of one stream.
pub(crate) struct Filter {
    shared: Option<Rc<Shared>>,
    state: State,
}

enum State {
    /// Nothing to do on the response (pass-through, or no request headers seen yet).
    Idle,
    /// Forwarded: the response gets the decision's edits, which own their values (the request's
    /// headers are not kept).
    Forwarded(Box<ResponseEdits<'static>>),
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
        let request = HeaderMap::read(REQUEST);
        let seen = Seen::find(&request);
        let decision = shared.policy.evaluate(&seen.request());
        shared.counters.count(&decision);
        // One debug line per denial (also in report-only mode, where it is all that happens).
        if let Some(line) = decision.denial_line(seen.origin.as_deref()).filter(|_| debug_logged()) {
            log(LogLevel::Debug, &line.to_string());
        }
        match decision.action {
            Action::Respond { status, headers } => {
                let headers: Vec<(&str, &str)> = headers.iter().collect();
                self.state = State::Answered;
                let _ = hostcalls::send_http_response(u32::from(status), headers, None);
                Next::Pause
            }
            Action::Forward(edits) => {
                self.state = State::Forwarded(Box::new(edits.into_owned()));
                Next::Continue
            }
            Action::PassThrough => Next::Continue,
        }
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Next {
        if let State::Forwarded(edits) = &self.state {
            edits.apply(&mut UpstreamResponse::read());
        }
        Next::Continue
    }
}

/// Whether Envoy logs this filter's debug lines (asked before a line is made).
fn debug_logged() -> bool {
    hostcalls::get_log_level().is_ok_and(|level| level as u32 <= LogLevel::Debug as u32)
}
