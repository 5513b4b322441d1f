//! `dmesg --json` output (formats doc K2), format name `dmesg-json`.
//!
//! ```text
//! document = "{" ws "\"dmesg\"" ws ":" ws "[" ws element *( ws "," ws element ) ws "]" ws "}"
//! element  = "{" member *( "," member ) "}"      ; members: pri, time, msg, caller (any order)
//! pri      = number                              ; (facility | level) — see below
//! time     = number padded with spaces            ; seconds since boot: `"time":     0.000000`
//! msg      = string with JSON escapes AND raw bytes that are not UTF-8 (invalid JSON, seen)
//! ```
//!
//! The document is framed per array element, so a large dmesg dump streams: the framer
//! returns the header (`{"dmesg": [`), each element object, each `,` and the closing `]}`
//! as records; [`parse_element`] parses an element, and the decoder skips the rest. No JSON
//! library is used because util-linux writes raw non-UTF-8 bytes inside strings.
//!
//! `pri`: util-linux 2.38 built against glibc ≥ 2.33 computes it as `facility | level`
//! (facility not shifted). For kernel records (facility 0) that is the level, correct; for
//! records that userspace wrote to /dev/kmsg it is garbled (user.warning prints 5). The
//! decoder reads `pri` as a plain syslog priority: `kern` and the level for pri < 8.

use std::borrow::Cow;

use memchr::memchr;

use crate::error::{ErrorKind, ParseError};
use crate::text::{parse_seconds_us, parse_u64};

/// Longest element the framer waits for before cutting (dead letter instead of stalling).
pub const MAX_ELEMENT: usize = 1 << 20;

/// One `dmesg --json` element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DmesgJsonRecord<'a> {
    /// `pri` as printed.
    pub pri: Option<u8>,
    /// `time`: µs since boot.
    pub uptime_us: Option<i64>,
    /// `caller` (`T123` / `C2`).
    pub caller: Option<Cow<'a, str>>,
    /// `msg`, JSON escapes resolved, raw bytes kept.
    pub msg: Cow<'a, [u8]>,
}

fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && buf[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End (exclusive) of the JSON string starting at `buf[i] == '"'`.
fn string_end(buf: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < buf.len() {
        match buf[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// Frames the next record (see the module docs).
pub fn frame(buf: &[u8], eof: bool) -> Option<usize> {
    if buf.is_empty() {
        return None;
    }
    // Leading whitespace is always a blank record of its own, so where a read happens to
    // split the indentation cannot move the next element's offset (found by fuzzing).
    let i = skip_ws(buf, 0);
    if i > 0 {
        return Some(i);
    }
    let incomplete = |eof: bool| if eof { Some(buf.len()) } else { None };
    match buf[i] {
        b',' | b']' | b'}' | b'[' => Some(i + 1),
        b'{' => {
            let k = skip_ws(buf, i + 1);
            if k == buf.len() {
                return incomplete(eof);
            }
            if buf[k] == b'"' {
                let Some(e) = string_end(buf, k) else {
                    return incomplete(eof);
                };
                if &buf[k..e] == b"\"dmesg\"" {
                    // Header: through the `[`.
                    return match memchr(b'[', &buf[e..]) {
                        Some(b) => Some(e + b + 1),
                        None => incomplete(eof),
                    };
                }
            }
            // An element: to the matching `}`.
            let mut depth = 0usize;
            let mut j = i;
            while j < buf.len() && j - i < MAX_ELEMENT {
                match buf[j] {
                    b'"' => match string_end(buf, j) {
                        Some(e) => {
                            j = e;
                            continue;
                        }
                        None => return incomplete(eof),
                    },
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if j - i >= MAX_ELEMENT {
                Some(j)
            } else {
                incomplete(eof)
            }
        }
        _ => match memchr(b'\n', &buf[i..]) {
            Some(n) => Some(i + n + 1),
            None => incomplete(eof),
        },
    }
}

/// True for framed records that carry no element (header, separators, closing brackets).
pub fn is_structural(record: &[u8]) -> bool {
    let t = record.trim_ascii();
    if t.is_empty() || t.iter().all(|b| b",[]{}".contains(b)) {
        return true;
    }
    t.starts_with(b"{") && {
        let k = skip_ws(t, 1);
        t[k..].starts_with(b"\"dmesg\"")
    }
}

/// Resolves JSON escapes; raw bytes (valid UTF-8 or not) are copied as they are.
fn unescape_json(s: &[u8], base: usize) -> Result<Cow<'_, [u8]>, ParseError> {
    let Some(first) = memchr(b'\\', s) else {
        return Ok(Cow::Borrowed(s));
    };
    let mut out = Vec::with_capacity(s.len());
    out.extend_from_slice(&s[..first]);
    let mut i = first;
    let bad = |i: usize| ParseError::new(ErrorKind::Malformed, base + i, "bad JSON escape");
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let c = *s.get(i + 1).ok_or_else(|| bad(i))?;
        i += 2;
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex4 = |at: usize| -> Option<u32> {
                    let h = std::str::from_utf8(s.get(at..at + 4)?).ok()?;
                    u32::from_str_radix(h, 16).ok()
                };
                let mut cp = hex4(i).ok_or_else(|| bad(i - 2))?;
                i += 4;
                if (0xd800..0xdc00).contains(&cp)
                    && s.get(i..i + 2) == Some(b"\\u")
                    && let Some(lo) = hex4(i + 2).filter(|lo| (0xdc00..0xe000).contains(lo))
                {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                }
                let ch = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut b = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                continue;
            }
            _ => return Err(bad(i - 2)),
        };
        out.push(simple);
    }
    Ok(Cow::Owned(out))
}

/// Parses one element object. Errors carry the byte offset within the record.
pub fn parse_element(record: &[u8]) -> Result<DmesgJsonRecord<'_>, ParseError> {
    let err = |i: usize, why: &str| ParseError::new(ErrorKind::Malformed, i, why.to_string());
    let mut i = skip_ws(record, 0);
    if record.get(i) != Some(&b'{') {
        return Err(err(i, "expected `{` starting a dmesg element"));
    }
    i += 1;
    let mut rec = DmesgJsonRecord::default();
    let mut have_msg = false;
    loop {
        i = skip_ws(record, i);
        match record.get(i) {
            Some(b'}') => break,
            Some(b'"') => {}
            _ => return Err(err(i, "expected a member name or `}`")),
        }
        let ke = string_end(record, i).ok_or_else(|| err(i, "unterminated member name"))?;
        let key = &record[i + 1..ke - 1];
        i = skip_ws(record, ke);
        if record.get(i) != Some(&b':') {
            return Err(err(i, "expected `:` after a member name"));
        }
        i = skip_ws(record, i + 1);
        let vstart = i;
        let value: Cow<'_, [u8]> = if record.get(i) == Some(&b'"') {
            let ve = string_end(record, i).ok_or_else(|| err(i, "unterminated string"))?;
            i = ve;
            unescape_json(&record[vstart + 1..ve - 1], vstart + 1)?
        } else {
            while i < record.len() && !b",}".contains(&record[i]) {
                i += 1;
            }
            Cow::Borrowed(record[vstart..i].trim_ascii())
        };
        match key {
            b"pri" => {
                rec.pri = Some(
                    parse_u64(&value)
                        .filter(|&p| p < 192)
                        .ok_or_else(|| err(vstart, "`pri` is not a priority 0-191"))?
                        as u8,
                )
            }
            b"time" => {
                rec.uptime_us = Some(parse_seconds_us(&value).ok_or_else(|| {
                    ParseError::new(
                        ErrorKind::BadTimestamp,
                        vstart,
                        "`time` is not seconds since boot",
                    )
                })?)
            }
            b"msg" => {
                rec.msg = value;
                have_msg = true;
            }
            b"caller" => {
                rec.caller = Some(match value {
                    Cow::Borrowed(b) => String::from_utf8_lossy(b),
                    Cow::Owned(o) => Cow::Owned(String::from_utf8_lossy(&o).into_owned()),
                })
            }
            _ => {}
        }
        i = skip_ws(record, i);
        match record.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => break,
            _ => return Err(err(i, "expected `,` or `}` after a member")),
        }
    }
    if !have_msg {
        return Err(err(0, "dmesg element without `msg`"));
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(doc: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < doc.len() {
            let n = frame(&doc[pos..], true).unwrap();
            out.push(&doc[pos..pos + n]);
            pos += n;
        }
        out
    }

    #[test]
    fn pretty_document_frames_per_element() {
        let doc = b"{\n   \"dmesg\": [\n      {\n         \"pri\": 5,\n         \"time\":     0.000000,\n         \"msg\": \"Linux version 6.1 {x}\"\n      },{\n         \"pri\": 4,\n         \"time\":  3051.560916,\n         \"caller\": \"T12\",\n         \"msg\": \"bytes \xff\xfe ctl\\u0001 tab\\there \\\"q\\\" \\\\ \\ud83d\\udca5\"\n      }\n   ]\n}\n";
        let f = frames(doc);
        let elems: Vec<_> = f.iter().filter(|r| !is_structural(r)).collect();
        assert_eq!(elems.len(), 2, "{f:?}");
        let a = parse_element(elems[0]).unwrap();
        assert_eq!((a.pri, a.uptime_us), (Some(5), Some(0)));
        assert_eq!(&*a.msg, b"Linux version 6.1 {x}");
        let b = parse_element(elems[1]).unwrap();
        assert_eq!(b.uptime_us, Some(3_051_560_916));
        assert_eq!(b.caller.as_deref(), Some("T12"));
        assert_eq!(
            &*b.msg,
            &b"bytes \xff\xfe ctl\x01 tab\there \"q\" \\ \xf0\x9f\x92\xa5"[..]
        );
        // Partial input waits for more.
        assert_eq!(frame(&doc[..40], false), Some(15), "the header");
        assert_eq!(
            frame(&doc[15..60], false),
            Some(7),
            "indentation is a blank record of its own"
        );
        assert_eq!(frame(&doc[22..60], false), None);
    }

    #[test]
    fn compact_document() {
        let doc =
            br#"{"dmesg":[{"pri":6,"time":1.5,"msg":"a"},{"pri":3,"time":2.000001,"msg":"b"}]}"#;
        let elems: Vec<_> = frames(doc)
            .into_iter()
            .filter(|r| !is_structural(r))
            .map(|r| parse_element(r).unwrap())
            .collect();
        assert_eq!(elems.len(), 2);
        assert_eq!(elems[1].uptime_us, Some(2_000_001));
        assert_eq!(&*elems[1].msg, b"b");
    }

    #[test]
    fn errors_carry_offsets() {
        let e = parse_element(br#"{"pri": x, "msg": "a"}"#).unwrap_err();
        assert_eq!(e.offset, 8);
        let e = parse_element(br#"{"pri": 6, "time": 1.x, "msg": "a"}"#).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadTimestamp, 19));
        let e = parse_element(br#"{"pri": 6}"#).unwrap_err();
        assert_eq!(e.offset, 0);
        let e = parse_element(br#"{"msg": "a\q"}"#).unwrap_err();
        assert_eq!(e.offset, 10);
    }
}
