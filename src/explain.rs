//! Why a request was refused, in a short code for counters and logs and in the words a browser
//! console uses.

use alloc::{format, string::String};
use core::fmt;

/// Why the engine refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial<'a> {
    /// The `Origin` is not in the policy.
    OriginNotAllowed,
    /// The preflight asked for a method the policy does not allow.
    MethodNotAllowed,
    /// The preflight asked for a header the policy does not allow (the first such name).
    HeaderNotAllowed(&'a str),
    /// The preflight asked for private network access, which the policy does not allow.
    PrivateNetworkNotAllowed,
    /// `Origin`, `Access-Control-Request-Method` or `Access-Control-Request-Headers` is not
    /// something a browser sends.
    MalformedRequest,
}

impl Denial<'_> {
    /// The reason's code, without details: a fixed set, fit for counter names.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::OriginNotAllowed => "origin-not-allowed",
            Denial::MethodNotAllowed => "method-not-allowed",
            Denial::HeaderNotAllowed(_) => "header-not-allowed",
            Denial::PrivateNetworkNotAllowed => "private-network-not-allowed",
            Denial::MalformedRequest => "malformed-request",
        }
    }

    /// What Chromium's console prints when a page at `origin` fetches `url` and is refused.
    ///
    /// A refused preflight carries no `Access-Control-Allow-*` header at all, so the browser
    /// reports the missing `Access-Control-Allow-Origin` whatever the engine's reason was.
    pub fn console_message(&self, url: &str, origin: &str, preflight: bool) -> String {
        let blocked = format!("Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: ");
        let missing = "No 'Access-Control-Allow-Origin' header is present on the requested resource.";
        if preflight {
            format!("{blocked}Response to preflight request doesn't pass access control check: {missing}")
        } else {
            format!(
                "{blocked}{missing} If an opaque response serves your needs, set the request's mode to \
                 'no-cors' to fetch the resource with CORS disabled."
            )
        }
    }
}

impl fmt::Display for Denial<'_> {
    /// `header-not-allowed: x-foo`; the code alone for the others.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::HeaderNotAllowed(name) => write!(f, "{}: {name}", self.code()),
            _ => f.write_str(self.code()),
        }
    }
}
