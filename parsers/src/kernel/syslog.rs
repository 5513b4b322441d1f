//! Syslog prefixes in front of kernel messages in kern.log (rsyslog's three file formats).
//!
//! ```text
//! rfc3164 = mon SP day SP hh:mm:ss SP host SP tag ":" SP      ; `Nov  2 17:10:40 vm kernel: `
//! iso     = iso8601 SP host SP tag ":" SP                     ; RSYSLOG_FileFormat
//! rfc5424 = "<" pri ">1" SP iso8601 SP host SP app SP procid SP msgid SP sd SP
//! ```
//! The tag may carry a pid (`kernel[12]:`); it is not kept.

use memchr::memchr;

use crate::error::{ErrorKind, ParseError};
use crate::text::parse_u64;
use crate::time::{civil_to_us, month_from_abbr, parse_hms, parse_iso8601};

/// What a syslog prefix says.
pub(crate) struct SyslogPrefix<'a> {
    pub ts_us: i64,
    pub host: Option<&'a str>,
    pub pri: Option<u8>,
}

/// Parses a syslog prefix at the start of `line`. `Ok(None)` when the line has none;
/// an error when it starts like one but is malformed.
pub(crate) fn parse_prefix(
    line: &[u8],
    default_year: i32,
) -> Result<Option<(SyslogPrefix<'_>, usize)>, ParseError> {
    // RFC 5424: `<13>1 2026-...`
    if line.first() == Some(&b'<') {
        let Some(close) = memchr(b'>', &line[..line.len().min(5)]) else {
            return Ok(None);
        };
        if line.get(close + 1..close + 3) != Some(b"1 ") {
            return Ok(None);
        }
        let pri = parse_u64(&line[1..close]).map(|p| p.min(191) as u8);
        let mut pos = close + 3;
        let (ts, used) = parse_iso8601(&line[pos..]).ok_or_else(|| {
            ParseError::new(
                ErrorKind::BadTimestamp,
                pos,
                "RFC 5424 line without a valid timestamp",
            )
        })?;
        pos += used;
        let mut fields = [&b""[..]; 5];
        for f in fields.iter_mut() {
            pos += expect_space(line, pos)?;
            let end = memchr(b' ', &line[pos..]).map_or(line.len(), |i| pos + i);
            *f = &line[pos..end];
            pos = end;
        }
        // Structured data "-" or [..] elements; a `]` inside one is not handled: rare in kernel lines.
        if fields[4].first() == Some(&b'[') {
            let close = memchr::memmem::find(&line[pos - fields[4].len()..], b"] ")
                .map(|i| pos - fields[4].len() + i + 1);
            if let Some(c) = close {
                pos = c;
            }
        }
        if line.get(pos) == Some(&b' ') {
            pos += 1;
        }
        let host = std::str::from_utf8(fields[0]).ok().filter(|h| *h != "-");
        return Ok(Some((
            SyslogPrefix {
                ts_us: ts,
                host,
                pri,
            },
            pos,
        )));
    }
    // High-precision ISO form: only when followed by a host and a tag (otherwise it is dmesg --time-format=iso).
    if line.len() > 20 && line[4] == b'-' && line[10] == b'T' {
        let Some((ts, used)) = parse_iso8601(line) else {
            return Ok(None);
        };
        if line.get(used) != Some(&b' ') || line[19] == b',' {
            return Ok(None);
        }
        return Ok(host_and_tag(line, used + 1).map(|(host, pos)| {
            (
                SyslogPrefix {
                    ts_us: ts,
                    host,
                    pri: None,
                },
                pos,
            )
        }));
    }
    // RFC 3164: `Nov 22 17:10:40 host kernel: `
    if line.len() > 16 && line[3] == b' ' && line[0].is_ascii_uppercase() {
        let Some(mon) = month_from_abbr(&line[0..3]) else {
            return Ok(None);
        };
        let day = parse_u64(line[4..6].trim_ascii_start()).ok_or_else(|| {
            ParseError::new(
                ErrorKind::BadTimestamp,
                4,
                "RFC 3164 day of month is not a number",
            )
        })?;
        let (h, m, s) = parse_hms(&line[7..15]).ok_or_else(|| {
            ParseError::new(ErrorKind::BadTimestamp, 7, "RFC 3164 time is not hh:mm:ss")
        })?;
        let ts = civil_to_us(default_year, mon, day as u32, h, m, s, 0).ok_or_else(|| {
            ParseError::new(ErrorKind::BadTimestamp, 0, "RFC 3164 date out of range")
        })?;
        if line[15] != b' ' {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                15,
                "expected a space after the RFC 3164 time",
            ));
        }
        return match host_and_tag(line, 16) {
            Some((host, pos)) => Ok(Some((
                SyslogPrefix {
                    ts_us: ts,
                    host,
                    pri: None,
                },
                pos,
            ))),
            None => Err(ParseError::new(
                ErrorKind::Malformed,
                16,
                "expected `host tag: ` after the RFC 3164 time",
            )),
        };
    }
    Ok(None)
}

fn expect_space(line: &[u8], pos: usize) -> Result<usize, ParseError> {
    if line.get(pos) == Some(&b' ') {
        Ok(1)
    } else {
        Err(ParseError::new(
            ErrorKind::Malformed,
            pos,
            "RFC 5424 header ends early",
        ))
    }
}

/// `host tag: ` at `pos`; returns the host and the offset of the message.
fn host_and_tag(line: &[u8], pos: usize) -> Option<(Option<&str>, usize)> {
    let sp = memchr(b' ', &line[pos..])? + pos;
    let host = std::str::from_utf8(&line[pos..sp]).ok();
    let tag_end = memchr(b':', &line[sp + 1..(sp + 1 + 64).min(line.len())])? + sp + 1;
    let mut msg = tag_end + 1;
    if line.get(msg) == Some(&b' ') {
        msg += 1;
    }
    Some((host, msg))
}
