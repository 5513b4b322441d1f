//! PostgreSQL's log timestamps: `YYYY-MM-DD HH:MM:SS[.mmm] ZONE`, where ZONE is the
//! abbreviation of `log_timezone` (`UTC`, `CET`, ...) or a numeric offset (`+03`, `-0530`)
//! for zones without an abbreviation.

use crate::time::parse_iso8601;

/// Offsets (seconds east of UTC) of the abbreviations PostgreSQL's timezone database prints
/// for common `log_timezone` settings. Ambiguous ones take the reading PostgreSQL's default
/// `timezone_abbreviations` set gives (`CST` = US Central, `IST` = Israel is not used: India).
const ZONES: &[(&str, i32)] = &[
    ("UTC", 0),
    ("GMT", 0),
    ("UCT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 3600),
    ("BST", 3600),
    ("CET", 3600),
    ("CEST", 7200),
    ("MET", 3600),
    ("MEST", 7200),
    ("EET", 7200),
    ("EEST", 10800),
    ("MSK", 10800),
    ("IST", 19800),
    ("PKT", 18000),
    ("WIB", 25200),
    ("HKT", 28800),
    ("AWST", 28800),
    ("JST", 32400),
    ("KST", 32400),
    ("ACST", 34200),
    ("ACDT", 37800),
    ("AEST", 36000),
    ("AEDT", 39600),
    ("NZST", 43200),
    ("NZDT", 46800),
    ("HST", -36000),
    ("AKST", -32400),
    ("AKDT", -28800),
    ("PST", -28800),
    ("PDT", -25200),
    ("MST", -25200),
    ("MDT", -21600),
    ("CST", -21600),
    ("CDT", -18000),
    ("EST", -18000),
    ("EDT", -14400),
    ("AST", -14400),
    ("ADT", -10800),
    ("NST", -12600),
    ("NDT", -9000),
];

/// Seconds east of UTC of a zone as PostgreSQL prints it, or `None` if unknown.
pub(crate) fn zone_offset(z: &str) -> Option<i32> {
    if let Some(&(_, off)) = ZONES.iter().find(|(n, _)| *n == z) {
        return Some(off);
    }
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    (h <= 15 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// µs since the epoch (UTC) of `YYYY-MM-DD HH:MM:SS[.fff] ZONE`.
pub(crate) fn parse_pg_timestamp(s: &str) -> Option<i64> {
    let (dt, zone) = s.rsplit_once(' ')?;
    let off = zone_offset(zone)?;
    let (local, used) = parse_iso8601(dt.as_bytes())?;
    (used == dt.len()).then(|| local - i64::from(off) * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        // date -u -d '2026-12-01 07:51:40.349' +%s%N
        let utc = parse_pg_timestamp("2026-12-01 07:51:40.349 UTC").unwrap();
        assert_eq!(utc, 1_796_111_500_349_000);
        assert_eq!(parse_pg_timestamp("2026-12-01 08:51:40.349 CET"), Some(utc));
        assert_eq!(
            parse_pg_timestamp("2026-12-01 13:21:40.349 +0530"),
            Some(utc)
        );
        assert_eq!(parse_pg_timestamp("2026-12-01 04:51:40.349 -03"), Some(utc));
        assert_eq!(parse_pg_timestamp("2026-12-01 07:51:40.349 XYZ"), None);
        assert_eq!(parse_pg_timestamp("2026-13-01 07:51:40 UTC"), None);
    }
}
