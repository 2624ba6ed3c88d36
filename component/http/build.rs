//! Embeds the policy and the upstream: a `wasi:http/proxy` component has no environment and no
//! files to read them from at run time. The policy is validated here, with the core, so a policy
//! with an error never becomes a component.
//!
//! `CORSGUARD_POLICY`: the policy file (default `examples/policy.json`).
//! `CORSGUARD_UPSTREAM`: `http://host:port` or `https://host:port` (default `http://127.0.0.1:8080`).
//! `CORSGUARD_UPSTREAM_TIMEOUT`: how many seconds the upstream may take to send its status and
//! headers before the answer is a `504` (default: the host's own limit).

use std::{env, fs, path::PathBuf, process::exit};

fn fail(message: &str) -> ! {
    eprintln!("corsguard-http-component: {message}");
    exit(1);
}

fn main() {
    println!("cargo:rerun-if-env-changed=CORSGUARD_POLICY");
    println!("cargo:rerun-if-env-changed=CORSGUARD_UPSTREAM");
    println!("cargo:rerun-if-env-changed=CORSGUARD_UPSTREAM_TIMEOUT");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let path =
        env::var("CORSGUARD_POLICY").map(PathBuf::from).unwrap_or_else(|_| manifest.join("../../examples/policy.json"));
    println!("cargo:rerun-if-changed={}", path.display());
    let policy = fs::read_to_string(&path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    match corsguard::Policy::parse(&policy) {
        Ok(parsed) => {
            for warning in parsed.warnings() {
                println!("cargo:warning={}: {warning}", path.display());
            }
        }
        Err(problems) => fail(&format!("{} was refused:\n{problems}", path.display())),
    }

    let upstream = env::var("CORSGUARD_UPSTREAM").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let (https, authority) = match upstream.trim_end_matches('/').split_once("://") {
        Some(("http", authority)) => (false, authority),
        Some(("https", authority)) => (true, authority),
        _ => fail(&format!("CORSGUARD_UPSTREAM {upstream:?} is not http://host[:port] or https://host[:port]")),
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        fail(&format!("CORSGUARD_UPSTREAM {upstream:?}: give the scheme and authority only"));
    }

    let timeout = match env::var("CORSGUARD_UPSTREAM_TIMEOUT") {
        Err(_) => None,
        Ok(text) => match text.trim().parse::<f64>() {
            // At most 600 s, in nanoseconds: well inside a u64.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(seconds) if seconds > 0.0 && seconds <= 600.0 => Some((seconds * 1e9).ceil() as u64),
            _ => {
                fail(&format!("CORSGUARD_UPSTREAM_TIMEOUT {text:?}: give a number of seconds, above 0 and at most 600"))
            }
        },
    };

    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    let config = format!(
        "/// The policy file, validated when the component was built.\n\
         pub const POLICY: &str = {policy:?};\n\
         /// Whether the upstream is reached over HTTPS.\n\
         pub const UPSTREAM_HTTPS: bool = {https};\n\
         /// The upstream's `host[:port]`.\n\
         pub const UPSTREAM_AUTHORITY: &str = {authority:?};\n\
         /// How long the upstream may take to send its status and headers, in nanoseconds.\n\
         pub const UPSTREAM_TIMEOUT_NS: Option<u64> = {timeout:?};\n"
    );
    fs::write(out.join("config.rs"), config).unwrap_or_else(|e| fail(&format!("writing config.rs: {e}")));
}
