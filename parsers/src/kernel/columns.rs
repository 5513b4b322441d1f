//! The `kernel_events` Arrow columns, shared by every kernel format.
//!
//! Facts are staged per row (not appended to a map builder at once) so that a multi-line
//! report can add facts to a row already appended in the same batch (the hung task's
//! `blocked_in`, an Oops header's taint): see `reports.rs`.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBufferBuilder, Float64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, BinaryArray, MapArray, RecordBatch};
use arrow_array::{StringArray, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::DataType;

use super::Clock;
use crate::builders::{take_primitive, take_str, ts_builder};
use crate::same_value::SameValue;
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
    /// `message` as a `str`, when it is UTF-8 (checked once by the caller).
    pub message_utf8: Option<&'a str>,
}

/// An offset into a batch's string bytes (an Arrow builder panics past `i32::MAX` too).
fn offset_i32(n: usize) -> i32 {
    i32::try_from(n).expect("a kernel batch's column holds under 2 GiB")
}

pub(crate) struct Columns {
    source: String,
    /// Rows pushed in this batch.
    rows: usize,
    ts: TimestampMicrosecondBuilder,
    host: SameValue,
    ingest_ts: TimestampMicrosecondBuilder,
    offset: UInt64Builder,
    clock: SameValue,
    uptime: Float64Builder,
    boot_id: SameValue,
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
    /// `message_raw` is null but for messages that are not UTF-8: (row, end in `raw_bytes`).
    raw_rows: Vec<(usize, usize)>,
    raw_bytes: Vec<u8>,
}

/// `message_raw`: the bytes of the rows in `raw_rows`, null elsewhere.
fn raw_take(raw_rows: &mut Vec<(usize, usize)>, raw_bytes: &mut Vec<u8>, rows: usize) -> ArrayRef {
    if raw_rows.is_empty() {
        return Arc::new(BinaryArray::new_null(rows));
    }
    // Invariant: `offsets` has `next + 1` entries, the last one `end`.
    let mut offsets = Vec::with_capacity(rows + 1);
    offsets.push(0);
    let mut nulls = BooleanBufferBuilder::new(rows);
    let (mut next, mut end) = (0, 0);
    for (row, new_end) in raw_rows.drain(..) {
        offsets.resize(row + 1, offset_i32(end));
        nulls.append_n(row - next, false);
        offsets.push(offset_i32(new_end));
        nulls.append(true);
        (next, end) = (row + 1, new_end);
    }
    offsets.resize(rows + 1, offset_i32(end));
    nulls.append_n(rows - next, false);
    let values = std::mem::take(raw_bytes);
    Arc::new(BinaryArray::new(
        OffsetBuffer::new(offsets.into()),
        values.into(),
        Some(NullBuffer::new(nulls.finish())),
    ))
}

/// The `facts` map column from the staged facts (null for unclassified rows).
fn facts_take(facts: &mut Vec<Facts>) -> ArrayRef {
    let rows = facts.len();
    let (mut keys, mut key_offsets) = (Vec::new(), vec![0i32]);
    let (mut values, mut value_offsets) = (Vec::new(), vec![0i32]);
    let mut entry_offsets = Vec::with_capacity(rows + 1);
    entry_offsets.push(0i32);
    let mut valid = BooleanBufferBuilder::new(rows);
    for f in facts.drain(..) {
        valid.append(f.is_some());
        for (k, v) in f.iter().flatten() {
            keys.extend_from_slice(k.as_bytes());
            key_offsets.push(offset_i32(keys.len()));
            values.extend_from_slice(v.as_bytes());
            value_offsets.push(offset_i32(values.len()));
        }
        entry_offsets.push(offset_i32(key_offsets.len() - 1));
    }
    let DataType::Map(entry, sorted) = schema::string_map_type() else {
        unreachable!("string_map_type is a map")
    };
    let DataType::Struct(fields) = entry.data_type() else {
        unreachable!("map entries are a struct")
    };
    let strings = |offsets: Vec<i32>, bytes: Vec<u8>| -> ArrayRef {
        Arc::new(StringArray::new(
            OffsetBuffer::new(offsets.into()),
            bytes.into(),
            None,
        ))
    };
    let entries = StructArray::new(
        fields.clone(),
        vec![strings(key_offsets, keys), strings(value_offsets, values)],
        None,
    );
    Arc::new(MapArray::new(
        entry.clone(),
        OffsetBuffer::new(entry_offsets.into()),
        entries,
        Some(NullBuffer::new(valid.finish())),
        sorted,
    ))
}

impl Columns {
    pub fn new(source: &str) -> Self {
        Columns {
            source: source.to_string(),
            rows: 0,
            ts: ts_builder(),
            host: SameValue::default(),
            ingest_ts: ts_builder(),
            offset: UInt64Builder::new(),
            clock: SameValue::default(),
            uptime: Float64Builder::new(),
            boot_id: SameValue::default(),
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
            raw_rows: Vec::new(),
            raw_bytes: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    /// Appends one row, its facts to follow with [`Columns::push_facts`]; returns its index
    /// in the pending batch.
    pub fn push(&mut self, r: &Row<'_>) -> usize {
        self.ts.append_value(r.ts_us);
        self.host.push(Some(r.host));
        self.ingest_ts.append_value(r.ingest_ts_us);
        self.offset.append_value(r.offset);
        self.clock
            .push(Some(r.clock.unwrap_or(Clock::Ingest).as_str()));
        self.uptime
            .append_option(r.uptime_us.map(|u| u as f64 / 1e6));
        self.boot_id.push(r.boot_id);
        self.seq.append_option(r.seq);
        self.facility.append_option(r.facility);
        self.level.append_option(r.level);
        self.caller.append_option(r.caller);
        self.subsystem.append_option(r.subsystem);
        self.device.append_option(r.device);
        self.class.append_option(r.class);
        self.severity.append_option(r.severity);
        match r.message_utf8 {
            Some(s) => self.message.append_value(s),
            None => {
                self.message
                    .append_value(String::from_utf8_lossy(r.message));
                self.raw_bytes.extend_from_slice(r.message);
                self.raw_rows.push((self.rows, self.raw_bytes.len()));
            }
        }
        self.rows += 1;
        self.rows - 1
    }

    /// The facts of the row [`Columns::push`] appended last.
    pub fn push_facts(&mut self, facts: Facts) {
        self.facts.push(facts);
        debug_assert_eq!(self.facts.len(), self.rows);
    }

    pub fn finish(&mut self) -> Option<RecordBatch> {
        if self.len() == 0 {
            return None;
        }
        // `finish` leaves a builder empty, without capacity: start the next batch with what
        // this one needed instead of growing every buffer again by doubling (and copying).
        let n = self.len();
        let cols: Vec<ArrayRef> = vec![
            take_primitive(&mut self.ts),
            self.host.take(),
            // One source per decoder: no per-row work at all.
            Arc::new(StringArray::new_repeated(&self.source, n)),
            take_primitive(&mut self.ingest_ts),
            take_primitive(&mut self.offset),
            self.clock.take(),
            take_primitive(&mut self.uptime),
            self.boot_id.take(),
            take_primitive(&mut self.seq),
            take_str(&mut self.facility),
            take_str(&mut self.level),
            take_str(&mut self.caller),
            take_str(&mut self.subsystem),
            take_str(&mut self.device),
            take_str(&mut self.class),
            take_str(&mut self.severity),
            facts_take(&mut self.facts),
            take_str(&mut self.message),
            raw_take(&mut self.raw_rows, &mut self.raw_bytes, n),
        ];
        self.rows = 0;
        Some(
            RecordBatch::try_new(schema::kernel_events(), cols)
                .expect("kernel_events columns match schema"),
        )
    }
}
