//! Routes: which level of the policy a request falls under, by its canonical path and its host.

pub(crate) mod host;
pub(crate) mod path;
pub(crate) mod route;
