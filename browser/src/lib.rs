//! What a browser does with a cross-origin `fetch()`, from the WHATWG Fetch standard: whether it
//! sends a preflight, what the preflight asks, and the CORS check it runs on each response, with
//! the words each engine's console prints for each failure and what the engines do differently
//! ([`Engine`]), as the browser suite (`tests/e2e/test_browser.py`) observes them in real
//! Chromium, Firefox and WebKit.
//!
//! It is the judge of the engine's answers: `corsguard explain` and `probe` print its verdicts, and
//! the property tests (`browser/tests/properties.rs`) require it to accept an answer exactly when the policy
//! means to allow the request. It shares nothing with the engine but Fetch's list of forbidden
//! request-header names.

/// A browser engine, and what it does differently from the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Chrome, Edge, Opera and the other Chromium browsers (observed: Debian's Chromium).
    Chromium,
    /// Firefox (observed: Debian's Firefox ESR).
    Firefox,
    /// Safari and every iOS browser (observed: WebKitGTK's MiniBrowser).
    WebKit,
}

impl Engine {
    /// Every engine, in the order reports list them.
    pub const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::WebKit];

    /// Its name, and the browsers that use it.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "Chromium (Chrome, Edge)",
            Engine::Firefox => "Firefox",
            Engine::WebKit => "WebKit (Safari)",
        }
    }

    /// The longest a preflight's answer is cached, whatever `Access-Control-Max-Age` asks.
    /// Chromium: 7200 s since version 76, and Firefox: 86400 s (MDN, "Access-Control-Max-Age");
    /// WebKit: 600 s (`maxPreflightCacheTimeoutSeconds` in WebCore's
    /// `CrossOriginPreflightResultCache.cpp`). Each observed by the browser suite, which moves the
    /// engine's clock past it (tests/e2e/test_browser.py, `CACHE_SHIFTS`).
    pub fn preflight_cache_cap(self) -> u32 {
        match self {
            Engine::Chromium => 7200,
            Engine::Firefox => 86400,
            Engine::WebKit => 600,
        }
    }
}

/// A request as a page's script makes it with `fetch(url, { method, headers, credentials })`.
#[derive(Clone, Debug)]
pub struct Fetch {
    /// The page's origin.
    pub origin: String,
    /// The method, normalized as Fetch does (`put` becomes `PUT`; `patch` stays).
    pub method: String,
    /// Header names as given and their values (`None`: not given on the command line).
    pub headers: Vec<(String, Option<String>)>,
    /// `credentials: "include"`.
    pub credentials: bool,
    /// A request to a more private address space (Private Network Access): the preflight asks
    /// with `Access-Control-Request-Private-Network: true`.
    pub private_network: bool,
}

/// A response as the browser sees it: the status and every header line, names lowercase, in order.
#[derive(Clone, Debug, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Every header line, `(name, value)`.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// Every value of a header, in order (one per header line).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The header's value as the browser reads it: lines joined with ", ", or `None` when absent.
    pub fn get(&self, name: &str) -> Option<String> {
        let all = self.all(name);
        (!all.is_empty()).then(|| all.join(", "))
    }
}

/// Fetch's method normalization: these six are uppercased, every other method is sent as written.
pub fn normalize_method(method: &str) -> String {
    const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    NORMALIZED.iter().find(|m| m.eq_ignore_ascii_case(method)).map_or_else(|| method.to_string(), |m| m.to_string())
}

/// Fetch's CORS-safelisted methods: the only ones a request without a preflight may use.
pub fn is_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// A header a script may not set: the browser sets (or refuses) it itself.
pub fn is_forbidden_header(name: &str) -> bool {
    corsguard::tools::is_forbidden_request_header(name)
}

fn unsafe_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b"\"():<>?@[\\]{}\x7f".contains(&b)
}

/// Fetch's "CORS-safelisted request-header"; a header without a known value is taken as safelisted
/// only for the names whose values practically always are (Accept, Accept-Language, Content-Language).
fn is_safelisted_header(name: &str, value: Option<&str>) -> bool {
    let name = name.to_ascii_lowercase();
    let Some(value) = value else {
        return matches!(name.as_str(), "accept" | "accept-language" | "content-language");
    };
    if value.len() > 128 {
        return false;
    }
    match name.as_str() {
        "accept" => !value.bytes().any(unsafe_byte),
        "accept-language" | "content-language" => {
            value.bytes().all(|b| b.is_ascii_alphanumeric() || b" *,-.;=".contains(&b))
        }
        "content-type" => {
            let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            !value.bytes().any(unsafe_byte)
                && matches!(
                    essence.as_str(),
                    "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
                )
        }
        "range" => {
            let Some(range) = value.strip_prefix("bytes=") else { return false };
            let Some((start, end)) = range.split_once('-') else { return false };
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            digits(start) && (end.is_empty() || digits(end))
        }
        _ => false,
    }
}

impl Fetch {
    /// Fetch's "CORS-unsafe request-header names": lowercase, sorted, each once. These are what a
    /// preflight's `Access-Control-Request-Headers` lists.
    pub fn unsafe_header_names(&self) -> Vec<String> {
        let safelisted_size: usize = self
            .headers
            .iter()
            .filter(|(n, v)| is_safelisted_header(n, v.as_deref()))
            .map(|(_, v)| v.as_deref().map_or(0, str::len))
            .sum();
        let mut names: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, v)| safelisted_size > 1024 || !is_safelisted_header(n, v.as_deref()))
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Why the browser sends a preflight first, or `None` for a "simple" request. Credentials
    /// alone never need one.
    pub fn preflight_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if !is_safelisted_method(&self.method) {
            reasons.push(format!("method {} is not CORS-safelisted (only GET, HEAD and POST are)", self.method));
        }
        for name in self.unsafe_header_names() {
            let value = self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)).and_then(|(_, v)| v.clone());
            let why = match (name.as_str(), value) {
                ("content-type", Some(value)) => format!(
                    "header content-type: {value} is not CORS-safelisted (only application/x-www-form-urlencoded, \
                     multipart/form-data and text/plain are)"
                ),
                ("content-type", None) => {
                    "header content-type is taken as not CORS-safelisted (give its value, such as \
                     'Content-Type: text/plain', to test a simple one)"
                        .to_string()
                }
                _ => format!("header {name} is not CORS-safelisted"),
            };
            reasons.push(why);
        }
        reasons
    }

    /// The value a preflight's `Access-Control-Request-Headers` carries (Chromium joins with ",").
    pub fn request_headers_value(&self) -> Option<String> {
        let names = self.unsafe_header_names();
        (!names.is_empty()).then(|| names.join(","))
    }
}

/// Chromium's hint after a wrong `Access-Control-Allow-Origin` value.
const VALID: &str = "Have the server send the header with a valid value.";

/// Why the browser refuses a response, in Chromium's words (checked against Chromium 156 for
/// each failure but `InvalidAllowOrigin`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No `Access-Control-Allow-Origin`.
    MissingAllowOrigin,
    /// Several values in `Access-Control-Allow-Origin` (two lines, or a list).
    MultipleAllowOrigin(String),
    /// An `Access-Control-Allow-Origin` that is no origin.
    InvalidAllowOrigin(String),
    /// Another origin than the page's.
    AllowOriginMismatch(String),
    /// `*` for a request with credentials.
    WildcardWithCredentials,
    /// Credentials without `Access-Control-Allow-Credentials: true`.
    InvalidAllowCredentials(String),
    /// A preflight answered with another status than 2xx.
    PreflightStatus(u16),
    /// A preflight answered with a redirect.
    PreflightRedirect,
    /// The method is not in `Access-Control-Allow-Methods`.
    MethodNotAllowed(String),
    /// A header is not in `Access-Control-Allow-Headers`.
    HeaderNotAllowed(String),
    /// A private network request's preflight without `Access-Control-Allow-Private-Network: true`
    /// (not checked against Chromium, which words it for the address space it found).
    PrivateNetworkNotAllowed,
}

impl Failure {
    /// The text after "has been blocked by CORS policy: ".
    pub fn message(&self, preflight: bool) -> String {
        let access = match self {
            Failure::MissingAllowOrigin => {
                "No 'Access-Control-Allow-Origin' header is present on the requested resource.".to_string()
            }
            Failure::MultipleAllowOrigin(value) => format!(
                "The 'Access-Control-Allow-Origin' header contains multiple values '{value}', but only one is allowed. {VALID}"
            ),
            Failure::InvalidAllowOrigin(value) => {
                format!("The 'Access-Control-Allow-Origin' header contains the invalid value '{value}'. {VALID}")
            }
            Failure::AllowOriginMismatch(value) => format!(
                "The 'Access-Control-Allow-Origin' header has a value '{value}' that is not equal to the supplied origin. {VALID}"
            ),
            Failure::WildcardWithCredentials => {
                "The value of the 'Access-Control-Allow-Origin' header in the response \
                                                 must not be the wildcard '*' when the request's credentials mode is \
                                                 'include'."
                    .to_string()
            }
            Failure::InvalidAllowCredentials(value) => format!(
                "The value of the 'Access-Control-Allow-Credentials' header in the response is '{value}' which must be \
                 'true' when the request's credentials mode is 'include'."
            ),
            Failure::PreflightStatus(_) => "It does not have HTTP ok status.".to_string(),
            Failure::PreflightRedirect => "Redirect is not allowed for a preflight request.".to_string(),
            Failure::MethodNotAllowed(method) => {
                return format!(
                    "Method {method} is not allowed by Access-Control-Allow-Methods in preflight response."
                );
            }
            Failure::HeaderNotAllowed(name) => {
                return format!(
                    "Request header field {name} is not allowed by Access-Control-Allow-Headers in preflight response."
                );
            }
            Failure::PrivateNetworkNotAllowed => "No 'Access-Control-Allow-Private-Network' header was present in the \
                                                  preflight response for this private network request."
                .to_string(),
        };
        if preflight {
            format!("Response to preflight request doesn't pass access control check: {access}")
        } else {
            access
        }
    }

    /// The console line `engine` prints, where it was observed here: Chromium's for every failure
    /// (but an invalid `Access-Control-Allow-Origin`), Firefox's for those the browser suite makes
    /// it print; WebKit's console cannot be read through its WebDriver, so none.
    pub fn console(&self, engine: Engine, url: &str, origin: &str, preflight: bool) -> Option<String> {
        match engine {
            Engine::Chromium => Some(format!(
                "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: {}",
                self.message(preflight)
            )),
            Engine::Firefox => self.firefox_reason().map(|(reason, quoted)| {
                let url = if quoted { format!("‘{url}’") } else { url.to_string() };
                format!(
                    "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at \
                     {url}. (Reason: {reason})"
                )
            }),
            Engine::WebKit => None,
        }
    }

    /// Firefox's reason, for the failures the browser suite observed it print, and whether it
    /// quotes the URL (‘…’) before it.
    fn firefox_reason(&self) -> Option<(String, bool)> {
        Some(match self {
            Failure::MissingAllowOrigin => ("CORS header ‘Access-Control-Allow-Origin’ missing".to_string(), false),
            Failure::WildcardWithCredentials => {
                ("Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’".into(), true)
            }
            Failure::MethodNotAllowed(_) => {
                ("Did not find method in CORS header ‘Access-Control-Allow-Methods’".to_string(), false)
            }
            Failure::HeaderNotAllowed(name) => (
                format!(
                    "header ‘{name}’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS \
                     preflight response"
                ),
                false,
            ),
            _ => return None,
        })
    }

    /// A short code for tools.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::MissingAllowOrigin => "missing-allow-origin",
            Failure::MultipleAllowOrigin(_) => "multiple-allow-origin",
            Failure::InvalidAllowOrigin(_) => "invalid-allow-origin",
            Failure::AllowOriginMismatch(_) => "allow-origin-mismatch",
            Failure::WildcardWithCredentials => "wildcard-with-credentials",
            Failure::InvalidAllowCredentials(_) => "invalid-allow-credentials",
            Failure::PreflightStatus(_) => "preflight-status",
            Failure::PreflightRedirect => "preflight-redirect",
            Failure::MethodNotAllowed(_) => "method-not-allowed",
            Failure::HeaderNotAllowed(_) => "header-not-allowed",
            Failure::PrivateNetworkNotAllowed => "private-network-not-allowed",
        }
    }

    /// What to change on the server.
    pub fn fix(&self, fetch: &Fetch, preflight: bool) -> String {
        let origin = &fetch.origin;
        match self {
            Failure::MissingAllowOrigin if preflight => format!(
                "Answer the preflight (OPTIONS with Origin and Access-Control-Request-Method) with a 2xx status and \
                 Access-Control-Allow-Origin: {origin}, plus Access-Control-Allow-Methods / -Headers for what it asks. \
                 Answer it before authentication and routing: a preflight carries no cookies or Authorization. \
                 (corsguard answers preflights at the edge: add \"{origin}\" to origins.)"
            ),
            Failure::MissingAllowOrigin => format!(
                "Send Access-Control-Allow-Origin: {origin} (with Vary: Origin) when {origin} may read the response; \
                 error responses need it too, or the page cannot see the error. (With corsguard: add \"{origin}\" to \
                 origins.)"
            ),
            Failure::MultipleAllowOrigin(_) => "Two layers add CORS headers (the application and a proxy, or two \
                                                middlewares): let exactly one set Access-Control-Allow-Origin. \
                                                (corsguard removes the upstream's copies and sets one.)"
                .to_string(),
            Failure::InvalidAllowOrigin(_) => format!(
                "Access-Control-Allow-Origin holds one origin exactly as the browser sent it in Origin \
                 (scheme://host[:port], no path, no trailing slash), or *: send {origin}."
            ),
            Failure::AllowOriginMismatch(value) => format!(
                "The server answers for {value}, not for {origin}: look the request's Origin up in an allow list and \
                 send that origin back (with Vary: Origin), instead of one fixed value."
            ),
            Failure::WildcardWithCredentials => format!(
                "With credentials, * is refused: send the request's origin ({origin}) instead, with \
                 Access-Control-Allow-Credentials: true and Vary: Origin. Or make the request without credentials."
            ),
            Failure::InvalidAllowCredentials(_) => "Send Access-Control-Allow-Credentials: true (exactly that) for \
                                                    credentialed requests, or make the request without credentials."
                .to_string(),
            Failure::PreflightStatus(status) => format!(
                "The preflight got {status}: OPTIONS must get a 2xx (204 is usual). Frameworks often route OPTIONS to \
                 nothing (404/405) or run authentication on it (401/403), but a preflight never carries credentials: \
                 answer it first. (corsguard answers preflights at the edge, never forwarding them.)"
            ),
            Failure::PreflightRedirect => "A preflight cannot follow a redirect: call the final URL directly (often \
                                           http -> https, or a missing or extra trailing slash)."
                .to_string(),
            Failure::MethodNotAllowed(method) => format!(
                "List {method} in the preflight's Access-Control-Allow-Methods (case-sensitive). (With corsguard: add \
                 \"{method}\" to methods.)"
            ),
            Failure::HeaderNotAllowed(name) => format!(
                "List {name} in the preflight's Access-Control-Allow-Headers. (With corsguard: add \"{name}\" to \
                 request_headers.)"
            ),
            Failure::PrivateNetworkNotAllowed => "Answer the preflight with Access-Control-Allow-Private-Network: \
                                                  true when public pages may reach this private server. (With \
                                                  corsguard: set \"private_network\": true.)"
                .to_string(),
        }
    }
}

/// A list header's elements, trimmed, empty ones dropped.
fn elements(value: &str) -> Vec<&str> {
    value.split(',').map(|e| e.trim_matches([' ', '\t'])).filter(|e| !e.is_empty()).collect()
}

/// Fetch's CORS check (as Chromium orders it): the `Access-Control-Allow-Origin` value, then
/// credentials.
pub fn cors_check(fetch: &Fetch, response: &Response) -> Result<(), Failure> {
    let Some(allow_origin) = response.get("access-control-allow-origin") else {
        return Err(Failure::MissingAllowOrigin);
    };
    if allow_origin == "*" {
        if fetch.credentials {
            return Err(Failure::WildcardWithCredentials);
        }
        return Ok(());
    }
    if allow_origin != fetch.origin {
        if allow_origin.contains([',', ' ']) {
            return Err(Failure::MultipleAllowOrigin(allow_origin));
        }
        if allow_origin != "null" && !allow_origin.contains("://") {
            return Err(Failure::InvalidAllowOrigin(allow_origin));
        }
        return Err(Failure::AllowOriginMismatch(allow_origin));
    }
    if fetch.credentials {
        let credentials = response.get("access-control-allow-credentials").unwrap_or_default();
        if credentials != "true" {
            return Err(Failure::InvalidAllowCredentials(credentials));
        }
    }
    Ok(())
}

/// The checks on a preflight's response: redirect, CORS check, ok status, then the method and
/// each header asked for.
pub fn preflight_check(fetch: &Fetch, response: &Response) -> Result<(), Failure> {
    if (300..400).contains(&response.status) {
        return Err(Failure::PreflightRedirect);
    }
    cors_check(fetch, response)?;
    if !(200..300).contains(&response.status) {
        return Err(Failure::PreflightStatus(response.status));
    }
    let methods = response.get("access-control-allow-methods").unwrap_or_default();
    let methods = elements(&methods);
    let star = |list: &[&str]| !fetch.credentials && list.contains(&"*");
    if !is_safelisted_method(&fetch.method) && !methods.contains(&fetch.method.as_str()) && !star(&methods) {
        return Err(Failure::MethodNotAllowed(fetch.method.clone()));
    }
    let headers = response.get("access-control-allow-headers").unwrap_or_default();
    let headers = elements(&headers);
    // `*` covers every name here, Authorization too: Fetch says it never covers Authorization, but
    // Chromium, Firefox and WebKit were all observed letting it through ([`preflight_warnings`]).
    for name in fetch.unsafe_header_names() {
        if !star(&headers) && !headers.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
            return Err(Failure::HeaderNotAllowed(name));
        }
    }
    if fetch.private_network && response.get("access-control-allow-private-network").as_deref() != Some("true") {
        return Err(Failure::PrivateNetworkNotAllowed);
    }
    Ok(())
}

/// What the browsers accept in a preflight's answer but should not be relied on.
pub fn preflight_warnings(fetch: &Fetch, response: &Response) -> Vec<String> {
    let headers = response.get("access-control-allow-headers").unwrap_or_default();
    let headers = elements(&headers);
    let covered_by_star = fetch.unsafe_header_names().iter().any(|n| n == "authorization")
        && headers.contains(&"*")
        && !headers.iter().any(|h| h.eq_ignore_ascii_case("authorization"));
    let mut warnings = Vec::new();
    if covered_by_star {
        warnings.push(
            "Access-Control-Allow-Headers: * lets Authorization through in Chromium, Firefox and WebKit (observed \
             here), but the Fetch standard says * never covers it, and engines are moving to it: list \
             Authorization by name."
                .to_string(),
        );
    }
    warnings
}

/// What the browser accepts but should not be relied on: warnings about the response.
pub fn warnings(fetch: &Fetch, response: &Response) -> Vec<String> {
    let mut warnings = Vec::new();
    let allow_origin = response.get("access-control-allow-origin");
    if let Some(value) = allow_origin.as_deref().filter(|v| *v != "*") {
        let vary = response.get("vary").unwrap_or_default();
        let covered = elements(&vary).iter().any(|t| *t == "*" || t.eq_ignore_ascii_case("origin"));
        if !covered {
            warnings.push(format!(
                "Access-Control-Allow-Origin is '{value}' (it depends on the request's origin) but Vary does not list \
                 Origin: a CDN, proxy or the browser's cache can serve this answer to a page from another origin, \
                 which the browser then blocks. Add Vary: Origin."
            ));
        }
        if value == "null" {
            warnings.push(
                "Access-Control-Allow-Origin: null: sandboxed iframes and file: pages of any site send Origin: null; \
                 allowing it is close to allowing everyone."
                    .to_string(),
            );
        }
    }
    if allow_origin.as_deref() == Some("*")
        && response.get("access-control-allow-credentials").as_deref() == Some("true")
        && !fetch.credentials
    {
        warnings.push(
            "Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true: the same request with \
             credentials would be blocked."
                .to_string(),
        );
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(method: &str, headers: &[(&str, Option<&str>)], credentials: bool) -> Fetch {
        Fetch {
            origin: "https://app.example".into(),
            method: normalize_method(method),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.map(String::from))).collect(),
            credentials,
            private_network: false,
        }
    }

    fn response(status: u16, headers: &[(&str, &str)]) -> Response {
        Response { status, headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn simple_requests_need_no_preflight_and_others_do() {
        assert!(fetch("get", &[], true).preflight_reasons().is_empty());
        assert!(
            fetch("POST", &[("Content-Type", Some("text/plain;charset=utf-8"))], false).preflight_reasons().is_empty()
        );
        assert!(fetch("GET", &[("Accept", None), ("Range", Some("bytes=0-9"))], false).preflight_reasons().is_empty());
        assert_eq!(fetch("patch", &[], false).method, "patch");
        assert_eq!(fetch("put", &[], false).preflight_reasons().len(), 1);
        let json = fetch("POST", &[("Content-Type", Some("application/json")), ("X-B", None), ("x-a", None)], false);
        assert_eq!(json.request_headers_value().as_deref(), Some("content-type,x-a,x-b"));
        let long = "a".repeat(129);
        assert_eq!(fetch("GET", &[("Accept", Some(&long))], false).unsafe_header_names(), ["accept"]);
    }

    #[test]
    fn the_cors_check_fails_as_chromium_does() {
        let f = fetch("GET", &[], false);
        let c = fetch("GET", &[], true);
        assert_eq!(cors_check(&f, &response(200, &[])), Err(Failure::MissingAllowOrigin));
        assert_eq!(cors_check(&f, &response(200, &[("access-control-allow-origin", "*")])), Ok(()));
        assert_eq!(
            cors_check(&c, &response(200, &[("access-control-allow-origin", "*")])),
            Err(Failure::WildcardWithCredentials)
        );
        let twice = response(
            200,
            &[
                ("access-control-allow-origin", "https://app.example"),
                ("access-control-allow-origin", "https://app.example"),
            ],
        );
        assert_eq!(
            cors_check(&f, &twice),
            Err(Failure::MultipleAllowOrigin("https://app.example, https://app.example".into()))
        );
        let reflected = response(200, &[("access-control-allow-origin", "https://app.example")]);
        assert_eq!(cors_check(&f, &reflected), Ok(()));
        assert_eq!(cors_check(&c, &reflected), Err(Failure::InvalidAllowCredentials(String::new())));
        assert_eq!(warnings(&f, &reflected).len(), 1);
    }

    #[test]
    fn preflights_check_status_methods_and_headers() {
        let f = fetch("PUT", &[("Authorization", Some("Bearer x"))], false);
        let ok = |extra: &[(&str, &str)]| {
            let mut headers = vec![("access-control-allow-origin", "https://app.example")];
            headers.extend_from_slice(extra);
            response(204, &headers)
        };
        assert_eq!(
            preflight_check(&f, &ok(&[])),
            Err(Failure::MethodNotAllowed("PUT".into())),
            "the method is checked before the headers"
        );
        let star = ok(&[("access-control-allow-methods", "*"), ("access-control-allow-headers", "*")]);
        assert_eq!(preflight_check(&f, &star), Ok(()), "as the three engines do");
        assert_eq!(preflight_warnings(&f, &star).len(), 1, "but Fetch says * never covers Authorization");
        let allowed =
            ok(&[("access-control-allow-methods", "GET, PUT"), ("access-control-allow-headers", "Authorization")]);
        assert_eq!(preflight_check(&f, &allowed), Ok(()));
        let mut not_found = allowed.clone();
        not_found.status = 404;
        assert_eq!(preflight_check(&f, &not_found), Err(Failure::PreflightStatus(404)));
        assert_eq!(preflight_check(&f, &response(404, &[])), Err(Failure::MissingAllowOrigin));
        let private = Fetch { private_network: true, ..f.clone() };
        assert_eq!(preflight_check(&private, &allowed), Err(Failure::PrivateNetworkNotAllowed));
        let mut granted = allowed.clone();
        granted.headers.push(("Access-Control-Allow-Private-Network".into(), "true".into()));
        assert_eq!(preflight_check(&private, &granted), Ok(()));
    }
}
