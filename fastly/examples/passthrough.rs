//! The Fastly benchmark's pass-through app (scripts/bench-fastly.sh): every request to the `origin`
//! backend and its answer back, with no CORS, in the same shape as corsguard's app (reused
//! instances, the request and response as host handles), so that the difference between the two is
//! corsguard's work. Not shipped.

use fastly::Response;
use fastly::http::serve::Serve;

fn main() {
    let _ = Serve::new().run(|request: fastly::Request| {
        let (request, body) = request.into_handles();
        let body = body.unwrap_or_else(fastly::handle::BodyHandle::new);
        match request.send(body, "origin") {
            Ok((response, body)) => Response::from_handles(response, body),
            Err(_) => Response::from_status(502),
        }
    });
}
