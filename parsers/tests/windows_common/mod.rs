//! Helpers of the Windows sample tests: running a decoder over bytes, reading rows back
//! from Arrow, and the reference reading of an .evtx file by the evtx crate's own record
//! iterator with its JSON output (what `evtx_dump -o json` prints).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, MapArray, RecordBatch};
use evtx::EvtxParser;
use evtx::err::EvtxError;
use serde_json::Value;
use serversage_parsers::decoder::{Decoder, for_format};
use serversage_parsers::{ParseError, RecordMeta, SourceContext};

/// A directory of ../shared/samples.
pub fn samples(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/samples")
        .join(rel)
}

/// Every .evtx sample, sorted.
pub fn evtx_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(samples("windows/evtx"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    v.sort();
    v
}

pub fn ctx() -> SourceContext {
    SourceContext {
        host: "ingest-host".into(),
        source: "test".into(),
        default_year: 2026,
        ..Default::default()
    }
}

/// One `windows_events` row, as a user would read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub ts: i64,
    pub clock: String,
    pub offset: u64,
    pub format: String,
    pub host: String,
    pub computer: Option<String>,
    pub channel: Option<String>,
    pub provider: Option<String>,
    pub provider_guid: Option<String>,
    pub event_id: u32,
    pub qualifiers: Option<u32>,
    pub version: Option<u32>,
    pub level: Option<u32>,
    pub task: Option<u32>,
    pub opcode: Option<u32>,
    pub keywords: Option<u64>,
    pub outcome: Option<String>,
    pub record_id: Option<u64>,
    pub process_id: Option<u32>,
    pub thread_id: Option<u32>,
    pub user_sid: Option<String>,
    pub activity_id: Option<String>,
    pub related_activity_id: Option<String>,
    pub user_data_name: Option<String>,
    pub data: Vec<(String, String)>,
    pub message: Option<String>,
    pub written_ts: Option<i64>,
    pub evtx_record_id: Option<u64>,
}

/// Decodes `input` (fed at once), returning rows and `(offset, error)` dead letters.
pub fn decode(format: &str, c: &SourceContext, input: &[u8]) -> (Vec<Row>, Vec<(u64, ParseError)>) {
    decode_with(&mut *for_format(format, c).unwrap(), input)
}

/// [`decode`] with a given decoder.
pub fn decode_with<D: Decoder + ?Sized>(
    dec: &mut D,
    input: &[u8],
) -> (Vec<Row>, Vec<(u64, ParseError)>) {
    let mut pos = 0;
    let mut errs = Vec::new();
    let mut out = Vec::new();
    while pos < input.len() {
        let n = dec.frame(&input[pos..], true).unwrap();
        let meta = RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 1,
        };
        if let Err(e) = dec.decode(&input[pos..pos + n], &meta) {
            errs.push((pos as u64, e));
        }
        pos += n;
        if dec.pending_rows() > 1000 {
            out.extend(rows(&dec.finish().unwrap()));
        }
    }
    if let Some(b) = dec.finish() {
        out.extend(rows(&b));
    }
    (out, errs)
}

pub fn rows(b: &RecordBatch) -> Vec<Row> {
    let s = |name: &str, i: usize| {
        let c = b.column_by_name(name).unwrap().as_string::<i32>();
        c.is_valid(i).then(|| c.value(i).to_string())
    };
    let u32c = |name: &str, i: usize| {
        let c = b.column_by_name(name).unwrap().as_primitive::<UInt32Type>();
        c.is_valid(i).then(|| c.value(i))
    };
    let u64c = |name: &str, i: usize| {
        let c = b.column_by_name(name).unwrap().as_primitive::<UInt64Type>();
        c.is_valid(i).then(|| c.value(i))
    };
    let tsc = |name: &str, i: usize| {
        let c = b
            .column_by_name(name)
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        c.is_valid(i).then(|| c.value(i))
    };
    let m: &MapArray = b.column_by_name("event_data").unwrap().as_map();
    (0..b.num_rows())
        .map(|i| {
            let data = if m.is_null(i) {
                Vec::new()
            } else {
                let e = m.value(i);
                let k = e.column(0).as_string::<i32>();
                let v = e.column(1).as_string::<i32>();
                (0..e.len())
                    .map(|j| (k.value(j).to_string(), v.value(j).to_string()))
                    .collect()
            };
            Row {
                ts: tsc("ts", i).unwrap(),
                clock: s("clock", i).unwrap(),
                offset: u64c("source_offset", i).unwrap(),
                format: s("format", i).unwrap(),
                host: s("host", i).unwrap(),
                computer: s("computer", i),
                channel: s("channel", i),
                provider: s("provider", i),
                provider_guid: s("provider_guid", i),
                event_id: u32c("event_id", i).unwrap(),
                qualifiers: u32c("qualifiers", i),
                version: u32c("version", i),
                level: u32c("level", i),
                task: u32c("task", i),
                opcode: u32c("opcode", i),
                keywords: u64c("keywords", i),
                outcome: s("outcome", i),
                record_id: u64c("record_id", i),
                process_id: u32c("process_id", i),
                thread_id: u32c("thread_id", i),
                user_sid: s("user_sid", i),
                activity_id: s("activity_id", i),
                related_activity_id: s("related_activity_id", i),
                user_data_name: s("user_data_name", i),
                data,
                message: s("message", i),
                written_ts: tsc("written_ts", i),
                evtx_record_id: u64c("evtx_record_id", i),
            }
        })
        .collect()
}

/// What the reference (the crate's JSON rendering) says about one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The record header's id (what the crate's iterator reports).
    pub record_id: u64,
    /// `System/EventRecordID`.
    pub event_record_id: Option<u64>,
    pub event_id: u32,
    pub qualifiers: Option<u32>,
    pub time_us: Option<i64>,
    pub channel: Option<String>,
    pub provider: Option<String>,
    pub provider_guid: Option<String>,
    pub computer: Option<String>,
    pub level: Option<u32>,
    pub task: Option<u32>,
    pub opcode: Option<u32>,
    pub version: Option<u32>,
    pub keywords: Option<u64>,
    pub process_id: Option<u32>,
    pub thread_id: Option<u32>,
    pub user_sid: Option<String>,
    pub user_data_name: Option<String>,
    /// Entries as ServerSage names them (see the module docs of windows/fields.rs).
    pub data: Vec<(String, String)>,
    /// The whole JSON value, for building other forms.
    pub json: Value,
}

/// A value as rendered XML carries it: C0 controls other than tab, LF and CR, and U+FFFE /
/// U+FFFF, are not XML characters, and Windows (and the crate's XML) writes them as `_`.
pub fn as_in_xml(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '_',
            _ => c,
        })
        .collect()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(as_in_xml(s)),
        Value::Object(o) => o.get("#text").and_then(text),
        other => Some(other.to_string()),
    }
}

fn num(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        Value::Object(o) => num(o.get("#text")),
        _ => None,
    }
}

fn attr<'v>(v: Option<&'v Value>, name: &str) -> Option<&'v Value> {
    v?.get("#attributes")?.get(name)
}

/// Flattens a UserData child the way the table does: dotted paths, no attributes.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "#attributes" {
                    continue;
                }
                if k == "#text" {
                    if let Some(t) = text(x).filter(|t| !t.is_empty()) {
                        out.push((prefix.to_string(), t));
                    }
                    continue;
                }
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                flatten(prefix, x, out);
            }
        }
        other => {
            if let Some(t) = text(other).filter(|t| !t.is_empty()) {
                out.push((prefix.to_string(), t));
            }
        }
    }
}

/// The reference's reading of one record.
pub fn expected(record_id: u64, json: Value) -> Expected {
    let ev = &json["Event"];
    let sys = &ev["System"];
    let time_us = attr(sys.get("TimeCreated"), "SystemTime")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.timestamp_micros())
        .filter(|&us| us != -11_644_473_600_000_000);
    let mut data = Vec::new();
    let mut user_data_name = None;
    match ev.get("EventData") {
        Some(Value::Object(o)) => {
            let mut position = 0;
            for (k, v) in o {
                if k == "#attributes" {
                    continue;
                }
                if k == "Data" {
                    let v = match v {
                        Value::Object(o) if o.contains_key("#text") => &o["#text"],
                        other => other,
                    };
                    let items: Vec<&Value> = match v {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for it in items {
                        position += 1;
                        if let Some(t) = text(it).filter(|t| !t.is_empty()) {
                            data.push((format!("param{position}"), t));
                        }
                    }
                } else {
                    position += 1;
                    if let Some(t) = text(v).filter(|t| !t.is_empty()) {
                        data.push((k.clone(), t));
                    }
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => panic!("EventData of record {record_id}: {other}"),
    }
    if let Some(Value::Object(o)) = ev.get("UserData")
        && let Some((name, v)) = o.iter().find(|(k, _)| *k != "#attributes")
    {
        user_data_name = Some(name.clone());
        flatten("", v, &mut data);
    }
    Expected {
        record_id,
        event_record_id: num(sys.get("EventRecordID")),
        event_id: num(sys.get("EventID")).unwrap() as u32,
        qualifiers: num(attr(sys.get("EventID"), "Qualifiers")).map(|q| q as u32),
        time_us,
        channel: sys.get("Channel").and_then(text),
        provider: attr(sys.get("Provider"), "Name").and_then(text),
        provider_guid: attr(sys.get("Provider"), "Guid").and_then(text),
        computer: sys.get("Computer").and_then(text),
        level: num(sys.get("Level")).map(|v| v as u32),
        task: num(sys.get("Task")).map(|v| v as u32),
        opcode: num(sys.get("Opcode")).map(|v| v as u32),
        version: num(sys.get("Version")).map(|v| v as u32),
        keywords: sys
            .get("Keywords")
            .and_then(text)
            .and_then(|k| u64::from_str_radix(k.trim_start_matches("0x"), 16).ok()),
        process_id: num(attr(sys.get("Execution"), "ProcessID")).map(|v| v as u32),
        thread_id: num(attr(sys.get("Execution"), "ThreadID")).map(|v| v as u32),
        user_sid: attr(sys.get("Security"), "UserID").and_then(text),
        user_data_name,
        data,
        json,
    }
}

/// What the reference reads from a file, and what it reports it cannot read.
pub struct Reference {
    pub records: Vec<Expected>,
    pub errors: Vec<EvtxError>,
}

pub fn reference(path: &Path) -> Reference {
    let mut p = EvtxParser::from_path(path).unwrap();
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for r in p.records_json_value() {
        match r {
            Ok(r) => records.push(expected(r.event_record_id, r.data)),
            Err(e) => errors.push(e),
        }
    }
    Reference { records, errors }
}

/// The same records rendered as XML by the crate (what `evtx_dump` prints by default).
pub fn reference_xml(path: &Path) -> BTreeMap<u64, String> {
    let mut p = EvtxParser::from_path(path).unwrap();
    p.records()
        .filter_map(Result::ok)
        .map(|r| (r.event_record_id, r.data))
        .collect()
}

/// GUIDs as the table spells them.
pub fn lower_guid(g: &str) -> String {
    let t = g.trim_matches(|c| c == '{' || c == '}');
    format!("{{{}}}", t.to_ascii_lowercase())
}
