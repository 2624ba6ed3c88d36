//! The options of Express's `cors` middleware (expressjs/cors 2.8), as JSON or YAML, read as
//! `lib/index.js` runs them. A RegExp is written as its literal in a string (`"/\\.example\\.com$/"`).
//!
//! - `origin`: unset, `*` for everyone; `true` reflects every origin; `false` turns CORS off; a
//!   string is sent as it is to every request, so a browser allows that one origin (a list in one
//!   string allows none); a RegExp is `test`ed, so it matches anywhere in the origin; a list mixes
//!   exact strings and RegExps; each allowed origin is reflected.
//! - `methods` default to GET,HEAD,PUT,PATCH,POST,DELETE; unset `allowedHeaders` reflects whatever
//!   headers are asked; `maxAge` unset sends none (a browser keeps 5 s).
//! - Every OPTIONS is answered by the middleware, unless `preflightContinue`.
//!
//! One place: every path the middleware is mounted on.

use super::documents::{Child, Document, Node};
use super::draft::{self, Cors, Entry, Found, Place};
use super::origin_regex::{self, Anchoring, Matcher, Place as Within};
use super::report::{Kind, Note};
use crate::outcome::Failure;
use serde_yaml_ng::Value;

const DEFAULT_METHODS: &str = "GET,HEAD,PUT,PATCH,POST,DELETE";
const OPTIONS: [&str; 9] = [
    "origin",
    "methods",
    "allowedHeaders",
    "headers",
    "exposedHeaders",
    "credentials",
    "maxAge",
    "preflightContinue",
    "optionsSuccessStatus",
];
/// A browser's preflight cache when no `Access-Control-Max-Age` is sent.
const BROWSER_DEFAULT_MAX_AGE: u64 = 5;

pub fn read(documents: &[Document]) -> Result<Found, Failure> {
    let mut found = Found::default();
    for document in documents {
        let root = Child::root(document);
        let options = root.node();
        let Value::Mapping(fields) = options.value else { return Err(options.error("is not an options object")) };
        for key in fields.keys() {
            let key = key.as_str().unwrap_or_default();
            if !OPTIONS.contains(&key) {
                return Err(
                    options.error(format!("{key:?} is not an option of cors (those are {})", OPTIONS.join(", ")))
                );
            }
        }
        let object = format!("cors options {}#{}", document.file, document.index);
        let cors = translate(&options, &object, &mut found.notes)?;
        found.objects.push(object);
        found.entries.push(Entry { place: Place { host: None, path_prefix: "/".into() }, cors });
    }
    if found.entries.iter().all(|e| e.cors.is_none()) {
        return Err(Failure::Cannot(
            "the options allow no origin a browser sends (origin: false, or a string that is not one origin: a list \
             in one string allows none): nothing to import"
                .into(),
        ));
    }
    Ok(found)
}

fn translate(options: &Node<'_, '_>, object: &str, notes: &mut Vec<Note>) -> Result<Option<Cors>, Failure> {
    let mut credentials = options.flag("credentials")?;
    let at = options.at();
    let origins = match options.get("origin")? {
        None => vec!["*".to_string()],
        Some(origin) => match origin.value {
            Value::Bool(false) => return Ok(None),
            Value::Bool(true) => {
                if credentials {
                    credentials = false;
                    draft::reflected("origin: true", origin.node().at(), object, notes);
                }
                vec!["*".to_string()]
            }
            Value::String(text) if text == "*" => vec!["*".to_string()],
            Value::String(_) | Value::Sequence(_) => origins(&origin, object, notes)?,
            _ => return Err(origin.node().error("is not true, false, a string, a RegExp or a list of them")),
        },
    };
    if origins.is_empty() {
        return Ok(None);
    }
    let answered = if options.flag("preflightContinue")? {
        "went on to the application's own handlers (preflightContinue)"
    } else {
        "were answered by the middleware, in the application"
    };
    notes.push(
        Note::new(Kind::Changed, &at, format!("{object}: preflights {answered}; they are answered at the edge now"))
            .example("OPTIONS with Access-Control-Request-Method: answered by the application before, by the edge now"),
    );
    let list = |key: &str| -> Result<Option<Vec<String>>, Failure> {
        let Some(value) = options.get(key)? else { return Ok(None) };
        let node = value.node();
        let text = match value.value {
            Value::String(text) => text.clone(),
            Value::Sequence(items) => {
                let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                names.ok_or_else(|| node.error("has an entry that is not a string"))?.join(",")
            }
            _ => return Err(node.error("is not a string or a list of strings")),
        };
        Ok(Some(text.split(',').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect()))
    };
    let mut methods = list("methods")?.unwrap_or_else(|| DEFAULT_METHODS.split(',').map(String::from).collect());
    methods.retain(|m| draft::needs_listing(m));
    let request_headers = match list("allowedHeaders")?.or(list("headers")?) {
        Some(headers) => headers,
        None if credentials => {
            notes.push(Note::new(
                Kind::NotExpressible,
                &at,
                format!(
                    "{object}: without allowedHeaders the middleware reflects whatever headers are asked, with \
                     credentials; corsguard lists them with credentials: give allowedHeaders (with --lossy, none)"
                ),
            ));
            Vec::new()
        }
        None => vec!["*".to_string()],
    };
    let expose_headers = list("exposedHeaders")?.unwrap_or_default();
    let max_age = match options.get("maxAge")? {
        None => BROWSER_DEFAULT_MAX_AGE,
        Some(age) => match age.value {
            Value::Number(n) => n.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| age.node().error("is not a whole number of seconds"))?,
    };
    Ok(Some(Cors {
        origins,
        methods,
        request_headers,
        expose_headers,
        credentials,
        max_age: draft::max_age(max_age, &at, object, notes),
    }))
}

/// The entries a string, RegExp or list of them stands for, with a note for each that is not the
/// same.
fn origins(origin: &Child<'_>, object: &str, notes: &mut Vec<Note>) -> Result<Vec<String>, Failure> {
    let items = match origin.value {
        Value::Sequence(_) => origin.node().items()?,
        _ => vec![origin.clone()],
    };
    let mut matchers = Vec::new();
    for item in &items {
        let node = item.node();
        let text = item.value.as_str().ok_or_else(|| node.error("is not a string or a RegExp"))?;
        matchers.push((matcher(text).map_err(|why| node.error(why))?, text.to_string(), node.at()));
    }
    let found = origin_regex::translate(&matchers.iter().map(|(m, ..)| m.clone()).collect::<Vec<_>>());
    let mut entries = Vec::new();
    for (finding, (_, written, at)) in found.iter().zip(&matchers) {
        entries.extend(finding.entries().iter().cloned());
        notes.extend(origin_regex::note(finding, written, object, at));
    }
    Ok(origin_regex::shortest(entries))
}

/// A string (an exact origin) or a RegExp literal (`/…/flags`, matched anywhere).
fn matcher(text: &str) -> Result<Matcher, String> {
    let Some((pattern, flags)) = text.strip_prefix('/').and_then(|rest| rest.rsplit_once('/')) else {
        return Ok(Matcher::text(text, Within::Exact, false));
    };
    let mut inline = String::new();
    for flag in flags.chars() {
        match flag {
            'i' | 'm' | 's' => inline.push(flag),
            'u' | 'd' | 'v' => {}
            'g' | 'y' => {
                return Err(format!(
                    "the RegExp {text} has the {flag} flag: test() then starts where the last match ended, so \
                     requests are answered differently in turn; remove the flag"
                ));
            }
            other => return Err(format!("the RegExp {text} has an unknown flag {other:?}")),
        }
    }
    let pattern = if inline.is_empty() { pattern.to_string() } else { format!("(?{inline}){pattern}") };
    Matcher::regex(&pattern, Anchoring::Anywhere).map_err(|why| format!("the RegExp {text} {why}"))
}
