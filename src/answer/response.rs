//! What the engine writes: header lists, the headers it owns, and `Vary` merging.

use alloc::{string::String, vec::Vec};

// Header names are lowercase, as every host (HTTP/2, Envoy, workerd, the `http` crate) keeps them.
pub(crate) const ALLOW_ORIGIN: &str = "access-control-allow-origin";
pub(crate) const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
pub(crate) const ALLOW_METHODS: &str = "access-control-allow-methods";
pub(crate) const ALLOW_HEADERS: &str = "access-control-allow-headers";
pub(crate) const ALLOW_PRIVATE_NETWORK: &str = "access-control-allow-private-network";
pub(crate) const EXPOSE_HEADERS: &str = "access-control-expose-headers";
pub(crate) const MAX_AGE: &str = "access-control-max-age";
pub(crate) const VARY: &str = "vary";
/// Carries the denial reason when the policy sets `debug: true`.
pub const DEBUG_HEADER: &str = "corsguard-reason";

/// Response headers the engine owns ([Fetch: HTTP responses]): an upstream's copies are removed, so
/// a response never carries two answers (the browser rejects a doubled
/// `Access-Control-Allow-Origin`).
///
/// [Fetch: HTTP responses]: https://fetch.spec.whatwg.org/#http-responses
pub const OWNED_HEADERS: [&str; 8] = [
    ALLOW_ORIGIN,
    ALLOW_CREDENTIALS,
    ALLOW_METHODS,
    ALLOW_HEADERS,
    ALLOW_PRIVATE_NETWORK,
    EXPOSE_HEADERS,
    MAX_AGE,
    DEBUG_HEADER,
];

/// The most borrowed headers one decision sets (an allowed preflight's).
const CAPACITY: usize = 7;

/// A short list of response headers ([Fetch: HTTP responses]), held inline: values are borrowed
/// from the policy and the request, but for the rare few the engine formats (the debug reason, a
/// re-joined header list). Two lists are equal when they hold the same headers in the same order,
/// however they hold them.
///
/// [Fetch: HTTP responses]: https://fetch.spec.whatwg.org/#http-responses
#[derive(Clone, Debug, Default)]
pub struct HeaderList<'a> {
    entries: [(&'static str, &'a str); CAPACITY],
    len: usize,
    formatted: Vec<(&'static str, String)>,
}

impl<'a> HeaderList<'a> {
    pub(crate) fn push(&mut self, name: &'static str, value: &'a str) {
        if let Some(slot) = self.entries.get_mut(self.len) {
            *slot = (name, value);
            self.len += 1;
        }
    }

    /// Adds a value the engine made (allocated only when there is one).
    pub(crate) fn push_formatted(&mut self, name: &'static str, value: String) {
        self.formatted.push((name, value));
    }

    /// The headers in the order they were decided (the formatted ones last), with lowercase names.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let entries = self.entries.get(..self.len).unwrap_or_default().iter().copied();
        entries.chain(self.formatted.iter().map(|(name, value)| (*name, value.as_str())))
    }

    /// The value of a header, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, value)| value)
    }

    /// The same list, its values copied out of the policy and the request.
    pub fn into_owned(self) -> HeaderList<'static> {
        let borrowed = self.entries.get(..self.len).unwrap_or_default().iter().map(|(n, v)| (*n, String::from(*v)));
        let formatted = borrowed.chain(self.formatted).collect();
        HeaderList { entries: [("", ""); CAPACITY], len: 0, formatted }
    }
}

impl PartialEq for HeaderList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for HeaderList<'_> {}

/// A host's mutable response headers, as an adapter exposes them to [`ResponseEdits::apply`]
/// ([Fetch: HTTP responses]).
///
/// [Fetch: HTTP responses]: https://fetch.spec.whatwg.org/#http-responses
pub trait ResponseHeaders {
    /// Every value of the header, joined with `", "`, or `None` when absent.
    fn get_all(&self, name: &str) -> Option<String>;
    /// Replaces every value of the header with this one.
    fn set(&mut self, name: &str, value: &str);
    /// Removes every value of the header.
    fn remove(&mut self, name: &str);
}

/// What to do to the upstream response of a forwarded request: the headers of the [CORS protocol]
/// and `Vary: Origin` ([Fetch: CORS protocol and HTTP caches]).
///
/// [CORS protocol]: https://fetch.spec.whatwg.org/#http-responses
/// [Fetch: CORS protocol and HTTP caches]: https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseEdits<'a> {
    /// Headers to set, replacing the upstream's.
    pub headers: HeaderList<'a>,
    /// Whether to merge `Origin` into `Vary` (the answer depends on the request's origin).
    pub vary_origin: bool,
}

impl ResponseEdits<'_> {
    /// The same edits, owning their values: what an adapter holds while the upstream answers
    /// (the request's headers, which a decision borrows, need not be kept).
    pub fn into_owned(self) -> ResponseEdits<'static> {
        ResponseEdits { headers: self.headers.into_owned(), vary_origin: self.vary_origin }
    }

    /// Applies the edits: the upstream's CORS headers go, ours are set, `Vary` is merged.
    pub fn apply(&self, response: &mut impl ResponseHeaders) {
        apply_edits(|name| self.headers.get(name), self.vary_origin, response);
    }
}

/// [`ResponseEdits::apply`] for edits that crossed a language boundary as plain data (a WIT
/// record, a JavaScript object) and can no longer be a [`ResponseEdits`]: `ours` gives the value
/// the engine set for a header, by lowercase name, or `None`.
pub fn apply_edits<'v>(ours: impl Fn(&str) -> Option<&'v str>, vary_origin: bool, response: &mut impl ResponseHeaders) {
    for name in OWNED_HEADERS {
        match ours(name) {
            Some(value) => response.set(name, value),
            None => response.remove(name),
        }
    }
    if vary_origin {
        if let Some(merged) = merge_vary(response.get_all(VARY).as_deref(), "Origin") {
            response.set(VARY, &merged);
        }
    }
}

/// `Vary` with `token` merged in, or `None` when it is already covered (listed, or `*`).
#[must_use]
pub fn merge_vary(existing: Option<&str>, token: &str) -> Option<String> {
    let existing = existing.map(str::trim).filter(|v| !v.is_empty());
    let covered = existing
        .is_some_and(|value| value.split(',').map(str::trim).any(|t| t == "*" || t.eq_ignore_ascii_case(token)));
    match existing {
        _ if covered => None,
        Some(value) => {
            // Not `format!`: this runs on every forwarded response.
            let mut merged = String::with_capacity(value.len() + 2 + token.len());
            merged.push_str(value);
            merged.push_str(", ");
            merged.push_str(token);
            Some(merged)
        }
        None => Some(token.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderLines;

    #[test]
    fn vary_is_merged_never_duplicated_and_star_is_kept() {
        assert_eq!(merge_vary(None, "Origin").as_deref(), Some("Origin"));
        assert_eq!(merge_vary(Some(""), "Origin").as_deref(), Some("Origin"));
        assert_eq!(merge_vary(Some("Accept-Encoding"), "Origin").as_deref(), Some("Accept-Encoding, Origin"));
        assert_eq!(merge_vary(Some("accept-encoding, origin"), "Origin"), None);
        assert_eq!(merge_vary(Some("*"), "Origin"), None);
        assert_eq!(merge_vary(Some("Origins"), "Origin").as_deref(), Some("Origins, Origin"));
    }

    #[test]
    fn edits_as_plain_data_apply_exactly_like_response_edits() {
        let mut headers = HeaderList::default();
        headers.push(ALLOW_ORIGIN, "https://app.example.com");
        headers.push(ALLOW_CREDENTIALS, "true");
        headers.push_formatted(DEBUG_HEADER, "origin-not-allowed".into());
        let upstream = HeaderLines::<String>(alloc::vec![
            ("Access-Control-Allow-Origin".into(), "https://upstream.invalid".into()),
            ("access-control-expose-headers".into(), "X-Upstream".into()),
            ("vary".into(), "Accept-Encoding".into()),
            ("x-upstream".into(), "1".into()),
        ]);
        for vary_origin in [true, false] {
            let edits = ResponseEdits { headers: headers.clone(), vary_origin };
            let mut applied = upstream.clone();
            edits.apply(&mut applied);
            // The plain data an adapter carries: (name, value) pairs and the flag.
            let pairs: alloc::vec::Vec<(String, String)> = headers.iter().map(|(n, v)| (n.into(), v.into())).collect();
            let lookup = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            let mut plain = upstream.clone();
            apply_edits(lookup, vary_origin, &mut plain);
            assert_eq!(plain, applied);
            assert_eq!(plain.get_all("access-control-expose-headers"), None);
            assert_eq!(plain.get_all("corsguard-reason").as_deref(), Some("origin-not-allowed"));
            let vary = if vary_origin { "Accept-Encoding, Origin" } else { "Accept-Encoding" };
            assert_eq!(plain.get_all("vary").as_deref(), Some(vary));
        }
    }

    #[test]
    fn owned_edits_are_the_same_edits() {
        let mut headers = HeaderList::default();
        headers.push(ALLOW_ORIGIN, "https://app.example.com");
        headers.push(ALLOW_CREDENTIALS, "true");
        headers.push_formatted(DEBUG_HEADER, "origin-not-allowed".into());
        let edits = ResponseEdits { headers, vary_origin: true };
        assert_eq!(edits.clone().into_owned(), edits);
    }

    #[test]
    fn a_full_list_keeps_what_fits_and_the_reason() {
        let mut list = HeaderList::default();
        for _ in 0..CAPACITY + 2 {
            list.push(VARY, "Origin");
        }
        list.push_formatted(DEBUG_HEADER, "origin-not-allowed".into());
        assert_eq!(list.iter().count(), CAPACITY + 1);
        assert_eq!(list.get("Corsguard-Reason"), Some("origin-not-allowed"));
    }
}
