//! Small byte-level helpers shared by the text formats.

use memchr::memchr;

/// Length of the first line including its `\n`, or the whole buffer at `eof`.
pub(crate) fn line_len(buf: &[u8], eof: bool) -> Option<usize> {
    match memchr(b'\n', buf) {
        Some(i) => Some(i + 1),
        None if eof && !buf.is_empty() => Some(buf.len()),
        None => None,
    }
}

/// The first `b` in `s`, for short `s` (a plain loop: memchr's setup costs more there).
pub(crate) fn find_byte(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&x| x == b)
}

/// Strips one trailing `\n` (and a `\r` before it).
pub(crate) fn trim_eol(mut s: &[u8]) -> &[u8] {
    if let [rest @ .., b'\n'] = s {
        s = rest;
    }
    if let [rest @ .., b'\r'] = s {
        s = rest;
    }
    s
}

/// Parses ASCII decimal digits into a u64; `None` on empty input, a non-digit or overflow.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

/// Parses `secs.frac` (frac of up to 9 digits) into microseconds.
pub(crate) fn parse_seconds_us(s: &[u8]) -> Option<i64> {
    // A stamp is a few bytes: a loop beats memchr's per-call setup.
    let dot = find_byte(b'.', s);
    let (int, frac) = match dot {
        Some(d) => (&s[..d], &s[d + 1..]),
        None => (s, &b""[..]),
    };
    let secs = parse_u64(int)? as i64;
    let mut us: i64 = 0;
    let mut digits = 0;
    for &b in frac.iter().take(6) {
        if !b.is_ascii_digit() {
            return None;
        }
        us = us * 10 + i64::from(b - b'0');
        digits += 1;
    }
    if frac.iter().skip(6).any(|b| !b.is_ascii_digit()) || (dot.is_some() && frac.is_empty()) {
        return None;
    }
    for _ in digits..6 {
        us *= 10;
    }
    secs.checked_mul(1_000_000)?.checked_add(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_to_micros() {
        assert_eq!(parse_seconds_us(b"8121.883813"), Some(8_121_883_813));
        assert_eq!(parse_seconds_us(b"0.5"), Some(500_000));
        assert_eq!(parse_seconds_us(b"12"), Some(12_000_000));
        assert_eq!(parse_seconds_us(b"1.123456789"), Some(1_123_456));
        assert_eq!(parse_seconds_us(b"1."), None);
        assert_eq!(parse_seconds_us(b"x.1"), None);
        assert_eq!(parse_seconds_us(b""), None);
    }

    #[test]
    fn lines() {
        assert_eq!(line_len(b"ab\ncd", false), Some(3));
        assert_eq!(line_len(b"cd", false), None);
        assert_eq!(line_len(b"cd", true), Some(2));
        assert_eq!(trim_eol(b"x\r\n"), b"x");
    }
}
