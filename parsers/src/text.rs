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

/// Parses `secs.frac` (frac of up to 9 digits) into microseconds: `None` unless the
/// seconds are 1–19 digits and the fraction, after a dot, is at least one digit.
pub(crate) fn parse_seconds_us(s: &[u8]) -> Option<i64> {
    // One pass over the few bytes of a stamp (every kernel text record has one).
    let mut i = 0;
    let mut secs: u64 = 0;
    while let Some(&b) = s.get(i)
        && b.is_ascii_digit()
    {
        if i == 19 {
            return None;
        }
        secs = secs * 10 + u64::from(b - b'0');
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut us: i64 = 0;
    if i < s.len() {
        let frac = match &s[i..] {
            [b'.', frac @ ..] if !frac.is_empty() => frac,
            _ => return None,
        };
        for (k, &b) in frac.iter().enumerate() {
            if !b.is_ascii_digit() {
                return None;
            }
            if k < 6 {
                us = us * 10 + i64::from(b - b'0');
            }
        }
        for _ in frac.len().min(6)..6 {
            us *= 10;
        }
    }
    (secs as i64).checked_mul(1_000_000)?.checked_add(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-pass version `parse_seconds_us` replaced: the answer it must keep giving.
    fn parse_seconds_us_reference(s: &[u8]) -> Option<i64> {
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

    #[test]
    fn seconds_agree_with_the_two_pass_version() {
        let pieces: &[&[u8]] = &[
            b"0", b"7", b"12", b".", b"5", b"123456", b"789", b" ", b"x", b"-",
        ];
        let mut inputs: Vec<Vec<u8>> = vec![
            b"9999999999999999999.1".to_vec(),
            b"99999999999999999999".to_vec(),
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    inputs.push([*a, *b, *c].concat());
                }
            }
        }
        inputs.push(b"18446744073709551615.0".to_vec());
        inputs.push(b"9223372036854.775807".to_vec());
        inputs.push(b"9223372036855.0".to_vec());
        for s in &inputs {
            assert_eq!(
                parse_seconds_us(s),
                parse_seconds_us_reference(s),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

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
