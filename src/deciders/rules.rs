//! The rules one level of a policy applies (the top level, or a route with what it inherits),
//! resolved once from the policy file: what `preflight` and `actual` read to decide.

use crate::answer::denial::Denial;
use crate::answer::response::{DEBUG_HEADER, HeaderList};
use crate::deciders::headers::HeaderNames;
use crate::deciders::methods::Methods;
use crate::origins::origin::Origin;
use crate::origins::pattern::OriginMatcher;
use crate::policy_file::config::Level;
use crate::policy_file::problem::{Code, Problems};
use alloc::{
    boxed::Box,
    format,
    string::{String, ToString},
    vec::Vec,
};

const PREFLIGHT_VARY: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const PREFLIGHT_VARY_PRIVATE_NETWORK: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network";

/// Everything one route (or the top level) applies, with inherited fields resolved.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    pub origins: OriginMatcher,
    pub methods: Methods,
    pub request_headers: HeaderNames,
    pub expose_headers: Option<Box<str>>,
    pub credentials: bool,
    pub max_age: Option<Box<str>>,
    pub private_network: bool,
    pub preflight_status: u16,
    pub report_only: bool,
    pub debug: bool,
    pub preflight_vary: &'static str,
    /// The fields its own level gives (for [`Policy::trace`]).
    pub given: Vec<&'static str>,
}

/// The status of a preflight's answer when no level gives `preflight_status`.
pub(crate) const DEFAULT_PREFLIGHT_STATUS: u16 = 204;

/// A route's own value for a field, else the top level's.
pub(crate) fn inherit<'l, T>(
    top: &'l Level,
    route: Option<&'l Level>,
    field: impl Fn(&'l Level) -> Option<&'l T>,
) -> Option<&'l T> {
    route.and_then(&field).or_else(|| field(top))
}

impl Rules {
    /// A route's fields over the top level's, then the checks that span fields.
    pub(crate) fn resolve(top: &Level, route: Option<&Level>, path: &str, problems: &mut Problems) -> Self {
        let origins = inherit(top, route, |l| l.origins.as_ref()).cloned().unwrap_or_default();
        let methods = inherit(top, route, |l| l.methods.as_ref()).cloned().unwrap_or_default();
        let request_headers = inherit(top, route, |l| l.request_headers.as_ref()).cloned().unwrap_or_default();
        let expose_headers = inherit(top, route, |l| l.expose_headers.as_ref()).cloned().unwrap_or_default();
        let credentials = *inherit(top, route, |l| l.credentials.as_ref()).unwrap_or(&false);
        let private_network = *inherit(top, route, |l| l.private_network.as_ref()).unwrap_or(&false);
        if credentials {
            let stars = [
                (
                    "origins",
                    origins.allows_any(),
                    "list the origins: browsers reject Access-Control-Allow-Origin: * on credentialed requests",
                ),
                (
                    "methods",
                    methods.allows_any(),
                    "list the methods: with credentials a browser reads * as a method named \"*\"",
                ),
                (
                    "request_headers",
                    request_headers.allows_any(),
                    "list the headers: with credentials a browser reads * as a header named \"*\"",
                ),
                (
                    "expose_headers",
                    expose_headers.allows_any(),
                    "list the headers: with credentials a browser reads * as a header named \"*\"",
                ),
            ];
            for (field, _, fix) in stars.iter().filter(|(_, star, _)| *star) {
                let at = if path.is_empty() { field.to_string() } else { format!("{path}.{field}") };
                problems.error(
                    &at,
                    Code::WildcardWithCredentials,
                    format!("\"*\" cannot be used with credentials: true; {fix}"),
                );
            }
        }
        let own_origins = route.is_none_or(|r| r.origins.is_some());
        for (at, risk) in &origins.over_public_suffixes {
            if credentials {
                let whose = if own_origins { String::new() } else { format!(" (inherited by {path})") };
                problems.error(
                    at,
                    Code::PublicSuffixWildcard,
                    format!("{risk}, with credentials: true{whose}; list your own origins"),
                );
            } else if own_origins {
                problems.warning(at, Code::PublicSuffixWildcard, format!("{risk}; list your own origins"));
            }
        }
        Rules {
            origins,
            methods,
            request_headers,
            expose_headers: expose_headers.joined(),
            credentials,
            max_age: inherit(top, route, |l| l.max_age.as_ref()).map(|age| age.to_string().into()),
            private_network,
            preflight_status: *inherit(top, route, |l| l.preflight_status.as_ref())
                .unwrap_or(&DEFAULT_PREFLIGHT_STATUS),
            report_only: *inherit(top, route, |l| l.report_only.as_ref()).unwrap_or(&false),
            debug: *inherit(top, route, |l| l.debug.as_ref()).unwrap_or(&false),
            preflight_vary: if private_network { PREFLIGHT_VARY_PRIVATE_NETWORK } else { PREFLIGHT_VARY },
            given: route.unwrap_or(top).given.clone(),
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, or why there is none.
    pub fn allow_origin<'a>(&self, value: &'a [u8]) -> Result<&'a str, Denial<'a>> {
        if self.origins.allows_any() {
            return Ok("*");
        }
        if value == b"null" {
            return if self.origins.allows_null() { Ok("null") } else { Err(Denial::OriginNotAllowed) };
        }
        let origin = Origin::split_request(value).ok_or(Denial::MalformedRequest)?;
        match self.origins.allows(&origin) {
            Ok(true) => Ok(origin.text),
            Ok(false) => Err(Denial::OriginNotAllowed),
            Err(()) => Err(Denial::MalformedRequest),
        }
    }

    pub fn push_debug<'a>(&self, headers: &mut HeaderList<'a>, denial: &Denial<'a>) {
        if self.debug {
            headers.push_formatted(DEBUG_HEADER, denial.to_string());
        }
    }
}
