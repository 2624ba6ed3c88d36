//! What an import says: one line per point of the source configuration, grouped as exact,
//! changed (with what the old configuration let through, and a request that shows it) and not
//! expressible (with what to write instead).

use serde::Serialize;

/// How a point of the source configuration was translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The same behaviour.
    Exact,
    /// Another behaviour: what changes, and a request that shows it.
    Changed,
    /// corsguard cannot say it: what to write instead. The import writes nothing unless `--lossy`.
    NotExpressible,
}

/// One point of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub kind: Kind,
    /// The file, document and field it is about (`ingress.yaml#2 metadata.annotations...`).
    pub at: String,
    pub what: String,
    /// A request that shows the change, and the answer before and now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// A place of the source that no route can say (a wildcard host, a regex path): its requests
    /// must then get no CORS from the policy's top level.
    #[serde(skip)]
    pub leaves_place: bool,
}

impl Note {
    pub fn new(kind: Kind, at: impl ToString, what: impl Into<String>) -> Self {
        Note { kind, at: at.to_string(), what: what.into(), example: None, leaves_place: false }
    }

    /// A place of the source no route can say: not expressible.
    pub fn unplaced(at: impl ToString, what: impl Into<String>) -> Self {
        Note { leaves_place: true, ..Note::new(Kind::NotExpressible, at, what) }
    }

    pub fn example(mut self, example: impl Into<String>) -> Self {
        self.example = Some(example.into());
        self
    }
}

/// The whole report, as `--format json` prints it.
#[derive(Serialize)]
pub struct Report {
    /// The source format (`ingress-nginx`).
    pub source: &'static str,
    pub files: Vec<String>,
    /// The objects translated (`Ingress default/api`).
    pub objects: Vec<String>,
    /// Documents of other kinds, left alone (`Service default/api`).
    pub skipped: Vec<String>,
    pub notes: Vec<Note>,
    /// Where the policy went: the `--out` file, `-` for standard output, none when nothing was
    /// written.
    pub written: Option<String>,
}

impl Report {
    pub fn count(&self, kind: Kind) -> usize {
        self.notes.iter().filter(|n| n.kind == kind).count()
    }

    /// The report for people.
    pub fn human(&self) -> String {
        let mut out = format!(
            "Import     {}: {} from {}\n",
            self.source,
            plural(self.objects.len(), "object"),
            self.files.join(", ")
        );
        if !self.skipped.is_empty() {
            out.push_str(&format!(
                "Skipped    {} of other kinds: {}\n",
                plural(self.skipped.len(), "document"),
                self.skipped.join(", ")
            ));
        }
        for (kind, title) in
            [(Kind::Exact, "Exact"), (Kind::Changed, "Changed"), (Kind::NotExpressible, "Not expressible")]
        {
            let notes: Vec<&Note> = self.notes.iter().filter(|n| n.kind == kind).collect();
            if notes.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title} ({})\n", notes.len()));
            for note in notes {
                out.push_str(&format!("  - {}: {}\n", note.at, note.what));
                if let Some(example) = &note.example {
                    out.push_str(&format!("    e.g. {example}\n"));
                }
            }
        }
        out.push('\n');
        out.push_str(&match (&self.written, self.count(Kind::NotExpressible)) {
            (Some(path), 0) if path == "-" => "Result     the policy is on standard output\n".to_string(),
            (Some(path), 0) => format!("Result     wrote {path}\n"),
            (Some(path), n) if path == "-" => {
                format!("Result     the policy is on standard output, without {} (--lossy)\n", plural(n, "point"))
            }
            (Some(path), n) => format!("Result     wrote {path}, without {} (--lossy)\n", plural(n, "point")),
            (None, n) => format!(
                "Result     nothing written: {} cannot be expressed; change {} as {} says, or accept the report \
                 with --lossy\n",
                plural(n, "point"),
                if n == 1 { "it" } else { "them" },
                if n == 1 { "it" } else { "each" }
            ),
        });
        out
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
