//! The policy file: its JSON, its fields and their reader, the problems found, where each part is
//! written, environments, and the read-only view tools take.

pub(crate) mod config;
pub(crate) mod environment;
pub(crate) mod fields;
pub(crate) mod json;
pub(crate) mod problem;
pub(crate) mod source;
pub(crate) mod view;
