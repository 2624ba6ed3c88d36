//! The deciders: the compiled policy and each level's rules, the preflight and actual-request
//! deciders, the method and header lists they check, and the request they decide on.

pub(crate) mod actual;
pub(crate) mod byte_string;
pub(crate) mod headers;
pub(crate) mod methods;
pub(crate) mod name_set;
pub(crate) mod policy;
pub(crate) mod preflight;
pub(crate) mod request;
pub(crate) mod rules;
