//! The Public Suffix List: names under which anyone can get a site (`co.uk`, `github.io`,
//! `vercel.app`). A wildcard over one of them trusts every tenant of the registry or platform.
//!
//! The list is a table generated from the `psl` crate by `tests/public_suffixes.rs` (which also
//! checks that it is current). The table is a tree of labels from the right: each node is the
//! label, `!` if the name is a public suffix, `*` if every label under it is one (unless listed
//! without `!`), its children in parentheses, then `,`; siblings are in byte order. Top-level
//! domains without children are left out: every single label is a public suffix (the list's
//! default rule).
//!
//! To keep every edge's `.wasm` small the table is deflated, in chunks: one per first byte of the
//! top-level domains, so that reading `*.example.com` inflates ([`crate::origins::inflate`]) the top-level
//! domains starting with `c` only. Every edge pays that once per policy read (on Fastly, once per
//! instance). The file is a count of chunks, then for each its first byte and its deflated length
//! (two bytes, little-endian), then the deflated chunks in that order.

use alloc::{format, string::String, vec::Vec};

/// The table, deflated in chunks.
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

/// The table's chunks, each inflated when a name first needs it, for the duration of one policy
/// read. A chunk is searched as it is: a policy has few wildcards, and indexing the list would cost
/// more than every search.
pub(crate) struct PublicSuffixes {
    /// Empty when the file's index is malformed.
    chunks: Vec<Chunk>,
}

/// One chunk: the first byte of its top-level domains, its deflated bytes, and its text once
/// inflated (`Some(None)`: it would not inflate).
struct Chunk {
    first: u8,
    deflated: &'static [u8],
    text: Option<Option<Vec<u8>>>,
}

impl PublicSuffixes {
    pub fn load() -> Self {
        PublicSuffixes { chunks: index(TABLE).unwrap_or_default() }
    }

    /// How `host` (lowercase ASCII, no trailing dot) stands to the list. Where the table cannot be
    /// read (a chunk that does not inflate, a malformed index), every name is a public suffix:
    /// refusing is the safe side.
    pub fn reach(&mut self, host: &str) -> Reach {
        match self.node(host) {
            Place::Unreadable | Place::Unlisted { suffix: true } => Reach::Suffix,
            Place::Unlisted { suffix: false } => Reach::Private,
            Place::Listed(Node { suffix: true, .. }, _) => Reach::Suffix,
            Place::Listed(Node { wildcard: true, .. } | Node { children: true, .. }, _) => Reach::Above,
            Place::Listed(..) => Reach::Private,
        }
    }

    /// A public suffix one label under `parent` whose label `fits` (a label pattern's shape), if
    /// there is one: `*.parent` when a wildcard rule makes every such name one
    /// (`*.user.localcert.dev`), or a listed one (`s3.amazonaws.com`). Where the table cannot be
    /// read, every name is one.
    pub fn suffix_below(&mut self, parent: &str, fits: impl Fn(&[u8]) -> bool) -> Option<String> {
        let (node, mut entries) = match self.node(parent) {
            Place::Listed(node, children) => (node, children),
            Place::Unreadable => return Some(format!("*.{parent}")),
            Place::Unlisted { .. } => return None,
        };
        if node.wildcard {
            return Some(format!("*.{parent}"));
        }
        while let Some(Entry { label, node, rest, .. }) = entry(entries) {
            if node.suffix && fits(label) {
                return Some(format!("{}.{parent}", core::str::from_utf8(label).unwrap_or_default()));
            }
            entries = rest;
        }
        None
    }

    /// Where `host` is in the table.
    fn node(&mut self, host: &str) -> Place<'_> {
        if self.chunks.is_empty() {
            return Place::Unreadable;
        }
        let key = host.rsplit('.').next().and_then(|tld| tld.bytes().next());
        let top: &[u8] = match self.chunks.iter_mut().find(|chunk| Some(chunk.first) == key) {
            Some(Chunk { deflated, text, .. }) => {
                match text.get_or_insert_with(|| crate::origins::inflate::inflate(deflated)) {
                    Some(text) => text,
                    None => return Place::Unreadable,
                }
            }
            None => &[], // no top-level domain with children starts with this byte
        };
        let mut labels = host.rsplit('.');
        let (mut entries, mut parent, mut depth) = (top, Node::default(), 0);
        while let Some(label) = labels.next() {
            let Some((node, children)) = find(entries, label.as_bytes()) else {
                // A label the table does not hold is a suffix only as the leftmost one, under a
                // wildcard or as a top-level domain.
                return Place::Unlisted { suffix: labels.next().is_none() && (depth == 0 || parent.wildcard) };
            };
            (entries, parent, depth) = (children, node, depth + 1);
        }
        Place::Listed(parent, entries)
    }
}

/// Where a name is in the table.
enum Place<'t> {
    /// The table could not be read.
    Unreadable,
    /// Not in the table: a public suffix or not by the list's rules.
    Unlisted { suffix: bool },
    /// Its node and the entries of its children.
    Listed(Node, &'t [u8]),
}

/// The chunks of the file: each one's first byte and deflated bytes, or `None` if the index does
/// not describe the file exactly.
fn index(file: &'static [u8]) -> Option<Vec<Chunk>> {
    let (&count, rest) = file.split_first()?;
    let (entries, mut data) = rest.split_at_checked(usize::from(count) * 3)?;
    let mut chunks = Vec::with_capacity(usize::from(count));
    for entry in entries.chunks_exact(3) {
        let [first, low, high] = *entry else { return None };
        let (deflated, after) = data.split_at_checked(usize::from(u16::from_le_bytes([low, high])))?;
        chunks.push(Chunk { first, deflated, text: None });
        data = after;
    }
    data.is_empty().then_some(chunks)
}

/// The node of `label` among the entries of one level (`label[!][*][(children)],` each, in byte
/// order: the generator writes them from a `BTreeMap`), and the entries of its children. A
/// malformed table gives `None`, as an absent label.
fn find<'t>(mut entries: &'t [u8], label: &[u8]) -> Option<(Node, &'t [u8])> {
    while let Some(Entry { label: name, node, children, rest }) = entry(entries) {
        if name > label {
            return None;
        }
        if name == label {
            return Some((node, children));
        }
        entries = rest;
    }
    None
}

/// One entry of a level of the table.
struct Entry<'t> {
    label: &'t [u8],
    node: Node,
    /// The entries of its children.
    children: &'t [u8],
    /// The entries after it.
    rest: &'t [u8],
}

/// The first entry of `entries`; `None` at the end, or where the table is malformed.
fn entry(entries: &[u8]) -> Option<Entry<'_>> {
    let end = entries.iter().position(|b| matches!(b, b'!' | b'*' | b'(' | b','))?;
    let (label, mut rest) = entries.split_at(end);
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
    Some(Entry { label, node, children, rest: rest.strip_prefix(b",")? })
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
