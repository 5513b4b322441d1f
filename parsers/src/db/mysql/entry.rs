//! One framed record of a slow log → a borrowed [`Entry`] (or a banner line).

use std::borrow::Cow;

use memchr::{memchr, memmem};

use super::{Line, banner_engine, classify, is_banner, trim_end};
use crate::db::columns::Attributes;
use crate::db::fingerprint::{Needle, is_word, needle};
use crate::error::{ErrorKind, ParseError};
use crate::text::parse_u64;
use crate::time::{civil_to_us, parse_hms, parse_iso8601};

static USER_HOST: Needle = needle!(b"# User@Host:");

/// A framed record.
#[derive(Debug)]
pub enum Record<'a> {
    /// A start-up banner line; the engine its `Version:` names, if it is that line.
    Banner(Option<&'static str>),
    /// One entry.
    Entry(Box<Entry<'a>>),
}

/// The `# Time:` of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTime {
    /// ISO 8601 with a zone (MySQL 5.7+): an instant, µs since the epoch.
    Utc(i64),
    /// `YYMMDD H:MM:SS` (or ISO without a zone): the server's local time, read as UTC.
    Local(i64),
}

/// One slow-log entry, borrowing from the record.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    /// `# Time:`, when the entry has one that parses.
    pub time: Option<LogTime>,
    /// `SET timestamp=`: when the statement started, seconds since the epoch.
    pub set_timestamp: Option<i64>,
    /// Account (`priv_user`, or the bracketed user when that is empty).
    pub user: Option<&'a str>,
    /// Client host name, else its address.
    pub client: Option<&'a str>,
    /// `Id:` of `# User@Host:`, else `Thread_id:`.
    pub session_id: Option<&'a str>,
    /// `use db;`, unquoted.
    pub use_db: Option<Cow<'a, str>>,
    /// `Schema:`; `Some("")` when the field is there and empty.
    pub schema: Option<&'a str>,
    /// `Query_time:` in seconds.
    pub query_time: f64,
    /// `Lock_time:` in seconds.
    pub lock_time: Option<f64>,
    /// `Rows_sent:`.
    pub rows_sent: Option<u64>,
    /// `Rows_examined:`.
    pub rows_examined: Option<u64>,
    /// `Rows_affected:`.
    pub rows_affected: Option<u64>,
    /// The statement as pt-query-digest reads it (its fingerprint input): from the first
    /// line that is not a header to the end of the entry, less the `;` + line end the
    /// server appends; `administrator command: X` for a protocol command.
    pub statement: &'a [u8],
    /// `statement` as text, when it is UTF-8.
    pub statement_text: Option<&'a str>,
    /// The statement is followed by a newline that pt-query-digest keeps (`;\n\n` at the
    /// end of a log); it matters only to the fingerprint of `use db`.
    pub statement_newline: bool,
    /// True for `# administrator command:` entries.
    pub admin: bool,
    /// MariaDB `# explain:` lines, without their prefix, one per line.
    pub plan: Option<String>,
    /// One line per EXPLAIN row: `table:type(key)`, or the `Extra` of a row without table.
    pub plan_summary: Option<String>,
    /// What the fields say about the server: `mariadb`, `percona` or none.
    pub engine_hint: Option<&'static str>,
    /// Every other field, and `login_user`, `client_ip`, `warnings`, `comment`, `bad_time`.
    pub attributes: Attributes<'a>,
}

fn err(kind: ErrorKind, at: usize, reason: impl Into<String>) -> ParseError {
    ParseError::new(kind, at, reason)
}

/// `b` as text; bytes that are not UTF-8 become U+FFFD (`from_utf8` first: it is much
/// faster than `from_utf8_lossy` on the valid text of real logs).
pub(crate) fn utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// `b` as `&str` when it is UTF-8 (header fields of real logs always are).
fn text(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// A record and, when it is all UTF-8 (real logs are), the same bytes as text: a field is
/// then sliced from the text instead of being checked again.
#[derive(Debug, Clone, Copy)]
struct Src<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Src<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Src {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }

    /// [`text`] of `sub`. For a part of the record, slicing the valid text gives `Some`
    /// exactly when `sub` is itself UTF-8 (its ends are character boundaries); other bytes
    /// are checked.
    #[inline]
    fn text(&self, sub: &'a [u8]) -> Option<&'a str> {
        let at = (sub.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
        match self.text {
            Some(t) if at <= t.len() && sub.len() <= t.len() - at => t.get(at..at + sub.len()),
            _ => text(sub),
        }
    }

    /// [`utf8`] of `sub`, a part of the record.
    #[inline]
    fn utf8(&self, sub: &'a [u8]) -> Cow<'a, str> {
        match self.text(sub) {
            Some(t) => Cow::Borrowed(t),
            None => String::from_utf8_lossy(sub),
        }
    }
}

/// First `b` in `hay`, for the few bytes of a `# User@Host:` part: a plain scan, as a
/// vector search costs more to set up than it saves there.
#[inline]
fn at(b: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&x| x == b)
}

/// A duration field: digits with at most one `.`.
fn seconds(v: &[u8]) -> Option<f64> {
    // The digits as one integer and the count of those after the `.`.
    let (whole, fraction) = match v.iter().position(|&b| b == b'.') {
        Some(d) => (&v[..d], &v[d + 1..]),
        None => (v, &b""[..]),
    };
    let mut n = 0u64;
    for part in [whole, fraction] {
        for &b in part {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        }
    }
    let (digits, scale) = (whole.len() + fraction.len(), fraction.len());
    if digits == 0 {
        return None;
    }
    // `n` and `10^scale` are exact f64s, so one division rounds as `str::parse` does
    // (correctly); longer numbers take the general parser.
    let s = if digits <= 15 && scale <= 22 {
        n as f64 / POW10[scale]
    } else {
        std::str::from_utf8(v).ok()?.parse().ok()?
    };
    // No server logs a query of more than a few years; this also keeps `ts` in range.
    (s < 1e10).then_some(s)
}

/// `10^k` for k ≤ 22: the powers of ten that f64 holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Removes what the server appends after the statement, as pt-query-digest's
/// `s/;\n#?\Z//` does (`\Z` also matches before a final newline); `;\r\n` too.
fn strip_end(r: &[u8]) -> (&[u8], bool) {
    if let Some(s) = r.strip_suffix(b";\n") {
        (s, false)
    } else if let Some(s) = r.strip_suffix(b";\r\n") {
        (s, false)
    } else if let Some(s) = r.strip_suffix(b";\n\n") {
        (s, true)
    } else {
        (r, false)
    }
}

/// Parses one record as framed by [`super::frame`].
pub fn parse_record(record: &[u8]) -> Result<Record<'_>, ParseError> {
    parse_record_into(record, Vec::with_capacity(16))
}

/// An empty `Attributes` of any lifetime in `v`'s allocation: a decoder hands each entry
/// the last one's, instead of allocating (and freeing) one a record. The standard library
/// collects a `Vec`'s own iterator in place when the items have the same layout.
pub(crate) fn recycle<'b>(mut v: Attributes<'_>) -> Attributes<'b> {
    v.clear();
    v.into_iter().map(|_| unreachable!("cleared")).collect()
}

/// [`parse_record`], its attributes pushed to `attributes` (empty; its room is reused).
pub(crate) fn parse_record_into<'a>(
    record: &'a [u8],
    attributes: Attributes<'a>,
) -> Result<Record<'a>, ParseError> {
    if record.first() == Some(&0) {
        return Err(err(
            ErrorKind::NulByte,
            0,
            "a line of NUL bytes (a zeroed or corrupt region of the log)",
        ));
    }
    let first = &record[..memchr(b'\n', record).unwrap_or(record.len())];
    if is_banner(first) {
        return Ok(Record::Banner(banner_engine(first)));
    }
    let (body, newline) = strip_end(record);
    let src = Src::new(record);
    let mut p = Parser {
        src,
        // On the heap from the start: an entry is large, and each move would copy it.
        e: Box::new(Entry {
            attributes,
            ..Entry::default()
        }),
        got_time: false,
        got_user: false,
        got_db: false,
        got_set: false,
        query_time: false,
        thread_id: None,
        in_warnings: false,
        plan_columns: None,
        percona: false,
    };
    let mut admin = None;
    let mut plain = None;
    let mut statement = None;
    let mut pos = 0;
    while pos < body.len() {
        let end = memchr(b'\n', &body[pos..]).map_or(body.len(), |k| pos + k);
        let raw = &body[pos..end];
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        match classify(raw) {
            Line::Statement => {
                statement = Some(pos);
                break;
            }
            Line::Time => p.time_line(line),
            Line::UserHost => {
                if !p.got_user {
                    p.user_host(&line[memchr(b':', line).map_or(line.len(), |c| c + 1)..]);
                }
            }
            Line::Admin => {
                if admin.is_none() {
                    let from = 1 + line[1..]
                        .iter()
                        .take_while(|b| b.is_ascii_whitespace())
                        .count();
                    admin = Some(&line[from..]);
                }
            }
            Line::QueryTime | Line::Hash => p.hash_line(line, pos)?,
            Line::Use => {
                plain = Some(line);
                if !p.got_db {
                    p.got_db = true;
                    let name = &line[4..memchr(b';', line).unwrap_or(line.len())];
                    p.e.use_db = Some(unquote(src, name));
                }
            }
            Line::Set => {
                plain = Some(line);
                if !p.got_set {
                    p.got_set = true;
                    p.set_line(line, pos)?;
                }
            }
        }
        pos = end + 1;
    }
    let query_time = p.query_time;
    let mut e = p.finish();
    match (statement, admin, plain) {
        (Some(at), _, _) => {
            e.statement = &body[at..];
            e.statement_newline = newline;
        }
        (None, Some(a), _) => {
            e.statement = a;
            e.admin = true;
        }
        // A statement that is itself `use db` or `SET timestamp=...`.
        (None, None, Some(l)) => e.statement = l.strip_suffix(b";").unwrap_or(l),
        (None, None, None) => {}
    }
    e.statement_text = src.text(e.statement);
    if !query_time {
        return Err(err(
            ErrorKind::Malformed,
            statement.unwrap_or(0),
            "not a slow-log entry: no `# Query_time:` line before the statement",
        ));
    }
    if e.statement.iter().all(u8::is_ascii_whitespace) {
        return Err(err(
            ErrorKind::Truncated,
            record.len(),
            "the entry ends before its statement",
        ));
    }
    Ok(Record::Entry(e))
}

/// `` `db` `` → `db` (doubled backticks inside are one), as the server quotes it.
fn unquote<'a>(src: Src<'a>, name: &'a [u8]) -> Cow<'a, str> {
    let name = trim_end(name);
    match name {
        [b'`', inner @ .., b'`'] if memmem::find(inner, b"``").is_some() => {
            Cow::Owned(src.utf8(inner).replace("``", "`"))
        }
        [b'`', inner @ .., b'`'] => src.utf8(inner),
        _ => src.utf8(name),
    }
}

/// Parsing state of one record's header lines.
struct Parser<'a> {
    src: Src<'a>,
    e: Box<Entry<'a>>,
    got_time: bool,
    got_user: bool,
    got_db: bool,
    got_set: bool,
    query_time: bool,
    thread_id: Option<&'a str>,
    in_warnings: bool,
    /// Indexes of `table`, `type`, `key`, `Extra` in the EXPLAIN header.
    plan_columns: Option<[Option<usize>; 4]>,
    percona: bool,
}

impl<'a> Parser<'a> {
    fn finish(self) -> Box<Entry<'a>> {
        let mut e = self.e;
        e.session_id = e.session_id.or(self.thread_id);
        if e.engine_hint.is_none() && self.percona {
            e.engine_hint = Some("percona");
        }
        e
    }

    /// `# Time: ...`, and Percona 5.0's `# User@Host:` on the same line.
    fn time_line(&mut self, line: &'a [u8]) {
        let rest = &line[7..];
        let (when, user) = match USER_HOST.find(rest) {
            Some(u) => (&rest[..u], Some(&rest[u + 12..])),
            None => (rest, None),
        };
        if let (Some(u), false) = (user, self.got_user) {
            self.user_host(u);
        }
        if self.got_time {
            return;
        }
        self.got_time = true;
        let when = trim_end(when.trim_ascii_start());
        match parse_time(when) {
            Some(t) => self.e.time = Some(t),
            None if when.is_empty() => {}
            None => self.e.attributes.push(("bad_time", self.src.utf8(when))),
        }
    }

    /// `priv_user[user] @ host [ip]  Id: n` (any part may be empty).
    fn user_host(&mut self, s: &'a [u8]) {
        self.got_user = true;
        let s = s.trim_ascii();
        let (priv_user, rest) = match at(b'[', s) {
            Some(o) => (s[..o].trim_ascii(), &s[o + 1..]),
            None => (s[..at(b'@', s).unwrap_or(s.len())].trim_ascii(), &b""[..]),
        };
        let (login, rest) = match at(b']', rest) {
            Some(c) => (&rest[..c], &rest[c + 1..]),
            None => (rest, &b""[..]),
        };
        let mut host: &[u8] = b"";
        let mut ip: &[u8] = b"";
        let mut tail = rest;
        if let Some(a) = at(b'@', rest) {
            let after = rest[a + 1..].trim_ascii_start();
            let h = after
                .iter()
                .take_while(|&&b| b != b'[' && !b.is_ascii_whitespace())
                .count();
            host = &after[..h];
            let after = after[h..].trim_ascii_start();
            tail = after;
            if let Some(inner) = after.strip_prefix(b"[") {
                let c = at(b']', inner).unwrap_or(inner.len());
                ip = &inner[..c];
                tail = &inner[c.min(inner.len())..];
            }
        }
        // `priv_user` is trimmed already, and `host` has no whitespace.
        let login = login.trim_ascii();
        self.e.user = self
            .src
            .text(if priv_user.is_empty() {
                login
            } else {
                priv_user
            })
            .filter(|u| !u.is_empty());
        if !priv_user.is_empty() && !login.is_empty() && priv_user != login {
            self.e.attributes.push(("login_user", self.src.utf8(login)));
        }
        let ip = ip.trim_ascii();
        self.e.client = self
            .src
            .text(if host.is_empty() { ip } else { host })
            .filter(|c| !c.is_empty());
        if !host.is_empty() && !ip.is_empty() {
            self.e.attributes.push(("client_ip", self.src.utf8(ip)));
        }
        if let Some(i) = tail.windows(3).position(|w| w == b"Id:") {
            let id = tail[i + 3..].trim_ascii_start();
            let n = id.iter().take_while(|b| b.is_ascii_digit()).count();
            self.e.session_id = self.src.text(&id[..n]).filter(|s| !s.is_empty());
        }
    }

    /// `SET [last_insert_id=n,][insert_id=n,]timestamp=n;`.
    fn set_line(&mut self, line: &'a [u8], at: usize) -> Result<(), ParseError> {
        let body = &line[4..memchr(b';', line).unwrap_or(line.len())];
        for part in body.split(|&b| b == b',') {
            let Some(eq) = memchr(b'=', part) else {
                continue;
            };
            let (k, v) = (part[..eq].trim_ascii(), part[eq + 1..].trim_ascii());
            if k == b"timestamp" {
                let t = parse_u64(v)
                    .and_then(|t| i64::try_from(t).ok())
                    .filter(|&t| t < 1 << 40);
                match t {
                    Some(t) => self.e.set_timestamp = Some(t),
                    None => {
                        return Err(err(
                            ErrorKind::BadTimestamp,
                            at,
                            format!("`SET timestamp={}` is not a time", utf8(v)),
                        ));
                    }
                }
            } else if let Some(k) = self.src.text(k).filter(|k| k.bytes().all(is_word)) {
                self.e.attributes.push((k, self.src.utf8(v)));
            }
        }
        Ok(())
    }

    /// Any other `#` line: fields, EXPLAIN rows, warnings, notes.
    fn hash_line(&mut self, line: &'a [u8], at: usize) -> Result<(), ParseError> {
        if let Some(row) = line.strip_prefix(b"# explain: ") {
            self.explain(row);
            return Ok(());
        }
        let body = line[1..].trim_ascii();
        if body.is_empty() {
            return Ok(());
        }
        if body == b"Warnings" {
            self.in_warnings = true;
            return Ok(());
        }
        let is_fields = body[0].is_ascii_uppercase() && {
            let w = body.iter().take_while(|&&b| is_word(b)).count();
            body.get(w) == Some(&b':')
        };
        if !is_fields {
            let key = if self.in_warnings {
                "warnings"
            } else {
                "comment"
            };
            if key == "comment" && body.starts_with(b"No InnoDB statistics") {
                self.percona = true;
            }
            push_joined(self.src, &mut self.e.attributes, key, body);
            return Ok(());
        }
        if line.starts_with(b"# Thread_id:") || line.starts_with(b"# Schema:") {
            self.percona = true;
        }
        // One UTF-8 check per line, not one per value.
        let text_body = self.src.text(body);
        let base = at + (body.as_ptr() as usize - line.as_ptr() as usize);
        for (k, (from, to)) in fields(body, text_body) {
            let v = &body[from..to];
            let as_text = text_body.and_then(|t| t.get(from..to));
            self.field(k, v, as_text, base + from)?;
        }
        Ok(())
    }

    fn field(
        &mut self,
        k: &'a str,
        v: &'a [u8],
        as_text: Option<&'a str>,
        at: usize,
    ) -> Result<(), ParseError> {
        let number = |v: &[u8]| {
            parse_u64(v).ok_or_else(|| {
                err(
                    ErrorKind::Malformed,
                    at,
                    format!("{k} `{}` is not a count", utf8(v)),
                )
            })
        };
        let duration = |v: &[u8]| {
            seconds(v).ok_or_else(|| {
                err(
                    ErrorKind::Malformed,
                    at,
                    format!("{k} `{}` is not a duration", utf8(v)),
                )
            })
        };
        match k {
            "Query_time" => {
                self.e.query_time = duration(v)?;
                self.query_time = true;
            }
            "Lock_time" => self.e.lock_time = Some(duration(v)?),
            "Rows_sent" => self.e.rows_sent = Some(number(v)?),
            "Rows_examined" => self.e.rows_examined = Some(number(v)?),
            "Rows_affected" => self.e.rows_affected = Some(number(v)?),
            "Thread_id" => self.thread_id = as_text.filter(|t| !t.is_empty()),
            "Schema" => self.e.schema = Some(as_text.unwrap_or("")),
            _ => {
                if k == "QC_hit" {
                    self.e.engine_hint = Some("mariadb");
                }
                if matches!(
                    k,
                    "QC_Hit"
                        | "Rows_read"
                        | "Last_errno"
                        | "Log_slow_rate_type"
                        | "Log_slow_rate_limit"
                ) || k.starts_with("InnoDB_")
                {
                    self.percona = true;
                }
                let value = as_text.map_or_else(|| utf8(v), Cow::Borrowed);
                self.e.attributes.push((k, value));
            }
        }
        Ok(())
    }

    /// A MariaDB `# explain:` line: the header names the columns, each row adds to `plan`
    /// and to `plan_summary`.
    fn explain(&mut self, row: &'a [u8]) {
        self.e.engine_hint = Some("mariadb");
        let plan = self.e.plan.get_or_insert_with(String::new);
        if !plan.is_empty() {
            plan.push('\n');
        }
        plan.push_str(&self.src.utf8(row));
        let cells = || row.split(|&b| b == b'\t');
        let Some(cols) = self.plan_columns else {
            let find = |name: &[u8]| cells().position(|c| c.trim_ascii() == name);
            self.plan_columns = Some([find(b"table"), find(b"type"), find(b"key"), find(b"Extra")]);
            return;
        };
        let cell = |i: Option<usize>| {
            i.and_then(|i| cells().nth(i))
                .map(|c| c.trim_ascii())
                .filter(|c| !c.is_empty() && *c != b"NULL")
        };
        let part = match (cell(cols[0]), cell(cols[1])) {
            (Some(table), ty) => {
                let mut s = self.src.utf8(table).into_owned();
                if let Some(ty) = ty {
                    s.push(':');
                    s.push_str(&self.src.utf8(ty));
                }
                if let Some(key) = cell(cols[2]) {
                    s.push('(');
                    s.push_str(&self.src.utf8(key));
                    s.push(')');
                }
                s
            }
            (None, _) => match cell(cols[3]) {
                Some(extra) => self.src.utf8(extra).into_owned(),
                None => return,
            },
        };
        let summary = self.e.plan_summary.get_or_insert_with(String::new);
        if !summary.is_empty() {
            summary.push_str(", ");
        }
        summary.push_str(&part);
    }
}

/// Appends `line` to the newline-joined attribute `key`.
fn push_joined<'a>(src: Src<'a>, attrs: &mut Attributes<'a>, key: &'static str, line: &'a [u8]) {
    match attrs.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => {
            let s = v.to_mut();
            s.push('\n');
            s.push_str(&src.utf8(line));
        }
        None => attrs.push((key, src.utf8(line))),
    }
}

/// `Key: value  Key: value ...` of a header line (after `#`). A value that is itself
/// `Word:` is the next key, so `Schema:   QC_hit: No` has an empty `Schema`; words that are
/// not `Key:` are skipped. `text` is `body` as text, when it is UTF-8.
fn fields<'a>(
    body: &'a [u8],
    text: Option<&'a str>,
) -> impl Iterator<Item = (&'a str, (usize, usize))> {
    let n = body.len();
    // The first byte at or after `i` whose class bits `class` are `want`, else `n`; by an
    // iterator, which needs no bounds check a byte.
    let skip = move |i: usize, class: u8, want: bool| {
        body.get(i..).map_or(n, |rest| {
            i + rest
                .iter()
                .position(|&b| (BYTE_CLASS[usize::from(b)] & class != 0) != want)
                .unwrap_or(rest.len())
        })
    };
    let mut i = 0;
    std::iter::from_fn(move || {
        loop {
            i = skip(i, SPACE, true);
            if i >= n {
                return None;
            }
            let start = i;
            let after = skip(i, WORD, true);
            let is_key = after > start
                && after < n
                && body[after] == b':'
                && (after + 1 == n || BYTE_CLASS[usize::from(body[after + 1])] & SPACE != 0);
            if !is_key {
                i = skip(i, SPACE, false).max(i + 1);
                continue;
            }
            let key = match text {
                Some(t) => &t[start..after],
                None => std::str::from_utf8(&body[start..after]).expect("ASCII word"),
            };
            let v = skip(after + 1, SPACE, true);
            let end = skip(v, SPACE, false);
            let next_key = end - v > 1 && body[end - 1] == b':' && skip(v, WORD, true) == end - 1;
            if next_key {
                i = v;
                return Some((key, (v, v)));
            }
            i = end;
            return Some((key, (v, end)));
        }
    })
}

/// [`BYTE_CLASS`] bit of `u8::is_ascii_whitespace` bytes.
const SPACE: u8 = 1;
/// [`BYTE_CLASS`] bit of [`is_word`] bytes.
const WORD: u8 = 2;

/// Class bits of each byte, so that scanning a header line is one lookup a byte.
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_whitespace() {
            t[b] = SPACE;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            t[b] = WORD;
        }
        b += 1;
    }
    t
};

/// `YYMMDD H:MM:SS` or ISO 8601 (with a zone: [`LogTime::Utc`]).
fn parse_time(s: &[u8]) -> Option<LogTime> {
    if s.get(4) == Some(&b'-') {
        let (us, n) = parse_iso8601(s)?;
        let mut bare = 19;
        if s.get(19).is_some_and(|&b| b == b'.' || b == b',') {
            bare += 1 + s[20..].iter().take_while(|b| b.is_ascii_digit()).count();
        }
        return Some(if n > bare {
            LogTime::Utc(us)
        } else {
            LogTime::Local(us)
        });
    }
    if s.len() < 13 || !s[..6].iter().all(u8::is_ascii_digit) || s[6] != b' ' {
        return None;
    }
    let d = |i: usize| u32::from(s[i] - b'0') * 10 + u32::from(s[i + 1] - b'0');
    let clock = s[6..].trim_ascii_start();
    let clock = if clock.len() == 7 {
        // ` 7:51:44`: the hour is not zero-padded.
        let mut padded = [b'0'; 8];
        padded[1..].copy_from_slice(clock);
        parse_hms(&padded)?
    } else {
        parse_hms(clock)?
    };
    let us = civil_to_us(2000 + d(0) as i32, d(2), d(4), clock.0, clock.1, clock.2, 0)?;
    Some(LogTime::Local(us))
}

#[cfg(test)]
mod seconds_tests {
    use super::{recycle, seconds};

    #[test]
    fn recycled_attributes_keep_their_room() {
        let mut v: crate::db::columns::Attributes<'_> = Vec::with_capacity(16);
        v.push(("k", "v".into()));
        let (at, cap) = (v.as_ptr() as usize, v.capacity());
        let w = recycle(v);
        assert!(w.is_empty());
        assert_eq!((w.as_ptr() as usize, w.capacity()), (at, cap));
    }

    /// The short path gives `str::parse`'s bits, on the durations servers write and on
    /// digits strings of every length around its limits.
    #[test]
    fn seconds_are_bit_identical_to_str_parse() {
        let parse = |v: &str| v.parse::<f64>().ok().filter(|&s| s < 1e10);
        let mut cases: Vec<String> = [
            "0",
            "0.000899",
            "1.5",
            "5.",
            ".5",
            "12.000001",
            "9999999999",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 1 + (x % 24) as usize;
            let mut s: String = (0..len)
                .map(|i| char::from(b'0' + ((x >> (i % 60)) % 10) as u8))
                .collect();
            let dot = (x >> 40) as usize % (len + 1);
            s.insert(dot, '.');
            cases.push(s);
        }
        for c in &cases {
            let got = seconds(c.as_bytes());
            assert_eq!(got.map(f64::to_bits), parse(c).map(f64::to_bits), "{c}");
        }
        for bad in ["", ".", "1.2.3", "1e5", "-1", " 1", "1 "] {
            assert_eq!(seconds(bad.as_bytes()), None, "{bad}");
        }
    }
}
