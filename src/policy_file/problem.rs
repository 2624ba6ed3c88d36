//! What is wrong with a policy file: each problem has a severity, a JSON path, a stable code for
//! tools, and a sentence for people.

use crate::policy_file::json;
use crate::policy_file::source::{Lines, Spans};
use alloc::{format, string::String, vec::Vec};
use core::fmt;
use core::ops::Range;

/// How serious a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The policy is rejected.
    Error,
    /// Legal but risky; the policy is used.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Declares [`Code`] with its text and the list of every code.
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $text:literal,)+) => {
        /// What kind of problem it is: stable, for tools (the message is for people and may change).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Code {
            /// Every code, in the order docs/policy.md documents them.
            pub const ALL: &[Code] = &[$(Code::$variant,)+];

            /// The code as tools see it (`duplicate-key`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }
        }
    };
}

codes! {
    /// The text is not JSON.
    InvalidJson = "invalid-json",
    /// The policy, a route, or a field is not the JSON type it must be.
    WrongType = "wrong-type",
    /// A key appears twice in one object (however it is spelled).
    DuplicateKey = "duplicate-key",
    /// A key that is not a field of its object.
    UnknownField = "unknown-field",
    /// A route's field (`host`, `path_prefix`, ...) at the top level, or `routes` inside a route.
    MisplacedField = "misplaced-field",
    /// `origins` is missing, or empty at the top level.
    NoOrigins = "no-origins",
    /// The same origin, method or header name is listed twice.
    ListedTwice = "listed-twice",
    /// An origin entry that is not `scheme://host[:port]`: a path, query, user info, no scheme.
    NotAnOrigin = "not-an-origin",
    /// An origin entry ends with `/`.
    TrailingSlash = "trailing-slash",
    /// An origin entry or route host names the scheme's default port.
    DefaultPort = "default-port",
    /// A host or port no URL can have.
    InvalidHost = "invalid-host",
    /// A host in a form browsers never send (`127.1`, `[0:0::1]`); the message names the form they do.
    NotSerialized = "not-serialized",
    /// A host that is not ASCII: browsers send internationalized names in punycode.
    NotAscii = "not-ascii",
    /// A `*` where patterns cannot have one, or over an IP address.
    BadWildcard = "bad-wildcard",
    /// A wildcard over a top-level domain (`https://*.com`).
    TopLevelWildcard = "top-level-wildcard",
    /// A wildcard over a public suffix (`https://*.github.io`): an error with credentials.
    PublicSuffixWildcard = "public-suffix-wildcard",
    /// `null`, the origin any sandboxed page can produce.
    NullOrigin = "null-origin",
    /// A plain `http://` origin that is not loopback.
    PlainHttp = "plain-http",
    /// Entries next to `*`, which already allows every origin.
    Redundant = "redundant",
    /// `*` in a list, with `credentials: true`.
    WildcardWithCredentials = "wildcard-with-credentials",
    /// A method or header name that is not an HTTP token, or an environment name that is not
    /// letters, digits, `-` and `_`.
    InvalidName = "invalid-name",
    /// A method browsers never send (`CONNECT`, `TRACE`, `TRACK`).
    ForbiddenMethod = "forbidden-method",
    /// `patch`, which `fetch()` sends as written: `PATCH` is meant.
    LowercasePatch = "lowercase-patch",
    /// A request header scripts cannot set (`Cookie`, `Sec-*`, `Proxy-*`): browsers never ask for it.
    ForbiddenRequestHeader = "forbidden-request-header",
    /// A response header (`Access-Control-Allow-Origin`) listed as a request header.
    ResponseHeader = "response-header",
    /// A response header browsers never expose to scripts (`Set-Cookie`).
    ForbiddenResponseHeader = "forbidden-response-header",
    /// `max_age` that is negative or beyond what browsers cache.
    MaxAge = "max-age",
    /// `preflight_status` that is not 200-299.
    PreflightStatus = "preflight-status",
    /// `mode` other than `enforce` or `report-only`.
    Mode = "mode",
    /// A route with neither `host` nor `path_prefix`.
    RouteMatchesNothing = "route-matches-nothing",
    /// A `path_prefix` that does not start with `/`, holds `?` or `#`, bytes browsers escape, or
    /// spellings servers read differently.
    InvalidPathPrefix = "invalid-path-prefix",
    /// A `path_prefix` that is not canonical; the message gives the canonical form.
    NonCanonicalPath = "non-canonical-path",
    /// A route that an earlier route always matches first.
    ShadowedRoute = "shadowed-route",
    /// A policy that still holds `environments`, given to an edge, which enforces one resolved
    /// environment.
    UnresolvedEnvironments = "unresolved-environments",
    /// An environment asked for that the policy does not name.
    UnknownEnvironment = "unknown-environment",
    /// An environment's `routes` replaces shared routes it does not repeat.
    ReplacedRoutes = "replaced-routes",
}

/// One problem in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub code: Code,
    /// Where, as a JSON path (`routes[0].origins[2]`); empty for the whole file.
    pub path: String,
    /// What is wrong, and what to write instead where that is clear.
    pub message: String,
    /// Where it is, in bytes from the start of the text: the path's key or element, or the nearest
    /// written path that holds it (for text that is not JSON, where the reader stopped). Tools get
    /// it ([`crate::tools::PolicyView::parse`]); an edge's parse leaves it out.
    pub offset: Option<usize>,
    /// Where the offending value is written (`&text[value]` is `"https://a.example/"`), when its
    /// path is written; tools only, as `offset`.
    pub value: Option<Range<usize>>,
}

impl fmt::Display for Problem {
    /// `error[trailing-slash]: origins[0]: message`, as compilers print theirs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]: ", self.severity.as_str(), self.code.as_str())?;
        match self.path.as_str() {
            "" => write!(f, "{}", self.message),
            path => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Every problem found in a policy file: each level's fields in file order, then the routes, then
/// the checks that span fields (the `corsguard check` command sorts them by line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn error(&mut self, path: &str, code: Code, message: impl Into<String>) {
        self.push(Severity::Error, code, path, message.into());
    }

    pub(crate) fn warning(&mut self, path: &str, code: Code, message: impl Into<String>) {
        self.push(Severity::Warning, code, path, message.into());
    }

    fn push(&mut self, severity: Severity, code: Code, path: &str, message: String) {
        self.0.push(Problem { severity, code, path: path.into(), message, offset: None, value: None });
    }

    /// The text is not JSON: one problem, which the message places (for logs, which show no
    /// offset).
    pub(crate) fn not_json(&mut self, text: &str, error: &json::Error) {
        let (line, column) = Lines::new(text).locate(error.offset);
        self.error("", Code::InvalidJson, format!("not valid JSON: {} at line {line} column {column}", error.message));
    }

    /// The text is not JSON, for tools: the offset places it.
    pub(crate) fn not_json_at(&mut self, message: String, error: &json::Error) {
        self.error("", Code::InvalidJson, message);
        if let Some(problem) = self.0.last_mut() {
            problem.offset = Some(error.offset);
        }
    }

    /// Places each problem in the text of `spans`, whose paths they name.
    pub(crate) fn locate(&mut self, spans: &Spans) {
        locate(&mut self.0, spans);
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|p| p.severity == Severity::Error)
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> core::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// Places each problem not yet placed in the text of `spans`, whose paths they name.
pub(crate) fn locate(problems: &mut [Problem], spans: &Spans) {
    for problem in problems.iter_mut().filter(|p| p.offset.is_none()) {
        problem.offset = spans.nearest(&problem.path).map(|span| span.at);
        problem.value = spans.get(&problem.path).map(|span| span.start..span.end);
    }
}

impl fmt::Display for Problems {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.0 {
            writeln!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Problems {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_documented_once_in_the_policy_reference() {
        let readme = include_str!("../../docs/policy.md");
        for (index, code) in Code::ALL.iter().enumerate() {
            let text = code.as_str();
            assert!(Code::ALL.iter().skip(index + 1).all(|other| other.as_str() != text), "{text}");
            let rows = ["error", "warning"].map(|s| readme.matches(&alloc::format!("| `{text}` | {s}")).count());
            assert_eq!(rows.iter().sum::<usize>(), 1, "docs/policy.md's table of codes: {text}");
        }
    }
}
