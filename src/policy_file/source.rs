//! Where each part of a policy file is written: byte offsets by JSON path, and lines and columns
//! for people. For tools that point at a file (`corsguard check`); an edge locates nothing.

use crate::HashMap;
use crate::policy_file::json::{self, Value};
use alloc::{format, string::String, vec::Vec};

/// Where one JSON path is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Where a person looks: a member's key, an array element's first byte.
    pub at: usize,
    /// Where its value starts.
    pub start: usize,
    /// Just past its value's last byte.
    pub end: usize,
}

/// Where each JSON path of a text is written, in the core's notation (`routes[0].origins[1]`; the
/// whole text is `""`). A key given twice is placed at its last occurrence (`duplicate-key` names
/// the first).
#[derive(Clone, Debug, Default)]
pub struct Spans(HashMap<String, Span>);

impl Spans {
    /// The spans of a JSON text; none when it is not JSON.
    #[must_use]
    pub fn read(text: &str) -> Option<Self> {
        let (value, spans) = json::parse_with_spans(text).ok()?;
        Some(Self::of(&value, &spans))
    }

    /// The spans of a parsed text, from its values' `(start, end)` in the order they start.
    pub(crate) fn of(value: &Value, spans: &[(usize, usize)]) -> Self {
        let mut found = Spans::default();
        found.walk(value, String::new(), None, &mut spans.iter().copied());
        found
    }

    fn walk(
        &mut self,
        value: &Value,
        path: String,
        at: Option<usize>,
        spans: &mut impl Iterator<Item = (usize, usize)>,
    ) {
        let Some((start, end)) = spans.next() else { return };
        match value {
            Value::Object(members) => {
                for member in members {
                    let child = if path.is_empty() { member.key.clone() } else { format!("{path}.{}", member.key) };
                    self.walk(&member.value, child, Some(member.offset), spans);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.walk(item, format!("{path}[{index}]"), None, spans);
                }
            }
            _ => {}
        }
        self.0.insert(path, Span { at: at.unwrap_or(start), start, end });
    }

    /// Where a path is written.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<Span> {
        self.0.get(path).copied()
    }

    /// Where a path is written, or else the nearest written path that holds it: a missing field
    /// is placed where its object is.
    #[must_use]
    pub fn nearest(&self, mut path: &str) -> Option<Span> {
        loop {
            if let Some(span) = self.get(path) {
                return Some(span);
            }
            if path.is_empty() {
                return None;
            }
            path = path.get(..path.rfind(['.', '[']).unwrap_or_default())?;
        }
    }
}

/// A text and where each of its lines starts, to turn byte offsets into lines and columns without
/// rescanning the text for each. It borrows the text (`Lines<&str>`) or owns it (a tool that keeps
/// a file and places many problems in it).
#[derive(Clone, Debug)]
pub struct Lines<T> {
    text: T,
    starts: Vec<usize>,
}

impl<T: AsRef<str>> Lines<T> {
    /// Finds where each line of `text` starts.
    #[must_use]
    pub fn new(text: T) -> Self {
        let breaks = text.as_ref().bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(at, _)| at + 1);
        let starts = core::iter::once(0).chain(breaks).collect();
        Lines { text, starts }
    }

    /// The text.
    #[must_use]
    pub fn text(&self) -> &str {
        self.text.as_ref()
    }

    /// 1-based line and column (in characters) of a byte offset.
    #[must_use]
    pub fn locate(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or_default();
        let column = self.text().get(start..offset).map_or(0, |before| before.chars().count());
        (line, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_placed_at_keys_and_elements() {
        let text = "{\n  \"origins\": [\"a\", \"b\"],\n  \"routes\": [ { \"path_prefix\": \"/x\" } ]\n}";
        let spans = Spans::read(text).unwrap();
        let lines = Lines::new(text);
        let at = |path: &str| lines.locate(spans.get(path).unwrap().at);
        assert_eq!(at("origins"), (2, 3));
        assert_eq!(at("origins[1]"), (2, 20));
        assert_eq!(at("routes[0]"), (3, 15));
        assert_eq!(at("routes[0].path_prefix"), (3, 17));
        let prefix = spans.get("routes[0].path_prefix").unwrap();
        assert_eq!(&text[prefix.start..prefix.end], "\"/x\"");
        assert_eq!(spans.nearest("routes[0].max_age"), spans.get("routes[0]"));
        assert_eq!(spans.nearest("max_age").unwrap().start, 0);
    }

    #[test]
    fn lines_and_columns_count_characters() {
        assert_eq!(Lines::new("ab\ncé\nd").locate(7), (3, 1));
        assert_eq!(Lines::new("ab\ncé\nd").locate(6), (2, 3));
    }

    #[test]
    fn a_key_given_twice_is_placed_at_its_last_occurrence() {
        let spans = Spans::read(r#"{"a": 1, "a": 2}"#).unwrap();
        assert_eq!(spans.get("a").unwrap().at, 9);
    }
}
