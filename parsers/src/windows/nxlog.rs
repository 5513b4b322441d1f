//! NXLog JSON (`nxlog-json`): `im_msvistalog` events written by `xm_json`'s `to_json()`, one
//! flat object per line, optionally after a syslog header (`<14>Dec 13 17:45:02 HOST
//! nxWinEvt[123]: {…}`).
//!
//! ```text
//! { "EventTime": "2017-12-19 17:45:02" | "2021-03-31T12:03:56.514071+03:00" | 1513705502000,
//!   "Hostname", "Keywords": -9214364837600034816 | "9232379236109516800" | "0x8020…",
//!   "EventType": "AUDIT_SUCCESS" | "ERROR" | …, "EventID", "SourceName", "ProviderGuid",
//!   "Version", "Task" | "TaskValue", "OpcodeValue", "RecordNumber", "ActivityID",
//!   "RelatedActivityID", "ExecutionProcessID" | "ProcessID", "ExecutionThreadID" |
//!   "ThreadID", "Channel", "UserID", "Level", "Message", <EventData fields…> }
//! ```
//!
//! Every key that is not an NXLog system field is an EventData value (NXLog flattens
//! EventData to the top level; a data field named like a system field overwrites it, which
//! no reader can undo). `ProcessID`/`ThreadID` are the execution ids when they are JSON
//! numbers (older NXLog), event data when they are strings (Sysmon's `ProcessId`).
//! `Keywords` is the 64-bit mask, signed in NXLog CE. `EventTime` without a zone is local
//! time of the source host, read in the `utc_offset` option (default UTC; `clock` says
//! `time_created_local`); integers are epoch seconds, milliseconds or microseconds by size.
//! `level` is the numeric `Level` when sent, else derived from `EventType`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::fields::{Clock, Data, Event, Outcome, level_of_name, parse_uint};
use super::json::{Scalar, Text, ValueSeed};
use crate::error::{ErrorKind, ParseError};

/// Seconds east of UTC of `+HH:MM`, `+HHMM`, `+HH`, `Z` or `UTC`.
pub fn parse_utc_offset(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// `EventTime` as µs and the clock it is on.
fn event_time(v: &Scalar<'_>, utc_offset_s: i64) -> Option<(i64, Clock)> {
    match v {
        Scalar::Str(s) => {
            let t = s.trim();
            let (us, used) = crate::time::parse_iso8601(t.as_bytes())?;
            if used != t.len() {
                return None;
            }
            let zoned = t.len() > 19 && t[19..].contains(['Z', '+', '-']);
            if zoned {
                Some((us, Clock::TimeCreated))
            } else {
                Some((us - utc_offset_s * 1_000_000, Clock::TimeCreatedLocal))
            }
        }
        Scalar::U(_) | Scalar::I(_) => {
            let n = match v {
                Scalar::U(u) => i64::try_from(*u).ok()?,
                Scalar::I(i) => *i,
                _ => unreachable!(),
            };
            let us = match n.unsigned_abs() {
                0..100_000_000_000 => n.checked_mul(1_000_000)?,
                100_000_000_000..100_000_000_000_000 => n.checked_mul(1_000)?,
                _ => n,
            };
            Some((us, Clock::TimeCreated))
        }
        _ => None,
    }
}

/// The keyword mask: a signed or unsigned number, or a decimal or hex string.
fn keywords(v: &Scalar<'_>) -> Option<u64> {
    match v {
        Scalar::I(i) => Some(*i as u64),
        Scalar::U(u) => Some(*u),
        Scalar::Str(s) => parse_uint(s).or_else(|| s.trim().parse::<i64>().ok().map(|i| i as u64)),
        _ => None,
    }
}

/// Fields read from one object, before the event is assembled.
#[derive(Default)]
struct Raw<'a> {
    ev: Event<'a>,
    time: Option<Scalar<'a>>,
    event_type: Option<Cow<'a, str>>,
    level: Option<Scalar<'a>>,
    exec_pid: Option<u32>,
    exec_tid: Option<u32>,
    pid: Option<u32>,
    tid: Option<u32>,
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an NXLog JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut raw = Raw::default();
        let mut data: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let ev = &mut raw.ev;
            match key.as_ref() {
                "EventTime" => raw.time = Some(map.next_value()?),
                "Hostname" => ev.computer = map.next_value::<Scalar<'de>>()?.into_text(),
                "Keywords" => ev.keywords = keywords(&map.next_value()?),
                "EventType" => raw.event_type = map.next_value::<Scalar<'de>>()?.into_text(),
                "EventID" => ev.event_id = map.next_value::<Scalar<'de>>()?.as_u32(),
                "SourceName" => ev.provider = map.next_value::<Scalar<'de>>()?.into_text(),
                "ProviderGuid" => ev.provider_guid = map.next_value::<Scalar<'de>>()?.into_text(),
                "Version" => ev.version = map.next_value::<Scalar<'de>>()?.as_u32(),
                "Task" | "TaskValue" => {
                    if let Some(t) = map.next_value::<Scalar<'de>>()?.as_u32() {
                        ev.task = Some(t);
                    }
                }
                "OpcodeValue" => ev.opcode = map.next_value::<Scalar<'de>>()?.as_u32(),
                "RecordNumber" => ev.record_id = map.next_value::<Scalar<'de>>()?.as_u64(),
                "ActivityID" => ev.activity_id = map.next_value::<Scalar<'de>>()?.into_text(),
                "RelatedActivityID" => {
                    ev.related_activity_id = map.next_value::<Scalar<'de>>()?.into_text();
                }
                "ExecutionProcessID" => raw.exec_pid = map.next_value::<Scalar<'de>>()?.as_u32(),
                "ExecutionThreadID" => raw.exec_tid = map.next_value::<Scalar<'de>>()?.as_u32(),
                "ProcessID" | "ThreadID" => match map.next_value::<Scalar<'de>>()? {
                    n @ (Scalar::U(_) | Scalar::I(_)) => {
                        if key == "ProcessID" {
                            raw.pid = n.as_u32();
                        } else {
                            raw.tid = n.as_u32();
                        }
                    }
                    other => {
                        if let Some(t) = other.into_text().filter(|t| !t.is_empty()) {
                            data.push((key, t));
                        }
                    }
                },
                "Channel" => ev.channel = map.next_value::<Scalar<'de>>()?.into_text(),
                "UserID" => ev.user_sid = map.next_value::<Scalar<'de>>()?.into_text(),
                "Level" => raw.level = Some(map.next_value()?),
                "Message" => ev.message = map.next_value::<Scalar<'de>>()?.into_text(),
                // NXLog's own fields and renderings of the above: not event data.
                "EventReceivedTime" | "SourceModuleName" | "SourceModuleType" | "Severity"
                | "SeverityValue" | "Category" | "Opcode" | "Domain" | "AccountName"
                | "AccountType" | "ERRORCODE" => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                _ => map.next_value_seed(ValueSeed {
                    key,
                    out: &mut data,
                })?,
            }
        }
        raw.ev.data = Data(data);
        Ok(raw)
    }
}

struct Object;

impl<'de> DeserializeSeed<'de> for Object {
    type Value = Raw<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_map(ObjectVisitor)
    }
}

/// Parses one line; `utc_offset_s` is the zone of zone-less `EventTime`s.
pub(crate) fn parse(text: &str, utc_offset_s: i64) -> Result<Event<'_>, ParseError> {
    let Some(start) = text.find('{') else {
        return Err(ParseError::new(
            ErrorKind::Malformed,
            0,
            "no JSON object on the line",
        ));
    };
    let body = text[start..].trim_end();
    let mut de = serde_json::Deserializer::from_str(body);
    let raw = Object
        .deserialize(&mut de)
        .and_then(|r| de.end().map(|()| r))
        .map_err(|e| {
            let at = start + crate::windows::json_error_offset(body, &e);
            ParseError::new(ErrorKind::Malformed, at, format!("NXLog JSON: {e}"))
        })?;
    let mut ev = raw.ev;
    ev.time_created = raw.time.as_ref().and_then(|t| event_time(t, utc_offset_s));
    ev.process_id = raw.exec_pid.or(raw.pid);
    ev.thread_id = raw.exec_tid.or(raw.tid);
    let et = raw.event_type.as_deref().unwrap_or("");
    ev.outcome = match ev.keywords.and_then(Outcome::of_keywords) {
        Some(o) => Some(o),
        None if et.eq_ignore_ascii_case("AUDIT_SUCCESS") => Some(Outcome::Success),
        None if et.eq_ignore_ascii_case("AUDIT_FAILURE") => Some(Outcome::Failure),
        None => None,
    };
    ev.level = match &raw.level {
        Some(l @ (Scalar::U(_) | Scalar::I(_))) => l.as_u32(),
        Some(Scalar::Str(s)) => s
            .trim()
            .parse()
            .ok()
            .or_else(|| level_of_name(s, ev.outcome.is_some())),
        _ => None,
    }
    .or_else(|| level_of_name(et, ev.outcome.is_some()));
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_times() {
        assert_eq!(parse_utc_offset("+03:00"), Some(10_800));
        assert_eq!(parse_utc_offset("-0530"), Some(-19_800));
        assert_eq!(parse_utc_offset("UTC"), Some(0));
        assert_eq!(parse_utc_offset("3"), None);
        let local = Scalar::Str("2017-12-19 17:45:02".into());
        // 2017-12-19T17:45:02Z = 1513705502
        assert_eq!(
            event_time(&local, 0),
            Some((1_513_705_502_000_000, Clock::TimeCreatedLocal))
        );
        assert_eq!(
            event_time(&local, 3600),
            Some((1_513_701_902_000_000, Clock::TimeCreatedLocal))
        );
        let zoned = Scalar::Str("2017-12-19T18:45:02.5+01:00".into());
        assert_eq!(
            event_time(&zoned, 7200),
            Some((1_513_705_502_500_000, Clock::TimeCreated))
        );
        assert_eq!(
            event_time(&Scalar::U(1_513_705_502_000), 0).map(|t| t.0),
            Some(1_513_705_502_000_000)
        );
        assert_eq!(
            keywords(&Scalar::I(-9_214_364_837_600_034_816)),
            Some(0x8020_0000_0000_0000)
        );
        assert_eq!(
            keywords(&Scalar::Str("9232379236109516800".into())),
            Some(0x8020_0000_0000_0000)
        );
    }
}
