//! The upstream's response headers, as the engine's edits see them.
//!
//! Each crossing between Envoy and the Wasm VM costs more than the CORS logic itself, so the
//! response is read once, in one host call, and each header the engine changes is then one call.
//! Replacing the whole map instead (one call) costs Envoy more than a few single edits: it removes
//! and copies back every header of the response (BENCHMARKS.md, "Envoy").

use crate::header_map::HeaderMap;
use corsguard::{ResponseHeaders, join_lines};
use proxy_wasm::hostcalls;
use proxy_wasm::types::MapType;

const MAP: MapType = MapType::HttpResponseHeaders;

/// The response as Envoy sent it, and the way to change it in Envoy.
///
/// Reads see the response as it was read: the engine reads `Vary` before it sets it, and never
/// reads a header it has set.
pub(crate) struct UpstreamResponse {
    read: HeaderMap,
}

impl UpstreamResponse {
    pub(crate) fn read() -> Self {
        UpstreamResponse { read: HeaderMap::read(MAP) }
    }
}

impl ResponseHeaders for UpstreamResponse {
    fn get_all(&self, name: &str) -> Option<String> {
        join_lines(self.read.values(name)).map(|value| String::from_utf8_lossy(&value).into_owned())
    }

    fn set(&mut self, name: &str, value: &str) {
        // Not every host's "replace" removes more than the first of repeated lines.
        let _ = match self.read.values(name).count() {
            0 => hostcalls::add_map_value(MAP, name, value),
            1 => hostcalls::set_map_value(MAP, name, Some(value)),
            _ => hostcalls::remove_map_value(MAP, name).and_then(|()| hostcalls::add_map_value(MAP, name, value)),
        };
    }

    fn remove(&mut self, name: &str) {
        if self.read.values(name).next().is_some() {
            let _ = hostcalls::remove_map_value(MAP, name);
        }
    }
}
