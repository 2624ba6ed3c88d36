//! The request's URI exactly as the host holds it and will forward it.
//!
//! The SDK offers the URI only parsed into a `url::Url`, which normalizes it (another reading than
//! what the backend gets) and panics on what its parser refuses (a trap, for a hostile request).
//! The host call it wraps hands over the bytes; this is that one call.

use fastly::handle::RequestHandle;
use fastly_shared::FastlyStatus;

/// Bytes tried first; a longer URI is read again at its length.
const FIRST_TRY: usize = 1024;

/// The URI's bytes (`scheme://authority/path?query`), or none if the host would not give them.
pub(crate) fn read(request: &RequestHandle) -> Vec<u8> {
    let mut uri = Vec::new();
    let mut wanted = FIRST_TRY;
    for _ in 0..2 {
        uri = Vec::with_capacity(wanted);
        let mut written = 0;
        // SAFETY: the host writes at most `uri.capacity()` bytes into `uri`'s buffer and says how
        // many in `written`, which is checked against the capacity before the length is set.
        #[allow(unsafe_code)]
        let status = unsafe {
            fastly_sys::fastly_http_req::uri_get(request.as_u32(), uri.as_mut_ptr(), uri.capacity(), &mut written)
        };
        match status {
            FastlyStatus::OK if written <= uri.capacity() => {
                // SAFETY: the host initialized the first `written` bytes, within the capacity.
                #[allow(unsafe_code)]
                unsafe {
                    uri.set_len(written)
                };
                return uri;
            }
            FastlyStatus::BUFLEN if written > wanted => wanted = written,
            _ => break,
        }
    }
    uri.clear();
    uri
}
