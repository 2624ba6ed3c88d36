//! The JSON Schema of the policy file, generated from one field table.
//!
//! The table's names are checked against the core's own lists ([`corsguard::tools::POLICY_FIELDS`],
//! [`corsguard::tools::ROUTE_FIELDS`], which drive the core's reader), and the checked-in
//! `policy.schema.json` against this generator (tests/schema.rs). The schema is structural
//! (fields, types, ranges): what it cannot express (origin syntax, `*` with credentials across
//! routes) `corsguard check` reports, so a schema-valid file may still fail `check`, never the
//! reverse.

use serde_json::{Map, Value, json};

/// Where a field may appear.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// At the top level and in routes (which override it).
    Both,
    /// At the top level only.
    TopOnly,
    /// In routes only.
    RouteOnly,
}

/// One field of the policy file.
pub struct Field {
    /// Its key.
    pub name: &'static str,
    /// Where it may appear.
    pub level: Level,
    /// The schema's description of it.
    pub description: &'static str,
    /// The schema of its value (without the description).
    pub schema: fn() -> Value,
}

fn strings(item_description: &'static str, examples: &[&str]) -> Value {
    json!({ "type": "array", "items": { "type": "string", "description": item_description, "examples": examples } })
}

/// Every field, in docs/policy.md's order (top level), then the route-only ones.
pub const FIELDS: [Field; 15] = [
    Field {
        name: "origins",
        level: Level::Both,
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
    Field {
        name: "methods",
        level: Level::Both,
        description: "Methods a preflight may ask for, case-sensitive as fetch() sends them (get, delete... are \
                      uppercased like fetch() does; patch is not). GET, HEAD and POST never need listing. \"*\" for \
                      any. Default [].",
        schema: || strings("an HTTP method (a token), or *", &["PUT", "PATCH", "DELETE"]),
    },
    Field {
        name: "request_headers",
        level: Level::Both,
        description: "Request headers a preflight may ask for (case-insensitive). \"*\" for any, except \
                      Authorization, which must be named. Default [].",
        schema: || strings("a header name, or *", &["Content-Type", "Authorization"]),
    },
    Field {
        name: "expose_headers",
        level: Level::Both,
        description: "Response headers scripts may read (Access-Control-Expose-Headers). Default [].",
        schema: || strings("a header name, or *", &["X-Request-Id"]),
    },
    Field {
        name: "credentials",
        level: Level::Both,
        description: "Allow cookies and HTTP authentication (Access-Control-Allow-Credentials: true). No \"*\" \
                      anywhere then. Default false.",
        schema: || json!({ "type": "boolean", "default": false }),
    },
    Field {
        name: "max_age",
        level: Level::Both,
        description: "Seconds a browser may cache a preflight (Access-Control-Max-Age; Chromium caps at 7200, \
                      Firefox at 86400). Not sent by default.",
        schema: || json!({ "type": "integer", "minimum": 0, "maximum": 604800, "examples": [7200] }),
    },
    Field {
        name: "private_network",
        level: Level::Both,
        description: "Answer Access-Control-Request-Private-Network: true preflights. Default false.",
        schema: || json!({ "type": "boolean", "default": false }),
    },
    Field {
        name: "preflight_status",
        level: Level::Both,
        description: "Status of an allowed preflight, 200-299. Default 204.",
        schema: || json!({ "type": "integer", "minimum": 200, "maximum": 299, "default": 204 }),
    },
    Field {
        name: "mode",
        level: Level::Both,
        description: "\"enforce\", or \"report-only\": decide, count and log as if enforcing, but change nothing. \
                      Default \"enforce\".",
        schema: || json!({ "enum": ["enforce", "report-only"], "default": "enforce" }),
    },
    Field {
        name: "debug",
        level: Level::Both,
        description: "Add corsguard-reason: <reason> to refused requests' responses. It never lists the policy. \
                      Default false.",
        schema: || json!({ "type": "boolean", "default": false }),
    },
    Field {
        name: "routes",
        level: Level::TopOnly,
        description: "Entries matching on host and/or path_prefix; the first match wins and its fields override \
                      the top level's. Default [].",
        schema: || json!({ "type": "array", "items": { "$ref": "#/definitions/route" } }),
    },
    Field {
        name: "host",
        level: Level::RouteOnly,
        description: "The host this route matches, in any case and with or without a trailing dot (the \
                      request's port is ignored unless one is given here).",
        schema: || json!({ "type": "string", "examples": ["api.example.com", "api.example.com:8443"] }),
    },
    Field {
        name: "path_prefix",
        level: Level::RouteOnly,
        description: "A prefix of the request's canonical path (RFC 3986: unreserved escapes decoded, dot \
                      segments resolved, slashes merged, the query ignored) that this route matches. Requests \
                      whose path servers would read as under another route are refused.",
        schema: || json!({ "type": "string", "pattern": "^/", "examples": ["/public/"] }),
    },
    Field {
        name: "case_sensitive",
        level: Level::RouteOnly,
        description: "Whether path_prefix compares letters with their case; false for upstreams that route \
                      without case (Express by default).",
        schema: || json!({ "type": "boolean", "default": true }),
    },
    Field {
        name: "disabled",
        level: Level::RouteOnly,
        description: "Leave requests this route matches untouched (no CORS headers added or removed).",
        schema: || json!({ "type": "boolean", "default": false }),
    },
];

/// The names a level has, in the schema's order: the top level's fields, or a route's (what it
/// matches on first, as the core lists them).
pub fn names(route: bool) -> Vec<&'static str> {
    let mut names: Vec<&str> = Vec::new();
    if route {
        names.extend(FIELDS.iter().filter(|f| f.level == Level::RouteOnly).map(|f| f.name));
    }
    let wanted = if route { Level::Both } else { Level::TopOnly };
    names.extend(FIELDS.iter().filter(|f| f.level == Level::Both || f.level == wanted).map(|f| f.name));
    names
}

fn properties(route: bool) -> Map<String, Value> {
    let mut properties = Map::new();
    for name in names(route) {
        if let Some(field) = FIELDS.iter().find(|f| f.name == name) {
            let mut schema = (field.schema)();
            if let Value::Object(object) = &mut schema {
                object.insert("description".into(), field.description.into());
            }
            properties.insert(name.into(), schema);
        }
    }
    properties
}

/// The top level's fields, `$schema`, which editors add and every edge ignores, and
/// `environments`, each replacing top-level fields (src/environment.rs).
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
