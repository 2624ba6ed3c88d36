//! Kubernetes objects in the documents read: each of the kind a format translates (the items of a
//! `kind: List` too, as `kubectl get -o yaml` gives them), with their namespace and name; every
//! other object only named, as skipped.

use super::documents::{Child, Document, Node};
use crate::outcome::Failure;

/// An object of a kind a format reads.
pub struct Object<'d> {
    pub child: Child<'d>,
    pub kind: String,
    /// `default` when the object gives none.
    pub namespace: String,
    pub name: String,
}

impl Object<'_> {
    /// `Kind namespace/name`, as the report names it.
    pub fn title(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// The objects of the `kinds` a format reads; the others' names go to `skipped`.
pub fn objects<'d>(
    documents: impl IntoIterator<Item = &'d Document>,
    kinds: &[&str],
    skipped: &mut Vec<String>,
) -> Result<Vec<Object<'d>>, Failure> {
    let mut found = Vec::new();
    for document in documents {
        let root = Child::root(document);
        let items = match root.node().string("kind")?.as_deref() {
            Some("List") => root.node().list("items")?,
            _ => vec![root],
        };
        for item in items {
            let node = item.node();
            let kind = node.string("kind")?.unwrap_or_default();
            let (namespace, name) = name(&node)?;
            if kinds.contains(&kind.as_str()) {
                found.push(Object { child: item, kind, namespace, name });
            } else if kind.is_empty() {
                skipped.push(format!("a document without kind ({})", node.at()));
            } else {
                skipped.push(format!("{kind} {namespace}/{name}"));
            }
        }
    }
    Ok(found)
}

/// The namespace (`default` when the object gives none) and name.
fn name(node: &Node<'_, '_>) -> Result<(String, String), Failure> {
    let Some(metadata) = node.get("metadata")? else { return Ok(("default".into(), String::new())) };
    let metadata = metadata.node();
    let namespace = metadata.string("namespace")?.unwrap_or_else(|| "default".into());
    Ok((namespace, metadata.string("name")?.unwrap_or_default()))
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

#[cfg(test)]
mod tests {
    use super::duration_seconds;

    #[test]
    fn durations_are_read_as_go_writes_them() {
        let cases = [("24h", Some(86_400)), ("1m30s", Some(90)), ("10m", Some(600)), ("1.5h", Some(5_400))];
        let truncated_or_refused = [("1500ms", Some(1)), ("", None), ("5", None), ("5x", None), ("h", None)];
        for (text, seconds) in cases.into_iter().chain(truncated_or_refused) {
            assert_eq!(duration_seconds(text), seconds, "{text:?}");
        }
    }
}
