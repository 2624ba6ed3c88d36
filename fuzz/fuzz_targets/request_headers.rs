//! Any bytes as `Access-Control-Request-Headers`: allowed only when every name is, and then echoed
//! exactly, trimmed.
#![no_main]

use corsguard::{Action, Policy};
use corsguard_fuzz::{evaluate_and_check, requests};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const ORIGINS: [&str; 1] = ["https://app.example.com"];

static POLICIES: LazyLock<[(Policy, &[&str]); 2]> = LazyLock::new(|| {
    let listed =
        serde_json::json!({ "origins": ORIGINS, "request_headers": ["Content-Type", "X-A"], "credentials": true });
    let any = serde_json::json!({ "origins": ORIGINS, "request_headers": ["*"] });
    [
        (Policy::parse(&listed.to_string()).unwrap(), &["content-type", "x-a"]),
        (Policy::parse(&any.to_string()).unwrap(), &[]),
    ]
});

fuzz_target!(|data: &[u8]| {
    for (policy, listed) in POLICIES.iter() {
        let [preflight, _] = requests(ORIGINS[0].as_bytes(), b"PUT", Some(data));
        evaluate_and_check(policy, &ORIGINS, &preflight);
        let decision = policy.evaluate(&preflight);
        let Action::Respond { headers, .. } = &decision.action else { panic!("a preflight was not answered") };
        let Some(echoed) = headers.get("access-control-allow-headers") else { continue };
        let sent = std::str::from_utf8(data).unwrap();
        assert_eq!(echoed, sent.trim_matches([' ', '\t']));
        for name in echoed.split(',').map(|n| n.trim_matches([' ', '\t'])) {
            let ok = listed.iter().any(|l| l.eq_ignore_ascii_case(name))
                || listed.is_empty() && !name.eq_ignore_ascii_case("authorization");
            assert!(ok && !name.is_empty(), "allowed header {name:?}");
        }
    }
});
