//! Why a request was refused, in a short code for counters, logs and the debug header.

use core::fmt;

/// Why the engine refused a request: what the browser then reports as blocked by CORS policy ([MDN:
/// CORS errors]).
///
/// [MDN: CORS errors]: https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CORS/Errors
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
}
