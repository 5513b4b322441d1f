//! Builds `dead_letters` rows: every record that did not parse, kept with its raw bytes.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};

use crate::decoder::{RecordMeta, SourceContext};
use crate::error::ParseError;
use crate::schema;

/// Raw bytes kept per dead letter; a longer record keeps its head and its full length in
/// `raw_bytes`, so one giant line cannot blow up memory or the store.
pub const MAX_RAW_BYTES: usize = 64 * 1024;

/// Accumulates dead letters for one source.
pub struct DeadLetterBuilder {
    ctx: SourceContext,
    format: String,
    ts: TimestampMicrosecondBuilder,
    host: StringBuilder,
    source: StringBuilder,
    ingest_ts: TimestampMicrosecondBuilder,
    format_col: StringBuilder,
    offset: UInt64Builder,
    error_type: StringBuilder,
    reason: StringBuilder,
    raw: BinaryBuilder,
    raw_bytes: UInt64Builder,
}

impl DeadLetterBuilder {
    /// A builder for records of `format` read from the source described by `ctx`.
    pub fn new(ctx: SourceContext, format: &str) -> Self {
        DeadLetterBuilder {
            ctx,
            format: format.to_string(),
            ts: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            host: StringBuilder::new(),
            source: StringBuilder::new(),
            ingest_ts: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            format_col: StringBuilder::new(),
            offset: UInt64Builder::new(),
            error_type: StringBuilder::new(),
            reason: StringBuilder::new(),
            raw: BinaryBuilder::new(),
            raw_bytes: UInt64Builder::new(),
        }
    }

    /// Records `record` (read at `meta`) as not parsed because of `err`.
    pub fn push(&mut self, record: &[u8], meta: &RecordMeta, err: &ParseError) {
        self.ts.append_value(meta.ingest_ts_us);
        self.host.append_value(&self.ctx.host);
        self.source.append_value(&self.ctx.source);
        self.ingest_ts.append_value(meta.ingest_ts_us);
        self.format_col.append_value(&self.format);
        self.offset.append_value(meta.offset);
        self.error_type.append_value(err.kind.as_str());
        self.reason.append_value(err.to_string());
        self.raw
            .append_value(&record[..record.len().min(MAX_RAW_BYTES)]);
        self.raw_bytes.append_value(record.len() as u64);
    }

    /// Rows pushed since the last [`DeadLetterBuilder::finish`].
    pub fn len(&self) -> usize {
        self.offset.len()
    }

    /// True when no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the pending rows as a `dead_letters` batch.
    pub fn finish(&mut self) -> Option<RecordBatch> {
        if self.is_empty() {
            return None;
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.ts.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.ingest_ts.finish()),
            Arc::new(self.format_col.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.error_type.finish()),
            Arc::new(self.reason.finish()),
            Arc::new(self.raw.finish()),
            Arc::new(self.raw_bytes.finish()),
        ];
        Some(
            RecordBatch::try_new(schema::dead_letters(), cols)
                .expect("dead_letters columns match schema"),
        )
    }
}
