//! The JSON Schema of the policy file: the core's fields ([`corsguard::tools::FIELDS`], which say
//! where each may be given), each with its description and the shape of its value, kept here. The
//! checked-in `policy.schema.json` is checked against this generator (tests/schema.rs). The schema is structural
//! (fields, types, ranges): what it cannot express (origin syntax, `*` with credentials across
//! routes) `corsguard check` reports, so a schema-valid file may still fail `check`, never the
//! reverse.

use corsguard::tools::{POLICY_FIELDS, ROUTE_FIELDS};
use serde_json::{Map, Value, json};

/// What the schema says of one of the core's fields.
pub struct Described {
    /// The core's name for it.
    pub name: &'static str,
    /// The schema's description of it.
    pub description: &'static str,
    /// The schema of its value (without the description).
    pub schema: fn() -> Value,
}

fn strings(item_description: &'static str, examples: &[&str]) -> Value {
    json!({ "type": "array", "items": { "type": "string", "description": item_description, "examples": examples } })
}

/// Every field of the core's, by name.
pub const DESCRIBED: [Described; 15] = [
    Described {
        name: "origins",
        description: "Origins that may read responses: exact origins (https://app.example.com), subdomain \
                      patterns (https://*.example.com: any depth, never the apex), preview-deployment patterns \
                      (https://pr-*.preview.example.com: one * of letters and digits inside the first label), port \
                      patterns (http://localhost:*), \"null\", or \"*\" (any origin, answered with a literal *). \
                      Required at the top level, and not empty there unless a route lists its own; [] in a route \
                      allows none.",
        schema: || {
            strings(
                "scheme://host[:port], lowercase, no path or trailing slash",
                &["https://app.example.com", "https://*.example.com", "http://localhost:*"],
            )
        },
    },
    Described {
        name: "methods",
        description: "Methods a preflight may ask for, case-sensitive as fetch() sends them (get, delete... are \
                      uppercased like fetch() does; patch is not). GET, HEAD and POST never need listing. \"*\" for \
                      any. Default [].",
        schema: || strings("an HTTP method (a token), or *", &["PUT", "PATCH", "DELETE"]),
    },
    Described {
        name: "request_headers",
        description: "Request headers a preflight may ask for (case-insensitive). \"*\" for any, except \
                      Authorization, which must be named. Default [].",
        schema: || strings("a header name, or *", &["Content-Type", "Authorization"]),
    },
    Described {
        name: "expose_headers",
        description: "Response headers scripts may read (Access-Control-Expose-Headers). Default [].",
        schema: || strings("a header name, or *", &["X-Request-Id"]),
    },
    Described {
        name: "credentials",
        description: "Allow cookies and HTTP authentication (Access-Control-Allow-Credentials: true). No \"*\" \
                      anywhere then. Default false.",
        schema: || json!({ "type": "boolean", "default": false }),
    },
    Described {
        name: "max_age",
        description: "Seconds a browser may cache a preflight (Access-Control-Max-Age; Chromium caps at 7200, \
                      Firefox at 86400). Not sent by default.",
        schema: || json!({ "type": "integer", "minimum": 0, "maximum": 604800, "examples": [7200] }),
    },
    Described {
        name: "private_network",
        description: "Answer Access-Control-Request-Private-Network: true preflights. Default false.",
        schema: || json!({ "type": "boolean", "default": false }),
    },
    Described {
        name: "preflight_status",
        description: "Status of an allowed preflight, 200-299. Default 204.",
        schema: || json!({ "type": "integer", "minimum": 200, "maximum": 299, "default": 204 }),
    },
    Described {
        name: "mode",
        description: "\"enforce\", or \"report-only\": decide, count and log as if enforcing, but change nothing. \
                      Default \"enforce\".",
        schema: || json!({ "enum": ["enforce", "report-only"], "default": "enforce" }),
    },
    Described {
        name: "debug",
        description: "Add corsguard-reason: <reason> to refused requests' responses. It never lists the policy. \
                      Default false.",
        schema: || json!({ "type": "boolean", "default": false }),
    },
    Described {
        name: "routes",
        description: "Entries matching on host and/or path_prefix; the first match wins and its fields override \
                      the top level's. Default [].",
        schema: || json!({ "type": "array", "items": { "$ref": "#/definitions/route" } }),
    },
    Described {
        name: "host",
        description: "The host this route matches, in any case and with or without a trailing dot (the \
                      request's port is ignored unless one is given here).",
        schema: || json!({ "type": "string", "examples": ["api.example.com", "api.example.com:8443"] }),
    },
    Described {
        name: "path_prefix",
        description: "A prefix of the request's canonical path (RFC 3986: unreserved escapes decoded, dot \
                      segments resolved, slashes merged, the query ignored) that this route matches. Requests \
                      whose path servers would read as under another route are refused.",
        schema: || json!({ "type": "string", "pattern": "^/", "examples": ["/public/"] }),
    },
    Described {
        name: "case_sensitive",
        description: "Whether path_prefix compares letters with their case; false for upstreams that route \
                      without case (Express by default).",
        schema: || json!({ "type": "boolean", "default": true }),
    },
    Described {
        name: "disabled",
        description: "Leave requests this route matches untouched (no CORS headers added or removed).",
        schema: || json!({ "type": "boolean", "default": false }),
    },
];

/// A level's fields (the top level's, or a route's), in the core's order.
fn properties(route: bool) -> Map<String, Value> {
    let mut properties = Map::new();
    for name in if route { &ROUTE_FIELDS[..] } else { &POLICY_FIELDS[..] } {
        if let Some(field) = DESCRIBED.iter().find(|f| f.name == *name) {
            let mut schema = (field.schema)();
            if let Value::Object(object) = &mut schema {
                object.insert("description".into(), field.description.into());
            }
            properties.insert((*name).into(), schema);
        }
    }
    properties
}

/// The top level's fields, `$schema`, which editors add and every edge ignores, and
/// `environments`, each replacing top-level fields (src/policy_file/environment.rs).
fn top_properties() -> Map<String, Value> {
    let shared = properties(false);
    let mut properties = shared.clone();
    properties.insert(
        "$schema".into(),
        json!({ "type": "string", "description": "The schema editors check this file with; ignored by every edge." }),
    );
    properties.insert(
        "environments".into(),
        json!({
            "type": "object",
            "description": "Named environments (development, production): each gives top-level fields that replace \
                            the shared ones, routes included, whole. An edge enforces one environment, resolved by \
                            `corsguard emit EDGE FILE --env NAME`; `corsguard check` checks each.",
            "minProperties": 1,
            "propertyNames": { "pattern": "^[A-Za-z0-9_-]+$" },
            "additionalProperties": {
                "type": "object",
                "additionalProperties": false,
                "properties": shared,
            },
        }),
    );
    properties
}

/// The schema, draft-07 (what editors support most widely).
pub fn schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "corsguard policy",
        "description": "One CORS policy, enforced at every edge. Generated by `corsguard schema`; \
                        `corsguard check` also reports what a schema cannot express.",
        "type": "object",
        "anyOf": [{ "required": ["origins"] }, { "required": ["environments"] }],
        "additionalProperties": false,
        "properties": top_properties(),
        "definitions": {
            "route": {
                "description": "Requests this route matches (host and/or path_prefix) get its fields over the \
                                top level's.",
                "type": "object",
                "additionalProperties": false,
                "anyOf": [{ "required": ["host"] }, { "required": ["path_prefix"] }],
                "properties": properties(true),
            }
        }
    })
}

/// The schema as checked in: pretty JSON with a final newline.
pub fn text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}
