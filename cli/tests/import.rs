//! `corsguard import`: each case under tests/import/<source>/ is a `.expected` file whose first
//! line is the command (`$ corsguard import ingress-nginx shop.yaml --lossy`, run in that folder)
//! and the rest its exit code, standard output and standard error, compared exactly. Every policy
//! an import writes is also read back by the core: it must have no error. `CORSGUARD_BLESS=1`
//! rewrites the files from what the command does now (then read the diff).
//!
//! A `.vectors.json` beside them holds the source's semantics as requests: what the source did
//! with each (`before`: who answered, and what a browser made of it) and what the imported policy
//! must do (`now`); every difference must be one the report announces.

// A test may panic; only the command must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::tools::PolicyView;
use corsguard::{Action, Policy, Request};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn outcome(folder: &Path, command: &str) -> (String, i32, String) {
    let args: Vec<&str> =
        command.strip_prefix("$ corsguard ").expect("a case starts with `$ corsguard `").split(' ').collect();
    let output = Command::new(env!("CARGO_BIN_EXE_corsguard")).args(&args).current_dir(folder).output().unwrap();
    let code = output.status.code().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (format!("{command}\nexit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"), code, stdout)
}

/// Each file under tests/import/<source>/ whose name ends with `suffix`, with its folder, in order.
fn files(suffix: &str) -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import");
    let mut found = Vec::new();
    for source in std::fs::read_dir(&root).unwrap() {
        let folder = source.unwrap().path();
        for file in std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()) {
            if file.to_string_lossy().ends_with(suffix) {
                found.push((folder.clone(), file));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_import_case_gives_its_policy_and_report() {
    let mut cases = 0;
    for (folder, case) in files(".expected") {
        let expected = std::fs::read_to_string(&case).unwrap();
        let command = expected.lines().next().unwrap();
        let (actual, code, stdout) = outcome(&folder, command);
        if std::env::var_os("CORSGUARD_BLESS").is_some() {
            std::fs::write(&case, &actual).unwrap();
        } else {
            assert_eq!(actual, expected, "{}", case.display());
        }
        if code == 0 && !command.contains("--format json") {
            let view = PolicyView::parse(&stdout);
            assert!(view.is_ok(), "{}: the policy written has errors: {:?}", case.display(), view.err());
        }
        cases += 1;
    }
    assert!(cases >= 8, "{cases} cases");
}

/// Who answers a request under a policy, and what a browser makes of it: `edge:allowed` (answered
/// at the edge), `application:refused` (forwarded, without CORS), `application:untouched`. A
/// request with `"credentials": true` is allowed only with `Access-Control-Allow-Credentials: true`
/// and an origin other than `*`, and a preflight only for a method the answer allows, as the
/// browser's CORS check reads it (tests/e2e/test_import.py reads real answers the same way).
fn now(policy: &Policy, case: &Value) -> String {
    let text = |key: &str| case[key].as_str().map(str::as_bytes);
    let request = Request {
        method: text("method").unwrap(),
        scheme: Some(b"https"),
        host: text("host").unwrap(),
        path: text("path").unwrap(),
        origin: text("origin"),
        request_method: text("request_method"),
        ..Request::default()
    };
    let credentials = case["credentials"].as_bool() == Some(true);
    let allows = |headers: &corsguard::HeaderList| match headers.get("access-control-allow-origin") {
        None => false,
        Some(origin) => {
            !credentials || (origin != "*" && headers.get("access-control-allow-credentials") == Some("true"))
        }
    };
    let method_allowed = |headers: &corsguard::HeaderList| match case["request_method"].as_str() {
        None | Some("GET" | "HEAD" | "POST") => true,
        Some(method) => headers.get("access-control-allow-methods").is_some_and(|allowed| {
            allowed.split(',').map(str::trim).any(|m| m == method || (m == "*" && !credentials))
        }),
    };
    let verdict = |allowed: bool| if allowed { "allowed" } else { "refused" };
    match policy.evaluate(&request).action {
        Action::PassThrough => "application:untouched".into(),
        Action::Respond { status, headers } => {
            format!("edge:{}", verdict((200..300).contains(&status) && allows(&headers) && method_allowed(&headers)))
        }
        Action::Forward(edits) => format!("application:{}", verdict(allows(&edits.headers))),
    }
}

#[test]
fn an_import_keeps_the_source_semantics_but_for_what_its_report_announces() {
    let mut checked = 0;
    for (folder, file) in files(".vectors.json") {
        let vectors: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let (report, code, policy) = outcome(&folder, vectors["command"].as_str().unwrap());
        assert_eq!(code, 0, "{report}");
        let policy = Policy::parse(&policy).unwrap();
        for case in vectors["requests"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let (before, now_expected) = (case["before"].as_str().unwrap(), case["now"].as_str().unwrap());
            assert_eq!(now(&policy, case), now_expected, "{}: {name}", file.display());
            match case["announced"].as_str() {
                Some(words) => {
                    assert!(before != now_expected && report.contains(words), "{}: {name}: {words}", file.display())
                }
                None => assert_eq!(
                    before,
                    now_expected,
                    "{}: {name}: a difference the report does not announce",
                    file.display()
                ),
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} requests");
}
