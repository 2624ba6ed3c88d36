//! The borrowed view of a request that an adapter hands to the engine.

/// What the engine reads of a request: nothing else, so adapters read nothing else.
///
/// Values are raw bytes as the host gave them; hostile bytes are judged by the engine, never
/// decoded by the adapter. An absent header is `None`; an empty one is `Some(b"")`.
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
