//! A filter configuration: the policy, validated and compiled once on Envoy's main thread, and
//! the counters it defines; shared read-only by every worker's streams.

use crate::abi::{self, ConfigHandle, Level};
use crate::counters::Counters;
use corsguard::{Policy, Problem, Severity};

/// What every stream of one filter configuration shares.
pub(crate) struct Config {
    pub(crate) policy: Policy,
    pub(crate) counters: Counters,
}

// Envoy's workers read one configuration at once: it must hold nothing they could race on.
const _: fn() = || {
    fn shared_across_threads<T: Sync + Send>() {}
    shared_across_threads::<Config>();
};

impl Config {
    /// Reads the policy from the filter configuration; `None`, with every problem logged, when it
    /// cannot be used (Envoy then refuses the configuration).
    pub(crate) fn load(envoy: &ConfigHandle, text: &[u8]) -> Option<Self> {
        let Ok(json) = core::str::from_utf8(text) else {
            abi::log(Level::Error, "corsguard: policy rejected: the filter configuration is not UTF-8");
            return None;
        };
        if json.trim().is_empty() {
            abi::log(
                Level::Error,
                "corsguard: no policy: filter_config must be a google.protobuf.StringValue holding the policy JSON",
            );
            return None;
        }
        let policy = match Policy::parse(json) {
            Ok(policy) => policy,
            Err(problems) => {
                let errors = problems.iter().filter(|p| p.severity == Severity::Error).count();
                abi::log(
                    Level::Error,
                    &format!("corsguard: policy rejected with {errors} error(s); no request is served"),
                );
                problems.iter().for_each(report);
                return None;
            }
        };
        policy.warnings().iter().for_each(report);
        let Some(counters) = Counters::define(envoy, &policy) else {
            abi::log(Level::Error, "corsguard: the counters could not be defined, or their thread started");
            return None;
        };
        abi::log(Level::Info, "corsguard: policy loaded");
        Some(Config { policy, counters })
    }
}

/// Logs one problem of the policy file, at error or warning level.
fn report(problem: &Problem) {
    let level = match problem.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warn,
    };
    abi::log(level, &format!("corsguard: policy {problem}"));
}
