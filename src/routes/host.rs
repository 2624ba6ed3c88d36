//! The request's host (`Host` / `:authority`) as servers read it: letters without case, one
//! trailing dot dropped, the port as a number, a scheme's default port the same as none. Anything
//! else a name may not hold (userinfo, percent-escapes, brackets around a name) is malformed, since
//! servers disagree on it.

/// A request authority read the way routes compare it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Authority<'a> {
    /// The name, or a bracketed IPv6 literal, without its trailing dot; letters in any case.
    pub name: &'a [u8],
    /// The port, unless none was given or it is the scheme's default.
    pub port: Option<u16>,
}

/// An authority servers read differently, or not at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The default port of `scheme`, if it has one.
pub(crate) fn default_port(scheme: &[u8]) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_slice() {
        b"http" | b"ws" => Some(80),
        b"https" | b"wss" => Some(443),
        _ => None,
    }
}

impl<'a> Authority<'a> {
    /// Reads `authority` (`name[:port]` or `[v6][:port]`) for a request of `scheme`. An empty
    /// authority (HTTP/1.0 without `Host`) has an empty name, which no route names.
    pub fn read(authority: &'a [u8], scheme: Option<&[u8]>) -> Result<Self, Malformed> {
        let (name, port) = match authority.strip_prefix(b"[") {
            Some(literal) => {
                let close = literal.iter().position(|&b| b == b']').ok_or(Malformed)?;
                let inside = literal.get(..close).ok_or(Malformed)?;
                if inside.is_empty() || !inside.iter().all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.')) {
                    return Err(Malformed);
                }
                let after = literal.get(close + 1..).unwrap_or_default();
                let port = if after.is_empty() { None } else { Some(after.strip_prefix(b":").ok_or(Malformed)?) };
                (authority.get(..close + 2).ok_or(Malformed)?, port)
            }
            None => match authority.iter().rposition(|&b| b == b':') {
                Some(colon) => (authority.get(..colon).unwrap_or_default(), authority.get(colon + 1..)),
                None => (authority, None),
            },
        };
        let name = name.strip_suffix(b".").unwrap_or(name);
        if !name.starts_with(b"[") && !is_name(name) && !authority.is_empty() {
            return Err(Malformed);
        }
        let default_port = scheme.and_then(default_port);
        let port = match port {
            // RFC 3986 section 3.2.3: an empty port is the default one.
            None | Some(b"") => None,
            Some(digits) => Some(parse_port(digits).ok_or(Malformed)?).filter(|&p| Some(p) != default_port),
        };
        Ok(Authority { name, port })
    }

    /// Whether a route for `name` (lowercase, without a trailing dot) and `port` (any when `None`;
    /// never a default port, which the policy refuses: behind TLS termination the edge's idea of
    /// the scheme, and so of the default port, can be wrong) applies to this authority.
    pub fn matches(&self, name: &str, port: Option<u16>) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes()) && port.is_none_or(|want| self.port == Some(want))
    }
}

/// A port as a number: digits only (leading zeros allowed, as servers parse them), 0-65535.
pub(crate) fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u16, |port, &d| port.checked_mul(10)?.checked_add(u16::from(d - b'0')))
}

/// Non-empty labels of letters (either case), digits, `-` and `_`, separated by dots.
fn is_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split(|&b| b == b'.').all(|label| {
            !label.is_empty() && label.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<'a>(authority: &'a str, scheme: Option<&str>) -> Result<Authority<'a>, Malformed> {
        Authority::read(authority.as_bytes(), scheme.map(str::as_bytes))
    }

    #[test]
    fn spellings_of_one_host_read_alike() {
        let http = Some("http");
        for spelling in [
            "admin.example.com",
            "ADMIN.example.com",
            "admin.example.com.",
            "admin.example.com:80",
            "admin.example.com.:80",
            "admin.example.com:",
        ] {
            let host = read(spelling, http).unwrap();
            assert!(host.matches("admin.example.com", None), "{spelling}");
            assert!(!host.matches("admin.example.com", Some(8443)), "{spelling}");
        }
        for spelling in ["admin.example.com:8443", "admin.example.com:08443", "Admin.Example.Com.:8443"] {
            assert!(read(spelling, http).unwrap().matches("admin.example.com", Some(8443)));
        }
        let v6 = read("[::1]:8080", None).unwrap();
        assert_eq!((v6.name, v6.port), (&b"[::1]"[..], Some(8080)));
    }

    #[test]
    fn a_default_port_is_dropped_only_for_its_scheme() {
        assert_eq!(read("api.example.com:443", Some("HTTPS")).unwrap().port, None);
        // Behind TLS termination the edge sees http: the port stays, and a route without one matches.
        let terminated = read("api.example.com:443", Some("http")).unwrap();
        assert_eq!(terminated.port, Some(443));
        assert!(terminated.matches("api.example.com", None));
        assert!(!read("api.example.com", None).unwrap().matches("api.example.com", Some(8443)));
    }

    #[test]
    fn what_servers_disagree_on_is_malformed() {
        for bad in [
            "user@admin.example.com",
            "admin%2eexample.com",
            "[admin.example.com]",
            "admin.example.com..",
            ".admin.example.com",
            "admin example.com",
            "admin.example.com:99999",
            "admin.example.com:8o",
            "admin.example.com:+80",
            "[::1",
            "[::1]x",
            ":80",
            "adm\u{ed}n.example.com",
        ] {
            assert_eq!(read(bad, Some("https")), Err(Malformed), "{bad}");
        }
        assert_eq!(read("", None).unwrap().name, b"");
    }
}
