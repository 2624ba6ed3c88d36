//! The upstream's response headers, as the engine's edits see them.
//!
//! Each crossing between Envoy and the Wasm VM costs more than the CORS logic itself, so the
//! response is read in one host call, edited in the VM's memory, and written back in one more,
//! only when something changed: two calls whatever the number of headers set or removed.

use corsguard::ResponseHeaders;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{Bytes, MapType};

const MAP: MapType = MapType::HttpResponseHeaders;

/// A copy of the response headers; [`UpstreamResponse::write`] hands the edited copy back.
pub(crate) struct UpstreamResponse {
    headers: Vec<(String, Bytes)>,
    changed: bool,
}

impl UpstreamResponse {
    pub(crate) fn read() -> Self {
        UpstreamResponse { headers: hostcalls::get_map_bytes(MAP).unwrap_or_default(), changed: false }
    }

    /// Replaces the response's headers with the edited copy, if anything changed.
    pub(crate) fn write(self) {
        if self.changed {
            let pairs = self.headers.iter().map(|(name, value)| (name.as_str(), value.as_slice())).collect();
            let _ = hostcalls::set_map_bytes(MAP, pairs);
        }
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
        self.remove(name);
        self.headers.push((name.into(), value.as_bytes().to_vec()));
        self.changed = true;
    }

    fn remove(&mut self, name: &str) {
        let before = self.headers.len();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.changed |= self.headers.len() != before;
    }
}
