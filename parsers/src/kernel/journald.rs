//! `journalctl -k -o json` lines (formats doc K4), format name `journald-json`.
//!
//! One JSON object per line; every value is a string (numbers too); field order varies;
//! `MESSAGE` is an array of byte values when it is not valid UTF-8 or holds control
//! characters; a field present several times is an array of strings (the first is kept).
//!
//! Fields used: `MESSAGE`, `PRIORITY`, `SYSLOG_FACILITY`, `_SOURCE_MONOTONIC_TIMESTAMP`
//! (the kernel's own µs since boot), `__REALTIME_TIMESTAMP` (journald's **reception** time,
//! µs since the epoch), `_BOOT_ID` (32 hex digits; stored in the dashed form of
//! `/proc/sys/kernel/random/boot_id` so it joins with `kmsg` rows), `_HOSTNAME`,
//! `_KERNEL_SUBSYSTEM`, `_KERNEL_DEVICE`. The journal keeps no kernel sequence number.
//!
//! Time: the kernel's timestamp plus the source's boot time when both are known and the
//! entry is from that boot (`clock = "boot"`), else the reception time (`clock = "journal"`:
//! late for records read from the boot backlog or after a journald restart).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{ErrorKind, ParseError};

/// One journal entry's kernel-relevant fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JournalRecord {
    /// `MESSAGE` as bytes.
    pub message: Vec<u8>,
    /// `PRIORITY` (0-7).
    pub priority: Option<u8>,
    /// `SYSLOG_FACILITY` (0 = kern, 1 = user-written kmsg).
    pub facility: Option<u8>,
    /// `_SOURCE_MONOTONIC_TIMESTAMP`: µs since boot.
    pub source_monotonic_us: Option<i64>,
    /// `__REALTIME_TIMESTAMP`: reception, µs since the epoch.
    pub realtime_us: Option<i64>,
    /// `_BOOT_ID`, dashed.
    pub boot_id: Option<String>,
    /// `_HOSTNAME`.
    pub hostname: Option<String>,
    /// `_KERNEL_SUBSYSTEM`.
    pub subsystem: Option<String>,
    /// `_KERNEL_DEVICE`.
    pub device: Option<String>,
}

fn first_str(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Array(a) => a.first().and_then(first_str),
        _ => None,
    }
}

fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Array(a) if a.iter().all(Value::is_number) => a
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect(),
        Value::Array(a) => a.first().and_then(bytes_of),
        _ => None,
    }
}

/// `0123456789abcdef0123456789abcdef` → `01234567-89ab-cdef-0123-456789abcdef`.
pub fn dashed_boot_id(id: &str) -> String {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!(
            "{}-{}-{}-{}-{}",
            &id[..8],
            &id[8..12],
            &id[12..16],
            &id[16..20],
            &id[20..]
        )
    } else {
        id.to_string()
    }
}

/// Parses one line. Errors carry the byte offset within the record.
pub fn parse(record: &[u8]) -> Result<JournalRecord, ParseError> {
    let obj: Map<String, Value> = serde_json::from_slice(record).map_err(|e| {
        // Column is 1-based within its line; the record is one line.
        let line_start: usize = record
            .split(|&b| b == b'\n')
            .take(e.line().saturating_sub(1))
            .map(|l| l.len() + 1)
            .sum();
        ParseError::new(
            ErrorKind::Malformed,
            line_start + e.column().saturating_sub(1),
            format!("not a journal JSON object: {e}"),
        )
    })?;
    let get = |k: &str| obj.get(k).and_then(first_str);
    let num = |k: &str| -> Result<Option<i64>, ParseError> {
        match get(k) {
            None => Ok(None),
            Some(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                ParseError::new(
                    ErrorKind::BadTimestamp,
                    0,
                    format!("{k} is not an integer: {s:?}"),
                )
            }),
        }
    };
    let message = obj
        .get("MESSAGE")
        .and_then(bytes_of)
        .ok_or_else(|| ParseError::new(ErrorKind::Malformed, 0, "journal entry without MESSAGE"))?;
    let small = |k: &str| get(k).and_then(|s| s.trim().parse::<u8>().ok());
    Ok(JournalRecord {
        message,
        priority: small("PRIORITY").filter(|p| *p < 8),
        facility: small("SYSLOG_FACILITY").filter(|f| *f < 24),
        source_monotonic_us: num("_SOURCE_MONOTONIC_TIMESTAMP")?,
        realtime_us: num("__REALTIME_TIMESTAMP")?,
        boot_id: get("_BOOT_ID").map(|b| dashed_boot_id(&b)),
        hostname: get("_HOSTNAME").map(Cow::into_owned),
        subsystem: get("_KERNEL_SUBSYSTEM").map(Cow::into_owned),
        device: get("_KERNEL_DEVICE").map(Cow::into_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_and_byte_array_messages() {
        let l = br#"{"_BOOT_ID":"0123456789abcdef0123456789abcdef","PRIORITY":"6","__REALTIME_TIMESTAMP":"1795367440242860","SYSLOG_FACILITY":"0","_SOURCE_MONOTONIC_TIMESTAMP":"1500000","MESSAGE":"usb 1-1: new","_KERNEL_SUBSYSTEM":"usb","_KERNEL_DEVICE":"+usb:1-1","_HOSTNAME":"vm"}"#;
        let r = parse(l).unwrap();
        assert_eq!(r.message, b"usb 1-1: new");
        assert_eq!((r.priority, r.facility), (Some(6), Some(0)));
        assert_eq!(r.source_monotonic_us, Some(1_500_000));
        assert_eq!(r.realtime_us, Some(1_795_367_440_242_860));
        assert_eq!(
            r.boot_id.as_deref(),
            Some("01234567-89ab-cdef-0123-456789abcdef")
        );
        assert_eq!(r.subsystem.as_deref(), Some("usb"));
        assert_eq!(r.device.as_deref(), Some("+usb:1-1"));
        assert_eq!(r.hostname.as_deref(), Some("vm"));
        let l = br#"{"MESSAGE":[104,105,255,10,120],"PRIORITY":["3","4"]}"#;
        let r = parse(l).unwrap();
        assert_eq!(r.message, b"hi\xff\nx");
        assert_eq!(r.priority, Some(3));
    }

    #[test]
    fn errors_carry_offsets() {
        let e = parse(br#"{"MESSAGE":"a", oops}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
        // serde_json reports the byte where it gave up: at or just after the bad token.
        assert!((15..=16).contains(&e.offset), "{}", e.offset);
        let e = parse(br#"{"PRIORITY":"6"}"#).unwrap_err();
        assert!(e.reason.contains("MESSAGE"));
        let e = parse(br#"{"MESSAGE":"a","__REALTIME_TIMESTAMP":"x"}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadTimestamp);
    }
}
