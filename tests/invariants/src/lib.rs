//! The engine's safety invariants, checked on any decision: shared by the property tests and the
//! fuzz targets. Which origins a policy allows is judged by a deliberately simple reading of the
//! policy's `origins` entries, independent of the engine's matcher.

use corsguard::{Action, Decision, HeaderList, Request};

/// Every header the decision would emit, as (lowercase name, value).
fn emitted<'a>(decision: &'a Decision) -> Vec<(&'static str, &'a str)> {
    let list: Option<&HeaderList> = match &decision.action {
        Action::Respond { headers, .. } => Some(headers),
        Action::Forward(edits) => Some(&edits.headers),
        Action::PassThrough => None,
    };
    list.map(|l| l.iter().collect()).unwrap_or_default()
}

/// Whether a policy `origins` entry allows `origin`, read naively: exact text, `*`, or a
/// `scheme://*.parent[:port]`, `scheme://prefix*suffix.parent` or `scheme://host:*` pattern.
fn entry_allows(entry: &str, origin: &str) -> bool {
    let entry = entry.to_ascii_lowercase();
    if entry == "*" || entry == origin {
        return true;
    }
    let (Some((scheme, rest)), Some((origin_scheme, origin_rest))) =
        (entry.split_once("://"), origin.split_once("://"))
    else {
        return false;
    };
    let split = |authority: &str| -> (String, Option<String>) {
        match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host.into(), Some(port.into())),
            _ => (authority.into(), None),
        }
    };
    let ((host, port), (origin_host, origin_port)) = (split(rest), split(origin_rest));
    let port_ok = port.as_deref() == Some("*") || port == origin_port;
    let label_pattern = |label: &str, parent: &str| {
        let (prefix, suffix) = label.split_once('*')?;
        let (origin_label, origin_parent) = origin_host.split_once('.')?;
        let middle = origin_label.strip_prefix(prefix)?.strip_suffix(suffix)?;
        let letters = !middle.is_empty() && middle.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        Some(letters && origin_label.len() >= prefix.len() + suffix.len() && origin_parent == parent)
    };
    let host_ok = match (host.strip_prefix("*."), host.split_once('.')) {
        (Some(parent), _) => origin_host.ends_with(&format!(".{parent}")) && origin_host.len() > parent.len() + 1,
        (None, Some((label, parent))) if label.contains('*') => label_pattern(label, parent).unwrap_or(false),
        _ => host == origin_host,
    };
    scheme == origin_scheme && port_ok && host_ok
}

/// Checks the invariants; `origins` are the entries of the `origins` list that applied.
pub fn check(origins: &[&str], request: &Request, decision: &Decision) -> Result<(), String> {
    let headers = emitted(decision);
    let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    for (name, value) in &headers {
        if value.contains(['\r', '\n', '\0']) {
            return Err(format!("{name} carries CR, LF or NUL: {value:?}"));
        }
        let preflight_denied = matches!(decision.action, Action::Respond { .. }) && decision.denial.is_some();
        if preflight_denied && name.starts_with("access-control-allow-") {
            return Err(format!("a denied preflight carries {name}"));
        }
    }
    if headers.iter().filter(|(n, _)| *n == "access-control-allow-origin").count() > 1 {
        return Err("two Access-Control-Allow-Origin headers".into());
    }
    let credentials = get("access-control-allow-credentials").is_some();
    match get("access-control-allow-origin") {
        Some("*") if credentials => return Err("* with credentials".into()),
        Some("*") if !origins.contains(&"*") => return Err("* without * in origins".into()),
        Some("*") | None => {}
        Some(allowed) => {
            let sent = request.origin.and_then(|o| std::str::from_utf8(o).ok());
            if sent != Some(allowed) {
                return Err(format!("reflected {allowed:?}, but the request's Origin was {sent:?}"));
            }
            let serialized =
                allowed.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":/.-_+[]".contains(&b));
            if !serialized && allowed != "null" {
                return Err(format!("reflected {allowed:?}, which no browser sends"));
            }
            if !origins.iter().any(|entry| *entry != "*" && entry_allows(entry, allowed)) {
                return Err(format!("reflected {allowed:?}, which no entry of {origins:?} allows"));
            }
        }
    }
    Ok(())
}
