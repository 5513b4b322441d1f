//! The `windows_events` Arrow columns, shared by every Windows form: a form parses into a
//! borrowed [`Event`] and pushes it here.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, MapBuilder, PrimitiveBuilder, StringBuilder, TimestampMicrosecondBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{Array, ArrayRef, RecordBatch};

use super::fields::{Clock, Event, guid};
use super::schema::windows_events;

/// Column builders of one pending `windows_events` batch.
pub(crate) struct Columns {
    host_default: String,
    source: String,
    format: &'static str,
    ts: TimestampMicrosecondBuilder,
    host: StringBuilder,
    source_col: StringBuilder,
    ingest_ts: TimestampMicrosecondBuilder,
    offset: UInt64Builder,
    clock: StringBuilder,
    format_col: StringBuilder,
    computer: StringBuilder,
    channel: StringBuilder,
    provider: StringBuilder,
    provider_guid: StringBuilder,
    event_id: UInt32Builder,
    qualifiers: UInt32Builder,
    version: UInt32Builder,
    level: UInt32Builder,
    task: UInt32Builder,
    opcode: UInt32Builder,
    keywords: UInt64Builder,
    outcome: StringBuilder,
    record_id: UInt64Builder,
    process_id: UInt32Builder,
    thread_id: UInt32Builder,
    user_sid: StringBuilder,
    activity_id: StringBuilder,
    related_activity_id: StringBuilder,
    user_data_name: StringBuilder,
    data: MapBuilder<StringBuilder, StringBuilder>,
    message: StringBuilder,
    written_ts: TimestampMicrosecondBuilder,
    evtx_record_id: UInt64Builder,
}

fn ts_builder() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

fn opt_guid(b: &mut StringBuilder, v: &Option<Cow<'_, str>>) {
    match v {
        Some(s) => b.append_value(guid(Cow::Borrowed(s.as_ref()))),
        None => b.append_null(),
    }
}

/// The builders' arrays, each builder left with room for as many rows (and string bytes)
/// as it just gave: the next batch fills them without growing them again from empty,
/// which copied every buffer about a dozen times per batch.
fn take_str(b: &mut StringBuilder) -> ArrayRef {
    let a = b.finish();
    *b = StringBuilder::with_capacity(a.len(), a.value_data().len());
    Arc::new(a)
}

fn take_prim<T: ArrowPrimitiveType>(b: &mut PrimitiveBuilder<T>) -> ArrayRef {
    let a = b.finish();
    *b = PrimitiveBuilder::with_capacity(a.len());
    Arc::new(a)
}

fn take_ts(b: &mut TimestampMicrosecondBuilder) -> ArrayRef {
    let a = b.finish();
    *b = TimestampMicrosecondBuilder::with_capacity(a.len()).with_timezone("UTC");
    Arc::new(a)
}

fn take_map(b: &mut MapBuilder<StringBuilder, StringBuilder>) -> ArrayRef {
    let a = b.finish();
    let (k, v) = (a.keys().as_string::<i32>(), a.values().as_string::<i32>());
    *b = MapBuilder::with_capacity(
        None,
        StringBuilder::with_capacity(k.len(), k.value_data().len()),
        StringBuilder::with_capacity(v.len(), v.value_data().len()),
        a.len(),
    );
    Arc::new(a)
}

impl Columns {
    /// Columns for rows of `format` read from a source named `source` on `host`.
    pub fn new(host: &str, source: &str, format: &'static str) -> Self {
        Columns {
            host_default: host.to_string(),
            source: source.to_string(),
            format,
            ts: ts_builder(),
            host: StringBuilder::new(),
            source_col: StringBuilder::new(),
            ingest_ts: ts_builder(),
            offset: UInt64Builder::new(),
            clock: StringBuilder::new(),
            format_col: StringBuilder::new(),
            computer: StringBuilder::new(),
            channel: StringBuilder::new(),
            provider: StringBuilder::new(),
            provider_guid: StringBuilder::new(),
            event_id: UInt32Builder::new(),
            qualifiers: UInt32Builder::new(),
            version: UInt32Builder::new(),
            level: UInt32Builder::new(),
            task: UInt32Builder::new(),
            opcode: UInt32Builder::new(),
            keywords: UInt64Builder::new(),
            outcome: StringBuilder::new(),
            record_id: UInt64Builder::new(),
            process_id: UInt32Builder::new(),
            thread_id: UInt32Builder::new(),
            user_sid: StringBuilder::new(),
            activity_id: StringBuilder::new(),
            related_activity_id: StringBuilder::new(),
            user_data_name: StringBuilder::new(),
            data: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
            message: StringBuilder::new(),
            written_ts: ts_builder(),
            evtx_record_id: UInt64Builder::new(),
        }
    }

    /// Rows pending.
    pub fn len(&self) -> usize {
        self.offset.len()
    }

    /// Appends `ev` (which must have an event id) read at `offset`.
    pub fn push(&mut self, ev: &Event<'_>, event_id: u32, offset: u64, ingest_ts_us: i64) {
        let (ts, clock) = match (ev.time_created, ev.written_us) {
            (Some(t), _) => t,
            (None, Some(w)) => (w, Clock::Written),
            (None, None) => (ingest_ts_us, Clock::Ingest),
        };
        self.ts.append_value(ts);
        match ev.computer.as_deref() {
            Some(c) if !c.is_empty() => self.host.append_value(c),
            _ => self.host.append_value(&self.host_default),
        }
        self.source_col.append_value(&self.source);
        self.ingest_ts.append_value(ingest_ts_us);
        self.offset.append_value(offset);
        self.clock.append_value(clock.as_str());
        self.format_col.append_value(self.format);
        self.computer.append_option(ev.computer.as_deref());
        self.channel.append_option(ev.channel.as_deref());
        self.provider.append_option(ev.provider.as_deref());
        opt_guid(&mut self.provider_guid, &ev.provider_guid);
        self.event_id.append_value(event_id);
        self.qualifiers.append_option(ev.qualifiers);
        self.version.append_option(ev.version);
        self.level.append_option(ev.level);
        self.task.append_option(ev.task);
        self.opcode.append_option(ev.opcode);
        self.keywords.append_option(ev.keywords);
        self.outcome.append_option(ev.outcome.map(|o| o.as_str()));
        self.record_id.append_option(ev.record_id);
        self.process_id.append_option(ev.process_id);
        self.thread_id.append_option(ev.thread_id);
        self.user_sid.append_option(ev.user_sid.as_deref());
        opt_guid(&mut self.activity_id, &ev.activity_id);
        opt_guid(&mut self.related_activity_id, &ev.related_activity_id);
        self.user_data_name
            .append_option(ev.user_data_name.as_deref());
        if ev.data.is_empty() {
            self.data.append(false).expect("keys and values in step");
        } else {
            for (k, v) in &ev.data.0 {
                self.data.keys().append_value(k);
                self.data.values().append_value(v);
            }
            self.data.append(true).expect("keys and values in step");
        }
        self.message.append_option(ev.message.as_deref());
        self.written_ts.append_option(ev.written_us);
        self.evtx_record_id.append_option(ev.evtx_record_id);
    }

    /// Takes the pending rows as a batch.
    pub fn finish(&mut self) -> Option<RecordBatch> {
        if self.len() == 0 {
            return None;
        }
        let cols: Vec<ArrayRef> = vec![
            take_ts(&mut self.ts),
            take_str(&mut self.host),
            take_str(&mut self.source_col),
            take_ts(&mut self.ingest_ts),
            take_prim(&mut self.offset),
            take_str(&mut self.clock),
            take_str(&mut self.format_col),
            take_str(&mut self.computer),
            take_str(&mut self.channel),
            take_str(&mut self.provider),
            take_str(&mut self.provider_guid),
            take_prim(&mut self.event_id),
            take_prim(&mut self.qualifiers),
            take_prim(&mut self.version),
            take_prim(&mut self.level),
            take_prim(&mut self.task),
            take_prim(&mut self.opcode),
            take_prim(&mut self.keywords),
            take_str(&mut self.outcome),
            take_prim(&mut self.record_id),
            take_prim(&mut self.process_id),
            take_prim(&mut self.thread_id),
            take_str(&mut self.user_sid),
            take_str(&mut self.activity_id),
            take_str(&mut self.related_activity_id),
            take_str(&mut self.user_data_name),
            take_map(&mut self.data),
            take_str(&mut self.message),
            take_ts(&mut self.written_ts),
            take_prim(&mut self.evtx_record_id),
        ];
        Some(
            RecordBatch::try_new(windows_events(), cols)
                .expect("windows_events columns match schema"),
        )
    }
}
