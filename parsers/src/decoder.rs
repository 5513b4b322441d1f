//! The format seam: frame bytes into records, parse records into a kind's Arrow columns.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;

use crate::error::ParseError;
use crate::event::EventKind;
use crate::gc;
use crate::kernel;
use crate::{db, windows};

/// Facts about a source that its records do not carry themselves, fixed for the source's
/// lifetime. The pipeline fills it from configuration and the host.
#[derive(Debug, Clone, Default)]
pub struct SourceContext {
    /// Host name written into every row (a record's own host field, if any, wins).
    pub host: String,
    /// Source name (from the configuration) written into every row.
    pub source: String,
    /// Boot time of the machine that wrote the log, µs since the epoch, for formats whose
    /// timestamps are seconds since boot. `None`: such records fall back to ingest time.
    pub boot_time_us: Option<i64>,
    /// Boot id (`/proc/sys/kernel/random/boot_id`) when the log is known to be this boot's.
    pub boot_id: Option<String>,
    /// Year assumed for timestamps without one (RFC 3164 syslog).
    pub default_year: i32,
    /// Format-specific settings from the source's `options` table (PostgreSQL's
    /// `log_line_prefix`, ...); [`check_options`] says which keys a format takes.
    pub options: BTreeMap<String, String>,
    /// The kernel catalogue with the configuration's own classes tried first; `None`:
    /// the built-in catalogue.
    pub kernel_catalogue: Option<std::sync::Arc<kernel::Catalogue>>,
}

/// Per-record facts that the pipeline knows and the bytes do not.
#[derive(Debug, Clone, Copy)]
pub struct RecordMeta {
    /// Byte offset of the record's first byte in its source.
    pub offset: u64,
    /// When the pipeline read the record, µs since the epoch.
    pub ingest_ts_us: i64,
}

/// One format: frames records and appends parsed ones to an Arrow batch being built.
///
/// A decoder is stateful only in the batch it builds; framing is a pure function of the
/// buffer, so the caller owns partial records between reads.
pub trait Decoder: Send {
    /// The kind (table) this decoder produces.
    fn kind(&self) -> EventKind;

    /// Length of the first complete record in `buf`, including its terminator, or `None`
    /// when more bytes are needed. With `eof` the input is known to end at `buf.len()`, so
    /// a trailing record without a terminator is complete. Blank input may be returned
    /// as a record of only whitespace; [`Decoder::decode`] skips such records.
    fn frame(&self, buf: &[u8], eof: bool) -> Option<usize>;

    /// Parses one framed record and appends it to the batch under construction.
    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError>;

    /// Rows appended since the last [`Decoder::finish`].
    fn pending_rows(&self) -> usize;

    /// Takes the rows built so far as a batch, or `None` when there are none.
    fn finish(&mut self) -> Option<RecordBatch>;

    /// Kinds of the side tables this decoder also writes (PostgreSQL logs feed
    /// `slow_queries` and `db_events`); most formats write only [`Decoder::kind`].
    fn side_kinds(&self) -> &'static [EventKind] {
        &[]
    }

    /// Takes the side-table rows built so far, one batch per kind that has rows. Called
    /// right after [`Decoder::finish`]; [`Decoder::pending_rows`] counts these rows too.
    fn finish_side(&mut self) -> Vec<(EventKind, RecordBatch)> {
        Vec::new()
    }

    /// What the next file of a rotated log needs from this one, read so far (a JVM GC log
    /// prints its collector and G1 region size once, at start). The pipeline hands it to
    /// the decoder of the file that took this file's path ([`Decoder::resume`]).
    fn carry_over(&self) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }

    /// Continues from the [`Decoder::carry_over`] of the file this one replaced.
    fn resume(&mut self, _state: Box<dyn std::any::Any + Send>) {}
}

/// Names accepted by [`for_format`], with one line each for `serversage formats`.
pub const FORMATS: &[(&str, &str)] = &[
    (
        "kernel",
        "kernel messages as text: dmesg (any util-linux form) or kern.log (syslog)",
    ),
    ("dmesg", "alias of kernel"),
    ("kern-log", "alias of kernel"),
    (
        "kmsg",
        "kernel records read from /dev/kmsg (PRI,SEQ,USEC,FLAG;text + KEY=value lines)",
    ),
    (
        "dmesg-json",
        "dmesg --json output (raw non-UTF-8 bytes inside strings accepted)",
    ),
    (
        "journald-json",
        "journalctl -k -o json lines (byte-array MESSAGE, source monotonic time)",
    ),
    (
        "jvm-gc",
        "JVM garbage-collector logs: JDK 9+ unified logging (-Xlog:gc*) or JDK 8 -XX:+PrintGCDetails, detected per record",
    ),
    (
        "mysql-slow",
        "MySQL / MariaDB / Percona Server slow query log",
    ),
    (
        "postgres",
        "PostgreSQL stderr log (log_line_prefix from the source's `log_line_prefix`, common defaults recognised)",
    ),
    ("postgres-csv", "PostgreSQL csvlog"),
    ("postgres-json", "PostgreSQL jsonlog (PostgreSQL 15+)"),
    (
        "mongodb",
        "MongoDB 4.4+ structured JSON log lines (slow queries and other entries)",
    ),
    (
        "evtx",
        "Windows .evtx event log files (whole files; growing files are followed by record id)",
    ),
    (
        "windows-xml",
        "Windows events as rendered XML (<Event> elements, e.g. Windows Event Forwarding)",
    ),
    (
        "winlogbeat-json",
        "Winlogbeat / Elastic Agent JSON (ECS winlog.*), one event per line or a JSON array",
    ),
    ("nxlog-json", "NXLog im_msvistalog events as JSON lines"),
];

/// Builds the decoder for a format name, or `None` if the name is unknown.
pub fn for_format(format: &str, ctx: &SourceContext) -> Option<Box<dyn Decoder>> {
    match format {
        "kernel" | "dmesg" | "kern-log" | "kmsg" | "dmesg-json" | "journald-json" => {
            let f = match format {
                "kmsg" => kernel::KernelFormat::Kmsg,
                "dmesg-json" => kernel::KernelFormat::DmesgJson,
                "journald-json" => kernel::KernelFormat::JournaldJson,
                _ => kernel::KernelFormat::Text,
            };
            let catalogue = ctx
                .kernel_catalogue
                .clone()
                .unwrap_or_else(kernel::Catalogue::builtin);
            Some(Box::new(kernel::KernelDecoder::with_format(
                f,
                ctx.clone(),
                catalogue,
            )))
        }
        "jvm-gc" => Some(Box::new(gc::GcDecoder::new(ctx.clone()))),
        _ => db::decoder_for(format, ctx).or_else(|| windows::decoder_for(format, ctx)),
    }
}

/// The event kind a format produces, for configuration checks.
pub fn kind_of(format: &str) -> Option<EventKind> {
    match format {
        "kernel" | "dmesg" | "kern-log" | "kmsg" | "dmesg-json" | "journald-json" => {
            Some(EventKind::Kernel)
        }
        "jvm-gc" => Some(EventKind::Gc),
        "mysql-slow" | "postgres" | "postgres-csv" | "postgres-json" | "mongodb" => {
            Some(EventKind::SlowQuery)
        }
        "evtx" | "windows-xml" | "winlogbeat-json" | "nxlog-json" => Some(EventKind::Windows),
        _ => None,
    }
}

/// Problems with a source's format `options`, as `(option key, reason)`: unknown keys and
/// invalid values. Formats without options accept none.
pub fn check_options(format: &str, options: &BTreeMap<String, String>) -> Vec<(String, String)> {
    if let Some(errs) = db::check_options(format, options) {
        return errs;
    }
    options
        .keys()
        .map(|k| (k.clone(), format!("format `{format}` takes no options")))
        .collect()
}
