//! The Public Suffix List: names under which anyone can get a site (`co.uk`, `github.io`,
//! `vercel.app`). A wildcard over one of them trusts every tenant of the registry or platform.
//!
//! The list is a table generated from the `psl` crate by `tests/public_suffixes.rs` (which also
//! checks that it is current), deflated to keep every edge's `.wasm` small, and inflated only while
//! a policy with wildcards is read. The table is a tree of labels from the right: each node is the
//! label, `!` if the name is a public suffix, `*` if every label under it is one (unless listed
//! without `!`), its children in parentheses, then `,`. Top-level domains without children are
//! left out: every single label is a public suffix (the list's default rule).

use alloc::{boxed::Box, vec::Vec};
use hashbrown::HashMap;

/// The table, deflated.
const TABLE: &[u8] = include_bytes!("public_suffix.deflate");

/// What the table says of a name: whether it is a public suffix, and whether its children are.
#[derive(Clone, Copy, Default)]
struct Node {
    id: u32,
    suffix: bool,
    wildcard: bool,
}

/// The table, indexed by (parent node, label), for the duration of one policy read.
pub(crate) struct PublicSuffixes {
    nodes: HashMap<(u32, Box<[u8]>), Node>,
}

impl PublicSuffixes {
    pub fn load() -> Self {
        let table = miniz_oxide::inflate::decompress_to_vec(TABLE).unwrap_or_default();
        let mut nodes = HashMap::new();
        // The node being read, and the nodes whose children are being read (the root has id 0).
        let (mut label, mut node) = (Vec::new(), Node::default());
        let mut open: Vec<(Vec<u8>, Node)> = Vec::new();
        let mut count = 0;
        for &byte in &table {
            match byte {
                b'!' => node.suffix = true,
                b'*' => node.wildcard = true,
                b'(' => open.push((core::mem::take(&mut label), node)),
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

    /// Whether `host` (lowercase ASCII, no trailing dot) is a public suffix. Without its table
    /// (it failed to inflate), everything is: refusing is the safe side.
    pub fn contains(&self, host: &str) -> bool {
        if self.nodes.is_empty() {
            return true;
        }
        let mut labels = host.rsplit('.');
        let (mut parent, mut depth) = (Node::default(), 0);
        while let Some(label) = labels.next() {
            let Some(&node) = self.nodes.get(&(parent.id, Box::<[u8]>::from(label.as_bytes()))) else {
                // A label the table does not hold is a suffix only as the leftmost one, under a
                // wildcard or as a top-level domain.
                return labels.next().is_none() && (depth == 0 || parent.wildcard);
            };
            (parent, depth) = (node, depth + 1);
        }
        parent.suffix
    }
}
