//! Statement fingerprints, byte for byte as pt-query-digest 3.2.1 computes them
//! (`QueryRewriter::fingerprint`), and its checksum id (`make_checksum`).
//!
//! pt-query-digest rewrites the statement with a fixed sequence of Perl regular
//! expressions, each applied to the result of the previous one. This module applies the same
//! sequence with the same Perl semantics on bytes (`\s` = space, `\t`, `\n`, `\x0B`, `\f`,
//! `\r`; `\w` = ASCII letters, digits, `_`; `lc` changes ASCII only), fusing steps that can be
//! fused without changing the result, so that a statement is read a few times rather than
//! twenty:
//!
//! 1. whole-statement cases, returned at once: `SELECT /*!40001 SQL_NO_CACHE */ * FROM \``
//!    → `mysqldump`; a `/*db.tbl:1/2*/` comment → `percona-toolkit`;
//!    `administrator command: ...` as it is; `CALL name(` → `call name`;
//! 2. a multi-row `INSERT|REPLACE [IGNORE] INTO ... VALUES (...), (...)` is cut after its
//!    first row;
//! 3. `/* ... */` comments (not `/*!`) and `--` / `#` comments to the end of the line are
//!    removed ([`literals`]); `use db` → `use ?` (returned at once);
//! 4. `\"` and `\'` are dropped, then `"..."` and then `'...'` become `?`;
//! 5. in one pass: `true`/`false` and numbers (`[0-9+-][0-9a-f.xb+-]*`, so hex, signs and
//!    exponents, and digits inside identifiers: `t1` → `t?`) become `?`, a `x`, `b`, `.`,
//!    `+` or `-` before a `?` merges into it (`0x?`, `b'1'`), leading whitespace and one
//!    trailing newline go, runs of whitespace become one space, and ASCII is lowercased;
//! 6. `null` → `?`; `IN (?, ?)` and `VALUES (?), (?)` lists → `in(?+)` / `values(?+)`;
//!    `select X union [all] select X ...` → `select X /*repeat union [all]*/`; the first
//!    `limit ?, ?` / `limit ? offset ?` → `limit ?`; ` asc` after `ORDER BY` is removed
//!    ([`clauses`]).
//!
//! One addition for PostgreSQL, in [`fingerprint`] and [`Fingerprinter::with_bind_parameters`]
//! only: a `$` followed by digits (a bind parameter `$1`) becomes `?` when the `$` does not
//! continue an identifier (is not after a letter, digit, `_` or `$`), so `IN ($1, $2)` is
//! `in(?+)`; pt-query-digest gives `$?`. [`Fingerprinter::new`] is pt-query-digest exactly
//! (MySQL identifiers may start with `$`).
//!
//! The fingerprint of valid UTF-8 is valid UTF-8 (every rewrite cuts at ASCII bytes).
//! The checksum is the MD5 of the fingerprint's bytes as 32 upper-case hex digits, which is
//! what pt-query-digest 3.x prints as the query ID (`0x` + these digits; 2.x printed the
//! last 16).

mod clauses;
mod literals;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::sync::LazyLock;

use md5::{Digest, Md5};
use memchr::memchr;
use memchr::memmem::Finder;

/// A substring searcher built once (building one per search costs more than the search).
pub(crate) type Needle = LazyLock<Finder<'static>>;

/// `static X: Needle = needle!(b"...")`.
macro_rules! needle {
    ($lit:expr) => {
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new($lit))
    };
}
pub(crate) use needle;

/// Haystacks shorter than this are searched byte by byte: most statements are short, and
/// there setting up a vector search costs more than the search.
const SHORT: usize = 64;

/// Non-overlapping occurrences of `needle` in `hay`, first to last, as
/// `Finder::find_iter` gives them.
pub(crate) fn find_iter<'h>(
    needle: &'static Needle,
    hay: &'h [u8],
) -> impl Iterator<Item = usize> + 'h {
    let lit = needle.needle();
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = hay.get(at..)?;
        let k = if rest.len() < SHORT {
            // A plain scan: a vector search per candidate costs more than these few bytes.
            let (first, tail) = (lit[0], &lit[1..]);
            let mut i = 0;
            loop {
                i += rest.get(i..)?.iter().position(|&b| b == first)?;
                if rest[i + 1..].starts_with(tail) {
                    break i;
                }
                i += 1;
            }
        } else {
            needle.find(rest)?
        };
        at += k + lit.len();
        Some(at - lit.len())
    })
}

/// Positions of `/*` in `s`.
pub(crate) fn comment_opens(s: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'/', s).filter(move |&i| s.get(i + 1) == Some(&b'*'))
}

/// `\s` of Perl on bytes.
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// `\w` of Perl on bytes.
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `s[at..]` starts with `lit`, ASCII case-insensitively.
#[inline]
pub(crate) fn starts_ci(s: &[u8], at: usize, lit: &[u8]) -> bool {
    s.get(at..at + lit.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(lit))
}

/// Reusable buffers for fingerprinting many statements without allocating.
#[derive(Debug, Default)]
pub struct Fingerprinter {
    cur: Vec<u8>,
    tmp: Vec<u8>,
    bind_parameters: bool,
}

impl Fingerprinter {
    /// A fingerprinter that gives exactly pt-query-digest's fingerprints.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fingerprinter that also turns PostgreSQL's `$1` parameters into `?`.
    pub fn with_bind_parameters() -> Self {
        Fingerprinter {
            bind_parameters: true,
            ..Self::default()
        }
    }

    /// The fingerprint of `statement` as bytes (valid UTF-8 when `statement` is), borrowed
    /// until the next call.
    pub fn fingerprint(&mut self, statement: &[u8]) -> &[u8] {
        let q = statement;
        let (cur, tmp) = (&mut self.cur, &mut self.tmp);
        cur.clear();
        if q.starts_with(b"SELECT /*!40001 SQL_NO_CACHE */ * FROM `") {
            cur.extend_from_slice(b"mysqldump");
            return cur;
        }
        // Most statements have no comment and no quote: one scan for the bytes that start
        // one rules out the passes that look for them.
        let (comments, quotes_in_q) = openers(q);
        if comments && has_toolkit_comment(q) {
            cur.extend_from_slice(b"percona-toolkit");
            return cur;
        }
        if q.starts_with(b"administrator command: ") {
            cur.extend_from_slice(q);
            return cur;
        }
        if let Some(call) = call_name(q) {
            cur.extend(call.iter().map(u8::to_ascii_lowercase));
            return cur;
        }
        cur.extend_from_slice(first_insert_row(q));
        if comments && literals::block_comments(cur, tmp) {
            std::mem::swap(cur, tmp);
        }
        if comments && literals::line_comments(cur, tmp) {
            std::mem::swap(cur, tmp);
        }
        if let Some(rest) = use_db_rest(cur) {
            tmp.clear();
            tmp.extend_from_slice(b"use ?");
            tmp.extend_from_slice(&cur[rest..]);
            std::mem::swap(cur, tmp);
            return cur;
        }
        let quotes = quotes_in_q && memchr::memchr3(b'\\', b'"', b'\'', cur).is_some();
        if quotes && literals::escaped_quotes(cur, tmp) {
            std::mem::swap(cur, tmp);
        }
        if quotes && literals::quoted(cur, b'"', tmp) {
            std::mem::swap(cur, tmp);
        }
        if quotes && literals::quoted(cur, b'\'', tmp) {
            std::mem::swap(cur, tmp);
        }
        literals::values_and_case(cur, self.bind_parameters, tmp);
        std::mem::swap(cur, tmp);
        clauses::rewrite(cur, tmp);
        cur
    }
}

/// [`OPENERS`] bit of `/`, `#`, `-`: bytes that may open a comment.
const COMMENT: u8 = 1;
/// [`OPENERS`] bit of `\`, `"`, `'`: bytes that may start a quoted string.
const QUOTE: u8 = 2;

/// [`COMMENT`] and [`QUOTE`] bits of each byte.
static OPENERS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'/' as usize] = COMMENT;
    t[b'#' as usize] = COMMENT;
    t[b'-' as usize] = COMMENT;
    t[b'\\' as usize] = QUOTE;
    t[b'"' as usize] = QUOTE;
    t[b'\'' as usize] = QUOTE;
    t
};

/// Whether `q` has a byte that may open a comment, and one that may start a quoted string
/// (true when unsure: a long `q` is not scanned for quotes here). A short statement is
/// scanned once with a table, cheaper there than two vector searches.
fn openers(q: &[u8]) -> (bool, bool) {
    if q.len() < SHORT {
        let bits = q.iter().fold(0, |m, &b| m | OPENERS[usize::from(b)]);
        (bits & COMMENT != 0, bits & QUOTE != 0)
    } else {
        (memchr::memchr3(b'/', b'#', b'-', q).is_some(), true)
    }
}

/// `m#/\*\w+\.\w+:[0-9]/[0-9]\*/#`: the comment Percona Toolkit tools put in their queries.
fn has_toolkit_comment(q: &[u8]) -> bool {
    let words = |from: usize| from + q[from..].iter().take_while(|&&b| is_word(b)).count();
    comment_opens(q).any(|i| {
        let a = words(i + 2);
        if a == i + 2 || q.get(a) != Some(&b'.') {
            return false;
        }
        let b = words(a + 1);
        b > a + 1
            && q.get(b) == Some(&b':')
            && q.get(b + 1).is_some_and(u8::is_ascii_digit)
            && q.get(b + 2) == Some(&b'/')
            && q.get(b + 3).is_some_and(u8::is_ascii_digit)
            && q.get(b + 4..b + 6) == Some(b"*/")
    })
}

/// `m/\A\s*(call\s+\S+)\(/i`: the `call name` part of a procedure call. `\S+` is greedy, so
/// it ends at the last `(` of the first word (`call p(f(1))` → `call p(f`), as in Perl.
fn call_name(q: &[u8]) -> Option<&[u8]> {
    let start = q.iter().take_while(|&&b| is_space(b)).count();
    if !starts_ci(q, start, b"call") || !q.get(start + 4).is_some_and(|&b| is_space(b)) {
        return None;
    }
    let name = start + 4 + q[start + 4..].iter().take_while(|&&b| is_space(b)).count();
    let end = name + q[name..].iter().take_while(|&&b| !is_space(b)).count();
    let paren = memchr::memrchr(b'(', q.get(name + 1..end)?)? + name + 1;
    Some(&q[start..paren])
}

/// `m/\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(/is`: a multi-row
/// insert cut after its first row, or `q` itself.
///
/// The lazy `.+?` and `.*?` make Perl take the first `VALUES` followed by `(`, then the first
/// `)` after it that is followed by `, (`; a later `VALUES` can only have fewer candidates,
/// so when that `)` does not exist nothing matches.
fn first_insert_row(q: &[u8]) -> &[u8] {
    let verb = if starts_ci(q, 0, b"INSERT") {
        6
    } else if starts_ci(q, 0, b"REPLACE") {
        7
    } else {
        return q;
    };
    let mut i = verb;
    if starts_ci(q, i, b" IGNORE") {
        i += 7;
    }
    let ws = q[i..].iter().take_while(|&&b| is_space(b)).count();
    if ws == 0 || !starts_ci(q, i + ws, b"INTO") {
        return q;
    }
    let skip_ws = |j: usize| j + q[j..].iter().take_while(|&&b| is_space(b)).count();
    let mut from = i + ws + 5;
    while let Some(v) = find_ci(q, from, b"VALUES") {
        let open = skip_ws(v + 6);
        if q.get(open) == Some(&b'(') {
            let mut c_from = open + 1;
            while let Some(k) = memchr(b')', &q[c_from.min(q.len())..]) {
                let close = c_from + k;
                let comma = skip_ws(close + 1);
                if q.get(comma) == Some(&b',') && q.get(skip_ws(comma + 1)) == Some(&b'(') {
                    return &q[..=close];
                }
                c_from = close + 1;
            }
            return q;
        }
        from = v + 1;
    }
    q
}

/// First ASCII case-insensitive occurrence of `lit` (upper-case ASCII) at or after `from`.
fn find_ci(s: &[u8], from: usize, lit: &[u8]) -> Option<usize> {
    let first = lit[0];
    let mut at = from;
    while at < s.len() {
        let k = memchr::memchr2(first, first.to_ascii_lowercase(), &s[at..])?;
        if starts_ci(s, at + k, lit) {
            return Some(at + k);
        }
        at += k + 1;
    }
    None
}

/// `s/\Ause \S+\Z/use ?/i`: where the text after `use ?` starts (a final newline is kept,
/// as Perl's `\Z` leaves it), when the statement is `use db`.
fn use_db_rest(s: &[u8]) -> Option<usize> {
    if !starts_ci(s, 0, b"use ") {
        return None;
    }
    let end = 4 + s[4..].iter().take_while(|&&b| !is_space(b)).count();
    let at_end = end == s.len() || (end + 1 == s.len() && s[end] == b'\n');
    (end > 4 && at_end).then_some(end)
}

thread_local! {
    static SHARED: RefCell<Fingerprinter> = RefCell::new(Fingerprinter::with_bind_parameters());
}

/// Writes the fingerprint of `statement` into `out` (cleared first), as pt-query-digest
/// 3.2.1 computes it (see the module docs; PostgreSQL `$1` parameters become `?`). Bytes
/// that are not UTF-8 are replaced by U+FFFD; use [`Fingerprinter`] for the exact bytes.
pub fn fingerprint(statement: &[u8], out: &mut String) {
    out.clear();
    SHARED.with(|f| {
        let mut f = f.borrow_mut();
        out.push_str(&String::from_utf8_lossy(f.fingerprint(statement)));
    });
}

/// The id of a fingerprint: pt-query-digest's checksum, the MD5 of its bytes as 32
/// upper-case hex digits.
pub fn fingerprint_id(fingerprint: &str) -> String {
    let hex = checksum(fingerprint.as_bytes());
    hex.iter().map(|&b| char::from(b)).collect()
}

/// [`fingerprint_id`] of a fingerprint's bytes, as ASCII hex digits (no allocation).
pub fn checksum(fingerprint: &[u8]) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let digest = Md5::digest(fingerprint);
    let mut out = [0u8; 32];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    out
}
