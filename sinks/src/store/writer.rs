//! Writing one Parquet file so that readers never see it half-written: the rows go to a
//! hidden temporary file (`.part-….parquet.tmp`) that is fsynced, then renamed into place,
//! then the directory is fsynced.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::StoreError;

/// Rows per Parquet row group at most.
pub(crate) const MAX_ROW_GROUP_ROWS: usize = 128 * 1024;

/// Prefix and suffix of temporary files; readers (DataFusion, DuckDB, Spark) skip names
/// starting with `.`, and the suffix is not `.parquet` either.
pub(crate) const TMP_PREFIX: &str = ".part-";
pub(crate) const TMP_SUFFIX: &str = ".parquet.tmp";

/// Columns holding free text or raw bytes, written without dictionary or statistics.
const FREE_TEXT_COLUMNS: &[&str] = &["message", "message_raw", "raw", "reason", "summary"];

/// Writer settings for one table: ZSTD at `zstd_level`, dictionary encoding, page-level
/// statistics (column and offset index), row groups of at most 128 Ki rows, and the
/// `(host, ts)` sort order recorded in the row-group metadata.
pub(crate) fn writer_properties(
    schema: &SchemaRef,
    zstd_level: i32,
) -> Result<WriterProperties, ParquetError> {
    let level = ZstdLevel::try_new(zstd_level)?;
    // Every table starts with `ts`, `host` (parsers::schema); both are primitive leaves, so
    // their field index is also their Parquet leaf column index.
    let sorting = match (schema.index_of("host"), schema.index_of("ts")) {
        (Ok(1), Ok(0)) => Some(vec![
            SortingColumn {
                column_idx: 1,
                descending: false,
                nulls_first: false,
            },
            SortingColumn {
                column_idx: 0,
                descending: false,
                nulls_first: false,
            },
        ]),
        _ => None,
    };
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_sorting_columns(sorting)
        .set_created_by(format!("serversage {}", env!("CARGO_PKG_VERSION")));
    // Free text is nearly unique per row: a dictionary is built only to be thrown away and
    // min/max pages of log lines prune nothing. Skipping both roughly halves write time.
    for name in FREE_TEXT_COLUMNS {
        if schema.index_of(name).is_ok() {
            let path = parquet::schema::types::ColumnPath::from(*name);
            builder = builder
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_statistics_enabled(path, EnabledStatistics::None);
        }
    }
    Ok(builder.build())
}

/// A file written under its temporary name, fsynced, not yet visible to readers.
#[derive(Debug)]
pub(crate) struct StagedFile {
    pub tmp: PathBuf,
    pub dest: PathBuf,
    pub bytes: u64,
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// Writes `batch` to `tmp` (created exclusively) and fsyncs it. On failure the temporary
/// file is removed.
pub(crate) fn stage(
    batch: &RecordBatch,
    props: &WriterProperties,
    tmp: PathBuf,
    dest: PathBuf,
) -> Result<StagedFile, StoreError> {
    let file = File::create_new(&tmp).map_err(io_err(&tmp, "creating temporary file"))?;
    let result = write_and_sync(file, batch, props, &tmp);
    match result {
        Ok(bytes) => Ok(StagedFile { tmp, dest, bytes }),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_and_sync(
    file: File,
    batch: &RecordBatch,
    props: &WriterProperties,
    tmp: &Path,
) -> Result<u64, StoreError> {
    let parquet_err = |source| StoreError::Parquet {
        path: tmp.to_path_buf(),
        source,
    };
    let mut writer =
        ArrowWriter::try_new(BufWriter::new(file), batch.schema(), Some(props.clone()))
            .map_err(parquet_err)?;
    writer.write(batch).map_err(parquet_err)?;
    let buffered = writer.into_inner().map_err(parquet_err)?;
    let file = buffered
        .into_inner()
        .map_err(|e| io_err(tmp, "writing")(e.into_error()))?;
    file.sync_all().map_err(io_err(tmp, "fsyncing"))?;
    let bytes = file
        .metadata()
        .map_err(io_err(tmp, "reading metadata of"))?
        .len();
    Ok(bytes)
}

/// Renames a staged file into place.
pub(crate) fn publish(staged: &StagedFile) -> Result<(), StoreError> {
    fs::rename(&staged.tmp, &staged.dest).map_err(|source| StoreError::Io {
        path: staged.dest.clone(),
        op: "renaming temporary file into",
        source,
    })
}

/// Fsyncs a directory so that renames and creations inside it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsyncing directory"))
}

/// Creates `dir` (and its missing parents below `root`), fsyncing the parent of every
/// directory it creates so the new entries survive a crash.
pub(crate) fn ensure_dir(root: &Path, dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.is_dir() {
        missing.push(d);
        match d.parent() {
            Some(p) if p.starts_with(root) => d = p,
            _ => break,
        }
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(d, "creating directory")(e)),
        }
        if let Some(parent) = d.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Removes temporary files left by a crash in `<table_dir>/date=*/hour=*/`.
pub(crate) fn remove_stale_temps(table_dir: &Path) -> Result<usize, StoreError> {
    let mut removed = 0;
    for date in read_dirs(table_dir)? {
        for hour in read_dirs(&date)? {
            let entries = fs::read_dir(&hour).map_err(io_err(&hour, "listing"))?;
            for entry in entries {
                let entry = entry.map_err(io_err(&hour, "listing"))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
                    let path = entry.path();
                    fs::remove_file(&path)
                        .map_err(io_err(&path, "removing stale temporary file"))?;
                    tracing::warn!(path = %path.display(), "removed a temporary file left by an interrupted flush");
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

fn read_dirs(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir, "listing")(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(dir, "listing"))?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false)
            && entry.file_name().to_string_lossy().contains('=')
        {
            out.push(entry.path());
        }
    }
    Ok(out)
}
