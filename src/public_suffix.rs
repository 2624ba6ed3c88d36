//! The Public Suffix List: names under which anyone can get a site (`co.uk`, `github.io`,
//! `vercel.app`). A wildcard over one of them trusts every tenant of the registry or platform.
//!
//! The list is a table generated from the `psl` crate by `tests/public_suffixes.rs` (which also
//! checks that it is current), deflated to keep every edge's `.wasm` small, and inflated
//! ([`crate::inflate`]) only while a policy with wildcards is read. The table is a tree of labels from the right: each node is the
//! label, `!` if the name is a public suffix, `*` if every label under it is one (unless listed
//! without `!`), its children in parentheses, then `,`. Top-level domains without children are
//! left out: every single label is a public suffix (the list's default rule).

use alloc::{boxed::Box, vec::Vec};
use hashbrown::HashMap;

/// The table, deflated.
const TABLE: &[u8] = include_bytes!("public_suffix.deflate");

/// What the table says of a name: whether it is a public suffix, whether its children are, and
/// whether names below it are listed.
#[derive(Clone, Copy, Default)]
struct Node {
    id: u32,
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

/// The table, indexed by (parent node, label), for the duration of one policy read.
pub(crate) struct PublicSuffixes {
    nodes: HashMap<(u32, Box<[u8]>), Node>,
}

impl PublicSuffixes {
    pub fn load() -> Self {
        let table = crate::inflate::inflate(TABLE).unwrap_or_default();
        let mut nodes = HashMap::new();
        // The node being read, and the nodes whose children are being read (the root has id 0).
        let (mut label, mut node) = (Vec::new(), Node::default());
        let mut open: Vec<(Vec<u8>, Node)> = Vec::new();
        let mut count = 0;
        for &byte in &table {
            match byte {
                b'!' => node.suffix = true,
                b'*' => node.wildcard = true,
                b'(' => {
                    node.children = true;
                    open.push((core::mem::take(&mut label), node));
                }
                b')' => (label, node) = open.pop().unwrap_or_default(),
                b',' => {
                    let parent = open.last().map_or(0, |(_, parent)| parent.id);
                    nodes.insert((parent, core::mem::take(&mut label).into_boxed_slice()), node);
                }
                _ => {
                    if label.is_empty() {
                        count += 1;
                        node = Node { id: count, ..Node::default() };
                    }
                    label.push(byte);
                }
            }
        }
        PublicSuffixes { nodes }
    }

    /// How `host` (lowercase ASCII, no trailing dot) stands to the list. Without its table (it
    /// failed to inflate), every name is a public suffix: refusing is the safe side.
    pub fn reach(&self, host: &str) -> Reach {
        if self.nodes.is_empty() {
            return Reach::Suffix;
        }
        let mut labels = host.rsplit('.');
        let (mut parent, mut depth) = (Node::default(), 0);
        while let Some(label) = labels.next() {
            let Some(&node) = self.nodes.get(&(parent.id, Box::<[u8]>::from(label.as_bytes()))) else {
                // A label the table does not hold is a suffix only as the leftmost one, under a
                // wildcard or as a top-level domain.
                let suffix = labels.next().is_none() && (depth == 0 || parent.wildcard);
                return if suffix { Reach::Suffix } else { Reach::Private };
            };
            (parent, depth) = (node, depth + 1);
        }
        match parent {
            Node { suffix: true, .. } => Reach::Suffix,
            Node { wildcard: true, .. } | Node { children: true, .. } => Reach::Above,
            _ => Reach::Private,
        }
    }
}
