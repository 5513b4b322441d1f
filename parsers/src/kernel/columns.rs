//! The `kernel_events` Arrow columns, shared by every kernel format.
//!
//! Facts are staged per row (not appended to a map builder at once) so that a multi-line
//! report can add facts to a row already appended in the same batch (the hung task's
//! `blocked_in`, an Oops header's taint): see `reports.rs`.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, Float64Builder, MapBuilder, PrimitiveBuilder, StringBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, ArrowPrimitiveType, RecordBatch};

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

/// The builder's array; the builder is left with room for `rows` rows and as many bytes.
fn str_take(b: &mut StringBuilder, rows: usize) -> ArrayRef {
    let bytes = b.values_slice().len();
    let a = b.finish();
    *b = StringBuilder::with_capacity(rows, bytes);
    Arc::new(a)
}

fn bin_take(b: &mut BinaryBuilder, rows: usize) -> ArrayRef {
    let bytes = b.values_slice().len();
    let a = b.finish();
    *b = BinaryBuilder::with_capacity(rows, bytes);
    Arc::new(a)
}

fn prim_take<T: ArrowPrimitiveType>(b: &mut PrimitiveBuilder<T>, rows: usize) -> ArrayRef {
    let a = b.finish();
    *b = PrimitiveBuilder::with_capacity(rows);
    Arc::new(a)
}

fn ts_take(b: &mut TimestampMicrosecondBuilder, rows: usize) -> ArrayRef {
    let a = b.finish();
    *b = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
    Arc::new(a)
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
        self.facts.push(facts);
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
        // `finish` leaves a builder empty, without capacity: start the next batch with what
        // this one needed instead of growing every buffer again by doubling (and copying).
        let n = self.len();
        let cols: Vec<ArrayRef> = vec![
            ts_take(&mut self.ts, n),
            str_take(&mut self.host, n),
            str_take(&mut self.source_col, n),
            ts_take(&mut self.ingest_ts, n),
            prim_take(&mut self.offset, n),
            str_take(&mut self.clock, n),
            prim_take(&mut self.uptime, n),
            str_take(&mut self.boot_id, n),
            prim_take(&mut self.seq, n),
            str_take(&mut self.facility, n),
            str_take(&mut self.level, n),
            str_take(&mut self.caller, n),
            str_take(&mut self.subsystem, n),
            str_take(&mut self.device, n),
            str_take(&mut self.class, n),
            str_take(&mut self.severity, n),
            Arc::new(facts.finish()),
            str_take(&mut self.message, n),
            bin_take(&mut self.message_raw, n),
        ];
        Some(
            RecordBatch::try_new(schema::kernel_events(), cols)
                .expect("kernel_events columns match schema"),
        )
    }
}
