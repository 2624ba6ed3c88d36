//! The upstream's response headers, as the engine's edits see them.
//!
//! Each crossing into Envoy costs more than the CORS logic, so the response is read in one, and
//! each header the engine changes is then one: a header the upstream did not send is added (not
//! replaced), and not removed.
//! The lines are copied out (one buffer): Envoy lends them only until a header changes, and the
//! engine reads `Vary` after it has set others.

use crate::abi::Stream;
use core::ops::Range;
use corsguard::{ResponseHeaders, join_lines};

/// The response as Envoy sent it, and the way to change it in Envoy.
pub(crate) struct UpstreamResponse<'s> {
    stream: &'s mut Stream,
    /// Every name and value, one after another.
    bytes: Vec<u8>,
    /// Each line's name and value, as ranges of `bytes`.
    lines: Vec<(Range<usize>, Range<usize>)>,
}

impl<'s> UpstreamResponse<'s> {
    pub(crate) fn read(stream: &'s mut Stream) -> Self {
        let lent = stream.response_lines();
        let size = lent.iter().map(|(name, value)| name.len() + value.len()).sum();
        let (mut bytes, mut lines) = (Vec::with_capacity(size), Vec::with_capacity(lent.len()));
        for (name, value) in lent.iter() {
            let name_at = bytes.len()..bytes.len() + name.len();
            bytes.extend_from_slice(name);
            let value_at = bytes.len()..bytes.len() + value.len();
            bytes.extend_from_slice(value);
            lines.push((name_at, value_at));
        }
        UpstreamResponse { stream, bytes, lines }
    }

    /// The values of the lines named `name` (lowercase, as Envoy keeps names), in order.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.lines.iter().filter_map(move |(name_at, value_at)| {
            (self.bytes.get(name_at.clone()) == Some(name.as_bytes()))
                .then(|| self.bytes.get(value_at.clone()))
                .flatten()
        })
    }
}

impl ResponseHeaders for UpstreamResponse<'_> {
    fn get_all(&self, name: &str) -> Option<String> {
        join_lines(self.values(name)).map(|value| String::from_utf8_lossy(&value).into_owned())
    }

    fn set(&mut self, name: &str, value: &str) {
        if self.values(name).next().is_some() {
            self.stream.set_response_header(name, Some(value));
        } else {
            self.stream.add_response_header(name, value);
        }
    }

    fn remove(&mut self, name: &str) {
        if self.values(name).next().is_some() {
            self.stream.set_response_header(name, None);
        }
    }
}
