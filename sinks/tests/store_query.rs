//! End-to-end: parser batches → ParquetStore → files on disk → DataFusion session.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType, UInt64Type};
use chrono::{DateTime, TimeZone, Utc};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::metadata::PageIndexPolicy;
use serversage_parsers::dead_letter::DeadLetterBuilder;
use serversage_parsers::{EventBatch, EventKind, RecordMeta, SourceContext, SourceOffset, decoder};
use serversage_sinks::query::{self, OutputFormat, QueryError};
use serversage_sinks::store::{FlushReport, ParquetStore, StoreConfig, StoreError};

/// 2026-11-22T23:30:00Z, the boot time of both test hosts.
fn boot_us() -> i64 {
    Utc.with_ymd_and_hms(2026, 11, 22, 23, 30, 0)
        .unwrap()
        .timestamp_micros()
}

/// A row as the test expects it, computed without the parser.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    host: String,
    ts_us: i64,
    message: String,
}

/// dmesg lines: (µs since boot, message). They span 23:30 on the 22nd to 01:xx on the 23rd,
/// and are deliberately not in (host, ts) order within one host's batch.
const WEB1: &[(i64, &str)] = &[
    (1_800_500_000, "EXT4-fs (sda1): mounted filesystem"), // 00:00:00.5 on the 23rd
    (500_000, "Linux version 6.18"),                       // 23:30:00.5 on the 22nd
    (
        5_400_000_000,
        "watchdog: BUG: soft lockup, \"quoted\" - CPU#3 stuck for 22s!",
    ), // 01:00:00
    (60_000_000, "Out of memory: Killed process 1234 (java)"), // 23:31
];
const WEB2: &[(i64, &str)] = &[
    (100_000_000, "e1000e: eth0 NIC Link is Up"), // 23:31:40
    (1_900_000_000, "ACPI: Core revision"),       // 00:01:40
    (1_900_000_000, "ACPI: second at same time"), // 00:01:40
];

fn ctx(host: &str) -> SourceContext {
    SourceContext {
        host: host.into(),
        source: "dmesg".into(),
        boot_time_us: Some(boot_us()),
        default_year: 2026,
        ..Default::default()
    }
}

/// Decodes `lines` as dmesg output of `host`; returns the batch (with its source offset)
/// and the rows the test expects.
fn kernel_batch(host: &str, lines: &[(i64, &str)]) -> (EventBatch, Vec<Expected>) {
    let mut text = String::new();
    for (up, msg) in lines {
        text.push_str(&format!(
            "[{:5}.{:06}] {msg}\n",
            up / 1_000_000,
            up % 1_000_000
        ));
    }
    let input = text.as_bytes();
    let mut dec = decoder::for_format("kernel", &ctx(host)).unwrap();
    let mut pos = 0;
    while pos < input.len() {
        let len = dec.frame(&input[pos..], true).unwrap();
        dec.decode(
            &input[pos..pos + len],
            &RecordMeta {
                offset: pos as u64,
                ingest_ts_us: 1,
            },
        )
        .unwrap();
        pos += len;
    }
    let records = dec.finish().unwrap();
    assert_eq!(records.num_rows(), lines.len());
    let expected = lines
        .iter()
        .map(|(up, msg)| Expected {
            host: host.into(),
            ts_us: boot_us() + up,
            message: (*msg).into(),
        })
        .collect();
    (
        EventBatch {
            kind: EventKind::Kernel,
            records,
            offsets: vec![SourceOffset {
                source_id: format!("fp-{host}"),
                end: input.len() as u64,
            }],
        },
        expected,
    )
}

fn dead_letter_batch(source_id: &str, end: u64) -> EventBatch {
    let mut b = DeadLetterBuilder::new(ctx("web1"), "kernel");
    let bad = b"[ 12.x4] oops";
    let mut dec = decoder::for_format("kernel", &ctx("web1")).unwrap();
    let meta = RecordMeta {
        offset: 7,
        ingest_ts_us: boot_us() + 10_000_000,
    };
    let e = dec.decode(bad, &meta).unwrap_err();
    b.push(bad, &meta, &e);
    EventBatch {
        kind: EventKind::DeadLetter,
        records: b.finish().unwrap(),
        offsets: vec![SourceOffset {
            source_id: source_id.into(),
            end,
        }],
    }
}

/// `<table>/date=…/hour=…` directories under `root`, as (table, date, hour).
fn partitions(root: &Path) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for t in fs::read_dir(root).unwrap() {
        let t = t.unwrap();
        for d in fs::read_dir(t.path()).unwrap() {
            let d = d.unwrap();
            for h in fs::read_dir(d.path()).unwrap() {
                let h = h.unwrap();
                out.insert((
                    t.file_name().to_string_lossy().into_owned(),
                    d.file_name().to_string_lossy().into_owned(),
                    h.file_name().to_string_lossy().into_owned(),
                ));
            }
        }
    }
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn date_hour(ts_us: i64) -> (String, String) {
    let t = DateTime::from_timestamp_micros(ts_us).unwrap();
    (
        format!("date={}", t.format("%Y-%m-%d")),
        format!("hour={}", t.format("%H")),
    )
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> &'a arrow::array::ArrayRef {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn i64_at(b: &RecordBatch, col: usize, row: usize) -> i64 {
    b.column(col).as_primitive::<Int64Type>().value(row)
}

fn ts_at(b: &RecordBatch, col: usize, row: usize) -> i64 {
    b.column(col)
        .as_primitive::<TimestampMicrosecondType>()
        .value(row)
}

async fn sql(ctx: &datafusion::prelude::SessionContext, q: &str) -> Vec<RecordBatch> {
    query::run_sql(ctx, q)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"))
}

#[tokio::test]
async fn store_then_query_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut store = ParquetStore::open(StoreConfig::new(&root)).unwrap();

    // web2 first, so the file's (host, ts) order is not the append order.
    let (b2, e2) = kernel_batch("web2", WEB2);
    let (b1, e1) = kernel_batch("web1", WEB1);
    let end2 = b2.offsets[0].end;
    let end1 = b1.offsets[0].end;
    store.append(&b2).unwrap();
    store.append(&b1).unwrap();
    store.append(&dead_letter_batch("fp-web1", end1)).unwrap();
    let mut expected: Vec<Expected> = e1.into_iter().chain(e2).collect();
    expected.sort();

    assert!(
        store.take_committed().is_empty(),
        "nothing is durable before a flush"
    );
    assert_eq!(store.buffered_rows(EventKind::Kernel), 7);
    assert!(partitions(&root).is_empty(), "no files before a flush");

    store.flush().unwrap();
    let mut committed = store.take_committed();
    committed.sort_by(|a, b| a.source_id.cmp(&b.source_id));
    assert_eq!(
        committed,
        vec![
            SourceOffset {
                source_id: "fp-web1".into(),
                end: end1
            },
            SourceOffset {
                source_id: "fp-web2".into(),
                end: end2
            },
        ]
    );
    assert!(store.take_committed().is_empty(), "reported once");
    assert_eq!(store.buffered_rows(EventKind::Kernel), 0);

    // Hive directories: exactly the hours of the input rows.
    let mut want: BTreeSet<(String, String, String)> = expected
        .iter()
        .map(|e| {
            let (d, h) = date_hour(e.ts_us);
            ("kernel_events".to_string(), d, h)
        })
        .collect();
    want.insert((
        "dead_letters".into(),
        "date=2026-11-22".into(),
        "hour=23".into(),
    ));
    assert_eq!(partitions(&root), want);
    assert_eq!(
        want.iter().filter(|p| p.0 == "kernel_events").count(),
        3,
        "the input spans three hours over two dates"
    );

    // Reports: one per table, summing files and rows.
    let mut reports = store.take_reports();
    reports.sort_by_key(|r| r.table);
    assert_eq!(reports.len(), 2);
    assert_eq!(
        (reports[1].table, reports[1].rows, reports[1].files),
        ("kernel_events", 7, 3)
    );
    assert_eq!(
        (reports[0].table, reports[0].rows, reports[0].files),
        ("dead_letters", 1, 1)
    );
    let kernel_files = files_under(&root.join("kernel_events"));
    let on_disk: u64 = kernel_files
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .sum();
    assert_eq!(reports[1].bytes, on_disk);
    assert!(store.take_reports().is_empty());

    // Files: names, schema, sort order, encoding settings.
    let mut rows_in_files = Vec::new();
    for f in &kernel_files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("part-") && name.ends_with(".parquet"),
            "{name}"
        );
        let (d, h) = {
            let parent = f.parent().unwrap();
            (
                parent
                    .parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                parent.file_name().unwrap().to_string_lossy().into_owned(),
            )
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
            fs::File::open(f).unwrap(),
            ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required),
        )
        .unwrap();
        assert_eq!(
            builder.schema().fields(),
            EventKind::Kernel.schema().fields(),
            "file schema is the kind's schema, without date/hour"
        );
        let meta = builder.metadata().clone();
        assert!(meta.column_index().is_some(), "page index written");
        assert!(meta.offset_index().is_some(), "offset index written");
        let rg = meta.row_group(0);
        assert!(matches!(rg.column(0).compression(), Compression::ZSTD(_)));
        assert_eq!(
            rg.sorting_columns()
                .map(|s| s.iter().map(|c| c.column_idx).collect::<Vec<_>>()),
            Some(vec![1, 0])
        );
        let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
        let mut rows = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                rows.push(Expected {
                    host: col(b, "host").as_string::<i32>().value(i).to_string(),
                    ts_us: col(b, "ts")
                        .as_primitive::<TimestampMicrosecondType>()
                        .value(i),
                    message: col(b, "message").as_string::<i32>().value(i).to_string(),
                });
            }
        }
        let keys: Vec<(String, i64)> = rows.iter().map(|r| (r.host.clone(), r.ts_us)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{} is sorted by (host, ts)", f.display());
        for r in &rows {
            assert_eq!(
                date_hour(r.ts_us),
                (d.clone(), h.clone()),
                "row in its hour"
            );
        }
        rows_in_files.extend(rows);
    }
    rows_in_files.sort();
    assert_eq!(rows_in_files, expected, "every row written exactly once");

    // SQL over the store.
    let ctx = query::session(&root).await.unwrap();
    let r = sql(
        &ctx,
        "SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM kernel_events",
    )
    .await;
    assert_eq!(i64_at(&r[0], 0, 0), expected.len() as i64);
    assert_eq!(
        ts_at(&r[0], 1, 0),
        expected.iter().map(|e| e.ts_us).min().unwrap()
    );
    assert_eq!(
        ts_at(&r[0], 2, 0),
        expected.iter().map(|e| e.ts_us).max().unwrap()
    );

    let r = sql(
        &ctx,
        "SELECT host, date, hour, count(*) AS n FROM kernel_events \
         GROUP BY host, date, hour ORDER BY host, date, hour",
    )
    .await;
    let mut got = BTreeMap::new();
    for b in &r {
        for i in 0..b.num_rows() {
            got.insert(
                (
                    b.column(0).as_string::<i32>().value(i).to_string(),
                    format!("date={}", b.column(1).as_string::<i32>().value(i)),
                    format!("hour={}", b.column(2).as_string::<i32>().value(i)),
                ),
                i64_at(b, 3, i),
            );
        }
    }
    let mut want_groups = BTreeMap::new();
    for e in &expected {
        let (d, h) = date_hour(e.ts_us);
        *want_groups.entry((e.host.clone(), d, h)).or_insert(0i64) += 1;
    }
    assert_eq!(got, want_groups);

    let r = sql(
        &ctx,
        "SELECT message FROM kernel_events WHERE host = 'web1' AND message LIKE 'Out of memory%'",
    )
    .await;
    let oom: Vec<String> = r
        .iter()
        .flat_map(|b| {
            (0..b.num_rows())
                .map(|i| b.column(0).as_string::<i32>().value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(oom.len(), 1, "{oom:?}");
    assert!(oom[0].starts_with("Out of memory"));

    let r = sql(&ctx, "SELECT count(*), min(format) FROM dead_letters").await;
    assert_eq!(i64_at(&r[0], 0, 0), 1);
    assert_eq!(r[0].column(1).as_string::<i32>().value(0), "kernel");

    let r = sql(&ctx, "SELECT count(*) FROM alerts").await;
    assert_eq!(i64_at(&r[0], 0, 0), 0, "a table without files is empty");

    // A hidden copy of a real file is not data.
    let first = &kernel_files[0];
    fs::copy(first, first.with_file_name(".hidden-copy.parquet")).unwrap();
    let r = sql(&ctx, "SELECT count(*) FROM kernel_events").await;
    assert_eq!(i64_at(&r[0], 0, 0), expected.len() as i64);

    // New files are seen by the next query of the same session.
    let (more, _) = kernel_batch("web3", &[(1_000_000, "late arrival")]);
    store.append(&more).unwrap();
    store.flush().unwrap();
    let r = sql(
        &ctx,
        "SELECT count(*) FROM kernel_events WHERE host = 'web3'",
    )
    .await;
    assert_eq!(i64_at(&r[0], 0, 0), 1, "listing is not cached");

    // Partition pruning: a corrupt file in the 22nd's directory breaks full scans but not
    // queries restricted to the 23rd.
    let on_23rd = expected
        .iter()
        .filter(|e| date_hour(e.ts_us).0 == "date=2026-11-23")
        .count() as i64;
    fs::write(
        root.join("kernel_events/date=2026-11-22/hour=23/part-0-corrupt.parquet"),
        b"this is not parquet",
    )
    .unwrap();
    let r = sql(
        &ctx,
        "SELECT count(*) FROM kernel_events WHERE date = '2026-11-23'",
    )
    .await;
    assert_eq!(i64_at(&r[0], 0, 0), on_23rd);
    let r = sql(
        &ctx,
        "SELECT count(*) FROM kernel_events WHERE date = '2026-11-23' AND hour = '01'",
    )
    .await;
    assert_eq!(i64_at(&r[0], 0, 0), 1);
    assert!(
        query::run_sql(&ctx, "SELECT count(*) FROM kernel_events")
            .await
            .is_err(),
        "without the filter the corrupt file is read"
    );
}

#[tokio::test]
async fn empty_store_and_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fresh");
    drop(ParquetStore::open(StoreConfig::new(&root)).unwrap());
    let ctx = query::session(&root).await.unwrap();
    for t in EventKind::ALL.map(EventKind::table) {
        let r = sql(&ctx, &format!("SELECT count(*) FROM {t}")).await;
        assert_eq!(i64_at(&r[0], 0, 0), 0, "{t}");
    }
    // Partition columns are part of every table's schema.
    let r = sql(
        &ctx,
        "SELECT count(*) FROM alerts WHERE date = '2026-01-01' AND hour = '00'",
    )
    .await;
    assert_eq!(i64_at(&r[0], 0, 0), 0);
    sql(&ctx, "SHOW TABLES").await;
    sql(&ctx, "EXPLAIN SELECT * FROM kernel_events").await;

    let rejected = [
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
        "CREATE TABLE t AS SELECT 1",
        "CREATE VIEW v AS SELECT * FROM alerts",
        "DROP TABLE alerts",
        "INSERT INTO alerts SELECT * FROM alerts",
        "COPY (SELECT 1) TO '/tmp/serversage-copy-test.csv'",
        "COPY kernel_events TO '/tmp/serversage-copy-test.parquet'",
        "SET datafusion.execution.batch_size = 1",
        "EXPLAIN INSERT INTO alerts SELECT * FROM alerts",
    ];
    for q in rejected {
        match query::run_sql(&ctx, q).await {
            Err(QueryError::ReadOnly { reason }) => assert!(!reason.is_empty()),
            other => panic!("{q}: expected ReadOnly, got {other:?}"),
        }
    }
    assert!(!Path::new("/tmp/serversage-copy-test.csv").exists());
    // No URL tables: a path is not a table name.
    for q in [
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM 'file:///etc/hostname'",
    ] {
        let err = query::run_sql(&ctx, q).await.unwrap_err();
        assert!(matches!(err, QueryError::DataFusion(_)), "{q}: {err}");
    }
    // The session still works and nothing was registered.
    let r = sql(
        &ctx,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .await;
    assert_eq!(i64_at(&r[0], 0, 0), EventKind::ALL.len() as i64);

    let missing = dir.path().join("missing");
    assert!(matches!(
        query::session(&missing).await,
        Err(QueryError::Root { .. })
    ));
}

#[tokio::test]
async fn output_formats_parse_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut store = ParquetStore::open(StoreConfig::new(&root)).unwrap();
    let (b1, e1) = kernel_batch("web1", WEB1);
    let (b2, e2) = kernel_batch("web2", WEB2);
    store.append(&b1).unwrap();
    store.append(&b2).unwrap();
    store.flush().unwrap();
    let ctx = query::session(&root).await.unwrap();
    let q = "SELECT host, count(*) AS n, min(ts) AS first, max(message) AS last_message \
             FROM kernel_events GROUP BY host ORDER BY host";
    let batches = sql(&ctx, q).await;

    let mut expect: BTreeMap<String, (i64, i64, String)> = BTreeMap::new();
    for e in e1.iter().chain(&e2) {
        let ent = expect
            .entry(e.host.clone())
            .or_insert((0, i64::MAX, String::new()));
        ent.0 += 1;
        ent.1 = ent.1.min(e.ts_us);
        if e.message > ent.2 {
            ent.2 = e.message.clone();
        }
    }

    // JSON Lines.
    let mut out = Vec::new();
    query::write_batches(&batches, OutputFormat::Json, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expect.len());
    for (line, (host, (n, first, last))) in lines.iter().zip(&expect) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["host"], host.as_str());
        assert_eq!(v["n"], *n);
        assert_eq!(v["last_message"], last.as_str());
        let ts = DateTime::parse_from_rfc3339(v["first"].as_str().unwrap()).unwrap();
        assert_eq!(ts.timestamp_micros(), *first, "{line}");
    }

    // CSV, including a message with a comma and quotes.
    let mut out = Vec::new();
    query::write_batches(&batches, OutputFormat::Csv, &mut out).unwrap();
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("host", arrow::datatypes::DataType::Utf8, false),
        arrow::datatypes::Field::new("n", arrow::datatypes::DataType::Int64, false),
        arrow::datatypes::Field::new("first", arrow::datatypes::DataType::Utf8, false),
        arrow::datatypes::Field::new("last_message", arrow::datatypes::DataType::Utf8, false),
    ]));
    assert!(out.starts_with(b"host,n,first,last_message\n"));
    let reader = arrow::csv::ReaderBuilder::new(schema)
        .with_header(true)
        .build(std::io::Cursor::new(out))
        .unwrap();
    let parsed: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let mut got = BTreeMap::new();
    for b in &parsed {
        for i in 0..b.num_rows() {
            let ts = DateTime::parse_from_rfc3339(b.column(2).as_string::<i32>().value(i))
                .unwrap()
                .timestamp_micros();
            got.insert(
                b.column(0).as_string::<i32>().value(i).to_string(),
                (
                    i64_at(b, 1, i),
                    ts,
                    b.column(3).as_string::<i32>().value(i).to_string(),
                ),
            );
        }
    }
    assert_eq!(got, expect);
    assert!(
        expect
            .values()
            .any(|v| v.2.contains(",") && v.2.contains('"')),
        "the test covers quoting"
    );

    // Table.
    let mut out = Vec::new();
    query::write_batches(&batches, OutputFormat::Table, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("| host"), "{text}");
    assert!(text.contains("2026-11-22T23:30:00.500+00:00"), "{text}");

    // Nested columns (alerts.labels is a map) are written as text in CSV, objects in JSON.
    let batches = sql(
        &ctx,
        "SELECT map(['rule', 'sev'], ['oom', 'page']) AS labels, \
         CAST(NULL AS TIMESTAMP) AS naive",
    )
    .await;
    let mut out = Vec::new();
    query::write_batches(&batches, OutputFormat::Csv, &mut out).unwrap();
    let csv = String::from_utf8(out).unwrap();
    assert!(csv.starts_with("labels,naive\n"), "{csv}");
    assert!(csv.contains("rule") && csv.contains("page"), "{csv}");
    let mut out = Vec::new();
    query::write_batches(&batches, OutputFormat::Json, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["labels"]["sev"], "page", "{v}");
    assert!(v["naive"].is_null());
}

#[test]
fn size_and_age_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let cfg = StoreConfig {
        max_buffered_rows: 4,
        flush_interval: Duration::from_secs(5),
        ..StoreConfig::new(&root)
    };
    let mut store = ParquetStore::open(cfg).unwrap();
    let (a, _) = kernel_batch("web1", &WEB1[..3]); // 3 rows, 2 hours
    let (b, _) = kernel_batch("web2", &WEB2[..2]); // 2 rows: 3 + 2 > 4
    store.append(&a).unwrap();
    assert_eq!(store.buffered_rows(EventKind::Kernel), 3);
    assert!(files_under(&root).is_empty());
    store.append(&b).unwrap();
    // The first 3 rows were flushed before the next 2 were buffered.
    assert_eq!(store.buffered_rows(EventKind::Kernel), 2);
    assert_eq!(
        store.take_committed(),
        vec![SourceOffset {
            source_id: "fp-web1".into(),
            end: a.offsets[0].end
        }]
    );
    let r = store.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].rows, r[0].files), (3, 3));

    // Not yet due.
    store.flush_due(Instant::now()).unwrap();
    assert_eq!(store.buffered_rows(EventKind::Kernel), 2);
    assert!(store.take_committed().is_empty());
    // Due once the oldest buffered row has waited flush_interval.
    store
        .flush_due(Instant::now() + Duration::from_secs(5))
        .unwrap();
    assert_eq!(store.buffered_rows(EventKind::Kernel), 0);
    assert_eq!(
        store.take_committed(),
        vec![SourceOffset {
            source_id: "fp-web2".into(),
            end: b.offsets[0].end
        }]
    );
    assert_eq!(
        store.take_reports(),
        vec![FlushReport {
            table: "kernel_events",
            rows: 2,
            files: 2,
            bytes: store_bytes_of_last_two(&root),
        }]
    );

    // A batch larger than the buffer is written at once.
    let (big, _) = kernel_batch("web3", &[(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]);
    store.append(&big).unwrap();
    assert_eq!(store.buffered_rows(EventKind::Kernel), 0);
    assert_eq!(store.take_committed().len(), 1);

    // An empty batch commits its offset without writing.
    let empty = EventBatch {
        kind: EventKind::Kernel,
        records: RecordBatch::new_empty(EventKind::Kernel.schema()),
        offsets: vec![SourceOffset {
            source_id: "fp-empty".into(),
            end: 42,
        }],
    };
    store.append(&empty).unwrap();
    assert_eq!(
        store.take_committed(),
        vec![SourceOffset {
            source_id: "fp-empty".into(),
            end: 42
        }]
    );
}

/// Bytes of the two most recent kernel files (web2's rows, written last).
fn store_bytes_of_last_two(root: &Path) -> u64 {
    let mut files: Vec<(String, u64)> = files_under(&root.join("kernel_events"))
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let counter: u64 = name
                .trim_end_matches(".parquet")
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (format!("{counter:010}"), fs::metadata(&p).unwrap().len())
        })
        .collect();
    files.sort();
    files.iter().rev().take(2).map(|f| f.1).sum()
}

#[test]
fn offsets_wait_for_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let cfg = StoreConfig {
        max_buffered_rows: 3,
        ..StoreConfig::new(&root)
    };
    let mut store = ParquetStore::open(cfg).unwrap();
    // One chunk of web1's log: 3 kernel rows and a dead letter, both ending at `end`.
    let (k, _) = kernel_batch("web1", &WEB1[..3]);
    let end = k.offsets[0].end;
    store.append(&dead_letter_batch("fp-web1", end)).unwrap();
    store.append(&k).unwrap(); // fills the kernel buffer: flushed now
    assert_eq!(store.buffered_rows(EventKind::Kernel), 0);
    assert_eq!(store.buffered_rows(EventKind::DeadLetter), 1);
    assert!(
        store.take_committed().is_empty(),
        "the dead letter before `end` is not on disk yet"
    );
    store.flush().unwrap();
    assert_eq!(
        store.take_committed(),
        vec![SourceOffset {
            source_id: "fp-web1".into(),
            end
        }]
    );
}

#[test]
fn rejects_bad_config_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    for cfg in [
        StoreConfig {
            flush_interval: Duration::from_secs(61),
            ..StoreConfig::new(&root)
        },
        StoreConfig {
            max_buffered_rows: 0,
            ..StoreConfig::new(&root)
        },
        StoreConfig {
            zstd_level: 99,
            ..StoreConfig::new(&root)
        },
    ] {
        let err = ParquetStore::open(cfg).err().expect("invalid config");
        assert!(matches!(err, StoreError::Config { .. }));
        assert!(
            err.to_string().contains(&root.display().to_string()),
            "{err}"
        );
    }

    let mut store = ParquetStore::open(StoreConfig::new(&root)).unwrap();
    let (k, _) = kernel_batch("web1", &WEB1[..1]);
    let wrong = EventBatch {
        kind: EventKind::Alert,
        ..k
    };
    let err = store.append(&wrong).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Schema {
                table: "alerts",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("alerts"), "{err}");
    assert_eq!(store.buffered_rows(EventKind::Alert), 0);
    assert!(store.take_committed().is_empty());
}

#[test]
fn open_removes_stale_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let hour = root.join("kernel_events/date=2026-11-22/hour=23");
    fs::create_dir_all(&hour).unwrap();
    let stale = hour.join(".part-1-1.parquet.tmp");
    fs::write(&stale, b"half a file").unwrap();
    let keep = hour.join("part-1-1.parquet");
    fs::write(&keep, b"not ours to judge").unwrap();
    let _store = ParquetStore::open(StoreConfig::new(&root)).unwrap();
    assert!(!stale.exists());
    assert!(keep.exists());
}

#[test]
fn written_values_survive() {
    // Every kernel column round-trips through the file unchanged.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut store = ParquetStore::open(StoreConfig::new(&root)).unwrap();
    let (k, _) = kernel_batch("web1", &[(500_000, "Linux version 6.18")]);
    store.append(&k).unwrap();
    store.flush().unwrap();
    let files = files_under(&root.join("kernel_events"));
    assert_eq!(files.len(), 1);
    let read: Vec<RecordBatch> =
        ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&files[0]).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0], k.records);
    assert_eq!(
        col(&read[0], "source_offset")
            .as_primitive::<UInt64Type>()
            .value(0),
        0
    );
    assert!(col(&read[0], "seq").is_null(0), "seq is null");
}

/// One `alerts` row built by hand (the rules crate produces these in the pipeline).
fn alert_batch(ts_us: i64) -> EventBatch {
    use arrow::array::{
        ArrayRef, Float64Array, MapBuilder, MapFieldNames, StringArray, StringBuilder,
        TimestampMicrosecondArray,
    };
    use std::sync::Arc;
    let ts = |v: Option<i64>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(vec![v]).with_timezone("UTC"))
    };
    let s = |v: Option<&str>| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
    let mut labels = MapBuilder::new(
        Some(MapFieldNames {
            entry: "entries".into(),
            key: "keys".into(),
            value: "values".into(),
        }),
        StringBuilder::new(),
        StringBuilder::new(),
    )
    .with_values_field(arrow::datatypes::Field::new(
        "values",
        arrow::datatypes::DataType::Utf8,
        true,
    ));
    labels.keys().append_value("host");
    labels.values().append_value("web1");
    labels.keys().append_value("sev");
    labels.values().append_value("page");
    labels.append(true).unwrap();
    let columns: Vec<ArrayRef> = vec![
        ts(Some(ts_us)),
        s(Some("web1")),
        s(Some("rules")),
        ts(Some(ts_us)),
        s(Some("oom_kills")),
        s(Some("firing")),
        s(Some("critical")),
        Arc::new(labels.finish()),
        Arc::new(Float64Array::from(vec![Some(3.0)])),
        Arc::new(Float64Array::from(vec![Some(1.0)])),
        ts(Some(ts_us - 300_000_000)),
        ts(Some(ts_us)),
        ts(None),
        s(Some("3 OOM kills on web1")),
    ];
    EventBatch {
        kind: EventKind::Alert,
        records: RecordBatch::try_new(EventKind::Alert.schema(), columns).unwrap(),
        offsets: vec![],
    }
}

#[tokio::test]
async fn alerts_with_map_labels() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut store = ParquetStore::open(StoreConfig::new(&root)).unwrap();
    store.append(&alert_batch(boot_us())).unwrap();
    store.flush().unwrap();
    let ctx = query::session(&root).await.unwrap();
    let r = sql(
        &ctx,
        "SELECT labels['sev'] AS sev, state, hour FROM alerts WHERE date = '2026-11-22'",
    )
    .await;
    assert_eq!(r.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    let b = &r[0];
    let sev = arrow::util::display::array_value_to_string(col(b, "sev"), 0).unwrap();
    assert_eq!(sev, "page");
    assert_eq!(col(b, "state").as_string::<i32>().value(0), "firing");
    assert_eq!(col(b, "hour").as_string::<i32>().value(0), "23");
}

/// Writes a sample store for checking other readers by hand:
/// `SERVERSAGE_SAMPLE_STORE=/tmp/x cargo test -p serversage-sinks --test store_query -- --ignored`
#[test]
#[ignore = "writes to $SERVERSAGE_SAMPLE_STORE for manual checks with DuckDB/Spark"]
fn write_sample_store() {
    let root = PathBuf::from(std::env::var("SERVERSAGE_SAMPLE_STORE").unwrap());
    let mut store = ParquetStore::open(StoreConfig::new(&root)).unwrap();
    let (b1, _) = kernel_batch("web1", WEB1);
    let (b2, _) = kernel_batch("web2", WEB2);
    store.append(&b2).unwrap();
    store.append(&b1).unwrap();
    store
        .append(&dead_letter_batch("fp-web1", b1.offsets[0].end))
        .unwrap();
    store.append(&alert_batch(boot_us() + 1_000_000)).unwrap();
    store.flush().unwrap();
}
