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
    let mut reader = Reader { bytes: text.as_bytes(), at: 0 };
    let value = reader.value(0)?;
    reader.space();
    match reader.peek() {
        None => Ok(value),
        Some(_) => Err(reader.error("trailing characters")),
    }
}

/// Where each line of a text starts, to turn byte offsets into lines and columns without
/// rescanning the text for each.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let breaks = text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(at, _)| at + 1);
        Lines { text, starts: core::iter::once(0).chain(breaks).collect() }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn locate(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or_default();
        let column = self.text.get(start..offset).map_or(0, |before| before.chars().count());
        (line, column + 1)
    }
}

/// Where an error sits, for a message: ` at line L column C`.
pub(crate) fn describe(text: &str, error: &Error) -> String {
    let (line, column) = Lines::new(text).locate(error.offset);
    format!("{} at line {line} column {column}", error.message)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
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

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.space();
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
        assert_eq!(Lines::new("{\n  \"origins\": [\"https://a.example.com\",]\n}").locate(error.offset), (2, 39));
        assert_eq!(Lines::new("ab\ncé\nd").locate(7), (3, 1));
        assert_eq!(Lines::new("ab\ncé\nd").locate(6), (2, 3));
    }
}
