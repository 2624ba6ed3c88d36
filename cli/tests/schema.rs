//! The JSON Schema: one source of truth with the core's reader, checked in as generated, and
//! agreeing with the core on every policy of the conformance vectors.

// A test may panic; only the command must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::tools::{FIELDS, POLICY_FIELDS, ROUTE_FIELDS};
use corsguard::{Code, Policy, Problem};
use corsguard_cli::schema;
use serde_json::{Value, json};
use std::{fs, path::Path};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema::schema()).unwrap()
}

#[test]
fn every_field_of_the_core_is_described_once_and_nothing_else() {
    let mut described: Vec<&str> = schema::DESCRIBED.iter().map(|d| d.name).collect();
    let mut fields: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
    described.sort_unstable();
    fields.sort_unstable();
    assert_eq!(described, fields);
    let schema = schema::schema();
    let top: Vec<&String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !["$schema", "environments"].contains(&k.as_str()))
        .collect();
    let route: Vec<&String> = schema["definitions"]["route"]["properties"].as_object().unwrap().keys().collect();
    // In docs/policy.md's order, which editors show.
    assert_eq!(top, POLICY_FIELDS);
    assert_eq!(route, ROUTE_FIELDS);
    // An environment gives exactly the top level's fields.
    let environment: Vec<&String> = schema["properties"]["environments"]["additionalProperties"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(environment, POLICY_FIELDS);
}

#[test]
fn the_checked_in_schema_is_the_generated_one() {
    let path = root().join("policy.schema.json");
    let checked_in = fs::read_to_string(&path).unwrap();
    assert!(
        checked_in == schema::text(),
        "policy.schema.json is stale: run `cargo run -q -p corsguard-cli -- schema > policy.schema.json`"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_corsguard")).arg("schema").output().unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), checked_in);
}

/// The core's problems about the file's shape, which the schema must catch too.
const STRUCTURAL: [Code; 5] =
    [Code::WrongType, Code::UnknownField, Code::MisplacedField, Code::RouteMatchesNothing, Code::Mode];

fn is_structural(problem: &Problem) -> bool {
    STRUCTURAL.contains(&problem.code) || (problem.code == Code::NoOrigins && problem.message.contains("is required"))
}

#[test]
fn schema_and_core_agree_on_the_validation_vectors() {
    let cases: Vec<Value> =
        serde_json::from_str(&fs::read_to_string(root().join("tests/vectors/validation.json")).unwrap()).unwrap();
    let validator = validator();
    let (mut valid, mut structural) = (0, 0);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let text = case["text"].as_str().map_or_else(|| case["policy"].to_string(), String::from);
        let Ok(policy) = serde_json::from_str::<Value>(&text) else { continue };
        // A schema sees parsed JSON, where a repeated key has already vanished: the core refuses it.
        if case["errors"].as_array().unwrap().iter().any(|e| e["code"] == "duplicate-key") {
            continue;
        }
        let schema_ok = validator.is_valid(&policy);
        match Policy::parse(&text) {
            // Whatever the core accepts, editors must not flag.
            Ok(_) => {
                assert!(schema_ok, "{name}: the core accepts it, the schema does not");
                valid += 1;
            }
            Err(problems) => {
                if problems.iter().any(is_structural) {
                    assert!(!schema_ok, "{name}: the core finds a structural error, the schema none: {problems}");
                    structural += 1;
                }
            }
        }
    }
    assert!(valid >= 2 && structural >= 3, "the vectors cover too little: {valid} valid, {structural} structural");
}

/// Every example the schema gives for a field is a value the core accepts there.
#[test]
fn the_schemas_examples_are_accepted_by_the_core() {
    let schema = schema::schema();
    let mut count = 0;
    for (field, property) in schema["properties"].as_object().unwrap() {
        let examples = property["examples"].as_array().or(property["items"]["examples"].as_array());
        for example in examples.into_iter().flatten() {
            let value = if property["type"] == "array" { json!([example]) } else { example.clone() };
            let mut policy = json!({ "origins": ["https://app.example.com"] });
            policy[field] = value;
            assert!(validator().is_valid(&policy), "schema: {policy}");
            assert!(Policy::parse(&policy.to_string()).is_ok(), "core: {policy}");
            count += 1;
        }
    }
    assert!(count >= 10, "only {count} examples");
}

#[test]
fn every_decision_vector_policy_and_the_example_are_schema_valid() {
    let validator = validator();
    let mut policies =
        vec![serde_json::from_str(&fs::read_to_string(root().join("examples/policy.json")).unwrap()).unwrap()];
    for entry in fs::read_dir(root().join("tests/vectors/decisions")).unwrap() {
        let file: Value = serde_json::from_str(&fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        policies.push(file["policy"].clone());
    }
    assert!(policies.len() >= 10, "{} policies", policies.len());
    for policy in &policies {
        assert!(Policy::parse(&policy.to_string()).is_ok(), "{policy}");
        let errors: Vec<String> = validator.iter_errors(policy).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{policy}: {errors:?}");
    }
}

#[test]
fn schema_and_core_agree_on_each_field_with_a_right_and_a_wrong_value() {
    let validator = validator();
    let right: [(&str, Value); 16] = [
        ("max_age", json!(7200.0)),
        ("preflight_status", json!(2.04e2)),
        ("methods", json!(["PUT"])),
        ("request_headers", json!(["X-Api-Key"])),
        ("expose_headers", json!(["X-Request-Id"])),
        ("credentials", json!(true)),
        ("max_age", json!(600)),
        ("private_network", json!(true)),
        ("preflight_status", json!(200)),
        ("mode", json!("report-only")),
        ("debug", json!(true)),
        ("routes", json!([{ "host": "api.example.com", "disabled": true }])),
        ("host", json!("api.example.com:8443")),
        ("path_prefix", json!("/v1/")),
        ("case_sensitive", json!(false)),
        ("disabled", json!(false)),
    ];
    let wrong: [(&str, Value); 15] = [
        ("max_age", json!(7200.5)),
        ("methods", json!("PUT")),
        ("request_headers", json!([1])),
        ("expose_headers", json!({})),
        ("credentials", json!("yes")),
        ("max_age", json!(-1)),
        ("private_network", json!(1)),
        ("preflight_status", json!(302)),
        ("mode", json!("enforcing")),
        ("debug", json!(null)),
        ("routes", json!([{ "origins": [] }])),
        ("host", json!(8443)),
        ("path_prefix", json!("v1/")),
        ("case_sensitive", json!("no")),
        ("disabled", json!("true")),
    ];
    let policy = |field: &str, value: &Value| {
        if ["host", "path_prefix", "case_sensitive", "disabled"].contains(&field) {
            let mut route = json!({ "path_prefix": "/r/" });
            route[field] = value.clone();
            json!({ "origins": ["https://app.example.com"], "routes": [route] })
        } else {
            let mut policy = json!({ "origins": ["https://app.example.com"] });
            policy[field] = value.clone();
            policy
        }
    };
    for (field, value) in &right {
        let policy = policy(field, value);
        assert!(Policy::parse(&policy.to_string()).is_ok(), "core: {policy}");
        assert!(validator.is_valid(&policy), "schema: {policy}");
    }
    for (field, value) in &wrong {
        let policy = policy(field, value);
        assert!(Policy::parse(&policy.to_string()).is_err(), "core: {policy}");
        assert!(!validator.is_valid(&policy), "schema: {policy}");
    }
    // Together the two lists touch every field (origins is in every policy).
    let mut touched: Vec<&str> = right.iter().map(|(f, _)| *f).chain(["origins"]).collect();
    touched.sort();
    touched.dedup();
    let mut all: Vec<&str> = POLICY_FIELDS.iter().chain(ROUTE_FIELDS.iter()).copied().collect();
    all.sort();
    all.dedup();
    assert_eq!(touched, all);
}
