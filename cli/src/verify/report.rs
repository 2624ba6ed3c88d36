//! The report: `--format json`'s shape, and the table a person reads.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The report, as `--format json` prints it.
#[derive(Serialize)]
pub(super) struct Report {
    pub(super) policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) environment: Option<String>,
    pub(super) edges: Vec<EdgeName>,
    pub(super) cases: Vec<CaseReport>,
    pub(super) disagreements: usize,
}

#[derive(Serialize)]
pub(super) struct EdgeName {
    pub(super) name: String,
    pub(super) url: String,
}

#[derive(Serialize)]
pub(super) struct CaseReport {
    pub(super) case: String,
    pub(super) request: Sent,
    /// `allowed`, `blocked`, or `upstream` (the policy leaves it to the upstream).
    pub(super) policy: &'static str,
    /// The policy's answer: its status (when the edge answers itself) and headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) expected: Option<Answer>,
    pub(super) answers: Vec<EdgeAnswer>,
}

#[derive(Serialize)]
pub(super) struct Sent {
    pub(super) method: &'static str,
    pub(super) path: String,
    pub(super) headers: Vec<(String, String)>,
}

#[derive(Serialize)]
pub(super) struct Answer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) status: Option<u16>,
    pub(super) headers: BTreeMap<String, String>,
    pub(super) vary: BTreeSet<String>,
}

#[derive(Serialize)]
pub(super) struct EdgeAnswer {
    pub(super) edge: String,
    /// What a browser does with the policy's answer to this edge (its Host may choose the route).
    pub(super) policy: &'static str,
    /// None when the edge did not answer (the reason is in `differences`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) answer: Option<Answer>,
    pub(super) browser: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) failure: Option<&'static str>,
    pub(super) agrees: bool,
    pub(super) differences: Vec<String>,
}

impl Report {
    pub(super) fn human(&self) -> String {
        let environment = self.environment.as_ref().map(|e| format!(", environment {e}")).unwrap_or_default();
        let mut out = format!(
            "Verify     {}{environment}: {} cases, each sent to {} edge{}\n",
            self.policy,
            self.cases.len(),
            self.edges.len(),
            if self.edges.len() == 1 { "" } else { "s" }
        );
        let named = self.edges.iter().map(|e| e.name.chars().count()).max().unwrap_or_default();
        for edge in &self.edges {
            out.push_str(&format!("           {:<named$}  {}\n", edge.name, edge.url));
        }
        let width = self.cases.iter().map(|c| c.case.chars().count()).max().unwrap_or(4).max(4);
        let cell = named.max("blocked ✗".chars().count());
        out.push_str(&format!("\n{:<width$}  policy  ", "case"));
        for edge in &self.edges {
            out.push_str(&format!(" {:<cell$}", edge.name));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        for case in &self.cases {
            out.push_str(&format!("{:<width$}  {:<8}", case.case, case.policy));
            for answer in &case.answers {
                let verdict =
                    if answer.agrees { answer.browser.to_string() } else { format!("{} ✗", answer.browser) };
                out.push_str(&format!(" {verdict:<cell$}"));
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
        }
        for case in self.cases.iter().filter(|c| c.answers.iter().any(|a| !a.agrees)) {
            out.push_str(&format!("\nDisagrees  {}\n", case.case));
            out.push_str(&format!("           > {} {}\n", case.request.method, case.request.path));
            for (name, value) in &case.request.headers {
                out.push_str(&format!("           > {name}: {value}\n"));
            }
            if let Some(expected) = &case.expected {
                out.push_str(&format!("           policy: {}{}\n", case.policy, answer_line(expected)));
            }
            for answer in case.answers.iter().filter(|a| !a.agrees) {
                let shown = answer.answer.as_ref().map(answer_line).unwrap_or_default();
                out.push_str(&format!("           {}: {} in a browser{shown}\n", answer.edge, answer.browser));
                for difference in &answer.differences {
                    out.push_str(&format!("             - {difference}\n"));
                }
            }
        }
        let answers = self.cases.len() * self.edges.len();
        out.push('\n');
        if self.disagreements == 0 {
            out.push_str(&format!("Result     every edge enforces the policy: {answers} answers, none disagrees\n"));
        } else {
            out.push_str(&format!(
                "Result     DISAGREEMENT: {} of {answers} answers differ from the policy or from another edge\n",
                self.disagreements
            ));
        }
        out
    }
}

fn answer_line(answer: &Answer) -> String {
    let status = answer.status.map(|s| format!("{s}, ")).unwrap_or_default();
    let headers: Vec<String> = answer.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    let vary: Vec<&str> = answer.vary.iter().map(String::as_str).collect();
    let headers = if headers.is_empty() { "no CORS headers".to_string() } else { headers.join("; ") };
    let vary = if vary.is_empty() { "-".to_string() } else { vary.join(", ") };
    format!(" ({status}{headers}; vary: {vary})")
}
