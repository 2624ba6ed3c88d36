//! Any bytes as a request's `Origin`, and any text as a policy's origin entry.
#![no_main]

use corsguard::Policy;
use corsguard_fuzz::{evaluate_and_check, requests};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const ENTRIES: [&str; 5] =
    ["https://app.example.com", "https://*.example.com", "http://localhost:*", "null", "https://[::1]:8443"];

static POLICY: LazyLock<Policy> = LazyLock::new(|| {
    Policy::parse(&serde_json::json!({ "origins": ENTRIES, "credentials": true }).to_string()).unwrap()
});

fuzz_target!(|data: &[u8]| {
    for request in requests(data, b"GET", None) {
        evaluate_and_check(&POLICY, &ENTRIES, &request);
    }
    let Ok(entry) = std::str::from_utf8(data) else { return };
    if let Ok(policy) = Policy::parse(&serde_json::json!({ "origins": [entry] }).to_string()) {
        for origin in [data, entry.to_ascii_lowercase().as_bytes(), b"https://a.example.com"] {
            for request in requests(origin, b"GET", None) {
                evaluate_and_check(&policy, &[entry], &request);
            }
        }
    }
});
