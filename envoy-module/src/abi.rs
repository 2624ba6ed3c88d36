//! Envoy 1.40's dynamic-module ABI: its C types, the callbacks this module calls, and the hooks
//! Envoy calls, each turning Envoy's raw pointers into the safe handles the rest of the crate uses.
//! This is the module's only unsafe code.
//!
//! Declared by hand (the Rust SDK lives in Envoy's source tree, not on crates.io) from Envoy
//! 1.40.0's `source/extensions/dynamic_modules/abi/abi.h`, ABI version [`ABI_VERSION`]. Envoy
//! resolves every callback declared here when it loads the module (a missing one fails the load,
//! never a request), and logs whether the version matches its own;
//! `tests/e2e/test_envoy_module.py` checks both against the pinned binary.
//!
//! The invariants every hook relies on, from the ABI's contract:
//! - a configuration pointer Envoy passes back is one [`envoy_dynamic_module_on_http_filter_config_new`]
//!   returned, and Envoy destroys a configuration only after every filter made from it;
//! - a filter pointer is one [`envoy_dynamic_module_on_http_filter_new`] returned, used by one
//!   worker thread at a time, until [`envoy_dynamic_module_on_http_filter_destroy`];
//! - buffers Envoy hands over (header names and values) stay valid until the hook returns, or until
//!   the module changes those headers, which a [`Stream`] borrowed mutably prevents.
#![allow(unsafe_code)]

use crate::config::Config;
use crate::filter::Filter;
use core::ffi::{c_char, c_void};
use core::ptr;
use std::borrow::Cow;

/// The ABI this module was built for: Envoy 1.40's (`ENVOY_DYNAMIC_MODULES_ABI_VERSION`).
pub(crate) const ABI_VERSION: &[u8] = b"v0.2.0\0";

/// `envoy_dynamic_module_type_envoy_buffer` and `_module_buffer`: bytes, not NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Buffer {
    ptr: *const u8,
    length: usize,
}

impl Buffer {
    const EMPTY: Buffer = Buffer { ptr: ptr::null(), length: 0 };

    fn of(bytes: &[u8]) -> Self {
        Buffer { ptr: bytes.as_ptr(), length: bytes.len() }
    }

    /// The bytes, borrowed for as long as the caller says Envoy keeps them.
    ///
    /// # Safety
    /// `ptr` is null with `length` 0, or points to `length` bytes that stay valid for `'a`.
    unsafe fn bytes<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() || self.length == 0 {
            return &[];
        }
        // SAFETY: the caller's contract, above.
        unsafe { core::slice::from_raw_parts(self.ptr, self.length) }
    }
}

/// `envoy_dynamic_module_type_module_http_header`: one header line of a local reply.
#[repr(C)]
struct Header {
    key: Buffer,
    value: Buffer,
}

/// `envoy_dynamic_module_type_http_header_type`.
const REQUEST_HEADERS: u32 = 0;
const RESPONSE_HEADERS: u32 = 2;
/// `Continue` in every `envoy_dynamic_module_type_on_http_filter_*_status`.
const CONTINUE: u32 = 0;
/// `StopIteration` of the request-headers status: the stream was answered locally.
const STOP_ITERATION: u32 = 1;
/// `envoy_dynamic_module_type_metrics_result`'s `Success`.
const METRICS_SUCCESS: u32 = 0;

/// `envoy_dynamic_module_type_log_level`.
#[derive(Clone, Copy)]
#[repr(u32)]
pub(crate) enum Level {
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

// The callbacks, exported by the Envoy binary. Each takes its pointers for the duration of the call.
unsafe extern "C" {
    fn envoy_dynamic_module_callback_http_get_header(
        filter: *mut c_void,
        kind: u32,
        key: Buffer,
        value: *mut Buffer,
        index: usize,
        count: *mut usize,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_set_header(
        filter: *mut c_void,
        kind: u32,
        key: Buffer,
        value: Buffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_send_response(
        filter: *mut c_void,
        status: u32,
        headers: *mut Header,
        count: usize,
        body: Buffer,
        details: Buffer,
    );
    fn envoy_dynamic_module_callback_log(level: u32, message: Buffer);
    fn envoy_dynamic_module_callback_log_enabled(level: u32) -> bool;
    fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        config: *mut c_void,
        name: Buffer,
        labels: *mut Buffer,
        count: usize,
        id: *mut usize,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter: *mut c_void,
        id: usize,
        labels: *mut Buffer,
        count: usize,
        by: u64,
    ) -> u32;
}

/// Logs a line through Envoy's `dynamic_modules` logger.
pub(crate) fn log(level: Level, message: &str) {
    // SAFETY: the buffer points to `message`, alive for the call.
    unsafe { envoy_dynamic_module_callback_log(level as u32, Buffer::of(message.as_bytes())) }
}

/// Whether Envoy logs lines of `level`: a line that would be dropped is not even formatted.
pub(crate) fn log_enabled(level: Level) -> bool {
    // SAFETY: no pointer is passed.
    unsafe { envoy_dynamic_module_callback_log_enabled(level as u32) }
}

/// Envoy's side of a configuration being made: where its counters are defined.
pub(crate) struct ConfigHandle {
    envoy: *mut c_void,
}

impl ConfigHandle {
    /// Defines a counter with these label names; its id, or `None` if Envoy refuses it.
    pub(crate) fn define_counter(&self, name: &str, labels: &[&str]) -> Option<usize> {
        let mut names: Vec<Buffer> = labels.iter().map(|label| Buffer::of(label.as_bytes())).collect();
        let mut id = 0;
        // SAFETY: `envoy` is the configuration Envoy is making (only `config_new` makes a
        // `ConfigHandle`); the buffers point to `name` and `labels`, alive for the call, and Envoy
        // only reads them.
        let result = unsafe {
            envoy_dynamic_module_callback_http_filter_config_define_counter(
                self.envoy,
                Buffer::of(name.as_bytes()),
                names.as_mut_ptr(),
                names.len(),
                &mut id,
            )
        };
        (result == METRICS_SUCCESS).then_some(id)
    }
}

/// Envoy's side of one stream, for the hook it was given to: a `&mut` is needed to change headers
/// or answer, so no header Envoy lent can be read after it changed.
pub(crate) struct Stream {
    envoy: *mut c_void,
}

impl Stream {
    /// Every line of a request header, joined as the engine reads repeated lines; `None` if absent.
    pub(crate) fn request_header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        let mut joined = None;
        for value in self.values(REQUEST_HEADERS, name) {
            corsguard::join_line(&mut joined, value);
        }
        joined
    }

    /// Every line of a response header, in order.
    pub(crate) fn response_header(&self, name: &str) -> impl Iterator<Item = &[u8]> {
        self.values(RESPONSE_HEADERS, name)
    }

    fn values(&self, kind: u32, name: &str) -> impl Iterator<Item = &[u8]> {
        let key = Buffer::of(name.as_bytes());
        let (mut index, mut count) = (0, 1);
        core::iter::from_fn(move || {
            if index >= count {
                return None;
            }
            let mut value = Buffer::EMPTY;
            // SAFETY: `envoy` is this hook's stream; `key` points to `name`, alive for the call.
            let found = unsafe {
                envoy_dynamic_module_callback_http_get_header(self.envoy, kind, key, &mut value, index, &mut count)
            };
            index += 1;
            // SAFETY: Envoy keeps the value until the hook returns or the headers change; both
            // end the borrow of `self` this value is tied to.
            found.then(|| unsafe { value.bytes() })
        })
    }

    /// Replaces every line of a response header with `value`, or removes them all (`None`).
    pub(crate) fn set_response_header(&mut self, name: &str, value: Option<&str>) {
        let value = value.map_or(Buffer::EMPTY, |value| Buffer::of(value.as_bytes()));
        // SAFETY: `envoy` is this hook's stream; the buffers point to `name` and `value`, alive
        // for the call. A null value is the ABI's way to remove the header.
        unsafe {
            envoy_dynamic_module_callback_http_set_header(
                self.envoy,
                RESPONSE_HEADERS,
                Buffer::of(name.as_bytes()),
                value,
            );
        }
    }

    /// Answers the stream now, with no body; `details` is what Envoy's access log shows.
    pub(crate) fn send_response(&mut self, status: u16, headers: &[(&str, &str)], details: &str) {
        let mut lines: Vec<Header> = headers
            .iter()
            .map(|(name, value)| Header { key: Buffer::of(name.as_bytes()), value: Buffer::of(value.as_bytes()) })
            .collect();
        // SAFETY: `envoy` is this hook's stream; every buffer points to `headers` or `details`,
        // alive for the call, and Envoy copies what it keeps.
        unsafe {
            envoy_dynamic_module_callback_http_send_response(
                self.envoy,
                u32::from(status),
                lines.as_mut_ptr(),
                lines.len(),
                Buffer::EMPTY,
                Buffer::of(details.as_bytes()),
            );
        }
    }

    /// Adds one to the counter `id` at these label values (as many as it has names).
    pub(crate) fn count(&self, id: usize, labels: &[&str]) {
        let mut values: Vec<Buffer> = labels.iter().map(|label| Buffer::of(label.as_bytes())).collect();
        // SAFETY: `envoy` is this hook's stream; the buffers point to `labels`, alive for the
        // call, and Envoy only reads them.
        unsafe {
            envoy_dynamic_module_callback_http_filter_increment_counter(
                self.envoy,
                id,
                values.as_mut_ptr(),
                values.len(),
                1,
            );
        }
    }
}

// ---- the hooks Envoy calls ----------------------------------------------------------------------

/// Called once when Envoy loads the module: the ABI version it was built for.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    ABI_VERSION.as_ptr().cast()
}

/// A filter configuration: the policy, compiled; null (Envoy refuses the configuration) when it
/// does not validate.
///
/// # Safety
/// Envoy passes its configuration and buffers valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    envoy: *mut c_void,
    _name: Buffer,
    config: Buffer,
) -> *const c_void {
    // SAFETY: Envoy's buffer is valid for the call, which is as long as it is read.
    let text = unsafe { config.bytes() };
    match Config::load(&ConfigHandle { envoy }, text) {
        Some(config) => Box::into_raw(Box::new(config)).cast_const().cast(),
        None => ptr::null(),
    }
}

/// # Safety
/// `config` is what `config_new` returned, and no filter made from it is left.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: *const c_void) {
    // SAFETY: the pointer came from `Box::into_raw` in `config_new`, and is destroyed once.
    drop(unsafe { Box::from_raw(config.cast::<Config>().cast_mut()) });
}

/// Unused: corsguard takes no per-route configuration (routes are in the policy).
///
/// # Safety
/// None needed: nothing is read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_new(
    _name: Buffer,
    _config: Buffer,
) -> *const c_void {
    log(Level::Error, "corsguard takes no per-route configuration: write routes in the policy");
    ptr::null()
}

/// # Safety
/// None needed: `per_route_config_new` never makes one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_destroy(_config: *const c_void) {}

/// A stream's filter, sharing the configuration's compiled policy.
///
/// # Safety
/// `config` is what `config_new` returned, alive until this filter is destroyed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config: *const c_void,
    _envoy: *mut c_void,
) -> *const c_void {
    // SAFETY: Envoy destroys a configuration only after every filter made from it, so the
    // reference outlives the filter that holds it.
    let config: &'static Config = unsafe { &*config.cast::<Config>() };
    Box::into_raw(Box::new(Filter::new(config))).cast_const().cast()
}

/// # Safety
/// `filter` is what `filter_new` returned, used by this thread only.
unsafe fn filter<'f>(filter: *const c_void) -> &'f mut Filter {
    // SAFETY: the caller's contract; Envoy calls one stream's hooks one at a time.
    unsafe { &mut *filter.cast::<Filter>().cast_mut() }
}

/// # Safety
/// Envoy's stream and the filter `filter_new` made for it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    envoy: *mut c_void,
    this: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    // SAFETY: the hook's contract, above.
    let answered = unsafe { filter(this) }.on_request_headers(&mut Stream { envoy });
    if answered { STOP_ITERATION } else { CONTINUE }
}

/// # Safety
/// Envoy's stream and the filter `filter_new` made for it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    envoy: *mut c_void,
    this: *const c_void,
    _end_of_stream: bool,
) -> u32 {
    // SAFETY: the hook's contract, above.
    unsafe { filter(this) }.on_response_headers(&mut Stream { envoy });
    CONTINUE
}

/// # Safety
/// `filter` is what `filter_new` returned, destroyed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_destroy(filter: *const c_void) {
    // SAFETY: the pointer came from `Box::into_raw` in `filter_new`.
    drop(unsafe { Box::from_raw(filter.cast::<Filter>().cast_mut()) });
}

/// The hooks the ABI requires whose events corsguard has nothing to do with: bodies, trailers,
/// callouts, timers and watermarks. Each continues.
macro_rules! continue_on {
    ($($hook:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {$(
        /// Nothing to do: corsguard reads headers only.
        ///
        /// # Safety
        /// None needed: no argument is read.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $hook($($arg: $ty),*) $(-> $ret)? {
            $(let _ = ($arg,);)*
            $( CONTINUE as $ret )?
        }
    )*};
}

continue_on! {
    envoy_dynamic_module_on_http_filter_request_body(e: *mut c_void, f: *const c_void, end: bool) -> u32;
    envoy_dynamic_module_on_http_filter_request_trailers(e: *mut c_void, f: *const c_void) -> u32;
    envoy_dynamic_module_on_http_filter_response_body(e: *mut c_void, f: *const c_void, end: bool) -> u32;
    envoy_dynamic_module_on_http_filter_response_trailers(e: *mut c_void, f: *const c_void) -> u32;
    envoy_dynamic_module_on_http_filter_stream_complete(e: *mut c_void, f: *const c_void);
    envoy_dynamic_module_on_http_filter_http_callout_done(e: *mut c_void, f: *const c_void, id: u64, result: u32,
        headers: *mut c_void, headers_size: usize, chunks: *mut c_void, chunks_size: usize);
    envoy_dynamic_module_on_http_filter_http_stream_headers(e: *mut c_void, f: *const c_void, id: u64,
        headers: *mut c_void, headers_size: usize, end: bool);
    envoy_dynamic_module_on_http_filter_http_stream_data(e: *mut c_void, f: *const c_void, id: u64,
        data: *const c_void, data_count: usize, end: bool);
    envoy_dynamic_module_on_http_filter_http_stream_trailers(e: *mut c_void, f: *const c_void, id: u64,
        trailers: *mut c_void, trailers_size: usize);
    envoy_dynamic_module_on_http_filter_http_stream_complete(e: *mut c_void, f: *const c_void, id: u64);
    envoy_dynamic_module_on_http_filter_http_stream_reset(e: *mut c_void, f: *const c_void, id: u64, reason: u32);
    envoy_dynamic_module_on_http_filter_scheduled(e: *mut c_void, f: *const c_void, id: u64);
    envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(e: *mut c_void, f: *const c_void);
    envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(e: *mut c_void, f: *const c_void);
}
