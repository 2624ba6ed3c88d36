//! Reading a policy file: the text, where each JSON path sits in it, and the core's verdict.

use crate::Failure;
use corsguard::tools::{Environment, POLICY_FIELDS, ROUTE_FIELDS, environments};
use corsguard::{Code, Policy, Problem, Severity};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;

/// A policy file as read from disk (or standard input, for `-`).
#[derive(Clone)]
pub struct PolicyFile {
    /// The name to show: the path as given, or `<stdin>`.
    pub name: String,
    /// The text.
    pub text: String,
    /// Line and column (1-based, in characters) of each JSON path: a member's key, an element's value.
    pub positions: HashMap<String, (usize, usize)>,
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
    pub policy: Option<Policy>,
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
    let mut file = PolicyFile { name, text: String::new(), positions: HashMap::new() };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(error.as_bytes().get(..offset).unwrap_or_default()).into_owned();
            let (line, column) = line_column(&before, before.len());
            let problem = whole_file(
                Some((line, column)),
                "is not UTF-8 text".into(),
                Some("save the file as UTF-8 (JSON is always UTF-8)".into()),
            );
            return Ok((file, Some(problem)));
        }
    };
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
        return Ok(Checked { file, policy: None, problems: vec![problem], environments: Vec::new() });
    }
    let names = match environments(&file.text) {
        Ok(names) => names,
        Err(problems) => {
            let file = PolicyFile { positions: positions(&file.text, &file.text), ..file };
            let problems = sorted(problems.iter().map(|p| locate(&file, p)).collect());
            return Ok(Checked { file, policy: None, problems, environments: Vec::new() });
        }
    };
    let names = match environment {
        Some(name) => vec![name.to_string()],
        None if names.is_empty() => return Ok(check_policy(file, warnings)),
        None => names,
    };
    let file = PolicyFile { positions: positions(&file.text, &file.text), ..file };
    let mut problems: Vec<Located> = Vec::new();
    let mut last = None;
    for name in &names {
        let checked = match Environment::resolve(&file.text, name) {
            Ok(environment) => {
                let view = PolicyFile {
                    name: file.name.clone(),
                    positions: HashMap::new(),
                    text: environment.text().to_string(),
                };
                let mut checked = check_policy(view, warnings);
                checked.file.positions = positions(environment.text(), &file.text);
                for problem in &mut checked.problems {
                    problem.path = environment.file_path(&problem.path);
                }
                checked.problems.extend(environment.warnings().iter().map(|p| locate(&file, p)));
                checked
            }
            Err(found) => {
                let problems = found.iter().map(|p| locate(&file, p)).collect();
                Checked { file: file.clone(), policy: None, problems, environments: Vec::new() }
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
    let (file, policy) = match last {
        Some(Checked { file, policy, .. }) if environment.is_some() => (file, policy),
        _ => (file, None),
    };
    Ok(Checked { file, policy, problems: sorted(problems), environments: names })
}

/// What a command adds to the core's problems about a valid policy (`check`'s own warnings).
pub type Warnings<'w> = &'w dyn Fn(&PolicyFile) -> Vec<Located>;

/// Checks one policy (a file without environments, or one environment's) with the core.
fn check_policy(mut file: PolicyFile, warnings: Warnings) -> Checked {
    let (policy, problems) = match Policy::parse(&file.text) {
        Ok(policy) => {
            let warnings = policy.warnings().to_vec();
            (Some(policy), warnings)
        }
        Err(problems) => (None, problems.iter().cloned().collect()),
    };
    if !problems.iter().any(|p| p.code == Code::InvalidJson) {
        file.positions = positions(&file.text, &file.text);
    }
    let mut problems: Vec<Located> = problems.iter().map(|p| locate(&file, p)).collect();
    if policy.is_some() {
        problems.extend(warnings(&file));
    }
    Checked { file, policy, problems: sorted(problems), environments: Vec::new() }
}

/// File order, as an editor shows them (the core reports object members in key order).
fn sorted(mut problems: Vec<Located>) -> Vec<Located> {
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

/// `field` at the top level and in each route of the policy's JSON, with its path (`max_age`,
/// `routes[1].max_age`): where the command's own warnings look.
pub fn at_every_level<'v>(value: &'v Value, field: &str) -> Vec<(String, Option<&'v Value>)> {
    let mut found = vec![(field.to_string(), value.get(field))];
    for (index, route) in value.get("routes").and_then(Value::as_array).into_iter().flatten().enumerate() {
        found.push((format!("routes[{index}].{field}"), route.get(field)));
    }
    found
}

fn locate(file: &PolicyFile, problem: &Problem) -> Located {
    if problem.code == Code::InvalidJson {
        return not_json(file, &problem.message);
    }
    file.locate(problem.severity, problem.code.as_str(), &problem.path, problem.message.clone(), suggest(problem))
}

impl PolicyFile {
    /// A problem at a JSON path, with its line and column. A missing field is placed where its
    /// object starts (the file's start for the top level).
    pub fn locate(
        &self,
        severity: Severity,
        code: &'static str,
        path: &str,
        message: String,
        fix: Option<String>,
    ) -> Located {
        let mut at = path;
        let (line, column) = loop {
            if let Some(&position) = self.positions.get(at) {
                break position;
            }
            match at.rfind(['.', '[']) {
                Some(cut) => at = at.get(..cut).unwrap_or_default(),
                None => break (1, 1),
            }
        };
        Located {
            severity,
            code,
            path: path.to_string(),
            line: Some(line),
            column: Some(column),
            message,
            fix,
            environments: Vec::new(),
        }
    }
}

/// The core's `invalid-json` problem, its place (the message ends ` at line L column C`) shown up
/// front, with a fix for the usual causes.
fn not_json(file: &PolicyFile, message: &str) -> Located {
    let (message, at) = match message.rsplit_once(" at line ") {
        Some((message, place)) => {
            let at = place.split_once(" column ").and_then(|(l, c)| Some((l.parse().ok()?, c.parse().ok()?)));
            (message, at)
        }
        None => (message, None),
    };
    let fix = if file.text.starts_with('\u{feff}') {
        Some("the file starts with a byte order mark (BOM): save it as UTF-8 without BOM".to_string())
    } else if message.contains("trailing comma") {
        Some("JSON allows no comma after the last element of a list or object".to_string())
    } else if message.contains("key must be a string") {
        Some("JSON object keys are in double quotes, and JSON has no comments".to_string())
    } else {
        None
    };
    whole_file(at, message.to_string(), fix)
}

/// A fix the core's message does not already give.
fn suggest(problem: &Problem) -> Option<String> {
    if problem.code != Code::UnknownField {
        return None;
    }
    let key = problem.path.rsplit('.').next().unwrap_or(&problem.path);
    let in_route = problem.path.starts_with("routes[");
    let fields: &[&str] = if in_route { &ROUTE_FIELDS } else { &POLICY_FIELDS };
    closest(key, fields).map(|field| format!("did you mean \"{field}\"?"))
}

/// The field a mistyped or foreign key most likely means (other CORS libraries' names included).
fn closest<'a>(key: &str, fields: &[&'a str]) -> Option<&'a str> {
    let normal: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    let alias = match normal.as_str() {
        "alloworigin" | "alloworigins" | "allowedorigins" | "origin" | "alloworiginlist" => Some("origins"),
        "allowmethods" | "allowedmethods" | "method" => Some("methods"),
        "allowheaders" | "allowedheaders" | "headers" | "requestheader" => Some("request_headers"),
        "exposeheaders" | "exposedheaders" | "exposeheader" => Some("expose_headers"),
        "allowcredentials" | "supportscredentials" | "withcredentials" => Some("credentials"),
        "maxage" | "maxageseconds" | "preflightmaxage" => Some("max_age"),
        "allowprivatenetwork" | "privatenetworkaccess" => Some("private_network"),
        "optionssuccessstatus" | "preflightstatuscode" => Some("preflight_status"),
        "prefix" | "path" | "pathprefix" => Some("path_prefix"),
        "hostname" | "domain" | "authority" => Some("host"),
        _ => None,
    };
    if let Some(field) = alias.and_then(|a| fields.iter().copied().find(|f| *f == a)) {
        return Some(field);
    }
    fields
        .iter()
        .copied()
        .map(|field| (strsim::levenshtein(&normal, &field.replace('_', "")), field))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, field)| field)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
    (line, column)
}

/// Where each JSON path of a valid JSON text sits, in the core's notation (`routes[0].origins[1]`):
/// a member at its key, an array element at its value.
/// A key given twice is located at its last occurrence (the core's `duplicate-key` names the first).
/// One pass over the text, whatever the number of paths. Lines and columns are counted in
/// `written`, the file as written: an environment's policy has its offsets, not always its columns.
pub fn positions(text: &str, written: &str) -> HashMap<String, (usize, usize)> {
    let mut scanner = Scanner { text, bytes: text.as_bytes(), at: 0, found: HashMap::new() };
    scanner.value("");
    let mut found: Vec<(usize, String)> = scanner.found.into_iter().map(|(path, offset)| (offset, path)).collect();
    found.sort_unstable();
    let (mut line, mut column, mut at) = (1, 1, 0);
    let mut located = HashMap::with_capacity(found.len());
    for (offset, path) in found {
        for c in written.get(at..offset).unwrap_or_default().chars() {
            (line, column) = if c == '\n' { (line + 1, 1) } else { (line, column + 1) };
        }
        at = offset;
        located.insert(path, (line, column));
    }
    located
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    found: HashMap<String, usize>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self, path: &str) {
        self.skip_space();
        match self.peek() {
            Some(b'{') => self.object(path),
            Some(b'[') => self.array(path),
            Some(b'"') => {
                self.string();
            }
            Some(_) => {
                while self.peek().is_some_and(|b| !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')) {
                    self.at += 1;
                }
            }
            None => {}
        }
    }

    /// Skips a string, returning its decoded text.
    fn string(&mut self) -> String {
        let start = self.at;
        self.at += 1;
        while let Some(b) = self.peek() {
            self.at += 1;
            match b {
                b'\\' => self.at += 1,
                b'"' => break,
                _ => {}
            }
        }
        self.text.get(start..self.at).and_then(|raw| serde_json::from_str(raw).ok()).unwrap_or_default()
    }

    fn object(&mut self, path: &str) {
        self.at += 1;
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'"') => {
                    let key_at = self.at;
                    let key = self.string();
                    let child = if path.is_empty() { key } else { format!("{path}.{key}") };
                    self.found.insert(child.clone(), key_at);
                    self.skip_space();
                    self.at += 1; // ':'
                    self.value(&child);
                }
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return;
                }
                _ => return,
            }
        }
    }

    fn array(&mut self, path: &str) {
        self.at += 1;
        let mut index = 0;
        loop {
            self.skip_space();
            match self.peek() {
                Some(b']') => {
                    self.at += 1;
                    return;
                }
                Some(b',') => self.at += 1,
                Some(_) => {
                    let child = format!("{path}[{index}]");
                    self.found.insert(child.clone(), self.at);
                    self.value(&child);
                    index += 1;
                }
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_located_at_keys_and_elements() {
        let text = "{\n  \"origins\": [\"a\", \"b\"],\n  \"routes\": [ { \"path_prefix\": \"/x\" } ]\n}";
        let at = positions(text, text);
        assert_eq!(at["origins"], (2, 3));
        assert_eq!(at["origins[1]"], (2, 20));
        assert_eq!(at["routes[0]"], (3, 15));
        assert_eq!(at["routes[0].path_prefix"], (3, 17));
    }

    #[test]
    fn foreign_and_mistyped_keys_get_a_suggestion() {
        assert_eq!(closest("allowedOrigins", &POLICY_FIELDS), Some("origins"));
        assert_eq!(closest("request_header", &POLICY_FIELDS), Some("request_headers"));
        assert_eq!(closest("maxAge", &POLICY_FIELDS), Some("max_age"));
        assert_eq!(closest("path_prefix", &POLICY_FIELDS), None);
        assert_eq!(closest("prefix", &ROUTE_FIELDS), Some("path_prefix"));
        assert_eq!(closest("zebra", &POLICY_FIELDS), None);
    }
}
