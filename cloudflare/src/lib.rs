//! corsguard on Cloudflare Workers.
//!
//! The policy is the `CORS_POLICY` variable (the same JSON file as every other edge, as a string, or
//! as a TOML table that wrangler hands over as an object). It is parsed and validated once per
//! isolate. A policy that does not validate never fails open: every request then gets a `500`
//! naming the errors, which are also logged.
//!
//! Preflights are answered here and never reach the origin. Every other request goes on to the
//! origin: the zone's origin when the Worker runs on a route, or the `UPSTREAM` URL when that
//! variable is set (workers.dev, `wrangler dev`). The decision is applied to the origin's response
//! (its CORS headers removed, ours set, `Vary` merged) while its body streams through untouched.

use corsguard::{Action, Policy, Request, ResponseHeaders};
use std::borrow::Cow;
use std::cell::OnceCell;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{Context, Env, console_error, console_log, console_warn, event, js_sys, wasm_bindgen_futures, web_sys};

/// The variable holding the policy.
const POLICY_VAR: &str = "CORS_POLICY";
/// The variable holding the upstream URL, when the Worker does not run on a route.
const UPSTREAM_VAR: &str = "UPSTREAM";

/// What the isolate loaded from its variables, once.
enum Loaded {
    /// A valid policy, and where to forward to (`None`: the zone's origin).
    Ready { policy: Box<Policy>, upstream: Option<String> },
    /// Why every request is refused: the policy's errors, as a message for people.
    Invalid(String),
}

thread_local! {
    // Workers run one request at a time per isolate thread, and an isolate lives long: the policy
    // is leaked once so that decisions can borrow it across the upstream fetch.
    static LOADED: OnceCell<&'static Loaded> = const { OnceCell::new() };
}

fn loaded(env: &Env) -> &'static Loaded {
    LOADED.with(|cell| *cell.get_or_init(|| Box::leak(Box::new(load(env)))))
}

/// Reads and validates the variables, logging what is wrong.
fn load(env: &Env) -> Loaded {
    let policy = match var(env, POLICY_VAR) {
        None => Err(format!("the {POLICY_VAR} variable is not set: give it the policy JSON")),
        Some(json) => Policy::parse(&json).map_err(|problems| {
            let problems = problems.to_string();
            format!("{POLICY_VAR} is not a valid policy:\n{}", problems.trim_end())
        }),
    };
    let upstream = var(env, UPSTREAM_VAR).map(|url| url.trim().trim_end_matches('/').to_owned());
    let upstream = upstream.filter(|url| !url.is_empty());
    match policy {
        Ok(policy) => {
            for warning in policy.warnings() {
                console_warn!("corsguard: {POLICY_VAR}: {warning}");
            }
            Loaded::Ready { policy: Box::new(policy), upstream }
        }
        Err(why) => {
            let message = format!("corsguard refuses every request: {why}\n");
            console_error!("{message}");
            Loaded::Invalid(message)
        }
    }
}

/// A variable as text: a string as it is, an object (a TOML table in wrangler.toml) as JSON.
fn var(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    value.as_string().or_else(|| js_sys::JSON::stringify(&value).ok().and_then(|json| json.as_string()))
}

/// A header value's bytes as the client sent them.
///
/// JavaScript hands header values over as byte strings (one code unit per byte); wasm-bindgen turns
/// them into UTF-8. ASCII, the only thing a browser sends here, is the same either way; anything
/// else is mapped back to its bytes, so the engine judges what was really sent.
fn raw_bytes(value: &str) -> Cow<'_, [u8]> {
    if value.is_ascii() {
        return Cow::Borrowed(value.as_bytes());
    }
    let mut bytes = Vec::with_capacity(value.len());
    for c in value.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(byte) => bytes.push(byte),
            Err(_) => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Cow::Owned(bytes)
}

/// The authority and the path with its query of a serialized URL (`scheme://authority/path?query`).
fn split_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    }
}

/// The fetch handler: a decision per request, applied without further thought.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
    let (policy, upstream) = match loaded(&env) {
        Loaded::Ready { policy, upstream } => (policy, upstream.as_deref()),
        Loaded::Invalid(message) => return plain(500, message),
    };
    let method = req.method();
    let url = req.url();
    let (host, path) = split_url(&url);
    let headers = req.headers();
    let read = |name: &str| headers.get(name).ok().flatten();
    let [origin, request_method, request_headers, private_network] = Request::HEADERS.map(read);
    let [origin, request_method, request_headers, private_network] =
        [&origin, &request_method, &request_headers, &private_network].map(|v| v.as_deref().map(raw_bytes));
    let request = Request {
        method: method.as_bytes(),
        host: host.as_bytes(),
        path: path.as_bytes(),
        origin: origin.as_deref(),
        request_method: request_method.as_deref(),
        request_headers: request_headers.as_deref(),
        request_private_network: private_network.as_deref(),
    };
    let decision = policy.evaluate(&request);
    if let (false, Some(denial)) = (decision.enforced, &decision.denial) {
        console_log!("corsguard (report-only): would refuse a {} request to {url}: {denial}", decision.kind.as_str());
    }
    match decision.action {
        Action::Respond { status, headers } => {
            let answer = web_sys::Headers::new()?;
            for (name, value) in headers.iter() {
                answer.set(name, value)?;
            }
            let init = web_sys::ResponseInit::new();
            init.set_status(status);
            init.set_headers(&answer);
            Ok(web_sys::Response::new_with_opt_str_and_init(None, &init)?)
        }
        Action::PassThrough => forward(req, upstream, path).await,
        Action::Forward(edits) => {
            let response = forward(req, upstream, path).await?;
            // A fetched response's headers are immutable: re-wrap its body stream (not a copy).
            let response = web_sys::Response::new_with_opt_readable_stream_and_init(
                response.body().as_ref(),
                response.unchecked_ref(),
            )?;
            edits.apply(&mut Headers(response.headers()));
            Ok(response)
        }
    }
}

/// Sends the request on: to `UPSTREAM` (same method, headers and streamed body) when set, else
/// as it came (on a route, to the zone's origin).
async fn forward(req: web_sys::Request, upstream: Option<&str>, path: &str) -> worker::Result<web_sys::Response> {
    let req = match upstream {
        Some(base) => web_sys::Request::new_with_str_and_init(&format!("{base}{path}"), req.unchecked_ref())?,
        None => req,
    };
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let response = wasm_bindgen_futures::JsFuture::from(scope.fetch_with_request(&req)).await?;
    Ok(response.dyn_into()?)
}

/// A text response of ours (no CORS headers: a browser fails it, as it should).
fn plain(status: u16, body: &str) -> worker::Result<web_sys::Response> {
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", "text/plain; charset=utf-8")?;
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_str_and_init(Some(body), &init)?)
}

/// The upstream response's headers, as the engine edits them.
struct Headers(web_sys::Headers);

impl ResponseHeaders for Headers {
    fn get_all(&self, name: &str) -> Option<String> {
        self.0.get(name).ok().flatten()
    }

    fn set(&mut self, name: &str, value: &str) {
        if let Err(error) = self.0.set(name, value) {
            console_error!("corsguard: cannot set {name}: {error:?}");
        }
    }

    fn remove(&mut self, name: &str) {
        if let Err(error) = self.0.delete(name) {
            console_error!("corsguard: cannot remove {name}: {error:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(split_url("https://api.test/a/b?c=d"), ("api.test", "/a/b?c=d"));
        assert_eq!(split_url("http://admin.test:8080/"), ("admin.test:8080", "/"));
        assert_eq!(split_url("http://[::1]:8787"), ("[::1]:8787", "/"));
    }

    #[test]
    fn header_values_come_back_as_the_bytes_sent() {
        assert_eq!(&*raw_bytes("https://a.test"), b"https://a.test");
        assert_eq!(&*raw_bytes("https://\u{ff}\u{e9}.test"), b"https://\xff\xe9.test");
        assert_eq!(&*raw_bytes("\u{2603}"), "\u{2603}".as_bytes());
    }
}
