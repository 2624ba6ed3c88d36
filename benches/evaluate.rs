//! corsguard against tower-http's `CorsLayer`, configured alike and measured in the same run:
//! a preflight and an actual request, with 1, 100 and 10,000 allowed origins.
//!
//! Three rows per case: `decision` is corsguard's own output (what the edge adapters consume);
//! `http-response` adds building the same `http::Response` tower-http builds; `tower-http` is the
//! whole `CorsLayer` call, whose only output is that response.

// A test or benchmark may panic; only the engine must not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use corsguard::{Action, Policy, Request, ResponseHeaders};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tower::{Layer, Service, service_fn};
use tower_http::cors::{AllowOrigin, CorsLayer};

const SIZES: [usize; 3] = [1, 100, 10_000];

fn origin(i: usize) -> String {
    format!("https://app{i}.example.com")
}

fn policy(size: usize) -> Policy {
    let origins: Vec<String> = (0..size).map(origin).collect();
    let json = serde_json::json!({
        "origins": origins, "methods": ["GET", "POST", "PUT", "DELETE"],
        "request_headers": ["Content-Type", "Authorization"], "expose_headers": ["X-Request-Id"],
        "credentials": true, "max_age": 7200,
    });
    Policy::parse(&json.to_string()).unwrap()
}

fn tower_layer(size: usize) -> CorsLayer {
    let origins = (0..size).map(|i| HeaderValue::from_str(&origin(i)).unwrap());
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([http::header::CONTENT_TYPE, http::header::AUTHORIZATION])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .allow_credentials(true)
        .max_age(Duration::from_secs(7200))
}

/// The request from the last origin of the list: the worst case for a list scan.
fn request(size: usize, preflight: bool) -> http::Request<()> {
    let builder = http::Request::builder().uri("/api/items").header("origin", origin(size - 1));
    let builder = if preflight {
        builder
            .method(Method::OPTIONS)
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type,authorization")
    } else {
        builder.method(Method::GET)
    };
    builder.body(()).unwrap()
}

fn upstream() -> Response<()> {
    let mut response = Response::new(());
    response.headers_mut().insert("vary", HeaderValue::from_static("Accept-Encoding"));
    response
}

/// Runs a future that never waits (both services answer at once).
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the services never wait"),
    }
}

const ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-request-private-network");

fn view(request: &http::Request<()>) -> Request<'_> {
    use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
    let header = |name: HeaderName| request.headers().get(name).map(HeaderValue::as_bytes);
    Request {
        method: request.method().as_str().as_bytes(),
        scheme: request.uri().scheme_str().map(str::as_bytes),
        host: b"",
        path: request.uri().path_and_query().map_or(b"/", |p| p.as_str().as_bytes()),
        origin: header(ORIGIN),
        request_method: header(ACCESS_CONTROL_REQUEST_METHOD),
        request_headers: header(ACCESS_CONTROL_REQUEST_HEADERS),
        request_private_network: header(ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK),
    }
}

/// corsguard as an `http` adapter would use it.
fn corsguard(policy: &Policy, request: &http::Request<()>) -> Response<()> {
    match policy.evaluate(&view(request)).action {
        Action::Respond { status, headers } => {
            let mut response = Response::new(());
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            for (name, value) in headers.iter() {
                response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_str(value).unwrap());
            }
            response
        }
        Action::Forward(edits) => {
            let mut response = upstream();
            edits.apply(&mut Headers(response.headers_mut()));
            response
        }
        Action::PassThrough => upstream(),
    }
}

struct Headers<'a>(&'a mut HeaderMap);

impl ResponseHeaders for Headers<'_> {
    fn get_all(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self.0.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
    fn set(&mut self, name: &str, value: &str) {
        self.0.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }
}

fn compare(c: &mut Criterion) {
    for (kind, preflight) in [("preflight", true), ("actual", false)] {
        let mut group = c.benchmark_group(kind);
        for size in SIZES {
            let policy = policy(size);
            let mut service =
                tower_layer(size).layer(service_fn(|_: http::Request<()>| async { Ok::<_, Infallible>(upstream()) }));
            let request = request(size, preflight);
            group.bench_function(BenchmarkId::new("corsguard-decision", size), |b| {
                b.iter(|| policy.evaluate(&view(black_box(&request))).action)
            });
            group.bench_function(BenchmarkId::new("corsguard-http-response", size), |b| {
                b.iter(|| corsguard(&policy, black_box(&request)))
            });
            group.bench_function(BenchmarkId::new("tower-http", size), |b| {
                // The clone is setup, not measured: tower-http consumes its request.
                b.iter_batched(|| request.clone(), |r| ready(service.call(r)).unwrap(), BatchSize::SmallInput)
            });
        }
        group.finish();
    }
}

/// What choosing a route costs an actual request: the same policy without routes, with three path
/// routes and a canonical path (the common case: one scan, no allocation), and with a path that
/// must be read every way servers read it.
fn routes(c: &mut Criterion) {
    let mut group = c.benchmark_group("routes");
    let plain = policy(1);
    let json = format!(
        r#"{{"origins": ["{}"], "credentials": true, "expose_headers": ["X-Request-Id"], "routes": [
            {{"path_prefix": "/admin/", "origins": []}},
            {{"path_prefix": "/public/", "origins": ["*"], "credentials": false}},
            {{"path_prefix": "/internal/", "disabled": true}}]}}"#,
        origin(0)
    );
    let routed = Policy::parse(&json).unwrap();
    let get = |path: &str| http::Request::get(path).header("origin", origin(0)).body(()).unwrap();
    let (canonical, hostile) = (get("/api/items?page=2"), get("/API/v1/..%2Fitems;x=1/%7E"));
    for (row, policy, request) in [
        ("no-routes", &plain, &canonical),
        ("canonical-path", &routed, &canonical),
        ("hostile-path", &routed, &hostile),
    ] {
        group
            .bench_function(BenchmarkId::new(row, 1), |b| b.iter(|| policy.evaluate(&view(black_box(request))).action));
    }
    group.finish();
}

/// Preview-deployment patterns (`https://pr-*-t0.example.com`): an actual request from an origin
/// the last of 1 or 10,000 patterns matches; the cost must not grow with the number of patterns.
fn label_patterns(c: &mut Criterion) {
    let mut group = c.benchmark_group("label-patterns");
    for size in [1, 10_000] {
        let origins: Vec<String> = (0..size).map(|i| format!("https://pr-*-t{i}.example.com")).collect();
        let policy =
            Policy::parse(&serde_json::json!({ "origins": origins, "credentials": true }).to_string()).unwrap();
        let request = http::Request::get("/api/items")
            .header("origin", format!("https://pr-7k2-t{}.example.com", size - 1))
            .body(())
            .unwrap();
        assert!(policy.evaluate(&view(&request)).denial.is_none());
        group.bench_function(BenchmarkId::new("corsguard-decision", size), |b| {
            b.iter(|| policy.evaluate(&view(black_box(&request))).action)
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = compare, routes, label_patterns
}
criterion_main!(benches);
