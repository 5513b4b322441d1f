//! The event store: every table as Parquet files in a hive layout.
//!
//! ```text
//! <root>/<table>/date=YYYY-MM-DD/hour=HH/part-<unix_millis>-<counter>.parquet
//! ```
//!
//! - `<table>` is [`EventKind::table`]; `date`/`hour` come from each row's `ts` in UTC, so
//!   one flush of a table may write several files (one per hour it touches).
//! - Each file's Arrow schema is exactly the kind's schema (the partition columns live only
//!   in the path), rows are sorted by `(host, ts)`, compression is ZSTD, dictionary encoding
//!   is on, statistics are kept per page (column index and offset index), row groups hold
//!   at most 128 Ki rows, and the row groups record the `(host, ts)` sort order.
//! - A file is written as `.part-….parquet.tmp`, fsynced, renamed into place and its
//!   directory fsynced, so readers (DataFusion, DuckDB, Spark) never see a partial file.
//!   Temporary files left by a crash are removed by [`ParquetStore::open`]. One writer per
//!   root.
//!
//! [`ParquetStore`] is synchronous and meant to run on its own thread. Rows are buffered per
//! table as the batches received (concatenated only when flushed) and written when a table
//! reaches [`StoreConfig::max_buffered_rows`], when its oldest row has waited
//! [`StoreConfig::flush_interval`] ([`ParquetStore::flush_due`]), or on
//! [`ParquetStore::flush`]. [`ParquetStore::take_committed`] tells the checkpointer which
//! source offsets are now on disk.

mod offsets;
mod partition;
mod writer;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::error::ArrowError;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use serversage_parsers::{EventBatch, EventKind, SourceOffset};

use offsets::{CommitTracker, max_per_source};

/// Default [`StoreConfig::flush_interval`].
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// Longest allowed [`StoreConfig::flush_interval`]: data is on disk within a minute.
pub const MAX_FLUSH_INTERVAL: Duration = Duration::from_secs(60);
/// Default [`StoreConfig::max_buffered_rows`].
pub const DEFAULT_MAX_BUFFERED_ROWS: usize = 65_536;
/// Default [`StoreConfig::zstd_level`].
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

/// Where and how often the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Root directory; one sub-directory per table. Created by [`ParquetStore::open`].
    pub root: PathBuf,
    /// A table is flushed once its oldest buffered row has waited this long
    /// (default 10 s, at most 60 s).
    pub flush_interval: Duration,
    /// Rows buffered per table at most before the table is flushed (default 65 536).
    pub max_buffered_rows: usize,
    /// ZSTD compression level (default 1; 1-22).
    pub zstd_level: i32,
}

impl StoreConfig {
    /// Defaults for a store at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StoreConfig {
            root: root.into(),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_buffered_rows: DEFAULT_MAX_BUFFERED_ROWS,
            zstd_level: DEFAULT_ZSTD_LEVEL,
        }
    }

    fn validate(&self) -> Result<(), StoreError> {
        let bad = |reason: String| {
            Err(StoreError::Config {
                path: self.root.clone(),
                reason,
            })
        };
        if self.flush_interval.is_zero() || self.flush_interval > MAX_FLUSH_INTERVAL {
            return bad(format!(
                "flush_interval must be more than 0 and at most {} s, got {:?}",
                MAX_FLUSH_INTERVAL.as_secs(),
                self.flush_interval
            ));
        }
        if self.max_buffered_rows == 0 {
            return bad("max_buffered_rows must be at least 1".into());
        }
        if !(1..=22).contains(&self.zstd_level) {
            return bad(format!(
                "zstd_level must be between 1 and 22, got {}",
                self.zstd_level
            ));
        }
        Ok(())
    }
}

/// What one table's flushes wrote, for metrics. [`ParquetStore::take_reports`] sums the
/// flushes of each table since its last call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushReport {
    /// Table name.
    pub table: &'static str,
    /// Rows written.
    pub rows: u64,
    /// Files written.
    pub files: u64,
    /// Bytes written (sum of file sizes).
    pub bytes: u64,
}

/// Why the store could not do something; every variant names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The configuration is invalid.
    #[error("invalid store configuration for {path}: {reason}")]
    Config {
        /// Store root.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// File or directory operated on.
        path: PathBuf,
        /// What was being done ("creating directory", "fsyncing", …).
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The Parquet encoder failed.
    #[error("writing Parquet file {path}: {source}")]
    Parquet {
        /// The (temporary) file being written.
        path: PathBuf,
        /// The encoder's error.
        source: ParquetError,
    },
    /// Preparing rows for a flush failed.
    #[error("{op} rows for {path}: {source}")]
    Arrow {
        /// The table's directory.
        path: PathBuf,
        /// What was being done ("concatenating", "sorting").
        op: &'static str,
        /// Arrow's error.
        source: ArrowError,
    },
    /// A batch does not have its kind's schema.
    #[error("batch for {path} does not match the {table} schema: {detail}")]
    Schema {
        /// The table's directory.
        path: PathBuf,
        /// Table name.
        table: &'static str,
        /// The first difference found.
        detail: String,
    },
    /// A row's `ts` is outside the range of calendar dates.
    #[error("row with ts in hour {hour} since the epoch has no date directory under {path}")]
    Timestamp {
        /// The table's directory.
        path: PathBuf,
        /// Hours since the epoch of the offending `ts`.
        hour: i64,
    },
}

struct Buffered {
    records: RecordBatch,
    ends: Vec<(String, u64)>,
}

struct TableBuffer {
    kind: EventKind,
    dir: PathBuf,
    props: WriterProperties,
    batches: Vec<Buffered>,
    rows: usize,
    oldest: Option<Instant>,
}

/// Buffers [`EventBatch`]es per table and writes them as Parquet files. Synchronous: run it
/// on its own thread.
pub struct ParquetStore {
    cfg: StoreConfig,
    tables: Vec<TableBuffer>,
    tracker: CommitTracker,
    reports: Vec<FlushReport>,
    counter: u64,
}

impl ParquetStore {
    /// Validates `cfg`, creates the root directory and removes temporary files left by an
    /// interrupted flush.
    pub fn open(cfg: StoreConfig) -> Result<Self, StoreError> {
        cfg.validate()?;
        std::fs::create_dir_all(&cfg.root).map_err(|source| StoreError::Io {
            path: cfg.root.clone(),
            op: "creating store root",
            source,
        })?;
        let mut tables = Vec::with_capacity(EventKind::ALL.len());
        for kind in EventKind::ALL {
            let dir = cfg.root.join(kind.table());
            writer::remove_stale_temps(&dir)?;
            let props =
                writer::writer_properties(&kind.schema(), cfg.zstd_level).map_err(|source| {
                    StoreError::Parquet {
                        path: dir.clone(),
                        source,
                    }
                })?;
            tables.push(TableBuffer {
                kind,
                dir,
                props,
                batches: Vec::new(),
                rows: 0,
                oldest: None,
            });
        }
        Ok(ParquetStore {
            cfg,
            tables,
            tracker: CommitTracker::default(),
            reports: Vec::new(),
            counter: 0,
        })
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// Rows buffered (not yet written) for `kind`.
    pub fn buffered_rows(&self, kind: EventKind) -> usize {
        self.tables[table_index(kind)].rows
    }

    /// Buffers `batch`. If the table's buffer would exceed `max_buffered_rows` it is flushed
    /// first; a batch that alone fills the buffer is written at once. So a table never
    /// holds more than `max_buffered_rows` rows (or one larger batch, briefly).
    ///
    /// On error the batch was not taken: nothing of it is buffered or committed.
    pub fn append(&mut self, batch: &EventBatch) -> Result<(), StoreError> {
        let idx = table_index(batch.kind);
        check_schema(&self.tables[idx], &batch.records)?;
        let ends = max_per_source(&batch.offsets);
        let n = batch.num_rows();
        if n == 0 {
            self.tracker.durable_without_write(&ends);
            return Ok(());
        }
        let max = self.cfg.max_buffered_rows;
        let t = &self.tables[idx];
        if t.rows > 0 && t.rows + n > max {
            self.flush_table(idx)?;
        }
        let t = &mut self.tables[idx];
        t.batches.push(Buffered {
            records: batch.records.clone(),
            ends: ends.clone(),
        });
        t.rows += n;
        t.oldest.get_or_insert_with(Instant::now);
        self.tracker.buffered(&ends);
        if t.rows >= max
            && let Err(e) = self.flush_table(idx)
        {
            let t = &mut self.tables[idx];
            t.batches.pop();
            t.rows -= n;
            if t.rows == 0 {
                t.oldest = None;
            }
            self.tracker.unbuffered(&ends);
            return Err(e);
        }
        Ok(())
    }

    /// Flushes every table whose oldest buffered row was appended at least
    /// `flush_interval` before `now`. Tries every such table; returns the first error.
    pub fn flush_due(&mut self, now: Instant) -> Result<(), StoreError> {
        let interval = self.cfg.flush_interval;
        let mut first_err = None;
        for idx in 0..self.tables.len() {
            let due = self.tables[idx]
                .oldest
                .is_some_and(|t| now.saturating_duration_since(t) >= interval);
            if due && let Err(e) = self.flush_table(idx) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Flushes every table (shutdown, end of an import). Tries every table; returns the
    /// first error. Rows of a table whose flush failed stay buffered.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        let mut first_err = None;
        for idx in 0..self.tables.len() {
            if let Err(e) = self.flush_table(idx) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Source offsets that became durable since the last call: per source, the largest
    /// `end` such that every batch appended with an `end` at or below it is on disk (see
    /// the `offsets` module for why not simply the largest flushed `end`).
    pub fn take_committed(&mut self) -> Vec<SourceOffset> {
        self.tracker.take()
    }

    /// What each table's flushes wrote since the last call (one entry per table that wrote).
    pub fn take_reports(&mut self) -> Vec<FlushReport> {
        std::mem::take(&mut self.reports)
    }

    fn flush_table(&mut self, idx: usize) -> Result<(), StoreError> {
        let t = &self.tables[idx];
        if t.batches.is_empty() {
            return Ok(());
        }
        let schema = t.kind.schema();
        let arrow_err = |op| {
            let path = t.dir.clone();
            move |source| StoreError::Arrow { path, op, source }
        };
        let all = if t.batches.len() == 1 {
            t.batches[0]
                .records
                .clone()
                .with_schema(schema.clone())
                .map_err(arrow_err("preparing"))?
        } else {
            concat_batches(&schema, t.batches.iter().map(|b| &b.records))
                .map_err(arrow_err("concatenating"))?
        };
        let parts = partition::split_by_hour(&all).map_err(arrow_err("sorting"))?;
        drop(all);

        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut staged: Vec<writer::StagedFile> = Vec::with_capacity(parts.len());
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut counter = self.counter;
        let root = &self.cfg.root;
        let result = (|| {
            for part in &parts {
                let rel = partition::partition_dir(part.hour).ok_or(StoreError::Timestamp {
                    path: t.dir.clone(),
                    hour: part.hour,
                })?;
                let dir = t.dir.join(rel);
                writer::ensure_dir(root, &dir)?;
                let (tmp, dest) = loop {
                    counter += 1;
                    let name = format!("part-{millis}-{counter}.parquet");
                    let tmp = dir.join(format!(".{name}.tmp"));
                    let dest = dir.join(name);
                    if !tmp.exists() && !dest.exists() {
                        break (tmp, dest);
                    }
                };
                staged.push(writer::stage(&part.batch, &t.props, tmp, dest)?);
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
            Ok(())
        })();
        self.counter = counter;
        if let Err(e) = result {
            for s in &staged {
                let _ = std::fs::remove_file(&s.tmp);
            }
            return Err(e);
        }
        for (i, s) in staged.iter().enumerate() {
            if let Err(e) = writer::publish(s) {
                // Take back what was already published so a retry does not duplicate rows.
                for p in &staged[..i] {
                    if let Err(rm) = std::fs::remove_file(&p.dest) {
                        tracing::error!(path = %p.dest.display(), error = %rm,
                            "could not remove a published file after a failed flush; its rows may be duplicated by the retry");
                    }
                }
                for p in &staged[i..] {
                    let _ = std::fs::remove_file(&p.tmp);
                }
                return Err(e);
            }
        }

        let table = t.kind.table();
        let files = staged.len() as u64;
        let bytes: u64 = staged.iter().map(|s| s.bytes).sum();
        let rows = t.rows as u64;
        let sync_result = dirs.iter().try_for_each(|d| writer::sync_dir(d));

        let t = &mut self.tables[idx];
        let flushed = std::mem::take(&mut t.batches);
        t.rows = 0;
        t.oldest = None;
        match self.reports.iter_mut().find(|r| r.table == table) {
            Some(r) => {
                r.rows += rows;
                r.files += files;
                r.bytes += bytes;
            }
            None => self.reports.push(FlushReport {
                table,
                rows,
                files,
                bytes,
            }),
        }
        match sync_result {
            Ok(()) => {
                for b in &flushed {
                    self.tracker.flushed(&b.ends);
                }
                tracing::debug!(table, rows, files, bytes, "flushed");
                Ok(())
            }
            // The files are visible but may not survive a crash: keep their offsets
            // uncommitted (a restart re-reads them) rather than write the rows twice now.
            Err(e) => Err(e),
        }
    }
}

impl Drop for ParquetStore {
    fn drop(&mut self) {
        let rows: usize = self.tables.iter().map(|t| t.rows).sum();
        if rows > 0 {
            tracing::warn!(
                rows,
                root = %self.cfg.root.display(),
                "event store dropped with unflushed rows; their offsets were not committed"
            );
        }
    }
}

fn table_index(kind: EventKind) -> usize {
    EventKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in EventKind::ALL")
}

fn check_schema(t: &TableBuffer, records: &RecordBatch) -> Result<(), StoreError> {
    let expected = t.kind.schema();
    let got = records.schema();
    if expected.fields() == got.fields() {
        return Ok(());
    }
    let detail = if expected.fields().len() != got.fields().len() {
        format!(
            "expected {} columns, got {}",
            expected.fields().len(),
            got.fields().len()
        )
    } else {
        expected
            .fields()
            .iter()
            .zip(got.fields())
            .find(|(a, b)| a != b)
            .map(|(a, b)| {
                format!(
                    "column {:?}: expected {} (nullable: {}), got {:?} {} (nullable: {})",
                    a.name(),
                    a.data_type(),
                    a.is_nullable(),
                    b.name(),
                    b.data_type(),
                    b.is_nullable()
                )
            })
            .unwrap_or_else(|| "field metadata differs".into())
    };
    Err(StoreError::Schema {
        path: t.dir.clone(),
        table: t.kind.table(),
        detail,
    })
}

/// The directory of `kind`'s table under `root`.
pub fn table_dir(root: &Path, kind: EventKind) -> PathBuf {
    root.join(kind.table())
}
