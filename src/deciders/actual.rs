//! Actual requests (every request but a preflight): forwarded, and the upstream's answer given
//! the policy's CORS headers, never the upstream's own.

use crate::answer::denial::Denial;
use crate::answer::response::{ALLOW_CREDENTIALS, ALLOW_ORIGIN, EXPOSE_HEADERS, HeaderList, ResponseEdits};
use crate::deciders::request::Request;
use crate::deciders::rules::Rules;

/// An actual request: the answer is `*` for everyone, or the request's allowed origin.
pub(crate) fn edits<'a>(rules: &'a Rules, request: &Request<'a>) -> (Option<Denial<'a>>, ResponseEdits<'a>) {
    let mut headers = HeaderList::default();
    let origin = match request.origin {
        // Without credentials, `*` is the same answer for every origin (and none): no Vary.
        _ if rules.origins.allows_any() => Ok("*"),
        Some(origin) => rules.allow_origin(origin),
        None => return (None, ResponseEdits { headers, vary_origin: true }),
    };
    let denial = match origin {
        Ok(origin) => {
            headers.push(ALLOW_ORIGIN, origin);
            if rules.credentials {
                headers.push(ALLOW_CREDENTIALS, "true");
            }
            if let Some(exposed) = &rules.expose_headers {
                headers.push(EXPOSE_HEADERS, exposed);
            }
            None
        }
        Err(denial) => {
            rules.push_debug(&mut headers, &denial);
            Some(denial)
        }
    };
    (denial, ResponseEdits { headers, vary_origin: !rules.origins.allows_any() })
}
