//! Which browser engines a report speaks for (`--browser`): each engine's console line for a
//! refusal, where it was observed, and how long each keeps a preflight's answer; and `check`'s
//! warning for a policy whose answers the engines treat differently.

use crate::policy_file::{Located, PolicyFile};
use clap::ValueEnum;
use corsguard::Severity;
use corsguard::tools::PolicyView;
use corsguard_browser::{Engine, Failure, Fetch};
use serde::Serialize;

/// `--browser`: one engine, or every engine when not given.
#[derive(Clone, Copy, ValueEnum)]
pub enum EngineArg {
    /// Chrome, Edge and the other Chromium browsers.
    Chromium,
    /// Firefox.
    Firefox,
    /// Safari and every iOS browser.
    #[value(alias = "safari")]
    Webkit,
}

/// The engines a report speaks for.
pub fn selected(arg: Option<EngineArg>) -> Vec<Engine> {
    match arg {
        None => Engine::ALL.to_vec(),
        Some(EngineArg::Chromium) => vec![Engine::Chromium],
        Some(EngineArg::Firefox) => vec![Engine::Firefox],
        Some(EngineArg::Webkit) => vec![Engine::WebKit],
    }
}

/// One engine's console line.
#[derive(Serialize)]
pub struct Console {
    pub engine: &'static str,
    pub message: String,
}

/// Each engine's console line for `failure`, for the engines whose line was observed.
pub fn consoles(engines: &[Engine], failure: &Failure, url: &str, fetch: &Fetch, preflight: bool) -> Vec<Console> {
    engines
        .iter()
        .filter_map(|&engine| {
            let message = failure.console(engine, url, &fetch.origin, preflight)?;
            Some(Console { engine: engine.name(), message })
        })
        .collect()
}

/// How long one engine keeps a preflight's answer.
#[derive(Serialize)]
pub struct Cached {
    pub engine: &'static str,
    pub seconds: u32,
}

/// How long each engine keeps an answer with `Access-Control-Max-Age: max_age`, when some engine
/// keeps it for less than it asks (`None` when every one of `engines` honours it).
pub fn cache_lifetimes(engines: &[Engine], max_age: u32) -> Option<Vec<Cached>> {
    let capped = engines.iter().any(|e| e.preflight_cache_cap() < max_age);
    capped.then(|| {
        engines.iter().map(|&e| Cached { engine: e.name(), seconds: max_age.min(e.preflight_cache_cap()) }).collect()
    })
}

/// The console lines for people, one per engine (named when there are several).
pub fn human(consoles: &[Console]) -> String {
    let mut out = String::new();
    for (index, console) in consoles.iter().enumerate() {
        let label = if index == 0 { "Console" } else { "" };
        if consoles.len() == 1 {
            out.push_str(&format!("{label:<10} {}\n", console.message));
        } else {
            out.push_str(&format!("{label:<10} {}: {}\n", console.engine, console.message));
        }
    }
    out
}

/// The cache lifetimes for people.
pub fn human_cache(cached: &[Cached]) -> String {
    let each: Vec<String> = cached.iter().map(|c| format!("{} {} s", c.engine, c.seconds)).collect();
    format!("Cached     the browser keeps this preflight's answer: {}\n", each.join(", "))
}

/// The code of `check`'s warning (the core's codes are in `corsguard::Code`).
pub const CODE: &str = "engines-differ";

/// A warning for each `max_age` (top level and routes) that some engine caps: browsers on that
/// engine send the preflight again sooner than the policy asks.
pub fn warnings(file: &PolicyFile, view: &PolicyView) -> Vec<Located> {
    let mut warnings = Vec::new();
    for max_age in view.given(|level| &level.max_age) {
        let (Some(seconds), Some(path)) = (max_age.value, &max_age.source) else { continue };
        let Some(cached) = cache_lifetimes(&Engine::ALL, seconds) else { continue };
        let each: Vec<String> = cached.iter().map(|c| format!("{} {} s", c.engine, c.seconds)).collect();
        let message = format!(
            "{seconds} seconds is not what every browser keeps: a preflight's answer is cached for {}, so some \
             browsers send the preflight again sooner",
            each.join(", ")
        );
        let lowest = Engine::ALL.iter().map(|e| e.preflight_cache_cap()).min().unwrap_or_default();
        let fix = format!(
            "keep it at {lowest} or less for the same behaviour in every browser, or accept the extra preflights"
        );
        warnings.push(file.problem(view, Severity::Warning, CODE, path, message, Some(fix)));
    }
    warnings
}
