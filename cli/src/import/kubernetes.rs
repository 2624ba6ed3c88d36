//! Kubernetes objects in the documents read: each of the kind a format translates (the items of a
//! `kind: List` too, as `kubectl get -o yaml` gives them), named `namespace/name`; every other
//! object only named, as skipped.

use super::documents::{Child, Document, Node};
use crate::outcome::Failure;

/// The objects of `kind`, each with its `Kind namespace/name`; the others' names go to `skipped`.
pub fn objects<'d>(
    documents: &'d [Document],
    kind: &str,
    skipped: &mut Vec<String>,
) -> Result<Vec<(Child<'d>, String)>, Failure> {
    let mut found = Vec::new();
    for document in documents {
        let root = Child::root(document);
        let items = match root.node().string("kind")?.as_deref() {
            Some("List") => root.node().list("items")?,
            _ => vec![root],
        };
        for item in items {
            let node = item.node();
            let (object_kind, name) = (node.string("kind")?.unwrap_or_default(), name(&node)?);
            if object_kind == kind {
                let named = format!("{kind} {name}");
                found.push((item, named));
            } else if object_kind.is_empty() {
                skipped.push(format!("a document without kind ({})", node.at()));
            } else {
                skipped.push(format!("{object_kind} {name}"));
            }
        }
    }
    Ok(found)
}

/// `namespace/name` (`default` when the object gives no namespace).
fn name(node: &Node<'_, '_>) -> Result<String, Failure> {
    let Some(metadata) = node.get("metadata")? else { return Ok("default/".into()) };
    let metadata = metadata.node();
    let namespace = metadata.string("namespace")?.unwrap_or_else(|| "default".into());
    Ok(format!("{namespace}/{}", metadata.string("name")?.unwrap_or_default()))
}

/// A Go duration (`24h`, `1m30s`, `86400s`, as Kubernetes and Istio write them) in whole seconds;
/// none when it is not one.
pub fn duration_seconds(text: &str) -> Option<u64> {
    let mut rest = text.trim();
    let mut nanos: u128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').filter(|n| *n > 0)?;
        let (number, after) = rest.split_at(digits);
        let unit = after.find(|c: char| c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit);
        let scale: f64 = match unit {
            "h" => 3.6e12,
            "m" => 6e10,
            "s" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            _ => return None,
        };
        let number: f64 = number.parse().ok()?;
        nanos = nanos.checked_add((number * scale) as u128)?;
        rest = after;
    }
    u64::try_from(nanos / 1_000_000_000).ok()
}
