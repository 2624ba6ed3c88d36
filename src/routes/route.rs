//! Choosing the route that decides a request. A route's answer applies only when every reading
//! of the path and host that servers make puts the request under that same route: where readings
//! disagree, or the path or host is malformed, the request is refused instead ([`Selected::Unclear`]).

use crate::deciders::request::Request;
use crate::deciders::rules::Rules;
use crate::policy_file::problem::{Code, Problems};
use crate::routes::host::Authority;
use crate::routes::path::{self, Reading};
use alloc::{borrow::Cow, boxed::Box, format, vec::Vec};
use core::fmt;

/// Which level of the policy decides a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selected {
    /// No route matches: the top level decides.
    TopLevel,
    /// The entry of `routes` at this index: the first that matches.
    Route(usize),
    /// The path or host is malformed, or servers would read it as being under different routes:
    /// the request is refused (`malformed-request`).
    Unclear,
}

/// The level as the policy file names it, the way logs and metrics show it: `routes[1]`, or
/// nothing for the top level (and for an unclear request, which no route decided).
impl fmt::Display for Selected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selected::Route(index) => write!(f, "routes[{index}]"),
            Selected::TopLevel | Selected::Unclear => Ok(()),
        }
    }
}

/// A `routes` entry: requests it matches get its rules, or none when disabled.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    /// The host (lowercase, no trailing dot) and the port, if the route names them.
    pub host: Option<(Box<str>, Option<u16>)>,
    /// A canonical path prefix.
    pub path_prefix: Option<Box<str>>,
    /// Whether the prefix compares letters with their case (the default).
    pub case_sensitive: bool,
    /// `None` when disabled.
    pub rules: Option<Rules>,
}

impl Route {
    /// Whether this route matches every request that `other` matches.
    fn covers(&self, other: &Route) -> bool {
        let host = match (&self.host, &other.host) {
            (None, _) => true,
            (Some((name, port)), Some((other_name, other_port))) => {
                name == other_name && (port.is_none() || port == other_port)
            }
            (Some(_), None) => false,
        };
        // Without case: every request is also read that way, and where two routes then disagree
        // it is refused, so the later route never applies either way.
        let path = match (&self.path_prefix, &other.path_prefix) {
            (None, _) => true,
            (Some(prefix), Some(other_prefix)) => {
                other_prefix.as_bytes().get(..prefix.len()).is_some_and(|h| h.eq_ignore_ascii_case(prefix.as_bytes()))
            }
            (Some(_), None) => false,
        };
        host && path
    }
}

/// The routes in order, and which parts of a request any of them looks at.
#[derive(Clone, Debug, Default)]
pub(crate) struct Routes {
    entries: Vec<Route>,
    reads_host: bool,
    reads_path: bool,
}

/// A host, port or path no reading can settle.
struct Unclear;

/// The longest path (without its query) that routes read, longer ones being refused: a path may
/// be read 64 ways (32 readings, each with and without case), so this bounds the work one request
/// can cause.
/// API paths are far shorter, and queries are not counted.
const MAX_PATH: usize = 1024;

impl Routes {
    pub fn new(entries: Vec<Route>) -> Self {
        let reads_host = entries.iter().any(|r| r.host.is_some());
        let reads_path = entries.iter().any(|r| r.path_prefix.is_some());
        Routes { entries, reads_host, reads_path }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&Route> {
        self.entries.get(index)
    }

    pub fn iter(&self) -> core::slice::Iter<'_, Route> {
        self.entries.iter()
    }

    /// Warns of each route that an earlier route always matches first: it never applies.
    pub fn warn_shadowed(&self, problems: &mut Problems) {
        for (index, route) in self.entries.iter().enumerate() {
            let earlier = self.entries.iter().take(index).position(|first| first.covers(route));
            if let Some(first) = earlier {
                problems.warning(
                    &format!("routes[{index}]"),
                    Code::ShadowedRoute,
                    format!("routes[{first}] comes first and matches every request this route does (letters compared without case, as some servers do), so this route never applies; put the narrower route first"),
                );
            }
        }
    }

    /// The level that decides `request`; a policy without routes never reads the path or host.
    pub fn select(&self, request: &Request) -> Selected {
        if self.is_empty() {
            return Selected::TopLevel;
        }
        let host = match self.reads_host.then(|| Authority::read(request.host, request.scheme)) {
            None => NO_HOST,
            Some(Ok(host)) => host,
            Some(Err(_)) => return Selected::Unclear,
        };
        if !self.reads_path {
            return self.first(&host, b"", false).map_or(Selected::Unclear, into_selected);
        }
        self.select_on_path(&host, request.path).unwrap_or(Selected::Unclear)
    }

    /// The route of the canonical path, if the raw path and every other reading agree with it.
    fn select_on_path(&self, host: &Authority, path: &[u8]) -> Option<Selected> {
        let raw = path::without_query(path);
        if raw.len() > MAX_PATH {
            return None;
        }
        let scan = path::scan(path).ok()?;
        let canonical: Cow<[u8]> = if scan.canonical {
            Cow::Borrowed(raw)
        } else {
            Cow::Owned(path::canonical(path, Reading::CANONICAL).ok()?)
        };
        let chosen = self.first(host, &canonical, false).ok()?;
        let agrees = |text: &[u8], fold_case: bool| self.first(host, text, fold_case).ok() == Some(chosen);
        // Each reading, with case and without (the canonical one with case is `chosen` itself).
        for reading in scan.readings() {
            let agreed = match reading {
                Reading::CANONICAL => agrees(&canonical, true),
                other => {
                    let text = path::canonical(path, other).ok()?;
                    agrees(&text, false) && agrees(&text, true)
                }
            };
            if !agreed {
                return None;
            }
        }
        // The raw bytes are one more reading (servers that route before normalizing, Express).
        let raw_agrees = scan.canonical || (agrees(raw, false) && agrees(raw, true));
        raw_agrees.then_some(into_selected(chosen))
    }

    /// The index of the first route that `host` and the canonical `path` match; `Err` when a route
    /// before it looks alike to the path ([`looks_alike`]): some server serves it from that route.
    fn first(&self, host: &Authority, path: &[u8], fold_case: bool) -> Result<Option<usize>, Unclear> {
        for (index, route) in self.entries.iter().enumerate() {
            if !route.host.as_ref().is_none_or(|(name, port)| host.matches(name, *port)) {
                continue;
            }
            let Some(prefix) = route.path_prefix.as_deref() else { return Ok(Some(index)) };
            let prefix = prefix.as_bytes();
            let same = |a: &[u8], b: &[u8]| {
                if fold_case || !route.case_sensitive { a.eq_ignore_ascii_case(b) } else { a == b }
            };
            if path.get(..prefix.len()).is_some_and(|head| same(head, prefix)) {
                return Ok(Some(index));
            }
            // `/admin/` covers `/admin` too, which servers route to the same handler.
            let bare = prefix.strip_suffix(b"/").filter(|bare| !bare.is_empty());
            let rest = bare.and_then(|bare| path.get(..bare.len()).filter(|head| same(head, bare)).map(|_| bare.len()));
            match rest.and_then(|at| path.get(at..)) {
                Some([]) => return Ok(Some(index)),
                Some(rest) if looks_alike(rest) => return Err(Unclear),
                _ => {}
            }
        }
        Ok(None)
    }
}

/// Whether what follows a prefix's bare form (`/admin` of `/admin/`) is a last segment's extension,
/// which Spring's suffix patterns drop (`/admin.json` is served from `/admin`).
fn looks_alike(rest: &[u8]) -> bool {
    rest.starts_with(b".") && !rest.contains(&b'/')
}

/// The authority of a request when no route names a host: never looked at.
const NO_HOST: Authority<'static> = Authority { name: b"", port: None };

fn into_selected(index: Option<usize>) -> Selected {
    index.map_or(Selected::TopLevel, Selected::Route)
}
