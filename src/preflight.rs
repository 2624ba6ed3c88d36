//! Preflights: answered at the edge, allowed or not, and never forwarded.

use crate::explain::Denial;
use crate::headers::{is_token, requested, trim_ows};
use crate::policy::Rules;
use crate::request::Request;
use crate::response::{
    ALLOW_CREDENTIALS, ALLOW_HEADERS, ALLOW_METHODS, ALLOW_ORIGIN, ALLOW_PRIVATE_NETWORK, HeaderList, MAX_AGE, VARY,
};
use alloc::{borrow::Cow, vec::Vec};

/// What an allowed preflight asked for, each part validated.
struct Allowed<'a> {
    origin: &'a str,
    method: &'a str,
    headers: Option<Cow<'a, str>>,
    private_network: bool,
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
            if let Some(names) = allowed.headers {
                headers.push(ALLOW_HEADERS, names);
            }
            if let Some(age) = &rules.max_age {
                headers.push(MAX_AGE, &**age);
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
            for name in requested(value) {
                let name = name.map_err(|()| Denial::MalformedRequest)?;
                if !rules.request_headers.allows(name) {
                    return Err(Denial::HeaderNotAllowed(name));
                }
            }
            // Every element is a token: safe to echo. As sent when it is spelled `a,b` (what
            // browsers send) or `a, b` (repeated lines joined); with other whitespace, re-joined.
            let trimmed = trim_ows(value);
            let clean = trimmed.split(',').enumerate().all(|(i, name)| {
                let name = if i > 0 { name.strip_prefix(' ').unwrap_or(name) } else { name };
                is_token(name.as_bytes())
            });
            match clean {
                _ if trimmed.is_empty() => None,
                true => Some(Cow::Borrowed(trimmed)),
                false => Some(Cow::Owned(requested(value).flatten().collect::<Vec<_>>().join(", "))),
            }
        }
    };
    let private_network = request.request_private_network == Some(b"true");
    if private_network && !rules.private_network {
        return Err(Denial::PrivateNetworkNotAllowed);
    }
    Ok(Allowed { origin, method, headers, private_network })
}
