//! corsguard's engine for JavaScript, through `wasm-bindgen`: the `Engine` class that
//! `npm/js/corsguard.js` wraps into the package's `Policy`.
//!
//! A translation only: JavaScript strings in, [`corsguard`]'s types through, plain JavaScript
//! objects out. Header values arrive as Fetch's byte strings (one char per byte) and reach the
//! engine as those bytes ([`isomorphic_encode`]).

use corsguard::{Action, Decision, HeaderList, Problem, Request, ResponseHeaders, isomorphic_encode};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

/// A validated, compiled policy.
#[wasm_bindgen]
pub struct Engine(corsguard::Policy);

#[wasm_bindgen]
impl Engine {
    /// Reads and validates a policy file. Throws an `Error` whose message lists every problem,
    /// one per line, and whose `problems` holds them as `{ severity, path, message }`.
    pub fn parse(json: &str) -> Result<Engine, JsValue> {
        corsguard::Policy::parse(json).map(Engine).map_err(|problems| {
            let error = js_sys::Error::new(&format!("corsguard: the policy was refused:\n{problems}"));
            set(&error, "problems", &problems.iter().map(problem).collect::<Array>());
            error.into()
        })
    }

    /// The warnings of a policy that loaded, as `{ severity, path, message }`.
    pub fn warnings(&self) -> Array {
        self.0.warnings().iter().map(problem).collect()
    }

    /// Decides what to do with one request. Absent headers are `undefined`; `request_id` is the
    /// host's id of the request, for the denial line.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate(
        &self,
        method: &str,
        scheme: Option<String>,
        host: &str,
        path: &str,
        origin: Option<String>,
        request_method: Option<String>,
        request_headers: Option<String>,
        request_private_network: Option<String>,
        request_id: Option<String>,
    ) -> Object {
        let (method, host, path) = (isomorphic_encode(method), isomorphic_encode(host), isomorphic_encode(path));
        let headers = [origin, request_method, request_headers, request_private_network];
        let [origin, request_method, request_headers, request_private_network] =
            headers.each_ref().map(|v| v.as_deref().map(isomorphic_encode));
        let scheme = scheme.as_deref().map(isomorphic_encode);
        let view = Request {
            method: &method,
            scheme: scheme.as_deref(),
            host: &host,
            path: &path,
            origin: origin.as_deref(),
            request_method: request_method.as_deref(),
            request_headers: request_headers.as_deref(),
            request_private_network: request_private_network.as_deref(),
        };
        let request_id = request_id.as_deref().map(isomorphic_encode);
        decision(&self.0.evaluate(&view), origin.as_deref(), request_id.as_deref())
    }
}

/// Applies a forward decision's edits (`{ headers: [[name, value]], varyOrigin }`) to a Fetch
/// `Headers` (or anything with `get`, `set` and `delete`), with the core's
/// [`corsguard::apply_edits`].
#[wasm_bindgen(js_name = applyEdits)]
pub fn apply_edits(edits: &JsValue, headers: &HeadersLike) {
    let ours: Vec<(String, String)> = Array::from(&get(edits, "headers"))
        .iter()
        .map(|pair| {
            let pair = Array::from(&pair);
            (pair.get(0).as_string().unwrap_or_default(), pair.get(1).as_string().unwrap_or_default())
        })
        .collect();
    let lookup = |name: &str| ours.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    corsguard::apply_edits(lookup, get(edits, "varyOrigin").is_truthy(), &mut Fetch(headers));
}

#[wasm_bindgen]
extern "C" {
    /// A Fetch `Headers`, or anything with its `get`, `set` and `delete`.
    pub type HeadersLike;
    #[wasm_bindgen(method, structural)]
    fn get(this: &HeadersLike, name: &str) -> Option<String>;
    #[wasm_bindgen(method, structural)]
    fn set(this: &HeadersLike, name: &str, value: &str);
    #[wasm_bindgen(method, structural, js_name = delete)]
    fn delete(this: &HeadersLike, name: &str);
}

/// `Headers.get` already joins every value with `", "`.
struct Fetch<'h>(&'h HeadersLike);

impl ResponseHeaders for Fetch<'_> {
    fn get_all(&self, name: &str) -> Option<String> {
        self.0.get(name)
    }
    fn set(&mut self, name: &str, value: &str) {
        self.0.set(name, value);
    }
    fn remove(&mut self, name: &str) {
        self.0.delete(name);
    }
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Defining a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in fields {
        set(&object, key, value);
    }
    object
}

fn problem(problem: &Problem) -> JsValue {
    object(&[
        ("severity", problem.severity.as_str().into()),
        ("code", problem.code.as_str().into()),
        ("path", problem.path.as_str().into()),
        ("message", problem.message.as_str().into()),
    ])
    .into()
}

fn pairs(list: &HeaderList<'_>) -> Array {
    list.iter().map(|(name, value)| Array::of2(&name.into(), &value.into())).collect()
}

fn decision(decision: &Decision<'_>, origin: Option<&[u8]>, request_id: Option<&[u8]>) -> Object {
    let action = match &decision.action {
        Action::PassThrough => object(&[("type", "pass-through".into())]),
        Action::Respond { status, headers } => {
            object(&[("type", "respond".into()), ("status", (*status).into()), ("headers", pairs(headers).into())])
        }
        Action::Forward(edits) => object(&[
            ("type", "forward".into()),
            ("headers", pairs(&edits.headers).into()),
            ("varyOrigin", edits.vary_origin.into()),
        ]),
    };
    let denial = decision.denial.map_or(JsValue::NULL, |denial| denial.to_string().into());
    let line = decision.denial_line(origin, request_id).map_or(JsValue::NULL, |line| line.to_string().into());
    object(&[
        ("kind", decision.kind.as_str().into()),
        ("denial", denial),
        ("enforcement", decision.enforcement.as_str().into()),
        ("action", action.into()),
        ("denialLine", line),
    ])
}
