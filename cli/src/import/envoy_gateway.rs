//! Envoy Gateway: `SecurityPolicy` `cors` (gateway.envoyproxy.io/v1alpha1) on the HTTPRoutes it
//! targets, read with those routes as Envoy Gateway 1.9 resolves and translates them
//! (`internal/gatewayapi/securitypolicy.go`, `internal/xds/translator/cors.go`) into Envoy's CORS
//! filter ([`super::envoy_cors`]):
//!
//! - A rule takes the policy that targets it (`sectionName`), else its route (by name, or by
//!   labels with `targetSelectors`' `matchLabels`), else the Gateway
//!   listener it is attached to, else its Gateway: the whole policy, so a nearer policy without
//!   `cors` leaves the rule without CORS. Of two policies on one target the older one wins. A
//!   Gateway API `CORS` filter on the rule wins over them all ([`super::gateway_api`]).
//! - An origin with `*` is a regex (`.*` for the `*`, matched on the whole value); `*` alone
//!   allows every origin. A `*` among `allowMethods` or `allowHeaders` echoes what is asked;
//!   `maxAge` is a duration, dropped when it is not one. A preflight from an origin not allowed is
//!   answered by Envoy without CORS.

use super::documents::{Document, Node};
use super::draft::{Cors, Found};
use super::envoy_cors::{self, CorsPolicy};
use super::gateway_api::{self, Rule};
use super::kubernetes::{self, Object};
use super::origin_regex::{Anchoring, Matcher, Place as Within};
use super::report::{Kind, Note};
use crate::outcome::Failure;

/// One SecurityPolicy: where it is, what it targets, and its CORS once translated.
struct Policy {
    namespace: String,
    /// Kubernetes' creation time (RFC 3339, so it orders as text); none sorts last.
    created: Option<String>,
    targets: Vec<Target>,
    cors: Option<Cors>,
}

/// What a policy targets: by name (`targetRefs`), or routes by their labels (`targetSelectors`).
struct Target {
    kind: String,
    picks: Picks,
    section: Option<String>,
}

enum Picks {
    Name(String),
    /// `matchLabels`: every one of them.
    Labels(Vec<(String, String)>),
}

impl Target {
    fn picks(&self, kind: &str, name: &str, labels: &[(String, String)], section: Option<&str>) -> bool {
        self.kind == kind
            && self.section.as_deref() == section
            && match &self.picks {
                Picks::Name(named) => named == name,
                Picks::Labels(wanted) => wanted.iter().all(|label| labels.contains(label)),
            }
    }
}

pub fn read(documents: &[Document]) -> Result<Found, Failure> {
    let mut found = Found::default();
    let objects = kubernetes::objects(documents, &["HTTPRoute", "SecurityPolicy"], &mut found.skipped)?;
    let (routes, policies): (Vec<Object<'_>>, Vec<Object<'_>>) =
        objects.into_iter().partition(|o| o.kind == "HTTPRoute");
    let mut read = Vec::new();
    for object in &policies {
        read.push(policy(object, &mut found.notes)?);
        found.objects.push(object.title());
    }
    // The older first: it wins a target both name.
    read.sort_by(|a, b| (a.created.is_none(), &a.created).cmp(&(b.created.is_none(), &b.created)));
    let mut attached = |rule: &Rule<'_>, notes: &mut Vec<Note>| attached(&read, rule, notes);
    gateway_api::read_routes(&routes, &mut found, &mut attached)?;
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot(format!(
            "no rule of the {} HTTPRoute(s) gets CORS from the {} SecurityPolicy(ies) or a CORS filter: nothing to import",
            routes.len(),
            policies.len()
        )));
    }
    found.notes.splice(0..0, envoy_cors::general_notes(&found, "envoy-gateway"));
    Ok(found)
}

/// The CORS the nearest policy gives a rule; a rule attached to Gateways that give different CORS
/// is not expressible (and gets none).
fn attached(policies: &[Policy], rule: &Rule<'_>, notes: &mut Vec<Note>) -> Option<Cors> {
    let route = rule.route;
    let labels = rule.labels;
    let targets = |kind: &str, namespace: &str, name: &str, section: Option<&str>| {
        let labels = if kind == "HTTPRoute" { labels } else { &[] };
        policies
            .iter()
            .find(|p| p.namespace == namespace && p.targets.iter().any(|t| t.picks(kind, name, labels, section)))
    };
    let on_route = rule
        .name
        .as_deref()
        .and_then(|name| targets("HTTPRoute", &route.namespace, &route.name, Some(name)))
        .or_else(|| targets("HTTPRoute", &route.namespace, &route.name, None));
    if let Some(policy) = on_route {
        return policy.cors.clone();
    }
    let mut given: Vec<(Option<&Policy>, String)> = Vec::new();
    for parent in rule.parents {
        let listener =
            parent.section.as_deref().and_then(|s| targets("Gateway", &parent.namespace, &parent.name, Some(s)));
        let policy = listener.or_else(|| targets("Gateway", &parent.namespace, &parent.name, None));
        given.push((policy, format!("Gateway {}/{}", parent.namespace, parent.name)));
    }
    let first = given.first()?.0;
    if given.iter().any(|(p, _)| p.map(|p| &p.cors) != first.map(|p| &p.cors)) {
        let gateways: Vec<&str> = given.iter().map(|(_, g)| g.as_str()).collect();
        notes.push(Note::new(
            Kind::NotExpressible,
            route.child.node().at(),
            format!(
                "{}: its Gateways ({}) give it different CORS: a corsguard policy gives a path one answer; attach \
                 the route to one of them, or give them the same CORS",
                route.title(),
                gateways.join(", ")
            ),
        ));
        return None;
    }
    first.and_then(|p| p.cors.clone())
}

fn policy(object: &Object<'_>, notes: &mut Vec<Note>) -> Result<Policy, Failure> {
    let node = object.child.node();
    let title = object.title();
    let created = node.get("metadata")?.map(|m| m.node().string("creationTimestamp")).transpose()?.flatten();
    let spec = node.get("spec")?.ok_or_else(|| node.error("has no spec"))?;
    let spec = spec.node();
    let mut targets = Vec::new();
    let mut refs = spec.list("targetRefs")?;
    refs.extend(spec.get("targetRef")?);
    for target in &refs {
        let target = target.node();
        targets.push(Target {
            kind: target.string("kind")?.ok_or_else(|| target.error("has no kind"))?,
            picks: Picks::Name(target.string("name")?.ok_or_else(|| target.error("has no name"))?),
            section: target.string("sectionName")?,
        });
    }
    for selector in spec.list("targetSelectors")? {
        let selector = selector.node();
        selector.known(&["group", "kind", "matchLabels", "matchExpressions"])?;
        let kind = selector.string("kind")?.ok_or_else(|| selector.error("has no kind"))?;
        if kind != "HTTPRoute" || selector.get("matchExpressions")?.is_some() {
            let what = format!(
                "{title}: a targetSelector on {kind}s{}: this import picks HTTPRoutes by matchLabels only: name the \
                 targets in targetRefs",
                if selector.get("matchExpressions")?.is_some() { " with matchExpressions" } else { "" }
            );
            notes.push(Note::new(Kind::NotExpressible, selector.at(), what));
            continue;
        }
        let labels = selector.strings("matchLabels")?.into_iter().map(|(k, v, _)| (k, v)).collect();
        targets.push(Target { kind, picks: Picks::Labels(labels), section: None });
    }
    let cors = match spec.get("cors")? {
        None => None,
        Some(config) => {
            let config = config.node();
            envoy_cors::translate(&cors_policy(&config, &title, notes)?, &title, &config.at(), notes)
        }
    };
    Ok(Policy { namespace: object.namespace.clone(), created, targets, cors })
}

/// The Envoy policy Envoy Gateway makes of a SecurityPolicy's `cors`.
fn cors_policy(config: &Node<'_, '_>, title: &str, notes: &mut Vec<Note>) -> Result<CorsPolicy, Failure> {
    config.known(&gateway_api::FIELDS)?;
    let mut origins = Vec::new();
    for origin in config.texts("allowOrigins")? {
        let matcher = if origin.contains('*') {
            let regex = regex_syntax::escape(&origin).replace("\\*", ".*");
            Matcher::regex(&regex, Anchoring::Whole).map_err(|why| config.error(format!("{origin:?}: {why}")))?
        } else {
            Matcher::text(&origin, Within::Exact, false)
        };
        origins.push((matcher, origin));
    }
    // A `*` anywhere in the list echoes what is asked.
    let echoed = |list: Vec<String>| if list.iter().any(|v| v == "*") { "*".to_string() } else { list.join(", ") };
    let max_age = match config.get("maxAge")? {
        None => String::new(),
        Some(age) => match age.value.as_str().and_then(kubernetes::duration_seconds) {
            Some(seconds) => seconds.to_string(),
            None => {
                let what =
                    format!("{title}: maxAge is not a duration, so Envoy Gateway drops it and browsers keep 5 s");
                notes.push(Note::new(Kind::Exact, age.node().at(), what));
                String::new()
            }
        },
    };
    let credentials = config.flag("allowCredentials")?;
    Ok(CorsPolicy {
        origins,
        allow_methods: echoed(config.texts("allowMethods")?),
        allow_headers: echoed(config.texts("allowHeaders")?),
        expose_headers: config.texts("exposeHeaders")?.join(", "),
        max_age,
        credentials,
        forward_not_matching_preflights: false,
    })
}
