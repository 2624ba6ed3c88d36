//! A header map read from Envoy in one host call and kept as Envoy serialized it.
//!
//! The SDK's `get_map_bytes` copies every name and value into allocations of their own (two per
//! header, and a `String` check of each name); measured in Envoy, that copying costs as much as
//! the host call itself (BENCHMARKS.md, "Envoy"). Here the map stays one buffer, scanned in place.

use proxy_wasm::types::{MapType, Status};

/// Envoy's header map, serialized: a `u32` count, then a (name length, value length) pair of `u32`
/// per header, then each name and value followed by a NUL byte. Little-endian, as Wasm is.
pub(crate) struct HeaderMap {
    bytes: Vec<u8>,
}

impl HeaderMap {
    /// Reads the whole map; an empty one if the host has none to give.
    pub(crate) fn read(map: MapType) -> Self {
        HeaderMap { bytes: host::header_map_pairs(map).unwrap_or_default() }
    }

    /// Every header line in order, as (lowercase name, value). A buffer that does not follow the
    /// format ends the iteration where it stops making sense: never a panic.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let count = word(&self.bytes, 0).unwrap_or(0);
        let lengths_end = count.checked_mul(8).and_then(|n| n.checked_add(4)).unwrap_or(usize::MAX);
        let mut data = self.bytes.get(lengths_end..).unwrap_or_default();
        let mut lengths = self.bytes.get(4..lengths_end).unwrap_or_default().chunks_exact(8);
        core::iter::from_fn(move || {
            let pair = lengths.next()?;
            let (name, rest) = field(data, word(pair, 0)?)?;
            let (value, rest) = field(rest, word(pair, 4)?)?;
            data = rest;
            Some((name, value))
        })
    }

    /// The values of every line named `name`, in order.
    pub(crate) fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, value)| value)
    }
}

/// The little-endian `u32` at `at`, as a length.
fn word(bytes: &[u8], at: usize) -> Option<usize> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    let word: [u8; 4] = word.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(word)).ok()
}

/// A field of `len` bytes and its NUL terminator at the start of `data`, and what follows.
fn field(data: &[u8], len: usize) -> Option<(&[u8], &[u8])> {
    let value = data.get(..len)?;
    let rest = data.get(len.checked_add(1)?..)?;
    Some((value, rest))
}

/// The one host call made without the SDK's wrapper.
#[allow(unsafe_code)]
mod host {
    use super::{MapType, Status};

    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        fn proxy_get_header_map_pairs(map: MapType, data: *mut *mut u8, size: *mut usize) -> Status;
    }

    /// The serialized map, or `None` if the host refuses (no such map in this callback).
    pub(super) fn header_map_pairs(map: MapType) -> Option<Vec<u8>> {
        let mut data = core::ptr::null_mut();
        let mut size = 0;
        // SAFETY: the host writes a pointer and a size to the two locations it is given. A non-null
        // pointer is a buffer of exactly `size` bytes that the host obtained, during this call,
        // from the SDK's `proxy_on_memory_allocate` (a boxed slice of `size` bytes from this
        // module's global allocator) and filled; it now belongs to the caller. Taking it as a
        // `Vec` of length and capacity `size` is what the SDK's own `get_map_bytes` does with it.
        unsafe {
            match proxy_get_header_map_pairs(map, &mut data, &mut size) {
                Status::Ok if !data.is_null() => Some(Vec::from_raw_parts(data, size, size)),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HeaderMap;

    fn serialize(pairs: &[(&str, &[u8])]) -> Vec<u8> {
        let mut bytes = u32::try_from(pairs.len()).unwrap_or(0).to_le_bytes().to_vec();
        for (name, value) in pairs {
            for len in [name.len(), value.len()] {
                bytes.extend(u32::try_from(len).unwrap_or(0).to_le_bytes());
            }
        }
        for (name, value) in pairs {
            bytes.extend(name.as_bytes());
            bytes.push(0);
            bytes.extend(*value);
            bytes.push(0);
        }
        bytes
    }

    #[test]
    fn reads_every_line_in_order_with_bytes_kept_as_they_are() {
        let pairs: &[(&str, &[u8])] =
            &[(":method", b"GET"), ("origin", b"https://a.example"), ("x-empty", b""), ("origin", b"\xff\x00z")];
        let map = HeaderMap { bytes: serialize(pairs) };
        assert_eq!(map.iter().collect::<Vec<_>>(), pairs.iter().map(|(n, v)| (n.as_bytes(), *v)).collect::<Vec<_>>());
        assert_eq!(map.values("origin").collect::<Vec<_>>(), [&b"https://a.example"[..], b"\xff\x00z"]);
        assert_eq!(map.values("vary").count(), 0);
    }

    #[test]
    fn a_buffer_out_of_format_ends_the_iteration_without_panicking() {
        let whole = serialize(&[("vary", b"Origin"), ("origin", b"https://a.example")]);
        for cut in 0..whole.len() {
            let map = HeaderMap { bytes: whole.get(..cut).unwrap_or_default().to_vec() };
            assert!(map.iter().count() < 2, "cut at {cut}");
        }
        let mut huge_count = whole.clone();
        huge_count.splice(..4, u32::MAX.to_le_bytes());
        assert_eq!(HeaderMap { bytes: huge_count }.iter().count(), 0);
        let mut huge_length = whole;
        huge_length.splice(4..8, u32::MAX.to_le_bytes());
        assert_eq!(HeaderMap { bytes: huge_length }.iter().count(), 0);
    }
}
