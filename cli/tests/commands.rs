//! `corsguard check`, `explain` and `emit`, run as a user runs them, bad input included.

// A test may panic; only the command must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::Policy;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn example() -> String {
    root().join("examples/policy.json").display().to_string()
}

/// The example with environments (development, production).
fn environments() -> String {
    root().join("examples/environments.json").display().to_string()
}

/// `embedded` is environment `name` of examples/environments.json: the shared fields with the
/// environment's in their place.
fn embedded_is_environment(embedded: &str, name: &str) {
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(environments()).unwrap()).unwrap();
    let overlay = file["environments"][name].as_object().unwrap().clone();
    let top = file.as_object_mut().unwrap();
    top.remove("environments");
    top.extend(overlay);
    assert_eq!(serde_json::from_str::<Value>(embedded).unwrap(), file);
    assert!(Policy::parse(embedded).is_ok());
}

/// A file with this text in a fresh directory of the system's temporary directory.
fn file(text: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("corsguard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("policy-{}.json", NEXT.fetch_add(1, Ordering::SeqCst)));
    std::fs::write(&path, text).unwrap();
    path
}

/// Exit code, standard output, standard error.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_corsguard")).args(args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn check_accepts_a_valid_policy() {
    let (code, out, _) = run(&["check", &example()]);
    assert_eq!(code, 0, "{out}");
    // Its one warning: Safari keeps the demo's 7200 s preflight cache for 600 s.
    assert!(out.contains("warning[engines-differ]: max_age: 7200 seconds is not what every browser keeps"), "{out}");
    assert!(out.ends_with("valid (1 warning)\n"), "{out}");
}

#[test]
fn check_lists_every_problem_with_path_line_and_fix_in_file_order() {
    let text = "{\n  \"origins\": [\"https://example.com/\", \"https://*.com\"],\n  \"allowedHeaders\": [\"X\"],\n  \
                \"credentials\": true,\n  \"methods\": [\"patch\"],\n  \"routes\": [{\"path_prefix\": \"/p\", \"origins\": [\"*\"]}]\n}\n";
    let path = file(text);
    let path = path.to_str().unwrap();
    let (code, out, _) = run(&["check", path]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with(&format!(
        "{path}:2:15: error[trailing-slash]: origins[0]: \"https://example.com/\" has a trailing slash"
    )));
    assert!(lines[1].starts_with(&format!("{path}:2:39: error[top-level-wildcard]: origins[1]:")));
    assert!(lines[2].starts_with(&format!("{path}:3:3: error[unknown-field]: allowedHeaders: unknown field")));
    assert_eq!(lines[3], "  help: did you mean \"request_headers\"?");
    assert!(lines[4].starts_with(&format!("{path}:5:15: warning[lowercase-patch]: methods[0]:")));
    assert!(lines[5].contains(
        ":6:36: error[wildcard-with-credentials]: routes[0].origins: \"*\" cannot be used with credentials: true"
    ));
    assert_eq!(lines[6], format!("{path}: invalid, every edge refuses it (4 errors, 1 warning)"));

    let (code, out, _) = run(&["check", path, "--format", "json"]);
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!((json["errors"].as_u64(), json["warnings"].as_u64()), (Some(4), Some(1)));
    let unknown = &json["problems"][2];
    assert_eq!(unknown["path"], "allowedHeaders");
    assert_eq!((unknown["line"].as_u64(), unknown["column"].as_u64()), (Some(3), Some(3)));
    assert_eq!(unknown["fix"], "did you mean \"request_headers\"?");
}

#[test]
fn check_strict_fails_on_warnings_and_reads_standard_input() {
    let path = file(r#"{"origins": ["http://app.example.com"]}"#);
    let (code, out, _) = run(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning[plain-http]: origins[0]: \"http://app.example.com\" is plain http"), "{out}");
    assert_eq!(run(&["check", "--strict", path.to_str().unwrap()]).0, 1);

    let mut child = Command::new(env!("CARGO_BIN_EXE_corsguard"))
        .args(["check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"{\"origins\": [\"https://a.example\"]}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "<stdin>: valid (0 warnings)\n");
}

#[test]
fn invalid_json_is_reported_with_line_and_column() {
    let path = file("{\n  \"origins\": [\"https://a.example\",\n  ]\n}");
    let path = path.to_str().unwrap();
    let (code, out, _) = run(&["check", path]);
    assert_eq!(code, 1);
    assert!(out.starts_with(&format!("{path}:3:3: error[invalid-json]: not valid JSON: trailing comma\n")), "{out}");
    let (_, out, _) = run(&["check", path, "--format", "json"]);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((json["problems"][0]["line"].as_u64(), json["problems"][0]["column"].as_u64()), (Some(3), Some(3)));

    let bom = file("\u{feff}{\"origins\": []}");
    let (code, out, _) = run(&["check", bom.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("help: the file starts with a byte order mark"), "{out}");

    let bytes = file("");
    std::fs::write(&bytes, b"{\"origins\": [\"\xff\"]}").unwrap();
    let (code, out, _) = run(&["check", bytes.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains(":1:15: error[invalid-json]: is not UTF-8 text"), "{out}");
}

#[test]
fn control_characters_from_the_file_are_shown_escaped() {
    let path = file("{\"origins\": [\"https://app.example.com\"], \"x\\u001b[2Ky\": 1}");
    let (code, out, _) = run(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error[unknown-field]: x\\u{1b}[2Ky: unknown field") && !out.contains('\u{1b}'), "{out}");
}

#[test]
fn a_key_given_twice_is_located_at_both_occurrences() {
    let path = file("{\n  \"origins\": [\"https://app.example.com\"],\n  \"\\u006frigins\": [\"*\"]\n}\n");
    let path = path.to_str().unwrap();
    let (code, out, _) = run(&["check", path]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!(
            "{path}:3:3: error[duplicate-key]: origins: is given twice in one object (first at line 2 column 3)"
        )),
        "{out}"
    );
}

#[test]
fn an_unreadable_file_is_exit_2_for_every_command() {
    let missing = root().join("no-such-policy.json");
    let missing = missing.to_str().unwrap();
    for args in [
        vec!["check", missing],
        vec!["explain", missing, "--origin", "https://a.example"],
        vec!["emit", "envoy", missing],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(out.is_empty());
        assert!(err.starts_with(&format!("corsguard: error: cannot read {missing}: ")), "{err}");
    }
    // A directory cannot be read as a file either.
    let (code, _, err) = run(&["check", root().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_method_fetch_would_throw_on_is_a_usage_error() {
    for (method, says) in [("PU T", "a token, such as PUT"), ("", "a token"), ("trace", "refuses to send CONNECT")] {
        let (code, out, err) = run(&["explain", &example(), "--origin", "https://app.example.com", "--method", method]);
        assert_eq!((code, out.as_str()), (2, ""), "{method:?}: {err}");
        assert!(err.contains(says), "{method:?}: {err}");
    }
}

#[test]
fn explain_an_allowed_preflighted_request() {
    let (code, out, _) = run(&[
        "explain",
        &example(),
        "--origin",
        "https://app.example.com",
        "--method",
        "put",
        "-H",
        "Content-Type: application/json",
        "--credentials",
        "--host",
        "api.example.com",
        "--path",
        "/api/items",
    ]);
    assert_eq!(code, 0, "{out}");
    for expected in [
        "needs a preflight: method PUT is not CORS-safelisted",
        "origin https://app.example.com: allowed by origins[0] (line 2) \"https://app.example.com\"",
        "method PUT: listed in methods (line 3)",
        "Preflight  > OPTIONS https://api.example.com/api/items",
        "           > Access-Control-Request-Headers: content-type",
        "           < 204 (answered by the edge)",
        "           < access-control-allow-methods: PUT",
        "           < vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        "           < access-control-allow-credentials: true",
        "           < vary: Origin\n",
        "Verdict    ALLOWED",
    ] {
        assert!(out.contains(expected), "{expected:?} missing in:\n{out}");
    }
}

#[test]
fn explain_a_denial_names_the_rule_the_fix_and_the_console_message() {
    let (code, out, _) =
        run(&["explain", &example(), "--origin", "https://example.com", "--method", "DELETE", "--host", "api.test"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("origin https://example.com: not allowed by origins (line 2)"), "{out}");
    assert!(out.contains(
        "Fix        \"https://*.example.com\" covers the subdomains of example.com, never example.com itself"
    ));
    assert!(out.contains("           < 403 (answered by the edge)"));
    assert!(out.contains("refused: origin-not-allowed"));
    let console = "Access to fetch at 'https://api.test/' from origin 'https://example.com' has been blocked by CORS \
                   policy: Response to preflight request doesn't pass access control check: No \
                   'Access-Control-Allow-Origin' header is present on the requested resource.";
    assert!(out.contains(&format!("Console    Chromium (Chrome, Edge): {console}\n")), "{out}");
    let firefox = "Firefox: Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote \
                   resource at https://api.test/. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing)";
    assert!(out.contains(&format!("           {firefox}\n")), "{out}");
    // One engine: its words only.
    let (_, out, _) = run(&[
        "explain",
        &example(),
        "--origin",
        "https://example.com",
        "--method",
        "DELETE",
        "--host",
        "api.test",
        "--browser",
        "chromium",
    ]);
    assert!(out.contains(&format!("Console    {console}\n")), "{out}");
    assert!(!out.contains("Firefox"), "{out}");
    // The preflight cache: WebKit keeps the demo's 7200 s answer for 600 s.
    let (_, out, _) =
        run(&["explain", &example(), "--origin", "https://app.example.com", "--method", "PUT", "--host", "api.test"]);
    assert!(
        out.contains(
            "Cached     the browser keeps this preflight's answer: Chromium (Chrome, Edge) 7200 s, Firefox 7200 s, \
             WebKit (Safari) 600 s\n"
        ),
        "{out}"
    );

    // A route's own rules, a header it does not allow.
    let policy = file(
        r#"{"origins": ["https://app.example"], "request_headers": ["X-A"],
            "routes": [{"path_prefix": "/v2/", "request_headers": ["*"]}]}"#,
    );
    let policy = policy.to_str().unwrap();
    let args =
        ["explain", policy, "--origin", "https://app.example", "-H", "Authorization: Bearer x", "--path", "/v2/x"];
    let (code, out, _) = run(&args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Rule       routes[0] (line 2) matches (path_prefix \"/v2/\")"), "{out}");
    assert!(out.contains("header authorization: not in routes[0].request_headers (line 2): [\"*\"]"), "{out}");
    assert!(
        out.contains("Fix        add \"authorization\" to routes[0].request_headers (\"*\" never covers Authorization")
    );
    let (_, out, _) = run(&[&args[..], &["--format", "json"]].concat());
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["verdict"], "blocked");
    assert_eq!(json["route"], "routes[0]");
    assert_eq!(json["steps"][0]["denial"], "header-not-allowed: authorization");
    assert_eq!(json["steps"].as_array().unwrap().len(), 1, "a failed preflight stops the request");
}

#[test]
fn explain_names_the_entry_the_core_matched_in_the_level_that_decided() {
    let policy = file(
        r#"{"origins": ["https://a.example.com"], "methods": ["PUT"],
            "routes": [{"path_prefix": "/p/", "origins": ["https://x.test", "https://pr-*.example.com",
                                                        "https://*.example.com"]}]}"#,
    );
    let policy = policy.to_str().unwrap();
    let args = ["explain", policy, "--origin", "https://pr-7.example.com", "--method", "PUT", "--path", "/p/x"];
    let (code, out, _) = run(&args);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "origin https://pr-7.example.com: allowed by routes[0].origins[1] (line 2) \"https://pr-*.example.com\""
        ),
        "{out}"
    );
    assert!(out.contains("method PUT: listed in methods (line 1)"), "the route inherits the top level's: {out}");
}

#[test]
fn explain_says_when_a_path_reads_as_another_route() {
    let args = ["explain", &example(), "--origin", "https://app.example.com", "--path", "/internal/..%2Fapi/x"];
    let (code, out, _) = run(&args);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Rule       none: host \"\", path \"/internal/..%2Fapi/x\" (canonical path /internal/..%2Fapi/x)"),
        "{out}"
    );
    assert!(out.contains("refused: malformed-request"), "{out}");
    let (_, out, _) = run(&[&args[..], &["--format", "json"]].concat());
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((json["verdict"].as_str(), &json["route"]), (Some("blocked"), &Value::Null));
}

#[test]
fn explain_takes_the_url_the_page_fetches() {
    let (code, out, _) = run(&[
        "explain",
        &example(),
        "--origin",
        "https://evil.example",
        "--url",
        "http://api.test:8080/internal/x?a=1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "a disabled route passes the request through: {out}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["request"]["url"], "http://api.test:8080/internal/x?a=1");
    assert_eq!(json["route"], "routes[1]");
    let (code, out, _) =
        run(&["explain", &example(), "--origin", "https://evil.example", "--url", "http://api.test/x"]);
    assert_eq!(code, 1, "{out}");
    let console = "Access to fetch at 'http://api.test/x' from origin 'https://evil.example' has been blocked by CORS \
                   policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.";
    assert!(out.contains(&format!("Console    Chromium (Chrome, Edge): {console}\n")), "{out}");
    let (code, _, err) = run(&["explain", &example(), "--origin", "https://a.example", "--url", "/no-scheme"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn explain_a_request_the_browser_blocks_though_the_edge_answers() {
    // `*` answers every origin, but the browser refuses it with credentials.
    let policy = file(r#"{"origins": ["*"]}"#);
    let args =
        ["explain", policy.to_str().unwrap(), "--origin", "https://app.example", "--credentials", "--format", "json"];
    let (code, out, _) = run(&args);
    assert_eq!(code, 1, "{out}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["steps"][0]["denial"], Value::Null);
    assert_eq!(json["steps"][0]["browser"]["failure"], "wildcard-with-credentials");
    assert!(json["steps"][0]["browser"]["console"].as_str().unwrap().contains("must not be the wildcard '*'"));
    assert!(json["fixes"][0].as_str().unwrap().contains("\"credentials\": true"));
}

#[test]
fn explain_and_emit_refuse_an_invalid_policy() {
    let policy = file(r#"{"origins": ["https://a.example/"]}"#);
    let policy = policy.to_str().unwrap();
    for args in [vec!["explain", policy, "--origin", "https://a.example"], vec!["emit", "wrangler", policy]] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 1, "{args:?}");
        assert!(out.is_empty(), "nothing deployable is printed: {out}");
        assert!(
            err.contains("error[trailing-slash]: origins[0]: \"https://a.example/\" has a trailing slash"),
            "{err}"
        );
    }
}

/// The policy embedded in emitted text, parsed by the core like an edge would.
fn embedded_equals_example(embedded: &str) {
    let original: Value = serde_json::from_str(&std::fs::read_to_string(example()).unwrap()).unwrap();
    let embedded_value: Value = serde_json::from_str(embedded).unwrap();
    assert_eq!(embedded_value, original);
    assert!(Policy::parse(embedded).is_ok());
}

#[test]
fn emit_wrangler_matches_the_repository_wrangler_toml() {
    let (code, out, _) = run(&["emit", "wrangler", &example(), "--upstream", "http://127.0.0.1:8080"]);
    assert_eq!(code, 0);
    let emitted: toml::Table = out.parse().unwrap();
    let ours: toml::Table = std::fs::read_to_string(root().join("wrangler.toml")).unwrap().parse().unwrap();
    for key in ["main", "compatibility_date", "name"] {
        assert_eq!(emitted[key], ours[key], "{key}: keep emit.rs in step with wrangler.toml");
    }
    assert_eq!(emitted["build"]["command"], ours["build"]["command"]);
    assert_eq!(emitted["vars"]["UPSTREAM"].as_str(), Some("http://127.0.0.1:8080"));
    embedded_equals_example(emitted["vars"]["CORS_POLICY"].as_str().unwrap());
    // The repository's variables are the ones the Worker reads.
    assert!(ours["vars"].as_table().unwrap().contains_key("CORS_POLICY"));

    let (code, out, _) = run(&["emit", "wrangler", &environments(), "--env", "development"]);
    assert_eq!(code, 0);
    let emitted: toml::Table = out.parse().unwrap();
    let env = &emitted["env"]["development"];
    assert_eq!(env["name"].as_str(), Some("corsguard-development"));
    assert!(env["vars"].get("UPSTREAM").is_none());
    embedded_is_environment(env["vars"]["CORS_POLICY"].as_str().unwrap(), "development");
    // An environment the file does not have, or a file with environments and none chosen: refused.
    let (code, _, err) = run(&["emit", "wrangler", &environments(), "--env", "staging"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown-environment") && err.contains("development, production"), "{err}");
    let (code, _, err) = run(&["emit", "wrangler", &example(), "--env", "production"]);
    assert!(code == 1 && err.contains("the policy has no environments"), "{err}");
    let (code, out, err) = run(&["emit", "wrangler", &environments()]);
    assert!(code == 2 && out.is_empty() && err.contains("give --env NAME"), "{err}");
}

#[test]
fn emit_wrangler_binds_the_analytics_dataset_asked_for() {
    let binding = |table: &toml::Value| {
        let [dataset] = table.as_array().unwrap().as_slice() else { panic!("{table}") };
        (dataset["binding"].as_str().unwrap().to_owned(), dataset["dataset"].as_str().unwrap().to_owned())
    };
    let want = ("CORSGUARD_ANALYTICS".to_owned(), "cors_decisions".to_owned());
    let (code, out, _) = run(&["emit", "wrangler", &example(), "--analytics", "cors_decisions"]);
    let emitted: toml::Table = out.parse().unwrap();
    assert_eq!((code, binding(&emitted["analytics_engine_datasets"])), (0, want.clone()));
    let (_, out, _) =
        run(&["emit", "wrangler", &environments(), "--env", "production", "--analytics", "cors_decisions"]);
    let emitted: toml::Table = out.parse().unwrap();
    assert_eq!(binding(&emitted["env"]["production"]["analytics_engine_datasets"]), want);
    let (_, out, _) = run(&["emit", "wrangler", &example()]);
    assert!(!out.contains("analytics_engine_datasets"));
    let (code, _, err) = run(&["emit", "envoy", &example(), "--analytics", "cors_decisions"]);
    assert!(code == 2 && err.contains("--analytics applies to wrangler only"), "{err}");
}

#[test]
fn emit_envoy_is_the_filter_entry_the_envoy_suite_runs() {
    let (code, out, _) =
        run(&["emit", "envoy", &environments(), "--wasm", "/opt/corsguard.wasm", "--env", "production"]);
    assert_eq!(code, 0);
    let yaml: Value = serde_yaml_ng::from_str(&out).unwrap();
    let filter = &yaml[0];
    assert_eq!(filter["name"], "envoy.filters.http.wasm");
    let config = &filter["typed_config"]["config"];
    assert_eq!(filter["typed_config"]["@type"], "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
    assert_eq!(config["name"], "corsguard-production");
    assert_eq!(config["root_id"], "corsguard");
    assert_eq!(config["vm_config"]["runtime"], "envoy.wasm.runtime.v8");
    assert_eq!(config["vm_config"]["code"]["local"]["filename"], "/opt/corsguard.wasm");
    assert_eq!(config["configuration"]["@type"], "type.googleapis.com/google.protobuf.StringValue");
    embedded_is_environment(config["configuration"]["value"].as_str().unwrap(), "production");
    // It names the HttpConnectionManager settings envoy/envoy.yaml ships, and where the filter goes.
    let shipped = std::fs::read_to_string(root().join("envoy/envoy.yaml")).unwrap();
    for setting in [
        "normalize_path: true",
        "merge_slashes: true",
        "path_with_escaped_slashes_action: REJECT_REQUEST",
        "strip_trailing_host_dot: true",
    ] {
        assert!(out.contains(&format!("#   {setting}\n")) && shipped.contains(setting), "{setting}");
    }
    assert!(out.contains("before any filter that can\n# reply (rate limit, ext_authz, jwt_authn)"), "{out}");
    // The same shape as the filter tests/e2e/envoy_edge.py runs.
    let suite = std::fs::read_to_string(root().join("tests/e2e/envoy_edge.py")).unwrap();
    for needle in
        ["\"root_id\": \"corsguard\"", "envoy.wasm.runtime.v8", "type.googleapis.com/google.protobuf.StringValue"]
    {
        assert!(suite.contains(needle), "{needle}: keep emit.rs in step with the Envoy suite");
    }
}

#[test]
fn emit_envoy_native_is_the_dynamic_module_entry_the_envoy_suite_runs() {
    let (code, out, _) = run(&["emit", "envoy", &environments(), "--native", "--env", "production"]);
    assert_eq!(code, 0);
    let yaml: Value = serde_yaml_ng::from_str(&out).unwrap();
    let filter = &yaml[0];
    assert_eq!(filter["name"], "corsguard-production");
    let config = &filter["typed_config"];
    assert_eq!(
        config["@type"],
        "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter"
    );
    assert_eq!(config["dynamic_module_config"]["name"], "corsguard_envoy");
    assert_eq!(config["dynamic_module_config"]["metrics_namespace"], "corsguard");
    assert_eq!(config["filter_name"], "corsguard");
    assert_eq!(config["filter_config"]["@type"], "type.googleapis.com/google.protobuf.StringValue");
    embedded_is_environment(config["filter_config"]["value"].as_str().unwrap(), "production");
    assert!(out.contains("#   path_with_escaped_slashes_action: REJECT_REQUEST\n"), "{out}");
    assert!(out.contains("ENVOY_DYNAMIC_MODULES_SEARCH_PATH") && out.contains("Envoy 1.40"), "{out}");
    // The same shape as the filter tests/e2e/envoy_edge.py runs, from the library's own name.
    let suite = std::fs::read_to_string(root().join("tests/e2e/envoy_edge.py")).unwrap();
    let library = std::fs::read_to_string(root().join("envoy-module/Cargo.toml")).unwrap();
    assert!(
        suite.contains("MODULE_NAME = \"corsguard_envoy\"") && suite.contains("\"metrics_namespace\": \"corsguard\"")
    );
    assert!(library.contains("name = \"corsguard_envoy\""), "keep emit.rs in step with envoy-module/Cargo.toml");
    // --native is Envoy's alone, and finds the module by name, never by a path.
    assert_eq!(run(&["emit", "istio", &example(), "--native"]).0, 2);
    assert_eq!(run(&["emit", "envoy", &example(), "--native", "--wasm", "/opt/x.wasm"]).0, 2);
}

#[test]
fn emit_envoy_stats_labels_the_wasm_counters_with_the_cores_series() {
    let (code, out, _) = run(&["emit", "envoy-stats", &example()]);
    assert_eq!(code, 0);
    let yaml: Value = serde_yaml_ng::from_str(&out).unwrap();
    let tags = yaml["stats_config"]["stats_tags"].as_array().unwrap();
    let names: Vec<&str> = tags.iter().map(|tag| tag["tag_name"].as_str().unwrap()).collect();
    assert_eq!(names, corsguard::SERIES_LABELS);
    assert_eq!(tags[0]["regex"], r"(kind=\.=(.*?);\.;)");
}

#[test]
fn emit_istio_is_a_wasm_plugin_with_the_policy_as_its_config() {
    let (code, out, _) = run(&["emit", "istio", &example(), "--selector", "app=api", "--namespace", "edge"]);
    assert_eq!(code, 0);
    let yaml: Value = serde_yaml_ng::from_str(&out).unwrap();
    assert_eq!(yaml["kind"], "WasmPlugin");
    assert_eq!(yaml["metadata"]["namespace"], "edge");
    assert_eq!(yaml["spec"]["selector"]["matchLabels"]["app"], "api");
    assert_eq!(yaml["spec"]["phase"], "AUTHN");
    // Istio hands pluginConfig over as JSON text: the same policy.
    embedded_equals_example(&yaml["spec"]["pluginConfig"].to_string());
    assert_eq!(run(&["emit", "istio", &example(), "--selector", "nolabel"]).0, 2);
}

#[test]
fn emitted_policies_embed_any_text_safely() {
    // Quotes, backslashes, non-ASCII and TOML's closing ''' in a valid policy.
    let text = "{\"origins\": [\"https://b\u{fc}cher.example\"], \"methods\": [\"'''\"], \"expose_headers\": [\"X-\\\"Q\\\\\"]}";
    assert!(Policy::parse(text).is_err_and(|p| p.iter().any(|p| p.path.starts_with("expose"))));
    let text = "{\"origins\": [\"https://xn--bcher-kva.example\"], \"methods\": [\"'''\", \"PATCH\"], \"debug\": true}";
    let policy = file(text);
    let expected: Value = serde_json::from_str(text).unwrap();
    let (_, out, _) = run(&["emit", "wrangler", policy.to_str().unwrap()]);
    let emitted: toml::Table = out.parse().unwrap();
    let embedded: Value = serde_json::from_str(emitted["vars"]["CORS_POLICY"].as_str().unwrap()).unwrap();
    assert_eq!(embedded, expected);
    let (_, out, _) = run(&["emit", "envoy", policy.to_str().unwrap()]);
    let yaml: Value = serde_yaml_ng::from_str(&out).unwrap();
    let embedded: Value =
        serde_json::from_str(yaml[0]["typed_config"]["config"]["configuration"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(embedded, expected);
}

#[test]
fn help_documents_the_exit_codes() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes:") && out.contains("2  the command could not run"));
    assert_eq!(run(&["frobnicate"]).0, 2);
}

/// Every validation vector through `corsguard check --format json`: the same problems (severity,
/// path, code, message) as the vector lists, each located in the file, and the exit code.
#[test]
fn check_reports_every_validation_vector() {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/vectors/validation.json")).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let text = case["text"].as_str().map_or_else(|| case["policy"].to_string(), String::from);
        let errors = case["errors"].as_array().unwrap();
        // Edges refuse a file with environments; `check` checks each of them instead (below).
        if errors.iter().any(|e| e["code"] == "unresolved-environments") {
            continue;
        }
        let (code, out, _) = run(&["check", file(&text).to_str().unwrap(), "--format", "json"]);
        let report: Value = serde_json::from_str(&out).unwrap();
        if code != i32::from(!errors.is_empty()) {
            failures.push(format!("{name}: exit code {code}"));
        }
        // The vectors are the core's; what edges' servers refuse and what engines do differently
        // are the command's own warnings (cli/src/edge_methods.rs and cli/src/engines.rs, checked
        // against the runtimes by tests/e2e/test_methods.py and tests/e2e/test_browser.py).
        let own = ["edge-refuses-method", "engines-differ"];
        let mut got: Vec<&Value> = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| !own.iter().any(|code| p["code"] == *code))
            .collect();
        for (severity, key) in [("error", "errors"), ("warning", "warnings")] {
            for want in case[key].as_array().unwrap() {
                let found = got.iter().position(|p| {
                    // `check` shows an invalid-json problem's place up front, not in its message.
                    let place = format!(" at line {} column {}", p["line"], p["column"]);
                    let message = p["message"].as_str().unwrap().to_string()
                        + if p["code"] == "invalid-json" { &place } else { "" };
                    p["severity"] == severity
                        && p["path"] == want["path"]
                        && p["code"] == want["code"]
                        && message.contains(want["contains"].as_str().unwrap())
                });
                match found {
                    Some(at) if got[at]["line"].is_u64() => drop(got.remove(at)),
                    Some(_) => failures.push(format!("{name}: {} is not located", want["path"])),
                    None => failures.push(format!("{name}: no {severity} {want}")),
                }
            }
        }
        failures.extend(got.iter().map(|p| format!("{name}: unexpected {p}")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn emit_fastly_is_the_repository_fastly_toml_and_keeps_the_policy_in_one_entry() {
    let output = Command::new(env!("CARGO_BIN_EXE_corsguard"))
        .args(["emit", "fastly", "examples/policy.json"])
        .current_dir(root())
        .output()
        .unwrap();
    let out = String::from_utf8(output.stdout).unwrap();
    let ours = std::fs::read_to_string(root().join("fastly/fastly.toml")).unwrap();
    assert_eq!(out, ours, "fastly/fastly.toml is out of date: run corsguard emit fastly examples/policy.json");
    let emitted: toml::Table = out.parse().unwrap();
    assert!(emitted.get("setup").unwrap().get("backends").is_none(), "no production backend unless --upstream");
    assert_eq!(emitted["local_server"]["backends"]["origin"]["url"].as_str(), Some("http://127.0.0.1:8080"));
    let local = &emitted["local_server"]["config_stores"]["corsguard"];
    assert_eq!(local["format"].as_str(), Some("inline-toml"));
    embedded_equals_example(local["contents"]["policy"].as_str().unwrap());
    let setup = emitted["setup"]["config_stores"]["corsguard"]["items"]["policy"]["value"].as_str().unwrap();
    embedded_equals_example(setup);
    assert!(!setup.contains('\n'), "one line: a Config Store entry holds 8000 characters");

    let (code, out, _) =
        run(&["emit", "fastly", &environments(), "--upstream", "https://api.example.com:8443/", "--env", "production"]);
    assert_eq!(code, 0);
    let emitted: toml::Table = out.parse().unwrap();
    assert_eq!(emitted["name"].as_str(), Some("corsguard-production"));
    let backend = &emitted["setup"]["backends"]["origin"];
    assert_eq!((backend["address"].as_str(), backend["port"].as_integer()), (Some("api.example.com"), Some(8443)));
    let (_, out, _) = run(&["emit", "fastly", &example(), "--upstream", "http://[::1]"]);
    let emitted: toml::Table = out.parse().unwrap();
    let backend = &emitted["setup"]["backends"]["origin"];
    assert_eq!((backend["address"].as_str(), backend["port"].as_integer()), (Some("[::1]"), Some(80)));
}

#[test]
fn emit_fastly_refuses_a_policy_too_long_for_a_config_store_entry() {
    let origins: Vec<String> = (0..400).map(|i| format!("https://app{i}.example.com")).collect();
    let policy = file(&serde_json::json!({ "origins": origins }).to_string());
    let (code, out, err) = run(&["emit", "fastly", policy.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("a Fastly Config Store entry holds at most 8000"), "{err}");
}

#[test]
fn check_warns_where_an_edges_server_refuses_a_listed_method() {
    let policy = file(
        r#"{"origins": ["https://a.example"], "methods": ["PURGE", "NEW"],
        "routes": [{"path_prefix": "/q/", "methods": ["QUERY"]}]}"#,
    );
    let (code, out, _) = run(&["check", policy.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "warnings only: {out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let warned: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["code"] == "edge-refuses-method")
        .map(|p| (p["path"].as_str().unwrap().to_string(), p["message"].as_str().unwrap().to_string()))
        .collect();
    let paths: Vec<&str> = warned.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(paths, ["methods[1]", "methods[1]", "methods[1]", "routes[0].methods[0]"], "{warned:?}");
    assert!(warned[0].1.starts_with("workerd (Cloudflare Workers) answers 501 to NEW before corsguard sees it"));
    assert!(warned[1].1.starts_with("Node's HTTP server"));
    assert!(warned[2].1.starts_with("jco serve"));
    assert!(warned[3].1.starts_with("Envoy 1.40"));
    let (code, _, _) = run(&["check", policy.to_str().unwrap(), "--strict"]);
    assert_eq!(code, 1);
}

#[test]
fn check_checks_every_environment_and_names_where_each_problem_is() {
    let text = r#"{
  "origins": ["https://app.example.com/"],
  "environments": {
    "development": { "origins": ["http://localhost:*"] },
    "staging": { "max_age": -1 },
    "production": {}
  }
}"#;
    let path = file(text);
    let (code, out, _) = run(&["check", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["environments"], serde_json::json!(["development", "staging", "production"]));
    let problems = report["problems"].as_array().unwrap();
    let shared = problems.iter().find(|p| p["code"] == "trailing-slash").unwrap();
    assert_eq!((shared["path"].as_str(), shared["line"].as_u64()), (Some("origins[0]"), Some(2)));
    assert_eq!(
        shared["environments"],
        serde_json::json!(["staging", "production"]),
        "not development: it replaces origins"
    );
    let own = problems.iter().find(|p| p["code"] == "max-age").unwrap();
    assert_eq!((own["path"].as_str(), own["line"].as_u64()), (Some("environments.staging.max_age"), Some(5)));
    assert_eq!(problems.len(), 2, "{problems:?}");

    let (code, out, _) = run(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains(":2:15: error[trailing-slash]: origins[0] (in staging, production): "), "{out}");
    assert!(out.contains(":5:18: error[max-age]: environments.staging.max_age: "), "{out}");
    let (code, out, _) = run(&["check", path.to_str().unwrap(), "--env", "development"]);
    assert!(code == 0 && out.contains("valid in environment development"), "{out}");

    let (code, out, _) = run(&["check", &environments()]);
    assert!(code == 0 && out.contains("valid in every environment: development, production"), "{out}");
    // One environment is still a choice to make: never taken silently.
    let single = file(r#"{"origins": ["https://a.example"], "environments": {"only": {}}}"#);
    let (code, _, err) = run(&["emit", "envoy", single.to_str().unwrap()]);
    assert!(code == 2 && err.contains("give --env NAME"), "{err}");
    let (code, _, err) = run(&["explain", &environments(), "--origin", "http://localhost:5173"]);
    assert!(code == 2 && err.contains("give --env NAME"), "{err}");
    let (code, out, _) =
        run(&["explain", &environments(), "--env", "development", "--origin", "http://localhost:5173"]);
    assert!(code == 0 && out.contains("ALLOWED"), "{out}");
}

#[test]
fn check_names_the_shared_routes_an_environment_drops() {
    let text = r#"{
  "origins": ["https://app.example.com"],
  "credentials": true,
  "routes": [{ "path_prefix": "/admin/", "origins": ["https://admin.example.com"] }],
  "environments": {
    "staging": { "routes": [{ "path_prefix": "/beta/", "origins": ["*"], "credentials": false }] },
    "production": {}
  }
}"#;
    let path = file(text);
    let (code, out, _) = run(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(":6:18: warning[replaced-routes]: environments.staging.routes: replaces the shared routes whole, so routes[0] (path_prefix \"/admin/\") does not apply in staging"),
        "{out}"
    );
    let (code, _, _) = run(&["check", path.to_str().unwrap(), "--strict"]);
    assert_eq!(code, 1);
}

#[test]
fn emit_component_prints_the_resolved_policy_the_build_embeds() {
    let (code, out, _) = run(&["emit", "component", &environments(), "--env", "development"]);
    assert_eq!(code, 0);
    embedded_is_environment(&out, "development");
    let (code, out, _) = run(&["emit", "component", &example()]);
    assert_eq!(code, 0);
    embedded_equals_example(&out);
}

#[test]
fn import_writes_the_policy_to_out_and_check_accepts_it() {
    let source = root().join("cli/tests/import/ingress-nginx/shop.yaml");
    let out = file("");
    let (out_path, source) = (out.to_str().unwrap(), source.to_str().unwrap());
    let (code, stdout, stderr) = run(&["import", "ingress-nginx", source, "--out", out_path]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.ends_with(&format!("Result     wrote {out_path}\n")), "{stderr}");
    let (code, printed, _) = run(&["import", "ingress-nginx", source]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), printed);
    let (code, checked, _) = run(&["check", out_path]);
    assert_eq!(code, 0, "{checked}");
}
