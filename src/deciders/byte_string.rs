//! Fetch's byte strings as JavaScript hands them over.
//!
//! Header values are bytes; JavaScript runtimes give them out as strings of one code point per byte
//! (Infra's "isomorphic decode"). Adapters for JavaScript hosts turn such a string back into the
//! bytes that were sent, so that the engine judges exactly those.

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// Infra's isomorphic encode: each code point below U+0100 is the byte of that value.
///
/// A string that is not a byte string (a code point above U+00FF, which only a caller of ours and
/// never a runtime's `Headers` can produce) is taken as UTF-8: its bytes are then not ASCII, and the
/// engine refuses them as any other non-ASCII value. ASCII, all a browser sends, is not copied.
#[must_use]
pub fn isomorphic_encode(text: &str) -> Cow<'_, [u8]> {
    if text.is_ascii() {
        return Cow::Borrowed(text.as_bytes());
    }
    let bytes: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
    bytes.map_or(Cow::Borrowed(text.as_bytes()), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::isomorphic_encode;

    #[test]
    fn byte_strings_keep_their_bytes_and_other_text_is_utf8() {
        assert_eq!(&*isomorphic_encode("https://app.example.com"), b"https://app.example.com");
        assert_eq!(&*isomorphic_encode("https://\u{ff}\u{e9}.test"), b"https://\xff\xe9.test");
        assert_eq!(&*isomorphic_encode("x-\u{e9}\u{20ac}"), "x-\u{e9}\u{20ac}".as_bytes());
        assert_eq!(&*isomorphic_encode(""), b"");
    }
}
