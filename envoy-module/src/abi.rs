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
//!   the module changes those headers, which a [`Stream`] borrowed mutably prevents;
//! - one stream's hooks run on one thread, one at a time, except that answering from the request
//!   hook may run the response hook inside it (hence `&Filter` and `Stream::answer(&self)`).
#![allow(unsafe_code)]

use crate::config::Config;
use crate::filter::Filter;
use core::ffi::{c_char, c_void};
use core::marker::PhantomData;
use core::ptr;

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

/// `envoy_dynamic_module_type_module_http_header` (a line the module hands over) and
/// `envoy_dynamic_module_type_envoy_http_header` (a line Envoy lends): the same layout.
#[repr(C)]
#[derive(Clone, Copy)]
struct Header {
    key: Buffer,
    value: Buffer,
}

impl Header {
    const EMPTY: Header = Header { key: Buffer::EMPTY, value: Buffer::EMPTY };
}

/// `envoy_dynamic_module_type_http_header_type`.
const REQUEST_HEADERS: u32 = 0;
const RESPONSE_HEADERS: u32 = 2;
/// `Continue` in every `envoy_dynamic_module_type_on_http_filter_*_status`.
const CONTINUE: u32 = 0;
/// `StopIteration` of the request-headers status: the stream was answered here.
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
    fn envoy_dynamic_module_callback_http_get_headers_size(filter: *mut c_void, kind: u32) -> usize;
    fn envoy_dynamic_module_callback_http_get_headers(filter: *mut c_void, kind: u32, lines: *mut Header) -> bool;
    fn envoy_dynamic_module_callback_http_set_header(
        filter: *mut c_void,
        kind: u32,
        key: Buffer,
        value: Buffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_add_header(
        filter: *mut c_void,
        kind: u32,
        key: Buffer,
        value: Buffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_send_response_headers(
        filter: *mut c_void,
        headers: *mut Header,
        count: usize,
        end_of_stream: bool,
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
    fn envoy_dynamic_module_callback_http_filter_config_increment_counter(
        config: *mut c_void,
        id: usize,
        labels: *mut Buffer,
        count: usize,
        by: u64,
    ) -> u32;
    fn envoy_dynamic_module_callback_http_filter_config_scheduler_new(config: *mut c_void) -> *mut c_void;
    fn envoy_dynamic_module_callback_http_filter_config_scheduler_commit(scheduler: *mut c_void, event: u64);
    fn envoy_dynamic_module_callback_http_filter_config_scheduler_delete(scheduler: *mut c_void);
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

/// Envoy's side of a configuration, on Envoy's main thread: while it is made (where its counters are
/// defined) and when it runs a scheduled event (where they are counted).
pub(crate) struct ConfigHandle {
    envoy: *mut c_void,
}

impl ConfigHandle {
    /// Adds `by` to the counter `id` at these label values (as many as it has names).
    pub(crate) fn add_to_counter(&self, id: usize, labels: &[&str], by: u64) {
        let mut values: Vec<Buffer> = labels.iter().map(|label| Buffer::of(label.as_bytes())).collect();
        // SAFETY: `envoy` is a live configuration on the main thread (only `config_new` and
        // `config_scheduled` make a `ConfigHandle`); the buffers point to `labels`, alive for the
        // call, and Envoy only reads them.
        unsafe {
            envoy_dynamic_module_callback_http_filter_config_increment_counter(
                self.envoy,
                id,
                values.as_mut_ptr(),
                values.len(),
                by,
            );
        }
    }

    /// A way to have [`envoy_dynamic_module_on_http_filter_config_scheduled`] run on the main
    /// thread from any thread; `None` if Envoy gives none.
    pub(crate) fn scheduler(&self) -> Option<Scheduler> {
        // SAFETY: `envoy` is the configuration being made.
        let envoy = unsafe { envoy_dynamic_module_callback_http_filter_config_scheduler_new(self.envoy) };
        (!envoy.is_null()).then_some(Scheduler { envoy })
    }

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

/// Envoy's scheduler of a configuration's main-thread events: it holds the configuration weakly
/// (an event for a configuration already gone is dropped), and may be used from any thread.
pub(crate) struct Scheduler {
    envoy: *mut c_void,
}

// SAFETY: Envoy's configuration scheduler posts to the main thread's dispatcher, which any thread
// may do; it is deleted once, by its owner.
unsafe impl Send for Scheduler {}

impl Scheduler {
    /// Has Envoy run the configuration's scheduled hook on its main thread, soon.
    pub(crate) fn commit(&self) {
        // SAFETY: `envoy` is a scheduler `scheduler_new` made, not yet deleted.
        unsafe { envoy_dynamic_module_callback_http_filter_config_scheduler_commit(self.envoy, 0) }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        // SAFETY: made by `scheduler_new`, deleted here once.
        unsafe { envoy_dynamic_module_callback_http_filter_config_scheduler_delete(self.envoy) }
    }
}

/// Envoy's side of one stream, for the hook it was given to: a `&mut` is needed to change headers,
/// so no header line Envoy lent can be read after it changed.
pub(crate) struct Stream {
    envoy: *mut c_void,
}

/// Header lines Envoy lends: valid until the hook returns or a header of the stream changes, which
/// the borrow of the [`Stream`] they came from ensures.
pub(crate) struct Lines<'s> {
    lines: Vec<Header>,
    stream: PhantomData<&'s Stream>,
}

impl<'s> Lines<'s> {
    /// How many lines there are.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Each line as `(lowercase name, value)`, in Envoy's order (pseudo-headers first).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'s [u8], &'s [u8])> + '_ {
        // SAFETY: Envoy wrote every entry (or none: all empty), and keeps what they point to
        // for as long as the stream is borrowed (`'s`).
        self.lines.iter().map(|line| unsafe { (line.key.bytes(), line.value.bytes()) })
    }
}

impl Stream {
    /// Every line of the request's headers, in one crossing.
    pub(crate) fn request_lines(&self) -> Lines<'_> {
        self.lines(REQUEST_HEADERS)
    }

    /// Every line of the response's headers, in one crossing.
    pub(crate) fn response_lines(&self) -> Lines<'_> {
        self.lines(RESPONSE_HEADERS)
    }

    fn lines(&self, kind: u32) -> Lines<'_> {
        // SAFETY: `envoy` is this hook's stream.
        let count = unsafe { envoy_dynamic_module_callback_http_get_headers_size(self.envoy, kind) };
        let mut lines = vec![Header::EMPTY; count];
        // SAFETY: `lines` has room for the `count` lines Envoy writes: the header map cannot
        // change between the two calls (one thread, no call of ours in between).
        let written = count > 0
            && unsafe { envoy_dynamic_module_callback_http_get_headers(self.envoy, kind, lines.as_mut_ptr()) };
        if !written {
            lines.clear();
        }
        Lines { lines, stream: PhantomData }
    }

    /// Replaces every line of a response header with `value`, or removes them all (`None`; an
    /// empty value also removes it, as Envoy 1.40 reads one).
    pub(crate) fn set_response_header(&mut self, name: &str, value: Option<&str>) {
        let value = value.map_or(Buffer::EMPTY, |value| Buffer::of(value.as_bytes()));
        // SAFETY: `envoy` is this hook's stream; the buffers point to `name` and `value`, alive
        // for the call, and Envoy copies them.
        unsafe {
            envoy_dynamic_module_callback_http_set_header(
                self.envoy,
                RESPONSE_HEADERS,
                Buffer::of(name.as_bytes()),
                value,
            );
        }
    }

    /// Adds a line to the response's headers: cheaper than [`Stream::set_response_header`] where the
    /// header is known to be absent (nothing to remove first). An empty value adds nothing.
    pub(crate) fn add_response_header(&mut self, name: &str, value: &str) {
        // SAFETY: `envoy` is this hook's stream; the buffers point to `name` and `value`, alive
        // for the call, and Envoy copies them.
        unsafe {
            envoy_dynamic_module_callback_http_add_header(
                self.envoy,
                RESPONSE_HEADERS,
                Buffer::of(name.as_bytes()),
                Buffer::of(value.as_bytes()),
            );
        }
    }

    /// Answers the stream now, with these headers and no body, as Envoy's own CORS filter answers
    /// a preflight (its encoder filters see the answer; its local-reply mapping does not).
    /// `&self`: answering changes no header Envoy lent.
    pub(crate) fn answer<'n, 'v>(&self, status: u16, headers: impl Iterator<Item = (&'n str, &'v str)>) {
        let digits = [status / 100 % 10, status / 10 % 10, status % 10].map(|digit| b'0' + digit as u8);
        let status = Header { key: Buffer::of(b":status"), value: Buffer::of(&digits) };
        let mut lines: Vec<Header> =
            core::iter::once(status)
                .chain(headers.map(|(name, value)| Header {
                    key: Buffer::of(name.as_bytes()),
                    value: Buffer::of(value.as_bytes()),
                }))
                .collect();
        // SAFETY: `envoy` is this hook's stream; every buffer points to `digits` or `headers`,
        // alive for the call, and Envoy copies them into the response it makes.
        unsafe {
            envoy_dynamic_module_callback_http_send_response_headers(self.envoy, lines.as_mut_ptr(), lines.len(), true);
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

/// A configuration's scheduled event, on Envoy's main thread: the counts are handed over.
///
/// # Safety
/// `envoy` is Envoy's live configuration and `config` what `config_new` returned for it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_scheduled(
    envoy: *mut c_void,
    config: *const c_void,
    _event: u64,
) {
    // SAFETY: Envoy runs a configuration's events only while it lives (its scheduler holds it
    // weakly), and destroys the module's configuration only with it.
    let config = unsafe { &*config.cast::<Config>() };
    config.counters.hand_over(&ConfigHandle { envoy });
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

/// A shared reference, never `&mut`: Envoy may run the response hook while the request hook is
/// still answering (the answer passes the encoder filters), so two hooks can hold it at once.
///
/// # Safety
/// `filter` is what `filter_new` returned, used by this thread only, not yet destroyed.
unsafe fn filter<'f>(filter: *const c_void) -> &'f Filter {
    // SAFETY: the caller's contract.
    unsafe { &*filter.cast::<Filter>() }
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
    let answered = unsafe { filter(this) }.on_request_headers(&Stream { envoy });
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
