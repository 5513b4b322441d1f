//! The catalogue of kernel events worth alerting on: data, not code.
//!
//! A catalogue is an ordered list of rows `(class, severity, needles, pattern)`. Several rows
//! may share a class (different wordings, or different severities for the same class). The
//! built-in rows live in one table, [`super::builtin::BUILTIN`]; users add rows with
//! [`Catalogue::with`] (from configuration), and their rows are tried *before* the built-in
//! ones, so a user row can refine or override a built-in class.
//!
//! A row matches a message when one of its needles (literal substrings) occurs in it and its
//! regex matches it; a row without needles needs only its regex. The first row in catalogue
//! order that matches wins. How that is found cheaply, without changing the answer:
//!
//! * A row whose pattern is anchored at the start (`^…` or `\A…`, on every branch) and whose
//!   matches all begin with one of a few literals (extracted from the pattern with
//!   `regex-syntax`, e.g. `^sd \d` → `sd 0` … `sd 9`) is a candidate only for messages that
//!   start with one of them: a table by first byte and a comparison select it. Its needles
//!   are then checked with prebuilt `memmem` finders. Most built-in rows are of this kind.
//! * Every other row with needles (unanchored patterns such as the link and AppArmor rows, or
//!   an anchored pattern starting with `.+?`) is selected by its needles: one leftmost-first
//!   Aho-Corasick search over only those rows' needles (few, so it runs the SIMD Teddy
//!   searcher). Its first match is the earliest needle occurrence, so a selected row's own
//!   needles are then looked for from there on, only when the row's turn comes.
//! * A row with neither is tried on every message (the regex crate still uses its own
//!   literal prefilter, but such rows cost more: prefer giving needles or a literal start).
//!
//! The selected rows are tried in catalogue order. Where the pattern allows (all built-in
//! rows do), a small backtracking program compiled from it (`capture.rs`) decides the match
//! and the groups' spans at once, a few instructions per byte where the regex crate's
//! capturing engines take tens; for an unanchored pattern that does not start with a
//! literal, the regex's DFA finds where the match starts. Other patterns, and messages that
//! exhaust the program's step budget, use the regex crate's `captures`.
//!
//! Patterns are Rust `regex` syntax over bytes (messages may hold non-UTF-8 bytes), matched
//! against the whole message text (the kernel prefix and timestamp already stripped; an
//! embedded newline stays `\n`). Every named capture group that participates in the match
//! becomes a fact `name → value` (lossy UTF-8) in the event's `facts` column. Built-in rows
//! run with Unicode off (`(?-u)`: `.` matches any byte, `\w`/`\d` are ASCII); a user row runs
//! in the regex crate's default Unicode mode unless it starts with `(?-u)` itself, and then
//! `.` does not match bytes that are not UTF-8.

use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, MatchKind, packed};
use memchr::memmem;
use regex::bytes::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, Look};

use super::builtin::BUILTIN;
use super::capture::{self, Program};

/// Severities a row may carry, from most to least urgent.
pub const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// One user-supplied catalogue row (owned strings, as read from configuration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassSpec {
    /// Class name stored in `class` (a metric label: keep it short and stable).
    pub name: String,
    /// One of [`SEVERITIES`].
    pub severity: String,
    /// Literal substrings, any of which must occur for the pattern to be tried; empty means
    /// "always try the pattern".
    pub needles: Vec<String>,
    /// Regex (Rust `regex` syntax, byte-oriented) with named captures for the facts.
    pub pattern: String,
}

/// A compiled catalogue row.
#[derive(Debug)]
pub struct Row {
    /// Class name.
    pub name: Arc<str>,
    /// Severity (one of [`SEVERITIES`]).
    pub severity: &'static str,
    /// The compiled pattern.
    pub regex: Regex,
    /// Capture group names by group index (None for unnamed groups).
    names: Vec<Option<Arc<str>>>,
    /// Literals every match starts with (anchored patterns only); empty = no such gate.
    starts: Vec<Box<[u8]>>,
    /// The longest common prefix of `starts`: one comparison rejects most messages.
    start_common: Box<[u8]>,
    /// The needles as finders: which of them occur, once the row is selected.
    finders: Vec<memmem::Finder<'static>>,
    /// For a row selected by its needles: their pattern ids in the needle automaton.
    needle_ids: Vec<u32>,
    /// The backtracking capture program, when the pattern's constructs allow one.
    program: Option<Program>,
}

/// A classified message: which row matched and the facts its named groups captured.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    /// Index of the matching row in [`Catalogue::rows`].
    pub row: usize,
    /// Class name.
    pub class: Arc<str>,
    /// Severity.
    pub severity: &'static str,
    /// Named captures, in group order.
    pub facts: Vec<(Arc<str>, String)>,
}

impl Classified {
    /// Row `i`'s class, with the facts its pattern captured.
    fn by(i: usize, row: &Row, facts: Vec<(Arc<str>, String)>) -> Classified {
        Classified {
            row: i,
            class: row.name.clone(),
            severity: row.severity,
            facts,
        }
    }

    /// The value of fact `key`, if captured.
    pub fn fact(&self, key: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An ordered, compiled set of catalogue rows with literal prefilters (see the module docs).
#[derive(Debug)]
pub struct Catalogue {
    rows: Vec<Row>,
    /// Rows gated by their start literals, by the literals' first bytes (ascending rows).
    by_first: Vec<Vec<u32>>,
    /// The needles of the rows selected by needles. Leftmost-first: it gets the Teddy
    /// searcher, and its first match starts where the earliest needle occurrence does.
    needles: Option<Needles>,
    /// Rows selected by needles, ascending.
    needle_gated: Vec<u32>,
    /// Rows with neither start literals nor needles: always tried.
    always: Vec<u32>,
}

static BUILTIN_CATALOGUE: LazyLock<Arc<Catalogue>> =
    LazyLock::new(|| Arc::new(Catalogue::with(&[]).expect("the built-in catalogue compiles")));

fn severity_of(s: &str) -> Option<&'static str> {
    SEVERITIES.iter().copied().find(|x| *x == s)
}

/// Most start literals a row keeps; more are shortened (a shorter prefix is still a sound
/// gate, only a looser one).
const MAX_STARTS: usize = 16;

/// The literals every match of `pattern` starts with, when it is anchored at the start and
/// they are few and non-empty; otherwise none (the row is not gated by its start).
fn start_literals(hir: &Hir) -> Vec<Box<[u8]>> {
    if !is_anchored(hir) {
        return Vec::new();
    }
    let mut seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    loop {
        let Some(lits) = seq.literals() else {
            return Vec::new();
        };
        let longest = lits.iter().map(|l| l.as_bytes().len()).max().unwrap_or(0);
        if lits.is_empty() || lits.iter().any(|l| l.as_bytes().is_empty()) {
            return Vec::new();
        }
        if lits.len() <= MAX_STARTS {
            return lits.iter().map(|l| l.as_bytes().into()).collect();
        }
        if longest <= 1 {
            return Vec::new();
        }
        seq.keep_first_bytes(longest / 2);
        seq.dedup();
    }
}

fn is_anchored(hir: &Hir) -> bool {
    hir.properties().look_set_prefix().contains(Look::Start)
}

/// The leftmost-first needle search: the packed (Teddy) searcher itself when it supports
/// the set, which saves the automaton's layers around it on short messages.
#[derive(Debug)]
enum Needles {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Needles {
    fn new(needles: &[String]) -> Result<Needles, String> {
        let packed = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(needles)
            .build();
        if let Some(p) = packed {
            return Ok(Needles::Packed(p));
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(needles)
            .map_err(|e| format!("kernel catalogue needles: {e}"))?;
        Ok(Needles::Automaton(ac))
    }

    /// The earliest occurrence: (needle id, start).
    fn find(&self, text: &[u8]) -> Option<(u32, usize)> {
        let m = match self {
            Needles::Packed(p) => p.find(text)?,
            Needles::Automaton(a) => a.find(text)?,
        };
        Some((m.pattern().as_u32(), m.start()))
    }
}

/// Rows as a bit set, on the stack for catalogues of up to 256 rows.
enum RowSet {
    Small([u64; 4]),
    Large(Vec<u64>),
}

impl RowSet {
    fn new(rows: usize) -> Self {
        if rows <= 256 {
            RowSet::Small([0; 4])
        } else {
            RowSet::Large(vec![0; rows.div_ceil(64)])
        }
    }

    fn words(&mut self) -> &mut [u64] {
        match self {
            RowSet::Small(w) => w,
            RowSet::Large(w) => w,
        }
    }

    fn insert(&mut self, row: u32) {
        self.words()[(row / 64) as usize] |= 1 << (row % 64);
    }
}

impl Catalogue {
    /// The built-in catalogue (compiled once per process, shared).
    pub fn builtin() -> Arc<Catalogue> {
        BUILTIN_CATALOGUE.clone()
    }

    /// The built-in catalogue with `extra` rows tried first. The error names the row whose
    /// name, severity or pattern is bad, and why.
    pub fn with(extra: &[ClassSpec]) -> Result<Catalogue, String> {
        let builtin = BUILTIN.iter().map(|b| ClassSpec {
            name: b.name.to_string(),
            severity: b.severity.to_string(),
            needles: b.needles.iter().map(|n| n.to_string()).collect(),
            // Byte-oriented: `.` and `[^x]` also match bytes that are not UTF-8 (task names).
            pattern: format!("(?-u){}", b.pattern),
        });
        Catalogue::from_specs(extra.iter().cloned().chain(builtin))
    }

    /// A catalogue of exactly these rows, in this order (no built-in rows).
    pub fn from_specs(specs: impl IntoIterator<Item = ClassSpec>) -> Result<Catalogue, String> {
        let mut rows = Vec::new();
        let mut by_first = vec![Vec::new(); 256];
        let mut needle_list: Vec<String> = Vec::new();
        let mut needle_gated = Vec::new();
        let mut always = Vec::new();
        for spec in specs {
            let i = u32::try_from(rows.len()).map_err(|_| "kernel catalogue: too many rows")?;
            if spec.name.is_empty()
                || !spec
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(format!(
                    "kernel class {:?}: name must be non-empty [A-Za-z0-9_]",
                    spec.name
                ));
            }
            let severity = severity_of(&spec.severity).ok_or_else(|| {
                format!(
                    "kernel class {:?}: severity {:?} is not one of {}",
                    spec.name,
                    spec.severity,
                    SEVERITIES.join(", ")
                )
            })?;
            let regex = Regex::new(&spec.pattern).map_err(|e| {
                format!(
                    "kernel class {:?}: bad pattern {:?}: {e}",
                    spec.name, spec.pattern
                )
            })?;
            let names = regex.capture_names().map(|n| n.map(Arc::from)).collect();
            if spec.needles.iter().any(String::is_empty) {
                return Err(format!("kernel class {:?}: empty needle", spec.name));
            }
            // As `regex::bytes::Regex` parses it: bytes mode allows patterns matching invalid
            // UTF-8. (It parsed there, so it parses here.)
            let hir = regex_syntax::ParserBuilder::new()
                .utf8(false)
                .build()
                .parse(&spec.pattern)
                .map_err(|e| format!("kernel class {:?}: bad pattern: {e}", spec.name))?;
            let starts = start_literals(&hir);
            let finders = spec
                .needles
                .iter()
                .map(|n| memmem::Finder::new(n.as_bytes()).into_owned())
                .collect();
            let mut needle_ids = Vec::new();
            if !starts.is_empty() {
                let mut firsts: Vec<u8> = starts.iter().map(|l| l[0]).collect();
                firsts.dedup();
                for b in firsts {
                    if by_first[usize::from(b)].last() != Some(&i) {
                        by_first[usize::from(b)].push(i);
                    }
                }
            } else if spec.needles.is_empty() {
                always.push(i);
            } else {
                needle_gated.push(i);
                for n in &spec.needles {
                    let id = needle_list.iter().position(|x| x == n).unwrap_or_else(|| {
                        needle_list.push(n.clone());
                        needle_list.len() - 1
                    });
                    needle_ids.push(id as u32);
                }
            }
            let start_common = starts
                .iter()
                .skip(1)
                .fold(starts.first().map_or(&[][..], |s| &s[..]), |acc, s| {
                    let n = acc.iter().zip(s.iter()).take_while(|(a, b)| a == b).count();
                    &acc[..n]
                })
                .into();
            rows.push(Row {
                name: Arc::from(spec.name.as_str()),
                severity,
                regex,
                names,
                starts,
                start_common,
                finders,
                needle_ids,
                program: Program::new(&spec.pattern),
            });
        }
        let needles = if needle_list.is_empty() {
            None
        } else {
            Some(Needles::new(&needle_list)?)
        };
        Ok(Catalogue {
            rows,
            by_first,
            needles,
            needle_gated,
            always,
        })
    }

    /// The compiled rows, in matching order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Distinct class names, in first-appearance order.
    pub fn class_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !out.contains(&&*r.name) {
                out.push(&r.name);
            }
        }
        out
    }

    /// Classifies one message: the first row (in order) whose needle occurs (if it has
    /// needles) and whose pattern matches.
    pub fn classify(&self, text: &[u8]) -> Option<Classified> {
        self.classify_utf8(text, None)
    }

    /// [`Catalogue::classify`], given `text` as a `str` when the caller already knows it is
    /// UTF-8 (the decoder checks each message once, for its `message` column): the facts
    /// are then sliced from it instead of each being checked again. `utf8`, when given,
    /// must be `text`. Public for the fuzz target.
    #[doc(hidden)]
    pub fn classify_utf8(&self, text: &[u8], utf8: Option<&str>) -> Option<Classified> {
        debug_assert!(utf8.is_none_or(|s| s.as_bytes() == text));
        let mut cand = RowSet::new(self.rows.len());
        let mut any = false;
        if let Some(&b) = text.first() {
            for &i in &self.by_first[usize::from(b)] {
                let row = &self.rows[i as usize];
                if text.starts_with(&row.start_common)
                    && row.starts.iter().any(|s| text.starts_with(s))
                {
                    cand.insert(i);
                    any = true;
                }
            }
        }
        // The earliest needle occurrence: every other one starts at or after it.
        let hit = self.needles.as_ref().and_then(|n| n.find(text));
        if hit.is_some() {
            for &i in &self.needle_gated {
                cand.insert(i);
                any = true;
            }
        }
        for &i in &self.always {
            cand.insert(i);
            any = true;
        }
        if !any {
            return None;
        }
        for (w, &bits) in cand.words().iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let row = &self.rows[i];
                let needle_found = match hit {
                    _ if row.finders.is_empty() => true,
                    Some((id, at)) if !row.needle_ids.is_empty() => {
                        row.needle_ids.contains(&id)
                            || row.finders.iter().any(|f| f.find(&text[at..]).is_some())
                    }
                    _ => row.finders.iter().any(|f| f.find(text).is_some()),
                };
                if !needle_found {
                    continue;
                }
                let Some(facts) = self.facts(row, text, utf8) else {
                    continue;
                };
                return Some(Classified::by(i, row, facts));
            }
        }
        None
    }

    /// Messages the built-in rows classify (and a few that no row does), one per line: the
    /// seeds from which the fuzz target and the tests mutate inputs for
    /// [`Catalogue::classify_reference`].
    #[doc(hidden)]
    pub fn examples() -> impl Iterator<Item = &'static str> {
        include_str!("catalogue_examples.txt").lines()
    }

    /// The answer [`Catalogue::classify`] must give, found the slow, obvious way: every row
    /// in order, its needles looked for in the whole message and its pattern matched by the
    /// regex crate alone (no start-literal gate, no needle automaton, no capture program).
    /// For the fuzz target and the tests that hold `classify` to it.
    #[doc(hidden)]
    pub fn classify_reference(&self, text: &[u8]) -> Option<Classified> {
        self.rows.iter().enumerate().find_map(|(i, row)| {
            let needles = row.finders.iter().map(|f| f.needle());
            if row.finders.is_empty() || needles.clone().any(|n| memmem::find(text, n).is_some()) {
                let caps = row.regex.captures(text)?;
                let facts = row
                    .names
                    .iter()
                    .zip(caps.iter())
                    .filter_map(|(name, m)| {
                        let v = String::from_utf8_lossy(m?.as_bytes()).into_owned();
                        Some((name.clone()?, v))
                    })
                    .collect();
                return Some(Classified::by(i, row, facts));
            }
            None
        })
    }

    /// The facts of `row` on `text` if its pattern matches.
    fn facts(&self, row: &Row, text: &[u8], utf8: Option<&str>) -> Option<Vec<(Arc<str>, String)>> {
        // A span of a UTF-8 text is UTF-8 when it starts and ends on character boundaries,
        // which `str::get` checks in two comparisons.
        let fact = |name: &Option<Arc<str>>, a: usize, b: usize| {
            let v = match utf8.and_then(|t| t.get(a..b)) {
                Some(v) => v.to_owned(),
                None => match std::str::from_utf8(&text[a..b]) {
                    Ok(v) => v.to_owned(),
                    Err(_) => String::from_utf8_lossy(&text[a..b]).into_owned(),
                },
            };
            (name.clone().expect("named"), v)
        };
        if let Some(p) = &row.program {
            // Where a match starts: the program finds it for an anchored pattern or one
            // starting with a literal, the regex's DFA for the others.
            let start = if p.finds_start() {
                None
            } else {
                Some(row.regex.find(text)?.start())
            };
            let mut small = [capture::NONE; 32];
            let mut large = Vec::new();
            let slots = if p.slot_count() <= small.len() {
                &mut small[..p.slot_count()]
            } else {
                large.resize(p.slot_count(), capture::NONE);
                &mut large[..]
            };
            let found = match start {
                None => p.captures(text, slots),
                Some(at) => p.captures_at(text, at, slots),
            };
            // The program's "no match" is final when it looked for the start itself.
            if found == Ok(false) && start.is_none() {
                return None;
            }
            if found == Ok(true) {
                let mut facts = Vec::with_capacity(row.names.len() - 1);
                for (g, name) in row.names.iter().enumerate() {
                    let (a, b) = (slots[2 * g], slots[2 * g + 1]);
                    if name.is_some() && a != capture::NONE && b != capture::NONE {
                        facts.push(fact(name, a, b));
                    }
                }
                return Some(facts);
            }
            // Out of budget (or, never seen, at odds with the DFA): the regex crate's engines.
        }
        let caps = row.regex.captures(text)?;
        let mut facts = Vec::with_capacity(row.names.len() - 1);
        for (g, name) in row.names.iter().enumerate() {
            if let (Some(_), Some(m)) = (name, caps.get(g)) {
                facts.push(fact(name, m.start(), m.end()));
            }
        }
        Some(facts)
    }
}

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "catalogue_reference_tests.rs"]
mod reference_tests;
