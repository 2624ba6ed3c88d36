//! `corsguard check`, and the reading every command starts from: the core's problems located in
//! the file, with the command's own warnings (methods an edge's server refuses before corsguard
//! runs, preflight caches the browsers keep shorter).

use crate::outcome::{Failure, Format, Outcome};
use crate::policy_file::{self, Checked, Located, PolicyFile};
use crate::{edge_methods, engines};
use corsguard::tools::PolicyView;

/// A policy file checked by the core and by the command's own warnings.
pub fn checked(path: &str, environment: Option<&str>) -> Result<Checked, Failure> {
    policy_file::check(path, environment, &|file: &PolicyFile, view: &PolicyView| {
        let mut warnings: Vec<Located> = edge_methods::warnings(file, view);
        warnings.extend(engines::warnings(file, view));
        warnings
    })
}

/// Reads a policy that must be valid (explain, emit), or the environment of it asked for: its
/// problems are printed on standard error, and a policy with any error ends the command with exit
/// code 1. The file returned is the policy as the edge takes it (the environment's, resolved).
pub fn load(path: &str, environment: Option<&str>) -> Result<(PolicyFile, PolicyView), Failure> {
    let checked = checked(path, environment)?;
    let report = |problems: &[Located]| problems.iter().map(|p| p.human(&checked.file.name)).collect::<Vec<_>>();
    match checked.view {
        Some(view) => {
            for line in report(&checked.problems) {
                eprintln!("{line}");
            }
            Ok((checked.file, view))
        }
        None if environment.is_none() && !checked.environments.is_empty() && !checked.has_errors() => {
            Err(Failure::Usage(format!(
                "{} has environments ({}): give --env NAME, the one to use",
                checked.file.name,
                checked.environments.join(", ")
            )))
        }
        None => Err(Failure::InvalidPolicy(report(&checked.problems).join("\n"))),
    }
}

/// `corsguard check`: every problem, in the file's order, as a person or a tool reads it.
pub fn run(path: &str, environment: Option<&str>, strict: bool, format: Format) -> Result<Outcome, Failure> {
    let checked = checked(path, environment)?;
    let errors = checked.problems.iter().filter(|p| p.severity == corsguard::Severity::Error).count();
    let warnings = checked.problems.len() - errors;
    let valid = !checked.has_errors();
    match format {
        Format::Json => {
            /// What `check` found, as tools read it.
            #[derive(serde::Serialize)]
            struct Report<'c> {
                file: &'c str,
                valid: bool,
                errors: usize,
                warnings: usize,
                #[serde(skip_serializing_if = "<[String]>::is_empty")]
                environments: &'c [String],
                problems: &'c [Located],
            }
            let report = Report {
                file: &checked.file.name,
                valid,
                errors,
                warnings,
                environments: &checked.environments,
                problems: &checked.problems,
            };
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        }
        Format::Human => {
            for problem in &checked.problems {
                println!("{}", problem.human(&checked.file.name));
            }
            let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            let checked_in = match checked.environments.as_slice() {
                [] => String::new(),
                [one] => format!(" in environment {one}"),
                all => format!(" in every environment: {}", all.join(", ")),
            };
            if valid {
                println!("{}: valid{checked_in} ({})", checked.file.name, plural(warnings, "warning"));
            } else {
                println!(
                    "{}: invalid, every edge refuses it ({}, {})",
                    checked.file.name,
                    plural(errors, "error"),
                    plural(warnings, "warning")
                );
            }
        }
    }
    Ok(if valid && !(strict && warnings > 0) { Outcome::Yes } else { Outcome::No })
}
