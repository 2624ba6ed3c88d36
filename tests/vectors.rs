//! Replays `tests/vectors/` through the engine: the same files the Envoy and workerd suites replay.

// A test or benchmark may panic; only the engine must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::{Action, HeaderLines, OWNED_HEADERS, Policy, Request, ResponseHeaders, Severity, join_lines};
use serde_json::Value;
use std::borrow::Cow;
use std::{fs, path::Path};

/// The upstream's headers (`tests/vectors/upstream.json`), as header lines.
fn upstream_lines() -> Vec<(String, String)> {
    let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/upstream.json")).unwrap();
    let upstream: Value = serde_json::from_str(&text).unwrap();
    let line = |line: &Value| (line[0].as_str().unwrap().to_ascii_lowercase(), line[1].as_str().unwrap().to_owned());
    upstream["headers"].as_array().unwrap().iter().map(line).collect()
}

fn tokens(value: Option<String>) -> Vec<String> {
    let mut tokens: Vec<String> =
        value.unwrap_or_default().split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect();
    tokens.sort();
    tokens
}

/// A request header's lines (`headers` is an object, or a list of `[name, value]` lines in order),
/// joined as a host joins repeated lines (`, `); `None` when absent.
fn header(request: &Value, name: &str) -> Option<Vec<u8>> {
    let lines: Vec<(&str, &str)> = match &request["headers"] {
        Value::Object(headers) => headers.iter().map(|(n, v)| (n.as_str(), v.as_str().unwrap())).collect(),
        Value::Array(lines) => lines.iter().map(|l| (l[0].as_str().unwrap(), l[1].as_str().unwrap())).collect(),
        _ => Vec::new(),
    };
    let values = lines.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_bytes());
    join_lines(values).map(Cow::into_owned)
}

/// Every way the engine's decision differs from the case's expectation.
fn mismatches(policy: &Policy, case: &Value) -> Vec<String> {
    let request = &case["request"];
    let expect = &case["expect"];
    let [origin, request_method, request_headers, request_private_network] =
        Request::HEADERS.map(|name| header(request, name));
    let view = Request {
        method: request["method"].as_str().unwrap_or("GET").as_bytes(),
        // Every runner talks plain HTTP to its edge.
        scheme: Some(b"http"),
        host: request["host"].as_str().unwrap_or("api.test").as_bytes(),
        path: request["path"].as_str().unwrap_or("/").as_bytes(),
        origin: origin.as_deref(),
        request_method: request_method.as_deref(),
        request_headers: request_headers.as_deref(),
        request_private_network: request_private_network.as_deref(),
    };
    let decision = policy.evaluate(&view);
    let mut problems = Vec::new();
    let denial = decision.denial.map(|d| d.to_string());
    if denial.as_deref() != expect["denial"].as_str() {
        problems.push(format!("denial: want {}, got {denial:?}", expect["denial"]));
    }
    let wanted = |name: &str| {
        let headers = expect["headers"].as_object();
        headers.and_then(|h| h.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))).and_then(|(_, v)| v.as_str())
    };
    let mut upstream = HeaderLines::<String>(upstream_lines());
    let owned = OWNED_HEADERS.iter().copied();
    match (expect["action"].as_str(), &decision.action) {
        (Some("respond"), Action::Respond { status, headers }) => {
            if Some(u64::from(*status)) != expect["status"].as_u64() {
                problems.push(format!("status: want {}, got {status}", expect["status"]));
            }
            for name in owned.chain(["vary"]) {
                if headers.get(name) != wanted(name) {
                    problems.push(format!("{name}: want {:?}, got {:?}", wanted(name), headers.get(name)));
                }
            }
        }
        (Some("forward"), Action::Forward(edits)) => {
            edits.apply(&mut upstream);
            for name in owned {
                let got = upstream.get_all(name);
                if got.as_deref() != wanted(name) {
                    problems.push(format!("{name}: want {:?}, got {got:?}", wanted(name)));
                }
            }
            let extra = expect["vary"].as_array().into_iter().flatten().filter_map(Value::as_str);
            let want_vary = tokens(Some(extra.chain(["Accept-Encoding"]).collect::<Vec<_>>().join(",")));
            if tokens(upstream.get_all("vary")) != want_vary {
                problems.push(format!("vary: want {want_vary:?}, got {:?}", upstream.get_all("vary")));
            }
        }
        (Some("pass"), Action::PassThrough) => {}
        (want, got) => problems.push(format!("action: want {want:?}, got {got:?}")),
    }
    problems
}

fn vector_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/decisions");
    let mut files: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn decision_vectors() {
    let mut failures = Vec::new();
    let mut count = 0;
    for file in vector_files() {
        let data: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        let policy = Policy::parse(&data["policy"].to_string()).unwrap_or_else(|p| panic!("{}: {p}", file.display()));
        for case in data["cases"].as_array().unwrap() {
            count += 1;
            for problem in mismatches(&policy, case) {
                failures.push(format!("{} / {}: {problem}", file.display(), case["name"]));
            }
        }
    }
    assert!(count >= 50, "only {count} cases found");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn validation_vectors() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/validation.json");
    let cases: Vec<Value> = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let text = case["text"].as_str().map_or_else(|| case["policy"].to_string(), String::from);
        let problems: Vec<_> = match Policy::parse(&text) {
            Ok(policy) => policy.warnings().to_vec(),
            Err(problems) => problems.iter().cloned().collect(),
        };
        for (severity, key) in [(Severity::Error, "errors"), (Severity::Warning, "warnings")] {
            let mut got: Vec<_> = problems.iter().filter(|p| p.severity == severity).collect();
            for want in case[key].as_array().unwrap() {
                let (path, code, text) = (
                    want["path"].as_str().unwrap(),
                    want["code"].as_str().unwrap(),
                    want["contains"].as_str().unwrap(),
                );
                match got.iter().position(|p| p.path == path && p.code.as_str() == code && p.message.contains(text)) {
                    Some(found) => drop(got.remove(found)),
                    None => failures.push(format!("{name}: no {key} [{code}] at {path:?} containing {text:?}")),
                }
            }
            failures.extend(got.iter().map(|p| format!("{name}: unexpected {p}")));
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn invalid_json_names_line_and_column() {
    let problems = Policy::parse("{\n  \"origins\": [\"https://a.example.com\",]\n}").unwrap_err();
    let message = problems.to_string();
    assert!(
        message.starts_with("error[invalid-json]: not valid JSON: ") && message.contains("line 2 column"),
        "{message}"
    );
}
