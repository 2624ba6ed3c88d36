//! Bucket CORS, for a corsguard edge in front of a bucket:
//!
//! - **S3** (`aws s3api get-bucket-cors` gives `{"CORSRules": [...]}`; the console and R2's
//!   dashboard a bare list) and **R2** (also wrangler's `{"rules": [{"allowed": ...}]}`, read as
//!   S3's: R2 documents no answer of its own). The first rule whose origin, method and headers match
//!   decides. An origin may have one `*`, any characters (as S3 answers; AWS does not document it);
//!   `*` alone is every origin, answered `*` without credentials, and any other origin is echoed
//!   with `Access-Control-Allow-Credentials: true`. `AllowedHeaders` may have one `*` each, `*`
//!   alone echoing what is asked. No `MaxAgeSeconds`: none sent (a browser keeps 5 s).
//! - **GCS** (`gcloud storage buckets describe --format=json` gives `{"cors": [...]}`; the CORS file
//!   a bare list): the first entry whose origin and method match decides; `*` is every origin, and
//!   nothing else is a pattern; `responseHeader` are both the headers a preflight may ask for and
//!   those exposed; never credentials; `maxAgeSeconds` 3600 when unset.
//!
//! A bucket is one place: every path. Rules that differ in more than their origins cannot be said
//! by one policy.

use super::documents::{At, Child, Document, Node};
use super::draft::{self, Cors, Entry, Found, Place};
use super::origin_regex::{self, Anchoring, Matcher, Place as Within};
use super::report::{Kind, Note};
use crate::outcome::Failure;

/// Which service's rules are read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    Gcs,
}

/// One rule, in the service's terms.
struct Rule {
    at: At,
    origins: Vec<(String, At)>,
    methods: Vec<String>,
    headers: Vec<String>,
    expose: Vec<String>,
    max_age: Option<u64>,
}

impl Rule {
    /// What a rule gives the origins it matches, beyond them.
    fn answer(&self) -> (&[String], &[String], &[String], Option<u64>) {
        (&self.methods, &self.headers, &self.expose, self.max_age)
    }
}

pub fn read(documents: &[Document], service: Service) -> Result<Found, Failure> {
    let mut found = Found::default();
    let mut rules = Vec::new();
    for document in documents {
        let root = Child::root(document);
        let node = root.node();
        let (list, shape) = match (service, node.value) {
            (_, serde_yaml_ng::Value::Sequence(_)) => (node.items()?, "rules"),
            (Service::S3, _) if node.get("CORSRules")?.is_some() => (node.list("CORSRules")?, "CORSRules"),
            (Service::S3, _) if node.get("rules")?.is_some() => (node.list("rules")?, "R2 rules"),
            (Service::Gcs, _) if node.get("cors")?.is_some() => (node.list("cors")?, "cors"),
            _ => {
                let expected =
                    if service == Service::S3 { "CORSRules, rules or a list of rules" } else { "cors or a list" };
                return Err(node.error(format!("has no {expected}")));
            }
        };
        found.objects.push(format!("{shape} of {}#{}", document.file, document.index));
        for item in list {
            let item = item.node();
            rules.push(match service {
                Service::S3 => s3_rule(&item)?,
                Service::Gcs => gcs_rule(&item)?,
            });
        }
    }
    let Some(first) = rules.first() else { return Err(Failure::Cannot("no CORS rule: nothing to import".into())) };
    let answer = first.answer();
    let mut origins: Vec<(String, At)> = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        if rule.answer() == answer {
            origins.extend(rule.origins.iter().cloned());
        } else {
            found.notes.push(Note::new(
                Kind::NotExpressible,
                &rule.at,
                format!(
                    "rule {} gives its origins other methods, headers or max-age than rule 1; corsguard gives the \
                     bucket one set: make the rules agree (with --lossy its origins are left out, so refused)",
                    index + 1
                ),
            ));
        }
    }
    found.notes.push(
        Note::new(
            Kind::Changed,
            &first.at,
            "preflights were answered by the bucket; they are answered at the edge now",
        )
        .example("OPTIONS with Access-Control-Request-Method: answered by the bucket before, by the edge now"),
    );
    let cors = translate(first, &origins, service, &mut found.notes)?;
    found.entries.push(Entry { place: Place { host: None, path_prefix: "/".into() }, cors });
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot("the rules allow no origin a browser sends: nothing to import".into()));
    }
    Ok(found)
}

/// The strings of a list field, each with where it is.
fn strings(node: &Node<'_, '_>, key: &str) -> Result<Vec<(String, At)>, Failure> {
    node.list(key)?
        .iter()
        .map(|item| {
            let text = item.value.as_str().ok_or_else(|| item.node().error("is not a string"))?;
            Ok((text.to_string(), item.node().at()))
        })
        .collect()
}

fn seconds(node: &Node<'_, '_>, key: &str) -> Result<Option<u64>, Failure> {
    match node.get(key)? {
        None => Ok(None),
        Some(age) => age.value.as_u64().map(Some).ok_or_else(|| age.node().error("is not a whole number of seconds")),
    }
}

/// An S3 rule, or R2's wrangler shape of one.
fn s3_rule(rule: &Node<'_, '_>) -> Result<Rule, Failure> {
    if let Some(allowed) = rule.get("allowed")? {
        rule.known(&["id", "allowed", "exposeHeaders", "maxAgeSeconds"])?;
        let allowed = allowed.node();
        allowed.known(&["origins", "methods", "headers"])?;
        return Ok(Rule {
            at: rule.at(),
            origins: strings(&allowed, "origins")?,
            methods: allowed.texts("methods")?,
            headers: allowed.texts("headers")?,
            expose: rule.texts("exposeHeaders")?,
            max_age: seconds(rule, "maxAgeSeconds")?,
        });
    }
    rule.known(&["ID", "AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders", "MaxAgeSeconds"])?;
    Ok(Rule {
        at: rule.at(),
        origins: strings(rule, "AllowedOrigins")?,
        methods: rule.texts("AllowedMethods")?,
        headers: rule.texts("AllowedHeaders")?,
        expose: rule.texts("ExposeHeaders")?,
        max_age: seconds(rule, "MaxAgeSeconds")?,
    })
}

fn gcs_rule(rule: &Node<'_, '_>) -> Result<Rule, Failure> {
    rule.known(&["origin", "method", "responseHeader", "maxAgeSeconds"])?;
    let headers = rule.texts("responseHeader")?;
    Ok(Rule {
        at: rule.at(),
        origins: strings(rule, "origin")?,
        methods: rule.texts("method")?,
        expose: headers.clone(),
        headers,
        max_age: Some(seconds(rule, "maxAgeSeconds")?.unwrap_or(3600)),
    })
}

/// The CORS the merged rules give, with a note for each point that is not the same.
fn translate(
    rule: &Rule,
    origins: &[(String, At)],
    service: Service,
    notes: &mut Vec<Note>,
) -> Result<Option<Cors>, Failure> {
    let object = if service == Service::S3 { "S3" } else { "GCS" };
    let any = origins.iter().any(|(o, _)| o == "*");
    let mut entries = Vec::new();
    if any {
        entries.push("*".to_string());
    } else {
        let mut matchers = Vec::new();
        for (origin, at) in origins {
            let matcher = match (service, origin.matches('*').count()) {
                (Service::S3, 1) => {
                    let regex = regex_syntax::escape(origin).replace("\\*", ".+");
                    Matcher::regex(&regex, Anchoring::Whole).map_err(|why| Failure::Cannot(format!("{at}: {why}")))?
                }
                (Service::S3, 2..) => {
                    return Err(Failure::Cannot(format!("{at}: {origin:?} has more than one *, which S3 refuses")));
                }
                _ => Matcher::text(origin, Within::Exact, false),
            };
            matchers.push((matcher, origin, at));
        }
        let findings = origin_regex::translate(&matchers.iter().map(|(m, ..)| m.clone()).collect::<Vec<_>>());
        for (finding, (_, written, at)) in findings.iter().zip(&matchers) {
            entries.extend(finding.entries().iter().cloned());
            notes.extend(origin_regex::note(finding, written, object, at));
        }
    }
    let entries = origin_regex::shortest(entries);
    if entries.is_empty() {
        return Ok(None);
    }
    // S3 echoes a listed origin with credentials; GCS never sends them.
    let mut credentials = service == Service::S3 && !any;
    let mut headers = rule.headers.clone();
    if headers.iter().any(|h| h == "*") {
        headers = vec!["*".to_string()];
        if credentials {
            credentials = false;
            notes.push(
                Note::new(
                    Kind::Changed,
                    &rule.at,
                    "AllowedHeaders * with a listed origin: S3 echoed any header asked for, with \
                     Access-Control-Allow-Credentials: true; written as * without credentials (a bucket reads no \
                     cookies): list the headers and set credentials if your pages send cookies through the edge",
                )
                .example("a preflight from a listed origin for a credentialed PUT: allowed before, refused now"),
            );
        }
    } else if let Some(pattern) = headers.iter().find(|h| h.contains('*')) {
        notes.push(Note::new(
            Kind::NotExpressible,
            &rule.at,
            format!("AllowedHeaders {pattern}: corsguard lists header names: list those your pages send (with --lossy, none of them)"),
        ));
        headers.retain(|h| !h.contains('*'));
    }
    if credentials {
        notes.push(Note::new(
            Kind::Exact,
            &rule.at,
            "S3 sends Access-Control-Allow-Credentials: true with every listed origin: written as credentials: true \
             (a bucket reads no cookies: remove it if the edge does not need them either)",
        ));
    }
    let mut methods = rule.methods.clone();
    if service == Service::S3 {
        if let Some(other) = methods.iter().find(|m| !matches!(m.as_str(), "GET" | "PUT" | "POST" | "DELETE" | "HEAD"))
        {
            return Err(Failure::Cannot(format!(
                "{}: method {other:?} is refused by S3 (GET, PUT, POST, DELETE, HEAD)",
                rule.at
            )));
        }
    }
    methods.retain(|m| m == "*" || draft::needs_listing(m));
    let max_age = draft::max_age(rule.max_age.unwrap_or(5), &rule.at, object, notes);
    Ok(Some(Cors {
        origins: entries,
        methods,
        request_headers: headers,
        expose_headers: rule.expose.clone(),
        credentials,
        max_age,
    }))
}
