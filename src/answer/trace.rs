//! Why the engine decided as it did, for tools that explain a decision (`corsguard explain`): the
//! level that decided, where each of its fields comes from, and the `origins` entry that allowed
//! the origin. Edges never need it.

use crate::answer::decision::Decision;
use crate::routes::route::Selected;
use alloc::{boxed::Box, format, string::String, vec::Vec};

/// A decision, and what it was made from, as JSON paths into the policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace<'a> {
    /// The decision itself, as [`crate::Policy::evaluate`] makes it.
    pub decision: Decision<'a>,
    /// The level that decided.
    pub selected: Selected,
    /// The entry of `origins` that allows the request's origin (`routes[1].origins[0]`), if one
    /// does.
    pub origin_entry: Option<String>,
    pub(crate) sources: Sources,
}

impl Trace<'_> {
    /// Where the deciding level's value of a field comes from: `routes[1].methods` when the route
    /// gives its own, `methods` when it inherits the top level's; `None` when neither gives it (its
    /// default applies).
    #[must_use]
    pub fn source(&self, field: &str) -> Option<&str> {
        self.sources.0.iter().find(|(name, _)| *name == field).map(|(_, path)| &**path)
    }
}

/// The JSON path of each field a level's rules were resolved from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sources(pub Vec<(&'static str, Box<str>)>);

impl Sources {
    /// Each of `fields` that the route (at `path`) or else the top level gives.
    pub fn resolve(fields: &[&'static str], top: &[&'static str], route: Option<(&str, &[&'static str])>) -> Self {
        let source = |field: &'static str| match route {
            Some((path, given)) if given.contains(&field) => Some(format!("{path}.{field}").into()),
            _ => top.contains(&field).then(|| Box::from(field)),
        };
        Sources(fields.iter().filter_map(|&field| source(field).map(|path| (field, path))).collect())
    }

    /// The path of an entry of the `origins` these rules use.
    pub fn origin_entry(&self, index: usize) -> Option<String> {
        self.0.iter().find(|(name, _)| *name == "origins").map(|(_, path)| format!("{path}[{index}]"))
    }
}
