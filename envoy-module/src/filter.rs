//! One HTTP stream: read the request headers the decision needs, apply the decision.

use crate::abi::{self, Level, Stream};
use crate::config::Config;
use crate::response::UpstreamResponse;
use core::cell::Cell;
use corsguard::{Action, RequestLines, ResponseEdits};

/// The filter of one stream.
pub(crate) struct Filter {
    config: &'static Config,
    /// The decision's edits for the upstream's response, when the request was forwarded: they own
    /// their values, so that the request's headers need not be kept. A `Cell`, since the hooks
    /// share the filter (`abi::filter`).
    forwarded: Cell<Option<Box<ResponseEdits<'static>>>>,
}

impl Filter {
    pub(crate) fn new(config: &'static Config) -> Self {
        Filter { config, forwarded: Cell::new(None) }
    }

    /// Decides on the request; whether it was answered here (a preflight, or a refusal of one).
    pub(crate) fn on_request_headers(&self, stream: &Stream) -> bool {
        let lines = stream.request_lines();
        let found = RequestLines::find(lines.iter());
        let request = found.request();
        let decision = self.config.policy.evaluate(&request);
        self.config.counters.count(&decision);
        // One debug line per denial (also in report-only mode, where it is all that happens), with
        // the id Envoy gave the request.
        if decision.denial.is_some() && abi::log_enabled(Level::Debug) {
            let id = lines.iter().find(|(name, _)| *name == b"x-request-id").map(|(_, id)| id);
            if let Some(line) = decision.denial_line(request.origin, id) {
                abi::log(Level::Debug, &line.to_string());
            }
        }
        match decision.action {
            Action::Respond { status, headers } => {
                stream.answer(status, headers.iter());
                true
            }
            Action::Forward(edits) => {
                self.forwarded.set(Some(Box::new(edits.into_owned())));
                false
            }
            Action::PassThrough => false,
        }
    }

    /// Edits the upstream's response (nothing to do on the filter's own answers).
    pub(crate) fn on_response_headers(&self, stream: &mut Stream) {
        if let Some(edits) = self.forwarded.take() {
            edits.apply(&mut UpstreamResponse::read(stream));
        }
    }
}
