//! The policy file's fields: each one's name, where it may be given, and what other CORS
//! configurations call it. The reader accepts exactly these ([`POLICY_FIELDS`], [`ROUTE_FIELDS`]);
//! tools list them and suggest them ([`suggest`]) from this one table.

/// Where a field may be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// At the top level, and in routes, which override it.
    Both,
    /// At the top level only.
    Top,
    /// In an entry of `routes` only.
    Route,
}

impl Place {
    const fn fits(self, route: bool) -> bool {
        match self {
            Place::Both => true,
            Place::Top => !route,
            Place::Route => route,
        }
    }
}

/// One field of the policy file.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// Its key.
    pub name: &'static str,
    /// Where it may be given.
    pub place: Place,
    /// What other CORS libraries and proxies call it (letters and digits only, lowercase: `allowedorigins`
    /// is `allowedOrigins`, `allowed_origins`, `AllowedOrigins`), for suggestions.
    pub aliases: &'static [&'static str],
}

/// Every field: a route's own first (what it matches on, whether it is disabled), then those the
/// top level and routes share in docs/policy.md's order, then `routes`. Adding a field is a row
/// here, its arm in the reader (`src/config.rs`), and its description in the schema.
pub const FIELDS: [Field; 15] = [
    Field { name: "host", place: Place::Route, aliases: &["hostname", "domain", "authority"] },
    Field { name: "path_prefix", place: Place::Route, aliases: &["prefix", "path", "pathprefix"] },
    Field { name: "case_sensitive", place: Place::Route, aliases: &["casesensitive", "ignorecase"] },
    Field { name: "disabled", place: Place::Route, aliases: &["disable", "enabled"] },
    Field {
        name: "origins",
        place: Place::Both,
        aliases: &["alloworigin", "alloworigins", "allowedorigins", "origin", "alloworiginlist"],
    },
    Field { name: "methods", place: Place::Both, aliases: &["allowmethods", "allowedmethods", "method"] },
    Field {
        name: "request_headers",
        place: Place::Both,
        aliases: &["allowheaders", "allowedheaders", "headers", "requestheader"],
    },
    Field { name: "expose_headers", place: Place::Both, aliases: &["exposeheaders", "exposedheaders", "exposeheader"] },
    Field {
        name: "credentials",
        place: Place::Both,
        aliases: &["allowcredentials", "supportscredentials", "withcredentials"],
    },
    Field { name: "max_age", place: Place::Both, aliases: &["maxage", "maxageseconds", "preflightmaxage"] },
    Field { name: "private_network", place: Place::Both, aliases: &["allowprivatenetwork", "privatenetworkaccess"] },
    Field { name: "preflight_status", place: Place::Both, aliases: &["optionssuccessstatus", "preflightstatuscode"] },
    Field { name: "mode", place: Place::Both, aliases: &["reportonly"] },
    Field { name: "debug", place: Place::Both, aliases: &[] },
    Field { name: "routes", place: Place::Top, aliases: &["rules", "paths"] },
];

/// How many fields a level has.
const fn count(route: bool) -> usize {
    let (mut rest, mut count): (&[Field], usize) = (&FIELDS, 0);
    while let [field, tail @ ..] = rest {
        if field.place.fits(route) {
            count += 1;
        }
        rest = tail;
    }
    count
}

/// The names a level has, in [`FIELDS`]' order; evaluated when the crate is built.
const fn names<const N: usize>(route: bool) -> [&'static str; N] {
    let mut names = [""; N];
    let mut slots: &mut [&str] = &mut names;
    let mut rest: &[Field] = &FIELDS;
    while let [field, tail @ ..] = rest {
        if field.place.fits(route) {
            if let [slot, others @ ..] = slots {
                *slot = field.name;
                slots = others;
            }
        }
        rest = tail;
    }
    names
}

/// The fields of a policy file's top level. The reader accepts exactly these, and `$schema` (which
/// editors add; it is ignored): any other key is an error.
pub const POLICY_FIELDS: [&str; count(false)] = names(false);

/// The fields of a `routes` entry: what it matches on, whether it is disabled, then the top level's
/// fields (but `routes`) that it may override. The reader accepts exactly these.
pub const ROUTE_FIELDS: [&str; count(true)] = names(true);

/// The field a mistyped or foreign key most likely means at a level (the top level, or a route's
/// with `route`): the field another configuration's name for it stands for (`allowedOrigins`), or
/// one within two edits (`request_header`).
#[must_use]
pub fn suggest(key: &str, route: bool) -> Option<&'static str> {
    let normal: alloc::string::String =
        key.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    let here = || FIELDS.iter().filter(|field| field.place.fits(route));
    if let Some(field) = here().find(|field| field.aliases.contains(&normal.as_str())) {
        return Some(field.name);
    }
    here()
        .map(|field| (edits(&normal, &field.name.replace('_', "")), field.name))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// The Levenshtein distance between two ASCII words: the fewest single-letter insertions, deletions
/// and substitutions that turn one into the other.
fn edits(a: &str, b: &str) -> usize {
    let mut row: alloc::vec::Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.bytes().enumerate() {
        let mut diagonal = i;
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, y) in b.bytes().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or_default();
            let left = row.get(j).copied().unwrap_or_default();
            let here = (diagonal + usize::from(x != y)).min(above + 1).min(left + 1);
            diagonal = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = here;
            }
        }
    }
    row.last().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_levels_list_their_fields_in_table_order() {
        assert_eq!(POLICY_FIELDS[0], "origins");
        assert_eq!(POLICY_FIELDS.last(), Some(&"routes"));
        assert_eq!(ROUTE_FIELDS[..4], ["host", "path_prefix", "case_sensitive", "disabled"]);
        assert!(!ROUTE_FIELDS.contains(&"routes") && !POLICY_FIELDS.contains(&"host"));
        for field in &FIELDS {
            assert!(field.aliases.iter().all(|a| a.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())));
        }
    }

    #[test]
    fn foreign_and_mistyped_keys_get_a_suggestion() {
        assert_eq!(suggest("allowedOrigins", false), Some("origins"));
        assert_eq!(suggest("AllowedOrigins", true), Some("origins"));
        assert_eq!(suggest("request_header", false), Some("request_headers"));
        assert_eq!(suggest("maxAge", false), Some("max_age"));
        assert_eq!(suggest("path_prefix", false), None);
        assert_eq!(suggest("prefix", true), Some("path_prefix"));
        assert_eq!(suggest("zebra", false), None);
        assert_eq!(edits("kitten", "sitting"), 3);
        assert_eq!(edits("", "abc"), 3);
    }
}
