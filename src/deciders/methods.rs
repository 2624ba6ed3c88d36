//! The policy's `methods` and the check of `Access-Control-Request-Method`.

use crate::deciders::headers::is_token;
use crate::deciders::name_set::NameSet;
use crate::policy_file::problem::{Code, Problems};
use alloc::{format, string::String};

/// Fetch uppercases these (and only these) before sending, so the policy does too.
const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
/// Fetch's forbidden methods: browsers refuse to send these (`fetch()` throws), so listing one is a
/// mistake.
const FORBIDDEN: [&str; 3] = ["CONNECT", "TRACE", "TRACK"];

/// Whether Fetch forbids a method (`CONNECT`, `TRACE`, `TRACK`, in any case): `fetch()` throws
/// rather than send it. For tools that model what a page can send.
#[must_use]
pub fn is_forbidden_method(method: &str) -> bool {
    FORBIDDEN.iter().any(|forbidden| forbidden.eq_ignore_ascii_case(method))
}

/// The compiled `methods` list.
#[derive(Clone, Debug, Default)]
pub(crate) struct Methods {
    any: bool,
    listed: NameSet,
}

impl Methods {
    /// Compiles the entries of `methods` at `path`, recording every problem.
    pub fn compile(entries: &[String], path: &str, problems: &mut Problems) -> Self {
        let mut methods = Self::default();
        for (index, entry) in entries.iter().enumerate() {
            let at = format!("{path}[{index}]");
            if entry == "*" {
                methods.any = true;
            } else if !is_token(entry.as_bytes()) {
                problems.error(
                    &at,
                    Code::InvalidName,
                    format!("\"{entry}\" is not a valid method name (an HTTP token)"),
                );
            } else if is_forbidden_method(entry) {
                let forbidden = entry.to_ascii_uppercase();
                problems.error(
                    &at,
                    Code::ForbiddenMethod,
                    format!("\"{entry}\": browsers never send {forbidden} requests"),
                );
            } else {
                let method = NORMALIZED.iter().find(|n| n.eq_ignore_ascii_case(entry)).copied().unwrap_or(entry);
                if method == "patch" {
                    problems.warning(
                        &at,
                        Code::LowercasePatch,
                        "\"patch\" is case-sensitive and fetch() does not uppercase it; you probably mean \"PATCH\"",
                    );
                }
                if !methods.listed.insert(method.into()) {
                    problems.warning(&at, Code::ListedTwice, format!("\"{entry}\" is listed twice"));
                }
            }
        }
        Methods { listed: methods.listed.finish(), ..methods }
    }

    /// Whether `*` was given (any method).
    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// Whether a preflight may ask for `method` (compared case-sensitively, as Fetch does). The
    /// CORS-safelisted methods never need listing.
    pub fn allows(&self, method: &[u8]) -> bool {
        matches!(method, b"GET" | b"HEAD" | b"POST") || self.any || self.listed.contains(method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{string::ToString, vec::Vec};

    fn compile(entries: &[&str]) -> (Methods, Problems) {
        let mut problems = Problems::default();
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        (Methods::compile(&entries, "methods", &mut problems), problems)
    }

    #[test]
    fn safelisted_methods_need_no_listing_and_others_match_exactly() {
        let (methods, problems) = compile(&["put", "PATCH", "PURGE"]);
        assert!(problems.is_empty());
        assert!(methods.allows(b"GET") && methods.allows(b"POST") && methods.allows(b"HEAD"));
        assert!(methods.allows(b"PUT") && methods.allows(b"PATCH") && methods.allows(b"PURGE"));
        assert!(!methods.allows(b"patch") && !methods.allows(b"DELETE") && !methods.allows(b"get"));
    }

    #[test]
    fn forbidden_and_malformed_methods_are_errors_and_patch_a_warning() {
        let (_, problems) = compile(&["TRACE", "connect", "GET POST", "patch"]);
        let messages: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("error[forbidden-method]: methods[0]: \"TRACE\": browsers never send TRACE"));
        assert!(messages[1].contains("methods[1]"));
        assert!(messages[2].contains("not a valid method name"));
        assert!(messages[3].starts_with("warning[lowercase-patch]: methods[3]"));
    }
}
