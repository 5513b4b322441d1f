//! Kernel messages: four input formats, one table (`kernel_events`), one alert catalogue.
//!
//! | format name | input | module |
//! |---|---|---|
//! | `kernel` (aliases `dmesg`, `kern-log`) | `dmesg` text in every util-linux form, kern.log from rsyslog | this file, `syslog.rs` |
//! | `kmsg` | `/dev/kmsg` records (`PRI,SEQ,USEC,FLAG;text` + ` KEY=value` lines) | `kmsg.rs` |
//! | `dmesg-json` | `dmesg --json` (raw non-UTF-8 bytes inside strings) | `dmesg_json.rs` |
//! | `journald-json` | `journalctl -k -o json` | `journald.rs` |
//!
//! Grammar of one text record (a first line plus any continuation lines):
//!
//! ```text
//! record   = line *( cont )
//! cont     = 1*( SP / HTAB ) text LF            ; dmesg indents embedded newlines
//! line     = [ syslog ] [ dmesg-x ] [ "<" pri ">" ] [ stamp ] [ caller ] [ SP ] text LF
//! syslog   = rfc3164 / iso-syslog / rfc5424     ; see `syslog.rs`; their time is reception time
//! dmesg-x  = facility-name ":" level-name ": "  ; names padded with spaces (`kern  :info  : `)
//! stamp    = "[" *SP secs "." usec [ SP "<" *SP delta ">" ] "]"     ; seconds since boot
//!          / "[" wday SP mon SP day SP hh:mm:ss SP year "]"         ; dmesg -T
//!          / iso8601 SP                                             ; dmesg --time-format=iso
//! caller   = "[" ( "T" / "C" ) 1*DIGIT "]"                          ; CONFIG_PRINTK_CALLER
//! ```
//!
//! Which clock `ts` comes from is kept in [`Clock`] (column `clock`): seconds since boot only
//! become wall time through the source's boot time; syslog and journal stamps are reception
//! times. Text is kept byte for byte: invalid UTF-8 is stored lossily in `message` and
//! exactly in `message_raw`.
//!
//! Classification: every message is matched against a [`Catalogue`] (`catalogue.rs` is the
//! engine, `builtin.rs` the built-in table); the matching row's class and severity go in
//! `class`/`severity` and its named captures in `facts`. Multi-line reports (OOM, hung task,
//! Oops/BUG/WARNING headers) are framed by per-source state in `reports.rs`: each record
//! stays one row, the report's facts are gathered onto the one classified row.

mod builtin;
mod capture;
mod catalogue;
mod columns;
mod decoder;
pub mod dmesg_json;
pub mod journald;
pub mod kmsg;
mod reports;
mod syslog;

pub use catalogue::{Catalogue, ClassSpec, Classified, SEVERITIES};
pub use decoder::{KernelDecoder, KernelFormat};

use memchr::{memchr, memchr2};

use crate::error::{ErrorKind, ParseError};
use crate::text::{find_byte, parse_seconds_us, parse_u64, trim_eol};
use crate::time::{civil_to_us, month_from_abbr, parse_hms, parse_iso8601};

/// Where an event's `ts` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// A wall-clock time printed by the reader of the ring buffer (`dmesg -T`/`--time-format=iso`).
    Realtime,
    /// The syslog daemon's reception time (kern.log): late for records read from the boot backlog.
    Syslog,
    /// journald's reception time (`__REALTIME_TIMESTAMP`), used when the kernel's own
    /// timestamp cannot be placed on the wall clock.
    Journal,
    /// Seconds since boot plus the source's configured boot time.
    Boot,
    /// The record had no usable time; the pipeline's read time.
    Ingest,
}

impl Clock {
    /// Value stored in the `clock` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Realtime => "realtime",
            Clock::Syslog => "syslog",
            Clock::Journal => "journal",
            Clock::Boot => "boot",
            Clock::Ingest => "ingest",
        }
    }
}

/// One kernel message, borrowing from the input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KernelRecord<'a> {
    /// Wall-clock time in µs since the epoch, if the line carried one.
    pub wall_us: Option<i64>,
    /// True when `wall_us` is a syslog reception time rather than the reader's clock.
    pub wall_is_syslog: bool,
    /// Kernel timestamp: µs since boot.
    pub uptime_us: Option<i64>,
    /// Syslog priority (facility × 8 + level), when printed.
    pub pri: Option<u8>,
    /// Facility and level names printed by `dmesg -x`.
    pub facility_name: Option<&'a str>,
    /// Level name printed by `dmesg -x`.
    pub level_name: Option<&'a str>,
    /// Host named by a syslog prefix.
    pub host: Option<&'a str>,
    /// Printk caller id (`T123` thread or `C2` CPU).
    pub caller: Option<&'a str>,
    /// The message's first line.
    pub text: &'a [u8],
    /// Continuation lines (dmesg-indented), without their indentation, joined by `\n`.
    pub continuation: Vec<&'a [u8]>,
}

/// Facility names by number (RFC 5424 table).
pub const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// Level names by number, as `dmesg -x` prints them.
pub const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
];

/// Frames one kernel record: a line plus the indented continuation lines after it.
/// Blank lines are records of their own (the decoder skips them).
pub fn frame(buf: &[u8], eof: bool) -> Option<usize> {
    let mut end = crate::text::line_len(buf, eof)?;
    if buf[..end].iter().all(|b| b.is_ascii_whitespace()) {
        return Some(end);
    }
    loop {
        match buf.get(end) {
            None if eof => return Some(end),
            None => return None,
            Some(b' ' | b'\t') => {
                let rest = &buf[end..];
                let n = crate::text::line_len(rest, eof)?;
                if rest[..n].iter().all(|b| b.is_ascii_whitespace()) {
                    return Some(end);
                }
                end += n;
            }
            Some(_) => return Some(end),
        }
    }
}

/// Parses one framed record. Errors carry the byte offset within the record.
pub fn parse_record<'a>(
    record: &'a [u8],
    default_year: i32,
) -> Result<KernelRecord<'a>, ParseError> {
    // One scan finds the first line's end or a NUL; only a multi-line record needs a second.
    let nl = memchr2(0, b'\n', record);
    let nul = match nl {
        Some(i) if record[i] == 0 => Some(i),
        Some(i) if i + 1 < record.len() => memchr(0, &record[i + 1..]).map(|n| i + 1 + n),
        _ => None,
    };
    if let Some(nul) = nul {
        return Err(ParseError::new(
            ErrorKind::NulByte,
            nul,
            "NUL byte in a text record",
        ));
    }
    let first_len = nl.map_or(record.len(), |i| i + 1);
    let line = trim_eol(&record[..first_len]);
    let mut rec = KernelRecord::default();
    let mut pos = 0usize;

    // A syslog prefix comes first (kern.log); the kernel's own prefix may follow inside it.
    if let Some((sys, used)) = syslog::parse_prefix(line, default_year)? {
        rec.wall_us = Some(sys.ts_us);
        rec.wall_is_syslog = true;
        rec.host = sys.host;
        rec.pri = sys.pri;
        pos = used;
    }
    pos += dmesg_x_prefix(&line[pos..], &mut rec);
    if line.get(pos) == Some(&b'<')
        && let Some(close) = find_byte(b'>', &line[pos..(pos + 5).min(line.len())])
        && let Some(p) = parse_u64(&line[pos + 1..pos + close])
    {
        rec.pri = Some(p.min(191) as u8);
        pos += close + 1;
    }
    pos += stamp(line, pos, &mut rec, default_year)?;
    // Caller id: `[T123]` / `[C2]` right after the stamp, the number sometimes padded
    // on the left (`[   T41]`, as syzkaller consoles print it).
    if line.get(pos) == Some(&b'[')
        && let Some(close) = find_byte(b']', &line[pos..(pos + 16).min(line.len())])
    {
        let inner = line[pos + 1..pos + close].trim_ascii_start();
        if inner.len() > 1
            && matches!(inner[0], b'T' | b'C')
            && inner[1..].iter().all(u8::is_ascii_digit)
        {
            rec.caller = std::str::from_utf8(inner).ok();
            pos += close + 1;
        }
    }
    if line.get(pos) == Some(&b' ') {
        pos += 1;
    }
    rec.text = &line[pos..];
    let mut rest = &record[first_len..];
    while !rest.is_empty() {
        let n = memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let l = trim_eol(&rest[..n]);
        let start = l
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(l.len());
        rec.continuation.push(&l[start..]);
        rest = &rest[n..];
    }
    Ok(rec)
}

/// `dmesg -x`: `kern  :info  : `. Returns bytes consumed (0 if absent).
fn dmesg_x_prefix<'a>(s: &'a [u8], rec: &mut KernelRecord<'a>) -> usize {
    if s.len() < 15 || s[6] != b':' || s[13] != b':' || s[14] != b' ' {
        return 0;
    }
    let fac = std::str::from_utf8(&s[..6]).ok().map(str::trim_end);
    let lvl = std::str::from_utf8(&s[7..13]).ok().map(str::trim_end);
    match (fac, lvl) {
        (Some(f), Some(l)) if FACILITIES.contains(&f) && LEVELS.contains(&l) => {
            rec.facility_name = Some(f);
            rec.level_name = Some(l);
            15
        }
        _ => 0,
    }
}

/// Parses the timestamp at `line[pos..]`; returns bytes consumed (0 if there is none).
fn stamp(
    line: &[u8],
    pos: usize,
    rec: &mut KernelRecord<'_>,
    default_year: i32,
) -> Result<usize, ParseError> {
    let s = &line[pos..];
    match s.first() {
        Some(b'[') => {
            let inner_start = s[1..].iter().position(|&b| b != b' ').map_or(1, |i| i + 1);
            match s.get(inner_start) {
                Some(b'0'..=b'9') => {
                    let Some(close) = find_byte(b']', &s[..s.len().min(48)]) else {
                        return Err(ParseError::new(
                            ErrorKind::Malformed,
                            pos,
                            "unterminated `[` timestamp",
                        ));
                    };
                    let inner = &s[inner_start..close];
                    // `-d` adds ` <delta>` after the stamp.
                    let secs = inner.split(|&b| b == b' ').next().unwrap_or(inner);
                    let us = parse_seconds_us(secs).ok_or_else(|| {
                        ParseError::new(
                            ErrorKind::BadTimestamp,
                            pos + inner_start,
                            "expected `[seconds.micros]` since boot",
                        )
                    })?;
                    rec.uptime_us = Some(us);
                    Ok(close + 1)
                }
                Some(b'A'..=b'Z') if !rec.wall_is_syslog && s.len() >= 26 && s[25] == b']' => {
                    // dmesg -T: `[Mon Nov 23 12:19:35 2026]`
                    let t = parse_ctime(&s[1..25]).ok_or_else(|| {
                        ParseError::new(
                            ErrorKind::BadTimestamp,
                            pos + 1,
                            "expected `[Www Mmm dd hh:mm:ss yyyy]`",
                        )
                    })?;
                    rec.wall_us = Some(t);
                    Ok(26)
                }
                _ => Ok(0),
            }
        }
        Some(b'0'..=b'9')
            if !rec.wall_is_syslog && s.len() > 20 && s[4] == b'-' && s[10] == b'T' =>
        {
            let (t, used) = parse_iso8601(s).ok_or_else(|| {
                ParseError::new(
                    ErrorKind::BadTimestamp,
                    pos,
                    "expected an ISO 8601 timestamp (dmesg --time-format=iso)",
                )
            })?;
            rec.wall_us = Some(t);
            let _ = default_year;
            Ok(used)
        }
        _ => Ok(0),
    }
}

/// `Www Mmm dd hh:mm:ss yyyy` (24 bytes, day space-padded) → µs since the epoch.
fn parse_ctime(s: &[u8]) -> Option<i64> {
    if s.len() != 24 || s[3] != b' ' || s[7] != b' ' || s[10] != b' ' || s[19] != b' ' {
        return None;
    }
    let mon = month_from_abbr(&s[4..7])?;
    let day = parse_u64(s[8..10].trim_ascii_start())? as u32;
    let (h, m, sec) = parse_hms(&s[11..19])?;
    let year = parse_u64(&s[20..24])? as i32;
    civil_to_us(year, mon, day, h, m, sec, 0)
}

#[cfg(test)]
mod tests;
