//! Log lines: one event each on the `corsguard` logging endpoint, else on stderr (which
//! `fastly log-tail` shows).

use std::io::Write;

/// The logging endpoint (configure one by this name in the service to keep the lines).
const ENDPOINT: &str = "corsguard";
/// How much of a hostile value a log line shows.
const SHOWN: usize = 128;

/// Writes one line as one event.
pub(crate) fn line(message: &str) {
    let written = fastly::log::Endpoint::try_from_name(ENDPOINT)
        .ok()
        .is_some_and(|mut endpoint| endpoint.write_all(message.as_bytes()).is_ok());
    if !written {
        eprintln!("{message}");
    }
}

/// Request bytes as a log line may show them: quoted, escaped, and cut at 128 bytes.
pub(crate) fn shown(bytes: &[u8]) -> String {
    let cut = bytes.get(..SHOWN).unwrap_or(bytes);
    let more = if cut.len() < bytes.len() { "..." } else { "" };
    format!("\"{}{more}\"", cut.escape_ascii())
}
