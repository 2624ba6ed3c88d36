//! The request path as upstreams read it. Routes are chosen on the canonical reading (RFC 3986:
//! unreserved characters decoded, dot segments resolved, repeated slashes merged, the query
//! ignored); the other readings common servers apply are listed too, so that a path which
//! servers would route differently can be refused instead of judged by the wrong route.

use alloc::vec::Vec;
use core::fmt::Write as _;

/// A reading of a path beyond the canonical one, as a set of what the upstream does besides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reading(u8);

impl Reading {
    /// RFC 3986's reading and nothing else.
    pub const CANONICAL: Reading = Reading(0);
    /// `%2F` and `%5C` taken as separators (servers that decode before routing).
    const DECODED_SLASHES: u8 = 1;
    /// `\` taken as `/` (Windows servers, WHATWG URL parsers).
    const BACKSLASHES: u8 = 2;
    /// `;params` (or `%3Bparams`, for servers that decode first) cut from every segment (Tomcat,
    /// Jetty, Spring: the `/..;/` trick).
    const NO_PARAMS: u8 = 4;
    /// `%25XX` decoded twice (servers that decode once more behind a proxy).
    const DOUBLE_DECODED: u8 = 8;
    /// Letters compared without case (Express's default router, IIS): always a reading, since a
    /// prefix may hold capitals as well as the path.
    pub const FOLDED_CASE: u8 = 16;
    const ALL: u8 = 31;

    /// Whether this reading compares letters without case.
    pub fn folds_case(self) -> bool {
        self.0 & Self::FOLDED_CASE != 0
    }

    /// The same reading with case kept: what [`canonical`] makes of it (case is folded when
    /// comparing).
    pub fn without_case(self) -> Reading {
        Reading(self.0 & !Self::FOLDED_CASE)
    }

    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// A path no reading can be trusted on: an invalid or NUL percent-escape, a NUL or `#` byte, or
/// no leading `/`. Servers reject, truncate or guess at these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The path without its query.
pub(crate) fn without_query(path: &[u8]) -> &[u8] {
    path.iter().position(|&b| b == b'?').and_then(|q| path.get(..q)).unwrap_or(path)
}

/// Every reading of `path` (its query ignored) that can differ from the canonical one: each
/// combination of the alternatives the path gives a hold to, the canonical reading first.
pub(crate) fn readings(path: &[u8]) -> Result<impl Iterator<Item = Reading>, Malformed> {
    let path = without_query(path);
    if path.first() != Some(&b'/') {
        return Err(Malformed);
    }
    let mut present = Reading::FOLDED_CASE;
    let mut bytes = path.iter().enumerate();
    while let Some((at, &b)) = bytes.next() {
        match b {
            0 | b'#' => return Err(Malformed),
            b'\\' => present |= Reading::BACKSLASHES,
            b';' => present |= Reading::NO_PARAMS,
            b'%' => {
                let byte = escaped(path, at).ok_or(Malformed)?;
                bytes.nth(1);
                match byte {
                    0 => return Err(Malformed),
                    b'/' | b'\\' => present |= Reading::DECODED_SLASHES,
                    b';' => present |= Reading::NO_PARAMS,
                    // A second decoding can make anything.
                    b'%' => present = Reading::ALL,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Every subset of `present`, each once: 0, then the next subset in counting order.
    Ok((0..=present).filter(move |flags| flags & !present == 0).map(Reading))
}

/// Whether the path (its query ignored) is its own canonical reading, so that none needs making:
/// segments non-empty (but the last), none `.` or `..`, bytes plain or escaped with uppercase hex
/// where the escape means something else than the byte.
pub(crate) fn is_canonical(path: &[u8]) -> bool {
    let Some(rest) = without_query(path).strip_prefix(b"/") else { return false };
    let mut segments = rest.split(|&b| b == b'/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if (segment.is_empty() && !last) || segment == b"." || segment == b".." {
            return false;
        }
        let mut bytes = segment.iter().enumerate();
        while let Some((at, &b)) = bytes.next() {
            let plain = match b {
                b'%' => {
                    let upper = |i: usize| segment.get(at + i).is_some_and(|d| matches!(d, b'0'..=b'9' | b'A'..=b'F'));
                    bytes.nth(1);
                    upper(1) && upper(2) && escaped(segment, at).is_some_and(|e| e != 0 && !is_unreserved(e))
                }
                b => is_plain(b),
            };
            if !plain {
                return false;
            }
        }
    }
    true
}

/// The byte a `%XX` at `at` stands for, or `None` when it is not two hex digits.
fn escaped(path: &[u8], at: usize) -> Option<u8> {
    let digit = |i: usize| path.get(at + i).and_then(|&b| char::from(b).to_digit(16));
    Some(u8::try_from(digit(1)? * 16 + digit(2)?).unwrap_or_default())
}

/// RFC 3986 section 2.3: the characters whose escapes mean the same as themselves.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The canonical form of a request path (its query ignored) that routes are compared with, or
/// `None` for a path no reading can be trusted on (an invalid or NUL escape, a NUL or `#` byte, no
/// leading `/`).
pub fn canonical_path(path: &[u8]) -> Option<Vec<u8>> {
    // `readings` refuses what no reading can be trusted on; `canonical` only what it cannot read.
    readings(path).is_ok().then(|| canonical(path, Reading::CANONICAL).ok()).flatten()
}

/// What a path segment may hold unescaped in canonical form: `pchar` less `%` (RFC 3986 section 3.3).
fn is_plain(b: u8) -> bool {
    is_unreserved(b)
        || matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@')
}

/// The path (its query ignored) as `reading` reads it: segments separated by `/` (and whatever
/// else the reading takes as one), unreserved escapes decoded, other bytes escaped with uppercase
/// hex, empty, `.` and `..` segments resolved, a trailing `/` kept. The result always starts with
/// `/` and is its own canonical form.
pub(crate) fn canonical(path: &[u8], reading: Reading) -> Result<Vec<u8>, Malformed> {
    let path = without_query(path);
    let once_decoded;
    let path = if reading.has(Reading::DOUBLE_DECODED) {
        once_decoded = decode_percent_signs(path);
        &once_decoded[..]
    } else {
        path
    };
    let mut out = Vec::with_capacity(path.len());
    // Where each segment of `out` starts (its `/`), so that `..` can drop the last one.
    let mut starts: Vec<usize> = Vec::new();
    let mut segment = Vec::new();
    let mut in_params = false;
    let mut trailing_slash = false;
    let mut bytes = path.iter().enumerate().skip(1);
    loop {
        let next = bytes.next();
        let (byte, separator) = match next {
            None => (0, true),
            Some((_, b'/')) => (b'/', true),
            Some((_, b'\\')) if reading.has(Reading::BACKSLASHES) => (b'/', true),
            Some((at, b'%')) => {
                let byte = escaped(path, at).ok_or(Malformed)?;
                bytes.nth(1);
                if byte == b';' && reading.has(Reading::NO_PARAMS) {
                    in_params = true;
                }
                let slash = matches!(byte, b'/' | b'\\') && reading.has(Reading::DECODED_SLASHES);
                (byte, slash)
            }
            Some((_, &b)) => (b, false),
        };
        if separator {
            in_params = false;
            // `/a/`, `/a/.` and `/a/b/..` end in a slash; `/a//b` does not.
            trailing_slash =
                next.is_some() || matches!(&segment[..], b"." | b"..") || (segment.is_empty() && trailing_slash);
            match &segment[..] {
                b"" | b"." => {}
                b".." => {
                    if let Some(start) = starts.pop() {
                        out.truncate(start);
                    }
                }
                name => {
                    starts.push(out.len());
                    out.push(b'/');
                    out.extend_from_slice(name);
                }
            }
            segment.clear();
            if next.is_none() {
                break;
            }
            continue;
        }
        match byte {
            0 => return Err(Malformed),
            b';' if reading.has(Reading::NO_PARAMS) && !matches!(next, Some((_, b'%'))) => in_params = true,
            _ if in_params => {}
            b if is_plain(b) && (is_unreserved(b) || !matches!(next, Some((_, b'%')))) => segment.push(b),
            b => {
                // Cannot fail: writing to a Vec.
                let _ = write!(Hex(&mut segment), "%{b:02X}");
            }
        }
    }
    if trailing_slash || out.is_empty() {
        out.push(b'/');
    }
    Ok(out)
}

/// `%25` replaced by `%`: the path once decoded, as a second decoder would then read it.
fn decode_percent_signs(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut rest = path;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' && tail.get(..2).is_some_and(|hex| hex == b"25") {
            rest = tail.get(2..).unwrap_or_default();
        } else {
            rest = tail;
        }
        out.push(b);
    }
    out
}

/// Lets `write!` append to a byte buffer.
struct Hex<'v>(&'v mut Vec<u8>);

impl core::fmt::Write for Hex<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn read(path: &str, reading: u8) -> String {
        String::from_utf8(canonical(path.as_bytes(), Reading(reading)).unwrap()).unwrap()
    }

    #[test]
    fn the_canonical_reading_is_rfc_3986s() {
        for (path, want) in [
            ("/", "/"),
            ("/admin/secret?x=/../", "/admin/secret"),
            ("//admin//secret", "/admin/secret"),
            ("/%61dmin/secret", "/admin/secret"),
            ("/x/%2e%2e/admin/secret", "/admin/secret"),
            ("/x/.%2E/admin/./secret/", "/admin/secret/"),
            ("/a/b/..", "/a/"),
            ("/a/.", "/a/"),
            ("/..", "/"),
            ("/../../a", "/a"),
            ("/admin%2fsecret", "/admin%2Fsecret"),
            ("/x/..%2Fadmin", "/x/..%2Fadmin"),
            ("/caf\u{e9}", "/caf%C3%A9"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/a b", "/a%20b"),
            ("/a\\b", "/a%5Cb"),
            ("/a;b=1/c", "/a;b=1/c"),
            ("/%3B/%2A", "/%3B/%2A"),
        ] {
            assert_eq!(read(path, 0), want, "{path}");
        }
    }

    #[test]
    fn other_readings_are_what_servers_do() {
        let slashes = Reading::DECODED_SLASHES;
        assert_eq!(read("/x/..%2Fadmin/secret", slashes), "/admin/secret");
        assert_eq!(read("/admin%5csecret", slashes), "/admin/secret");
        assert_eq!(read("/x\\..\\admin", Reading::BACKSLASHES), "/admin");
        assert_eq!(read("/x/..;/admin/secret", Reading::NO_PARAMS), "/admin/secret");
        assert_eq!(read("/admin;jsessionid=1/secret", Reading::NO_PARAMS), "/admin/secret");
        assert_eq!(read("/admin%3bx/secret", Reading::NO_PARAMS), "/admin/secret");
        assert_eq!(read("/x/..%252Fadmin", Reading::DOUBLE_DECODED | slashes), "/admin");
        assert_eq!(read("/x/%252e%252e/admin", Reading::DOUBLE_DECODED), "/admin");
    }

    #[test]
    fn readings_are_the_subsets_of_what_the_path_holds() {
        let all = |path: &str| readings(path.as_bytes()).map(|r| r.map(|r| r.0).collect::<Vec<_>>());
        let fold = Reading::FOLDED_CASE;
        assert_eq!(all("/api/items"), Ok(alloc::vec![0, fold]));
        assert_eq!(all("/api/items?q=%zz\\;"), Ok(alloc::vec![0, fold]));
        assert_eq!(all("/a;b\\c"), Ok(alloc::vec![0, 2, 4, 6, fold, fold | 2, fold | 4, fold | 6]));
        assert_eq!(all("/a%3Bb"), Ok(alloc::vec![0, 4, fold, fold | 4]));
        assert_eq!(all("/a%25").map(|r| r.len()), Ok(32));
        for bad in ["", "*", "api", "/a%zz", "/a%2", "/a%00", "/a\0", "/a#b"] {
            assert_eq!(all(bad), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn canonical_form_is_a_fixed_point_and_recognized() {
        for path in ["/x/%2e%2e/admin/", "/caf\u{e9}/a b", "/a%2fb;c", "//a/./b/../c/", "/", "/a/b/", "/%7e"] {
            let once = read(path, 0);
            assert_eq!(read(&once, 0), once, "{path}");
            assert!(is_canonical(once.as_bytes()), "{once}");
            assert_eq!(is_canonical(path.as_bytes()), once == path, "{path}");
        }
        for path in ["/a?x//../", "/api/items", "/a%2Fb", "/a;b"] {
            assert!(is_canonical(path.as_bytes()), "{path}");
        }
        for path in ["", "a", "//", "/a/./b", "/a/..", "/%41", "/%2f", "/a\\b", "/a b", "/%00", "/%zz"] {
            assert!(!is_canonical(path.as_bytes()), "{path}");
        }
    }
}
