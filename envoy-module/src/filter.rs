//! One HTTP stream: read the request headers the decision needs, apply the decision.

use crate::abi::{self, Level, Stream};
use crate::config::Config;
use corsguard::{Action, Request, ResponseEdits, ResponseHeaders, join_lines};

/// The filter of one stream.
pub(crate) struct Filter {
    config: &'static Config,
    /// The decision's edits for the upstream's response, when the request was forwarded: they own
    /// their values, so that the request's headers need not be kept.
    forwarded: Option<Box<ResponseEdits<'static>>>,
}

impl Filter {
    pub(crate) fn new(config: &'static Config) -> Self {
        Filter { config, forwarded: None }
    }

    /// Decides on the request; whether it was answered here (a preflight, or a refusal of one).
    pub(crate) fn on_request_headers(&mut self, stream: &mut Stream) -> bool {
        let [origin, request_method, request_headers, request_private_network] =
            Request::HEADERS.map(|name| stream.request_header(name));
        let (method, scheme, authority, path) = (
            stream.request_header(":method"),
            stream.request_header(":scheme"),
            stream.request_header(":authority"),
            stream.request_header(":path"),
        );
        let request = Request {
            method: method.as_deref().unwrap_or_default(),
            scheme: scheme.as_deref(),
            host: authority.as_deref().unwrap_or_default(),
            path: path.as_deref().unwrap_or_default(),
            origin: origin.as_deref(),
            request_method: request_method.as_deref(),
            request_headers: request_headers.as_deref(),
            request_private_network: request_private_network.as_deref(),
        };
        let decision = self.config.policy.evaluate(&request);
        self.config.counters.count(stream, &decision);
        // One debug line per denial (also in report-only mode, where it is all that happens).
        if let Some(line) = decision.denial_line(request.origin).filter(|_| abi::log_enabled(Level::Debug)) {
            abi::log(Level::Debug, &format!("corsguard: {line}"));
        }
        let answer = match decision.action {
            Action::Respond { status, headers } => Some((status, headers.into_owned())),
            Action::Forward(edits) => {
                self.forwarded = Some(Box::new(edits.into_owned()));
                None
            }
            Action::PassThrough => None,
        };
        let Some((status, headers)) = answer else { return false };
        let headers: Vec<(&str, &str)> = headers.iter().collect();
        stream.send_response(status, &headers, "corsguard");
        true
    }

    /// Edits the upstream's response (Envoy does not call this for the filter's own answers).
    pub(crate) fn on_response_headers(&mut self, stream: &mut Stream) {
        if let Some(edits) = &self.forwarded {
            edits.apply(&mut UpstreamResponse(stream));
        }
    }
}

/// The response being sent, as the engine's edits see it.
struct UpstreamResponse<'s>(&'s mut Stream);

impl ResponseHeaders for UpstreamResponse<'_> {
    fn get_all(&self, name: &str) -> Option<String> {
        join_lines(self.0.response_header(name)).map(|value| String::from_utf8_lossy(&value).into_owned())
    }

    fn set(&mut self, name: &str, value: &str) {
        self.0.set_response_header(name, Some(value));
    }

    fn remove(&mut self, name: &str) {
        if self.0.response_header(name).next().is_some() {
            self.0.set_response_header(name, None);
        }
    }
}
