//! Preflights: answered at the edge, allowed or not, and never forwarded.

use crate::answer::denial::Denial;
use crate::answer::response::{
    ALLOW_CREDENTIALS, ALLOW_HEADERS, ALLOW_METHODS, ALLOW_ORIGIN, ALLOW_PRIVATE_NETWORK, HeaderList, MAX_AGE, VARY,
};
use crate::deciders::headers::{is_token, requested};
use crate::deciders::request::Request;
use crate::deciders::rules::Rules;
use alloc::{string::String, vec::Vec};

/// What an allowed preflight asked for, each part validated.
struct Allowed<'a> {
    origin: &'a str,
    method: &'a str,
    headers: Option<Echo<'a>>,
    private_network: bool,
}

/// `Access-Control-Request-Headers` to echo: as sent, or re-joined when it held whitespace.
enum Echo<'a> {
    AsSent(&'a str),
    Joined(String),
}

/// The denial (if any), status and headers of the answer to a preflight.
///
/// `Access-Control-Allow-Methods` and `-Headers` echo what was asked, once every part of it is
/// allowed: the answer is as small as it can be and never discloses the rest of the policy.
/// A denial carries no `Access-Control-Allow-*` header, so the browser fails the preflight.
pub(crate) fn answer<'a>(rules: &'a Rules, request: &Request<'a>) -> (Option<Denial<'a>>, u16, HeaderList<'a>) {
    let mut headers = HeaderList::default();
    match check(rules, request) {
        Ok(allowed) => {
            headers.push(ALLOW_ORIGIN, allowed.origin);
            if rules.credentials {
                headers.push(ALLOW_CREDENTIALS, "true");
            }
            headers.push(ALLOW_METHODS, allowed.method);
            match allowed.headers {
                Some(Echo::AsSent(names)) => headers.push(ALLOW_HEADERS, names),
                Some(Echo::Joined(names)) => headers.push_formatted(ALLOW_HEADERS, names),
                None => {}
            }
            if let Some(age) = &rules.max_age {
                headers.push(MAX_AGE, age);
            }
            if allowed.private_network {
                headers.push(ALLOW_PRIVATE_NETWORK, "true");
            }
            headers.push(VARY, rules.preflight_vary);
            (None, rules.preflight_status, headers)
        }
        Err(denial) => {
            headers.push(VARY, rules.preflight_vary);
            rules.push_debug(&mut headers, &denial);
            (Some(denial), 403, headers)
        }
    }
}

fn check<'a>(rules: &Rules, request: &Request<'a>) -> Result<Allowed<'a>, Denial<'a>> {
    let origin = rules.allow_origin(request.origin.unwrap_or_default())?;
    let method = core::str::from_utf8(request.request_method.unwrap_or_default()).ok();
    let method = method.filter(|m| is_token(m.as_bytes())).ok_or(Denial::MalformedRequest)?;
    if !rules.methods.allows(method.as_bytes()) {
        return Err(Denial::MethodNotAllowed);
    }
    let headers = match request.request_headers {
        None => None,
        Some(value) => {
            let value = core::str::from_utf8(value).map_err(|_| Denial::MalformedRequest)?;
            let (mut names, mut tidy) = (0, true);
            for requested in requested(value) {
                let requested = requested.map_err(|()| Denial::MalformedRequest)?;
                if !rules.request_headers.allows(requested.name) {
                    return Err(Denial::HeaderNotAllowed(requested.name));
                }
                (names, tidy) = (names + 1, tidy && requested.tidy);
            }
            // Every element is a token: safe to echo, in Fetch's own form (`a,b`, what browsers
            // send, kept as sent), so that every edge echoes the same bytes however lines were
            // joined, and without the empty elements a list may carry.
            match names {
                0 => None,
                _ if tidy && value.bytes().filter(|&b| b == b',').count() + 1 == names => Some(Echo::AsSent(value)),
                _ => Some(Echo::Joined(requested(value).flatten().map(|r| r.name).collect::<Vec<_>>().join(","))),
            }
        }
    };
    let private_network = request.request_private_network == Some(b"true");
    if private_network && !rules.private_network {
        return Err(Denial::PrivateNetworkNotAllowed);
    }
    Ok(Allowed { origin, method, headers, private_network })
}
