//! The corsguard command: check a policy, explain a decision, probe a live server, emit edge
//! configurations. See docs/cli.md.

mod check;
mod client;
mod edge_methods;
mod emit;
mod engines;
mod explain;
mod import;
mod outcome;
mod policy_file;
mod probe;
pub mod schema;
mod verify;

use clap::{Parser, Subcommand};
use corsguard_browser as browser;
use outcome::{Failure, Format, Outcome};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "corsguard", version, about = "One CORS policy, enforced at every edge: check it, explain its \
    decisions, probe live servers as a browser does, and emit edge configurations.", after_help = outcome::EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The policy file a command reads, and its environment: shared by check, explain, emit and verify.
#[derive(clap::Args)]
pub struct PolicyArg {
    /// The policy file (- for standard input).
    pub policy: String,
    /// The environment of the policy file to use (its "environments" entry); check, without it,
    /// checks every environment.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
}

/// How a command prints its report: shared by check, explain and probe.
#[derive(clap::Args)]
struct FormatArg {
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// What a browser would send: shared by explain and probe.
#[derive(clap::Args)]
struct RequestArgs {
    /// The page's origin, as the browser's Origin header shows it (https://app.example.com).
    #[arg(long)]
    origin: String,
    /// The fetch() method (get, put, delete... are uppercased as fetch() does; patch is not).
    #[arg(long, default_value = "GET")]
    method: String,
    /// A header the script sets: "Name: value", or a bare name (repeatable).
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    headers: Vec<String>,
    /// credentials: "include" (cookies, HTTP authentication).
    #[arg(long)]
    credentials: bool,
    /// The browser engine to speak for (its console words, its preflight cache); every engine
    /// when not given.
    #[arg(long, value_enum, value_name = "ENGINE")]
    browser: Option<engines::EngineArg>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a policy file: every error and warning with its JSON path, line and a fix.
    #[command(after_help = outcome::EXIT_CODES)]
    Check {
        #[command(flatten)]
        policy: PolicyArg,
        /// Count warnings as errors (exit 1).
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show what the edge answers to one browser request (preflight and actual), which rule
    /// decided, and the console message of a refusal.
    #[command(after_help = outcome::EXIT_CODES)]
    Explain {
        #[command(flatten)]
        policy: PolicyArg,
        #[command(flatten)]
        request: RequestArgs,
        /// The request's path, for routes with path_prefix.
        #[arg(long, default_value = "/", conflicts_with = "url")]
        path: String,
        /// The request's Host (with the port if not the default), for routes with host.
        #[arg(long, conflicts_with = "url")]
        host: Option<String>,
        /// The URL the page fetches (sets the scheme, --host and --path at once).
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Act as the browser against a live server: preflight when needed, then the request; run
    /// the browser's CORS check on the real responses.
    #[command(after_help = outcome::EXIT_CODES)]
    Probe {
        /// The URL the page fetches.
        url: String,
        #[command(flatten)]
        request: RequestArgs,
        /// Seconds to wait for each answer, connecting included.
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        timeout: f64,
        /// Count warnings (such as a missing Vary: Origin) as failures (exit 1).
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print the deployable configuration of an edge with the policy embedded (with --env, the
    /// environment's policy, resolved: wrangler's [env.NAME]; the plugin or package corsguard-NAME).
    #[command(after_help = outcome::EXIT_CODES)]
    Emit {
        #[arg(value_enum)]
        edge: emit::Edge,
        #[command(flatten)]
        policy: PolicyArg,
        /// envoy: the native dynamic module (envoy-module/, Envoy 1.40) instead of the `.wasm`.
        #[arg(long)]
        native: bool,
        /// Where the module is: a path for envoy, a file://, https:// or oci:// URL for istio.
        #[arg(long)]
        wasm: Option<String>,
        /// wrangler: the UPSTREAM URL (without it, requests go on to the zone's origin); fastly: the
        /// `origin` backend (default for local runs: http://127.0.0.1:8080).
        #[arg(long)]
        upstream: Option<String>,
        /// wrangler: bind this Workers Analytics Engine dataset, which then gets a data point per
        /// CORS decision (kind, outcome, reason, mode, route).
        #[arg(long, value_name = "DATASET")]
        analytics: Option<String>,
        /// istio: the WasmPlugin's namespace.
        #[arg(long, default_value = emit::DEFAULT_NAMESPACE)]
        namespace: String,
        /// istio: a pod label KEY=VALUE the plugin applies to (repeatable; default istio=ingressgateway).
        #[arg(long)]
        selector: Vec<String>,
    },
    /// Prove that live edges enforce the policy: send each the cases derived from the policy, judge
    /// every answer as a browser does, and print a case x edge table (exit 1 on any disagreement).
    ///
    /// The cases: for every origin entry an origin it allows and near misses (a longer host,
    /// another scheme or port, a wildcard's apex); every listed and one unlisted method and request
    /// header; credentials; private network; each route from inside, just outside and through
    /// other spellings of its path and host. Each answer is compared with the policy's own answer
    /// to exactly that request, and answers the policy leaves to the upstream with the other
    /// edges'. What is sent: OPTIONS preflights and GET requests with an Origin header, to paths
    /// the policy names (/corsguard-verify and paths in and around each route), paced by --rate.
    /// Never a cookie, a credential or a body, never another method: nothing that changes data.
    #[command(after_help = outcome::EXIT_CODES)]
    Verify {
        #[command(flatten)]
        policy: PolicyArg,
        /// Each edge's origin (https://api.example.com), or NAME=URL to name its column
        /// (workers=https://api.example.com).
        #[arg(required = true, value_name = "URL")]
        urls: Vec<String>,
        /// Seconds to wait for each answer, connecting included.
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        timeout: f64,
        /// The most requests per second, over all edges.
        #[arg(long, default_value_t = 10.0, value_name = "PER_SECOND")]
        rate: f64,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Read the CORS configuration a team already has and write the corsguard policy that does the
    /// same, with a report of every point: exact, changed (with a request that shows it), or not
    /// expressible (exit 1 and nothing written, unless --lossy).
    #[command(after_help = outcome::EXIT_CODES)]
    Import {
        #[arg(value_enum)]
        source: import::Source,
        /// The configuration files (YAML or JSON, any number of documents each).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Write the policy to this file (standard output when not given; the report goes to
        /// standard error).
        #[arg(long, value_name = "FILE")]
        out: Option<String>,
        /// Write the policy even when some points cannot be expressed: they are left out, as the
        /// report says.
        #[arg(long)]
        lossy: bool,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print the JSON Schema of the policy file (the checked-in policy.schema.json).
    Schema,
}

/// An HTTP token (RFC 9110 section 5.6.2), what a method and a header name are: `fetch()` throws
/// on anything else.
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn headers(raw: &[String]) -> Result<Vec<(String, Option<String>)>, Failure> {
    let mut headers = Vec::new();
    for header in raw {
        let (name, value) = match header.split_once(':') {
            Some((name, value)) => (name.trim(), Some(value.trim().to_string())),
            None => (header.trim(), None),
        };
        if !is_token(name) {
            return Err(Failure::Usage(format!("--header {header:?}: give \"Name: value\" or a header name")));
        }
        if browser::is_forbidden_header(name) {
            let hint = if name.eq_ignore_ascii_case("cookie") { " (use --credentials for cookies)" } else { "" };
            return Err(Failure::Usage(format!(
                "--header {name}: a script cannot set {name}; the browser sets it itself{hint}"
            )));
        }
        headers.push((name.to_string(), value));
    }
    Ok(headers)
}

fn fetch(request: RequestArgs) -> Result<browser::Fetch, Failure> {
    let method = &request.method;
    if !is_token(method) {
        return Err(Failure::Usage(format!(
            "--method {method:?}: fetch() sends only a method name (a token, such as PUT)"
        )));
    }
    if corsguard::tools::is_forbidden_method(method) {
        return Err(Failure::Usage(format!("--method {method}: fetch() refuses to send CONNECT, TRACE and TRACK")));
    }
    Ok(browser::Fetch {
        origin: request.origin,
        method: browser::normalize_method(&request.method),
        headers: headers(&request.headers)?,
        credentials: request.credentials,
        private_network: false,
    })
}

fn run(cli: Cli) -> Result<Outcome, Failure> {
    match cli.command {
        Command::Check { policy, strict, format } => {
            check::run(&policy.policy, policy.env.as_deref(), strict, format.format)
        }
        Command::Explain { policy, request, path, host, url, format } => {
            let (scheme, host, path) = match url {
                None => ("https".to_string(), host, path),
                Some(url) => {
                    let uri: ureq::http::Uri =
                        url.parse().map_err(|e| Failure::Usage(format!("--url {url} is not a URL: {e}")))?;
                    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
                        return Err(Failure::Usage(format!("--url {url}: give scheme://host/path")));
                    };
                    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
                    (scheme.to_string(), Some(authority.to_string()), path)
                }
            };
            let format = format.format;
            let engines = engines::selected(request.browser);
            explain::run(
                &policy.policy,
                policy.env.as_deref(),
                &explain::Args { fetch: fetch(request)?, engines, scheme, host, path, format },
            )
        }
        Command::Probe { url, request, timeout, strict, format } => {
            if !(timeout > 0.0 && timeout <= 300.0) {
                return Err(Failure::Usage(format!("--timeout {timeout}: give 0 < seconds <= 300")));
            }
            let timeout = Duration::from_secs_f64(timeout);
            let engines = engines::selected(request.browser);
            probe::run(&probe::Args { url, fetch: fetch(request)?, engines, timeout, strict, format: format.format })
        }
        Command::Emit { edge, policy, native, wasm, upstream, analytics, namespace, selector } => emit::run(
            &policy.policy,
            &emit::Args { edge, env: policy.env, native, wasm, upstream, analytics, namespace, selector },
        ),
        Command::Verify { policy, urls, timeout, rate, format } => {
            if !(timeout > 0.0 && timeout <= 300.0) {
                return Err(Failure::Usage(format!("--timeout {timeout}: give 0 < seconds <= 300")));
            }
            let timeout = Duration::from_secs_f64(timeout);
            verify::run(&verify::Args {
                policy: policy.policy,
                env: policy.env,
                urls,
                timeout,
                rate,
                format: format.format,
            })
        }
        Command::Import { source, files, out, lossy, format } => {
            import::run(&import::Args { source, files, out, lossy, format: format.format })
        }
        Command::Schema => {
            print!("{}", schema::text());
            Ok(Outcome::Yes)
        }
    }
}

/// Runs the command line; the process's exit code.
pub fn main() -> ExitCode {
    outcome::exit(run(Cli::parse()))
}
