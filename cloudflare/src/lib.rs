//! corsguard on Cloudflare Workers.
//!
//! The policy is the `CORS_POLICY` variable: the same JSON file as every other edge, as text (a
//! TOML table, which wrangler hands over as an object, is refused: that object has already lost any
//! key given twice, which corsguard refuses). It is parsed and validated once per isolate. A policy that does not validate never fails open: every request then gets a `500`, and
//! the errors are logged (never sent to clients: they would describe the policy).
//!
//! Preflights are answered here and never reach the origin. Every other request goes on to the
//! origin: the zone's origin when the Worker runs on a route, or the `UPSTREAM` URL when that
//! variable is set (workers.dev, `wrangler dev`), given up on with a `504` after `UPSTREAM_TIMEOUT`
//! seconds when that is set. The decision is applied to the origin's response
//! (its CORS headers removed, ours set, `Vary` merged) while its body streams through untouched.

use corsguard::{
    Action, Policy, Request, ResponseEdits, ResponseHeaders, isomorphic_encode, series_labels, split_absolute_uri,
};
use std::borrow::Cow;
use std::cell::OnceCell;
use wasm_bindgen::intern;
use wasm_bindgen::prelude::{JsCast, JsValue, wasm_bindgen};
use web_sys::console;

/// The Worker's bindings (`env`): its variables, as properties of a plain object.
type Env = JsValue;

/// The variable holding the policy.
const POLICY_VAR: &str = "CORS_POLICY";
/// The variable holding the upstream URL, when the Worker does not run on a route.
const UPSTREAM_VAR: &str = "UPSTREAM";
/// The variable holding how long, in seconds, the upstream may take to answer (its status and
/// headers; the body then streams as long as it takes), when set.
const TIMEOUT_VAR: &str = "UPSTREAM_TIMEOUT";
/// The longest `UPSTREAM_TIMEOUT` taken, in seconds (Cloudflare gives up on an origin after 100 s).
const TIMEOUT_MAX: u32 = 600;
/// The Workers Analytics Engine binding that, when bound (`corsguard emit wrangler --analytics`),
/// gets a data point per CORS decision.
const ANALYTICS_BINDING: &str = "CORSGUARD_ANALYTICS";

/// What the isolate loaded from its variables, once.
enum Loaded {
    /// A valid policy, where to forward to (`None`: the zone's origin) and how long the upstream
    /// may take to answer, in milliseconds.
    Ready { policy: Box<Policy>, upstream: Option<String>, timeout: Option<u32> },
    /// Why every request is refused, as the `500` tells clients (the details are logged).
    Invalid(String),
}

thread_local! {
    // Loaded once per isolate, which lives long, and leaked: every request borrows it for good.
    static LOADED: OnceCell<&'static Loaded> = const { OnceCell::new() };
    // The Analytics Engine dataset and its writeDataPoint, if bound: looked up in the first
    // request's `env` (an isolate's bindings do not change), so a Worker without one pays nothing.
    static ANALYTICS: OnceCell<Option<(JsValue, js_sys::Function)>> = const { OnceCell::new() };
}

fn loaded(env: &Env) -> &'static Loaded {
    LOADED.with(|cell| *cell.get_or_init(|| Box::leak(Box::new(load(env)))))
}

/// Reads and validates the variables, logging what is wrong.
fn load(env: &Env) -> Loaded {
    let unset = || format!("the {POLICY_VAR} variable is not set: give it the policy JSON");
    let policy = match var(env, POLICY_VAR) {
        None => Err((unset(), unset())),
        Some(Err(NotText)) => Err((
            format!("{POLICY_VAR} is not text; see the Worker's log"),
            format!(
                "{POLICY_VAR} is an object, not the policy file's text: give it as a string (in wrangler.toml, a '''...''' string, as `corsguard emit wrangler` writes it); an object has already lost any key given twice, which corsguard refuses"
            ),
        )),
        Some(Ok(json)) => Policy::parse(&json).map_err(|problems| {
            let problems = problems.to_string();
            let public = format!("{POLICY_VAR} is not a valid policy; its problems are in the Worker's log");
            (public, format!("{POLICY_VAR} is not a valid policy:\n{}", problems.trim_end()))
        }),
    };
    let upstream = var(env, UPSTREAM_VAR).map(|url| url.map(|url| url.trim().trim_end_matches('/').to_owned()));
    let upstream = upstream.filter(|url| !matches!(url, Ok(url) if url.is_empty()));
    let policy = match &upstream {
        Some(Err(NotText)) => {
            let public = format!("{UPSTREAM_VAR} is not an http:// or https:// URL; see the Worker's log");
            Err((public, format!("{UPSTREAM_VAR} is not text: give an http:// or https:// URL")))
        }
        Some(Ok(url)) if !url.starts_with("http://") && !url.starts_with("https://") => {
            let public = format!("{UPSTREAM_VAR} is not an http:// or https:// URL; see the Worker's log");
            let why = format!(
                "{UPSTREAM_VAR} is \"{url}\": give an http:// or https:// URL, or nothing to reach the zone's origin"
            );
            Err((public, why))
        }
        _ => policy,
    };
    let timeout = var(env, TIMEOUT_VAR).map(|seconds| {
        let text = seconds.map_err(|NotText| String::from("not text"))?;
        // JavaScript reads it (`+text`, which never throws on a string): Rust's float parser would
        // add 30 KB to the Worker.
        let seconds = JsValue::from_str(&text).unchecked_into_f64();
        if seconds > 0.0 && seconds <= f64::from(TIMEOUT_MAX) {
            // At most TIMEOUT_MAX s: milliseconds fit in a u32.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok((seconds * 1000.0).ceil() as u32)
        } else {
            Err(format!("\"{text}\""))
        }
    });
    let policy = match (&timeout, policy) {
        (Some(Err(what)), Ok(_)) => {
            let public = format!("{TIMEOUT_VAR} is not a number of seconds; see the Worker's log");
            Err((
                public,
                format!("{TIMEOUT_VAR} is {what}: give a number of seconds, above 0 and at most {TIMEOUT_MAX}"),
            ))
        }
        (_, policy) => policy,
    };
    match policy {
        Ok(policy) => {
            for warning in policy.warnings() {
                console::warn_1(&format!("corsguard: {POLICY_VAR}: {warning}").into());
            }
            let timeout = timeout.and_then(Result::ok);
            Loaded::Ready { policy: Box::new(policy), upstream: upstream.and_then(Result::ok), timeout }
        }
        Err((public, logged)) => {
            console::error_1(&format!("corsguard refuses every request: {logged}\n").into());
            Loaded::Invalid(format!("corsguard refuses every request: {public}\n"))
        }
    }
}

/// A variable that is set but is not a string.
struct NotText;

/// A variable's value, if it is set.
fn var(env: &Env, name: &str) -> Option<Result<String, NotText>> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    Some(value.as_string().ok_or(NotText))
}

/// A header value's bytes as the client sent them (JavaScript hands them over as byte strings).
fn raw_bytes(value: String) -> Vec<u8> {
    match isomorphic_encode(&value) {
        Cow::Owned(bytes) => bytes,
        Cow::Borrowed(_) => value.into_bytes(), // the same bytes (ASCII, all a browser sends): no copy
    }
}

/// What the engine reads of a request, copied out of JavaScript once.
struct Input {
    method: String,
    /// The request's URL as the runtime's WHATWG parser serializes it: what is sent on.
    url: String,
    /// Whether `url` differs from the request's own: then a request made from it is sent on.
    reparsed: bool,
    /// The values of [`Request::HEADERS`], in that order; `None` also for what was not read.
    headers: [Option<Vec<u8>>; 4],
}

impl Input {
    /// Reads only what the decision can depend on, since every read crosses into JavaScript: the
    /// engine looks at the method and the other `Access-Control-Request-*` headers only for a
    /// preflight, and a preflight needs `Origin` and `Access-Control-Request-Method`, so a request
    /// without `Origin` costs one header read and a simple request with it two.
    fn read(req: &web_sys::Request, reads_url: bool) -> Self {
        let headers = req.headers();
        let get = |name: &str| headers.get(intern(name)).ok().flatten().map(raw_bytes);
        let [origin, request_method, request_headers, private_network] = Request::HEADERS;
        let origin = get(origin);
        let request_method = origin.as_ref().and_then(|_| get(request_method));
        let method = if request_method.is_some() { req.method() } else { String::new() };
        let preflight = Request {
            method: method.as_bytes(),
            origin: origin.as_deref(),
            request_method: request_method.as_deref(),
            ..Request::default()
        }
        .is_preflight();
        let preflight_only = |name| if preflight { get(name) } else { None };
        let headers = [origin, request_method, preflight_only(request_headers), preflight_only(private_network)];
        // `request.url` keeps the path as the client wrote it, and `fetch` sends the parsed one: a
        // policy whose routes read the path and host decides on the parsed one (one more call).
        let raw = req.url();
        let parsed = reads_url.then(|| web_sys::Url::new(&raw).ok()).flatten().map(|url| url.href());
        let parsed = parsed.filter(|url| *url != raw);
        Input { reparsed: parsed.is_some(), url: parsed.unwrap_or(raw), headers, method }
    }

    fn request(&self) -> Request<'_> {
        let (scheme, host, path) = split_absolute_uri(self.url.as_bytes());
        let [origin, request_method, request_headers, private_network] = self.headers.each_ref().map(Option::as_deref);
        Request {
            method: self.method.as_bytes(),
            scheme: Some(scheme),
            host,
            path,
            origin,
            request_method,
            request_headers,
            request_private_network: private_network,
        }
    }
}

/// Loads the policy when the isolate starts (`shim.js` calls this with the importable `env`), so that
/// its problems are logged at once, before any request; requests would load it anyway.
#[wasm_bindgen]
pub fn load_policy(env: Env) {
    loaded(&env);
}

/// The fetch handler, called by `shim.js` for every request: a decision per request, applied
/// without further thought. Answers made here (preflights, the invalid-policy 500) are returned as
/// a `Response`; anything else as a [`Forward`], which the shim sends and hands back.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, _ctx: JsValue) -> Result<JsValue, JsValue> {
    let (policy, upstream, timeout) = match loaded(&env) {
        Loaded::Ready { policy, upstream, timeout } => (&**policy, upstream.as_deref(), *timeout),
        Loaded::Invalid(message) => return plain(500, message).map(Into::into),
    };
    let input = Input::read(&req, policy.has_routes());
    let request = input.request();
    let decision = policy.evaluate(&request);
    // One line per denial for Workers Logs (also in report-only mode, where it is all that
    // happens), with the id Cloudflare gives the request.
    if decision.denial.is_some() {
        let ray = req.headers().get("cf-ray").ok().flatten();
        if let Some(line) = decision.denial_line(request.origin, ray.as_deref().map(str::as_bytes)) {
            console::log_1(&line.to_string().into());
        }
    }
    if let Some(series) = decision.series() {
        write_data_point(&env, series);
    }
    let edits = match decision.action {
        Action::Respond { status, headers } => {
            let answer = web_sys::Headers::new()?;
            for (name, value) in headers.iter() {
                answer.set(name, value)?;
            }
            let init = web_sys::ResponseInit::new();
            init.set_status(status);
            init.set_headers(&answer);
            return Ok(web_sys::Response::new_with_opt_str_and_init(None, &init)?.into());
        }
        Action::Forward(edits) => Some(edits.into_owned()),
        Action::PassThrough => None,
    };
    // To `UPSTREAM` (same method, headers and streamed body) when set, else to the zone's origin;
    // either way with the parsed path the decision was made on.
    let request = match upstream {
        Some(base) => {
            let (_, _, path) = split_absolute_uri(input.url.as_bytes());
            // A slice of the URL at ASCII bytes: still UTF-8.
            let path = std::str::from_utf8(path).unwrap_or("/");
            web_sys::Request::new_with_str_and_init(&format!("{base}{path}"), req.unchecked_ref())?
        }
        None if input.reparsed => web_sys::Request::new_with_str_and_init(&input.url, req.unchecked_ref())?,
        None => req,
    };
    Ok(Forward { request, url: input.url, edits, timeout }.into())
}

/// A request to send on, and what to do with the answer. The shim does the sending: a plain
/// JavaScript promise chain costs the Worker far less than a Rust future around the same fetch.
#[wasm_bindgen]
pub struct Forward {
    request: web_sys::Request,
    /// The URL the decision was made on, for the log.
    url: String,
    /// What to do to the answer (`None`: pass it through: a disabled route, or report-only).
    edits: Option<ResponseEdits<'static>>,
    /// How long the upstream may take to answer, in milliseconds (`UPSTREAM_TIMEOUT`).
    timeout: Option<u32>,
}

#[wasm_bindgen]
impl Forward {
    /// The request to send.
    #[wasm_bindgen(getter)]
    pub fn request(&self) -> web_sys::Request {
        Clone::clone(&self.request) // the same JavaScript object (its own `clone()` would tee the body)
    }

    /// How long the upstream may take to answer, in milliseconds, if that is limited.
    #[wasm_bindgen(getter)]
    pub fn timeout(&self) -> Option<u32> {
        self.timeout
    }

    /// Applies the decision to the upstream's response.
    pub fn edit(self, response: web_sys::Response) -> Result<web_sys::Response, JsValue> {
        let Some(edits) = self.edits else { return Ok(response) };
        // A fetched response's headers are immutable: re-wrap its body stream (not a copy).
        let response = web_sys::Response::new_with_opt_readable_stream_and_init(
            response.body().as_ref(),
            response.unchecked_ref(),
        )?;
        edits.apply(&mut Headers(response.headers()));
        Ok(response)
    }

    /// The answer when the upstream could not be reached (a 502) or did not answer within the
    /// timeout (`timed_out`: a 504), with the decision's edits (a browser then shows the real
    /// status, not a CORS error), and the error logged.
    pub fn fail(self, error: JsValue, timed_out: bool) -> Result<web_sys::Response, JsValue> {
        let (status, what) = if timed_out { (504, "did not answer in time") } else { (502, "did not answer") };
        console::error_1(&format!("corsguard: the upstream {what} {}: {error:?}", self.url).into());
        let response = plain(status, &format!("corsguard: the upstream {what}\n"))?;
        if let Some(edits) = &self.edits {
            edits.apply(&mut Headers(response.headers()));
        }
        Ok(response)
    }
}

/// Counts a decision in the Analytics Engine dataset, when one is bound: a data point whose blobs
/// are the series' labels in `corsguard::SERIES_LABELS` order (kind, outcome, reason, mode, route)
/// and whose one double is 1, the count.
fn write_data_point(env: &Env, series: usize) {
    ANALYTICS.with(|cell| {
        if let Some((dataset, write)) = cell.get_or_init(|| analytics_dataset(env)) {
            write_point(dataset, write, series);
        }
    });
}

/// The bound dataset and its `writeDataPoint`, if `env` has one.
fn analytics_dataset(env: &Env) -> Option<(JsValue, js_sys::Function)> {
    let dataset = js_sys::Reflect::get(env, &JsValue::from_str(ANALYTICS_BINDING)).ok().filter(JsValue::is_object)?;
    let write = js_sys::Reflect::get(&dataset, &JsValue::from_str("writeDataPoint")).ok()?;
    Some((dataset, write.dyn_into::<js_sys::Function>().ok()?))
}

fn write_point(dataset: &JsValue, write: &js_sys::Function, series: usize) {
    let blobs: js_sys::Array = series_labels(series).iter().map(|label| JsValue::from_str(label)).collect();
    let doubles: js_sys::Array = [JsValue::from_f64(1.0)].into_iter().collect();
    let point = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&point, &JsValue::from_str(key), value);
    if set("blobs", &blobs).and_then(|_| set("doubles", &doubles)).is_ok()
        && let Err(error) = write.call1(dataset, &point)
    {
        console::error_1(&format!("corsguard: {ANALYTICS_BINDING}.writeDataPoint failed: {error:?}").into());
    }
}

/// A text response of ours.
fn plain(status: u16, body: &str) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", "text/plain; charset=utf-8")?;
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_str_and_init(Some(body), &init)
}

/// The upstream response's headers, as the engine edits them.
struct Headers(web_sys::Headers);

impl ResponseHeaders for Headers {
    fn get_all(&self, name: &str) -> Option<String> {
        self.0.get(intern(name)).ok().flatten()
    }

    fn set(&mut self, name: &str, value: &str) {
        if let Err(error) = self.0.set(intern(name), value) {
            console::error_1(&format!("corsguard: cannot set {name}: {error:?}").into());
        }
    }

    fn remove(&mut self, name: &str) {
        if let Err(error) = self.0.delete(intern(name)) {
            console::error_1(&format!("corsguard: cannot remove {name}: {error:?}").into());
        }
    }
}
