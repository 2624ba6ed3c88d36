//! What the engine decided about one request, in terms an adapter can apply blindly.

use crate::denial::Denial;
use crate::request::Request;
use crate::response::{HeaderList, ResponseEdits};

/// What kind of request the engine saw.
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

/// What the adapter must do.
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

/// The engine's verdict on one request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a decision does nothing until the adapter applies its action"]
pub struct Decision<'a> {
    /// What kind of request it was.
    pub kind: Kind,
    /// Why the request was refused, if it was (also in `report-only` mode, where nothing changes).
    pub denial: Option<Denial<'a>>,
    /// Whether the action carries the decision out.
    pub enforcement: Enforcement,
    /// What to do.
    pub action: Action<'a>,
}

/// How much of the client's `Origin` a denial line shows.
const LOGGED_ORIGIN: usize = 128;

impl Decision<'_> {
    /// The line an edge logs for a denial, the same on every edge (also in `report-only` mode,
    /// where it is all that happens): `preflight denied: origin-not-allowed; origin
    /// "https://evil.example"`. `origin` is the request's, as the decision read it; being the
    /// client's text, it is escaped and cut at 128 bytes. `None` when nothing was denied.
    pub fn denial_line<'d>(&'d self, origin: Option<&'d [u8]>) -> Option<DenialLine<'d>> {
        let denial = self.denial.as_ref()?;
        Some(DenialLine { kind: self.kind, enforcement: self.enforcement, denial, origin })
    }
}

/// A denial as one log line ([`Decision::denial_line`]).
pub struct DenialLine<'d> {
    kind: Kind,
    enforcement: Enforcement,
    denial: &'d Denial<'d>,
    origin: Option<&'d [u8]>,
}

impl core::fmt::Display for DenialLine<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = if self.kind == Kind::Preflight { "preflight" } else { "request" };
        let outcome = match self.enforcement {
            Enforcement::ReportOnly => "would be denied (report-only)",
            Enforcement::Enforced | Enforcement::RouteDisabled => "denied",
        };
        write!(f, "{kind} {outcome}: {}; origin ", self.denial)?;
        match self.origin {
            None => f.write_str("(none)"),
            Some(origin) => {
                let shown = origin.get(..LOGGED_ORIGIN).unwrap_or(origin);
                let cut = if shown.len() < origin.len() { "..." } else { "" };
                write!(f, "\"{}{cut}\"", shown.escape_ascii())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Policy, Request};
    use alloc::string::ToString;

    #[test]
    fn a_denial_is_one_line_with_the_client_origin_escaped_and_cut() {
        let policy = Policy::parse(r#"{"origins": ["https://app.example.com"], "methods": ["PUT"]}"#).unwrap();
        let line = |origin: &[u8], method: &[u8]| {
            let request = Request {
                method,
                path: b"/",
                origin: Some(origin),
                request_method: Some(b"PUT"),
                ..Request::default()
            };
            policy.evaluate(&request).denial_line(request.origin).map(|line| line.to_string())
        };
        assert_eq!(line(b"https://app.example.com", b"OPTIONS"), None);
        assert_eq!(
            line(b"https://evil.example", b"OPTIONS").as_deref(),
            Some(r#"preflight denied: origin-not-allowed; origin "https://evil.example""#)
        );
        assert_eq!(
            line(b"https://evil.example\r\n\xff", b"OPTIONS").as_deref(),
            Some(r#"preflight denied: malformed-request; origin "https://evil.example\r\n\xff""#)
        );
        let long = [b'a'; 200];
        let shown = line(&long, b"GET").unwrap();
        assert!(shown.starts_with("request denied: malformed-request"), "{shown}");
        assert!(shown.ends_with(&alloc::format!("origin \"{}...\"", "a".repeat(128))), "{shown}");
        let report_only = Policy::parse(r#"{"origins": ["https://app.example.com"], "mode": "report-only"}"#).unwrap();
        let request =
            Request { method: b"GET", path: b"/", origin: Some(b"https://evil.example"), ..Request::default() };
        let decision = report_only.evaluate(&request);
        assert_eq!(
            decision.denial_line(None).map(|line| line.to_string()).as_deref(),
            Some("request would be denied (report-only): origin-not-allowed; origin (none)")
        );
    }
}
