//! corsguard in front of an upstream, as a `wasi:http/proxy` component: it exports
//! `wasi:http/incoming-handler` and reaches the upstream through `wasi:http/outgoing-handler`.
//!
//! A translation only: the request's method, authority, path and CORS headers go to the core;
//! `Respond` becomes a local answer, `Forward` a forwarded request whose response headers the core
//! edits, `PassThrough` a forwarded request left as it is. Bodies are streamed both ways. The
//! policy, the upstream and its timeout are embedded at build time (`build.rs`).

use corsguard::{Action, HeaderLines, Policy, Request, ResponseEdits, join_lines};
use std::borrow::Cow;
use std::sync::OnceLock;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    RequestOptions, ResponseOutparam, Scheme,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

mod config {
    include!(concat!(env!("OUT_DIR"), "/config.rs"));
}

/// Hop-by-hop headers, and `host` (the upstream's authority replaces it): never copied across.
const HOP_BY_HOP: [&str; 8] =
    ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host"];

/// The exported handler.
pub struct Proxy;

wasip2::http::proxy::export!(Proxy);

/// The embedded policy, compiled once per instance; `None` only if it no longer parses (it was
/// validated at build time).
fn policy() -> Option<&'static Policy> {
    static POLICY: OnceLock<Option<Policy>> = OnceLock::new();
    POLICY.get_or_init(|| Policy::parse(config::POLICY).ok()).as_ref()
}

impl wasip2::exports::http::incoming_handler::Guest for Proxy {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let Some(policy) = policy() else { return reply(out, 500, Vec::new()) };
        let entries = request.headers().entries();
        let value = |name: &str| -> Option<Vec<u8>> {
            let lines = entries.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice());
            join_lines(lines).map(Cow::into_owned)
        };
        let [origin, request_method, request_headers, private_network] = Request::HEADERS.map(value);
        let method = method_bytes(&request.method());
        let scheme = request.scheme().map(|scheme| match scheme {
            Scheme::Http => "http".to_owned(),
            Scheme::Https => "https".to_owned(),
            Scheme::Other(other) => other,
        });
        // Decided on exactly the authority and path that `forward` sends on.
        let host = request.authority().unwrap_or_default();
        let path = request.path_with_query().unwrap_or_default();
        let view = Request {
            method: &method,
            scheme: scheme.as_deref().map(str::as_bytes),
            host: host.as_bytes(),
            path: path.as_bytes(),
            origin: origin.as_deref(),
            request_method: request_method.as_deref(),
            request_headers: request_headers.as_deref(),
            request_private_network: private_network.as_deref(),
        };
        let decision = policy.evaluate(&view);
        // One line per denial on the host's log stream (also in report-only mode, where it is all
        // that happens).
        if let Some(line) = decision.denial_line(view.origin, None) {
            // At most 4096 bytes a write, which a line (each client value cut at 128) never reaches.
            let _ = wasip2::cli::stderr::get_stderr().blocking_write_and_flush(format!("{line}\n").as_bytes());
        }
        match decision.action {
            Action::Respond { status, headers } => {
                reply(out, status, headers.iter().map(|(n, v)| (n.to_owned(), v.as_bytes().to_vec())).collect())
            }
            Action::Forward(edits) => forward(request, entries, out, Some(&edits)),
            Action::PassThrough => forward(request, entries, out, None),
        }
    }
}

fn method_bytes(method: &Method) -> Vec<u8> {
    let name = match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    };
    name.as_bytes().to_vec()
}

/// Header fields for a new message: hop-by-hop ones dropped, ones the host forbids skipped.
fn fields(entries: &[(String, Vec<u8>)]) -> Fields {
    let fields = Fields::new();
    for (name, value) in entries {
        if !HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            let _ = fields.append(name, value);
        }
    }
    fields
}

/// Answers with an empty body.
fn reply(out: ResponseOutparam, status: u16, headers: Vec<(String, Vec<u8>)>) {
    let response = OutgoingResponse::new(fields(&headers));
    let _ = response.set_status_code(status);
    let Ok(body) = response.body() else { return };
    ResponseOutparam::set(out, Ok(response));
    let _ = OutgoingBody::finish(body, None);
}

/// Writes all of `chunk`: `blocking-write-and-flush` takes at most 4096 bytes at a time.
fn write(to: &OutputStream, chunk: &[u8]) -> bool {
    chunk.chunks(4096).all(|part| to.blocking_write_and_flush(part).is_ok())
}

/// Copies a stream to its end; `false` if either side failed. Reads and writes rather than
/// splicing: every host implements them (jco's `blocking-splice` never reports the end).
fn pipe(from: &InputStream, to: &OutputStream) -> bool {
    loop {
        match from.blocking_read(64 * 1024) {
            Ok(chunk) if write(to, &chunk) => {}
            Ok(_) | Err(StreamError::LastOperationFailed(_)) => return false,
            Err(StreamError::Closed) => return true,
        }
    }
}

/// Streams an incoming body into an outgoing one and finishes it.
fn stream_body(from: IncomingBody, to: OutgoingBody) -> bool {
    let copied = match (from.stream(), to.write()) {
        (Ok(source), Ok(sink)) => pipe(&source, &sink),
        _ => false,
    };
    OutgoingBody::finish(to, None).is_ok() && copied
}

/// A reply of ours in place of the upstream's (`502`: it cannot be reached; `504`: it did not
/// answer in time), with the decision's edits: a browser then shows the real status instead of a
/// misleading CORS error.
fn answer_with(out: ResponseOutparam, status: u16, edits: Option<&ResponseEdits<'_>>) {
    let mut headers = HeaderLines(Vec::new());
    if let Some(edits) = edits {
        edits.apply(&mut headers);
    }
    reply(out, status, headers.0);
}

/// Forwards the request to the upstream, streams its body there and the answer back, with the
/// core's edits applied to the answer's headers (none on a pass-through).
fn forward(
    request: IncomingRequest,
    entries: Vec<(String, Vec<u8>)>,
    out: ResponseOutparam,
    edits: Option<&ResponseEdits<'_>>,
) {
    let Ok(incoming) = request.consume() else { return answer_with(out, 502, edits) };
    let Ok(source) = incoming.stream() else { return answer_with(out, 502, edits) };
    // The body's first bytes, or none: a body that is empty goes on as `Content-Length: 0`, or a
    // host that drops the request's framing headers (Wasmtime) sends it on as an empty chunked
    // body, which not every upstream reads (and none expects on a GET).
    let first = match source.blocking_read(64 * 1024) {
        Ok(chunk) => Some(chunk),
        Err(StreamError::Closed) => None,
        Err(StreamError::LastOperationFailed(_)) => return answer_with(out, 502, edits),
    };
    let headers = fields(&entries);
    if first.is_none() {
        let _ = headers.set("content-length", &[b"0".to_vec()]);
    }
    let outgoing = OutgoingRequest::new(headers);
    let scheme = if config::UPSTREAM_HTTPS { Scheme::Https } else { Scheme::Http };
    let set = [
        outgoing.set_method(&request.method()),
        outgoing.set_scheme(Some(&scheme)),
        outgoing.set_authority(Some(config::UPSTREAM_AUTHORITY)),
        outgoing.set_path_with_query(request.path_with_query().as_deref()),
    ];
    if !set.iter().all(Result::is_ok) {
        // The host will not send this method or request-target on (jco refuses a `\` in a path).
        return answer_with(out, 400, edits);
    }
    let Ok(upload) = outgoing.body() else { return answer_with(out, 502, edits) };
    let options = config::UPSTREAM_TIMEOUT_NS.map(|timeout| {
        let options = RequestOptions::new();
        let _ = options.set_first_byte_timeout(Some(timeout));
        options
    });
    let Ok(future) = outgoing_handler::handle(outgoing, options) else { return answer_with(out, 502, edits) };
    let sent = match upload.write() {
        Ok(sink) => first.as_deref().is_none_or(|chunk| write(&sink, chunk)) && pipe(&source, &sink),
        Err(()) => false,
    };
    if !(OutgoingBody::finish(upload, None).is_ok() && sent) {
        return answer_with(out, 502, edits);
    }
    let response = loop {
        match future.get() {
            None => future.subscribe().block(),
            Some(Ok(Ok(response))) => break response,
            Some(Ok(Err(ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout))) => {
                return answer_with(out, 504, edits);
            }
            Some(_) => return answer_with(out, 502, edits),
        }
    };
    let mut headers = HeaderLines(response.headers().entries());
    if let Some(edits) = edits {
        edits.apply(&mut headers);
    }
    let answer = OutgoingResponse::new(fields(&headers.0));
    let (Ok(()), Ok(download), Ok(body)) =
        (answer.set_status_code(response.status()), answer.body(), response.consume())
    else {
        return answer_with(out, 502, edits);
    };
    ResponseOutparam::set(out, Ok(answer));
    // The status is sent: a failure now can only cut the body short.
    let _ = stream_body(body, download);
}
