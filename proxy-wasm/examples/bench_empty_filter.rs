//! Bench fixture, not shipped: the "empty" proxy-wasm filter of `scripts/bench-envoy.sh`. It reads
//! `Origin` and adds one response header, nothing else, so its cost is that of the proxy-wasm ABI
//! itself: the floor for any Wasm filter, corsguard's included.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType};

#[allow(missing_docs)]
mod entry {
    use super::{Empty, HttpContext};

    proxy_wasm::main! {{
        proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Empty { origin: false }) });
    }}
}

struct Empty {
    origin: bool,
}

impl Context for Empty {}

impl HttpContext for Empty {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        self.origin = matches!(hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, "origin"), Ok(Some(_)));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        let value: &[u8] = if self.origin { b"origin" } else { b"none" };
        let _ = hostcalls::add_map_value_bytes(MapType::HttpResponseHeaders, "x-empty-filter", value);
        Action::Continue
    }
}
