//! Random policies and random requests: every field of both comes from the fuzzer.
#![no_main]

use arbitrary::Arbitrary;
use corsguard::{Policy, Request};
use corsguard_fuzz::evaluate_and_check;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    origins: Vec<&'a str>,
    methods: Vec<&'a str>,
    request_headers: Vec<&'a str>,
    credentials: bool,
    private_network: bool,
    debug: bool,
    route_prefix: Option<&'a str>,
    route_origins: Vec<&'a str>,
    method: &'a [u8],
    path: &'a [u8],
    origin: Option<&'a [u8]>,
    request_method: Option<&'a [u8]>,
    request_header_list: Option<&'a [u8]>,
    request_private_network: Option<&'a [u8]>,
}

fuzz_target!(|input: Input| {
    let mut json = serde_json::json!({
        "origins": input.origins, "methods": input.methods, "request_headers": input.request_headers,
        "credentials": input.credentials, "private_network": input.private_network, "debug": input.debug,
    });
    if let Some(prefix) = input.route_prefix {
        json["routes"] = serde_json::json!([{ "path_prefix": prefix, "origins": input.route_origins }]);
    }
    let Ok(policy) = Policy::parse(&json.to_string()) else { return };
    let request = Request {
        method: input.method,
        scheme: Some(b"https"),
        host: b"api.test",
        path: input.path,
        origin: input.origin,
        request_method: input.request_method,
        request_headers: input.request_header_list,
        request_private_network: input.request_private_network,
    };
    let entries: Vec<&str> = input.origins.iter().chain(&input.route_origins).copied().collect();
    evaluate_and_check(&policy, &entries, &request);
});
