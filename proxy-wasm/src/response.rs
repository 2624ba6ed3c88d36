//! The upstream's response headers, as the engine's edits see them.
//!
//! The whole map is read in one host call (about the cost of three single reads), so that removing
//! the engine's headers costs a host call only for those the upstream actually sent, and `Vary` is
//! read from the copy: a typical response needs the read plus one call per header set.

use corsguard::ResponseHeaders;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{Bytes, MapType};

const MAP: MapType = MapType::HttpResponseHeaders;

/// A copy of the response headers, kept in step with every change made through it.
pub(crate) struct UpstreamResponse {
    headers: Vec<(String, Bytes)>,
}

impl UpstreamResponse {
    pub(crate) fn read() -> Self {
        UpstreamResponse { headers: hostcalls::get_map_bytes(MAP).unwrap_or_default() }
    }

    fn has(&self, name: &str) -> bool {
        self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

impl ResponseHeaders for UpstreamResponse {
    fn get_all(&self, name: &str) -> Option<String> {
        let mut values = self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let first = String::from_utf8_lossy(&values.next()?.1).into_owned();
        Some(values.fold(first, |mut all, (_, value)| {
            all.push_str(", ");
            all.push_str(&String::from_utf8_lossy(value));
            all
        }))
    }

    fn set(&mut self, name: &str, value: &str) {
        // Replaces every value of the header (Envoy's `setCopy`).
        let _ = hostcalls::set_map_value_bytes(MAP, name, Some(value.as_bytes()));
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.as_bytes().to_vec()));
    }

    fn remove(&mut self, name: &str) {
        if self.has(name) {
            let _ = hostcalls::set_map_value_bytes(MAP, name, None);
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        }
    }
}
