//! The serialized origin browsers send in `Origin` (`scheme://host[:port]`), split into parts.
//!
//! One parser serves both sides: request values must already be in the exact form a browser
//! serializes (lowercase, no default port), and policy entries are lowercased before parsing so
//! they compare against that form byte for byte.

use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
};

/// A DNS name is at most 253 bytes; bounding hosts also bounds the work per request.
const MAX_HOST_LEN: usize = 253;

/// A serialized origin's parts, borrowed from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin<'a> {
    /// The whole origin, as written.
    pub text: &'a str,
    pub scheme: &'a str,
    pub host: &'a str,
    /// The port as written, if any (`*` only in policy patterns).
    pub port: Option<&'a str>,
}

/// Why a text is not a serialized origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    NoScheme,
    UserInfo,
    Path,
    TrailingSlash,
    Query,
    Fragment,
    BadHost,
    BadPort,
    DefaultPort,
}

impl<'a> Origin<'a> {
    /// Splits `scheme://host[:port]` without judging the host or port beyond their shape.
    pub fn split(text: &'a str) -> Result<Self, Malformed> {
        // A scheme has no `:`, so the first one ends it.
        let (scheme, rest) = text.split_once(':').ok_or(Malformed::NoScheme)?;
        let rest = rest.strip_prefix("//").ok_or(Malformed::NoScheme)?;
        if !is_scheme(scheme) {
            return Err(Malformed::NoScheme);
        }
        if let Some((at, c)) = rest.char_indices().find(|(_, c)| matches!(c, '/' | '?' | '#' | '@')) {
            return Err(match c {
                '/' if at + 1 == rest.len() => Malformed::TrailingSlash,
                '/' => Malformed::Path,
                '?' => Malformed::Query,
                '#' => Malformed::Fragment,
                _ => Malformed::UserInfo,
            });
        }
        let (host, port) = match rest.strip_prefix('[') {
            Some(literal) => {
                let (inside, after) = literal.split_once(']').ok_or(Malformed::BadHost)?;
                let host = rest.get(..inside.len() + 2).ok_or(Malformed::BadHost)?;
                match after {
                    "" => (host, None),
                    _ => (host, Some(after.strip_prefix(':').ok_or(Malformed::BadHost)?)),
                }
            }
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        Ok(Origin { text, scheme, host, port })
    }

    /// Splits a request's `Origin` value into its parts without judging them: enough for the
    /// exact-host lookup, whose table holds only valid hosts. One pass over the bytes.
    pub fn split_request(value: &'a [u8]) -> Option<Self> {
        let text = core::str::from_utf8(value).ok()?;
        let colon = value.iter().position(|&b| b == b':')?;
        let scheme = text.get(..colon)?;
        let rest = text.get(colon + 1..)?.strip_prefix("//")?;
        let (host, port) = match rest.strip_prefix('[') {
            Some(literal) => {
                let close = literal.bytes().position(|b| b == b']')?;
                let host = rest.get(..close + 2)?;
                match rest.get(close + 2..)? {
                    "" => (host, None),
                    after => (host, Some(after.strip_prefix(':')?)),
                }
            }
            None => match rest.bytes().rposition(|b| b == b':') {
                Some(at) => (rest.get(..at)?, Some(rest.get(at + 1..)?)),
                None => (rest, None),
            },
        };
        Some(Origin { text, scheme, host, port })
    }

    /// Whether the parts are exactly what a browser serializes.
    pub fn is_serialized(&self) -> bool {
        self.port.is_none_or(|port| parse_port(self.scheme, port).is_ok())
            && is_scheme(self.scheme)
            && is_host(self.host)
    }

    #[cfg(test)]
    fn parse_request(value: &'a [u8]) -> Option<Self> {
        Self::split_request(value).filter(Origin::is_serialized)
    }

    /// Whether the host is loopback, where plain `http://` is normal.
    pub fn is_loopback(&self) -> bool {
        let host = self.host;
        let ipv4 = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        host == "localhost" || host.ends_with(".localhost") || (ipv4 && host.starts_with("127.")) || host == "[::1]"
    }
}

/// Checks a written port: digits with no leading zero, 1-65535, and not the scheme's default
/// (browsers never serialize the default port).
pub(crate) fn parse_port(scheme: &str, port: &str) -> Result<u16, Malformed> {
    if port.is_empty() || port.len() > 5 || port.starts_with('0') || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed::BadPort);
    }
    let number: u16 = port.parse().map_err(|_| Malformed::BadPort)?;
    match (scheme, number) {
        ("http" | "ws", 80) | ("https" | "wss", 443) => Err(Malformed::DefaultPort),
        _ => Ok(number),
    }
}

/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, lowercase as browsers serialize it.
fn is_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'))
}

/// A lowercase ASCII domain or IPv4 address of non-empty labels, or a bracketed IPv6 literal.
pub(crate) fn is_host(host: &str) -> bool {
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return false;
    }
    if let Some(literal) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !literal.is_empty() && literal.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b':' | b'.'));
    }
    let mut label = 0;
    for b in host.bytes() {
        match b {
            b'.' if label == 0 => return false,
            b'.' => label = 0,
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => label += 1,
            _ => return false,
        }
    }
    label > 0
}

/// Whether a valid-looking host (see [`is_host`]) is exactly what the WHATWG URL parser makes of
/// it. `Err(Some(form))` gives the form browsers send instead (`127.1` is `127.0.0.1`,
/// `[0:0::1]` is `[::1]`); `Err(None)`, a host no URL can have (`1.2.3.4.5`).
pub(crate) fn serialized_host(host: &str) -> Result<(), Option<String>> {
    let serialized = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(literal) => {
            let address: core::net::Ipv6Addr = literal.parse().map_err(|_| None)?;
            format!("[{}]", ipv6(&address.segments()))
        }
        None if ends_in_a_number(host) => ipv4(host).ok_or(None)?.to_string(),
        None => return Ok(()),
    };
    if serialized == host { Ok(()) } else { Err(Some(serialized)) }
}

/// The URL standard's "ends in a number": such a host is parsed as an IPv4 address.
fn ends_in_a_number(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or_default();
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || last.strip_prefix("0x").is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The URL standard's IPv4 parser: one to four parts, each decimal, octal (`0` first) or hex
/// (`0x` first); the last part fills the remaining bytes.
fn ipv4(host: &str) -> Option<core::net::Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) = match part.strip_prefix("0x") {
            Some(hex) => (hex, 16),
            None if part.len() > 1 && part.starts_with('0') => (part.get(1..)?, 8),
            None => (*part, 10),
        };
        numbers.push(if digits.is_empty() { 0 } else { u64::from_str_radix(digits, radix).ok()? });
    }
    let (last, rest) = numbers.split_last()?;
    if rest.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - u32::try_from(numbers.len()).ok()?) {
        return None;
    }
    let address = rest.iter().enumerate().fold(*last, |sum, (i, &n)| sum + (n << (8 * (3 - i))));
    Some(core::net::Ipv4Addr::from(u32::try_from(address).ok()?))
}

/// The URL standard's IPv6 serializer: lowercase hex pieces, the first longest run of two or more
/// zero pieces written `::`, and never the dotted IPv4 form.
fn ipv6(pieces: &[u16; 8]) -> String {
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (index, &piece) in pieces.iter().enumerate() {
        run = if piece == 0 { (if run.1 == 0 { index } else { run.0 }, run.1 + 1) } else { (0, 0) };
        if run.1 > best.1 {
            best = run;
        }
    }
    let mut out = String::new();
    let mut index = 0;
    while index < 8 {
        if best.1 >= 2 && index == best.0 {
            out.push_str(if index == 0 { "::" } else { ":" });
            index += best.1;
            continue;
        }
        out.push_str(&format!("{:x}", pieces.get(index).copied().unwrap_or_default()));
        if index < 7 {
            out.push(':');
        }
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_origins_must_be_browser_serializations() {
        let ok: &[&[u8]] = &[
            b"https://example.com",
            b"http://localhost:8080",
            b"http://[::1]:3000",
            b"http://127.0.0.1",
            b"chrome-extension://abcdefgh",
        ];
        for value in ok {
            assert!(Origin::parse_request(value).is_some(), "{:?}", core::str::from_utf8(value));
        }
        let bad: &[&[u8]] = &[
            b"",
            b"null",
            b"HTTPS://EXAMPLE.COM",
            b"https://Example.com",
            b"https://example.com/",
            b"https://example.com:443",
            b"https://example.com:0443",
            b"https://example.com:99999",
            b"https://user@example.com",
            b"https://exa mple.com",
            b"https://example.com, https://other.com",
            b"https://*.example.com",
            b"https://example.com:*",
            b"https://ex\xffample.com",
            b"https://example.com\r\nX-Evil: 1",
            b"https://.example.com",
            b"http://[::1",
            b"http://[::1]x",
        ];
        for value in bad {
            assert!(Origin::parse_request(value).is_none(), "{:?}", value);
        }
    }

    #[test]
    fn split_names_what_is_wrong() {
        assert_eq!(Origin::split("example.com"), Err(Malformed::NoScheme));
        assert_eq!(Origin::split("https://example.com/"), Err(Malformed::TrailingSlash));
        assert_eq!(Origin::split("https://example.com/api"), Err(Malformed::Path));
        assert_eq!(Origin::split("https://example.com?x"), Err(Malformed::Query));
        assert_eq!(Origin::split("https://example.com#x"), Err(Malformed::Fragment));
        assert_eq!(Origin::split("https://u:p@example.com"), Err(Malformed::UserInfo));
        assert_eq!(parse_port("https", "443"), Err(Malformed::DefaultPort));
        assert_eq!(parse_port("https", "8443"), Ok(8443));
    }

    #[test]
    fn hosts_are_written_as_the_url_standard_serializes_them() {
        let form = |host| serialized_host(host).err().flatten();
        for host in ["127.0.0.1", "[::1]", "[::ffff:7f00:1]", "[2001:db8::1:0:0:1]", "example.com", "a1.b2"] {
            assert_eq!(serialized_host(host), Ok(()), "{host}");
        }
        assert_eq!(form("127.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(form("0x7f.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(form("0177.0.0.01").as_deref(), Some("127.0.0.1"));
        assert_eq!(form("2130706433").as_deref(), Some("127.0.0.1"));
        assert_eq!(form("[0:0:0:0:0:0:0:1]").as_deref(), Some("[::1]"));
        assert_eq!(form("[::ffff:127.0.0.1]").as_deref(), Some("[::ffff:7f00:1]"));
        assert_eq!(form("[2001:0db8:0:0:1:0:0:1]").as_deref(), Some("[2001:db8::1:0:0:1]"));
        assert_eq!(form("[1:0:0:2:0:0:0:3]").as_deref(), Some("[1:0:0:2::3]"));
        for host in ["1.2.3.4.5", "256.0.0.1", "1.2.3.09", "[::1::]", "[1:2]"] {
            assert_eq!(serialized_host(host), Err(None), "{host}");
        }
    }

    #[test]
    fn overlong_hosts_are_refused() {
        let long = alloc::format!("https://{}.com", "a.".repeat(200));
        assert!(Origin::parse_request(long.as_bytes()).is_none());
    }
}
