//! Preview-deployment patterns: one `*` inside the leftmost label of a host, with a fixed prefix
//! and/or suffix in that label (`deploy-preview-*--site.netlify.app`, `app-*-team.vercel.app`,
//! `pr-*.preview.example.com`).
//!
//! The `*` stands for one or more ASCII letters and digits: never a dot (the pattern cannot reach
//! another label) and never a hyphen, so that `app-*-team` cannot match `app-x-evil-team`, a name
//! another tenant of the platform can get. Matching is linear in the host's length and flat in
//! the number of patterns: for each distinct (prefix length, suffix length) registered under the
//! host's parent, one hash lookup of the pattern the host would have to be.

use crate::HashMap;
use alloc::{boxed::Box, vec::Vec};

/// The longest host (RFC 1035): patterns and the hosts they are matched against are no longer.
const MAX_HOST: usize = 253;

/// Label patterns, each with the values registered for it.
#[derive(Clone, Debug)]
pub(crate) struct LabelPatterns<T> {
    /// By the pattern's host as written (`pr-*.preview.example.com`).
    patterns: HashMap<Box<str>, Vec<T>>,
    /// By the parent with its leading dot (`.preview.example.com`): the (prefix, suffix) lengths
    /// of its patterns, each once.
    shapes: HashMap<Box<str>, Vec<(usize, usize)>>,
}

impl<T> Default for LabelPatterns<T> {
    fn default() -> Self {
        LabelPatterns { patterns: HashMap::default(), shapes: HashMap::default() }
    }
}

/// A pattern's parts: `prefix*suffix` and the parent with its leading dot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pattern<'a> {
    pub prefix: &'a str,
    pub suffix: &'a str,
    pub parent: &'a str,
}

impl<'a> Pattern<'a> {
    /// The parts of a host whose leftmost label holds a `*` beside fixed text; `None` for any
    /// other host (the caller judges those, `*.example.com` included).
    pub fn split(host: &'a str) -> Option<Self> {
        let dot = host.find('.')?;
        let (label, parent) = (host.get(..dot)?, host.get(dot..)?);
        let (prefix, suffix) = label.split_once('*')?;
        (label != "*").then_some(Pattern { prefix, suffix, parent })
    }

    /// Whether a label (lowercase) is one this pattern matches under its parent.
    pub fn fits(&self, label: &[u8]) -> bool {
        let (prefix, suffix) = (self.prefix.as_bytes(), self.suffix.as_bytes());
        label.len() > prefix.len() + suffix.len()
            && label.starts_with(prefix)
            && label.ends_with(suffix)
            && is_star(label.get(prefix.len()..label.len() - suffix.len()).unwrap_or_default())
    }
}

/// Whether `text` is what a `*` stands for: one or more lowercase letters and digits.
fn is_star(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl<T> LabelPatterns<T> {
    /// Registers `value` for a pattern (its parts validated by the caller).
    pub fn insert(&mut self, pattern: Pattern, host: &str, value: T) {
        self.patterns.entry(Box::from(host)).or_default().push(value);
        let shape = (pattern.prefix.len(), pattern.suffix.len());
        let shapes = self.shapes.entry(Box::from(pattern.parent)).or_default();
        if !shapes.contains(&shape) {
            shapes.push(shape);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether some pattern matching `host` has a value that `accept` takes.
    pub fn find(&self, host: &str, mut accept: impl FnMut(&T) -> bool) -> bool {
        let Some(dot) = host.find('.') else { return false };
        let (Some(label), Some(parent)) = (host.get(..dot), host.get(dot..)) else { return false };
        let Some(shapes) = self.shapes.get(parent) else { return false };
        let mut key = [0u8; MAX_HOST];
        for &(prefix, suffix) in shapes {
            let Some(middle) = label.len().checked_sub(prefix + suffix) else { continue };
            if !is_star(label.get(prefix..prefix + middle).unwrap_or_default().as_bytes()) {
                continue;
            }
            // The pattern this host would match: the label with its middle replaced by `*`.
            let parts = [label.get(..prefix), Some("*"), label.get(prefix + middle..), Some(parent)];
            let mut length = 0;
            for part in parts {
                let part = part.unwrap_or_default().as_bytes();
                let Some(slot) = key.get_mut(length..length + part.len()) else { return false };
                slot.copy_from_slice(part);
                length += part.len();
            }
            let written = key.get(..length).and_then(|k| core::str::from_utf8(k).ok()).unwrap_or_default();
            if self.patterns.get(written).is_some_and(|values| values.iter().any(&mut accept)) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn patterns(hosts: &[&str]) -> LabelPatterns<()> {
        let mut patterns = LabelPatterns::default();
        for host in hosts {
            patterns.insert(Pattern::split(host).unwrap(), host, ());
        }
        patterns
    }

    #[test]
    fn a_star_is_letters_and_digits_inside_one_label() {
        let p = patterns(&["deploy-preview-*--site.netlify.app", "app-*-team.vercel.app", "pr-*.preview.example.com"]);
        let matches = |host| p.find(host, |_| true);
        assert!(matches("deploy-preview-42--site.netlify.app"));
        assert!(matches("app-9xk2j3-team.vercel.app"));
        assert!(matches("pr-123.preview.example.com"));
        for host in [
            "deploy-preview---site.netlify.app",     // empty
            "deploy-preview-1--x--site.netlify.app", // a hyphen: another site's name
            "app-x-evil-team.vercel.app",
            "app-X-team.vercel.app",
            "pr-1.a.preview.example.com", // another label
            "a.pr-1.preview.example.com",
            "pr-1.preview.example.com.evil",
            "pr-1preview.example.com",
            "xpr-1.preview.example.com",
            "pr-.preview.example.com",
            "pr-1.example.com",
        ] {
            assert!(!matches(host), "{host}");
        }
    }

    #[test]
    fn only_a_star_beside_fixed_text_in_the_first_label_is_a_pattern() {
        assert_eq!(Pattern::split("pr-*.x.com"), Some(Pattern { prefix: "pr-", suffix: "", parent: ".x.com" }));
        assert_eq!(Pattern::split("*-app.x.com"), Some(Pattern { prefix: "", suffix: "-app", parent: ".x.com" }));
        assert_eq!(Pattern::split("*.x.com"), None);
        assert_eq!(Pattern::split("app.x.com"), None);
        assert_eq!(Pattern::split("pr-*"), None);
    }

    #[test]
    fn a_pattern_fits_the_labels_it_matches() {
        let pattern = Pattern::split("app-*-team.vercel.app").unwrap();
        assert!(pattern.fits(b"app-9x-team"));
        for label in [&b"app--team"[..], b"app-x-y-team", b"app-X-team", b"xapp-1-team", b"app-1-teamx"] {
            assert!(!pattern.fits(label), "{label:?}");
        }
        assert!(Pattern::split("s*.amazonaws.com").unwrap().fits(b"s3"));
    }

    #[test]
    fn many_patterns_under_one_parent_share_their_shapes() {
        let hosts: Vec<String> = (0..1000).map(|i| alloc::format!("pr-*-t{i:03}.example.com")).collect();
        let p = patterns(&hosts.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(p.shapes.get(".example.com").map(Vec::len), Some(1));
        assert!(p.find("pr-7-t999.example.com", |_| true) && !p.find("pr-7-t1000.example.com", |_| true));
    }
}
