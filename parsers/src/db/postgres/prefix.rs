//! `log_line_prefix`: compiled once from the configured string, then matched at the start of
//! every stderr line, followed by the severity (`LOG:  `).
//!
//! Typed escapes (`%m %t %s %n %p %l %x %P %Q %c %e %v`) match their own shape; free-text
//! escapes (`%u %d %a %h %r %b %i`) match up to an occurrence of the literal that follows
//! them, trying later occurrences when the rest of the prefix does not match (a database
//! name with a space, an application name with the delimiter in it). `%q` ends the prefix
//! for lines of non-session processes (checkpointer, autovacuum) when the severity follows.

use super::time::parse_pg_timestamp;

/// The severities PostgreSQL writes in English, and the follow-up line kinds.
pub(crate) const FOLLOW_UPS: [&str; 6] = [
    "DETAIL",
    "HINT",
    "CONTEXT",
    "STATEMENT",
    "QUERY",
    "LOCATION",
];

/// Occurrences of a delimiter tried for one free-text escape before giving up.
const MAX_TRIES: usize = 16;
/// Delimiter occurrences tried for a whole line: bounds the backtracking on hostile input.
const LINE_BUDGET: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Lit(String),
    /// `pad`: the padding width, negative for left-justified (`%-10u`), 0 for none.
    Field {
        esc: u8,
        pad: i32,
    },
    /// `%q`.
    Stop,
}

/// A compiled `log_line_prefix`.
#[derive(Debug, Clone)]
pub struct Prefix {
    items: Vec<Item>,
    text: String,
}

/// Values a prefix carried on one line, borrowed from it. Empty values are `None`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct PrefixFields<'a> {
    /// `%m`, else `%n`, else `%t`, µs since the epoch (UTC).
    pub ts_us: Option<i64>,
    /// `%p`.
    pub pid: Option<&'a str>,
    /// `%u`.
    pub user: Option<&'a str>,
    /// `%d`.
    pub database: Option<&'a str>,
    /// `%h`, or the host part of `%r`.
    pub client: Option<&'a str>,
    /// `%a`.
    pub application: Option<&'a str>,
    /// `%c`.
    pub session: Option<&'a str>,
    /// `%l`.
    pub line_num: Option<&'a str>,
    /// `%e`.
    pub sqlstate: Option<&'a str>,
    /// `%b`.
    pub backend_type: Option<&'a str>,
    /// `%i`.
    pub command_tag: Option<&'a str>,
    /// `%x`.
    pub txid: Option<&'a str>,
    /// `%v`.
    pub vxid: Option<&'a str>,
    /// `%Q`.
    pub query_id: Option<&'a str>,
}

/// One matched line: prefix values, the severity, and where the message text starts.
#[derive(Debug, Clone, Copy)]
pub struct LineHead<'a> {
    /// Prefix values.
    pub fields: PrefixFields<'a>,
    /// Severity as written (`LOG`, `ERROR`, `DETAIL`, ...).
    pub level: &'a str,
    /// Byte offset of the message text (after `LEVEL:  `).
    pub text_at: usize,
}

/// How far matching got, and how many more delimiter tries it may make.
struct Track {
    far: usize,
    budget: usize,
}

/// Why a line does not match, with the byte where matching stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoMatch {
    /// Byte offset within the line.
    pub at: usize,
    /// The timestamp had the right shape but not a valid value (or an unknown zone).
    pub bad_time: bool,
}

const ESCAPES: &[u8] = b"audrhbpPtmnieclsvxqQ";

impl Prefix {
    /// Compiles a `log_line_prefix` value; the error says which escape is wrong.
    pub fn parse(s: &str) -> Result<Prefix, String> {
        let mut items = Vec::new();
        let mut lit = String::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                let ch = s[i..].chars().next().expect("in bounds");
                lit.push(ch);
                i += ch.len_utf8();
                continue;
            }
            i += 1;
            if i < b.len() && b[i] == b'%' {
                lit.push('%');
                i += 1;
                continue;
            }
            // Optional padding: %-10u, %10u.
            let pad_start = i;
            if i < b.len() && b[i] == b'-' {
                i += 1;
            }
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let pad: i32 = s[pad_start..i].parse().unwrap_or(0);
            let Some(&esc) = b.get(i) else {
                return Err(format!("`{s}` ends with a lone `%`"));
            };
            if !ESCAPES.contains(&esc) {
                let shown = s[i..].chars().next().unwrap_or('?');
                return Err(format!(
                    "unknown escape `%{shown}` at byte {} of `{s}` (known: %a %u %d %r %h %b %p %P %t %m %n %i %e %c %l %s %v %x %q %Q %%)",
                    pad_start - 1
                ));
            }
            i += 1;
            if !lit.is_empty() {
                items.push(Item::Lit(std::mem::take(&mut lit)));
            }
            if esc == b'q' {
                items.push(Item::Stop);
            } else {
                items.push(Item::Field { esc, pad });
            }
        }
        if !lit.is_empty() {
            items.push(Item::Lit(lit));
        }
        Ok(Prefix {
            items,
            text: s.to_string(),
        })
    }

    /// The prefix as configured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Matches the prefix and the severity at the start of `line`.
    pub fn match_line<'a>(&self, line: &'a str) -> Result<LineHead<'a>, NoMatch> {
        let mut caps: [(u8, usize, usize); 24] = [(0, 0, 0); 24];
        let mut far = Track {
            far: 0,
            budget: LINE_BUDGET,
        };
        let Some((n, end, level, text_at)) = self.match_from(0, line, 0, &mut caps, 0, &mut far)
        else {
            return Err(NoMatch {
                at: far.far,
                bad_time: false,
            });
        };
        let mut f = PrefixFields::default();
        let mut ts_rank = 0u8;
        for &(esc, s, e) in &caps[..n] {
            let v = line[s..e].trim_matches(' ');
            let v = (!v.is_empty()).then_some(v);
            match esc {
                b'm' | b'n' | b't' => {
                    let rank = match esc {
                        b'm' => 3,
                        b'n' => 2,
                        _ => 1,
                    };
                    if rank > ts_rank
                        && let Some(v) = v
                    {
                        let t = if esc == b'n' {
                            parse_epoch(v)
                        } else {
                            parse_pg_timestamp(v)
                        };
                        match t {
                            Some(t) => {
                                f.ts_us = Some(t);
                                ts_rank = rank;
                            }
                            None => {
                                return Err(NoMatch {
                                    at: s,
                                    bad_time: true,
                                });
                            }
                        }
                    }
                }
                b'p' => f.pid = v,
                b'u' => f.user = v.filter(|v| *v != "[unknown]"),
                b'd' => f.database = v.filter(|v| *v != "[unknown]"),
                b'h' => f.client = v,
                b'r' => f.client = v.map(|v| v.split_once('(').map_or(v, |(h, _)| h)),
                b'a' => f.application = v.filter(|v| *v != "[unknown]"),
                b'c' => f.session = v,
                b'l' => f.line_num = v,
                b'e' => f.sqlstate = v,
                b'b' => f.backend_type = v,
                b'i' => f.command_tag = v,
                b'x' => f.txid = v,
                b'v' => f.vxid = v,
                b'Q' => f.query_id = v,
                _ => {}
            }
        }
        let _ = end;
        Ok(LineHead {
            fields: f,
            level,
            text_at,
        })
    }

    /// Backtracking matcher: items from `i` at byte `pos`; on success the number of
    /// captures, the end of the prefix, the level and the text offset.
    fn match_from<'a>(
        &self,
        i: usize,
        line: &'a str,
        pos: usize,
        caps: &mut [(u8, usize, usize); 24],
        n: usize,
        far: &mut Track,
    ) -> Option<(usize, usize, &'a str, usize)> {
        far.far = far.far.max(pos);
        let Some(item) = self.items.get(i) else {
            let (level, text_at) = level_at(line, pos)?;
            return Some((n, pos, level, text_at));
        };
        let b = line.as_bytes();
        match item {
            Item::Lit(l) => line[pos..]
                .starts_with(l.as_str())
                .then(|| self.match_from(i + 1, line, pos + l.len(), caps, n, far))?,
            Item::Stop => {
                if let Some((level, text_at)) = level_at(line, pos) {
                    // A session line may still continue with the rest of the prefix.
                    if let Some(r) = self.match_from(i + 1, line, pos, caps, n, far) {
                        return Some(r);
                    }
                    return Some((n, pos, level, text_at));
                }
                self.match_from(i + 1, line, pos, caps, n, far)
            }
            Item::Field { esc, pad } => {
                let start = if *pad > 0 { skip_spaces(b, pos) } else { pos };
                if is_free_text(*esc) {
                    let next = match self.items.get(i + 1) {
                        Some(Item::Lit(l)) => Some(l.as_str()),
                        _ => None,
                    };
                    let idx = n.min(caps.len() - 1);
                    match next {
                        Some(delim) => {
                            let mut from = start;
                            for _ in 0..MAX_TRIES {
                                far.budget = far.budget.checked_sub(1)?;
                                let at = from + find(&b[from..], delim.as_bytes())?;
                                caps[idx] = (*esc, start, at);
                                if let Some(r) = self.match_from(i + 1, line, at, caps, n + 1, far)
                                {
                                    return Some(r);
                                }
                                from = at + 1;
                                while !line.is_char_boundary(from) {
                                    from += 1;
                                }
                            }
                            None
                        }
                        None => {
                            // No literal after it: up to a space, else up to the level.
                            let end = line[start..].find(' ').map_or(line.len(), |e| start + e);
                            caps[idx] = (*esc, start, end);
                            self.match_from(i + 1, line, end, caps, n + 1, far)
                        }
                    }
                } else {
                    let mut end = typed_end(*esc, b, start)?;
                    // Left-justified: spaces up to the width.
                    while *pad < 0
                        && end - start < pad.unsigned_abs() as usize
                        && b.get(end) == Some(&b' ')
                    {
                        end += 1;
                    }
                    let idx = n.min(caps.len() - 1);
                    caps[idx] = (*esc, start, end);
                    self.match_from(i + 1, line, end, caps, n + 1, far)
                }
            }
        }
    }

    /// True when the prefix can carry a backend pid (`%p`), which framing uses to keep a
    /// message's DETAIL/STATEMENT lines with it.
    pub fn has_pid(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Field { esc: b'p', .. }))
    }
}

/// First occurrence of a short `needle` (a prefix literal, `:  `): memchr on its first byte,
/// cheaper than building a substring searcher per line.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = 0;
    while let Some(i) = memchr::memchr(first, &hay[at..]) {
        let j = at + i;
        if hay[j + 1..].starts_with(rest) {
            return Some(j);
        }
        at = j + 1;
    }
    None
}

fn is_free_text(esc: u8) -> bool {
    matches!(esc, b'a' | b'u' | b'd' | b'r' | b'h' | b'b' | b'i')
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

/// End of a typed value starting at `i`, or `None` if its shape does not match.
fn typed_end(esc: u8, b: &[u8], i: usize) -> Option<usize> {
    let digits = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    match esc {
        // 2026-12-01 07:51:40[.349] UTC
        b'm' | b't' | b's' => {
            let s = b.get(i..i + 19)?;
            let ok = s[4] == b'-'
                && s[7] == b'-'
                && s[10] == b' '
                && s[13] == b':'
                && s[16] == b':'
                && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
                    .iter()
                    .all(|&k| s[k].is_ascii_digit());
            if !ok {
                return None;
            }
            let mut j = i + 19;
            if esc == b'm' {
                if b.get(j) != Some(&b'.') {
                    return None;
                }
                let d = digits(j + 1);
                if d == j + 1 {
                    return None;
                }
                j = d;
            }
            if b.get(j) != Some(&b' ') {
                return None;
            }
            // Zone abbreviation or numeric offset (`UTC`, `CEST`, `+0530`).
            let z = j + 1;
            let mut k = z;
            while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'+' || b[k] == b'-') {
                k += 1;
            }
            (k > z).then_some(k)
        }
        b'n' => {
            let d = digits(i);
            if d == i || b.get(d) != Some(&b'.') {
                return None;
            }
            let e = digits(d + 1);
            (e > d + 1).then_some(e)
        }
        b'p' | b'l' => {
            let d = digits(i);
            (d > i).then_some(d)
        }
        // Empty when not a parallel worker / no transaction.
        b'P' | b'x' => Some(digits(i)),
        b'Q' => Some(digits(if b.get(i) == Some(&b'-') { i + 1 } else { i })),
        b'c' => {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_hexdigit() || b[j] == b'.') {
                j += 1;
            }
            Some(j)
        }
        b'v' => {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'/' || b[j] == b'-') {
                j += 1;
            }
            Some(j)
        }
        b'e' => {
            let s = b.get(i..i + 5)?;
            s.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                .then_some(i + 5)
        }
        _ => None,
    }
}

/// `LEVEL:  ` at `pos`: an upper-case word (English or translated) then `:` and two spaces.
pub(crate) fn level_at(line: &str, pos: usize) -> Option<(&str, usize)> {
    let rest = &line[pos..];
    let colon = find(rest.as_bytes(), b":  ")?;
    let word = &rest[..colon];
    let ok = !word.is_empty()
        && word.len() <= 24
        && word
            .chars()
            .all(|c| c.is_uppercase() || c.is_ascii_digit() || c == '_')
        && word.chars().next().is_some_and(char::is_uppercase);
    ok.then(|| (word, pos + colon + 3))
}

fn parse_epoch(v: &str) -> Option<i64> {
    let (s, f) = v.split_once('.')?;
    let secs: i64 = s.parse().ok()?;
    let mut us: i64 = 0;
    let mut n = 0;
    for c in f.bytes().take(6) {
        us = us * 10 + i64::from(c - b'0');
        n += 1;
    }
    for _ in n..6 {
        us *= 10;
    }
    secs.checked_mul(1_000_000)?.checked_add(us)
}

/// The prefixes tried, in order, when none is configured: Debian's, PostgreSQL 10+'s
/// default, and the one pgBadger's documentation recommends.
pub const DEFAULT_PREFIXES: [&str; 3] = [
    "%m [%p] %q%u@%d ",
    "%m [%p] ",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_prefix_with_and_without_session() {
        let p = Prefix::parse("%m [%p] %q%u@%d ").unwrap();
        let l = "2026-12-01 07:51:44.323 UTC [31703] postgres@app db LOG:  connection authorized";
        let h = p.match_line(l).unwrap();
        assert_eq!(h.fields.pid, Some("31703"));
        assert_eq!(h.fields.user, Some("postgres"));
        assert_eq!(h.fields.database, Some("app db"));
        assert_eq!(h.level, "LOG");
        assert_eq!(&l[h.text_at..], "connection authorized");
        assert_eq!(h.fields.ts_us, Some(1_796_111_504_323_000));
        let bg = "2026-12-01 07:51:50.469 UTC [31553] LOG:  checkpoint starting: time";
        let h = p.match_line(bg).unwrap();
        assert_eq!((h.fields.user, h.level), (None, "LOG"));
        let unk = "2026-12-01 07:51:44.322 UTC [31703] [unknown]@[unknown] LOG:  connection received: host=[local]";
        let h = p.match_line(unk).unwrap();
        assert_eq!((h.fields.user, h.fields.database), (None, None));
    }

    #[test]
    fn pgbadger_prefix() {
        let p = Prefix::parse(DEFAULT_PREFIXES[2]).unwrap();
        let l = "2026-12-01 07:51:44 CET [42]: [3-1] user=bob,db=shop,app=psql, the app,client=10.0.0.5 ERROR:  boom";
        let h = p.match_line(l).unwrap();
        assert_eq!(h.fields.application, Some("psql, the app"));
        assert_eq!(h.fields.client, Some("10.0.0.5"));
        assert_eq!(h.fields.line_num, Some("3"));
        assert_eq!(h.level, "ERROR");
        // 07:51:44 CET is 06:51:44 UTC.
        assert_eq!(h.fields.ts_us, Some(1_796_111_504_000_000 - 3_600_000_000));
        let empty = "2026-12-01 07:51:44 UTC [42]: [1-1] user=,db=,app=,client= LOG:  checkpoint starting: time";
        let h = p.match_line(empty).unwrap();
        assert_eq!((h.fields.user, h.fields.client), (None, None));
    }

    #[test]
    fn padding_sqlstate_and_remote_port() {
        let p = Prefix::parse("%t %-6p %e %r %% ").unwrap();
        let l = "2026-12-01 07:51:44 +03 42     42P01 10.1.2.3(5544) % ERROR:  relation";
        let h = p.match_line(l).unwrap();
        assert_eq!(h.fields.pid, Some("42"));
        assert_eq!(h.fields.sqlstate, Some("42P01"));
        assert_eq!(h.fields.client, Some("10.1.2.3"));
        assert_eq!(
            h.fields.ts_us,
            Some(1_796_111_504_000_000 - 3 * 3_600_000_000)
        );
    }

    #[test]
    fn bad_prefixes_and_lines() {
        assert!(Prefix::parse("%m %Z").unwrap_err().contains("%Z"));
        assert!(Prefix::parse("%m %").is_err());
        let p = Prefix::parse("%m [%p] ").unwrap();
        let e = p.match_line("hello world").unwrap_err();
        assert!(!e.bad_time);
        let e = p
            .match_line("2026-12-01 07:51:44.1 XYZT [1] LOG:  x")
            .unwrap_err();
        assert!(e.bad_time);
        assert!(p.match_line("2026-12-01 07:51:44.1 UTC [1] nope").is_err());
    }
}
