//! The borrowed view of a request that an adapter hands to the engine.

use crate::answer::header_lines::join_line;
use alloc::borrow::Cow;

/// What the engine reads of a request: nothing else, so adapters read nothing else ([Fetch: the
/// HTTP requests of the CORS protocol]).
///
/// Values are raw bytes as the host gave them; hostile bytes are judged by the engine, never
/// decoded by the adapter. An absent header is `None`; an empty one is `Some(b"")`.
///
/// [Fetch: the HTTP requests of the CORS protocol]: https://fetch.spec.whatwg.org/#http-requests
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, e.g. `OPTIONS`.
    pub method: &'a [u8],
    /// The scheme (`https`, `:scheme`), if the host knows it: a route's port is then compared
    /// with the scheme's default port when the request names none.
    pub scheme: Option<&'a [u8]>,
    /// The `Host` / `:authority` exactly as forwarded, used only to choose a route.
    pub host: &'a [u8],
    /// The path with its query exactly as forwarded, used only to choose a route.
    pub path: &'a [u8],
    /// `Origin`.
    pub origin: Option<&'a [u8]>,
    /// `Access-Control-Request-Method`.
    pub request_method: Option<&'a [u8]>,
    /// `Access-Control-Request-Headers`.
    pub request_headers: Option<&'a [u8]>,
    /// `Access-Control-Request-Private-Network`.
    pub request_private_network: Option<&'a [u8]>,
}

impl Request<'_> {
    /// The request headers the engine reads, by lowercase name: all an adapter needs to fetch.
    pub const HEADERS: [&'static str; 4] = [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
        "access-control-request-private-network",
    ];

    /// Fetch's preflight: `OPTIONS` with both `Origin` and `Access-Control-Request-Method`.
    #[must_use]
    pub fn is_preflight(&self) -> bool {
        self.method == b"OPTIONS" && self.origin.is_some() && self.request_method.is_some()
    }
}

/// The request headers the engine reads ([Fetch: HTTP requests]), found in one pass over the lines
/// of a host that hands over the whole header list at once (HTTP/2 style, pseudo-headers included:
/// `:method`, `:scheme`, `:authority`, `:path`). Values are borrowed; repeated lines of a header
/// the engine reads are joined ([`join_line`]: the engine then judges the whole, never a choice of
/// one line).
///
/// [Fetch: HTTP requests]: https://fetch.spec.whatwg.org/#http-requests
#[derive(Debug, Default)]
pub struct RequestLines<'a> {
    method: &'a [u8],
    scheme: Option<&'a [u8]>,
    authority: &'a [u8],
    path: &'a [u8],
    origin: Option<Cow<'a, [u8]>>,
    request_method: Option<Cow<'a, [u8]>>,
    request_headers: Option<Cow<'a, [u8]>>,
    request_private_network: Option<Cow<'a, [u8]>>,
}

impl<'a> RequestLines<'a> {
    /// Reads `(lowercase name, value)` lines.
    pub fn find(lines: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        let [origin, request_method, request_headers, request_private_network] = Request::HEADERS.map(str::as_bytes);
        let mut found = RequestLines::default();
        for (name, value) in lines {
            match name {
                b":method" => found.method = value,
                b":scheme" => found.scheme = Some(value),
                b":authority" => found.authority = value,
                b":path" => found.path = value,
                name if name == origin => join_line(&mut found.origin, value),
                name if name == request_method => join_line(&mut found.request_method, value),
                name if name == request_headers => join_line(&mut found.request_headers, value),
                name if name == request_private_network => join_line(&mut found.request_private_network, value),
                _ => {}
            }
        }
        found
    }

    /// The request, as the engine reads it.
    #[must_use]
    pub fn request(&self) -> Request<'_> {
        Request {
            method: self.method,
            scheme: self.scheme,
            host: self.authority,
            path: self.path,
            origin: self.origin.as_deref(),
            request_method: self.request_method.as_deref(),
            request_headers: self.request_headers.as_deref(),
            request_private_network: self.request_private_network.as_deref(),
        }
    }
}

/// The scheme, authority and path with query of a request URI in absolute form
/// (`scheme://authority/path?query`, as Workers and Fastly hand a request over): at the first
/// `://`, then at the first `/` after it (none: the path is `/`). A `?` or `#` before that `/`
/// stays in the authority, which makes the host malformed: refused as unclear, never read as
/// another host. A URI without `://` is all path, which no route reads as anything but unclear.
#[must_use]
pub fn split_absolute_uri(uri: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let Some(colon) = uri.windows(3).position(|w| w == b"://") else { return (b"", b"", uri) };
    let (scheme, rest) = (uri.get(..colon).unwrap_or_default(), uri.get(colon + 3..).unwrap_or_default());
    match rest.iter().position(|&b| b == b'/') {
        Some(slash) => {
            let (authority, path) = rest.split_at(slash);
            (scheme, authority, path)
        }
        None => (scheme, rest, b"/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_uri_splits_where_servers_split_it() {
        let split = |uri: &'static str| split_absolute_uri(uri.as_bytes());
        assert_eq!(split("https://api.test/a/b?c=d"), (&b"https"[..], &b"api.test"[..], &b"/a/b?c=d"[..]));
        assert_eq!(split("http://admin.test:8080/"), (&b"http"[..], &b"admin.test:8080"[..], &b"/"[..]));
        assert_eq!(split("http://[::1]:8787"), (&b"http"[..], &b"[::1]:8787"[..], &b"/"[..]));
        assert_eq!(split("http://a.test?x=//b/"), (&b"http"[..], &b"a.test?x="[..], &b"//b/"[..]));
        assert_eq!(split("/no/scheme"), (&b""[..], &b""[..], &b"/no/scheme"[..]));
    }

    #[test]
    fn one_pass_finds_what_the_engine_reads_and_joins_repeated_lines() {
        let lines: [(&[u8], &[u8]); 8] = [
            (b":method", b"OPTIONS"),
            (b":scheme", b"https"),
            (b":authority", b"api.test"),
            (b":path", b"/x?y"),
            (b"origin", b"https://a.test"),
            (b"x-other", b"1"),
            (b"origin", b"https://b.test"),
            (b"access-control-request-method", b"PUT"),
        ];
        let found = RequestLines::find(lines);
        let request = found.request();
        assert_eq!(
            (request.method, request.scheme, request.host, request.path),
            (&b"OPTIONS"[..], Some(&b"https"[..]), &b"api.test"[..], &b"/x?y"[..])
        );
        assert_eq!(request.origin, Some(&b"https://a.test, https://b.test"[..]));
        assert_eq!(request.request_method, Some(&b"PUT"[..]));
        assert_eq!((request.request_headers, request.request_private_network), (None, None));
        assert_eq!(RequestLines::find([]).request(), Request::default());
    }
}
