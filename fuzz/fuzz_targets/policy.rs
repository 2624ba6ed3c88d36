//! Any text as a policy file: never a panic; a policy that loads keeps every invariant.
#![no_main]

use corsguard::Policy;
use corsguard_fuzz::{evaluate_and_check, requests};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Policy::parse(text) {
        Err(problems) => assert!(problems.has_errors() && !problems.to_string().is_empty()),
        Ok(policy) => {
            // Routes may replace the origins; judge reflections against every entry in the file.
            let json: serde_json::Value = serde_json::from_str(text).unwrap();
            let mut entries: Vec<&str> = Vec::new();
            collect_origins(&json, &mut entries);
            for origin in ["https://app.example.com", "http://localhost:3000", "null", "https://a.b.example.com"] {
                for request in requests(origin.as_bytes(), b"PUT", Some(b"content-type,x-a")) {
                    evaluate_and_check(&policy, &entries, &request);
                }
            }
        }
    }
});

fn collect_origins<'a>(value: &'a serde_json::Value, into: &mut Vec<&'a str>) {
    if let Some(list) = value.get("origins").and_then(|o| o.as_array()) {
        into.extend(list.iter().filter_map(|o| o.as_str()));
    }
    for route in value.get("routes").and_then(|r| r.as_array()).into_iter().flatten() {
        collect_origins(route, into);
    }
}
