//! The `kernel_events` Arrow columns, shared by every kernel format.
//!
//! Facts are staged per row (not appended to a map builder at once) so that a multi-line
//! report can add facts to a row already appended in the same batch (the hung task's
//! `blocked_in`, an Oops header's taint): see `reports.rs`.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, Float64Builder, MapBuilder, StringBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};

use super::Clock;
use crate::schema;

/// Facts as `name → value` pairs, in capture order.
pub(crate) type FactList = Vec<(Arc<str>, String)>;

/// Facts of one row: `None` for an unclassified row (null map).
pub(crate) type Facts = Option<FactList>;

/// Everything one row needs besides its facts, borrowing from the record.
#[derive(Debug, Default)]
pub(crate) struct Row<'a> {
    pub ts_us: i64,
    pub clock: Option<Clock>,
    pub ingest_ts_us: i64,
    pub offset: u64,
    pub uptime_us: Option<i64>,
    pub host: &'a str,
    pub boot_id: Option<&'a str>,
    pub seq: Option<u64>,
    pub facility: Option<&'a str>,
    pub level: Option<&'a str>,
    pub caller: Option<&'a str>,
    pub subsystem: Option<&'a str>,
    pub device: Option<&'a str>,
    pub class: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub message: &'a [u8],
}

pub(crate) struct Columns {
    source: String,
    ts: TimestampMicrosecondBuilder,
    host: StringBuilder,
    source_col: StringBuilder,
    ingest_ts: TimestampMicrosecondBuilder,
    offset: UInt64Builder,
    clock: StringBuilder,
    uptime: Float64Builder,
    boot_id: StringBuilder,
    seq: UInt64Builder,
    facility: StringBuilder,
    level: StringBuilder,
    caller: StringBuilder,
    subsystem: StringBuilder,
    device: StringBuilder,
    class: StringBuilder,
    severity: StringBuilder,
    /// Staged facts per pending row.
    pub facts: Vec<Facts>,
    message: StringBuilder,
    message_raw: BinaryBuilder,
}

fn ts_builder() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

impl Columns {
    pub fn new(source: &str) -> Self {
        Columns {
            source: source.to_string(),
            ts: ts_builder(),
            host: StringBuilder::new(),
            source_col: StringBuilder::new(),
            ingest_ts: ts_builder(),
            offset: UInt64Builder::new(),
            clock: StringBuilder::new(),
            uptime: Float64Builder::new(),
            boot_id: StringBuilder::new(),
            seq: UInt64Builder::new(),
            facility: StringBuilder::new(),
            level: StringBuilder::new(),
            caller: StringBuilder::new(),
            subsystem: StringBuilder::new(),
            device: StringBuilder::new(),
            class: StringBuilder::new(),
            severity: StringBuilder::new(),
            facts: Vec::new(),
            message: StringBuilder::new(),
            message_raw: BinaryBuilder::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.offset.len()
    }

    /// Appends one row; returns its index in the pending batch.
    pub fn push(&mut self, r: &Row<'_>, facts: Facts) -> usize {
        self.ts.append_value(r.ts_us);
        self.host.append_value(r.host);
        self.source_col.append_value(&self.source);
        self.ingest_ts.append_value(r.ingest_ts_us);
        self.offset.append_value(r.offset);
        self.clock
            .append_value(r.clock.unwrap_or(Clock::Ingest).as_str());
        self.uptime
            .append_option(r.uptime_us.map(|u| u as f64 / 1e6));
        self.boot_id.append_option(r.boot_id);
        self.seq.append_option(r.seq);
        self.facility.append_option(r.facility);
        self.level.append_option(r.level);
        self.caller.append_option(r.caller);
        self.subsystem.append_option(r.subsystem);
        self.device.append_option(r.device);
        self.class.append_option(r.class);
        self.severity.append_option(r.severity);
        self.facts.push(facts);
        match std::str::from_utf8(r.message) {
            Ok(s) => {
                self.message.append_value(s);
                self.message_raw.append_null();
            }
            Err(_) => {
                self.message
                    .append_value(String::from_utf8_lossy(r.message));
                self.message_raw.append_value(r.message);
            }
        }
        self.len() - 1
    }

    pub fn finish(&mut self) -> Option<RecordBatch> {
        if self.len() == 0 {
            return None;
        }
        let mut facts = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for f in self.facts.drain(..) {
            match f {
                Some(kv) => {
                    for (k, v) in kv {
                        facts.keys().append_value(&*k);
                        facts.values().append_value(v);
                    }
                    facts.append(true).expect("keys and values in step");
                }
                None => facts.append(false).expect("keys and values in step"),
            }
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.ts.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.source_col.finish()),
            Arc::new(self.ingest_ts.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.clock.finish()),
            Arc::new(self.uptime.finish()),
            Arc::new(self.boot_id.finish()),
            Arc::new(self.seq.finish()),
            Arc::new(self.facility.finish()),
            Arc::new(self.level.finish()),
            Arc::new(self.caller.finish()),
            Arc::new(self.subsystem.finish()),
            Arc::new(self.device.finish()),
            Arc::new(self.class.finish()),
            Arc::new(self.severity.finish()),
            Arc::new(facts.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.message_raw.finish()),
        ];
        Some(
            RecordBatch::try_new(schema::kernel_events(), cols)
                .expect("kernel_events columns match schema"),
        )
    }
}
