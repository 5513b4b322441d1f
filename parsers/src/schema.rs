//! The fixed Arrow schema of every table. docs/tables.md documents the same columns for
//! analysts; keep the two in step.
//!
//! Conventions: every table starts with `ts` (event time, µs, UTC), `host`, `source` and
//! `ingest_ts`; durations are `*_seconds` (Float64), sizes `*_bytes` (UInt64); a column
//! that a source may not provide is nullable.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Arrow type of `ts` and every other timestamp column: microseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(crate) fn common() -> Vec<Field> {
    vec![
        Field::new("ts", timestamp_type(), false),
        Field::new("host", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("ingest_ts", timestamp_type(), false),
    ]
}

pub(crate) fn build(extra: Vec<Field>) -> SchemaRef {
    let mut fields = common();
    fields.extend(extra);
    Arc::new(Schema::new(fields))
}

/// `Map<Utf8, Utf8>` with Arrow's standard entry names, as Parquet readers expect.
pub fn string_map_type() -> DataType {
    let entries = Fields::from(vec![
        Field::new("keys", DataType::Utf8, false),
        Field::new("values", DataType::Utf8, true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

static KERNEL: LazyLock<SchemaRef> = LazyLock::new(|| {
    build(vec![
        Field::new("source_offset", DataType::UInt64, false),
        Field::new("clock", DataType::Utf8, false),
        Field::new("uptime_seconds", DataType::Float64, true),
        Field::new("boot_id", DataType::Utf8, true),
        Field::new("seq", DataType::UInt64, true),
        Field::new("facility", DataType::Utf8, true),
        Field::new("level", DataType::Utf8, true),
        Field::new("caller", DataType::Utf8, true),
        Field::new("subsystem", DataType::Utf8, true),
        Field::new("device", DataType::Utf8, true),
        Field::new("class", DataType::Utf8, true),
        Field::new("severity", DataType::Utf8, true),
        // Named captures of the catalogue pattern that classified the row (null if none).
        Field::new("facts", string_map_type(), true),
        Field::new("message", DataType::Utf8, false),
        Field::new("message_raw", DataType::Binary, true),
    ])
});

static GC: LazyLock<SchemaRef> = LazyLock::new(|| {
    build(vec![
        Field::new("source_offset", DataType::UInt64, false),
        Field::new("clock", DataType::Utf8, false),
        Field::new("uptime_seconds", DataType::Float64, true),
        Field::new("jvm", DataType::Utf8, false),
        Field::new("collector", DataType::Utf8, true),
        Field::new("gc_id", DataType::UInt64, true),
        Field::new("kind", DataType::Utf8, false),
        Field::new("phase", DataType::Utf8, false),
        Field::new("cause", DataType::Utf8, true),
        Field::new("stop_the_world", DataType::Boolean, true),
        Field::new("duration_seconds", DataType::Float64, true),
        Field::new("heap_before_bytes", DataType::UInt64, true),
        Field::new("heap_after_bytes", DataType::UInt64, true),
        Field::new("heap_capacity_bytes", DataType::UInt64, true),
        Field::new("young_before_bytes", DataType::UInt64, true),
        Field::new("young_after_bytes", DataType::UInt64, true),
        Field::new("old_before_bytes", DataType::UInt64, true),
        Field::new("old_after_bytes", DataType::UInt64, true),
        Field::new("metaspace_before_bytes", DataType::UInt64, true),
        Field::new("metaspace_after_bytes", DataType::UInt64, true),
        // Allocated since the previous GC of the JVM; promoted to the old generation.
        Field::new("allocated_bytes", DataType::UInt64, true),
        Field::new("promoted_bytes", DataType::UInt64, true),
        Field::new("user_seconds", DataType::Float64, true),
        Field::new("sys_seconds", DataType::Float64, true),
        Field::new("real_seconds", DataType::Float64, true),
        Field::new("message", DataType::Utf8, false),
    ])
});

static DEAD_LETTERS: LazyLock<SchemaRef> = LazyLock::new(|| {
    build(vec![
        Field::new("format", DataType::Utf8, false),
        Field::new("source_offset", DataType::UInt64, false),
        Field::new("error_type", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw", DataType::Binary, false),
        Field::new("raw_bytes", DataType::UInt64, false),
    ])
});

static ALERTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    build(vec![
        Field::new("rule", DataType::Utf8, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, true),
        Field::new("labels", string_map_type(), false),
        Field::new("value", DataType::Float64, true),
        Field::new("threshold", DataType::Float64, true),
        Field::new("window_start", timestamp_type(), false),
        Field::new("window_end", timestamp_type(), false),
        Field::new("active_since", timestamp_type(), true),
        Field::new("summary", DataType::Utf8, false),
    ])
});

/// Schema of table `kernel_events`.
pub fn kernel_events() -> SchemaRef {
    KERNEL.clone()
}

/// Schema of table `gc_events`: one row per JVM GC pause, concurrent phase or GC-related
/// event (see `gc` for which lines make rows).
pub fn gc_events() -> SchemaRef {
    GC.clone()
}

pub use crate::db::schema::{db_events, slow_queries};
pub use crate::windows::schema::windows_events;

/// Schema of table `dead_letters`: what did not parse, with its raw bytes.
pub fn dead_letters() -> SchemaRef {
    DEAD_LETTERS.clone()
}

/// Schema of table `alerts`: one row per alert state transition.
pub fn alerts() -> SchemaRef {
    ALERTS.clone()
}
