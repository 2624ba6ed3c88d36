//! The Public Suffix List: names under which anyone can get a site (`co.uk`, `github.io`,
//! `vercel.app`). A wildcard over one of them trusts every tenant of the registry or platform.
//!
//! The list is a table generated from the `psl` crate by `tests/public_suffixes.rs` (which also
//! checks that it is current), deflated to keep every edge's `.wasm` small, and inflated
//! ([`crate::inflate`]) only while a policy with wildcards is read. The table is a tree of labels
//! from the right: each node is the label, `!` if the name is a public suffix, `*` if every label under it is one (unless listed
//! without `!`), its children in parentheses, then `,`. Top-level domains without children are
//! left out: every single label is a public suffix (the list's default rule).

use alloc::vec::Vec;

/// The table, deflated.
const TABLE: &[u8] = include_bytes!("public_suffix.deflate");

/// What the table says of a name: whether it is a public suffix, whether its children are, and
/// whether names below it are listed.
#[derive(Clone, Copy, Default)]
struct Node {
    suffix: bool,
    wildcard: bool,
    children: bool,
}

/// How a name stands to the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Neither it nor any name below it is a public suffix.
    Private,
    /// It is a public suffix (`github.io`).
    Suffix,
    /// Names below it are (`amazonaws.com`, with `s3.amazonaws.com`).
    Above,
}

/// The inflated table, for the duration of one policy read. It is searched as it is: a policy has
/// few wildcards, and indexing the whole list would cost more than every search.
pub(crate) struct PublicSuffixes {
    table: Vec<u8>,
}

impl PublicSuffixes {
    pub fn load() -> Self {
        PublicSuffixes { table: crate::inflate::inflate(TABLE).unwrap_or_default() }
    }

    /// How `host` (lowercase ASCII, no trailing dot) stands to the list. Without its table (it
    /// failed to inflate), every name is a public suffix: refusing is the safe side.
    pub fn reach(&self, host: &str) -> Reach {
        if self.table.is_empty() {
            return Reach::Suffix;
        }
        let mut labels = host.rsplit('.');
        let (mut entries, mut parent, mut depth) = (&self.table[..], Node::default(), 0);
        while let Some(label) = labels.next() {
            let Some((node, children)) = find(entries, label.as_bytes()) else {
                // A label the table does not hold is a suffix only as the leftmost one, under a
                // wildcard or as a top-level domain.
                let suffix = labels.next().is_none() && (depth == 0 || parent.wildcard);
                return if suffix { Reach::Suffix } else { Reach::Private };
            };
            (entries, parent, depth) = (children, node, depth + 1);
        }
        match parent {
            Node { suffix: true, .. } => Reach::Suffix,
            Node { wildcard: true, .. } | Node { children: true, .. } => Reach::Above,
            _ => Reach::Private,
        }
    }
}

/// The node of `label` among the entries of one level (`label[!][*][(children)],` each, in byte
/// order: the generator writes them from a `BTreeMap`), and the entries of its children. A
/// malformed table gives `None`, as an absent label.
fn find<'t>(mut entries: &'t [u8], label: &[u8]) -> Option<(Node, &'t [u8])> {
    while !entries.is_empty() {
        let end = entries.iter().position(|b| matches!(b, b'!' | b'*' | b'(' | b','))?;
        let (name, mut rest) = entries.split_at(end);
        if name > label {
            return None;
        }
        let mut node = Node::default();
        while let Some((&flag, tail)) = rest.split_first() {
            match flag {
                b'!' => node.suffix = true,
                b'*' => node.wildcard = true,
                _ => break,
            }
            rest = tail;
        }
        let mut children: &[u8] = &[];
        if let Some(tail) = rest.strip_prefix(b"(") {
            let close = closing(tail)?;
            node.children = true;
            children = tail.get(..close)?;
            rest = tail.get(close + 1..)?;
        }
        entries = rest.strip_prefix(b",")?;
        if name == label {
            return Some((node, children));
        }
    }
    None
}

/// Where the parenthesis opened just before `text` closes.
fn closing(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for (at, &byte) in text.iter().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' if depth == 0 => return Some(at),
            b')' => depth -= 1,
            _ => {}
        }
    }
    None
}
