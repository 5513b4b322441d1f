//! The `slow_queries` and `db_events` Arrow columns, shared by every database format:
//! a format fills a borrowed row struct and pushes it.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, Float64Builder, MapBuilder, PrimitiveBuilder, StringBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{ArrayRef, RecordBatch, StringArray, new_null_array};

use arrow_schema::DataType;

use super::schema;
use crate::builders::{take_map, take_primitive, take_str, ts_builder};
use crate::same_value::SameValue;

/// Extra `name → value` pairs of a row (the `attributes` map column); empty = null.
pub type Attributes<'a> = Vec<(&'a str, std::borrow::Cow<'a, str>)>;

/// One `slow_queries` row, borrowing from the record. Field meanings: docs/tables.md.
#[derive(Debug, Default, Clone)]
pub struct SlowQueryRow<'a> {
    /// Event time, µs since the epoch (UTC).
    pub ts_us: i64,
    /// Host (the source's, unless the record names one).
    pub host: &'a str,
    /// When the pipeline read the record, µs.
    pub ingest_ts_us: i64,
    /// Byte offset of the record in its source.
    pub offset: u64,
    /// `mysql`, `mariadb`, `percona`, `postgres` or `mongodb`.
    pub engine: &'a str,
    /// Database (schema) the statement ran in.
    pub database: Option<&'a str>,
    /// Account that ran it.
    pub user: Option<&'a str>,
    /// Client host or address.
    pub client: Option<&'a str>,
    /// Connection / thread / backend pid, as logged.
    pub session_id: Option<&'a str>,
    /// Execution time.
    pub query_time_seconds: f64,
    /// Time spent waiting for locks.
    pub lock_time_seconds: Option<f64>,
    /// Rows returned to the client.
    pub rows_sent: Option<u64>,
    /// Rows read by the server.
    pub rows_examined: Option<u64>,
    /// Rows changed.
    pub rows_affected: Option<u64>,
    /// Index keys examined (MongoDB).
    pub keys_examined: Option<u64>,
    /// Documents examined (MongoDB).
    pub docs_examined: Option<u64>,
    /// Protocol step or command (`Query`, `execute`, `bind`, `find`, ...).
    pub command: Option<&'a str>,
    /// The statement text as logged.
    pub statement: &'a str,
    /// Normalised statement (literals replaced, case and spacing folded).
    pub fingerprint: &'a str,
    /// 16 hex digits identifying the fingerprint (pt-query-digest's checksum).
    pub fingerprint_id: &'a str,
    /// One-line plan summary (MongoDB `planSummary`, a plan's top node).
    pub plan_summary: Option<&'a str>,
    /// The logged plan (auto_explain text or JSON, MariaDB EXPLAIN lines).
    pub plan: Option<&'a str>,
    /// Other logged fields.
    pub attributes: Attributes<'a>,
}

/// One `db_events` row, borrowing from the record. Field meanings: docs/tables.md.
#[derive(Debug, Default, Clone)]
pub struct DbEventRow<'a> {
    /// Event time, µs since the epoch (UTC).
    pub ts_us: i64,
    /// Host.
    pub host: &'a str,
    /// When the pipeline read the record, µs.
    pub ingest_ts_us: i64,
    /// Byte offset of the record in its source.
    pub offset: u64,
    /// Engine, as in `slow_queries`.
    pub engine: &'a str,
    /// Database.
    pub database: Option<&'a str>,
    /// Account.
    pub user: Option<&'a str>,
    /// Client host or address.
    pub client: Option<&'a str>,
    /// Connection / backend pid.
    pub session_id: Option<&'a str>,
    /// Low-cardinality event class (`lock_wait`, `deadlock`, `temp_file`, `checkpoint`,
    /// `autovacuum`, `error`, ...).
    pub event: &'a str,
    /// Severity as logged (`LOG`, `ERROR`, `FATAL`, ...).
    pub level: Option<&'a str>,
    /// SQLSTATE error code.
    pub sqlstate: Option<&'a str>,
    /// Duration of the event (a wait, a checkpoint).
    pub duration_seconds: Option<f64>,
    /// Size (a temporary file).
    pub size_bytes: Option<u64>,
    /// The message.
    pub message: &'a str,
    /// `DETAIL:` line.
    pub detail: Option<&'a str>,
    /// `HINT:` line.
    pub hint: Option<&'a str>,
    /// The statement the event concerns.
    pub statement: Option<&'a str>,
    /// Other logged fields.
    pub attributes: Attributes<'a>,
}

fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
}

fn append_map(b: &mut MapBuilder<StringBuilder, StringBuilder>, kv: &Attributes<'_>) {
    if kv.is_empty() {
        b.append(false).expect("keys and values in step");
        return;
    }
    for (k, v) in kv {
        b.keys().append_value(k);
        b.values().append_value(v);
    }
    b.append(true).expect("keys and values in step");
}

/// A builder that can append a run of nulls.
trait AppendNulls: ArrayBuilder {
    fn nulls(&mut self, n: usize);
}

impl AppendNulls for StringBuilder {
    fn nulls(&mut self, n: usize) {
        self.append_nulls(n);
    }
}

impl<T: ArrowPrimitiveType> AppendNulls for PrimitiveBuilder<T> {
    fn nulls(&mut self, n: usize) {
        self.append_nulls(n);
    }
}

/// A column whose leading nulls are only counted until its first value: a column that a
/// format never fills (MySQL's `keys_examined`, the `plan` of most entries) then costs an
/// increment a row and one null array a batch, not a null appended to two buffers a row.
struct Sparse<B> {
    /// Nulls before the first value; while it is above zero, `b` is empty.
    nulls: usize,
    b: B,
}

impl<B: AppendNulls> Sparse<B> {
    fn new(b: B) -> Self {
        Sparse { nulls: 0, b }
    }

    /// Appends `v` (by `append`) or a null.
    #[inline]
    fn push<V>(&mut self, v: Option<V>, append: impl FnOnce(&mut B, V)) {
        match v {
            None if self.b.is_empty() => self.nulls += 1,
            None => self.b.nulls(1),
            Some(v) => {
                if self.nulls > 0 {
                    self.b.nulls(std::mem::take(&mut self.nulls));
                }
                append(&mut self.b, v);
            }
        }
    }

    /// The pending column (of type `ty`), taken by `take` when it has values.
    fn take(&mut self, ty: &DataType, take: impl FnOnce(&mut B) -> ArrayRef) -> ArrayRef {
        match std::mem::take(&mut self.nulls) {
            0 => take(&mut self.b),
            n => new_null_array(ty, n),
        }
    }
}

/// Builder of `slow_queries` batches for one source.
pub struct SlowQueryColumns {
    source: String,
    ts: TimestampMicrosecondBuilder,
    /// One value all along for a source's rows: built once per batch.
    host: SameValue,
    ingest_ts: TimestampMicrosecondBuilder,
    offset: UInt64Builder,
    engine: StringBuilder,
    database: StringBuilder,
    user: StringBuilder,
    client: StringBuilder,
    session_id: StringBuilder,
    query_time: Float64Builder,
    lock_time: Float64Builder,
    rows_sent: UInt64Builder,
    rows_examined: UInt64Builder,
    rows_affected: Sparse<UInt64Builder>,
    keys_examined: Sparse<UInt64Builder>,
    docs_examined: Sparse<UInt64Builder>,
    command: StringBuilder,
    statement: StringBuilder,
    fingerprint: StringBuilder,
    fingerprint_id: StringBuilder,
    plan_summary: Sparse<StringBuilder>,
    plan: Sparse<StringBuilder>,
    attributes: MapBuilder<StringBuilder, StringBuilder>,
}

impl SlowQueryColumns {
    /// A builder whose rows carry `source` in the `source` column.
    pub fn new(source: &str) -> Self {
        SlowQueryColumns {
            source: source.to_string(),
            ts: ts_builder(),
            host: SameValue::default(),
            ingest_ts: ts_builder(),
            offset: UInt64Builder::new(),
            engine: StringBuilder::new(),
            database: StringBuilder::new(),
            user: StringBuilder::new(),
            client: StringBuilder::new(),
            session_id: StringBuilder::new(),
            query_time: Float64Builder::new(),
            lock_time: Float64Builder::new(),
            rows_sent: UInt64Builder::new(),
            rows_examined: UInt64Builder::new(),
            rows_affected: Sparse::new(UInt64Builder::new()),
            keys_examined: Sparse::new(UInt64Builder::new()),
            docs_examined: Sparse::new(UInt64Builder::new()),
            command: StringBuilder::new(),
            statement: StringBuilder::new(),
            fingerprint: StringBuilder::new(),
            fingerprint_id: StringBuilder::new(),
            plan_summary: Sparse::new(StringBuilder::new()),
            plan: Sparse::new(StringBuilder::new()),
            attributes: map_builder(),
        }
    }

    /// Rows pending.
    pub fn len(&self) -> usize {
        self.offset.len()
    }

    /// True when no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one row.
    pub fn push(&mut self, r: &SlowQueryRow<'_>) {
        self.host.push(Some(r.host));
        self.ts.append_value(r.ts_us);
        self.ingest_ts.append_value(r.ingest_ts_us);
        self.offset.append_value(r.offset);
        self.engine.append_value(r.engine);
        self.database.append_option(r.database);
        self.user.append_option(r.user);
        self.client.append_option(r.client);
        self.session_id.append_option(r.session_id);
        self.query_time.append_value(r.query_time_seconds);
        self.lock_time.append_option(r.lock_time_seconds);
        self.rows_sent.append_option(r.rows_sent);
        self.rows_examined.append_option(r.rows_examined);
        let count = UInt64Builder::append_value;
        let text = |b: &mut StringBuilder, v: &str| b.append_value(v);
        self.rows_affected.push(r.rows_affected, count);
        self.keys_examined.push(r.keys_examined, count);
        self.docs_examined.push(r.docs_examined, count);
        self.command.append_option(r.command);
        self.statement.append_value(r.statement);
        self.fingerprint.append_value(r.fingerprint);
        self.fingerprint_id.append_value(r.fingerprint_id);
        self.plan_summary.push(r.plan_summary, text);
        self.plan.push(r.plan, text);
        append_map(&mut self.attributes, &r.attributes);
    }

    /// Takes the pending rows as a batch. The builders keep room for as many rows and bytes
    /// as the batch had: a source's batches are alike, and regrowing every buffer from empty
    /// for each batch would copy it all once more.
    pub fn finish(&mut self) -> Option<RecordBatch> {
        if self.is_empty() {
            return None;
        }
        let n = self.len();
        let cols: Vec<ArrayRef> = vec![
            take_primitive(&mut self.ts),
            self.host.take(),
            Arc::new(StringArray::new_repeated(&self.source, n)),
            take_primitive(&mut self.ingest_ts),
            take_primitive(&mut self.offset),
            take_str(&mut self.engine),
            take_str(&mut self.database),
            take_str(&mut self.user),
            take_str(&mut self.client),
            take_str(&mut self.session_id),
            take_primitive(&mut self.query_time),
            take_primitive(&mut self.lock_time),
            take_primitive(&mut self.rows_sent),
            take_primitive(&mut self.rows_examined),
            self.rows_affected.take(&DataType::UInt64, take_primitive),
            self.keys_examined.take(&DataType::UInt64, take_primitive),
            self.docs_examined.take(&DataType::UInt64, take_primitive),
            take_str(&mut self.command),
            take_str(&mut self.statement),
            take_str(&mut self.fingerprint),
            take_str(&mut self.fingerprint_id),
            self.plan_summary.take(&DataType::Utf8, take_str),
            self.plan.take(&DataType::Utf8, take_str),
            take_map(&mut self.attributes),
        ];
        Some(
            RecordBatch::try_new(schema::slow_queries(), cols)
                .expect("slow_queries columns match schema"),
        )
    }
}

/// Builder of `db_events` batches for one source.
pub struct DbEventColumns {
    source: String,
    ts: TimestampMicrosecondBuilder,
    host: StringBuilder,
    source_col: StringBuilder,
    ingest_ts: TimestampMicrosecondBuilder,
    offset: UInt64Builder,
    engine: StringBuilder,
    database: StringBuilder,
    user: StringBuilder,
    client: StringBuilder,
    session_id: StringBuilder,
    event: StringBuilder,
    level: StringBuilder,
    sqlstate: StringBuilder,
    duration: Float64Builder,
    size: UInt64Builder,
    message: StringBuilder,
    detail: StringBuilder,
    hint: StringBuilder,
    statement: StringBuilder,
    attributes: MapBuilder<StringBuilder, StringBuilder>,
}

impl DbEventColumns {
    /// A builder whose rows carry `source` in the `source` column.
    pub fn new(source: &str) -> Self {
        DbEventColumns {
            source: source.to_string(),
            ts: ts_builder(),
            host: StringBuilder::new(),
            source_col: StringBuilder::new(),
            ingest_ts: ts_builder(),
            offset: UInt64Builder::new(),
            engine: StringBuilder::new(),
            database: StringBuilder::new(),
            user: StringBuilder::new(),
            client: StringBuilder::new(),
            session_id: StringBuilder::new(),
            event: StringBuilder::new(),
            level: StringBuilder::new(),
            sqlstate: StringBuilder::new(),
            duration: Float64Builder::new(),
            size: UInt64Builder::new(),
            message: StringBuilder::new(),
            detail: StringBuilder::new(),
            hint: StringBuilder::new(),
            statement: StringBuilder::new(),
            attributes: map_builder(),
        }
    }

    /// Rows pending.
    pub fn len(&self) -> usize {
        self.offset.len()
    }

    /// True when no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one row.
    pub fn push(&mut self, r: &DbEventRow<'_>) {
        self.ts.append_value(r.ts_us);
        self.host.append_value(r.host);
        self.source_col.append_value(&self.source);
        self.ingest_ts.append_value(r.ingest_ts_us);
        self.offset.append_value(r.offset);
        self.engine.append_value(r.engine);
        self.database.append_option(r.database);
        self.user.append_option(r.user);
        self.client.append_option(r.client);
        self.session_id.append_option(r.session_id);
        self.event.append_value(r.event);
        self.level.append_option(r.level);
        self.sqlstate.append_option(r.sqlstate);
        self.duration.append_option(r.duration_seconds);
        self.size.append_option(r.size_bytes);
        self.message.append_value(r.message);
        self.detail.append_option(r.detail);
        self.hint.append_option(r.hint);
        self.statement.append_option(r.statement);
        append_map(&mut self.attributes, &r.attributes);
    }

    /// Takes the pending rows as a batch.
    pub fn finish(&mut self) -> Option<RecordBatch> {
        if self.is_empty() {
            return None;
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.ts.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.source_col.finish()),
            Arc::new(self.ingest_ts.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.engine.finish()),
            Arc::new(self.database.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.client.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.event.finish()),
            Arc::new(self.level.finish()),
            Arc::new(self.sqlstate.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(self.size.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.detail.finish()),
            Arc::new(self.hint.finish()),
            Arc::new(self.statement.finish()),
            Arc::new(self.attributes.finish()),
        ];
        Some(
            RecordBatch::try_new(schema::db_events(), cols)
                .expect("db_events columns match schema"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn rows_fill_the_schema() {
        let mut c = SlowQueryColumns::new("slow");
        c.push(&SlowQueryRow {
            host: "db1",
            engine: "mariadb",
            query_time_seconds: 1.5,
            statement: "SELECT 1",
            fingerprint: "select ?",
            fingerprint_id: "0123456789ABCDEF",
            attributes: vec![("QC_hit", "No".into())],
            ..Default::default()
        });
        c.push(&SlowQueryRow {
            host: "db1",
            engine: "mariadb",
            statement: "SELECT 2",
            fingerprint: "select ?",
            fingerprint_id: "0123456789ABCDEF",
            ..Default::default()
        });
        let b = c.finish().unwrap();
        assert_eq!(b.num_rows(), 2);
        let attrs = b.column_by_name("attributes").unwrap();
        assert!(attrs.is_valid(0) && attrs.is_null(1));
        let mut e = DbEventColumns::new("pg");
        e.push(&DbEventRow {
            host: "db1",
            engine: "postgres",
            event: "deadlock",
            message: "deadlock detected",
            ..Default::default()
        });
        assert_eq!(e.finish().unwrap().num_rows(), 1);
        assert!(e.finish().is_none());
    }
}
