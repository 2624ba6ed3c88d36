//! Reading a policy file: the text, and the core's verdict on it, each problem placed on its line.
//! The command reads a policy only through the core's [`PolicyView`].

use crate::outcome::Failure;
use corsguard::tools::{Environment, Lines, PolicyView, environments};
use corsguard::{Code, Problem, Severity};
use serde::Serialize;
use std::io::Read;

/// A policy file as read from disk (or standard input, for `-`).
#[derive(Clone)]
pub struct PolicyFile {
    /// The name to show: the path as given, or `<stdin>`.
    pub name: String,
    /// The policy an edge takes: the file, or one environment's policy resolved from it.
    pub text: String,
    /// The file as written, where lines and columns are counted (an environment's policy keeps
    /// the file's byte offsets, not always its columns), its lines found once.
    pub written: Lines<String>,
}

/// One problem, located in the file where it can be, with a suggested fix where one is obvious.
#[derive(Clone, Debug, Serialize)]
pub struct Located {
    #[serde(serialize_with = "severity")]
    pub severity: Severity,
    /// The core's code (`duplicate-key`).
    pub code: &'static str,
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The offending value as the file writes it, where the core names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub fix: Option<String>,
    /// The environments it was found in, when the file has environments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
}

impl Located {
    /// `file:line:col: error[code]: path: message`, then `  help: fix` (the form compilers use,
    /// so editors and CI annotate the line).
    pub fn human(&self, file: &str) -> String {
        let mut out = String::from(file);
        if let (Some(line), Some(column)) = (self.line, self.column) {
            out.push_str(&format!(":{line}:{column}"));
        }
        out.push_str(&format!(": {}[{}]: ", self.severity.as_str(), self.code));
        if !self.path.is_empty() {
            out.push_str(&printable(&self.path));
        }
        // A path into an environment names it already.
        if !self.environments.is_empty() && !self.path.starts_with("environments.") {
            out.push_str(&format!(" (in {})", self.environments.join(", ")));
        }
        if !self.path.is_empty() || !self.environments.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&printable(&self.message));
        if let Some(fix) = &self.fix {
            out.push_str(&format!("\n  help: {fix}"));
        }
        out
    }
}

fn severity<S: serde::Serializer>(severity: &Severity, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(severity.as_str())
}

/// Text from the policy file made safe for a terminal: a control character (an ANSI escape that
/// could hide lines from a reviewer) is shown escaped.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// The core's verdict on a file: the compiled policy and its warnings, or every problem.
pub struct Checked {
    /// The file, or the environment's policy in it when one was resolved.
    pub file: PolicyFile,
    /// The policy, when the file (or the environment asked for) is valid; none for a file whose
    /// environments were all checked.
    pub view: Option<PolicyView>,
    pub problems: Vec<Located>,
    /// The environments checked, in file order; empty for a file without environments.
    pub environments: Vec<String>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

/// Reads `path` (`-` for standard input). Only a file that cannot be read at all is a `Failure`;
/// everything wrong with its content is a problem of the policy.
pub fn read(path: &str) -> Result<(PolicyFile, Option<Located>), Failure> {
    let (name, bytes) = if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::Cannot(format!("cannot read the policy from standard input: {e}")))?;
        ("<stdin>".to_string(), bytes)
    } else {
        let bytes = std::fs::read(path).map_err(|e| Failure::Cannot(format!("cannot read {path}: {e}")))?;
        (path.to_string(), bytes)
    };
    let mut file = PolicyFile { name, text: String::new(), written: Lines::new(String::new()) };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(error.as_bytes().get(..offset).unwrap_or_default()).into_owned();
            let (line, column) = Lines::new(&before).locate(before.len());
            let problem = whole_file(
                Some((line, column)),
                "is not UTF-8 text".into(),
                Some("save the file as UTF-8 (JSON is always UTF-8)".into()),
            );
            return Ok((file, Some(problem)));
        }
    };
    file.written = Lines::new(text.clone());
    file.text = text;
    Ok((file, None))
}

fn whole_file(at: Option<(usize, usize)>, message: String, fix: Option<String>) -> Located {
    Located {
        severity: Severity::Error,
        code: Code::InvalidJson.as_str(),
        path: String::new(),
        line: at.map(|(l, _)| l),
        column: at.map(|(_, c)| c),
        message,
        value: None,
        fix,
        environments: Vec::new(),
    }
}

/// Reads and checks a policy file with the core, locating every problem, and adds `warnings`' own
/// for each valid policy. A file with environments is checked once per environment (only
/// `environment`, when given), each problem named with the environments it was found in.
pub fn check(path: &str, environment: Option<&str>, warnings: Warnings) -> Result<Checked, Failure> {
    let (file, unreadable) = read(path)?;
    if let Some(problem) = unreadable {
        return Ok(Checked { file, view: None, problems: vec![problem], environments: Vec::new() });
    }
    let names = match environments(&file.text) {
        Ok(names) => names,
        Err(problems) => {
            let problems = sorted(problems.iter().map(|p| file.locate(p)).collect());
            return Ok(Checked { file, view: None, problems, environments: Vec::new() });
        }
    };
    let names = match environment {
        Some(name) => vec![name.to_string()],
        None if names.is_empty() => return Ok(check_policy(file, warnings)),
        None => names,
    };
    let mut problems: Vec<Located> = Vec::new();
    let mut last = None;
    for name in &names {
        let checked = match Environment::resolve(&file.text, name) {
            Ok(environment) => {
                let resolved = PolicyFile { text: environment.text().to_string(), ..file.clone() };
                let mut checked = check_policy(resolved, warnings);
                for problem in &mut checked.problems {
                    problem.path = environment.file_path(&problem.path);
                }
                checked.problems.extend(environment.warnings().iter().map(|p| file.locate(p)));
                checked
            }
            Err(found) => {
                let problems = found.iter().map(|p| file.locate(p)).collect();
                Checked { file: file.clone(), view: None, problems, environments: Vec::new() }
            }
        };
        for mut problem in checked.problems.iter().cloned() {
            let same = |p: &&mut Located| {
                (p.severity, p.code, &p.path, &p.message)
                    == (problem.severity, problem.code, &problem.path, &problem.message)
            };
            match problems.iter_mut().find(|p| same(p)) {
                Some(seen) => seen.environments.push(name.clone()),
                None => {
                    problem.environments = vec![name.clone()];
                    problems.push(problem);
                }
            }
        }
        last = Some(checked);
    }
    // The environment asked for, as the edge takes it; a file checked whole gives no one policy.
    let (file, view) = match last {
        Some(Checked { file, view, .. }) if environment.is_some() => (file, view),
        _ => (file, None),
    };
    Ok(Checked { file, view, problems: sorted(problems), environments: names })
}

/// What a command adds to the core's problems about a valid policy (`check`'s own warnings).
pub type Warnings<'w> = &'w dyn Fn(&PolicyFile, &PolicyView) -> Vec<Located>;

/// Checks one policy (a file without environments, or one environment's) with the core.
fn check_policy(file: PolicyFile, warnings: Warnings) -> Checked {
    let (view, problems) = match PolicyView::parse(&file.text) {
        Ok(view) => {
            let problems = view.policy().warnings().to_vec();
            (Some(view), problems)
        }
        Err(problems) => (None, problems.iter().cloned().collect()),
    };
    let mut problems: Vec<Located> = problems.iter().map(|p| file.locate(p)).collect();
    if let Some(view) = &view {
        problems.extend(warnings(&file, view));
    }
    Checked { file, view, problems: sorted(problems), environments: Vec::new() }
}

/// File order, as an editor shows them (the core reports object members in key order).
fn sorted(mut problems: Vec<Located>) -> Vec<Located> {
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

impl PolicyFile {
    /// One of the core's problems, placed where the core says it is.
    fn locate(&self, problem: &Problem) -> Located {
        let fix = match problem.code {
            Code::InvalidJson => self.not_json(&problem.message),
            _ => suggest(problem),
        };
        let mut located = self.at(problem.offset, problem.severity, problem.code.as_str(), &problem.path, fix);
        located.message.clone_from(&problem.message);
        located.value = problem.value.clone().and_then(|value| self.text.get(value)).map(String::from);
        located
    }

    /// A problem of the command's own at a JSON path of `view`, placed where the path (or else the
    /// object that would hold it) is written.
    pub fn problem(
        &self,
        view: &PolicyView,
        severity: Severity,
        code: &'static str,
        path: &str,
        message: String,
        fix: Option<String>,
    ) -> Located {
        let mut located = self.at(view.span(path).map(|span| span.at), severity, code, path, fix);
        located.message = message;
        located
    }

    /// The line where a JSON path of `view` is written, for people: `routes[0] (line 7)`.
    pub fn line_of(&self, view: &PolicyView, path: &str) -> String {
        match view.span(path).filter(|_| !path.is_empty()) {
            Some(span) => format!("{path} (line {})", self.written.locate(span.at).0),
            None => path.to_string(),
        }
    }

    fn at(
        &self,
        offset: Option<usize>,
        severity: Severity,
        code: &'static str,
        path: &str,
        fix: Option<String>,
    ) -> Located {
        let (line, column) = offset.map(|offset| self.written.locate(offset)).unzip();
        Located {
            severity,
            code,
            path: path.to_string(),
            line,
            column,
            message: String::new(),
            value: None,
            fix,
            environments: Vec::new(),
        }
    }

    /// A fix for the usual causes of text that is not JSON.
    fn not_json(&self, message: &str) -> Option<String> {
        if self.written.text().starts_with('\u{feff}') {
            Some("the file starts with a byte order mark (BOM): save it as UTF-8 without BOM".to_string())
        } else if message.ends_with("trailing comma") {
            Some("JSON allows no comma after the last element of a list or object".to_string())
        } else if message.ends_with("key must be a string") {
            Some("JSON object keys are in double quotes, and JSON has no comments".to_string())
        } else {
            None
        }
    }
}

/// A fix the core's message does not already give: the field an unknown key most likely means.
fn suggest(problem: &Problem) -> Option<String> {
    if problem.code != Code::UnknownField {
        return None;
    }
    let key = problem.path.rsplit('.').next().unwrap_or(&problem.path);
    let field = corsguard::tools::suggest(key, problem.path.contains("routes["))?;
    Some(format!("did you mean \"{field}\"?"))
}
