//! One HTTP stream: read the request headers the decision needs, apply the decision.

use crate::counters::Counters;
use crate::header_map::HeaderMap;
use crate::log;
use crate::response::UpstreamResponse;
use corsguard::{Action, Policy, RequestLines, ResponseEdits};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action as Next, LogLevel, MapType};
use std::rc::Rc;

const REQUEST: MapType = MapType::HttpRequestHeaders;

/// What every stream of one VM shares: built once by `on_configure`.
pub(crate) struct Shared {
    pub(crate) policy: Policy,
    pub(crate) counters: Counters,
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
        let map = HeaderMap::read(REQUEST);
        let lines = RequestLines::find(map.iter());
        let request = lines.request();
        let decision = shared.policy.evaluate(&request);
        shared.counters.count(&decision);
        // One debug line per denial (also in report-only mode, where it is all that happens), with
        // the id Envoy gave the request.
        if decision.denial.is_some() && debug_logged() {
            let id = map.iter().find(|(name, _)| *name == b"x-request-id").map(|(_, id)| id);
            if let Some(line) = decision.denial_line(request.origin, id) {
                log(LogLevel::Debug, &line.to_string());
            }
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
