//! `corsguard import`: reads the CORS configuration a team already has, writes the corsguard
//! policy that does the same, and says what changes: each point exact, changed (with a request that
//! shows it) or not expressible (then nothing is written unless `--lossy` accepts the report). The
//! policy written always passes `corsguard check` without errors.
//!
//! Its rooms: `documents` (the YAML streams read), a module per source format, `draft` (places
//! and their CORS, made into the shortest policy), `report`.

mod buckets;
mod documents;
mod draft;
mod envoy;
mod envoy_cors;
mod envoy_gateway;
mod express;
mod gateway_api;
mod ingress_nginx;
mod istio;
mod kong;
mod kubernetes;
mod origin_regex;
mod report;
mod traefik;

use crate::outcome::{Failure, Format, Outcome};
use clap::ValueEnum;
use corsguard::tools::{Layout, PolicyView};
use report::{Kind, Report};

/// The configurations `import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// ingress-nginx's CORS annotations on Ingress objects (YAML, as kubectl get -o yaml gives
    /// them, one file or many, any number of documents).
    IngressNginx,
    /// Gateway API HTTPRoutes with a CORS filter (Standard channel, v1.5 and later).
    GatewayApi,
    /// Envoy Gateway's SecurityPolicies with cors, with the HTTPRoutes they target.
    EnvoyGateway,
    /// Istio VirtualServices with a corsPolicy (networking.istio.io v1, v1beta1, v1alpha3).
    Istio,
    /// Envoy's own configuration (a bootstrap or a RouteConfiguration, YAML or JSON) with the CORS
    /// filter's policies.
    Envoy,
    /// Kong's cors plugin: a decK configuration, or KongPlugin objects.
    Kong,
    /// Traefik's headers middleware: Middleware and IngressRoute objects, or a file provider's
    /// dynamic configuration.
    Traefik,
    /// S3 bucket CORS (get-bucket-cors's CORSRules, or a list of rules), and R2's (also wrangler's
    /// rules).
    S3,
    /// Google Cloud Storage bucket CORS (the CORS file's list, or the bucket's cors).
    Gcs,
    /// The options of Express's cors middleware, as JSON (a RegExp as its literal in a string).
    Express,
}

pub struct Args {
    pub source: Source,
    pub files: Vec<String>,
    /// Where to write the policy; standard output when none.
    pub out: Option<String>,
    /// Write the policy even when some points cannot be expressed (they are left out).
    pub lossy: bool,
    pub format: Format,
}

pub fn run(args: &Args) -> Result<Outcome, Failure> {
    let documents = documents::read(&args.files)?;
    let (name, found) = match args.source {
        Source::IngressNginx => ("ingress-nginx", ingress_nginx::read(&documents)?),
        Source::GatewayApi => ("gateway-api", gateway_api::read(&documents)?),
        Source::Kong => ("kong", kong::read(&documents)?),
        Source::S3 => ("s3", buckets::read(&documents, buckets::Service::S3)?),
        Source::Gcs => ("gcs", buckets::read(&documents, buckets::Service::Gcs)?),
        Source::Traefik => ("traefik", traefik::read(&documents)?),
        Source::Istio => ("istio", istio::read(&documents)?),
        Source::Envoy => ("envoy", envoy::read(&documents)?),
        Source::EnvoyGateway => ("envoy-gateway", envoy_gateway::read(&documents)?),
        Source::Express => ("express", express::read(&documents)?),
    };
    let mut report = Report {
        source: name,
        files: args.files.clone(),
        objects: found.objects,
        skipped: found.skipped,
        notes: Vec::new(),
        written: None,
    };
    // One point once, where it is first met (a virtual host's policy is merged into each route).
    for note in found.notes {
        if !report.notes.iter().any(|n| n.kind == note.kind && n.what == note.what) {
            report.notes.push(note);
        }
    }
    let closed = report.notes.iter().any(|n| n.leaves_place);
    let policy = draft::policy(&found.entries, closed)
        .ok_or_else(|| Failure::Cannot("the configuration enables CORS nowhere: nothing to import".into()))?;
    let text = policy.to_string();
    // What the core reads back is what is written: a policy it refuses is never written.
    let view = PolicyView::parse(&text).map_err(|problems| {
        Failure::Cannot(format!(
            "the policy made from {name} is refused by corsguard, which is a bug of import: {problems}"
        ))
    })?;
    let json = view.json(Layout::Indented) + "\n";
    let expressible = report.count(Kind::NotExpressible) == 0;
    if expressible || args.lossy {
        match &args.out {
            Some(path) => {
                std::fs::write(path, &json).map_err(|e| Failure::Cannot(format!("cannot write {path}: {e}")))?;
                report.written = Some(path.clone());
            }
            None => report.written = Some("-".into()),
        }
    }
    match args.format {
        Format::Human => {
            if report.written.as_deref() == Some("-") {
                print!("{json}");
            }
            eprint!("{}", report.human());
        }
        Format::Json => {
            /// The report, and the policy when it is written (none when nothing may be).
            #[derive(serde::Serialize)]
            struct Printed<'r> {
                #[serde(flatten)]
                report: &'r Report,
                policy: Option<serde_json::Value>,
            }
            let policy = report.written.is_some().then_some(policy);
            let printed = Printed { report: &report, policy };
            println!("{}", serde_json::to_string_pretty(&printed).unwrap_or_default());
        }
    }
    Ok(if report.written.is_some() { Outcome::Yes } else { Outcome::No })
}
