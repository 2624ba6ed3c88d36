//! The HTTP client `probe` and `verify` send with: bounded, following no redirect, keeping no
//! cookie, and saying in words why a server could not be reached.

use crate::outcome::Failure;
use corsguard_browser::Response;
use std::time::Duration;
use ureq::http;

/// The HTTP client of `probe` and `verify`: bounded by `timeout`, following no redirect (the
/// browser checks each hop, and so must we), keeping no cookie.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("corsguard-probe/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Sends one request without a body (a `Host` among `headers` replaces the URL's), and reads the
/// answer's status and header lines.
pub fn send(
    agent: &ureq::Agent,
    timeout: Duration,
    method: &str,
    url: &str,
    headers: &[(String, String)],
) -> Result<Response, Failure> {
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let result = if matches!(method, "GET" | "HEAD" | "OPTIONS") {
        request.body(()).map_err(|e| Failure::Usage(format!("cannot build the request: {e}"))).map(|r| agent.run(r))
    } else {
        let empty: &[u8] = &[];
        request.body(empty).map_err(|e| Failure::Usage(format!("cannot build the request: {e}"))).map(|r| agent.run(r))
    };
    let response = result?.map_err(|e| unreachable(url, timeout, e))?;
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Ok(Response { status: response.status().as_u16(), headers })
}

/// A transport error in words, with what to check.
fn unreachable(url: &str, timeout: Duration, error: ureq::Error) -> Failure {
    let why = match &error {
        ureq::Error::Timeout(_) => format!("no answer within {} s (--timeout)", timeout.as_secs_f64()),
        ureq::Error::HostNotFound => "the host name does not resolve".to_string(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the server running, on this port?)".to_string()
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            format!("no answer within {} s (--timeout)", timeout.as_secs_f64())
        }
        _ => error.to_string(),
    };
    Failure::Cannot(format!("cannot reach {url}: {why}"))
}
