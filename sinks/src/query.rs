//! The read-only SQL session over the store, and result writers.
//!
//! [`session`] registers every table of [`EventKind::ALL`] as a DataFusion `ListingTable`
//! over `<root>/<table>/` with the kind's schema plus the hive partition columns `date`
//! (`'YYYY-MM-DD'`) and `hour` (`'00'`..`'23'`), both `Utf8`, so `WHERE date = '2026-11-23'`
//! prunes directories before any file is opened. A table without files is an empty table.
//!
//! [`run_sql`] plans a statement and refuses anything but a query: DDL (`CREATE`, `DROP`),
//! DML (`INSERT`, `DELETE`, `UPDATE`, `COPY`) and statements (`SET`, `PREPARE`,
//! transactions) are rejected before execution. Only the registered tables can be read:
//! the session does not enable DataFusion's URL tables (`SELECT * FROM '/etc/passwd'`),
//! and `CREATE EXTERNAL TABLE` is DDL.
//!
//! The session lists files on every query (DataFusion's listing cache is off), so files the
//! store writes after the session was built are seen by the next query.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use serversage_parsers::EventKind;

/// Hive partition columns of every table, in path order.
pub const PARTITION_COLUMNS: [&str; 2] = ["date", "hour"];

/// Memory a session's queries may use together before they spill or fail.
pub const MEMORY_LIMIT_BYTES: usize = 1024 * 1024 * 1024;

/// `strftime` format of timestamps with a time zone in results (RFC 3339).
pub const TIMESTAMP_TZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f%:z";
/// `strftime` format of timestamps without a time zone, which are UTC in this session
/// (RFC 3339 with `Z`).
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// Why a query could not be set up, run or printed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The store root is not a usable directory.
    #[error("store root {path}: {reason}")]
    Root {
        /// The root given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A table could not be registered.
    #[error("registering table {table} at {url}: {source}")]
    Register {
        /// Table name.
        table: &'static str,
        /// The table's location.
        url: String,
        /// DataFusion's error.
        source: Box<DataFusionError>,
    },
    /// The statement is not a read-only query.
    #[error("only read-only queries (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE) are allowed: {reason}")]
    ReadOnly {
        /// What DataFusion found in the plan.
        reason: String,
    },
    /// Planning or running the query failed.
    #[error("query failed: {0}")]
    DataFusion(Box<DataFusionError>),
    /// Formatting the results failed.
    #[error("formatting results: {0}")]
    Arrow(#[from] ArrowError),
    /// Writing the results failed.
    #[error("writing results: {0}")]
    Io(#[from] std::io::Error),
    /// An output format name was not recognised.
    #[error("unknown output format {0:?}: expected table, csv or json")]
    UnknownFormat(String),
}

impl From<DataFusionError> for QueryError {
    fn from(e: DataFusionError) -> Self {
        QueryError::DataFusion(Box::new(e))
    }
}

/// Builds the session over the store at `root` (which must be an existing directory) with
/// one table per [`EventKind`].
pub async fn session(root: &Path) -> Result<SessionContext, QueryError> {
    let root_err = |reason: String| QueryError::Root {
        path: root.to_path_buf(),
        reason,
    };
    let abs = std::path::absolute(root).map_err(|e| root_err(e.to_string()))?;
    if !abs.is_dir() {
        return Err(root_err("not a directory".into()));
    }

    let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let mut config = SessionConfig::new()
        .with_target_partitions(parallelism)
        .with_information_schema(true);
    {
        let opts = config.options_mut();
        opts.execution.time_zone = Some("UTC".into());
        opts.execution.parquet.pushdown_filters = true;
        opts.execution.parquet.reorder_filters = true;
    }
    let runtime = RuntimeEnvBuilder::new()
        // The store adds files all the time: list on every query.
        .with_object_list_cache_limit(0)
        .with_memory_limit(MEMORY_LIMIT_BYTES, 1.0)
        .build_arc()?;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    let parquet_options = state.table_options().parquet.clone();
    let ctx = SessionContext::new_with_state(state);

    for kind in EventKind::ALL {
        let url = dir_url(&abs.join(kind.table())).map_err(root_err)?;
        let register = || -> Result<(), DataFusionError> {
            // Hidden files (`.part-….parquet.tmp` and any other dot file) are not data.
            let table_url = ListingTableUrl::parse(&url)?.with_glob("[!.]*.parquet")?;
            let format = ParquetFormat::default().with_options(parquet_options.clone());
            let options = ListingOptions::new(Arc::new(format))
                .with_file_extension(".parquet")
                .with_table_partition_cols(
                    PARTITION_COLUMNS
                        .iter()
                        .map(|c| (c.to_string(), DataType::Utf8))
                        .collect(),
                );
            let config = ListingTableConfig::new(table_url)
                .with_listing_options(options)
                .with_schema(kind.schema());
            ctx.register_table(kind.table(), Arc::new(ListingTable::try_new(config)?))?;
            Ok(())
        };
        register().map_err(|e| QueryError::Register {
            table: kind.table(),
            url: url.clone(),
            source: Box::new(e),
        })?;
    }
    Ok(ctx)
}

/// `file://` URL of a directory (with a trailing `/`), percent-encoding every byte that is
/// not unreserved so that `%`, `#`, `?`, spaces or glob characters in the path stay literal.
fn dir_url(dir: &Path) -> Result<String, String> {
    let s = dir
        .to_str()
        .ok_or_else(|| format!("path {} is not valid UTF-8", dir.display()))?;
    let s = s.replace(std::path::MAIN_SEPARATOR, "/");
    let mut url = String::from("file://");
    if !s.starts_with('/') {
        url.push('/');
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    if !url.ends_with('/') {
        url.push('/');
    }
    Ok(url)
}

/// Plans and runs one read-only statement, returning all result batches.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
    let read_only = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let plan = ctx.state().create_logical_plan(sql).await?;
    read_only
        .verify_plan(&plan)
        .map_err(|e| QueryError::ReadOnly {
            reason: e.strip_backtrace(),
        })?;
    let df = ctx.execute_logical_plan(plan).await?;
    Ok(df.collect().await?)
}

/// How [`write_batches`] prints results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// An aligned text table.
    #[default]
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row and line (JSON Lines).
    Json,
}

impl FromStr for OutputFormat {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(OutputFormat::Table),
            "csv" => Ok(OutputFormat::Csv),
            "json" => Ok(OutputFormat::Json),
            _ => Err(QueryError::UnknownFormat(s.to_string())),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputFormat::Table => "table",
            OutputFormat::Csv => "csv",
            OutputFormat::Json => "json",
        })
    }
}

fn format_options() -> FormatOptions<'static> {
    FormatOptions::default()
        .with_timestamp_format(Some(TIMESTAMP_FORMAT))
        .with_timestamp_tz_format(Some(TIMESTAMP_TZ_FORMAT))
}

/// Writes `batches` to `out` as a text table, CSV (header, then rows; nested values such as
/// map columns as their text form, binary as hex) or JSON Lines (every column present,
/// nulls as `null`, maps as objects, binary as hex). Timestamps are RFC 3339.
/// With no batches, CSV and JSON write nothing.
pub fn write_batches(
    batches: &[RecordBatch],
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    match format {
        OutputFormat::Table => {
            let table = arrow::util::pretty::pretty_format_batches_with_options(
                batches,
                &format_options(),
            )?;
            writeln!(out, "{table}")?;
        }
        OutputFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_timestamp_format(TIMESTAMP_FORMAT.into())
                .with_timestamp_tz_format(TIMESTAMP_TZ_FORMAT.into())
                .build(&mut *out);
            for b in batches {
                w.write(&nested_as_text(b)?)?;
            }
        }
        OutputFormat::Json => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .with_timestamp_format(TIMESTAMP_FORMAT.into())
                .with_timestamp_tz_format(TIMESTAMP_TZ_FORMAT.into())
                .build::<_, arrow::json::writer::LineDelimited>(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Replaces nested columns (CSV cannot hold them) by their text form.
fn nested_as_text(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !batch.columns().iter().any(|c| c.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let options = format_options();
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        if !col.data_type().is_nested() {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(col));
            continue;
        }
        let formatter = ArrayFormatter::try_new(col.as_ref(), &options)?;
        let mut text = StringBuilder::with_capacity(col.len(), col.len() * 16);
        for i in 0..col.len() {
            if col.is_null(i) {
                text.append_null();
            } else {
                text.append_value(formatter.value(i).try_to_string()?);
            }
        }
        fields.push(Field::new(
            field.name(),
            DataType::Utf8,
            field.is_nullable(),
        ));
        columns.push(Arc::new(text.finish()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_urls_escape_special_characters() {
        assert_eq!(
            dir_url(Path::new("/tmp/a b/%x#?*[y]")).unwrap(),
            "file:///tmp/a%20b/%25x%23%3F%2A%5By%5D/"
        );
        assert_eq!(
            dir_url(Path::new("/srv/store/")).unwrap(),
            "file:///srv/store/"
        );
    }

    #[test]
    fn output_format_names() {
        assert_eq!(
            "table".parse::<OutputFormat>().unwrap(),
            OutputFormat::Table
        );
        assert_eq!("CSV".parse::<OutputFormat>().unwrap(), OutputFormat::Csv);
        assert_eq!("json".parse::<OutputFormat>().unwrap(), OutputFormat::Json);
        let err = "xml".parse::<OutputFormat>().unwrap_err();
        assert!(err.to_string().contains("xml"), "{err}");
        for f in [OutputFormat::Table, OutputFormat::Csv, OutputFormat::Json] {
            assert_eq!(f.to_string().parse::<OutputFormat>().unwrap(), f);
        }
    }
}
