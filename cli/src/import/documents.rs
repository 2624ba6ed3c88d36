//! The files an import reads: YAML streams (a JSON file is YAML too), each document with its file
//! and index, and typed access to its fields that names the file, document and field path of
//! every wrong type.

use crate::outcome::Failure;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::fmt;

/// One document of a YAML stream.
pub struct Document {
    pub file: String,
    /// 1-based, in its file.
    pub index: usize,
    pub value: Value,
}

/// Every document of every file, in order. A file that cannot be read or parsed is an error that
/// names it (and the document and line, for YAML that does not parse); nothing is skipped silently.
pub fn read(paths: &[String]) -> Result<Vec<Document>, Failure> {
    let mut documents = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| Failure::Cannot(format!("cannot read {path}: {e}")))?;
        for (index, document) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
            let index = index + 1;
            let value = Value::deserialize(document).map_err(|e| {
                let place = e.location().map(|l| format!(", line {} column {}", l.line(), l.column()));
                Failure::Cannot(format!("{path}, document {index}{}: not YAML: {e}", place.unwrap_or_default()))
            })?;
            if !value.is_null() {
                documents.push(Document { file: path.clone(), index, value });
            }
        }
    }
    Ok(documents)
}

/// Where a value is: its file, document and field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct At {
    pub file: String,
    pub document: usize,
    pub path: String,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.file, self.document)?;
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        Ok(())
    }
}

/// A value and where it is (its path borrowed from the [`Child`] that owns it).
#[derive(Clone, Copy)]
pub struct Node<'d, 'p> {
    pub value: &'d Value,
    file: &'d str,
    document: usize,
    path: &'p str,
}

/// A node's field or element, which owns its longer path.
#[derive(Clone)]
pub struct Child<'d> {
    pub value: &'d Value,
    file: &'d str,
    document: usize,
    path: String,
}

impl<'d> Child<'d> {
    /// A whole document.
    pub fn root(document: &'d Document) -> Self {
        Child { value: &document.value, file: &document.file, document: document.index, path: String::new() }
    }

    pub fn node(&self) -> Node<'d, '_> {
        Node { value: self.value, file: self.file, document: self.document, path: &self.path }
    }
}

impl<'d> Node<'d, '_> {
    pub fn at(&self) -> At {
        At { file: self.file.to_string(), document: self.document, path: self.path.to_string() }
    }

    /// An error about this value.
    pub fn error(&self, message: impl fmt::Display) -> Failure {
        Failure::Cannot(format!("{}: {message}", self.at()))
    }

    /// A field of a mapping; none when absent or null. A value that is not a mapping is an error.
    pub fn get(&self, key: &str) -> Result<Option<Child<'d>>, Failure> {
        let child = |value| {
            let path = if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) };
            Child { value, file: self.file, document: self.document, path }
        };
        match self.value {
            Value::Mapping(map) => Ok(map.get(key).filter(|v| !v.is_null()).map(child)),
            Value::Null => Ok(None),
            _ => Err(self.error("is not a mapping")),
        }
    }

    /// Refuses a field this mapping cannot have, naming it and the fields it can.
    pub fn known(&self, fields: &[&str]) -> Result<(), Failure> {
        let map = match self.value {
            Value::Mapping(map) => map,
            Value::Null => return Ok(()),
            _ => return Err(self.error("is not a mapping")),
        };
        match map.keys().map(|k| k.as_str().unwrap_or_default()).find(|k| !fields.contains(k)) {
            Some(unknown) => Err(self.error(format!("{unknown:?} is not one of its fields ({})", fields.join(", ")))),
            None => Ok(()),
        }
    }

    /// A string field; none when absent. Any other type is an error.
    pub fn string(&self, key: &str) -> Result<Option<String>, Failure> {
        match self.get(key)? {
            None => Ok(None),
            Some(child) => match child.value {
                Value::String(text) => Ok(Some(text.clone())),
                _ => Err(child.node().error("is not a string")),
            },
        }
    }

    /// A list field's elements; none when absent. Any other type is an error.
    pub fn list(&self, key: &str) -> Result<Vec<Child<'d>>, Failure> {
        match self.get(key)? {
            None => Ok(Vec::new()),
            Some(child) => child.node().items(),
        }
    }

    /// A true-or-false field; false when absent. Any other type is an error.
    pub fn flag(&self, key: &str) -> Result<bool, Failure> {
        match self.get(key)? {
            None => Ok(false),
            Some(flag) => flag.value.as_bool().ok_or_else(|| flag.node().error("is not true or false")),
        }
    }

    /// A list field of strings; none when absent. Any other type is an error.
    pub fn texts(&self, key: &str) -> Result<Vec<String>, Failure> {
        let items = self.list(key)?;
        items
            .iter()
            .map(|i| i.value.as_str().map(String::from).ok_or_else(|| i.node().error("is not a string")))
            .collect()
    }

    /// This list's elements; any other type is an error.
    pub fn items(&self) -> Result<Vec<Child<'d>>, Failure> {
        let Value::Sequence(items) = self.value else { return Err(self.error("is not a list")) };
        Ok(items
            .iter()
            .enumerate()
            .map(|(index, value)| Child {
                value,
                file: self.file,
                document: self.document,
                path: format!("{}[{index}]", self.path),
            })
            .collect())
    }

    /// A mapping field's string entries, in file order; none when absent. A value that is not a
    /// string (Kubernetes annotations are strings: `"true"`, never `true`) is an error.
    pub fn strings(&self, key: &str) -> Result<Vec<(String, String, At)>, Failure> {
        let Some(child) = self.get(key)? else { return Ok(Vec::new()) };
        let Value::Mapping(map) = child.value else { return Err(child.node().error("is not a mapping")) };
        let mut entries = Vec::new();
        for (name, value) in map {
            let Value::String(name) = name else { return Err(child.node().error("has a key that is not a string")) };
            let at =
                At { file: self.file.to_string(), document: self.document, path: format!("{}.{name}", child.path) };
            match value {
                Value::String(text) => entries.push((name.clone(), text.clone(), at)),
                _ => {
                    return Err(Failure::Cannot(format!(
                        "{at}: is not a string (Kubernetes keeps annotations as strings: quote it)"
                    )));
                }
            }
        }
        Ok(entries)
    }
}
