//! Arrow schemas of `slow_queries` and `db_events` (documented for analysts in
//! docs/tables.md; keep the two in step).

use std::sync::LazyLock;

use arrow_schema::{DataType, Field, SchemaRef};

use crate::schema::{build, string_map_type};

static SLOW_QUERIES: LazyLock<SchemaRef> = LazyLock::new(|| {
    build(vec![
        Field::new("source_offset", DataType::UInt64, false),
        // mysql, mariadb, percona, postgres, mongodb.
        Field::new("engine", DataType::Utf8, false),
        Field::new("database", DataType::Utf8, true),
        Field::new("user", DataType::Utf8, true),
        Field::new("client", DataType::Utf8, true),
        Field::new("session_id", DataType::Utf8, true),
        Field::new("query_time_seconds", DataType::Float64, false),
        Field::new("lock_time_seconds", DataType::Float64, true),
        Field::new("rows_sent", DataType::UInt64, true),
        Field::new("rows_examined", DataType::UInt64, true),
        Field::new("rows_affected", DataType::UInt64, true),
        Field::new("keys_examined", DataType::UInt64, true),
        Field::new("docs_examined", DataType::UInt64, true),
        Field::new("command", DataType::Utf8, true),
        Field::new("statement", DataType::Utf8, false),
        Field::new("fingerprint", DataType::Utf8, false),
        Field::new("fingerprint_id", DataType::Utf8, false),
        Field::new("plan_summary", DataType::Utf8, true),
        Field::new("plan", DataType::Utf8, true),
        Field::new("attributes", string_map_type(), true),
    ])
});

static DB_EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    build(vec![
        Field::new("source_offset", DataType::UInt64, false),
        Field::new("engine", DataType::Utf8, false),
        Field::new("database", DataType::Utf8, true),
        Field::new("user", DataType::Utf8, true),
        Field::new("client", DataType::Utf8, true),
        Field::new("session_id", DataType::Utf8, true),
        Field::new("event", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, true),
        Field::new("sqlstate", DataType::Utf8, true),
        Field::new("duration_seconds", DataType::Float64, true),
        Field::new("size_bytes", DataType::UInt64, true),
        Field::new("message", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, true),
        Field::new("hint", DataType::Utf8, true),
        Field::new("statement", DataType::Utf8, true),
        Field::new("attributes", string_map_type(), true),
    ])
});

/// Schema of table `slow_queries`: one row per logged slow query.
pub fn slow_queries() -> SchemaRef {
    SLOW_QUERIES.clone()
}

/// Schema of table `db_events`: database log events other than slow queries.
pub fn db_events() -> SchemaRef {
    DB_EVENTS.clone()
}
