//! Header names: the policy's `request_headers` and `expose_headers`, and the check of
//! `Access-Control-Request-Headers`.

use crate::deciders::name_set::NameSet;
use crate::policy_file::problem::{Code, Problems};
use alloc::{boxed::Box, format, string::String, vec::Vec};

/// An RFC 9110 token: what method and header names are made of.
pub(crate) fn is_token(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|&b| TCHAR.get(usize::from(b)).copied().unwrap_or(false))
}

/// RFC 9110's `tchar`, by byte: one load per byte on the preflight path (faster than the
/// range tests a `match` compiles to).
#[allow(clippy::indexing_slicing)] // Evaluated at compile time: a bad index fails the build, not a request.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric()
            || matches!(b as u8, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    table
};

/// Which list a header name is in: what a preflight may ask for, or what scripts may read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Request,
    Exposed,
}

/// Fetch's forbidden request-header names, besides the `proxy-` and `sec-` prefixes.
const FORBIDDEN_REQUEST: [&str; 21] = [
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// Whether scripts cannot set a request header (Fetch's forbidden request-headers): the browser
/// sets or refuses it itself, so no preflight asks for it.
pub fn is_forbidden_request_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    FORBIDDEN_REQUEST.contains(&name.as_str()) || name.starts_with("proxy-") || name.starts_with("sec-")
}

/// A compiled list of header names (case-insensitive), or `*`.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeaderNames {
    any: bool,
    /// Lowercase, in the order listed (the order `joined` writes them in).
    listed: NameSet,
}

impl HeaderNames {
    /// Compiles a list of header names at `path`, recording every problem.
    pub fn compile(entries: &[String], path: &str, direction: Direction, problems: &mut Problems) -> Self {
        let mut names = Self::default();
        for (index, entry) in entries.iter().enumerate() {
            let at = format!("{path}[{index}]");
            if entry == "*" {
                names.any = true;
                continue;
            }
            if !is_token(entry.as_bytes()) {
                problems.error(
                    &at,
                    Code::InvalidName,
                    format!("\"{entry}\" is not a valid header name (an HTTP token)"),
                );
                continue;
            }
            let name: Box<str> = entry.to_ascii_lowercase().into();
            if !names.listed.insert(name.clone()) {
                problems.warning(
                    &at,
                    Code::ListedTwice,
                    format!("\"{entry}\" is listed twice (header names ignore case)"),
                );
                continue;
            }
            match direction {
                Direction::Request if is_forbidden_request_header(&name) => {
                    problems.warning(
                        &at,
                        Code::ForbiddenRequestHeader,
                        format!("scripts cannot set \"{entry}\" (the browser does), so no preflight asks for it"),
                    );
                }
                Direction::Request
                    if name.starts_with("access-control-allow-")
                        || matches!(&*name, "access-control-expose-headers" | "access-control-max-age") =>
                {
                    problems.warning(&at, Code::ResponseHeader, format!("\"{entry}\" is a response header: the server sends it and pages never do, so listing it only hides a misunderstanding"));
                }
                Direction::Exposed if matches!(&*name, "set-cookie" | "set-cookie2") => {
                    problems.warning(
                        &at,
                        Code::ForbiddenResponseHeader,
                        format!("browsers never let scripts read \"{entry}\", whatever the server exposes"),
                    );
                }
                _ => {}
            }
        }
        HeaderNames { listed: names.listed.finish(), ..names }
    }

    /// Whether `*` was given.
    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// Whether a preflight may ask for `name`. `*` never covers `Authorization`: Fetch requires
    /// it to be listed by name.
    pub fn allows(&self, name: &str) -> bool {
        // Browsers send names lowercase: only another spelling pays for lowering.
        let listed = self.listed.contains(name.as_bytes())
            || (name.bytes().any(|b| b.is_ascii_uppercase())
                && self.listed.contains(name.to_ascii_lowercase().as_bytes()));
        listed || (self.any && !name.eq_ignore_ascii_case("authorization"))
    }

    /// The names as one header value (`*` when any), or `None` when the list is empty.
    pub fn joined(&self) -> Option<Box<str>> {
        let mut parts: Vec<&str> = self.listed.iter().collect();
        if self.any {
            parts.insert(0, "*");
        }
        (!parts.is_empty()).then(|| parts.join(", ").into())
    }
}

/// Trims HTTP's optional whitespace (SP and HTAB, nothing else: never CR or LF).
pub(crate) fn trim_ows(text: &str) -> &str {
    let ows = |b: &u8| matches!(b, b' ' | b'\t');
    let start = text.bytes().position(|b| !ows(&b)).unwrap_or(text.len());
    let end = text.bytes().rposition(|b| !ows(&b)).map_or(start, |last| last + 1);
    text.get(start..end).unwrap_or_default()
}

/// One name of an `Access-Control-Request-Headers` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Requested<'a> {
    /// The name, trimmed.
    pub name: &'a str,
    /// Whether it was spelled without whitespace, as Fetch serializes the list (`a,b`).
    pub tidy: bool,
}

/// RFC 9110 section 5.6.1: a recipient ignores a reasonable number of empty list elements
/// (`a,,b`); more than this many is not a list a browser sends.
const MAX_EMPTY_ELEMENTS: usize = 16;

/// The names in an `Access-Control-Request-Headers` value, empty elements skipped; an element
/// that is not a token (forbidden bytes), or one empty element too many, yields `Err`, which
/// denies the preflight.
pub(crate) fn requested(value: &str) -> impl Iterator<Item = Result<Requested<'_>, ()>> {
    let mut empty = 0;
    value.split(',').filter_map(move |element| {
        let name = trim_ows(element);
        if name.is_empty() {
            empty += 1;
            return (empty > MAX_EMPTY_ELEMENTS).then_some(Err(()));
        }
        let tidy = element.len() == name.len();
        Some(if is_token(name.as_bytes()) { Ok(Requested { name, tidy }) } else { Err(()) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn compile(entries: &[&str]) -> HeaderNames {
        let mut problems = Problems::default();
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        let names = HeaderNames::compile(&entries, "request_headers", Direction::Request, &mut problems);
        assert!(!problems.has_errors(), "{problems}");
        names
    }

    #[test]
    fn names_compare_case_insensitively_and_star_never_covers_authorization() {
        let listed = compile(&["Content-Type", "X-Api-Key"]);
        assert!(listed.allows("content-type") && listed.allows("X-API-KEY") && !listed.allows("x-other"));
        let any = compile(&["*"]);
        assert!(any.allows("x-anything") && !any.allows("Authorization"));
        assert!(compile(&["*", "Authorization"]).allows("authorization"));
    }

    #[test]
    fn request_header_lists_are_trimmed_and_malformed_elements_refused() {
        fn names(value: &str) -> Vec<Result<&str, ()>> {
            requested(value).map(|r| r.map(|r| r.name)).collect()
        }
        assert_eq!(names(" content-type ,x-foo\t"), [Ok("content-type"), Ok("x-foo")]);
        let tidy = |value| requested(value).all(|r| r.is_ok_and(|r| r.tidy));
        assert!(tidy("a,b") && tidy("a"));
        assert!(!tidy(" a") && !tidy("a, b") && !tidy("a ,b") && !tidy("a,\tb") && !tidy("a,b "));
        assert_eq!(requested("").count(), 0);
        assert_eq!(requested("  ").count(), 0);
        assert_eq!(names(",,a, ,b,,"), [Ok("a"), Ok("b")]);
        let (most, too_many) = (",".repeat(MAX_EMPTY_ELEMENTS - 1), format!("a{}", ",".repeat(MAX_EMPTY_ELEMENTS + 1)));
        assert_eq!(names(&most), []);
        assert_eq!(names(&too_many), [Ok("a"), Err(())]);
        assert!(requested("a b").any(|n| n.is_err()));
        assert!(requested("x-é").any(|n| n.is_err()));
        assert!(requested("x\r\ny").any(|n| n.is_err()));
        assert!(requested("a\r\n,b").any(|n| n.is_err()));
        assert_eq!(trim_ows("\t a b \t"), "a b");
        assert_eq!(trim_ows(" \r\n"), "\r\n");
    }

    #[test]
    fn tokens_are_exactly_rfc_9110_tchars() {
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        for b in 0..=255u8 {
            assert_eq!(is_token(&[b]), tchar(b), "byte {b:#04x}");
        }
        assert!(!is_token(b""));
    }

    #[test]
    fn joined_lists_make_one_header_value() {
        assert_eq!(compile(&["X-Request-Id", "X-Trace"]).joined().as_deref(), Some("x-request-id, x-trace"));
        assert_eq!(compile(&[]).joined(), None);
    }
}
