//! MySQL, MariaDB and Percona Server slow query logs (format `mysql-slow`, table
//! `slow_queries`): MySQL 5.0 to 8.x, Percona Server's extended format, MariaDB 10.x with
//! `log_slow_verbosity` extras and EXPLAIN lines.
//!
//! # Grammar
//!
//! ```text
//! log        = *( banner-line / entry / blank-line )
//! banner-line = 1*VCHAR ", Version: " text ( "started with:" / "embedded library" ) LF
//!            / ( "Tcp port: " / "TCP Port: " ) text LF       ; written at start-up and
//!            / "Time" 1*WSP "Id" 1*WSP "Command" text LF     ; whenever the log is reopened
//! entry      = [ time-line ] [ user-line ] *header-line statement
//! time-line  = "# Time: " ( YYMMDD 1*SP H[H] ":" MM ":" SS        ; MySQL < 5.7, MariaDB
//!                         / YYYY-MM-DD "T" HH:MM:SS[.ffffff] zone ) ; MySQL 5.7+
//!              [ SP user-line ] LF                                ; Percona 5.0: one line
//! user-line  = "# User@Host: " priv-user "[" user "] @ " [ host ] " [" [ ip ] "]"
//!              [ 1*SP "Id:" 1*SP id ] LF                          ; Id: MySQL 5.6+
//! header-line = "#" 1*SP key ":" 1*SP [ value ] *( 1*SP key ":" 1*SP [ value ] ) LF
//!                                   ; Query_time, Lock_time, Rows_*, Thread_id, Schema,
//!                                   ; QC_hit, Bytes_sent, InnoDB_*, Full_scan, Start, ...
//!            / "# explain: " 1*( field HTAB ) LF                 ; MariaDB EXPLAIN rows
//!            / "# Warnings" LF / "# " level SP code SP text LF   ; MariaDB warnings
//!            / "#" text LF                                       ; separators, notes
//!            / "use " db ";" LF                                  ; written when the db changes
//!            / "SET " [ "last_insert_id=" n "," ] [ "insert_id=" n "," ] "timestamp=" n ";" LF
//! statement  = "# administrator command: " command ";" LF
//!            / line *( line ) ";" LF                             ; the SQL, any lines
//! ```
//!
//! The statement is whatever follows the header lines, up to where the next entry starts:
//! the log does not escape it, so an entry ends, as pt-query-digest has it, at a line
//! ending in `;` followed by a `#` line; here the `#` line must also look like a header
//! (`# Word...`), which keeps `#` comment lines inside a multi-line statement. `# Time:`,
//! `# User@Host:` and (once a record has one) `# Query_time:` always start an entry, so an
//! entry cut short by a crash does not swallow the next one; a banner line is a record of
//! its own wherever it is. A line is a header exactly when pt-query-digest takes it for one
//! (`#`, `use `, `SET timestamp|insert_id|last_insert_id`), so both read the same
//! statement. NUL bytes are statement bytes like any other (`mysqlslap` sends its queries
//! with a trailing NUL and the server logs it), but a line that starts with NUL starts a
//! record of its own, the run of NULs, which is a dead letter: that is how a zeroed region
//! (a crash on a preallocated file) looks, and the entry after it stays whole.
//!
//! # Rows
//!
//! One row per entry; banner lines and blank lines make none. `ts` is when the statement
//! ended (the time the server logged it, as `# Time:` is and as pt-query-digest reports):
//! the `# Time:` of MySQL 5.7+ (ISO 8601 with its zone, µs); else `SET timestamp=` (the
//! start, in whole seconds since the epoch) plus `Query_time`; else a `# Time:` without a
//! zone (MySQL < 5.7 without `SET timestamp`), read as UTC; else the previous entry's time,
//! as pt-query-digest inherits it; else the ingest time. MariaDB writes `# Time:` only when
//! the second changes, and always `SET timestamp`. A `# Time:` that is not a time is kept
//! in `attributes['bad_time']` and the row takes the fallbacks.
//!
//! `database` is the entry's `use db;`, else its `Schema:`; an entry with neither inherits
//! the last one seen (the server writes `use` only when the database changes), an empty
//! `Schema:` means none. `engine` is what a start-up banner said (`MariaDB` or `Percona`
//! in the version), else what the entry's fields show (MariaDB's `QC_hit`, EXPLAIN lines;
//! Percona's `# Thread_id:` / `# Schema:` lines, `Rows_read`, `QC_Hit`, `InnoDB_*`,
//! `Last_errno`), else `mysql`. See docs/tables.md for every column.

mod decoder;
mod entry;
#[cfg(test)]
mod tests;

pub use decoder::MysqlSlowDecoder;
pub use entry::{Entry, Record, parse_record};

use memchr::memchr;

use crate::db::fingerprint::{Needle, needle};
use crate::decoder::{Decoder, SourceContext};

static VERSION: Needle = needle!(b", Version: ");
static EMBEDDED: Needle = needle!(b"embedded library");

/// The decoder of `mysql-slow`, or `None` if `format` is another one.
pub fn decoder_for(format: &str, ctx: &SourceContext) -> Option<Box<dyn Decoder>> {
    (format == "mysql-slow")
        .then(|| Box::new(MysqlSlowDecoder::new(ctx.clone())) as Box<dyn Decoder>)
}

/// What a line of a slow log is, as the framer and the parser both see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// `# Time: ...`.
    Time,
    /// `# User@Host: ...` (or Percona's `# User: ...`).
    UserHost,
    /// `# Query_time: ...`.
    QueryTime,
    /// `# administrator command: ...`: the statement of a protocol command.
    Admin,
    /// Any other line starting with `#`.
    Hash,
    /// `use db;`.
    Use,
    /// `SET timestamp=...;` (and `insert_id`, `last_insert_id`).
    Set,
    /// Anything else: statement text.
    Statement,
}

/// Class of a line (without its line end), pt-query-digest's rule for header lines:
/// `^(?:#|use |SET (?:last_insert_id|insert_id|timestamp))`.
pub(crate) fn classify(line: &[u8]) -> Line {
    if line.first() == Some(&b'#') {
        // The third byte tells which prefix a line may have: one comparison, not four.
        match line.get(2) {
            Some(b'T') if line.starts_with(b"# Time:") => Line::Time,
            Some(b'U') if line.starts_with(b"# User@Host:") || line.starts_with(b"# User:") => {
                Line::UserHost
            }
            Some(b'Q') if line.starts_with(b"# Query_time:") => Line::QueryTime,
            Some(b'a') if line.starts_with(b"# administrator command:") => Line::Admin,
            _ => Line::Hash,
        }
    } else if line.starts_with(b"use ") {
        Line::Use
    } else if line.starts_with(b"SET last_insert_id")
        || line.starts_with(b"SET insert_id")
        || line.starts_with(b"SET timestamp")
    {
        Line::Set
    } else {
        Line::Statement
    }
}

/// A line the server writes when it opens the log (start-up, `FLUSH LOGS`), which is not
/// part of any entry: `/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-log (Debian 12).
/// started with:`, `Tcp port: 3306  Unix socket: ...`, `Time  Id Command  Argument`.
pub(crate) fn is_banner(line: &[u8]) -> bool {
    if line.first().is_none_or(|&b| b == b'#') {
        return false;
    }
    let line = trim_end(line);
    match line.first() {
        None => false,
        Some(_) if line.len() >= 9 && line[..9].eq_ignore_ascii_case(b"tcp port:") => true,
        Some(b'T') if line.starts_with(b"Time") => {
            let mut words = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty());
            words.next() == Some(b"Time")
                && words.next() == Some(b"Id")
                && words.next() == Some(b"Command")
        }
        // The shortest banner is `, Version: ` and `started with:` (24 bytes), which keeps
        // the search for a comma off most statement lines.
        Some(_) if line.len() < 24 => false,
        Some(_) => {
            has_version(line) && (line.ends_with(b"started with:") || EMBEDDED.find(line).is_some())
        }
    }
}

/// `line` has `, Version: `: found from its commas, as every statement line is asked this
/// and most have few (a substring search costs more to set up than it saves on a line).
fn has_version(line: &[u8]) -> bool {
    memchr::memchr_iter(b',', line).any(|i| line[i..].starts_with(b", Version: "))
}

/// The version in a banner's `, Version: ` line, for the engine.
pub(crate) fn banner_engine(line: &[u8]) -> Option<&'static str> {
    let at = VERSION.find(line)?;
    let version = &line[at + 11..];
    let has = |needle: &[u8]| {
        version
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    Some(if has(b"mariadb") {
        "mariadb"
    } else if has(b"percona") {
        "percona"
    } else {
        "mysql"
    })
}

/// `line` without trailing `\r` and spaces.
pub(crate) fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b' ' | b'\t'] = line {
        line = rest;
    }
    line
}

/// The line at `pos`: (text without its end, where the next one starts). `None` when the
/// line is not complete yet.
fn line_at(buf: &[u8], pos: usize, eof: bool) -> Option<(&[u8], usize)> {
    match memchr(b'\n', &buf[pos..]) {
        Some(k) => Some((&buf[pos..pos + k], pos + k + 1)),
        None if eof => Some((&buf[pos..], buf.len())),
        None => None,
    }
}

/// Where the framer is inside a record.
struct Framing {
    /// No statement line yet.
    in_header: bool,
    /// The record so far is a `# Time:` line and nothing else.
    only_time: bool,
    /// The record has a `# Query_time:` line.
    query_time: bool,
    /// The last statement line ends in `;`.
    semicolon: bool,
}

impl Framing {
    fn new(first: &[u8]) -> Framing {
        let kind = classify(first);
        let mut f = Framing {
            in_header: true,
            only_time: kind == Line::Time,
            query_time: false,
            semicolon: false,
        };
        f.feed(first, kind);
        f
    }

    /// Whether `line`, of class `kind`, starts the next record.
    fn starts_record(&self, line: &[u8], kind: Line) -> bool {
        if kind == Line::Time || is_banner(line) {
            return true;
        }
        match kind {
            Line::UserHost => !self.in_header || !self.only_time,
            Line::QueryTime => !self.in_header || self.query_time,
            _ => {
                !self.in_header
                    && self.semicolon
                    && line.len() >= 3
                    && line[1] == b' '
                    && line[0] == b'#'
                    && line[2].is_ascii_uppercase()
            }
        }
    }

    fn feed(&mut self, line: &[u8], kind: Line) {
        if self.in_header {
            match kind {
                Line::Time => {}
                Line::QueryTime => {
                    self.query_time = true;
                    self.only_time = false;
                }
                Line::Admin | Line::Statement => {
                    self.in_header = false;
                    self.only_time = false;
                }
                _ => self.only_time = false,
            }
        }
        if !self.in_header && matches!(kind, Line::Admin | Line::Statement) {
            let text = line.strip_suffix(b"\r").unwrap_or(line);
            self.semicolon = text.ends_with(b";");
        } else if !self.in_header {
            self.semicolon = false;
        }
    }
}

/// Length of the first record in `buf` (see the module docs), or `None` until its end is
/// known: an entry ends only where the next one starts, so the last entry of a live log
/// waits for the next one or for the pipeline's partial-record timeout (`eof`).
pub fn frame(buf: &[u8], eof: bool) -> Option<usize> {
    if buf.is_empty() {
        return None;
    }
    if buf[0] == 0 {
        return match buf.iter().position(|&b| b != 0) {
            Some(n) => Some(n),
            None => eof.then_some(buf.len()),
        };
    }
    let (first, mut pos) = line_at(buf, 0, eof)?;
    if is_banner(first) || first.iter().all(u8::is_ascii_whitespace) {
        return Some(pos);
    }
    let mut state = Framing::new(first);
    loop {
        if pos == buf.len() {
            return eof.then_some(pos);
        }
        if buf[pos] == 0 {
            return Some(pos);
        }
        let (line, next) = line_at(buf, pos, eof)?;
        let kind = classify(line);
        if state.starts_record(line, kind) {
            return Some(pos);
        }
        state.feed(line, kind);
        pos = next;
    }
}
