//! Event kinds and the batches that carry them through the pipeline.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::schema;

/// The kinds of event ServerSage stores; each is one table with one fixed schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// Kernel messages (dmesg, kern.log, /dev/kmsg): table `kernel_events`.
    Kernel,
    /// JVM garbage-collector events (unified and JDK 8 logs): table `gc_events`.
    Gc,
    /// Database slow queries (MySQL/MariaDB, PostgreSQL, MongoDB): table `slow_queries`.
    SlowQuery,
    /// Other database log events (lock waits, temp files, checkpoints, errors): `db_events`.
    DbEvent,
    /// Windows events (.evtx, forwarded XML, Winlogbeat/NXLog JSON): `windows_events`.
    Windows,
    /// Records that did not parse, with their raw bytes: table `dead_letters`.
    DeadLetter,
    /// Alert state transitions produced by rules: table `alerts`.
    Alert,
}

impl EventKind {
    /// Every kind, in table order.
    pub const ALL: [EventKind; 7] = [
        EventKind::Kernel,
        EventKind::Gc,
        EventKind::SlowQuery,
        EventKind::DbEvent,
        EventKind::Windows,
        EventKind::DeadLetter,
        EventKind::Alert,
    ];

    /// Table name in the store and in SQL.
    pub fn table(self) -> &'static str {
        match self {
            EventKind::Kernel => "kernel_events",
            EventKind::Gc => "gc_events",
            EventKind::SlowQuery => "slow_queries",
            EventKind::DbEvent => "db_events",
            EventKind::Windows => "windows_events",
            EventKind::DeadLetter => "dead_letters",
            EventKind::Alert => "alerts",
        }
    }

    /// Name used in configuration (`kind = "kernel"`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Kernel => "kernel",
            EventKind::Gc => "gc",
            EventKind::SlowQuery => "slow_query",
            EventKind::DbEvent => "db_event",
            EventKind::Windows => "windows",
            EventKind::DeadLetter => "dead_letter",
            EventKind::Alert => "alert",
        }
    }

    /// Looks a kind up by its configuration name or its table name.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.name() == name || k.table() == name)
    }

    /// The kind's Arrow schema (shared, cheap to clone).
    pub fn schema(self) -> SchemaRef {
        match self {
            EventKind::Kernel => schema::kernel_events(),
            EventKind::Gc => schema::gc_events(),
            EventKind::SlowQuery => schema::slow_queries(),
            EventKind::DbEvent => schema::db_events(),
            EventKind::Windows => schema::windows_events(),
            EventKind::DeadLetter => schema::dead_letters(),
            EventKind::Alert => schema::alerts(),
        }
    }
}

/// How far into one source the rows of a batch reach. The checkpointer advances a source
/// to `end` only after every durable consumer has committed the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOffset {
    /// Stable id of the source file (its fingerprint), as the checkpointer knows it.
    pub source_id: String,
    /// Byte offset just past the last record in the batch.
    pub end: u64,
}

/// Rows of one kind, in Arrow columns, plus where they came from.
#[derive(Debug, Clone)]
pub struct EventBatch {
    /// Which table these rows belong to.
    pub kind: EventKind,
    /// The rows, in the kind's schema.
    pub records: RecordBatch,
    /// Source positions covered by this batch (empty for derived rows such as alerts).
    pub offsets: Vec<SourceOffset>,
}

impl EventBatch {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.records.num_rows()
    }
}
