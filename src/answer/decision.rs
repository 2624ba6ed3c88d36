//! What the engine decided about one request, in terms an adapter can apply blindly.

use crate::answer::denial::Denial;
use crate::answer::response::{HeaderList, ResponseEdits};
use crate::deciders::request::Request;
use crate::routes::route::Selected;

/// What kind of request the engine saw: a [CORS-preflight request], another [CORS request], or a
/// request without `Origin`.
///
/// [CORS-preflight request]: https://fetch.spec.whatwg.org/#cors-preflight-request
/// [CORS request]: https://fetch.spec.whatwg.org/#cors-request
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
    Preflight,
    /// Any other request with an `Origin`.
    Actual,
    /// A request without `Origin`: not cross-origin as far as CORS can tell.
    NoOrigin,
}

impl Kind {
    /// What a request is, from the request alone (whatever its route says).
    pub fn of(request: &Request) -> Self {
        match request.origin {
            _ if request.is_preflight() => Kind::Preflight,
            Some(_) => Kind::Actual,
            None => Kind::NoOrigin,
        }
    }

    /// A lowercase name for counters and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Preflight => "preflight",
            Kind::Actual => "actual",
            Kind::NoOrigin => "no_origin",
        }
    }
}

/// Whether the decision is applied: what tells a refusal that happened from one only logged.
/// `report-only` is corsguard's, not Fetch's: the browser then sees the upstream's own answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforcement {
    /// The action carries the policy out.
    Enforced,
    /// `mode: "report-only"`: the decision is made and logged, and the request passes through.
    ReportOnly,
    /// The request's route has `disabled: true`: corsguard leaves it to the upstream.
    RouteDisabled,
}

impl Enforcement {
    /// A lowercase name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Enforced => "enforced",
            Enforcement::ReportOnly => "report-only",
            Enforcement::RouteDisabled => "route-disabled",
        }
    }
}

/// What the adapter must do: answer a preflight itself ([Fetch: the CORS protocol]), forward and
/// edit the response, or leave both alone.
///
/// [Fetch: the CORS protocol]: https://fetch.spec.whatwg.org/#http-responses
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Change nothing (a disabled route, or `report-only` mode).
    PassThrough,
    /// Answer now with an empty body, and never forward (preflights).
    Respond {
        /// The status code.
        status: u16,
        /// Every header of the answer.
        headers: HeaderList<'a>,
    },
    /// Forward the request, then apply these edits to the upstream's response.
    Forward(ResponseEdits<'a>),
}

/// The engine's verdict on one request, made as the [CORS protocol] and the browser's [CORS check]
/// read it.
///
/// [CORS protocol]: https://fetch.spec.whatwg.org/#http-cors-protocol
/// [CORS check]: https://fetch.spec.whatwg.org/#cors-check
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a decision does nothing until the adapter applies its action"]
pub struct Decision<'a> {
    /// What kind of request it was.
    pub kind: Kind,
    /// Why the request was refused, if it was (also in `report-only` mode, where nothing changes).
    pub denial: Option<Denial<'a>>,
    /// Whether the action carries the decision out.
    pub enforcement: Enforcement,
    /// The level of the policy that decided (a malformed or unclear path: the top level refuses).
    pub route: Selected,
    /// What to do.
    pub action: Action<'a>,
}
