//! corsguard's engine as a WebAssembly component: the `corsguard:engine/engine` world of `wit/`.
//!
//! A translation only: WIT values in, [`corsguard`]'s types through, WIT values out. Built for
//! `wasm32-unknown-unknown` and turned into a component that imports nothing (see
//! `component/build.sh`), so any component host can run it.

/// wit-bindgen's glue: the component ABI's exports, the only unsafe code of this crate.
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({ path: "../wit", world: "engine" });
    use super::Component;
    export!(Component with_types_in self);
}

use bindings::exports::corsguard::engine::policy as wit;
use corsguard::{Action, Decision, Denial, Enforcement, HeaderLines, Kind, Problem, Request, Severity};

/// The exported interface.
pub struct Component;

/// The `engine` resource: a validated policy.
pub struct Engine(corsguard::Policy);

impl wit::Guest for Component {
    type Engine = Engine;

    fn apply_edits(edits: wit::ForwardEdits, response: Vec<wit::Header>) -> Vec<wit::Header> {
        apply_edits(&edits, response)
    }
}

impl wit::GuestEngine for Engine {
    fn load(json: String) -> Result<wit::Engine, Vec<wit::Problem>> {
        match corsguard::Policy::parse(&json) {
            Ok(policy) => Ok(wit::Engine::new(Engine(policy))),
            Err(problems) => Err(problems.iter().map(problem).collect()),
        }
    }

    fn warnings(&self) -> Vec<wit::Problem> {
        self.0.warnings().iter().map(problem).collect()
    }

    fn evaluate(&self, request: wit::Request) -> wit::Decision {
        evaluate(&self.0, &request)
    }
}

/// A core problem as a WIT record.
pub fn problem(problem: &Problem) -> wit::Problem {
    let severity = match problem.severity {
        Severity::Error => wit::Severity::Error,
        Severity::Warning => wit::Severity::Warning,
    };
    wit::Problem {
        severity,
        code: problem.code.as_str().into(),
        path: problem.path.clone(),
        message: problem.message.clone(),
    }
}

/// Evaluates a WIT request view with the core.
pub fn evaluate(policy: &corsguard::Policy, request: &wit::Request) -> wit::Decision {
    let view = Request {
        method: &request.method,
        scheme: request.scheme.as_deref(),
        host: &request.host,
        path: &request.path,
        origin: request.origin.as_deref(),
        request_method: request.request_method.as_deref(),
        request_headers: request.request_headers.as_deref(),
        request_private_network: request.request_private_network.as_deref(),
    };
    decision(&policy.evaluate(&view))
}

/// A core decision as a WIT record.
pub fn decision(decision: &Decision<'_>) -> wit::Decision {
    let kind = match decision.kind {
        Kind::Preflight => wit::Kind::Preflight,
        Kind::Actual => wit::Kind::Actual,
        Kind::NoOrigin => wit::Kind::NoOrigin,
    };
    let enforcement = match decision.enforcement {
        Enforcement::Enforced => wit::Enforcement::Enforced,
        Enforcement::ReportOnly => wit::Enforcement::ReportOnly,
        Enforcement::RouteDisabled => wit::Enforcement::RouteDisabled,
    };
    let denial = decision.denial.map(|denial| match denial {
        Denial::OriginNotAllowed => wit::Denial::OriginNotAllowed,
        Denial::MethodNotAllowed => wit::Denial::MethodNotAllowed,
        Denial::HeaderNotAllowed(name) => wit::Denial::HeaderNotAllowed(name.into()),
        Denial::PrivateNetworkNotAllowed => wit::Denial::PrivateNetworkNotAllowed,
        Denial::MalformedRequest => wit::Denial::MalformedRequest,
    });
    let headers = |list: &corsguard::HeaderList<'_>| {
        list.iter().map(|(name, value)| wit::Header { name: name.into(), value: value.into() }).collect()
    };
    let action = match &decision.action {
        Action::PassThrough => wit::Action::PassThrough,
        Action::Respond { status, headers: list } => {
            wit::Action::Respond(wit::Reply { status: *status, headers: headers(list) })
        }
        Action::Forward(edits) => {
            wit::Action::Forward(wit::ForwardEdits { headers: headers(&edits.headers), vary_origin: edits.vary_origin })
        }
    };
    wit::Decision { kind, denial, enforcement, action }
}

/// Applies forward edits that came back as a WIT record, with the core's [`corsguard::apply_edits`].
pub fn apply_edits(edits: &wit::ForwardEdits, response: Vec<wit::Header>) -> Vec<wit::Header> {
    let ours = |name: &str| edits.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str());
    let mut lines = HeaderLines(response.into_iter().map(|h| (h.name, h.value)).collect());
    corsguard::apply_edits(ours, edits.vary_origin, &mut lines);
    lines.0.into_iter().map(|(name, value)| wit::Header { name, value }).collect()
}
