//! A source's origin matchers (exact strings, prefixes, regexes) as corsguard `origins` entries,
//! decided on what they admit, never on how they are written. Each matcher is parsed with
//! `regex-syntax`; the entries it may stand for are read off the parsed form (its literals,
//! alternations, and a `*` where a wildcard stands); then the matcher and the entries are compared
//! as automata over every origin a browser can send. The same origins: exact. Fewer: a change
//! that fails closed, shown with an origin the source admitted. More: not expressible, shown with
//! an origin the entries would wrongly admit. So no reading of the form, however loose, can widen
//! what the policy allows.

use super::documents::At;
use super::draft;
use super::report::{Kind, Note};
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::{primitives::StateID, start};
use regex_automata::{Anchored, MatchKind};
use regex_syntax::hir::{Class, Dot, Hir, HirKind, Look, Repetition};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;

/// How a source matches its matcher against the `Origin` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchoring {
    /// The whole value (RE2's full match, as Envoy and Istio use).
    Whole,
    /// Anywhere in the value (a regex search, as Traefik and JavaScript's `test` do).
    Anywhere,
}

/// One matcher of the source, as the regex of what it matches.
#[derive(Clone, Debug)]
pub struct Matcher(Hir);

impl Matcher {
    /// A regex in the source's dialect, with `(?i)` first when the source ignores case.
    pub fn regex(pattern: &str, anchoring: Anchoring) -> Result<Self, String> {
        let hir = regex_syntax::Parser::new().parse(pattern).map_err(|e| format!("does not compile: {e}"))?;
        Ok(Matcher(match anchoring {
            Anchoring::Whole => hir,
            Anchoring::Anywhere => {
                let any = || {
                    Hir::repetition(Repetition {
                        min: 0,
                        max: None,
                        greedy: true,
                        sub: Box::new(Hir::dot(Dot::AnyByte)),
                    })
                };
                Hir::concat(vec![any(), hir, any()])
            }
        }))
    }

    /// Text matched as it is written: `exact`, a prefix or a suffix of the value, or within it.
    pub fn text(text: &str, place: Place, ignore_case: bool) -> Self {
        let flags = if ignore_case { "(?i)" } else { "" };
        let text = regex_syntax::escape(text);
        let pattern = match place {
            Place::Exact => format!("{flags}{text}"),
            Place::Prefix => format!("{flags}{text}(?s:.*)"),
            Place::Suffix => format!("(?s:.*){flags}{text}"),
            Place::Contains => format!("(?s:.*){flags}{text}(?s:.*)"),
        };
        // An escaped text always compiles.
        Matcher::regex(&pattern, Anchoring::Whole).unwrap_or_else(|_| Matcher(Hir::fail()))
    }

    /// Whether it matches this text (Envoy allows every origin when a matcher matches `*`).
    pub fn matches(&self, text: &str) -> bool {
        let Ok(dfa) = Dfa::new(&self.0) else { return false };
        let Ok(mut state) = dfa.start() else { return false };
        for byte in text.bytes() {
            state = dfa.0.next_state(state, byte);
        }
        dfa.accepts(state)
    }
}

/// Where a [`Matcher::text`] must be in the value.
#[derive(Clone, Copy, Debug)]
pub enum Place {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

/// What one matcher becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// These entries, which admit the same origins.
    Exact(Vec<String>),
    /// These entries, which admit fewer origins; one the matcher admitted that they refuse.
    Narrower(Vec<String>, String),
    /// No entries say it without admitting more: an origin the closest entries would wrongly
    /// admit (none when no entry can be read off its form at all).
    NotExpressible(Option<String>),
    /// It admits no origin a browser sends (browsers send lowercase schemes and hosts).
    Nothing,
}

impl Finding {
    /// The entries to write.
    pub fn entries(&self) -> &[String] {
        match self {
            Finding::Exact(entries) | Finding::Narrower(entries, _) => entries,
            Finding::NotExpressible(_) | Finding::Nothing => &[],
        }
    }
}

/// Each matcher of one list (they allow an origin together) as entries, in order.
pub fn translate(matchers: &[Matcher]) -> Vec<Finding> {
    let all = Hir::alternation(matchers.iter().map(|m| m.0.clone()).collect());
    let Ok(all) = Dfa::new(&all) else { return vec![Finding::NotExpressible(None); matchers.len()] };
    // First what each matcher is written as, admitting nothing the list did not; then, against
    // everything written, what each one loses.
    let mut findings: Vec<(Finding, Option<Dfa>)> = matchers.iter().map(|matcher| read(matcher, &all)).collect();
    let written: Vec<String> = findings.iter().flat_map(|(f, _)| f.entries().to_vec()).collect();
    if let Ok(written) = entries_dfa(&written) {
        for (finding, own) in &mut findings {
            if let (Finding::Exact(entries), Some(own)) = (&*finding, own) {
                match own.example(Some(&written)) {
                    Ok(None) => {}
                    Ok(Some(example)) => *finding = Finding::Narrower(entries.clone(), example),
                    Err(()) => *finding = Finding::NotExpressible(None),
                }
            }
        }
    }
    findings.into_iter().map(|(finding, _)| finding).collect()
}

/// The entries one matcher reads as, each admitting nothing beyond `all`, with its automaton.
fn read(matcher: &Matcher, all: &Dfa) -> (Finding, Option<Dfa>) {
    let Ok(own) = Dfa::new(&matcher.0) else { return (Finding::NotExpressible(None), None) };
    if own.example(None) == Ok(None) {
        return (Finding::Nothing, None);
    }
    let Some(sequences) = sequences(&matcher.0) else { return (Finding::NotExpressible(None), Some(own)) };
    let mut entries: Vec<String> = Vec::new();
    // A sequence with a byte no origin has (an uppercase letter) admits nothing a browser sends.
    let possible = |pieces: &Vec<Piece>| pieces.iter().all(|p| !matches!(p, Piece::Byte(b) if !ALPHABET.contains(b)));
    for pieces in sequences.into_iter().filter_map(unanchored).filter(possible) {
        let chosen = match spelled(&pieces, all) {
            (Some(entry), _) => Ok(vec![entry]),
            // Read for https and http pages, each must be said.
            (None, wider) => schemes(&pieces)
                .and_then(|both| both.iter().map(|p| spelled(p, all).0).collect::<Option<Vec<_>>>())
                .ok_or(wider),
        };
        let chosen = match chosen {
            Ok(chosen) => chosen,
            Err(wider) => return (Finding::NotExpressible(wider), Some(own)),
        };
        for entry in chosen {
            if !entries.contains(&entry) {
                entries.push(entry);
            }
        }
    }
    (Finding::Exact(shortest(entries)), Some(own))
}

/// Entries without those another one covers (`http://localhost` beside `http://localhost:*`).
pub fn shortest(mut entries: Vec<String>) -> Vec<String> {
    for index in (0..entries.len()).rev() {
        let this = entries.get(index..=index).unwrap_or_default();
        let others: Vec<String> =
            entries.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, e)| e.clone()).collect();
        if !others.is_empty()
            && entries_dfa(this).and_then(|this| this.example(Some(&entries_dfa(&others)?))) == Ok(None)
        {
            entries.remove(index);
        }
    }
    entries
}

/// What the report says about one matcher, written in the source as `written`; none when it is
/// written as the one entry it is.
pub fn note(finding: &Finding, written: &str, object: &str, at: &At) -> Option<Note> {
    Some(match finding {
        Finding::Exact(entries) if [written] == entries.as_slice() => return None,
        Finding::Exact(entries) => {
            Note::new(Kind::Exact, at, format!("{object}: {written} is written as {}", entries.join(", ")))
        }
        Finding::Narrower(entries, example) => Note::new(
            Kind::Changed,
            at,
            format!("{object}: {written} also matched {example}; written as {}, which does not", entries.join(", ")),
        )
        .example(format!("GET from Origin: {example}: allowed before, refused now")),
        Finding::NotExpressible(example) => {
            let wider = example.as_ref().map(|e| format!(" (the closest would also allow {e})")).unwrap_or_default();
            Note::new(
                Kind::NotExpressible,
                at,
                format!(
                    "{object}: {written} is no set of corsguard origins{wider}: list the origins, or write \
                     https://*.example.com (any depth of subdomain), https://pr-*.example.com (a * inside the first \
                     label) or http://localhost:* (any port)"
                ),
            )
        }
        Finding::Nothing => Note::new(
            Kind::Exact,
            at,
            format!(
                "{object}: {written} matches no origin a browser sends (one origin, lowercase, without a path; never \
                 a list): left out"
            ),
        ),
    })
}

/// Part of a matcher read as a sequence: a byte, a wildcard, or where the value starts or ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    Byte(u8),
    Wildcard,
    Start,
    End,
}

/// The most sequences one matcher is read as (alternations multiply).
const MOST_SEQUENCES: usize = 64;

/// The sequences a part of a matcher reads as.
fn sequences(hir: &Hir) -> Option<Vec<Vec<Piece>>> {
    let wildcard = || Some(vec![vec![Piece::Wildcard]]);
    match hir.kind() {
        HirKind::Empty => Some(vec![Vec::new()]),
        HirKind::Literal(literal) => Some(vec![literal.0.iter().map(|b| Piece::Byte(*b)).collect()]),
        HirKind::Class(class) => {
            let members = members(class);
            match members.len() {
                0..=3 => Some(members.into_iter().map(|b| vec![Piece::Byte(b)]).collect()),
                _ => wildcard(),
            }
        }
        HirKind::Look(Look::Start | Look::StartLF | Look::StartCRLF) => Some(vec![vec![Piece::Start]]),
        HirKind::Look(Look::End | Look::EndLF | Look::EndCRLF) => Some(vec![vec![Piece::End]]),
        HirKind::Look(_) => None,
        HirKind::Repetition(repetition) => {
            let inner = sequences(&repetition.sub)?;
            match repetition.max {
                Some(max) if max <= 3 => {
                    let mut all = Vec::new();
                    for times in repetition.min..=max {
                        let mut repeated = vec![Vec::new()];
                        for _ in 0..times {
                            repeated = product(&repeated, &inner)?;
                        }
                        all.extend(repeated);
                    }
                    (all.len() <= MOST_SEQUENCES).then_some(all)
                }
                // `([a-z0-9-]+\.)+`: labels, each with its dot, read as `*.` (none too when it may
                // repeat no times).
                _ => match inner.iter().map(|s| s.last()).collect::<Vec<_>>().as_slice() {
                    [Some(Piece::Byte(b'.')), rest @ ..] if rest.iter().all(|l| *l == Some(&Piece::Byte(b'.'))) => {
                        let labels = vec![Piece::Wildcard, Piece::Byte(b'.')];
                        Some(if repetition.min == 0 { vec![Vec::new(), labels] } else { vec![labels] })
                    }
                    _ => wildcard(),
                },
            }
        }
        HirKind::Capture(capture) => sequences(&capture.sub),
        HirKind::Concat(parts) => {
            parts.iter().try_fold(vec![Vec::new()], |so_far, part| product(&so_far, &sequences(part)?))
        }
        HirKind::Alternation(choices) => {
            let mut all = Vec::new();
            for choice in choices {
                all.extend(sequences(choice)?);
            }
            (all.len() <= MOST_SEQUENCES).then_some(all)
        }
    }
}

fn product(left: &[Vec<Piece>], right: &[Vec<Piece>]) -> Option<Vec<Vec<Piece>>> {
    if left.len().saturating_mul(right.len()) > MOST_SEQUENCES {
        return None;
    }
    Some(left.iter().flat_map(|l| right.iter().map(move |r| [l.as_slice(), r].concat())).collect())
}

/// The bytes of the origins' alphabet a class admits.
fn members(class: &Class) -> Vec<u8> {
    let admits = |b: u8| match class {
        Class::Unicode(class) => class.ranges().iter().any(|r| (r.start()..=r.end()).contains(&char::from(b))),
        Class::Bytes(class) => class.ranges().iter().any(|r| (r.start()..=r.end()).contains(&b)),
    };
    ALPHABET.iter().copied().filter(|b| admits(*b)).collect()
}

/// A sequence without its anchors: a wildcard before the start or after the end matches nothing
/// there, and a byte there makes the sequence impossible (none).
fn unanchored(sequence: Vec<Piece>) -> Option<Vec<Piece>> {
    let mut pieces = sequence;
    if let Some(start) = pieces.iter().rposition(|p| *p == Piece::Start) {
        if pieces.get(..start)?.iter().any(|p| matches!(p, Piece::Byte(_))) {
            return None;
        }
        pieces.drain(..=start);
    }
    if let Some(end) = pieces.iter().position(|p| *p == Piece::End) {
        if pieces.get(end..)?.iter().any(|p| matches!(p, Piece::Byte(_))) {
            return None;
        }
        pieces.truncate(end);
    }
    if pieces.iter().any(|p| matches!(p, Piece::Start | Piece::End)) {
        return None;
    }
    pieces.dedup_by(|a, b| *a == Piece::Wildcard && *b == Piece::Wildcard);
    Some(pieces)
}

/// The first spelling of a sequence the core accepts and that admits nothing beyond `all`, or none,
/// with an origin the first accepted spelling would wrongly admit.
fn spelled(pieces: &[Piece], all: &Dfa) -> (Option<String>, Option<String>) {
    let mut wider = None;
    let accepted = spellings(pieces).into_iter().filter(|text| draft::refusal(&json!({ "origins": [text] })).is_none());
    let chosen =
        accepted.into_iter().find(|text| match entries_dfa(std::slice::from_ref(text)).map(|d| d.example(Some(all))) {
            Ok(Ok(None)) => true,
            Ok(Ok(Some(example))) => {
                wider.get_or_insert(example);
                false
            }
            _ => false,
        });
    (chosen, wider)
}

/// A sequence that starts with a wildcard for the scheme (`[a-z]+://example\.net`) or before a
/// host without one (`.*\.example\.com`, a search for `\.example\.com$`), read for https and http
/// pages.
fn schemes(pieces: &[Piece]) -> Option<[Vec<Piece>; 2]> {
    let separator = [Piece::Byte(b':'), Piece::Byte(b'/'), Piece::Byte(b'/')];
    let (first, rest) = pieces.split_first()?;
    if *first != Piece::Wildcard {
        return None;
    }
    let (replaced, prefixes) = if rest.starts_with(&separator) {
        (rest, ["https", "http"])
    } else if pieces.windows(3).any(|w| w == separator) {
        return None;
    } else {
        (pieces, ["https://", "http://"])
    };
    let with = |scheme: &str| scheme.bytes().map(Piece::Byte).chain(replaced.iter().copied()).collect();
    Some([with(prefixes[0]), with(prefixes[1])])
}

/// A sequence's spellings: every wildcard as `*` first, then with ever more of them left out.
fn spellings(pieces: &[Piece]) -> Vec<String> {
    let wildcards = pieces.iter().filter(|p| **p == Piece::Wildcard).count().min(4);
    let mut kept_sets: Vec<u32> = (0..1u32 << wildcards).collect();
    kept_sets.sort_by_key(|kept| std::cmp::Reverse(kept.count_ones()));
    kept_sets
        .into_iter()
        .map(|kept| {
            let mut text = String::new();
            let mut wildcard = 0;
            for piece in pieces {
                match piece {
                    Piece::Byte(b) => text.push(char::from(*b)),
                    Piece::Wildcard => {
                        if kept & (1 << wildcard.min(31)) != 0 {
                            text.push('*');
                        }
                        wildcard += 1;
                    }
                    Piece::Start | Piece::End => {}
                }
            }
            text
        })
        .collect()
}

/// The regex of what an `origins` entry admits, as the core matches it (`origins/pattern.rs`,
/// `origins/label_pattern.rs`): `*` any origin, `*.` any depth of subdomain, a `*` inside the first
/// label one or more letters and digits, `:*` any port or none. A test holds it to the core.
fn entry_regex(entry: &str) -> String {
    const LABEL: &str = "[a-z0-9_-]+";
    match entry {
        "*" => return "(?s:.*)".into(),
        "null" => return "null".into(),
        _ => {}
    }
    let (scheme, rest) = entry.split_once("://").unwrap_or((entry, ""));
    let (host, port) = match rest.rsplit_once(':').filter(|(_, port)| !port.contains(']')) {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host = if let Some(parent) = host.strip_prefix("*.") {
        format!("{LABEL}(?:\\.{LABEL})*\\.{}", regex_syntax::escape(parent))
    } else {
        let (first, parent) = host.split_once('.').map_or((host, None), |(f, p)| (f, Some(p)));
        let first = match first.split_once('*') {
            Some((prefix, suffix)) => {
                format!("{}[a-z0-9]+{}", regex_syntax::escape(prefix), regex_syntax::escape(suffix))
            }
            None => regex_syntax::escape(first),
        };
        first + &parent.map(|p| format!("\\.{}", regex_syntax::escape(p))).unwrap_or_default()
    };
    let port = match port {
        None => String::new(),
        Some("*") => "(?::[0-9]+)?".into(),
        Some(port) => format!(":{}", regex_syntax::escape(port)),
    };
    format!("{}://{host}{port}", regex_syntax::escape(scheme))
}

fn entries_dfa(entries: &[String]) -> Result<Dfa, ()> {
    let pattern = entries.iter().map(|e| format!("(?:{})", entry_regex(e))).collect::<Vec<_>>().join("|");
    let hir = if entries.is_empty() { Hir::fail() } else { regex_syntax::parse(&pattern).map_err(|_| ())? };
    Dfa::new(&hir)
}

/// The bytes origins are made of, in the order examples are searched (letters first, so the
/// shortest example reads like a name).
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz.0123456789-:/+[]";

/// Every origin a browser can send: `null`, or a lowercase scheme, a host name of letters, digits
/// and hyphens (RFC 1123; an underscore, which only the parent's owner could put in a name, is left
/// out, so that `[a-z0-9-]+` reads as a label) or a bracketed IPv6 address, and a port without
/// leading zeros; minus the scheme's default port written out, which browsers leave out.
fn origins() -> Option<&'static Origins> {
    static ORIGINS: OnceLock<Option<Origins>> = OnceLock::new();
    ORIGINS
        .get_or_init(|| {
            const HOST: &str = r"(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])";
            const PORT: &str =
                r"(?:0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
            let dfa = |pattern: &str| Dfa::new(&regex_syntax::parse(pattern).ok()?).ok();
            let web = dfa(&format!("null|https?://{HOST}(?::{PORT})?"))?;
            let all = dfa(&format!("null|[a-z][a-z0-9+.-]*://{HOST}(?::{PORT})?"))?;
            let default_port = dfa(&format!("https://{HOST}:443|http://{HOST}:80"))?;
            Some(Origins { web, all, default_port })
        })
        .as_ref()
}

/// The origins a browser can send, as automata.
struct Origins {
    /// Those of http and https pages (and `null`): where examples are looked for first.
    web: Dfa,
    all: Dfa,
    /// Those naming their scheme's default port, which browsers never send.
    default_port: Dfa,
}

/// The automaton that admits nothing.
fn nothing() -> Option<&'static Dfa> {
    static NOTHING: OnceLock<Option<Dfa>> = OnceLock::new();
    NOTHING.get_or_init(|| Dfa::new(&Hir::fail()).ok()).as_ref()
}

/// A deterministic automaton of a matcher's whole-value matches.
struct Dfa(dense::DFA<Vec<u32>>);

/// How many states of four automata together a comparison visits at most.
const MOST_STATES: usize = 200_000;

impl Dfa {
    fn new(hir: &Hir) -> Result<Self, ()> {
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().which_captures(WhichCaptures::None))
            .build_from_hir(hir)
            .map_err(|_| ())?;
        let config = dense::Config::new()
            .match_kind(MatchKind::All)
            .start_kind(StartKind::Anchored)
            .unicode_word_boundary(true)
            .dfa_size_limit(Some(16 << 20))
            .determinize_size_limit(Some(16 << 20));
        dense::Builder::new().configure(config).build_from_nfa(&nfa).map(Dfa).map_err(|_| ())
    }

    fn start(&self) -> Result<StateID, ()> {
        self.0.start_state(&start::Config::new().anchored(Anchored::Yes)).map_err(|_| ())
    }

    fn accepts(&self, state: StateID) -> bool {
        self.0.is_match_state(self.0.next_eoi_state(state))
    }

    /// The shortest origin this admits and `other` (if given) does not, an http or https one when
    /// there is one; `Err` when the comparison is too large to finish.
    fn example(&self, other: Option<&Dfa>) -> Result<Option<String>, ()> {
        let origins = origins().ok_or(())?;
        let other = other.unwrap_or(nothing().ok_or(())?);
        match self.example_in(other, &origins.web, &origins.default_port)? {
            Some(example) => Ok(Some(example)),
            None => self.example_in(other, &origins.all, &origins.default_port),
        }
    }

    /// The shortest string this admits, `other` does not, `all` does and `except` does not: a
    /// breadth-first walk of the four automata together.
    fn example_in(&self, other: &Dfa, all: &Dfa, except: &Dfa) -> Result<Option<String>, ()> {
        let machines = [self, other, all, except];
        let begin = [self.start()?, other.start()?, all.start()?, except.start()?];
        let mut came_from: HashMap<[StateID; 4], Option<([StateID; 4], u8)>> = HashMap::from([(begin, None)]);
        let mut queue = VecDeque::from([begin]);
        while let Some(states) = queue.pop_front() {
            let [this, that, origin, excepted] = states;
            if self.accepts(this) && !other.accepts(that) && all.accepts(origin) && !except.accepts(excepted) {
                let mut bytes = Vec::new();
                let mut at = states;
                while let Some(Some((before, byte))) = came_from.get(&at) {
                    bytes.push(*byte);
                    at = *before;
                }
                bytes.reverse();
                return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
            }
            for &byte in ALPHABET {
                let mut next = states;
                for (state, machine) in next.iter_mut().zip(machines) {
                    *state = machine.0.next_state(*state, byte);
                }
                if self.0.is_dead_state(next[0]) || all.0.is_dead_state(next[2]) || came_from.contains_key(&next) {
                    continue;
                }
                if came_from.len() >= MOST_STATES {
                    return Err(());
                }
                came_from.insert(next, Some((states, byte)));
                queue.push_back(next);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn regex(pattern: &str, anchoring: Anchoring) -> Finding {
        translate(&[Matcher::regex(pattern, anchoring).unwrap()]).remove(0)
    }

    fn exact(entries: &[&str]) -> Finding {
        Finding::Exact(entries.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn a_regex_is_read_off_its_parsed_form() {
        use Anchoring::{Anywhere, Whole};
        let cases: &[(&str, Anchoring, Finding)] = &[
            (r"https://app\.example\.com", Whole, exact(&["https://app.example.com"])),
            (r"^https?://(www\.)?example\.com$", Anywhere, {
                exact(&[
                    "http://example.com",
                    "http://www.example.com",
                    "https://example.com",
                    "https://www.example.com",
                ])
            }),
            (r"https://.*\.example\.com", Whole, exact(&["https://*.example.com"])),
            (r"https://([a-z0-9-]+\.)+example\.com", Whole, exact(&["https://*.example.com"])),
            (r"https://([a-z0-9-]+\.)*example\.com", Whole, exact(&["https://example.com", "https://*.example.com"])),
            (r"https://[a-z]+\.example\.com", Whole, Finding::NotExpressible(Some("https://0.example.com".into()))),
            (r"http://localhost(:[0-9]+)?", Whole, exact(&["http://localhost:*"])),
            (r"https://pr-[a-z0-9]+\.preview\.example\.com", Whole, exact(&["https://pr-*.preview.example.com"])),
            (r".*", Whole, exact(&["*"])),
            (r"https://App\.example\.com", Whole, Finding::Nothing),
            (
                r"[a-z]+://example\.net(:[0-9]+)?",
                Whole,
                Finding::Narrower(
                    vec!["https://example.net:*".into(), "http://example.net:*".into()],
                    "a://example.net".into(),
                ),
            ),
            (r"(?i)https://App\.example\.com", Whole, exact(&["https://app.example.com"])),
            // One label is not a corsguard pattern: `*.` reaches any depth.
            (
                r"https://[a-z0-9_-]+\.example\.com",
                Whole,
                Finding::NotExpressible(Some("https://a.a.example.com".into())),
            ),
            // Unanchored: the classic mistakes.
            (
                r"https://.*\.example\.com",
                Anywhere,
                Finding::Narrower(vec!["https://*.example.com".into()], "https://a.example.coma".into()),
            ),
            (
                r"\.example\.com$",
                Anywhere,
                Finding::Narrower(
                    vec!["https://*.example.com".into(), "http://*.example.com".into()],
                    "a://a.example.com".into(),
                ),
            ),
            (
                r"example\.com$",
                Anywhere,
                Finding::Narrower(
                    vec!["https://example.com".into(), "http://example.com".into()],
                    "http://aexample.com".into(),
                ),
            ),
            (
                r"^https://example\.com",
                Anywhere,
                Finding::Narrower(vec!["https://example.com".into()], "https://example.coma".into()),
            ),
            (r"\bexample\.com", Anywhere, Finding::NotExpressible(None)),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(pattern, anchoring, expected)| regex(pattern, *anchoring) != *expected)
            .map(|(pattern, anchoring, _)| format!("{pattern} {anchoring:?}: {:?}", regex(pattern, *anchoring)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_prefix_admitting_longer_hosts_is_narrowed() {
        let prefix = Matcher::text("https://app.example.com", Place::Prefix, false);
        let found = translate(&[prefix]).remove(0);
        assert_eq!(found, Finding::Narrower(vec!["https://app.example.com".into()], "https://app.example.coma".into()));
    }

    #[test]
    fn a_matcher_is_judged_against_the_whole_list() {
        let list = [
            Matcher::regex(r"https://[a-z]+\.example\.com", Anchoring::Whole).unwrap(),
            Matcher::regex(r"https://.*\.example\.com", Anchoring::Whole).unwrap(),
        ];
        let found = translate(&list);
        assert_eq!(found, vec![exact(&["https://*.example.com"]), exact(&["https://*.example.com"])]);
    }

    /// Whether the core, given these `origins`, allows `origin`.
    fn core_allows(policy: &corsguard::Policy, origin: &str) -> bool {
        let request = corsguard::Request {
            method: b"GET",
            scheme: Some(b"https"),
            host: b"api.example.net",
            path: b"/",
            origin: Some(origin.as_bytes()),
            ..corsguard::Request::default()
        };
        match policy.evaluate(&request).action {
            corsguard::Action::Forward(edits) => edits.headers.get("access-control-allow-origin").is_some(),
            _ => false,
        }
    }

    /// Soundness, checked without this module's automata: for random regexes built from the parts
    /// origin regexes are made of, whatever the written entries let the core allow, the source
    /// regex (the `regex` crate, anchored or searching as the source does) matched; and where the
    /// finding is exact, the other way round too.
    #[test]
    fn no_translation_admits_an_origin_the_source_refused() {
        const SCHEMES: [&str; 5] = ["https://", "https?://", "[a-z]+://", ".*", "http://"];
        const HOSTS: [&str; 7] =
            ["", "(www\\.)?", ".*\\.", "[a-z0-9-]+\\.", "([a-z0-9-]+\\.)*", "app\\.", "pr-[a-z0-9]+\\."];
        const BASES: [&str; 3] = ["example\\.com", "example\\.com\\.?", "localhost"];
        const ENDS: [&str; 5] = ["", "(:[0-9]+)?", ":8080", ".*", "(:[0-9]{4})?"];
        let origins: Vec<String> = ["https", "http", "ftp"]
            .iter()
            .flat_map(|scheme| {
                [
                    "example.com",
                    "www.example.com",
                    "a.b.example.com",
                    "app.example.com",
                    "app.example.com.evil.net",
                    "evil-example.com",
                    "pr-1.example.com",
                    "pr-.example.com",
                    "localhost",
                    "example.coma",
                    "x_y.example.com",
                ]
                .iter()
                .flat_map(move |host| {
                    ["", ":8080", ":3000", ":1"].iter().map(move |port| format!("{scheme}://{host}{port}"))
                })
            })
            .chain(["null".to_string()])
            .collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut pick = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(seed >> 33).unwrap_or(0) % n
        };
        let mut checked = 0;
        for _ in 0..160 {
            let anchoring = if pick(2) == 0 { Anchoring::Whole } else { Anchoring::Anywhere };
            let (open, close) = if anchoring == Anchoring::Anywhere && pick(2) == 0 { ("^", "$") } else { ("", "") };
            let pattern = format!(
                "{open}{}{}{}{}{close}",
                SCHEMES[pick(SCHEMES.len())],
                HOSTS[pick(HOSTS.len())],
                BASES[pick(BASES.len())],
                ENDS[pick(ENDS.len())]
            );
            let source = match anchoring {
                Anchoring::Whole => regex::Regex::new(&format!("^(?:{pattern})$")).unwrap(),
                Anchoring::Anywhere => regex::Regex::new(&pattern).unwrap(),
            };
            let finding = translate(&[Matcher::regex(&pattern, anchoring).unwrap()]).remove(0);
            if finding.entries().is_empty() {
                continue;
            }
            let policy = corsguard::Policy::parse(&json!({ "origins": finding.entries() }).to_string()).unwrap();
            // An underscore is left out of the origins compared (see `origins`).
            for origin in origins.iter().filter(|o| !o.contains('_')) {
                let allowed = core_allows(&policy, origin);
                assert!(!allowed || source.is_match(origin), "{pattern} {anchoring:?} -> {finding:?} admits {origin}");
                if matches!(finding, Finding::Exact(_)) && source.is_match(origin) {
                    assert!(
                        allowed || corsguard::Policy::parse(&json!({ "origins": [origin] }).to_string()).is_err(),
                        "{pattern} {anchoring:?} -> {finding:?} refuses {origin}"
                    );
                }
            }
            checked += 1;
        }
        assert!(checked >= 40, "{checked} regexes translated");
    }

    /// What `entry_regex` says an entry admits is what the core's matcher admits.
    #[test]
    fn the_entries_regex_is_the_cores_reading() {
        let entries = [
            "https://*.example.com",
            "https://pr-*.example.com",
            "http://localhost:*",
            "https://a.example.com:8443",
            "null",
            "*",
        ];
        let origins = [
            "https://example.com",
            "https://a.example.com",
            "https://a.b.example.com",
            "https://pr-1.example.com",
            "https://pr-.example.com",
            "https://pr-a-b.example.com",
            "https://pr-x.a.example.com",
            "http://localhost",
            "http://localhost:3000",
            "https://a.example.com:8443",
            "https://a.example.com:8444",
            "null",
            "https://x_y.example.com",
        ];
        for entry in entries {
            let policy = corsguard::Policy::parse(&json!({ "origins": [entry] }).to_string()).unwrap();
            let written = regex_automata::meta::Regex::new(&format!("^(?:{})$", entry_regex(entry))).unwrap();
            for origin in origins {
                assert_eq!(written.is_match(origin), core_allows(&policy, origin), "{entry} {origin}");
            }
        }
    }
}
