//! The request methods each edge's own HTTP server lets through to corsguard. A method a policy
//! lists but a server refuses gets through the preflight (corsguard answers it), and then the
//! request fails: the server answers it itself, without CORS headers, and the page reports a CORS
//! error. Observed in the pinned runtimes; `tests/e2e/test_methods.py` checks every entry against
//! them, through `corsguard check`.

use crate::policy_file::{Located, PolicyFile};
use corsguard::Severity;
use corsguard::tools::PolicyView;

/// The code of `check`'s warning (the core's codes are in `corsguard::Code`).
pub const CODE: &str = "edge-refuses-method";

/// An edge's HTTP server, and which methods it carries to corsguard.
pub struct EdgeServer {
    /// The server, as it refuses (the method follows).
    refuser: &'static str,
    carries: Carries,
}

enum Carries {
    /// These methods only, compared case-sensitively.
    Only(&'static [&'static str]),
    /// Every method but these.
    AllBut(&'static [&'static str]),
}

/// Every edge that refuses some method, in the order `check` reports them. Not here, because they
/// carry every method as sent: Viceroy 0.22 (Fastly Compute; Fastly's own servers were not tried),
/// `wasmtime serve` 48 and Deno 2.9's `Deno.serve`.
pub const EDGE_SERVERS: [EdgeServer; 4] = [
    EdgeServer {
        refuser: "Envoy 1.40 (even with allow_custom_methods, as envoy/envoy.yaml ships it) answers 400 to",
        carries: Carries::AllBut(&["QUERY"]),
    },
    EdgeServer {
        refuser: "workerd (Cloudflare Workers) answers 501 to",
        // kj-http's methods, and QUERY and BAN, which the pinned workerd also knows.
        carries: Carries::Only(&[
            "GET",
            "HEAD",
            "POST",
            "PUT",
            "DELETE",
            "PATCH",
            "PURGE",
            "OPTIONS",
            "TRACE",
            "COPY",
            "LOCK",
            "MKCOL",
            "MOVE",
            "PROPFIND",
            "PROPPATCH",
            "SEARCH",
            "UNLOCK",
            "ACL",
            "REPORT",
            "MKACTIVITY",
            "CHECKOUT",
            "MERGE",
            "MSEARCH",
            "NOTIFY",
            "SUBSCRIBE",
            "UNSUBSCRIBE",
            "QUERY",
            "BAN",
        ]),
    },
    EdgeServer {
        refuser: "Node's HTTP server (the npm package on node:http) answers 400 to",
        carries: Carries::Only(&NODE_METHODS),
    },
    EdgeServer {
        refuser: "jco serve (the wasi:http component, on node:http) answers 400 to",
        carries: Carries::Only(&NODE_METHODS),
    },
];

/// Node 22's `http.METHODS`, less CONNECT (which a policy cannot list): what its parser takes, and
/// so `jco serve`, which runs on it.
const NODE_METHODS: [&str; 34] = [
    "ACL",
    "BIND",
    "CHECKOUT",
    "COPY",
    "DELETE",
    "GET",
    "HEAD",
    "LINK",
    "LOCK",
    "M-SEARCH",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MOVE",
    "NOTIFY",
    "OPTIONS",
    "PATCH",
    "POST",
    "PROPFIND",
    "PROPPATCH",
    "PURGE",
    "PUT",
    "QUERY",
    "REBIND",
    "REPORT",
    "SEARCH",
    "SOURCE",
    "SUBSCRIBE",
    "TRACE",
    "UNBIND",
    "UNLINK",
    "UNLOCK",
    "UNSUBSCRIBE",
];

impl EdgeServer {
    /// Whether a request with this method reaches corsguard on this edge.
    pub fn carries(&self, method: &str) -> bool {
        match self.carries {
            Carries::Only(methods) => methods.contains(&method),
            Carries::AllBut(methods) => !methods.contains(&method),
        }
    }
}

/// A warning for each method a level lists (top level and routes) that an edge's server refuses.
pub fn warnings(file: &PolicyFile, view: &PolicyView) -> Vec<Located> {
    let mut warnings = Vec::new();
    for method in view.given(|level| &level.methods).flat_map(|m| &m.value).filter(|m| m.text != "*") {
        let method_name = &method.text;
        for server in EDGE_SERVERS.iter().filter(|server| !server.carries(method_name)) {
            warnings.push(file.problem(
                view,
                Severity::Warning,
                CODE,
                &method.path,
                format!(
                    "{} {method_name} before corsguard sees it: the preflight passes, then the request fails with a \
                     CORS error",
                    server.refuser
                ),
                Some(
                    "list it only if no edge in front of this API refuses it (docs/policy.md: \"Methods each edge \
                     carries\")"
                        .into(),
                ),
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_methods_reach_every_edge() {
        for server in &EDGE_SERVERS {
            for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
                assert!(server.carries(method), "{} {method}", server.refuser);
            }
        }
    }
}
