//! The answer: the decision, why a request was refused (and its log line), the response edits an
//! edge applies, the metric series, and the trace tools explain a decision with.

pub(crate) mod decision;
pub(crate) mod denial;
pub(crate) mod denial_line;
pub(crate) mod header_lines;
pub(crate) mod response;
pub(crate) mod series;
pub(crate) mod trace;
