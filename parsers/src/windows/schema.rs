//! Arrow schema of `windows_events` (documented for analysts in docs/tables.md; keep the
//! two in step).

use std::sync::LazyLock;

use arrow_schema::{DataType, Field, SchemaRef};

use crate::schema::{build, string_map_type, timestamp_type};

static WINDOWS: LazyLock<SchemaRef> = LazyLock::new(|| {
    build(vec![
        // .evtx: file offset of the record itself; text forms: of the framed record.
        Field::new("source_offset", DataType::UInt64, false),
        // time_created, time_created_local, written or ingest (see fields::Clock).
        Field::new("clock", DataType::Utf8, false),
        // The format name: evtx, windows-xml, winlogbeat-json, nxlog-json.
        Field::new("format", DataType::Utf8, false),
        Field::new("computer", DataType::Utf8, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("provider", DataType::Utf8, true),
        Field::new("provider_guid", DataType::Utf8, true),
        Field::new("event_id", DataType::UInt32, false),
        Field::new("qualifiers", DataType::UInt32, true),
        Field::new("version", DataType::UInt32, true),
        Field::new("level", DataType::UInt32, true),
        Field::new("task", DataType::UInt32, true),
        Field::new("opcode", DataType::UInt32, true),
        Field::new("keywords", DataType::UInt64, true),
        // audit_success, audit_failure or null.
        Field::new("outcome", DataType::Utf8, true),
        Field::new("record_id", DataType::UInt64, true),
        Field::new("process_id", DataType::UInt32, true),
        Field::new("thread_id", DataType::UInt32, true),
        Field::new("user_sid", DataType::Utf8, true),
        Field::new("activity_id", DataType::Utf8, true),
        Field::new("related_activity_id", DataType::Utf8, true),
        // The UserData child element's name (LogFileCleared), null for EventData.
        Field::new("user_data_name", DataType::Utf8, true),
        // EventData / UserData values: named ones by name, positional ones as param<N>.
        Field::new("event_data", string_map_type(), true),
        // Rendered on the source (RenderingInfo, Winlogbeat/NXLog message): information only.
        Field::new("message", DataType::Utf8, true),
        // .evtx record header: when the record was written to that file, and its id there
        // (record_id is the event's own EventRecordID: another log's in ForwardedEvents).
        Field::new("written_ts", timestamp_type(), true),
        Field::new("evtx_record_id", DataType::UInt64, true),
    ])
});

/// Schema of table `windows_events`: one row per Windows event.
pub fn windows_events() -> SchemaRef {
    WINDOWS.clone()
}
