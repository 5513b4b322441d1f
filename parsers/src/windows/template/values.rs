//! Substitution values written as the evtx crate renders them in XML (and as the XML reader
//! then reads them back): integers, hex, GUIDs, FILETIMEs and SYSTEMTIMEs, SIDs, binary,
//! UTF-16 and ANSI strings.

use std::borrow::Cow;

use evtx::binxml::value_variant::SysTime;

/// Appends UTF-16LE `units` as the crate's XML escaper writes them and the XML reader reads
/// them back: C0 controls but tab, LF and CR, lone surrogates, U+FFFE and U+FFFF become `_`.
pub(super) fn push_utf16(out: &mut Vec<u8>, units: &[u8]) {
    let mut rest = units;
    // Most values are printable ASCII: a byte per unit, no decoding; eight units a test, as
    // the 16-bit lanes of a u128: all below 0x80 (no bit of 0xff80 set), and all at least
    // 0x20 (then `v + 0x7fe0` sets the lane's top bit, with no carry out of it).
    const LANES: u128 = 0x0001_0001_0001_0001_0001_0001_0001_0001;
    while let Some((head, tail)) = rest.split_first_chunk::<16>() {
        let w = u128::from_le_bytes(*head);
        if w & (LANES * 0xff80) != 0 || (w + LANES * 0x7fe0) & (LANES * 0x8000) != LANES * 0x8000 {
            break;
        }
        let mut ascii = [0u8; 8];
        for (k, b) in ascii.iter_mut().enumerate() {
            *b = head[2 * k];
        }
        out.extend_from_slice(&ascii);
        rest = tail;
    }
    while let [lo, 0, tail @ ..] = rest
        && (0x20..0x80).contains(lo)
    {
        out.push(*lo);
        rest = tail;
    }
    if rest.is_empty() {
        return;
    }
    let it = rest
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut utf8 = [0u8; 4];
    for c in char::decode_utf16(it) {
        let c = match c {
            Ok(c) if c < ' ' && !matches!(c, '\t' | '\n' | '\r') => '_',
            Ok('\u{FFFE}' | '\u{FFFF}') | Err(_) => '_',
            Ok(c) => c,
        };
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// Appends an ANSI string as the crate decodes it (NUL bytes dropped, Windows-1252: the
/// code page of the default `ParserSettings` the decoder uses) and escapes it for XML (C0
/// controls but tab, LF and CR as `_`).
fn push_ansi(out: &mut Vec<u8>, b: &[u8]) {
    let kept: Cow<'_, [u8]> = if b.contains(&0) {
        Cow::Owned(b.iter().copied().filter(|&c| c != 0).collect())
    } else {
        Cow::Borrowed(b)
    };
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&kept);
    // Controls are single bytes in UTF-8: bytes of other characters are all >= 0x80.
    out.extend(text.bytes().map(|c| {
        if c < b' ' && !matches!(c, b'\t' | b'\n' | b'\r') {
            b'_'
        } else {
            c
        }
    }));
}

/// The units of `bytes` before the first NUL unit (a sized string value ends there).
pub(super) fn until_nul(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .chunks_exact(2)
        .position(|u| u == [0, 0])
        .unwrap_or(bytes.len() / 2);
    &bytes[..2 * n]
}

/// Substitution value types (MS-EVEN6 2.2.16).
pub(super) mod ty {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const ANSI_STRING: u8 = 0x02;
    pub const INT8: u8 = 0x03;
    pub const UINT8: u8 = 0x04;
    pub const INT16: u8 = 0x05;
    pub const UINT16: u8 = 0x06;
    pub const INT32: u8 = 0x07;
    pub const UINT32: u8 = 0x08;
    pub const INT64: u8 = 0x09;
    pub const UINT64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const BINARY: u8 = 0x0e;
    pub const GUID: u8 = 0x0f;
    pub const SIZE_T: u8 = 0x10;
    pub const FILETIME: u8 = 0x11;
    pub const SYSTIME: u8 = 0x12;
    pub const SID: u8 = 0x13;
    pub const HEX_INT32: u8 = 0x14;
    pub const HEX_INT64: u8 = 0x15;
    pub const BIN_XML: u8 = 0x21;
    pub const STRING_ARRAY: u8 = 0x81;
}

fn le<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.try_into().ok()
}

fn push_hex(out: &mut Vec<u8>, v: u64) {
    let mut buf = *b"0x0000000000000000";
    let digits = (64 - v.leading_zeros()).div_ceil(4).max(1) as usize;
    for i in 0..digits {
        buf[1 + digits - i] = b"0123456789abcdef"[(v >> (4 * i)) as usize & 15];
    }
    out.extend_from_slice(&buf[..2 + digits]);
}

fn push_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends the text the crate renders for a value of type `t` held in `b`, or `None` for a
/// type or size replay leaves to the XML path.
pub(super) fn render(out: &mut Vec<u8>, t: u8, b: &[u8]) -> Option<()> {
    match t {
        ty::NULL => {}
        ty::STRING => push_utf16(out, until_nul(b)),
        ty::ANSI_STRING => push_ansi(out, b),
        ty::INT8 => push_int(out, i8::from_le_bytes(le(b)?)),
        ty::UINT8 => push_int(out, u8::from_le_bytes(le(b)?)),
        ty::INT16 => push_int(out, i16::from_le_bytes(le(b)?)),
        ty::UINT16 => push_int(out, u16::from_le_bytes(le(b)?)),
        ty::INT32 => push_int(out, i32::from_le_bytes(le(b)?)),
        ty::UINT32 => push_int(out, u32::from_le_bytes(le(b)?)),
        ty::INT64 => push_int(out, i64::from_le_bytes(le(b)?)),
        ty::UINT64 => push_int(out, u64::from_le_bytes(le(b)?)),
        ty::BOOL => match i32::from_le_bytes(le(b)?) {
            0 => out.extend_from_slice(b"false"),
            1 => out.extend_from_slice(b"true"),
            raw => push_int(out, raw),
        },
        ty::BINARY => {
            for chunk in b.chunks(32) {
                let mut buf = [0u8; 64];
                for (k, x) in chunk.iter().enumerate() {
                    buf[2 * k] = b"0123456789ABCDEF"[usize::from(x >> 4)];
                    buf[2 * k + 1] = b"0123456789ABCDEF"[usize::from(x & 15)];
                }
                out.extend_from_slice(&buf[..2 * chunk.len()]);
            }
        }
        ty::GUID => {
            let g: [u8; 16] = le(b)?;
            const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
            let mut buf = *b"{00000000-0000-0000-0000-000000000000}";
            let mut n = 1;
            for (i, &k) in ORDER.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    n += 1;
                }
                buf[n] = b"0123456789abcdef"[usize::from(g[k] >> 4)];
                buf[n + 1] = b"0123456789abcdef"[usize::from(g[k] & 15)];
                n += 2;
            }
            out.extend_from_slice(&buf);
        }
        ty::SIZE_T if b.len() == 4 => push_hex(out, u64::from(u32::from_le_bytes(le(b)?))),
        ty::SIZE_T => push_hex(out, u64::from_le_bytes(le(b)?)),
        ty::HEX_INT32 => push_hex(out, u64::from(u32::from_le_bytes(le(b)?))),
        ty::HEX_INT64 => push_hex(out, u64::from_le_bytes(le(b)?)),
        ty::FILETIME => push_filetime(out, u64::from_le_bytes(le(b)?)),
        ty::SYSTIME => {
            // Windows renders a SYSTEMTIME that is not valid (an unset one too) as 1601-01-01.
            let t = SysTime::from_bytes(&le(b)?);
            let f = if t.is_valid() {
                [
                    u32::from(t.year % 10_000),
                    u32::from(t.month),
                    u32::from(t.day),
                    u32::from(t.hour),
                    u32::from(t.minute),
                    u32::from(t.second),
                    u32::from(t.milliseconds) * 10_000,
                ]
            } else {
                [1601, 1, 1, 0, 0, 0, 0]
            };
            push_datetime(out, f);
        }
        // The crate reads a SID's own length (8 bytes and 4 per sub-authority), whatever the
        // value's size says: only a SID that fits its value exactly is replayed.
        ty::SID if b.len() >= 8 && b.len() == 8 + 4 * usize::from(b[1]) => push_sid(out, b),
        // An empty fragment renders as nothing; a non-empty one is nested XML.
        ty::BIN_XML if b.is_empty() => {}
        _ => return None,
    }
    Some(())
}

/// A FILETIME as Windows renders it (seven fractional digits; years past 9999 keep their
/// last four digits; past `i64::MAX`, zeros).
fn push_filetime(out: &mut Vec<u8>, ft: u64) {
    const TICKS_PER_SEC: u64 = 10_000_000;
    const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SEC;
    let mut f = [0u32; 7];
    if ft <= i64::MAX as u64 {
        let (days, ticks) = (ft / TICKS_PER_DAY, ft % TICKS_PER_DAY);
        // Howard Hinnant's civil_from_days, from 0000-03-01 (584,694 days before 1601).
        let z = days + 584_694;
        let (era, doe) = (z / 146_097, z % 146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = era * 400 + yoe + u64::from(month <= 2);
        let secs = ticks / TICKS_PER_SEC;
        f = [
            (year % 10_000) as u32,
            month as u32,
            day as u32,
            (secs / 3_600) as u32,
            (secs / 60 % 60) as u32,
            (secs % 60) as u32,
            (ticks % TICKS_PER_SEC) as u32,
        ];
    }
    push_datetime(out, f);
}

/// Year, month, day, hour, minute, second and 100 ns ticks as Windows renders them.
fn push_datetime(out: &mut Vec<u8>, f: [u32; 7]) {
    let mut buf = *b"0000-00-00T00:00:00.0000000Z";
    for (field, (at, width)) in
        f.iter()
            .zip([(0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2), (20, 7)])
    {
        let mut v = *field;
        for k in (at..at + width).rev() {
            buf[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    out.extend_from_slice(&buf);
}

/// A SID in `S-R-A-S1-…-Sn` form (revision, 48-bit big-endian authority, then the
/// little-endian sub-authorities), from its bytes (at least 8).
fn push_sid(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b"S-");
    push_int(out, b[0]);
    out.push(b'-');
    push_int(
        out,
        u64::from_be_bytes([0, 0, b[2], b[3], b[4], b[5], b[6], b[7]]),
    );
    for s in b[8..].chunks_exact(4) {
        out.push(b'-');
        push_int(out, u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    }
}
