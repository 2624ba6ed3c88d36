//! Property test of preview-deployment patterns (`https://pr-*.preview.example.com`): for random
//! patterns and hosts, the engine allows an origin exactly when an independent reading of the rule
//! does (the `*` is one or more letters and digits inside the leading label), and never an origin
//! with another number of labels than the pattern.

// A test or benchmark may panic; only the engine must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::{Policy, Request};
use proptest::prelude::*;

/// The rule, read independently of the engine's matcher.
fn model(prefix: &str, suffix: &str, parent: &str, host: &str) -> bool {
    let Some((label, rest)) = host.split_once('.') else { return false };
    rest == parent
        && label.len() > prefix.len() + suffix.len()
        && label.starts_with(prefix)
        && label.ends_with(suffix)
        && label[prefix.len()..label.len() - suffix.len()].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn allowed(policy: &Policy, origin: &str) -> bool {
    let request = Request { origin: Some(origin.as_bytes()), ..Request::default() };
    policy.evaluate(&request).denial.is_none()
}

/// Hosts built from the pattern's own pieces and a few others, so that near misses are common.
fn host(prefix: String, suffix: String, parent: String) -> impl Strategy<Value = String> {
    let pieces = vec![prefix, suffix, parent, "a".into(), "7".into(), "-".into(), ".".into(), "x1".into()];
    proptest::collection::vec(proptest::sample::select(pieces), 1..7).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn a_label_pattern_matches_exactly_one_label_of_letters_and_digits(
        (prefix, suffix, parent, hosts) in ("[a-z0-9-]{0,3}", "[a-z0-9-]{0,3}", "[a-z]{1,3}\\.[a-z]{2,3}")
            .prop_filter("fixed text beside the *", |(p, s, _)| !p.is_empty() || !s.is_empty())
            .prop_flat_map(|(p, s, parent)| {
                let hosts = proptest::collection::vec(host(p.clone(), s.clone(), parent.clone()), 1..20);
                (Just(p), Just(s), Just(parent), hosts)
            })
    ) {
        let entry = format!("https://{prefix}*{suffix}.{parent}");
        let policy = Policy::parse(&format!(r#"{{"origins": ["{entry}"]}}"#));
        let policy = policy.map_err(|p| TestCaseError::fail(format!("{entry}: {p}")))?;
        let parent = format!(".{parent}");
        for host in hosts {
            let origin = format!("https://{host}");
            let expected = model(&prefix, &suffix, &parent[1..], &host);
            prop_assert_eq!(allowed(&policy, &origin), expected, "{} for {}", entry, origin);
            if expected {
                prop_assert_eq!(host.split('.').count(), entry.split('.').count());
            }
        }
    }
}
