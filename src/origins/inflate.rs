//! Raw DEFLATE (RFC 1951) decoding, for the public suffix table. A crate's inflater costs every
//! edge's `.wasm` about 11 KB; the table is the only compressed data the engine reads, so this
//! small decoder is enough: canonical Huffman codes as zlib's `puff` decodes them, with a lookup
//! table for the short codes (nearly every symbol), which makes a policy with wildcards load 5x
//! faster than decoding bit by bit.
//! Malformed input gives `None`, never a panic.

use alloc::vec::Vec;

const MAX_BITS: usize = 15;
/// Codes up to this long are decoded with one table lookup.
const FAST_BITS: u32 = 9;
const LENGTH_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/// The order in which a dynamic block lists the code lengths of its code-length code.
const CODE_LENGTH_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// Inflates raw DEFLATE data.
pub(crate) fn inflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut bits = Bits { data, at: 0, buffer: 0, count: 0 };
    let mut out = Vec::with_capacity(data.len() * 3); // about what the table inflates to
    loop {
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => bits.stored(&mut out)?,
            1 => {
                let mut lengths = [0u8; 320];
                for (symbol, length) in lengths.iter_mut().enumerate() {
                    *length = match symbol {
                        0..=143 => 8,
                        144..=255 => 9,
                        256..=279 => 7,
                        280..=287 => 8,
                        _ => 5, // the 30 distance codes, after the 288 literal/length codes
                    };
                }
                let (literals, distances) = lengths.split_at(288);
                bits.codes(&Huffman::new(literals)?, &Huffman::new(distances)?, &mut out)?;
            }
            2 => {
                let (literals, distances) = bits.dynamic()?;
                bits.codes(&literals, &distances, &mut out)?;
            }
            _ => return None,
        }
        if last {
            return Some(out);
        }
    }
}

/// A canonical Huffman code: how many codes have each length, the symbols in code order, and for
/// each `FAST_BITS` bits of input that start with a short code, its symbol and length
/// (`symbol << 4 | length`; 0 when the code is longer).
struct Huffman {
    counts: [u16; MAX_BITS + 1],
    symbols: Vec<u16>,
    fast: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Option<Self> {
        let mut counts = [0u16; MAX_BITS + 1];
        for &length in lengths {
            *counts.get_mut(usize::from(length))? += 1;
        }
        let mut offsets = [0u16; MAX_BITS + 2];
        for length in 1..=MAX_BITS {
            let next = offsets.get(length)?.checked_add(*counts.get(length)?)?;
            *offsets.get_mut(length + 1)? = next;
        }
        let mut symbols = alloc::vec![0u16; lengths.len()];
        for (symbol, &length) in lengths.iter().enumerate().filter(|(_, l)| **l != 0) {
            let slot = offsets.get_mut(usize::from(length))?;
            *symbols.get_mut(usize::from(*slot))? = u16::try_from(symbol).ok()?;
            *slot += 1;
        }
        // The canonical codes: each length's first code, then one more per symbol in order.
        let mut next = [0u32; MAX_BITS + 2];
        let mut code = 0u32;
        for length in 1..=MAX_BITS {
            code = (code + u32::from(*counts.get(length - 1)?)) << 1;
            *next.get_mut(length)? = code;
        }
        let mut fast = alloc::vec![0u16; 1 << FAST_BITS];
        for (symbol, &length) in lengths.iter().enumerate().filter(|(_, l)| **l != 0) {
            let slot = next.get_mut(usize::from(length))?;
            let (length, code) = (u32::from(length), *slot);
            *slot += 1;
            if length > FAST_BITS {
                continue;
            }
            // The stream holds a code's first bit lowest: every input starting with it decodes to it.
            let reversed = code.reverse_bits() >> (32 - length);
            let entry = u16::try_from(symbol).ok()? << 4 | u16::try_from(length).ok()?;
            for high in 0..1u32 << (FAST_BITS - length) {
                *fast.get_mut(usize::try_from(reversed | high << length).ok()?)? = entry;
            }
        }
        Some(Huffman { counts, symbols, fast })
    }
}

struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    buffer: u32,
    count: u32,
}

impl Bits<'_> {
    /// The next `n` bits (at most 16), least significant first.
    fn take(&mut self, n: u32) -> Option<u32> {
        while self.count < n {
            let byte = *self.data.get(self.at)?;
            self.at += 1;
            self.buffer |= u32::from(byte) << self.count;
            self.count += 8;
        }
        let value = self.buffer & ((1 << n) - 1);
        self.buffer >>= n;
        self.count -= n;
        Some(value)
    }

    /// One symbol of a Huffman code: a short code by table, a long one (or one at the very end of
    /// the input) a bit at a time.
    fn decode(&mut self, code: &Huffman) -> Option<u16> {
        while self.count < FAST_BITS {
            let Some(&byte) = self.data.get(self.at) else { break };
            self.at += 1;
            self.buffer |= u32::from(byte) << self.count;
            self.count += 8;
        }
        if self.count >= FAST_BITS {
            let entry = *code.fast.get(usize::try_from(self.buffer & ((1 << FAST_BITS) - 1)).ok()?)?;
            let length = u32::from(entry & 0xf);
            if length != 0 {
                self.buffer >>= length;
                self.count -= length;
                return Some(entry >> 4);
            }
        }
        let (mut value, mut first, mut index) = (0i32, 0i32, 0i32);
        for length in 1..=MAX_BITS {
            value |= i32::try_from(self.take(1)?).ok()?;
            let count = i32::from(*code.counts.get(length)?);
            if value - first < count {
                return code.symbols.get(usize::try_from(index + value - first).ok()?).copied();
            }
            index += count;
            first = (first + count) << 1;
            value <<= 1;
        }
        None
    }

    fn stored(&mut self, out: &mut Vec<u8>) -> Option<()> {
        (self.buffer, self.count) = (0, 0); // to a byte boundary
        let header = self.data.get(self.at..self.at + 4)?;
        let (length, complement) = (
            u16::from_le_bytes([*header.first()?, *header.get(1)?]),
            u16::from_le_bytes([*header.get(2)?, *header.get(3)?]),
        );
        if length != !complement {
            return None;
        }
        let start = self.at + 4;
        out.extend_from_slice(self.data.get(start..start + usize::from(length))?);
        self.at = start + usize::from(length);
        Some(())
    }

    /// A dynamic block's literal/length and distance codes.
    fn dynamic(&mut self) -> Option<(Huffman, Huffman)> {
        let literals = usize::try_from(self.take(5)?).ok()? + 257;
        let distances = usize::try_from(self.take(5)?).ok()? + 1;
        let listed = usize::try_from(self.take(4)?).ok()? + 4;
        let mut code_lengths = [0u8; 19];
        for &symbol in CODE_LENGTH_ORDER.get(..listed)? {
            *code_lengths.get_mut(symbol)? = u8::try_from(self.take(3)?).ok()?;
        }
        let code_length_code = Huffman::new(&code_lengths)?;
        let mut lengths = Vec::with_capacity(literals + distances);
        while lengths.len() < literals + distances {
            let (value, repeat) = match self.decode(&code_length_code)? {
                symbol @ 0..=15 => (u8::try_from(symbol).ok()?, 1),
                16 => (*lengths.last()?, 3 + self.take(2)?),
                17 => (0, 3 + self.take(3)?),
                18 => (0, 11 + self.take(7)?),
                _ => return None,
            };
            for _ in 0..repeat {
                lengths.push(value);
            }
        }
        if lengths.len() != literals + distances {
            return None;
        }
        let (literal_lengths, distance_lengths) = lengths.split_at(literals);
        Some((Huffman::new(literal_lengths)?, Huffman::new(distance_lengths)?))
    }

    /// A block's symbols, until its end-of-block code.
    fn codes(&mut self, literals: &Huffman, distances: &Huffman, out: &mut Vec<u8>) -> Option<()> {
        loop {
            let symbol = usize::from(self.decode(literals)?);
            match symbol {
                0..=255 => out.push(u8::try_from(symbol).ok()?),
                256 => return Some(()),
                _ => {
                    let index = symbol - 257;
                    let length = usize::from(*LENGTH_BASE.get(index)?)
                        + usize::try_from(self.take(u32::from(*LENGTH_EXTRA.get(index)?))?).ok()?;
                    let index = usize::from(self.decode(distances)?);
                    let distance = usize::from(*DISTANCE_BASE.get(index)?)
                        + usize::try_from(self.take(u32::from(*DISTANCE_EXTRA.get(index)?))?).ok()?;
                    let start = out.len().checked_sub(distance)?;
                    if distance >= length {
                        out.extend_from_within(start..start + length);
                    } else {
                        // The copy overlaps what it writes (a run): byte by byte.
                        for at in start..start + length {
                            out.push(*out.get(at)?);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_fixed_and_dynamic_blocks_inflate_and_garbage_does_not() {
        // "hello hello hello" as a fixed-Huffman block, and as a stored block (Python's zlib).
        let fixed = [0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00];
        assert_eq!(inflate(&fixed).as_deref(), Some(&b"hello hello hello"[..]));
        let stored = [0x01, 0x05, 0x00, 0xfa, 0xff, b'h', b'e', b'l', b'l', b'o'];
        assert_eq!(inflate(&stored).as_deref(), Some(&b"hello"[..]));
        // The public suffix table's chunks are dynamic blocks (checked against their generator in
        // tests/public_suffixes.rs); the first one follows the index (src/public_suffix.rs).
        let table = include_bytes!("public_suffix.deflate");
        let start = 1 + 3 * usize::from(table[0]);
        let first = &table[start..start + usize::from(u16::from_le_bytes([table[2], table[3]]))];
        assert!(inflate(first).is_some_and(|t| t.starts_with(b"ac!(") && t.len() > 1_000));
        for garbage in [&[][..], &[0xff; 8], &[0x07], &fixed[..5], &[0x01, 0x05, 0x00, 0xfa, 0xfe]] {
            assert_eq!(inflate(garbage), None, "{garbage:?}");
        }
    }
}
