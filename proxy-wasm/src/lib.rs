//! corsguard for Envoy and Istio: the policy as a proxy-wasm HTTP filter.
//!
//! The plugin configuration is the policy file (the same JSON as on every edge). It is validated
//! and compiled once per VM in the root context (`on_configure`); a policy with any error is
//! refused, every error logged, and Envoy then refuses the filter. Each HTTP context shares the
//! compiled policy and only translates: it reads the few request headers the decision needs, hands
//! them to [`corsguard::Policy::evaluate`], and applies the [`corsguard::Decision`] as it is:
//! preflights answered with a local reply, other responses edited, or nothing changed.

mod counters;
mod filter;
mod header_map;
mod response;

use corsguard::{Policy, Problem, Severity};
use counters::Counters;
use filter::{Filter, Shared};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};
use std::rc::Rc;

/// The module's entry point (`_initialize`): one root context per plugin and VM.
#[allow(missing_docs)]
mod entry {
    use super::{Root, RootContext};

    proxy_wasm::main! {{
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { shared: None }) });
    }}
}

/// One per plugin and VM (that is, per Envoy worker): holds the compiled policy.
struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {
    /// The VM is going away: the last counts still reach Envoy.
    fn on_done(&mut self) -> bool {
        self.on_tick();
        true
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        // Whatever happens below, no previous policy outlives a new configuration.
        if let Some(previous) = self.shared.take() {
            previous.counters.flush();
        }
        let config = hostcalls::get_buffer(proxy_wasm::types::BufferType::PluginConfiguration, 0, usize::MAX);
        let Ok(Some(config)) = config else {
            log(LogLevel::Error, "no policy: the plugin configuration must hold the policy JSON");
            return false;
        };
        let Ok(json) = std::str::from_utf8(&config) else {
            log(LogLevel::Error, "policy rejected: the plugin configuration is not UTF-8");
            return false;
        };
        let policy = match Policy::parse(json) {
            Ok(policy) => policy,
            Err(problems) => {
                let errors = problems.iter().filter(|p| p.severity == Severity::Error).count();
                log(LogLevel::Error, &format!("policy rejected with {errors} error(s); no request is served"));
                problems.iter().for_each(report);
                return false;
            }
        };
        policy.warnings().iter().for_each(report);
        let Some(counters) = Counters::define(&policy) else {
            log(LogLevel::Error, "could not define the counters");
            return false;
        };
        self.shared = Some(Rc::new(Shared { policy, counters }));
        let _ = hostcalls::set_tick_period(counters::FLUSH_PERIOD);
        log(LogLevel::Info, "policy loaded");
        true
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            shared.counters.flush();
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter::new(self.shared.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Logs one problem of the policy file, at error or warning level.
fn report(problem: &Problem) {
    let level = match problem.severity {
        Severity::Error => LogLevel::Error,
        Severity::Warning => LogLevel::Warn,
    };
    log(level, &format!("policy {problem}"));
}

/// Logs a line; a host that refuses it has nowhere else to put it.
pub(crate) fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}
