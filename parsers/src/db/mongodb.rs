//! MongoDB 4.4+ structured log lines (format `mongodb`; tables `slow_queries` and
//! `db_events`). Written from MongoDB's documentation ("Log Messages": JSON output format,
//! the slow-operation example); no server produced the test lines here.
//!
//! # Grammar
//!
//! ```text
//! record = object LF                 ; one JSON object per line
//! object = {"t":{"$date":ISO-8601}, "s":severity, "c":component, "id":int, "ctx":thread,
//!           ["svc":...,] "msg":text, ["attr":{...},] ["tags":[...],] ["truncated":{...},] ...}
//! severity = "F" / "E" / "W" / "I" / "D1" .. "D5"
//! ```
//!
//! # Rows
//!
//! - `"msg":"Slow query"` (id 51803) → one `slow_queries` row: `database` from `attr.ns`
//!   (before the first dot), `command` = the command's name (its first key: `find`,
//!   `aggregate`, `getMore`, ...; `attr.type` when that is not `command`), `statement` = the
//!   command object as logged, `query_time_seconds` = `durationMillis`, `rows_sent` =
//!   `nreturned`, `keys_examined`, `docs_examined`, `rows_affected` = nModified + ninserted +
//!   ndeleted, `plan_summary` = `planSummary`, `session_id` = `ctx`, `client` = `remote`
//!   without its port. `fingerprint` is the command's shape: keys in logged order, every
//!   literal replaced by `?`, runs of equal element shapes in arrays collapsed (`$in` lists,
//!   inserted documents), the collection name kept, and the session envelope (`lsid`,
//!   `$clusterTime`, `$db`, `txnNumber`, read/write concerns, ...) left out.
//! - any other line → one `db_events` row: `event` = connection / disconnection /
//!   authentication / authentication_failed for the connection messages, error / fatal for
//!   `E` / `F` lines, else the component in lower case (`network`, `storage`, ...); `level`
//!   from `s`; `message` = `msg`; `attr` kept whole in `attributes`.

use std::borrow::Cow;
use std::fmt;

use arrow_array::RecordBatch;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::columns::{Attributes, DbEventColumns, DbEventRow, SlowQueryColumns, SlowQueryRow};
use super::fingerprint::fingerprint_id;
use crate::decoder::{Decoder, RecordMeta, SourceContext};
use crate::error::{ErrorKind, ParseError};
use crate::event::EventKind;
use crate::time::parse_iso8601;

/// Engine name written into every row.
pub const ENGINE: &str = "mongodb";

/// Command fields that describe the session or transaction, not the operation.
const ENVELOPE: &[&str] = &[
    "lsid",
    "$clusterTime",
    "$db",
    "$readPreference",
    "$audit",
    "$client",
    "$configTime",
    "$topologyTime",
    "txnNumber",
    "autocommit",
    "startTransaction",
    "readConcern",
    "writeConcern",
    "maxTimeMS",
    "comment",
    "apiVersion",
    "apiStrict",
    "apiDeprecationErrors",
    "shardVersion",
    "databaseVersion",
    "clientOperationKey",
    "mayBypassWriteBlocking",
];

/// Extended-JSON wrappers of a single value (`{"$oid": "..."}`): a literal.
const EXT_LITERALS: &[&str] = &[
    "$oid",
    "$date",
    "$numberLong",
    "$numberInt",
    "$numberDouble",
    "$numberDecimal",
    "$binary",
    "$uuid",
    "$timestamp",
    "$regularExpression",
    "$regex",
    "$symbol",
    "$code",
    "$minKey",
    "$maxKey",
    "$undefined",
    "$dbPointer",
];

#[derive(Deserialize)]
struct Date<'a> {
    #[serde(rename = "$date", borrow)]
    date: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    t: Option<Date<'a>>,
    #[serde(borrow)]
    s: Option<Cow<'a, str>>,
    #[serde(borrow)]
    c: Option<Cow<'a, str>>,
    id: Option<i64>,
    #[serde(borrow)]
    ctx: Option<Cow<'a, str>>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    attr: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlowAttr<'a> {
    #[serde(rename = "type", borrow)]
    op_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ns: Option<Cow<'a, str>>,
    #[serde(borrow)]
    app_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    command: Option<&'a RawValue>,
    #[serde(borrow)]
    plan_summary: Option<Cow<'a, str>>,
    keys_examined: Option<u64>,
    docs_examined: Option<u64>,
    nreturned: Option<u64>,
    #[serde(rename = "nModified")]
    n_modified: Option<u64>,
    ninserted: Option<u64>,
    ndeleted: Option<u64>,
    duration_millis: Option<f64>,
    #[serde(borrow)]
    remote: Option<Cow<'a, str>>,
    #[serde(borrow)]
    query_hash: Option<Cow<'a, str>>,
    #[serde(borrow)]
    plan_cache_key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    err_msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    err_name: Option<Cow<'a, str>>,
    has_sort_stage: Option<bool>,
    used_disk: Option<bool>,
}

/// Writes the shape of a JSON value into `out` while it is deserialised.
struct Shape<'s> {
    out: &'s mut String,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for Shape<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// The value of the command's first key: the collection name is kept.
struct FirstValue<'s>(&'s mut String);

impl<'de> DeserializeSeed<'de> for FirstValue<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstValue<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push('"');
        self.0.push_str(v);
        self.0.push('"');
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.0.push('?');
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.0.push('?');
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.0.push('?');
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.0.push('?');
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.push('?');
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Shape {
            out: self.0,
            top: false,
        }
        .visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Shape {
            out: self.0,
            top: false,
        }
        .visit_map(map)
    }
}

/// Appends a map key to the output and says whether it is a literal wrapper / envelope.
struct Key<'s>(&'s mut String);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = (bool, bool);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(bool, bool), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = (bool, bool);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<(bool, bool), E> {
        self.0.push_str(v);
        Ok((EXT_LITERALS.contains(&v), ENVELOPE.contains(&v)))
    }
}

impl<'de> Visitor<'de> for Shape<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.out.push('?');
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.out.push('?');
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.out.push('?');
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.out.push('?');
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.out.push('?');
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.push('?');
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push('[');
        let mut prev: Option<(usize, usize)> = None;
        loop {
            let start = self.out.len();
            if prev.is_some() {
                self.out.push_str(", ");
            }
            let el = self.out.len();
            let more = seq.next_element_seed(Shape {
                out: self.out,
                top: false,
            })?;
            if more.is_none() {
                self.out.truncate(start);
                break;
            }
            // A run of equal shapes is written once (`$in` lists, inserted documents).
            if let Some((ps, pe)) = prev
                && self.out[ps..pe] == self.out[el..]
            {
                self.out.truncate(start);
                continue;
            }
            let end = self.out.len();
            prev = Some((el, end));
        }
        self.out.push(']');
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let open = self.out.len();
        self.out.push('{');
        let mut n = 0usize;
        loop {
            let before = self.out.len();
            if n > 0 {
                self.out.push_str(", ");
            }
            let Some((literal, envelope)) = map.next_key_seed(Key(self.out))? else {
                self.out.truncate(before);
                break;
            };
            if n == 0 && literal {
                // `{"$oid": ...}` and friends are one literal.
                self.out.truncate(open);
                self.out.push('?');
                map.next_value::<IgnoredAny>()?;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(());
            }
            if self.top && envelope {
                self.out.truncate(before);
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            self.out.push_str(": ");
            if self.top && n == 0 {
                map.next_value_seed(FirstValue(self.out))?;
            } else {
                map.next_value_seed(Shape {
                    out: self.out,
                    top: false,
                })?;
            }
            n += 1;
        }
        self.out.push('}');
        Ok(())
    }
}

/// The shape fingerprint of a command object (see the module docs).
pub fn command_shape(command_json: &str, out: &mut String) -> Result<(), serde_json::Error> {
    out.clear();
    let mut de = serde_json::Deserializer::from_str(command_json);
    Shape { out, top: true }.deserialize(&mut de)
}

/// The command's name: its first key.
fn command_name(command_json: &str) -> Option<&str> {
    let rest = command_json.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(&rest[..end])
}

fn level_name(s: &str) -> &str {
    match s {
        "F" => "FATAL",
        "E" => "ERROR",
        "W" => "WARNING",
        "I" => "INFO",
        s if s.starts_with('D') => "DEBUG",
        s => s,
    }
}

fn host_of(remote: &str) -> &str {
    let h = match remote.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => remote,
    };
    h.trim_start_matches('[').trim_end_matches(']')
}

/// Decoder for the `mongodb` format.
pub struct MongoDecoder {
    host: String,
    slow: SlowQueryColumns,
    events: DbEventColumns,
    fp: String,
}

impl MongoDecoder {
    /// A decoder for one source.
    pub fn new(ctx: &SourceContext) -> MongoDecoder {
        MongoDecoder {
            host: ctx.host.clone(),
            slow: SlowQueryColumns::new(&ctx.source),
            events: DbEventColumns::new(&ctx.source),
            fp: String::new(),
        }
    }

    fn slow_row(
        &mut self,
        line: &Line<'_>,
        attr: &RawValue,
        ts_us: i64,
        meta: &RecordMeta,
    ) -> Result<(), ParseError> {
        let a: SlowAttr<'_> = serde_json::from_str(attr.get()).map_err(|e| {
            ParseError::new(
                ErrorKind::Malformed,
                0,
                format!("slow query `attr` does not have the documented fields: {e}"),
            )
        })?;
        let Some(ms) = a.duration_millis else {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                0,
                "slow query without attr.durationMillis",
            ));
        };
        let statement = a.command.map_or("", RawValue::get);
        if command_shape(statement, &mut self.fp).is_err() || statement.is_empty() {
            self.fp.clear();
        }
        let id = fingerprint_id(&self.fp);
        let command = match a.op_type.as_deref() {
            Some("command") | None => command_name(statement),
            Some(t) => Some(t),
        };
        let database =
            a.ns.as_deref()
                .map(|ns| ns.split_once('.').map_or(ns, |(d, _)| d))
                .filter(|d| !d.is_empty());
        let affected = match (a.n_modified, a.ninserted, a.ndeleted) {
            (None, None, None) => None,
            (m, i, d) => Some(m.unwrap_or(0) + i.unwrap_or(0) + d.unwrap_or(0)),
        };
        let mut attributes: Attributes<'_> = Vec::new();
        let mut put = |k: &'static str, v: &Option<Cow<'_, str>>| {
            if let Some(v) = v.as_deref() {
                attributes.push((k, Cow::Owned(v.to_string())));
            }
        };
        put("ns", &a.ns);
        put("app_name", &a.app_name);
        put("query_hash", &a.query_hash);
        put("plan_cache_key", &a.plan_cache_key);
        put("err_name", &a.err_name);
        put("err_msg", &a.err_msg);
        if a.has_sort_stage == Some(true) {
            attributes.push(("has_sort_stage", Cow::Borrowed("true")));
        }
        if a.used_disk == Some(true) {
            attributes.push(("used_disk", Cow::Borrowed("true")));
        }
        self.slow.push(&SlowQueryRow {
            ts_us,
            host: &self.host,
            ingest_ts_us: meta.ingest_ts_us,
            offset: meta.offset,
            engine: ENGINE,
            database,
            client: a.remote.as_deref().map(host_of),
            session_id: line.ctx.as_deref(),
            query_time_seconds: ms / 1000.0,
            rows_sent: a.nreturned,
            rows_affected: affected,
            keys_examined: a.keys_examined,
            docs_examined: a.docs_examined,
            command,
            statement,
            fingerprint: &self.fp,
            fingerprint_id: &id,
            plan_summary: a.plan_summary.as_deref(),
            attributes,
            ..Default::default()
        });
        Ok(())
    }
}

impl Decoder for MongoDecoder {
    fn kind(&self) -> EventKind {
        EventKind::SlowQuery
    }

    fn frame(&self, buf: &[u8], eof: bool) -> Option<usize> {
        crate::text::line_len(buf, eof)
    }

    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        if record.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if let Some(nul) = memchr::memchr(0, record) {
            return Err(ParseError::new(
                ErrorKind::NulByte,
                nul,
                "NUL byte in a log line",
            ));
        }
        let text = match std::str::from_utf8(record) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(record),
        };
        let body = text.trim_end_matches(['\n', '\r']);
        let line: Line<'_> = serde_json::from_str(body).map_err(|e| {
            let at = e.column().saturating_sub(1).min(body.len());
            let kind = if e.is_eof() {
                ErrorKind::Truncated
            } else {
                ErrorKind::Malformed
            };
            let at = if let Cow::Owned(_) = text {
                super::postgres::raw_offset(record, at)
            } else {
                at
            };
            ParseError::new(kind, at, format!("not a MongoDB JSON log line: {e}"))
        })?;
        let Some(date) = line.t.as_ref().and_then(|t| t.date) else {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                0,
                "MongoDB log line without t.$date",
            ));
        };
        let ts_us = date
            .get()
            .strip_prefix('"')
            .and_then(|d| d.strip_suffix('"'))
            .and_then(|d| parse_iso8601(d.as_bytes()).filter(|(_, n)| *n == d.len()))
            .map(|(t, _)| t)
            .or_else(|| {
                // {"$date":{"$numberLong":"1590005408731"}} (timestampFormat=unix-ish).
                let raw = date.get();
                let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
                digits
                    .parse::<i64>()
                    .ok()
                    .and_then(|ms| ms.checked_mul(1000))
            })
            .ok_or_else(|| {
                ParseError::new(
                    ErrorKind::BadTimestamp,
                    0,
                    "t.$date is not an ISO-8601 time",
                )
            })?;
        let msg = line.msg.as_deref().unwrap_or("");
        if let Some(attr) = line.attr
            && (msg == "Slow query" || line.id == Some(51803))
        {
            return self.slow_row(&line, attr, ts_us, meta);
        }
        let sev = line.s.as_deref().unwrap_or("");
        let component = line.c.as_deref().unwrap_or("");
        let lower;
        let event: &str = match (sev, msg) {
            (_, "Connection accepted") => "connection",
            (_, "Connection ended") => "disconnection",
            (_, "Authentication succeeded" | "Successfully authenticated") => "authentication",
            (_, "Authentication failed" | "Failed to authenticate") => "authentication_failed",
            ("F", _) => "fatal",
            ("E", _) => "error",
            _ if component.is_empty() || component == "-" => "other",
            _ => {
                lower = component.to_ascii_lowercase();
                &lower
            }
        };
        let mut attributes: Attributes<'_> = Vec::new();
        let id = line.id.map(|i| i.to_string());
        if let Some(id) = &id {
            attributes.push(("id", Cow::Borrowed(id)));
        }
        if !component.is_empty() {
            attributes.push(("component", Cow::Borrowed(component)));
        }
        if let Some(a) = line.attr {
            attributes.push(("attr", Cow::Borrowed(a.get())));
        }
        self.events.push(&DbEventRow {
            ts_us,
            host: &self.host,
            ingest_ts_us: meta.ingest_ts_us,
            offset: meta.offset,
            engine: ENGINE,
            session_id: line.ctx.as_deref(),
            event,
            level: (!sev.is_empty()).then(|| level_name(sev)),
            message: msg,
            attributes,
            ..Default::default()
        });
        Ok(())
    }

    fn pending_rows(&self) -> usize {
        self.slow.len() + self.events.len()
    }

    fn finish(&mut self) -> Option<RecordBatch> {
        self.slow.finish()
    }

    fn side_kinds(&self) -> &'static [EventKind] {
        &[EventKind::DbEvent]
    }

    fn finish_side(&mut self) -> Vec<(EventKind, RecordBatch)> {
        self.events
            .finish()
            .map(|b| (EventKind::DbEvent, b))
            .into_iter()
            .collect()
    }
}

/// The decoder of this module's format, or `None` if `format` is not it.
pub fn decoder_for(format: &str, ctx: &SourceContext) -> Option<Box<dyn Decoder>> {
    (format == "mongodb").then(|| Box::new(MongoDecoder::new(ctx)) as Box<dyn Decoder>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_keep_order_and_collapse_lists() {
        let mut out = String::new();
        command_shape(
            r#"{"find":"trades","filter":{"ticker":"MDB","price":{"$gte":110},"tag":{"$in":[1,2,3]}},"sort":{"price":-1},"lsid":{"id":{"$uuid":"fa65"}},"$db":"stocks"}"#,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            r#"{find: "trades", filter: {ticker: ?, price: {$gte: ?}, tag: {$in: [?]}}, sort: {price: ?}}"#
        );
        command_shape(
            r#"{"insert":"c","documents":[{"_id":{"$oid":"5ec5"},"a":1},{"_id":{"$oid":"5ec6"},"a":2}],"ordered":true}"#,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            r#"{insert: "c", documents: [{_id: ?, a: ?}], ordered: ?}"#
        );
        assert!(command_shape("{\"find\":", &mut out).is_err());
    }
}
