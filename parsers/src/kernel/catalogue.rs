//! The catalogue of kernel events worth alerting on: data, not code.
//!
//! A catalogue is an ordered list of rows `(class, severity, needles, pattern)`. Several rows
//! may share a class (different wordings, or different severities for the same class). The
//! built-in rows live in one table, [`super::builtin::BUILTIN`]; users add rows with
//! [`Catalogue::with`] (from configuration), and their rows are tried *before* the built-in
//! ones, so a user row can refine or override a built-in class.
//!
//! Matching a message costs one Aho-Corasick scan over every row's literal needles (the
//! built-in rows use 64), so an ordinary line never reaches a regex. The automaton has
//! standard (overlapping) semantics, for which aho-corasick builds no SIMD "Teddy"
//! prefilter; a second, leftmost-first automaton for the "any needle?" test does get Teddy
//! but measured no faster on the bench corpus (benches/examples/kernel_classify.rs), where
//! the regexes of the rows that a needle selects take most of the time. Only the rows
//! whose needle occurs are tried, in catalogue order; the first row whose regex matches
//! wins. A row without needles has its regex tried on every message (the regex crate still
//! uses its own literal prefilter, but such rows cost more: prefer giving needles).
//!
//! Patterns are Rust `regex` syntax over bytes (messages may hold non-UTF-8 bytes), matched
//! against the whole message text (the kernel prefix and timestamp already stripped; an
//! embedded newline stays `\n`). Every named capture group that participates in the match
//! becomes a fact `name → value` (lossy UTF-8) in the event's `facts` column. Built-in rows
//! run with Unicode off (`(?-u)`: `.` matches any byte, `\w`/`\d` are ASCII); a user row runs
//! in the regex crate's default Unicode mode unless it starts with `(?-u)` itself, and then
//! `.` does not match bytes that are not UTF-8.

use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::bytes::Regex;

use super::builtin::BUILTIN;

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
    /// The value of fact `key`, if captured.
    pub fn fact(&self, key: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An ordered, compiled set of catalogue rows with a literal prefilter.
#[derive(Debug)]
pub struct Catalogue {
    rows: Vec<Row>,
    /// Needle automaton; pattern id → index into `needle_rows`.
    needles: AhoCorasick,
    /// For each needle, the rows it selects.
    needle_rows: Vec<Vec<usize>>,
    /// Rows without needles: always tried.
    always: Vec<usize>,
}

static BUILTIN_CATALOGUE: LazyLock<Arc<Catalogue>> =
    LazyLock::new(|| Arc::new(Catalogue::with(&[]).expect("the built-in catalogue compiles")));

fn severity_of(s: &str) -> Option<&'static str> {
    SEVERITIES.iter().copied().find(|x| *x == s)
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
        let mut needle_list: Vec<String> = Vec::new();
        let mut needle_rows: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for spec in specs {
            let i = rows.len();
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
            if spec.needles.is_empty() {
                always.push(i);
            }
            for n in &spec.needles {
                match needle_list.iter().position(|x| x == n) {
                    Some(p) => needle_rows[p].push(i),
                    None => {
                        needle_list.push(n.clone());
                        needle_rows.push(vec![i]);
                    }
                }
            }
            rows.push(Row {
                name: Arc::from(spec.name.as_str()),
                severity,
                regex,
                names,
            });
        }
        let needles = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&needle_list)
            .map_err(|e| format!("kernel catalogue needles: {e}"))?;
        Ok(Catalogue {
            rows,
            needles,
            needle_rows,
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

    /// Classifies one message: the first row (in order) whose needle occurs and whose
    /// pattern matches.
    pub fn classify(&self, text: &[u8]) -> Option<Classified> {
        // Fast path: one prefilter scan; most messages hold no needle at all.
        if self.always.is_empty() && !self.needles.is_match(text) {
            return None;
        }
        // Candidate rows as a small sorted set.
        let mut cand: Vec<usize> = Vec::new();
        for m in self.needles.find_overlapping_iter(text) {
            cand.extend_from_slice(&self.needle_rows[m.pattern().as_usize()]);
        }
        if cand.is_empty() && self.always.is_empty() {
            return None;
        }
        cand.extend_from_slice(&self.always);
        cand.sort_unstable();
        cand.dedup();
        for i in cand {
            let row = &self.rows[i];
            if let Some(caps) = row.regex.captures(text) {
                let mut facts = Vec::new();
                for (g, name) in row.names.iter().enumerate() {
                    if let (Some(name), Some(m)) = (name, caps.get(g)) {
                        facts.push((name.clone(), String::from_utf8_lossy(m.as_bytes()).into()));
                    }
                }
                return Some(Classified {
                    row: i,
                    class: row.name.clone(),
                    severity: row.severity,
                    facts,
                });
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
