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

mod actual;
mod byte_string;
mod config;
mod decision;
mod denial;
mod denial_line;
mod environment;
mod fields;
mod header_lines;
mod headers;
mod host;
mod inflate;
mod json;
mod label_pattern;
mod methods;
mod name_set;
mod origin;
mod path;
mod pattern;
mod policy;
mod preflight;
mod problem;
mod public_suffix;
mod request;
mod response;
mod route;
mod rules;
mod series;
mod source;
mod trace;
mod view;

/// The engine's hash tables. Their seed is fixed: only the policy's own entries are ever inserted,
/// so no request can lengthen a lookup, and a per-process seed (which on Wasm, without address
/// randomization, is the same in every instance anyway) would cost every module 1 KB.
type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;
/// A set of the same kind as [`HashMap`].
type HashSet<T> = hashbrown::HashSet<T, foldhash::fast::FixedState>;

pub use byte_string::isomorphic_encode;
pub use decision::{Action, Decision, Enforcement, Kind};
pub use denial::Denial;
pub use denial_line::DenialLine;
pub use header_lines::{HeaderLines, join_line, join_lines};
pub use policy::Policy;
pub use problem::{Code, Problem, Problems, Severity};
pub use request::{Request, RequestLines, split_absolute_uri};
pub use response::{DEBUG_HEADER, HeaderList, OWNED_HEADERS, ResponseEdits, ResponseHeaders, apply_edits, merge_vary};
pub use route::Selected;
pub use series::{SERIES_LABELS, series_labels};

/// What tools need beyond an edge's decision, and no edge does: the policy file's fields and
/// environments, the trace of a decision, and the Fetch standard's forbidden names and the path
/// reading routes use.
pub mod tools {
    pub use crate::environment::{Environment, environments};
    pub use crate::fields::{FIELDS, Field, POLICY_FIELDS, Place, ROUTE_FIELDS, suggest};
    pub use crate::headers::is_forbidden_request_header;
    pub use crate::json::Layout;
    pub use crate::methods::is_forbidden_method;
    pub use crate::path::canonical_path;
    pub use crate::pattern::OriginShape;
    pub use crate::source::{Lines, Span, Spans};
    pub use crate::trace::Trace;
    pub use crate::view::{Entry, Level, OriginEntry, PolicyView, Resolved};
}
