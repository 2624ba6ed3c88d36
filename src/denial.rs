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
    /// Every reason, in a fixed order (a header-not-allowed without its name): what an edge defines
    /// a counter for, so that none goes uncounted.
    pub const ALL: [Denial<'static>; 5] = [
        Denial::OriginNotAllowed,
        Denial::MethodNotAllowed,
        Denial::HeaderNotAllowed(""),
        Denial::PrivateNetworkNotAllowed,
        Denial::MalformedRequest,
    ];

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

    /// What Chromium's console prints when a page at `origin` fetches `url` and is refused
    /// (checked against Chromium 156 by the browser suite).
    ///
    /// A refused preflight carries no `Access-Control-Allow-*` header at all, so the browser
    /// reports the missing `Access-Control-Allow-Origin` whatever the engine's reason was.
    pub fn console_message(&self, url: &str, origin: &str, preflight: bool) -> String {
        let blocked = format!("Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: ");
        let missing = "No 'Access-Control-Allow-Origin' header is present on the requested resource.";
        let preflight =
            if preflight { "Response to preflight request doesn't pass access control check: " } else { "" };
        format!("{blocked}{preflight}{missing}")
    }
}

/// The longest header name a reason shows whole: a request may name a 60 KiB one, and the reason
/// goes into logs and the debug header.
const SHOWN_NAME: usize = 64;

impl fmt::Display for Denial<'_> {
    /// `header-not-allowed: x-foo` (a long name cut to its first 64 bytes and `...`); the code alone
    /// for the others.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Names are tokens, plain ASCII: any byte offset is a char boundary.
            Denial::HeaderNotAllowed(name) => match name.get(..SHOWN_NAME) {
                Some(head) if name.len() > SHOWN_NAME => write!(f, "{}: {head}...", self.code()),
                _ => write!(f, "{}: {name}", self.code()),
            },
            _ => f.write_str(self.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn all_lists_every_reason_once() {
        // A new reason fails this match until it is given the next place, and ALL then until it
        // lists the reason there.
        let place = |denial: &Denial| match denial {
            Denial::OriginNotAllowed => 0,
            Denial::MethodNotAllowed => 1,
            Denial::HeaderNotAllowed(_) => 2,
            Denial::PrivateNetworkNotAllowed => 3,
            Denial::MalformedRequest => 4,
        };
        let places: alloc::vec::Vec<usize> = Denial::ALL.iter().map(place).collect();
        assert_eq!(places, (0..=4).collect::<alloc::vec::Vec<_>>());
    }

    #[test]
    fn reasons_show_a_long_header_name_cut_short() {
        assert_eq!(Denial::HeaderNotAllowed("x-foo").to_string(), "header-not-allowed: x-foo");
        let long = "x".repeat(60 * 1024);
        let reason = Denial::HeaderNotAllowed(&long).to_string();
        assert_eq!(reason, alloc::format!("header-not-allowed: {}...", "x".repeat(SHOWN_NAME)));
        assert_eq!(Denial::OriginNotAllowed.to_string(), "origin-not-allowed");
    }

    #[test]
    fn console_messages_are_chromiums_words() {
        let (url, origin) = ("http://api.example.test:8001/x", "http://app.example.test:8000");
        assert_eq!(
            Denial::OriginNotAllowed.console_message(url, origin, false),
            "Access to fetch at 'http://api.example.test:8001/x' from origin 'http://app.example.test:8000' has been \
             blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource."
        );
        assert_eq!(
            Denial::MethodNotAllowed.console_message(url, origin, true),
            "Access to fetch at 'http://api.example.test:8001/x' from origin 'http://app.example.test:8000' has been \
             blocked by CORS policy: Response to preflight request doesn't pass access control check: No \
             'Access-Control-Allow-Origin' header is present on the requested resource."
        );
    }
}
