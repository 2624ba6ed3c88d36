//! corsguard for Envoy at native cost: the policy as an Envoy dynamic module, an HTTP filter in a
//! shared library that Envoy 1.40 loads through its C ABI (`envoy.filters.http.dynamic_modules`),
//! with no VM between the filter and Envoy.
//!
//! The filter configuration is the policy file (the same JSON as on every edge). It is validated
//! and compiled once per configuration, on Envoy's main thread; a policy with any error is refused,
//! every problem logged, and Envoy then refuses the configuration (at start it exits, on a reload it
//! keeps the old one). Each stream shares the compiled policy and only translates: it reads the
//! request headers the decision needs, hands them to [`corsguard::Policy::evaluate`], and applies
//! the [`corsguard::Decision`] as it is: preflights answered with a local reply, other responses
//! edited, or nothing changed.
//!
//! All unsafe code, the ABI's declarations and the hooks Envoy calls, is in `abi.rs`; the rest is
//! safe Rust over its `Stream` and `ConfigHandle`.

mod abi;
mod config;
mod counters;
mod filter;
mod response;
