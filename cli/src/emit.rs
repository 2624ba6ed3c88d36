//! `corsguard emit`: the deployable configuration of an edge with the policy embedded.
//!
//! Kept in step with the adapters: the Envoy filter entries are the ones tests/e2e/envoy_edge.py
//! runs (the `.wasm`: plugin configuration = the policy as a `google.protobuf.StringValue`, root id
//! `corsguard`; the dynamic module: filter configuration = the same StringValue, module
//! `corsguard_envoy`, metrics namespace `corsguard`); the Workers file is the repository's wrangler.toml (`CORS_POLICY`, `UPSTREAM`,
//! main, compatibility date and build command, checked by tests/emit.rs); the Fastly manifest is
//! fastly/fastly.toml (Config Store `corsguard`, entry `policy`, backend `origin`, logging endpoint
//! `corsguard`, which fastly/src/main.rs reads and tests/e2e/test_fastly.py serves in Viceroy).

use crate::check;
use crate::outcome::{Failure, Outcome};
use corsguard::tools::Layout;

/// The edges `emit` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Edge {
    /// An Envoy `http_filters` entry (YAML).
    Envoy,
    /// The Envoy bootstrap's `stats_config` that labels the `.wasm`'s counters (YAML).
    EnvoyStats,
    /// An Istio `WasmPlugin` resource (YAML).
    Istio,
    /// A wrangler.toml for Cloudflare Workers (or, with --env, its environment's section).
    Wrangler,
    /// A fastly.toml for Fastly Compute: the policy in its Config Store, for deployment and Viceroy.
    Fastly,
    /// The policy itself, resolved (JSON): what the wasi:http component's build embeds
    /// (`CORSGUARD_POLICY=file component/http/build.sh`) and the npm package takes.
    Component,
}

pub struct Args {
    pub edge: Edge,
    pub env: Option<String>,
    /// envoy: the dynamic module (envoy-module/) instead of the `.wasm`.
    pub native: bool,
    pub wasm: Option<String>,
    pub upstream: Option<String>,
    /// wrangler: the Workers Analytics Engine dataset to bind.
    pub analytics: Option<String>,
    pub namespace: String,
    pub selector: Vec<String>,
}

/// The Workers settings of the repository's wrangler.toml (tests/emit.rs compares them).
pub const WRANGLER_MAIN: &str = "cloudflare/build/worker/shim.mjs";
pub const WRANGLER_COMPATIBILITY_DATE: &str = "2026-11-01";
pub const WRANGLER_BUILD: &str = "sh cloudflare/build.sh";
/// The Analytics Engine binding the Worker writes a data point per decision to, when bound
/// (cloudflare/src/lib.rs).
pub const WRANGLER_ANALYTICS_BINDING: &str = "CORSGUARD_ANALYTICS";
/// What the Fastly app reads (fastly/src/main.rs), and how fastly.toml builds it.
pub const FASTLY_STORE: &str = "corsguard";
pub const FASTLY_POLICY_KEY: &str = "policy";
pub const FASTLY_BACKEND: &str = "origin";
/// The logging endpoint the app writes its denial lines and problems to (fastly/src/log.rs).
pub const FASTLY_LOG_ENDPOINT: &str = "corsguard";
pub const FASTLY_BUILD: &str =
    "bash build.sh && mkdir -p bin && cp ../target/fastly/corsguard-fastly.wasm bin/main.wasm";
/// The longest value a Config Store entry holds, in characters (Fastly's limit, and Viceroy's).
pub const FASTLY_ENTRY_MAX: usize = 8000;
/// The backend of local runs when --upstream gives none.
const FASTLY_LOCAL_UPSTREAM: &str = "http://127.0.0.1:8080";
/// The filter's root id and VM id (proxy-wasm/, tests/e2e/envoy_edge.py).
pub const ROOT_ID: &str = "corsguard";
/// The dynamic module's name (Envoy loads `lib<name>.so`, envoy-module/Cargo.toml's lib name) and
/// the prefix of its metrics (Prometheus: `envoy_corsguard_requests_total`).
pub const MODULE_NAME: &str = "corsguard_envoy";
pub const MODULE_METRICS_NAMESPACE: &str = "corsguard";

pub fn run(policy_path: &str, args: &Args) -> Result<Outcome, Failure> {
    if args.upstream.is_some() && !matches!(args.edge, Edge::Wrangler | Edge::Fastly) {
        return Err(Failure::Usage("--upstream applies to wrangler and fastly only".into()));
    }
    if args.analytics.is_some() && args.edge != Edge::Wrangler {
        return Err(Failure::Usage("--analytics applies to wrangler only".into()));
    }
    if args.native && args.edge != Edge::Envoy {
        return Err(Failure::Usage("--native applies to envoy only".into()));
    }
    if args.native && args.wasm.is_some() {
        return Err(Failure::Usage(
            "--native and --wasm: the dynamic module is found through ENVOY_DYNAMIC_MODULES_SEARCH_PATH, not a path"
                .into(),
        ));
    }
    let (file, view) = check::load(policy_path, args.env.as_deref())?;
    let policy = view.json(Layout::Indented) + "\n";
    let source = command(&file.name, args);
    let text = match args.edge {
        Edge::Envoy if args.native => envoy_native(&policy, &source, args),
        Edge::Envoy => envoy(&policy, &source, args),
        Edge::EnvoyStats => envoy_stats(&source),
        Edge::Istio => istio(&policy, &source, args)?,
        Edge::Wrangler => wrangler(&policy, &source, args),
        Edge::Fastly => fastly(&view.json(Layout::Compact), &source, args)?,
        Edge::Component => policy,
    };
    print!("{text}");
    Ok(Outcome::Yes)
}

/// The command that prints this output again, as its header quotes it (tests/emit.rs re-runs the
/// headers of the repository's configurations): `corsguard emit EDGE FILE` and the options given.
fn command(file: &str, args: &Args) -> String {
    let edge = clap::ValueEnum::to_possible_value(&args.edge).map(|v| v.get_name().to_string()).unwrap_or_default();
    let mut words =
        vec!["corsguard".to_string(), "emit".into(), edge, file.chars().filter(|c| !c.is_control()).collect()];
    if args.native {
        words.push("--native".into());
    }
    let mut option = |name: &str, value: &Option<String>| {
        if let Some(value) = value {
            words.extend([format!("--{name}"), value.clone()]);
        }
    };
    option("env", &args.env);
    option("wasm", &args.wasm);
    option("upstream", &args.upstream);
    option("analytics", &args.analytics);
    if args.edge == Edge::Istio {
        if args.namespace != DEFAULT_NAMESPACE {
            words.extend(["--namespace".into(), args.namespace.clone()]);
        }
        for selector in &args.selector {
            words.extend(["--selector".into(), selector.clone()]);
        }
    }
    words.join(" ")
}

/// The start of the `.wasm`'s counter names in Envoy's stats (Envoy puts a plugin's metrics under
/// `wasmcustom.`; proxy-wasm/src/counters.rs names them `corsguard.requests_total....`).
const ISTIO_STATS_PREFIX: &str = "wasmcustom.corsguard.";

/// Istio's namespace for the WasmPlugin when --namespace gives none.
pub const DEFAULT_NAMESPACE: &str = "istio-system";

/// A string as a YAML double-quoted scalar or a TOML basic string (JSON's escapes suit both).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn indented(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|line| format!("{pad}{line}\n")).collect()
}

fn name(args: &Args) -> String {
    match &args.env {
        Some(env) => format!("corsguard-{env}"),
        None => "corsguard".to_string(),
    }
}

/// What both Envoy filter entries say about where they go and what the HttpConnectionManager
/// should give them.
const ENVOY_PLACEMENT: &str = "\
# An entry of an HttpConnectionManager's http_filters: the first one, before any filter that can
# reply (rate limit, ext_authz, jwt_authn), and before envoy.filters.http.router.
";
const ENVOY_CONNECTION_MANAGER: &str = "\
# Give the HttpConnectionManager, too (defence in depth: one spelling reaches the upstream):
#   normalize_path: true
#   merge_slashes: true
#   path_with_escaped_slashes_action: REJECT_REQUEST
#   strip_trailing_host_dot: true
# and, if the policy lists methods Envoy does not know (NEW; PROPFIND is known), so that they
# reach the filter instead of a 400 from Envoy:
#   http_protocol_options: { allow_custom_methods: true }
";

fn envoy(policy: &str, source: &str, args: &Args) -> String {
    let wasm = args.wasm.as_deref().unwrap_or("/etc/envoy/corsguard.wasm");
    format!(
        "# corsguard for Envoy, generated by `{source}`: regenerate it, don't edit it.\n\
         {ENVOY_PLACEMENT}\
         # The module is proxy-wasm/build.sh's target/envoy/corsguard.wasm (--wasm gives its path here).\n\
         # Its counters are labelled by the bootstrap's stats_config that `corsguard emit envoy-stats` prints.\n\
         {ENVOY_CONNECTION_MANAGER}\
         # Envoy refuses the filter, and logs why, if the policy has any error.\n\
         - name: envoy.filters.http.wasm\n\
         \x20 typed_config:\n\
         \x20   \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm\n\
         \x20   config:\n\
         \x20     name: {name}\n\
         \x20     root_id: {ROOT_ID}\n\
         \x20     vm_config:\n\
         \x20       vm_id: {ROOT_ID}\n\
         \x20       runtime: envoy.wasm.runtime.v8\n\
         \x20       code:\n\
         \x20         local:\n\
         \x20           filename: {wasm}\n\
         \x20     configuration:\n\
         \x20       \"@type\": type.googleapis.com/google.protobuf.StringValue\n\
         \x20       value: |\n{policy}",
        name = quoted(&name(args)),
        wasm = quoted(wasm),
        policy = indented(policy, 10),
    )
}

/// The bootstrap's tag extraction for the `.wasm`'s counters (proxy-wasm/src/counters.rs names
/// them `corsguard.requests_total.kind=.=VALUE;.;...`: a plugin cannot register tags itself).
fn envoy_stats(source: &str) -> String {
    let tags: String = corsguard::SERIES_LABELS
        .iter()
        .map(|label| format!("    - tag_name: {label}\n      regex: '({label}=\\.=(.*?);\\.;)'\n"))
        .collect();
    format!(
        "# corsguard's stats tags, generated by `{source}`: regenerate it, don't edit it.\n\
         # A top-level entry of the Envoy bootstrap that runs the .wasm: Envoy then shows its counters as one\n\
         # labelled counter, corsguard_requests_total{{{labels}}}, in /stats/prometheus\n\
         # (the dynamic module labels its counter itself, as envoy_corsguard_requests_total).\n\
         stats_config:\n\
         \x20 stats_tags:\n{tags}",
        labels = corsguard::SERIES_LABELS.join(", "),
    )
}

fn envoy_native(policy: &str, source: &str, args: &Args) -> String {
    format!(
        "# corsguard for Envoy as a native dynamic module, generated by `{source}`: regenerate it, don't edit it.\n\
         {ENVOY_PLACEMENT}\
         # The module is envoy-module/build.sh's target/envoy/libcorsguard_envoy.so, built for Envoy 1.40\n\
         # only (dynamic-module ABI v0.2.0: Envoy logs \"ABI version v0.2.0 matched\" when it loads it).\n\
         # Envoy finds it in the folder named by ENVOY_DYNAMIC_MODULES_SEARCH_PATH. It runs in Envoy's\n\
         # own address space, as trusted as Envoy; where a sandbox matters, use the .wasm (emit envoy).\n\
         {ENVOY_CONNECTION_MANAGER}\
         # Envoy refuses the filter, and logs why, if the policy has any error (at start it exits; on\n\
         # an update it keeps the configuration it has). Decisions are counted as\n\
         # envoy_{MODULE_METRICS_NAMESPACE}_requests_total{{{series}}} in /stats/prometheus.\n\
         - name: {name}\n\
         \x20 typed_config:\n\
         \x20   \"@type\": type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter\n\
         \x20   dynamic_module_config:\n\
         \x20     name: {MODULE_NAME}\n\
         \x20     metrics_namespace: {MODULE_METRICS_NAMESPACE}\n\
         \x20   filter_name: {ROOT_ID}\n\
         \x20   filter_config:\n\
         \x20     \"@type\": type.googleapis.com/google.protobuf.StringValue\n\
         \x20     value: |\n{policy}",
        name = quoted(&name(args)),
        policy = indented(policy, 8),
        series = corsguard::SERIES_LABELS.join(", "),
    )
}

fn istio(policy: &str, source: &str, args: &Args) -> Result<String, Failure> {
    let wasm = args.wasm.as_deref().unwrap_or("file:///etc/istio/extensions/corsguard.wasm");
    let selector =
        if args.selector.is_empty() { vec!["istio=ingressgateway".to_string()] } else { args.selector.clone() };
    let mut labels = String::new();
    for pair in &selector {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Failure::Usage(format!("--selector {pair:?}: write KEY=VALUE (a pod label)")));
        };
        labels.push_str(&format!("      {}: {}\n", quoted(key), quoted(value)));
    }
    Ok(format!(
        "# corsguard for Istio, generated by `{source}`: regenerate it, don't edit it.\n\
         # Istio hands pluginConfig to the filter as JSON text (a google.protobuf.StringValue), the same\n\
         # policy as every other edge. Phase AUTHN: preflights carry no credentials, so they are answered\n\
         # before Istio's authentication runs. The proxy logs every policy error and refuses the filter;\n\
         # FAIL_CLOSE then refuses traffic rather than serving it without the policy.\n\
         # Decisions are counted as corsguard_requests_total{{{series}}} once the proxy keeps and\n\
         # labels the filter's counters (Istio's bootstrap makes a stats tag of each extraStatTags entry, the\n\
         # same as `corsguard emit envoy-stats`): give the selected pods this annotation (or give\n\
         # meshConfig.defaultConfig the same two fields):\n\
         #   proxy.istio.io/config: |\n\
         #     proxyStatsMatcher:\n\
         #       inclusionPrefixes: [\"{ISTIO_STATS_PREFIX}\"]\n\
         #     extraStatTags: [{series}]\n\
         apiVersion: extensions.istio.io/v1alpha1\n\
         kind: WasmPlugin\n\
         metadata:\n\
         \x20 name: {name}\n\
         \x20 namespace: {namespace}\n\
         spec:\n\
         \x20 selector:\n\
         \x20   matchLabels:\n{labels}\
         \x20 url: {wasm}\n\
         \x20 imagePullPolicy: IfNotPresent\n\
         \x20 pluginName: {ROOT_ID}\n\
         \x20 phase: AUTHN\n\
         \x20 failStrategy: FAIL_CLOSE\n\
         \x20 pluginConfig:\n{policy}",
        name = quoted(&name(args)),
        namespace = quoted(&args.namespace),
        wasm = quoted(wasm),
        policy = indented(policy, 4),
        series = corsguard::SERIES_LABELS.join(", "),
    ))
}

fn wrangler(policy: &str, source: &str, args: &Args) -> String {
    let value = if policy.contains("'''") { quoted(policy) } else { format!("'''\n{policy}'''") };
    let upstream = args.upstream.as_deref().map(|u| format!("UPSTREAM = {}\n", quoted(u))).unwrap_or_default();
    let generated = format!("generated by `{source}`");
    let analytics = |table: &str| match &args.analytics {
        Some(dataset) => format!(
            "\n# A data point per CORS decision: blobs {labels}; double 1 (docs/rolling-out.md).\n\
             [[{table}]]\nbinding = \"{WRANGLER_ANALYTICS_BINDING}\"\ndataset = {}\n",
            quoted(dataset),
            labels = corsguard::SERIES_LABELS.join(", "),
        ),
        None => String::new(),
    };
    match &args.env {
        None => format!(
            "# corsguard on Cloudflare Workers, {generated}: regenerate it, don't edit it.\n\
             # Deploy from a corsguard checkout: node_modules/.bin/wrangler deploy\n\
             # CORS_POLICY is validated once per isolate; a policy with any error makes every request a 500\n\
             # (its errors logged), never a fail-open. Without UPSTREAM (--upstream), requests go on to the\n\
             # zone's origin: add routes = [...] for the API's route.\n\
             name = \"corsguard\"\n\
             main = {main}\n\
             compatibility_date = {date}\n\
             workers_dev = false\n\
             \n\
             [build]\n\
             command = {build}\n\
             watch_dir = [\"cloudflare/src\", \"src\"]\n\
             \n\
             [vars]\n\
             {upstream}\
             CORS_POLICY = {value}\n{analytics}",
            main = quoted(WRANGLER_MAIN),
            date = quoted(WRANGLER_COMPATIBILITY_DATE),
            build = quoted(WRANGLER_BUILD),
            analytics = analytics("analytics_engine_datasets"),
        ),
        Some(env) => format!(
            "# corsguard on Cloudflare Workers, environment {env}, {generated}.\n\
             # Append to wrangler.toml (replacing any [env.{env}] section) and deploy with\n\
             # wrangler deploy --env {env}. wrangler does not inherit [vars] into environments:\n\
             # this section lists every variable the Worker reads.\n\
             [env.{env}]\n\
             name = \"corsguard-{env}\"\n\
             \n\
             [env.{env}.vars]\n\
             {upstream}\
             CORS_POLICY = {value}\n{analytics}",
            analytics = analytics(&format!("env.{env}.analytics_engine_datasets")),
        ),
    }
}

/// The Fastly manifest, with the policy on one line (`compact`): a Config Store entry is at most
/// 8000 characters.
fn fastly(compact: &str, source: &str, args: &Args) -> Result<String, Failure> {
    let length = compact.chars().count();
    if length > FASTLY_ENTRY_MAX {
        return Err(Failure::Cannot(format!(
            "the policy is {length} characters as one line of JSON: a Fastly Config Store entry holds at most \
             {FASTLY_ENTRY_MAX}"
        )));
    }
    let local = args.upstream.as_deref().unwrap_or(FASTLY_LOCAL_UPSTREAM);
    let setup = match args.upstream.as_deref().and_then(backend_address) {
        Some((address, port)) => {
            format!("[setup.backends.{FASTLY_BACKEND}]\naddress = {}\nport = {port}\n\n", quoted(address))
        }
        None => String::new(),
    };
    let value = quoted(compact);
    Ok(format!(
        "# corsguard on Fastly Compute, generated by `{source}`: regenerate it, don't edit it.\n\
         # It belongs in a corsguard checkout's fastly/ folder. Run it locally with fastly compute serve (or Viceroy:\n\
         # viceroy -C fastly.toml ../target/fastly/corsguard-fastly.wasm), deploy it with fastly compute publish.\n\
         # The policy is the \"{FASTLY_POLICY_KEY}\" entry of the \"{FASTLY_STORE}\" Config Store: change it there (fastly\n\
         # config-store-entry update) without a new deployment; new instances read it within a minute. A policy\n\
         # with any error makes every request a 500 (its problems logged), never a fail-open. Every request\n\
         # that is not a preflight goes to the \"{FASTLY_BACKEND}\" backend. Every denial is one JSON line (the same as\n\
         # on every edge) on the \"{FASTLY_LOG_ENDPOINT}\" logging endpoint, with the policy's problems and warnings:\n\
         # create it when deploying (any provider, placement none; NDJSON suits them), or they go to stderr.\n\
         manifest_version = 3\n\
         name = {name}\n\
         description = \"One CORS policy at the edge: preflights answered here, every other response given the policy's headers.\"\n\
         authors = []\n\
         language = \"rust\"\n\
         \n\
         [scripts]\n\
         build = {build}\n\
         \n\
         {setup}\
         [setup.config_stores.{FASTLY_STORE}.items.{FASTLY_POLICY_KEY}]\n\
         value = {value}\n\
         \n\
         [setup.log_endpoints.{FASTLY_LOG_ENDPOINT}]\n\
         \n\
         [local_server.backends.{FASTLY_BACKEND}]\n\
         url = {local}\n\
         \n\
         [local_server.config_stores.{FASTLY_STORE}]\n\
         format = \"inline-toml\"\n\
         \n\
         [local_server.config_stores.{FASTLY_STORE}.contents]\n\
         {FASTLY_POLICY_KEY} = {value}\n",
        name = quoted(&name(args)),
        build = quoted(FASTLY_BUILD),
        local = quoted(local),
    ))
}

/// A Fastly backend's host and port, from an `http://` or `https://` URL.
fn backend_address(url: &str) -> Option<(&str, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let default = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => Some((host, port.parse().ok()?)),
        _ => Some((authority, default)),
    }
}
