//! corsguard: one CORS policy, enforced at every edge.
//!
//! A JSON policy is validated once ([`Policy::parse`] lists every problem with its JSON path),
//! compiled into matchers, and then turns each request into a [`Decision`] that an edge adapter
//! applies without knowing CORS: answer now (preflights), forward and edit the upstream response,
//! or pass through. The rules follow the WHATWG Fetch standard's CORS protocol.
//!
//! ```
//! use corsguard::{Action, Policy, Request};
//!
//! let policy = Policy::parse(r#"{ "origins": ["https://*.example.com"], "methods": ["PUT"] }"#).unwrap();
//! let preflight = Request {
//!     method: b"OPTIONS",
//!     origin: Some(b"https://app.example.com"),
//!     request_method: Some(b"PUT"),
//!     ..Request::default()
//! };
//! let Action::Respond { status, headers } = policy.evaluate(&preflight).action else { panic!() };
//! assert_eq!(status, 204);
//! assert_eq!(headers.get("access-control-allow-origin"), Some("https://app.example.com"));
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

// The families: the policy file (read and viewed), origins and their patterns, routes, the
// deciders, and the answer.
mod answer;
mod deciders;
mod origins;
mod policy_file;
mod routes;

/// The engine's hash tables. Their seed is fixed: only the policy's own entries are ever inserted,
/// so no request can lengthen a lookup, and a per-process seed (which on Wasm, without address
/// randomization, is the same in every instance anyway) would cost every module 1 KB.
type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;
/// A set of the same kind as [`HashMap`].
type HashSet<T> = hashbrown::HashSet<T, foldhash::fast::FixedState>;

pub use answer::decision::{Action, Decision, Enforcement, Kind};
pub use answer::denial::Denial;
pub use answer::denial_line::DenialLine;
pub use answer::header_lines::{HeaderLines, join_line, join_lines};
pub use answer::response::{
    DEBUG_HEADER, HeaderList, OWNED_HEADERS, ResponseEdits, ResponseHeaders, apply_edits, merge_vary,
};
pub use answer::series::{SERIES_LABELS, series_labels};
pub use deciders::byte_string::isomorphic_encode;
pub use deciders::policy::Policy;
pub use deciders::request::{Request, RequestLines, split_absolute_uri};
pub use policy_file::problem::{Code, Problem, Problems, Severity};
pub use routes::route::Selected;

/// What tools need beyond an edge's decision, and no edge does: the policy's read-only view and
/// where each part of the file is written, the policy file's fields and environments, the trace of
/// a decision, and the Fetch standard's forbidden names and the path reading routes use.
pub mod tools {
    pub use crate::answer::trace::Trace;
    pub use crate::deciders::headers::is_forbidden_request_header;
    pub use crate::deciders::methods::is_forbidden_method;
    pub use crate::origins::pattern::OriginShape;
    pub use crate::policy_file::environment::{Environment, environments};
    pub use crate::policy_file::fields::{FIELDS, Field, POLICY_FIELDS, Place, ROUTE_FIELDS, suggest};
    pub use crate::policy_file::json::Layout;
    pub use crate::policy_file::source::{Lines, Span, Spans};
    pub use crate::policy_file::view::{Entry, Level, OriginEntry, PolicyView, Resolved};
    pub use crate::routes::path::canonical_path;
}
