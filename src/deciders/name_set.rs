//! A set of method or header names: a short list is scanned (a few byte comparisons, faster than
//! hashing the name), a long one is hashed, so a lookup costs the same with 10 names or 10,000.

use crate::HashSet;
use alloc::{boxed::Box, vec::Vec};

/// Up to this many names, a scan is cheaper than a hash lookup.
const SCANNED: usize = 8;

/// Names in the order they were added, each once.
#[derive(Clone, Debug, Default)]
pub(crate) struct NameSet {
    listed: Vec<Box<str>>,
    /// Built while adding (so that adding stays linear), kept only for long lists.
    index: Option<HashSet<Box<str>>>,
}

impl NameSet {
    /// Adds a name; `false` if it is already there.
    pub fn insert(&mut self, name: Box<str>) -> bool {
        if !self.index.get_or_insert_with(HashSet::default).insert(name.clone()) {
            return false;
        }
        self.listed.push(name);
        true
    }

    /// Drops the index of a short list: call once every name is in.
    pub fn finish(mut self) -> Self {
        if self.listed.len() <= SCANNED {
            self.index = None;
        }
        self
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        match &self.index {
            Some(index) => core::str::from_utf8(name).is_ok_and(|name| index.contains(name)),
            None => self.listed.iter().any(|listed| listed.as_bytes() == name),
        }
    }

    /// The names in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.listed.iter().map(|name| &**name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_sets_answer_alike() {
        for size in [1, SCANNED, SCANNED + 1, 1000] {
            let mut set = NameSet::default();
            for i in 0..size {
                assert!(set.insert(alloc::format!("x-{i}").into()));
            }
            assert!(!set.insert("x-0".into()));
            let set = set.finish();
            assert_eq!(set.index.is_some(), size > SCANNED);
            let last = alloc::format!("x-{}", size - 1);
            assert!(set.contains(b"x-0") && set.contains(last.as_bytes()) && !set.contains(b"x"));
            assert_eq!(set.iter().count(), size);
        }
    }
}
