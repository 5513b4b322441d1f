//! One Windows event, form-independent, borrowing from the record: what every form's parser
//! fills and `columns.rs` appends. The normalisations that make the forms agree live here
//! (GUID spelling, keyword names, level names, positional data keys, empty values).

use std::borrow::Cow;

/// Where an event's `ts` came from (column `clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The event's own creation time (`TimeCreated`, `@timestamp`, NXLog `EventTime` with a
    /// zone): UTC.
    TimeCreated,
    /// NXLog `EventTime` without a zone (NXLog CE's default), read in the source's
    /// `utc_offset` (UTC unless configured).
    TimeCreatedLocal,
    /// No usable creation time (absent, or FILETIME 0 = 1601-01-01): the .evtx record
    /// header's write time.
    Written,
    /// No time at all: when ServerSage read the record.
    Ingest,
}

impl Clock {
    /// The `clock` column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::TimeCreated => "time_created",
            Clock::TimeCreatedLocal => "time_created_local",
            Clock::Written => "written",
            Clock::Ingest => "ingest",
        }
    }
}

/// Keyword bit of audit successes (`0x0020000000000000`, "Audit Success").
pub const AUDIT_SUCCESS: u64 = 0x0020_0000_0000_0000;
/// Keyword bit of audit failures (`0x0010000000000000`, "Audit Failure").
pub const AUDIT_FAILURE: u64 = 0x0010_0000_0000_0000;

/// Audit outcome of an event (column `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Keyword "Audit Success".
    Success,
    /// Keyword "Audit Failure".
    Failure,
}

impl Outcome {
    /// The `outcome` column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "audit_success",
            Outcome::Failure => "audit_failure",
        }
    }

    /// The outcome a keyword mask carries, if any.
    pub fn of_keywords(k: u64) -> Option<Outcome> {
        if k & AUDIT_FAILURE != 0 {
            Some(Outcome::Failure)
        } else if k & AUDIT_SUCCESS != 0 {
            Some(Outcome::Success)
        } else {
            None
        }
    }
}

/// One event as any form gives it. `None` = the form did not carry the field.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Event<'a> {
    /// `TimeCreated`, µs since the epoch (UTC), and which clock it is.
    pub time_created: Option<(i64, Clock)>,
    /// The .evtx record header's write time, µs.
    pub written_us: Option<i64>,
    /// The .evtx record header's record id.
    pub evtx_record_id: Option<u64>,
    pub computer: Option<Cow<'a, str>>,
    pub channel: Option<Cow<'a, str>>,
    pub provider: Option<Cow<'a, str>>,
    pub provider_guid: Option<Cow<'a, str>>,
    pub event_id: Option<u32>,
    pub qualifiers: Option<u32>,
    pub version: Option<u32>,
    pub level: Option<u32>,
    pub task: Option<u32>,
    pub opcode: Option<u32>,
    pub keywords: Option<u64>,
    pub outcome: Option<Outcome>,
    pub record_id: Option<u64>,
    pub process_id: Option<u32>,
    pub thread_id: Option<u32>,
    pub user_sid: Option<Cow<'a, str>>,
    pub activity_id: Option<Cow<'a, str>>,
    pub related_activity_id: Option<Cow<'a, str>>,
    /// Element name of the `UserData` child (`LogFileCleared`), when the data is UserData.
    pub user_data_name: Option<Cow<'a, str>>,
    /// EventData / UserData entries in document order; see [`Data::push`].
    pub data: Data<'a>,
    /// Message rendered on the source host (information only, never parsed).
    pub message: Option<Cow<'a, str>>,
}

/// `param<N>` for the first positions, so that unnamed data needs no allocation per key.
const PARAM_KEYS: [&str; 33] = [
    "param0", "param1", "param2", "param3", "param4", "param5", "param6", "param7", "param8",
    "param9", "param10", "param11", "param12", "param13", "param14", "param15", "param16",
    "param17", "param18", "param19", "param20", "param21", "param22", "param23", "param24",
    "param25", "param26", "param27", "param28", "param29", "param30", "param31", "param32",
];

/// EventData / UserData as `(key, value)` pairs.
///
/// Keys: a `<Data Name="X">` is `X`; an unnamed `<Data>` (classic providers) is `param<N>`,
/// N its 1-based position among the section's elements (as Winlogbeat names them); other
/// elements (`<Binary>`, UserData children) their element name, nested ones joined with
/// `.`. Empty values are not kept: Winlogbeat drops them, so keeping them in the other
/// forms would make the same event differ.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Data<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Data<'a> {
    /// Adds an entry, unless its value is empty.
    pub fn push(&mut self, key: Cow<'a, str>, value: Cow<'a, str>) {
        if !value.is_empty() {
            self.0.push((key, value));
        }
    }

    /// Adds the element at 1-based `position` with the name `name` (`Data` = unnamed).
    pub fn push_positional(&mut self, position: usize, name: Cow<'a, str>, value: Cow<'a, str>) {
        if value.is_empty() {
            return;
        }
        let key = if name.is_empty() || name == "Data" {
            match PARAM_KEYS.get(position) {
                Some(k) => Cow::Borrowed(*k),
                None => Cow::Owned(format!("param{position}")),
            }
        } else {
            name
        };
        self.0.push((key, value));
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether the bytes are `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower-case hex: the four
/// hyphens tested in place, the 32 digits by one table lookup each, with no branch per byte.
#[inline]
fn is_low_guid(g: &[u8; 36]) -> bool {
    const LOW_HEX: [bool; 256] = {
        let mut t = [false; 256];
        let mut c = 0;
        while c < 256 {
            t[c] = matches!(c as u8, b'0'..=b'9' | b'a'..=b'f');
            c += 1;
        }
        t
    };
    if g[8] != b'-' || g[13] != b'-' || g[18] != b'-' || g[23] != b'-' {
        return false;
    }
    let mut ok = true;
    for (i, &c) in g.iter().enumerate() {
        ok &= LOW_HEX[c as usize] | matches!(i, 8 | 13 | 18 | 23);
    }
    ok
}

/// A GUID in one spelling whatever the form's: `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`,
/// lower case in braces as the evtx crate and Winlogbeat write it (Windows' XML and NXLog
/// write upper case, NXLog sometimes without braces). Anything that is not a GUID is kept
/// as it is.
pub fn guid(s: Cow<'_, str>) -> Cow<'_, str> {
    // Most GUIDs come in this spelling already (the evtx crate writes it): no trim, no copy.
    if let [b'{', inner @ .., b'}'] = s.as_bytes()
        && let Ok(g) = <&[u8; 36]>::try_from(inner)
        && is_low_guid(g)
    {
        return s;
    }
    let t = s.trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(t);
    let b = inner.as_bytes();
    if b.len() != 36 {
        return s;
    }
    // One pass: hyphens where they go, hex digits elsewhere, and whether any is upper case.
    let mut upper = false;
    for (i, &c) in b.iter().enumerate() {
        let ok = if matches!(i, 8 | 13 | 18 | 23) {
            c == b'-'
        } else {
            upper |= c.is_ascii_uppercase();
            c.is_ascii_hexdigit()
        };
        if !ok {
            return s;
        }
    }
    if t.len() == 38 && !upper {
        return s;
    }
    let mut out = String::with_capacity(38);
    out.push('{');
    out.push_str(&inner.to_ascii_lowercase());
    out.push('}');
    Cow::Owned(out)
}

/// Keyword bit of a standard keyword name as Windows renders it (Winlogbeat
/// `winlog.keywords`, RenderingInfo `<Keyword>`). Provider-defined names have no known bit.
pub fn keyword_bit(name: &str) -> Option<u64> {
    let n = name.trim();
    let eq = |s: &str| n.eq_ignore_ascii_case(s);
    Some(if eq("Audit Success") {
        AUDIT_SUCCESS
    } else if eq("Audit Failure") {
        AUDIT_FAILURE
    } else if eq("Classic") {
        0x0080_0000_0000_0000
    } else if eq("Correlation Hint") {
        0x0040_0000_0000_0000
    } else if eq("Response Time") {
        0x0001_0000_0000_0000
    } else if eq("WDI Context") {
        0x0002_0000_0000_0000
    } else if eq("WDI Diag") {
        0x0004_0000_0000_0000
    } else if eq("SQM") {
        0x0008_0000_0000_0000
    } else {
        return None;
    })
}

/// Windows level number of a rendered level name (Winlogbeat `log.level`, NXLog
/// `EventType`/`Level`). Windows renders level 0 (LogAlways, every security audit event)
/// as "Information" too, so "information" is 0 for an audit event and 4 otherwise.
pub fn level_of_name(name: &str, audit: bool) -> Option<u32> {
    let n = name.trim();
    let eq = |s: &str| n.eq_ignore_ascii_case(s);
    Some(if eq("critical") {
        1
    } else if eq("error") {
        2
    } else if eq("warning") {
        3
    } else if eq("information") || eq("info") || eq("informational") {
        if audit { 0 } else { 4 }
    } else if eq("verbose") {
        5
    } else if eq("audit_success")
        || eq("audit_failure")
        || eq("audit success")
        || eq("audit failure")
    {
        0
    } else {
        return None;
    })
}

/// Parses a decimal or `0x` hexadecimal unsigned number (surrounding spaces allowed).
pub fn parse_uint(s: &str) -> Option<u64> {
    let t = s.trim().as_bytes();
    let (digits, radix) = match t {
        [b'0', b'x' | b'X', h @ ..] => (h, 16),
        _ => (t, 10),
    };
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' if radix == 16 => c - b'a' + 10,
            b'A'..=b'F' if radix == 16 => c - b'A' + 10,
            _ => return None,
        };
        v = v.checked_mul(radix)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// [`parse_uint`] narrowed to u32.
pub fn parse_u32(s: &str) -> Option<u32> {
    parse_uint(s).and_then(|v| u32::try_from(v).ok())
}

/// µs of FILETIME 0 (1601-01-01T00:00:00Z), which stands for "no time".
const FILETIME_ZERO_US: i64 = -11_644_473_600_000_000;

/// `TimeCreated/@SystemTime` (RFC 3339, up to 9 fractional digits, `Z`) as µs; `None` when
/// it is not a time or is FILETIME 0.
pub fn parse_system_time(s: &str) -> Option<i64> {
    let t = s.trim();
    let (us, used) = crate::time::parse_iso8601(t.as_bytes())?;
    (used == t.len() && us != FILETIME_ZERO_US).then_some(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_have_one_spelling() {
        let low = "{54849625-5478-4994-a5ba-3e3b0328c30d}";
        assert_eq!(guid("{54849625-5478-4994-A5BA-3E3B0328C30D}".into()), low);
        assert_eq!(guid("54849625-5478-4994-A5BA-3E3B0328C30D".into()), low);
        assert!(matches!(guid(low.into()), Cow::Borrowed(_)));
        assert_eq!(guid("not a guid".into()), "not a guid");
    }

    #[test]
    fn keywords_levels_numbers() {
        assert_eq!(
            Outcome::of_keywords(0x8020_0000_0000_0000),
            Some(Outcome::Success)
        );
        assert_eq!(
            Outcome::of_keywords(0x8010_0000_0000_0000),
            Some(Outcome::Failure)
        );
        assert_eq!(Outcome::of_keywords(0x8000_0000_0000_0000), None);
        assert_eq!(keyword_bit("Audit Failure"), Some(AUDIT_FAILURE));
        assert_eq!(keyword_bit("WDI Diag"), Some(0x0004_0000_0000_0000));
        assert_eq!(keyword_bit("Something provider-defined"), None);
        assert_eq!(level_of_name("information", true), Some(0));
        assert_eq!(level_of_name("Information", false), Some(4));
        assert_eq!(level_of_name("ERROR", false), Some(2));
        assert_eq!(
            parse_uint("0x8020000000000000"),
            Some(0x8020_0000_0000_0000)
        );
        assert_eq!(parse_uint(" 4625 "), Some(4625));
        assert_eq!(parse_uint("-1"), None);
        assert_eq!(parse_u32("4294967296"), None);
    }

    #[test]
    fn system_time() {
        // 2016-07-08T18:12:51.681640Z
        assert_eq!(
            parse_system_time("2016-07-08T18:12:51.6816408Z"),
            Some(1_468_001_571_681_640)
        );
        assert_eq!(
            parse_system_time("2021-11-19T16:52:33.833733500Z"),
            Some(1_637_340_753_833_733)
        );
        assert_eq!(parse_system_time("1601-01-01T00:00:00.0000000Z"), None);
        assert_eq!(parse_system_time("yesterday"), None);
    }

    #[test]
    fn data_keys() {
        let mut d = Data::default();
        d.push_positional(1, "Data".into(), "a".into());
        d.push_positional(2, "".into(), "".into());
        d.push_positional(3, "Binary".into(), "00FF".into());
        d.push("Name".into(), "v".into());
        let keys: Vec<&str> = d.0.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["param1", "Binary", "Name"]);
    }
}
