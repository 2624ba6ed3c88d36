//! A denial as one JSON log line, the same on every edge, so that one search finds it wherever it
//! was logged: what a team watches before it moves a policy from `report-only` to `enforce`.

use crate::answer::decision::{Decision, Enforcement};
use crate::answer::denial::Denial;
use core::fmt::{self, Write};

/// How much of a client's value (its `Origin`, a request id) a line shows.
const SHOWN: usize = 128;

impl Decision<'_> {
    /// The line an edge logs for a denial (also in `report-only` mode, where it is all that
    /// happens), or `None` when nothing was denied:
    ///
    /// `{"corsguard":"denial","kind":"preflight","reason":"header-not-allowed","header":"x-foo",
    /// "mode":"enforce","route":"routes[1]","origin":"https://evil.example","request_id":"..."}`
    ///
    /// `header` only for `header-not-allowed`; `route` is the JSON path of the level that decided
    /// (`""`: the top level); `origin` is the request's as the decision read it (`null` when it had
    /// none), `request_id` the host's id of the request, left out when the host gives none. Both are
    /// the client's bytes: control characters are dropped, bytes beyond ASCII written as `\u00XX`,
    /// and each is cut at 128 bytes (then `"origin_cut":true` or `"request_id_cut":true`).
    pub fn denial_line<'d>(&'d self, origin: Option<&'d [u8]>, request_id: Option<&'d [u8]>) -> Option<DenialLine<'d>> {
        let denial = self.denial.as_ref()?;
        Some(DenialLine { decision: self, denial, origin, request_id })
    }
}

/// A denial as one JSON log line ([`Decision::denial_line`]).
pub struct DenialLine<'d> {
    decision: &'d Decision<'d>,
    denial: &'d Denial<'d>,
    origin: Option<&'d [u8]>,
    request_id: Option<&'d [u8]>,
}

impl fmt::Display for DenialLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            r#"{{"corsguard":"denial","kind":"{}","reason":"{}""#,
            self.decision.kind.as_str(),
            self.denial.code()
        )?;
        if let Denial::HeaderNotAllowed(name) = self.denial {
            f.write_str(r#","header":"#)?;
            client_text(f, name.as_bytes())?;
        }
        let mode = if self.decision.enforcement == Enforcement::ReportOnly { "report-only" } else { "enforce" };
        write!(f, r#","mode":"{mode}","route":"{}","origin":"#, self.decision.route)?;
        match self.origin {
            None => f.write_str("null")?,
            Some(origin) if client_text(f, origin)? => f.write_str(r#","origin_cut":true"#)?,
            Some(_) => {}
        }
        if let Some(id) = self.request_id {
            f.write_str(r#","request_id":"#)?;
            if client_text(f, id)? {
                f.write_str(r#","request_id_cut":true"#)?;
            }
        }
        f.write_char('}')
    }
}

/// Writes a client's bytes as a JSON string, its first [`SHOWN`] bytes with control characters
/// dropped; whether it was cut.
fn client_text(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> Result<bool, fmt::Error> {
    let shown = bytes.get(..SHOWN).unwrap_or(bytes);
    f.write_char('"')?;
    for &byte in shown {
        match byte {
            b'"' | b'\\' => write!(f, "\\{}", char::from(byte))?,
            0x20..=0x7e => f.write_char(char::from(byte))?,
            0x00..=0x1f | 0x7f => {}
            _ => write!(f, "\\u00{byte:02x}")?,
        }
    }
    f.write_char('"')?;
    Ok(shown.len() < bytes.len())
}

#[cfg(test)]
mod tests {
    use crate::{Policy, Request};
    use alloc::format;
    use alloc::string::{String, ToString};

    fn line(policy: &Policy, request: &Request, id: Option<&[u8]>) -> Option<String> {
        policy.evaluate(request).denial_line(request.origin, id).map(|line| line.to_string())
    }

    #[test]
    fn a_denial_is_one_json_line_with_the_clients_text_made_safe() {
        let policy = Policy::parse(
            r#"{"origins": ["https://app.example.com"], "methods": ["PUT"],
                "routes": [{"path_prefix": "/admin/", "origins": ["https://admin.example.com"]}]}"#,
        )
        .unwrap();
        let preflight = |origin: &'static [u8], path: &'static [u8]| Request {
            method: b"OPTIONS",
            path,
            origin: Some(origin),
            request_method: Some(b"PUT"),
            ..Request::default()
        };
        assert_eq!(line(&policy, &preflight(b"https://app.example.com", b"/"), None), None);
        assert_eq!(
            line(&policy, &preflight(b"https://evil.example", b"/"), Some(b"req-1")).as_deref(),
            Some(
                r#"{"corsguard":"denial","kind":"preflight","reason":"origin-not-allowed","mode":"enforce","route":"","origin":"https://evil.example","request_id":"req-1"}"#
            )
        );
        assert_eq!(
            line(&policy, &preflight(b"https://app.example.com", b"/admin/x"), None).as_deref(),
            Some(
                r#"{"corsguard":"denial","kind":"preflight","reason":"origin-not-allowed","mode":"enforce","route":"routes[0]","origin":"https://app.example.com"}"#
            )
        );
        let hostile = line(&policy, &preflight(b"https://e\"vil\\.example\r\n\x7f\xff", b"/"), None).unwrap();
        assert!(hostile.contains(r#""reason":"malformed-request""#), "{hostile}");
        assert!(hostile.ends_with(r#""origin":"https://e\"vil\\.example\u00ff"}"#), "{hostile}");
        let long = [b'a'; 200];
        let cut = line(&policy, &Request { method: b"GET", origin: Some(&long), ..Request::default() }, None).unwrap();
        assert!(cut.ends_with(&format!(r#""origin":"{}","origin_cut":true}}"#, "a".repeat(128))), "{cut}");
        let header = Request { request_headers: Some(b"x-secret"), ..preflight(b"https://app.example.com", b"/") };
        assert!(
            line(&policy, &header, None).unwrap().contains(r#""reason":"header-not-allowed","header":"x-secret","#)
        );
        let report_only = Policy::parse(r#"{"origins": ["https://app.example.com"], "mode": "report-only"}"#).unwrap();
        let request = Request { method: b"GET", path: b"/", origin: None, ..Request::default() };
        assert_eq!(line(&report_only, &request, None), None, "no Origin, no denial");
        let request = Request { origin: Some(b"https://evil.example"), ..request };
        assert!(
            line(&report_only, &request, None)
                .unwrap()
                .contains(r#""kind":"actual","reason":"origin-not-allowed","mode":"report-only""#)
        );
    }

    #[test]
    fn every_line_is_json_whatever_the_bytes() {
        let policy = Policy::parse(r#"{"origins": ["https://app.example.com"]}"#).unwrap();
        for byte in 0..=255u8 {
            let origin = [b'h', byte, b'"', b'\\', byte];
            let request = Request { method: b"GET", origin: Some(&origin), ..Request::default() };
            let text = line(&policy, &request, Some(&origin)).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed["corsguard"], "denial");
            assert!(text.chars().all(|c| (' '..='~').contains(&c)), "{text}");
        }
    }
}
