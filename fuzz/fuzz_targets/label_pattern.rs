//! A preview-deployment pattern and a host, as `pattern\nhost`: the engine allows the origin only
//! when the invariants' naive reading of the pattern does, and never panics.
#![no_main]

use corsguard::Policy;
use corsguard_fuzz::{evaluate_and_check, requests};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (pattern, host) = text.split_once('\n').unwrap_or((text, "pr-1.example.com"));
    let entry = format!("https://{pattern}");
    let Ok(policy) = Policy::parse(&serde_json::json!({ "origins": [entry], "credentials": true }).to_string()) else {
        return;
    };
    let origin = format!("https://{host}");
    for request in requests(origin.as_bytes(), b"GET", None) {
        evaluate_and_check(&policy, &[&entry], &request);
    }
});
