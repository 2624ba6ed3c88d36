//! `src/origins/public_suffix.deflate` is generated here from the pinned `psl` crate, and this test fails
//! when it is out of date: after bumping `psl` in Cargo.toml, run
//! `CORSGUARD_BLESS=1 cargo test --test public_suffixes` to regenerate it.
//!
//! `psl` compiles the list into match arms; walking its generated `list.rs` gives every name the
//! list knows, and `psl` itself then says which of them are public suffixes, so the table holds the
//! list's meaning, not a reading of its syntax.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use psl::{List, Psl, Type};
use std::collections::{BTreeMap, HashMap};
use std::{env, fs, path::PathBuf};

const TABLE: &str = "src/origins/public_suffix.deflate";
const SUFFIX: u8 = 0x40;
const WILDCARD: u8 = 0x80;
/// A label no list entry names, to ask `psl` what a wildcard covers.
const PROBE: &str = "corsguard-probe";

/// The pinned `psl`'s generated source, found in Cargo's registry.
fn psl_source() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let lock = fs::read_to_string(root.join("Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"psl\"\n"))
        .and_then(|p| p.split("version = \"").nth(1))
        .and_then(|v| v.split('"').next())
        .expect("psl in Cargo.lock");
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env::var_os("HOME").unwrap()).join(".cargo"));
    let registry = home.join("registry/src");
    for index in fs::read_dir(&registry).unwrap_or_else(|e| panic!("{}: {e}", registry.display())) {
        let list = index.unwrap().path().join(format!("psl-{version}/src/list.rs"));
        if let Ok(text) = fs::read_to_string(&list) {
            return text;
        }
    }
    panic!("psl {version}'s source is not under {}: run cargo fetch", registry.display());
}

/// Every name `list.rs` matches on, as labels from the right (`*` for a wildcard arm).
fn names(source: &str) -> Vec<Vec<String>> {
    // Each function's arms: the label and the function it calls.
    let mut arms: HashMap<&str, Vec<(String, &str)>> = HashMap::new();
    let mut current = "";
    let mut lines = source.lines().map(str::trim).peekable();
    let mut labels = 0;
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("fn ").or_else(|| line.strip_prefix("pub(super) fn ")) {
            current = rest.split(['<', '(']).next().unwrap();
            continue;
        }
        let Some((label, call)) = line.split_once(" => ") else { continue };
        let label = match label {
            "wild" => "*".to_string(),
            _ if label.starts_with('[') => {
                let bytes: Vec<u8> = label.trim_matches(['[', ']']).split(", ").map(|b| b.parse().unwrap()).collect();
                String::from_utf8(bytes).unwrap()
            }
            _ => continue,
        };
        // rustfmt puts a long arm's call on the next line: `[...] => {`, then `lookup_1_2(...)`.
        let call = if call == "{" { lines.peek().copied().unwrap_or_default() } else { call };
        if current == "lookup" && label == "*" && !call.starts_with("lookup") {
            continue; // the list's default rule, `*`: every top-level domain (the engine knows it)
        }
        labels += 1;
        let callee = call.split('(').next().unwrap();
        assert!(callee.starts_with("lookup"), "an arm of {current} calls {call:?}: has psl's layout changed?");
        arms.entry(current).or_default().push((label, callee));
    }
    assert_eq!(labels, arms.values().map(Vec::len).sum::<usize>());
    let mut found = Vec::new();
    let mut stack = vec![("lookup", Vec::new())];
    while let Some((function, labels)) = stack.pop() {
        for (label, callee) in arms.get(function).into_iter().flatten() {
            let mut name = labels.clone();
            name.push(label.clone());
            found.push(name.clone());
            stack.push((callee, name));
        }
    }
    assert!(found.len() > 5000, "only {} names in psl's list.rs: has its layout changed?", found.len());
    found
}

/// The section of the list that makes the name (labels from the right) a public suffix, if any.
fn suffix_type(labels: &[String]) -> Option<Type> {
    let info = List.find(labels.iter().map(|l| l.as_bytes()));
    let length: usize = labels.iter().map(|l| l.len() + 1).sum::<usize>() - 1;
    info.typ.filter(|_| info.len == length)
}

/// The table: every ASCII name (IDNs in their `xn--` form) with its flags, as labels from the right.
fn generate() -> Vec<u8> {
    let mut nodes: BTreeMap<Vec<String>, u8> = BTreeMap::new();
    for name in names(&psl_source()) {
        let wildcard = name.last().is_some_and(|l| l == "*");
        let asked = if wildcard { [&name[..name.len() - 1], &[PROBE.to_string()]].concat() } else { name.clone() };
        let dotted: Vec<&str> = name.iter().rev().map(String::as_str).collect();
        let ascii = idna::domain_to_ascii(&dotted.join(".").replace('*', PROBE)).unwrap();
        let mut labels: Vec<String> = ascii.rsplit('.').map(String::from).collect();
        if wildcard {
            labels.pop();
        }
        let typ = suffix_type(&asked);
        for depth in 1..labels.len() {
            nodes.entry(labels[..depth].to_vec()).or_insert(0);
        }
        let flags = nodes.entry(labels).or_insert(0);
        match (wildcard, typ.is_some()) {
            (true, true) => *flags |= WILDCARD,
            (false, true) => *flags |= SUFFIX,
            _ => {}
        }
    }
    let mut table = String::new();
    write_children(&nodes, &[], &mut table);
    table.into_bytes()
}

/// The nodes under `parent`, as `src/origins/public_suffix.rs` reads them: `label`, then `!` if the name
/// is a public suffix and `*` if its child labels are, then its own children in parentheses, then
/// `,`. A top-level domain with no children and no wildcard is left out: every single label is a
/// public suffix.
fn write_children(nodes: &BTreeMap<Vec<String>, u8>, parent: &[String], out: &mut String) {
    let children = nodes.range(parent.to_vec()..).take_while(|(name, _)| name.starts_with(parent));
    for (name, &flags) in children.filter(|(name, _)| name.len() == parent.len() + 1) {
        let mut below = String::new();
        write_children(nodes, name, &mut below);
        if name.len() == 1 && below.is_empty() && flags & WILDCARD == 0 {
            continue;
        }
        let label = name.last().unwrap();
        assert!(label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{name:?}");
        out.push_str(label);
        if flags & SUFFIX != 0 || name.len() == 1 {
            out.push('!');
        }
        if flags & WILDCARD != 0 {
            out.push('*');
        }
        if !below.is_empty() {
            out.push('(');
            out.push_str(&below);
            out.push(')');
        }
        out.push(',');
    }
}

#[test]
fn the_table_is_generated_from_the_pinned_psl() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TABLE);
    let table = generate();
    if env::var_os("CORSGUARD_BLESS").is_some() {
        fs::write(&path, pack(&table)).unwrap();
    }
    let (mut shipped, file) = (Vec::new(), fs::read(&path).unwrap());
    let count = usize::from(file[0]);
    let mut at = 1 + 3 * count;
    for entry in file[1..at].chunks(3) {
        let length = usize::from(u16::from_le_bytes([entry[1], entry[2]]));
        let chunk = miniz_oxide::inflate::decompress_to_vec(&file[at..at + length]).unwrap();
        assert_eq!(chunk[0], entry[0], "a chunk holds the top-level domains of its first byte");
        shipped.extend(chunk);
        at += length;
    }
    assert_eq!(at, file.len());
    assert!(shipped == table, "{TABLE} is not what psl makes: run CORSGUARD_BLESS=1 cargo test --test public_suffixes");
}

/// The table in `src/origins/public_suffix.rs`'s file format: its top-level entries grouped by first byte,
/// each group deflated, after an index of (first byte, deflated length).
fn pack(table: &[u8]) -> Vec<u8> {
    let mut groups: Vec<(u8, Vec<u8>)> = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, &byte) in table.iter().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b',' if depth == 0 => {
                let entry = &table[start..=at];
                match groups.last_mut() {
                    Some((first, group)) if *first == entry[0] => group.extend_from_slice(entry),
                    _ => groups.push((entry[0], entry.to_vec())),
                }
                start = at + 1;
            }
            _ => {}
        }
    }
    assert_eq!(start, table.len(), "the table ends with a top-level entry");
    let deflated: Vec<(u8, Vec<u8>)> =
        groups.iter().map(|(first, group)| (*first, miniz_oxide::deflate::compress_to_vec(group, 10))).collect();
    let mut file = vec![u8::try_from(deflated.len()).unwrap()];
    for (first, chunk) in &deflated {
        file.push(*first);
        file.extend_from_slice(&u16::try_from(chunk.len()).unwrap().to_le_bytes());
    }
    for (_, chunk) in &deflated {
        file.extend_from_slice(chunk);
    }
    file
}

/// Through the public API: a wildcard entry over each name the list knows, and over a name one
/// label below it, is warned about exactly when `psl` says the name is a public suffix, or one lies
/// below it (`*.amazonaws.com` reaches `s3.amazonaws.com`'s tenants).
#[test]
fn wildcards_are_warned_about_exactly_where_they_reach_a_public_suffix() {
    let (mut candidates, mut suffixes) = (BTreeMap::new(), std::collections::HashSet::new());
    for name in names(&psl_source()) {
        let name: Vec<String> = name.into_iter().map(|l| if l == "*" { PROBE.to_string() } else { l }).collect();
        for labels in [name.clone(), [&name[..], &[PROBE.to_string()]].concat()] {
            let dotted: Vec<&str> = labels.iter().rev().map(String::as_str).collect();
            let Ok(ascii) = idna::domain_to_ascii(&dotted.join(".")) else { continue };
            if !ascii.is_ascii() {
                continue;
            }
            if suffix_type(&labels).is_some() {
                suffixes.insert(ascii.clone());
            }
            if labels.len() >= 2 {
                candidates.insert(ascii, ());
            }
        }
    }
    let above: std::collections::HashSet<&str> =
        suffixes.iter().flat_map(|k| k.match_indices('.').map(move |(at, _)| &k[at + 1..])).collect();
    let expected: Vec<(&String, bool)> =
        candidates.keys().map(|n| (n, suffixes.contains(n) || above.contains(n.as_str()))).collect();
    let entries: Vec<String> = expected.iter().map(|(name, _)| format!("https://*.{name}")).collect();
    let policy = format!(r#"{{"origins": {}}}"#, serde_json::to_string(&entries).unwrap());
    let warned: std::collections::HashSet<String> = match corsguard::Policy::parse(&policy) {
        Ok(policy) => policy
            .warnings()
            .iter()
            .filter(|p| p.code == corsguard::Code::PublicSuffixWildcard)
            .map(|p| p.path.clone())
            .collect(),
        Err(problems) => panic!("{}", problems.iter().take(5).map(|p| p.to_string()).collect::<Vec<_>>().join("\n")),
    };
    let mut wrong = Vec::new();
    for (index, (name, public)) in expected.iter().enumerate() {
        if warned.contains(&format!("origins[{index}]")) != *public {
            wrong.push(format!("{name}: expected {public}"));
        }
    }
    assert!(expected.iter().filter(|(_, p)| *p).count() > 3000);
    assert!(wrong.is_empty(), "{} wrong, such as {:?}", wrong.len(), &wrong[..wrong.len().min(10)]);
}
