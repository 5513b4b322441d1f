//! `/dev/kmsg` records (formats doc K1), format name `kmsg`.
//!
//! ```text
//! record = prefix ";" text LF *( SP key "=" value LF )
//! prefix = PRI "," SEQ "," USEC "," FLAG *( "," extra )    ; extra: `caller=T123` / `caller=C2`
//! text, value: bytes < 0x20, >= 0x7f and "\" escaped as \xNN
//! ```
//!
//! One `read()` of /dev/kmsg returns exactly one record; a file of concatenated records
//! (`cat /dev/kmsg > f`) frames the same way: a record is its prefix line plus the
//! following lines that start with a space. A record is complete once the next byte is
//! known not to be a space (or at `eof`), so a reader handing over one `read()` at a time
//! should pass `eof = true`.

use std::borrow::Cow;

use memchr::memchr;

use crate::error::{ErrorKind, ParseError};
use crate::text::{line_len, parse_u64, trim_eol};

/// One parsed /dev/kmsg record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KmsgRecord<'a> {
    /// Syslog priority: facility × 8 + level.
    pub pri: u8,
    /// Sequence number (per boot, +1 per record).
    pub seq: u64,
    /// Kernel timestamp, µs since boot.
    pub usec: i64,
    /// True for a continuation fragment (`c` flag).
    pub fragment: bool,
    /// Printk caller id (`T123` / `C2`), when the kernel has CONFIG_PRINTK_CALLER.
    pub caller: Option<&'a str>,
    /// Message text, unescaped to bytes (an embedded newline is `\n`).
    pub text: Cow<'a, [u8]>,
    /// `SUBSYSTEM=` dictionary value.
    pub subsystem: Option<Cow<'a, str>>,
    /// `DEVICE=` dictionary value (`b8:0`, `c4:64`, `n2`, `+acpi:PNP0A08:00`).
    pub device: Option<Cow<'a, str>>,
}

/// Frames one record: the prefix line plus following lines that start with a space.
pub fn frame(buf: &[u8], eof: bool) -> Option<usize> {
    let mut end = line_len(buf, eof)?;
    if buf[..end].iter().all(u8::is_ascii_whitespace) {
        return Some(end);
    }
    loop {
        match buf.get(end) {
            None if eof => return Some(end),
            None => return None,
            Some(b' ') => end += line_len(&buf[end..], eof)?,
            Some(_) => return Some(end),
        }
    }
}

/// Replaces `\xNN` escapes by their bytes; borrows when there is nothing to unescape.
pub fn unescape(s: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr(b'\\', s) else {
        return Cow::Borrowed(s);
    };
    let mut out = Vec::with_capacity(s.len());
    out.extend_from_slice(&s[..first]);
    let mut i = first;
    while i < s.len() {
        let b = s[i];
        if b == b'\\'
            && s.get(i + 1) == Some(&b'x')
            && let (Some(h), Some(l)) = (
                s.get(i + 2).and_then(|&c| hex(c)),
                s.get(i + 3).and_then(|&c| hex(c)),
            )
        {
            out.push(h << 4 | l);
            i += 4;
            continue;
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn utf8_value(v: &[u8]) -> Cow<'_, str> {
    match unescape(v) {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(o) => Cow::Owned(String::from_utf8_lossy(&o).into_owned()),
    }
}

/// Parses one framed record; errors carry the byte offset within the record.
pub fn parse(record: &[u8]) -> Result<KmsgRecord<'_>, ParseError> {
    let first_len = memchr(b'\n', record).map_or(record.len(), |i| i + 1);
    let line = trim_eol(&record[..first_len]);
    let semi = memchr(b';', line).ok_or_else(|| {
        ParseError::new(
            ErrorKind::Malformed,
            0,
            "expected `PRI,SEQ,USEC,FLAG;` before the text",
        )
    })?;
    let mut rec = KmsgRecord::default();
    let mut pos = 0usize;
    for (i, field) in line[..semi].split(|&b| b == b',').enumerate() {
        let bad = |what: &str| {
            ParseError::new(
                ErrorKind::Malformed,
                pos,
                format!("kmsg prefix field {}: expected {what}", i + 1),
            )
        };
        match i {
            0 => {
                rec.pri = parse_u64(field)
                    .filter(|&p| p < 192)
                    .ok_or_else(|| bad("a priority 0-191"))? as u8
            }
            1 => rec.seq = parse_u64(field).ok_or_else(|| bad("a sequence number"))?,
            2 => {
                rec.usec = parse_u64(field)
                    .and_then(|u| i64::try_from(u).ok())
                    .ok_or_else(|| {
                        ParseError::new(
                            ErrorKind::BadTimestamp,
                            pos,
                            "kmsg prefix field 3: expected µs since boot",
                        )
                    })?
            }
            3 => rec.fragment = field.first() == Some(&b'c'),
            _ => {
                if let Some(v) = field.strip_prefix(b"caller=") {
                    rec.caller = std::str::from_utf8(v).ok();
                }
            }
        }
        pos += field.len() + 1;
    }
    if pos < 4 || line[..semi].iter().filter(|&&b| b == b',').count() < 3 {
        return Err(ParseError::new(
            ErrorKind::Malformed,
            semi,
            "kmsg prefix has fewer than 4 fields",
        ));
    }
    rec.text = unescape(&line[semi + 1..]);
    let mut rest = &record[first_len..];
    while !rest.is_empty() {
        let n = memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let l = trim_eol(&rest[..n]);
        let l = l.strip_prefix(b" ").unwrap_or(l);
        if let Some(eq) = memchr(b'=', l) {
            match &l[..eq] {
                b"SUBSYSTEM" => rec.subsystem = Some(utf8_value(&l[eq + 1..])),
                b"DEVICE" => rec.device = Some(utf8_value(&l[eq + 1..])),
                _ => {}
            }
        }
        rest = &rest[n..];
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_with_dictionary() {
        let r = b"6,191,190144,-;acpi PNP0A08:00: _OSC: OS supports\n SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A08:00\n";
        assert_eq!(frame(r, false), None, "a continuation could follow");
        assert_eq!(frame(r, true), Some(r.len()));
        let mut two = r.to_vec();
        two.extend_from_slice(b"6,192,190150,-;next\n");
        assert_eq!(frame(&two, false), Some(r.len()));
        let k = parse(r).unwrap();
        assert_eq!((k.pri, k.seq, k.usec), (6, 191, 190_144));
        assert_eq!(&*k.text, b"acpi PNP0A08:00: _OSC: OS supports");
        assert_eq!(k.subsystem.as_deref(), Some("acpi"));
        assert_eq!(k.device.as_deref(), Some("+acpi:PNP0A08:00"));
        assert_eq!(k.caller, None);
    }

    #[test]
    fn escapes_and_caller() {
        let r = b"14,572,8258096987,-,caller=T123;first\\x0asecond \\xc3\\xa9\\xff \\x5c end\n";
        let k = parse(r).unwrap();
        assert_eq!(k.caller, Some("T123"));
        assert_eq!(&*k.text, b"first\nsecond \xc3\xa9\xff \\ end");
        assert_eq!(k.pri, 14);
        // Unknown extras are ignored; a lone backslash stays.
        let k = parse(b"4,1,2,c,foo=bar;a\\b \\x4").unwrap();
        assert!(k.fragment);
        assert_eq!(&*k.text, b"a\\b \\x4");
    }

    #[test]
    fn errors_carry_offsets() {
        let e = parse(b"6,1,2,-text").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Malformed, 0));
        let e = parse(b"6,x,2,-;text").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Malformed, 2));
        let e = parse(b"6,1,2.5,-;text").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::BadTimestamp, 4));
        let e = parse(b"999,1,2,-;text").unwrap_err();
        assert_eq!(e.offset, 0);
        let e = parse(b"6,1,2;text").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Malformed, 5));
    }
}
