//! Calendar arithmetic for the text formats: fast, allocation-free, UTC.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// µs since the epoch of a civil UTC date and time; `None` if a field is out of range.
pub(crate) fn civil_to_us(
    y: i32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    us: u32,
) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    Some(secs * 1_000_000 + i64::from(us))
}

/// Month number (1-12) of an English three-letter abbreviation.
pub(crate) fn month_from_abbr(m: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS
        .iter()
        .position(|x| x.as_slice() == m)
        .map(|i| i as u32 + 1)
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// `HH:MM:SS` → (h, m, s).
pub(crate) fn parse_hms(s: &[u8]) -> Option<(u32, u32, u32)> {
    if s.len() != 8 || s[2] != b':' || s[5] != b':' {
        return None;
    }
    Some((digits(&s[0..2])?, digits(&s[3..5])?, digits(&s[6..8])?))
}

/// Parses an ISO-8601 / RFC 3339 timestamp at the start of `s`:
/// `YYYY-MM-DDTHH:MM:SS[.,]ffffff(Z|±HH:MM|±HHMM)`. The zone is optional (UTC assumed).
/// Returns µs since the epoch (UTC) and the number of bytes consumed.
pub(crate) fn parse_iso8601(s: &[u8]) -> Option<(i64, usize)> {
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || !(s[10] == b'T' || s[10] == b' ') {
        return None;
    }
    let y = digits(&s[0..4])? as i32;
    let mo = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    let (h, mi, sec) = parse_hms(&s[11..19])?;
    let mut i = 19;
    let mut us = 0u32;
    if i < s.len() && (s[i] == b'.' || s[i] == b',') {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if i - start < 6 {
                us = us * 10 + u32::from(s[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..6 {
            us *= 10;
        }
    }
    let mut offset_s: i64 = 0;
    if i < s.len() {
        match s[i] {
            b'Z' => i += 1,
            sign @ (b'+' | b'-') => {
                let z = &s[i + 1..];
                let (hh, mm, used) = if z.len() >= 5 && z[2] == b':' {
                    (digits(&z[0..2])?, digits(&z[3..5])?, 5)
                } else if z.len() >= 4 {
                    (digits(&z[0..2])?, digits(&z[2..4])?, 4)
                } else {
                    return None;
                };
                offset_s = i64::from(hh * 3600 + mm * 60);
                if sign == b'-' {
                    offset_s = -offset_s;
                }
                i += 1 + used;
            }
            _ => {}
        }
    }
    let t = civil_to_us(y, mo, d, h, mi, sec, us)?;
    Some((t - offset_s * 1_000_000, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_forms() {
        // 2026-11-22T17:10:40.242860Z = 1795367440.242860
        let (t, n) = parse_iso8601(b"2026-11-22T17:10:40.242860+00:00 vm").unwrap();
        assert_eq!(t, 1_795_367_440_242_860);
        assert_eq!(n, 32);
        let (t2, _) = parse_iso8601(b"2026-11-22T19:10:40,242860+02:00").unwrap();
        assert_eq!(t2, t);
        let (t3, n3) = parse_iso8601(b"2026-11-22T17:10:40Z").unwrap();
        assert_eq!((t3, n3), (1_795_367_440_000_000, 20));
        assert!(parse_iso8601(b"2026-13-22T17:10:40Z").is_none());
        assert!(parse_iso8601(b"2026-11-22T17:10:4").is_none());
    }

    #[test]
    fn epoch_and_leap() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(month_from_abbr(b"Nov"), Some(11));
    }
}
