//! The policy file's JSON (RFC 8259), read as written: object members stay in file order with
//! their offsets, and a key given twice stays twice, so the reader can refuse what a person and a
//! parser would read differently. Numbers are kept only as whole numbers, the one kind a policy has.

use alloc::{format, string::String, vec::Vec};

/// Nesting deeper than this is refused: a policy is four levels deep, and the reader recurses.
const MAX_DEPTH: usize = 64;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// The number if it is whole and fits an `i64` (`7200`, `7200.0`, `7.2e3`), else `None`.
    Number(Option<i64>),
    String(String),
    Array(Vec<Value>),
    Object(Vec<Member>),
}

/// One `"key": value` of an object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Member {
    pub key: String,
    /// Where the key's opening quote is, in bytes from the start of the text.
    pub offset: usize,
    /// Just past the value's last byte.
    pub end: usize,
    pub value: Value,
}

/// Why a text is not JSON, and where.
#[derive(Debug, PartialEq)]
pub(crate) struct Error {
    pub message: &'static str,
    pub offset: usize,
}

/// Parses one JSON text.
pub(crate) fn parse(text: &str) -> Result<Value, Error> {
    Reader { bytes: text.as_bytes(), at: 0, spans: () }.whole()
}

/// Parses one JSON text, and gives where each of its values is written: `(start, end)` in bytes,
/// one per value in the order they start (a value before the values inside it). For tools: an
/// edge's parse records nothing.
pub(crate) fn parse_with_spans(text: &str) -> Result<(Value, Vec<(usize, usize)>), Error> {
    let mut reader = Reader { bytes: text.as_bytes(), at: 0, spans: Vec::new() };
    let value = reader.whole()?;
    Ok((value, reader.spans))
}

/// What a reader records of where values are written: nothing (`()`, an edge's parse), or each
/// value's `(start, end)` in the order they start.
trait Spans {
    fn record(&mut self, index: usize, start: usize, end: usize);
    fn count(&self) -> usize;
}

impl Spans for () {
    fn record(&mut self, _: usize, _: usize, _: usize) {}
    fn count(&self) -> usize {
        0
    }
}

impl Spans for Vec<(usize, usize)> {
    /// Where it starts, before the values inside it (recorded when they ended).
    fn record(&mut self, index: usize, start: usize, end: usize) {
        self.insert(index, (start, end));
    }
    fn count(&self) -> usize {
        self.len()
    }
}

/// Reads a text, recording where values are written in `spans`.
struct Reader<'a, S: Spans> {
    bytes: &'a [u8],
    at: usize,
    spans: S,
}

impl<S: Spans> Reader<'_, S> {
    /// The text's one value, and nothing after it.
    fn whole(&mut self) -> Result<Value, Error> {
        let value = self.value(0)?;
        self.space();
        match self.peek() {
            None => Ok(value),
            Some(_) => Err(self.error("trailing characters")),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn error(&self, message: &'static str) -> Error {
        Error { message, offset: self.at }
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// The value at the reader's position (after space), its span recorded.
    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        self.space();
        let (index, start) = (self.spans.count(), self.at);
        let value = self.bare_value(depth)?;
        self.spans.record(index, start, self.at);
        Ok(value)
    }

    fn bare_value(&mut self, depth: usize) -> Result<Value, Error> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(_) => Err(self.error("expected value")),
            None => Err(self.error("EOF while parsing a value")),
        }
    }

    fn word(&mut self, word: &str, value: Value) -> Result<Value, Error> {
        if self.bytes.get(self.at..self.at + word.len()) == Some(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("expected value"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, Error> {
        self.at += 1;
        let mut members = Vec::new();
        self.space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.space();
            if self.peek() != Some(b'"') {
                let trailing = self.peek() == Some(b'}') && !members.is_empty();
                return Err(self.error(if trailing { "trailing comma" } else { "key must be a string" }));
            }
            let offset = self.at;
            let key = self.string()?;
            self.space();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.at += 1;
            let value = self.value(depth + 1)?;
            members.push(Member { key, offset, end: self.at, value });
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(members));
                }
                Some(_) => return Err(self.error("expected `,` or `}`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, Error> {
        self.at += 1;
        let mut items = Vec::new();
        self.space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.space();
            if self.peek() == Some(b']') {
                return Err(self.error("trailing comma"));
            }
            items.push(self.value(depth + 1)?);
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.error("EOF while parsing a list")),
            }
        }
    }

    /// A string, its escapes decoded: `"\u006frigins"` is `origins`.
    fn string(&mut self) -> Result<String, Error> {
        self.at += 1;
        let mut text = Vec::new();
        loop {
            let start = self.at;
            while self.peek().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            text.extend_from_slice(self.bytes.get(start..self.at).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    // Whole UTF-8 sequences were copied from a `str` and escapes push whole
                    // characters, so this cannot fail; an error is still not a panic.
                    return String::from_utf8(text).map_err(|_| self.error("invalid UTF-8"));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    self.at += 1;
                    let mut buffer = [0; 4];
                    text.extend_from_slice(escaped.encode_utf8(&mut buffer).as_bytes());
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("EOF while parsing a string")),
            }
        }
    }

    /// `\uXXXX` (the reader is on the `u`), with a surrogate pair's second half; leaves the reader
    /// on the last hex digit.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let first = self.hex4()?;
        let code = match first {
            0xd800..=0xdbff => {
                if self.bytes.get(self.at + 1..self.at + 3) != Some(b"\\u") {
                    return Err(self.error("lone surrogate in an escape"));
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&second) {
                    return Err(self.error("lone surrogate in an escape"));
                }
                0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
            }
            0xdc00..=0xdfff => return Err(self.error("lone surrogate in an escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid escape"))
    }

    /// Four hex digits after the reader's position; leaves the reader on the last.
    fn hex4(&mut self) -> Result<u32, Error> {
        let mut code = 0;
        for _ in 0..4 {
            self.at += 1;
            let digit = self.peek().and_then(|b| char::from(b).to_digit(16));
            code = code * 16 + digit.ok_or_else(|| self.error("invalid escape"))?;
        }
        Ok(code)
    }

    /// `-? int frac? exp?`, kept as a whole number if it is one.
    fn number(&mut self) -> Result<Value, Error> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let digits = |reader: &mut Self| {
            let start = reader.at;
            while reader.peek().is_some_and(|b| b.is_ascii_digit()) {
                reader.at += 1;
            }
            reader.bytes.get(start..reader.at).unwrap_or_default()
        };
        let whole = digits(self);
        if whole.is_empty() || (whole.len() > 1 && whole.first() == Some(&b'0')) {
            return Err(self.error("invalid number"));
        }
        let mut fraction: &[u8] = &[];
        if self.peek() == Some(b'.') {
            self.at += 1;
            fraction = digits(self);
            if fraction.is_empty() {
                return Err(self.error("invalid number"));
            }
        }
        let mut exponent: i64 = 0;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            let sign = match self.peek() {
                Some(b'-') => -1,
                Some(b'+') => 1,
                _ => 0,
            };
            if sign != 0 {
                self.at += 1;
            }
            let written = digits(self);
            if written.is_empty() {
                return Err(self.error("invalid number"));
            }
            // A huge exponent makes no whole i64 but zero, which the digits settle: saturating is exact enough.
            let magnitude = written.iter().fold(0i64, |n, d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')));
            exponent = if sign < 0 { -magnitude } else { magnitude };
        }
        Ok(Value::Number(whole_number(negative, whole, fraction, exponent)))
    }
}

/// The value of `±whole.fraction × 10^exponent` if it is a whole number that fits an `i64`.
fn whole_number(negative: bool, whole: &[u8], fraction: &[u8], exponent: i64) -> Option<i64> {
    let digits: Vec<u8> = whole.iter().chain(fraction).copied().collect();
    let significant = digits.iter().position(|&d| d != b'0');
    let Some(first) = significant else { return Some(0) };
    let digits = digits.get(first..)?;
    // The digits' last place: 10^shift.
    let shift = exponent.checked_sub(i64::try_from(fraction.len()).ok()?)?;
    let (kept, zeros) = if shift >= 0 {
        (digits, usize::try_from(shift).ok()?)
    } else {
        let cut = digits.len().checked_sub(usize::try_from(shift.checked_neg()?).ok()?)?;
        let (kept, dropped) = digits.split_at(cut);
        if dropped.iter().any(|&d| d != b'0') {
            return None;
        }
        (kept, 0)
    };
    if zeros > 19 {
        return None;
    }
    let mut value: i64 = 0;
    for &digit in kept.iter().chain(core::iter::repeat_n(&b'0', zeros)) {
        value = value.checked_mul(10)?.checked_add(i64::from(digit - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

/// How [`write`] lays a text out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Two spaces per level, lists of plain values on one line: for people.
    Indented,
    /// One line, no spaces: for a store with a size limit.
    Compact,
}

/// Writes a value as JSON text in its own member order, ASCII only (other characters as `\u`
/// escapes, so the text embeds safely in YAML and TOML whatever it holds). A number is written
/// whole: a valid policy holds no other.
pub(crate) fn write(value: &Value, layout: Layout, depth: usize, out: &mut String) {
    let plain = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
    let (open, close, items): (char, char, Vec<(Option<&str>, &Value)>) = match value {
        Value::Null => return out.push_str("null"),
        Value::Bool(flag) => return out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => return out.push_str(&number.map_or_else(|| String::from("null"), |n| format!("{n}"))),
        Value::String(text) => return quote(text, out),
        Value::Array(items) => ('[', ']', items.iter().map(|item| (None, item)).collect()),
        Value::Object(members) => ('{', '}', members.iter().map(|m| (Some(m.key.as_str()), &m.value)).collect()),
    };
    let one_line =
        layout == Layout::Compact || items.is_empty() || matches!(value, Value::Array(list) if list.iter().all(plain));
    let separator = match layout {
        Layout::Compact => ",",
        Layout::Indented => ", ",
    };
    out.push(open);
    for (index, (key, item)) in items.into_iter().enumerate() {
        if one_line {
            out.push_str(if index == 0 { "" } else { separator });
        } else {
            out.push_str(if index == 0 { "\n" } else { ",\n" });
            out.push_str(&"  ".repeat(depth + 1));
        }
        if let Some(key) = key {
            quote(key, out);
            out.push_str(if layout == Layout::Compact { ":" } else { ": " });
        }
        write(item, layout, depth + 1, out);
    }
    if !one_line {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push(close);
}

/// A string as a JSON string literal, ASCII only.
fn quote(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            _ => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Option<i64> {
        match parse(text) {
            Ok(Value::Number(n)) => n,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn whole_numbers_in_any_spelling() {
        assert_eq!(number("7200"), Some(7200));
        assert_eq!(number("7200.0"), Some(7200));
        assert_eq!(number("7.2e3"), Some(7200));
        assert_eq!(number("72E+2"), Some(7200));
        assert_eq!(number("720000e-2"), Some(7200));
        assert_eq!(number("-0"), Some(0));
        assert_eq!(number("0.0e-99999999999999999999"), Some(0));
        assert_eq!(number("1.0e-99999999999999999999"), None);
        assert_eq!(number("0.1e-9223372036854775807"), None);
        assert_eq!(number("1e99999999999999999999"), None);
        assert_eq!(number("-5"), Some(-5));
        assert_eq!(number("7200.5"), None);
        assert_eq!(number("1e400"), None);
        assert_eq!(number("99999999999999999999"), None);
        assert_eq!(number("9223372036854775807"), Some(i64::MAX));
    }

    #[test]
    fn members_keep_their_order_spelling_and_repeats() {
        let Ok(Value::Object(members)) = parse(r#"{"b": 1, "\u006frigins": [], "b": 2}"#) else { panic!() };
        let keys: Vec<&str> = members.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["b", "origins", "b"]);
        assert_eq!(members[2].offset, 29);
    }

    #[test]
    fn what_is_not_json_is_refused() {
        for text in [
            "",
            "{",
            "{\"a\":1,}",
            "[1,]",
            "{a:1}",
            "01",
            "1.",
            "-",
            "1e",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00x\"",
            "\"a\nb\"",
            "nul",
            "{} x",
            "\u{feff}{}",
            "[1 2]",
            "{\"a\" 1}",
            "+1",
            ".5",
            "NaN",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        assert!(parse(&"[".repeat(MAX_DEPTH + 2)).is_err_and(|e| e.message == "nested too deeply"));
        assert_eq!(parse("\"\\ud83d\\ude00\""), Ok(Value::String("😀".into())));
        assert!(matches!(parse(" {\"a\":[true,false,null]} "), Ok(Value::Object(m)) if m.len() == 1));
        let error = parse("{\n  \"origins\": [\"https://a.example.com\",]\n}").unwrap_err();
        assert_eq!(error.message, "trailing comma");
        assert_eq!(error.offset, 40);
    }

    #[test]
    fn written_text_keeps_the_order_and_reads_back_the_same() {
        let text = "{\"z\":1,\"origins\" : [\"https://a\",\"https://\u{e9}\\n\\\"\"],\"routes\":[{\"b\":[],\"a\":{}}],\"x\":[[1],7.2e3]}";
        let write_out = |value: &Value, layout| {
            let mut out = String::new();
            write(value, layout, 0, &mut out);
            out
        };
        let value = parse(text).unwrap();
        let written = |layout| write_out(&value, layout);
        assert_eq!(
            written(Layout::Indented),
            "{\n  \"z\": 1,\n  \"origins\": [\"https://a\", \"https://\\u00e9\\n\\\"\"],\n  \"routes\": [\n    {\n      \"b\": [],\n      \"a\": {}\n    }\n  ],\n  \"x\": [\n    [1],\n    7200\n  ]\n}"
        );
        assert_eq!(
            written(Layout::Compact),
            "{\"z\":1,\"origins\":[\"https://a\",\"https://\\u00e9\\n\\\"\"],\"routes\":[{\"b\":[],\"a\":{}}],\"x\":[[1],7200]}"
        );
        for layout in [Layout::Indented, Layout::Compact] {
            assert_eq!(write_out(&parse(&written(layout)).unwrap(), layout), written(layout), "read back the same");
        }
        let mut control = String::new();
        quote("\u{1}\u{1F600}", &mut control);
        assert_eq!(control, "\"\\u0001\\ud83d\\ude00\"");
    }
}
