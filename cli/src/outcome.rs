//! How a command ends: what it concluded, why it could not, how it prints, and the exit code of
//! each.

use clap::ValueEnum;
use std::process::ExitCode;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  the policy is valid / the browser allows the request / the configuration was printed
  1  the policy has errors, or the browser blocks the request (probe --strict: or a warning)
  2  the command could not run: bad arguments, an unreadable file, an unreachable server";

/// How a command prints its report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    #[default]
    Human,
    /// One JSON document on standard output, for tools.
    Json,
}

/// What a command concluded, as an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 0.
    Yes,
    /// 1: the policy has errors, or the browser blocks.
    No,
}

/// Why a command could not give its answer.
#[derive(Debug)]
pub enum Failure {
    /// Exit 2: a file or server that cannot be reached.
    Cannot(String),
    /// Exit 2: arguments that make no sense.
    Usage(String),
    /// Exit 1: the policy has errors (each line already located).
    InvalidPolicy(String),
}

/// The exit code of a command's end, its problems or error printed on standard error.
pub fn exit(result: Result<Outcome, Failure>) -> ExitCode {
    match result {
        Ok(Outcome::Yes) => ExitCode::SUCCESS,
        Ok(Outcome::No) => ExitCode::from(1),
        Err(Failure::InvalidPolicy(problems)) => {
            eprintln!("{problems}");
            eprintln!("corsguard: the policy has errors; fix them first (corsguard check)");
            ExitCode::from(1)
        }
        Err(Failure::Cannot(why) | Failure::Usage(why)) => {
            eprintln!("corsguard: error: {why}");
            ExitCode::from(2)
        }
    }
}
