//! Header lines as hosts hold them, and HTTP's way of combining repeated lines.

use crate::answer::response::ResponseHeaders;
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// Header lines in order, one `(name, value)` per line ([Fetch: header list]); names compare
/// without case, as HTTP's do, and the names the engine sets are lowercase. Values are text
/// (`String`) or bytes (`Vec<u8>`), as the host hands them over.
///
/// [Fetch: header list]: https://fetch.spec.whatwg.org/#concept-header-list
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderLines<V = String>(pub Vec<(String, V)>);

impl<V: AsRef<[u8]>> HeaderLines<V> {
    /// The values of the lines named `name`, in order.
    pub fn values<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s [u8]> {
        self.0.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_ref())
    }

    /// The lines named `name` as one value ([`join_lines`]), or `None` when there are none.
    pub fn get(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        join_lines(self.values(name))
    }
}

impl<V: AsRef<[u8]> + for<'v> From<&'v str>> ResponseHeaders for HeaderLines<V> {
    fn get_all(&self, name: &str) -> Option<String> {
        self.get(name).map(|value| String::from_utf8_lossy(&value).into_owned())
    }

    fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.0.push((name.to_ascii_lowercase(), V::from(value)));
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

/// Repeated lines of one header as HTTP combines them (`a, b`, RFC 9110 section 5.3), or `None`
/// when there are none. The engine judges the whole: two `Origin` lines are a malformed request,
/// never a choice of one. One line is borrowed, not copied.
#[must_use]
pub fn join_lines<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Option<Cow<'a, [u8]>> {
    let mut joined = None;
    for line in lines {
        join_line(&mut joined, line);
    }
    joined
}

/// Adds one more line to what [`join_lines`] has combined so far: for a host that finds the lines
/// of several headers in one pass over the request.
pub fn join_line<'a>(joined: &mut Option<Cow<'a, [u8]>>, line: &'a [u8]) {
    match joined {
        Some(joined) => {
            let joined = joined.to_mut();
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(line);
        }
        None => *joined = Some(Cow::Borrowed(line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn repeated_lines_join_with_a_comma_and_one_line_is_borrowed() {
        assert_eq!(join_lines([]), None);
        assert!(matches!(join_lines([&b"https://a.test"[..]]), Some(Cow::Borrowed(b"https://a.test"))));
        assert_eq!(join_lines([&b"a"[..], b"", b"c"]).as_deref(), Some(&b"a, , c"[..]));
    }

    #[test]
    fn names_compare_without_case_and_are_set_lowercase() {
        let mut lines: HeaderLines<Vec<u8>> =
            HeaderLines(vec![("Vary".into(), b"Accept".to_vec()), ("x-a".into(), b"1".to_vec())]);
        lines.0.push(("VARY".into(), b"Cookie".to_vec()));
        assert_eq!(lines.get_all("vary").as_deref(), Some("Accept, Cookie"));
        lines.set("Vary", "Origin");
        assert_eq!(lines.0, vec![("x-a".into(), b"1".to_vec()), ("vary".into(), b"Origin".to_vec())]);
        lines.remove("X-A");
        assert_eq!(lines.get("x-a"), None);
    }
}
