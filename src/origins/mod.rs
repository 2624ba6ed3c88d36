//! Origins and the patterns that match them: an origin's parts, the `origins` entries and their
//! matcher, preview-deployment label patterns, and the Public Suffix List they are checked against.

pub(crate) mod inflate;
pub(crate) mod label_pattern;
pub(crate) mod origin;
pub(crate) mod pattern;
pub(crate) mod public_suffix;
