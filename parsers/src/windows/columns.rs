//! The `windows_events` Arrow columns, shared by every Windows form: a form parses into a
//! borrowed [`Event`] and pushes it here.

use std::borrow::Cow;

use arrow_array::builder::{
    ArrayBuilder, MapBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};

use crate::builders::{take_map, take_primitive, take_str, ts_builder};

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

fn opt_guid(b: &mut StringBuilder, v: &Option<Cow<'_, str>>) {
    match v {
        Some(s) => b.append_value(guid(Cow::Borrowed(s.as_ref()))),
        None => b.append_null(),
    }
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
            take_primitive(&mut self.ts),
            take_str(&mut self.host),
            take_str(&mut self.source_col),
            take_primitive(&mut self.ingest_ts),
            take_primitive(&mut self.offset),
            take_str(&mut self.clock),
            take_str(&mut self.format_col),
            take_str(&mut self.computer),
            take_str(&mut self.channel),
            take_str(&mut self.provider),
            take_str(&mut self.provider_guid),
            take_primitive(&mut self.event_id),
            take_primitive(&mut self.qualifiers),
            take_primitive(&mut self.version),
            take_primitive(&mut self.level),
            take_primitive(&mut self.task),
            take_primitive(&mut self.opcode),
            take_primitive(&mut self.keywords),
            take_str(&mut self.outcome),
            take_primitive(&mut self.record_id),
            take_primitive(&mut self.process_id),
            take_primitive(&mut self.thread_id),
            take_str(&mut self.user_sid),
            take_str(&mut self.activity_id),
            take_str(&mut self.related_activity_id),
            take_str(&mut self.user_data_name),
            take_map(&mut self.data),
            take_str(&mut self.message),
            take_primitive(&mut self.written_ts),
            take_primitive(&mut self.evtx_record_id),
        ];
        Some(
            RecordBatch::try_new(windows_events(), cols)
                .expect("windows_events columns match schema"),
        )
    }
}
