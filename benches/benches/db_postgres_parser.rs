//! PostgreSQL and MongoDB log decoding: frame + parse + classify + fingerprint + append to
//! Arrow (both tables), in bytes/s and records/s, over ~16 MB in-memory corpora.
//!
//! - `postgres-stderr`, `postgres-csv`, `postgres-json`: a real log repeated to 16 MB. By
//!   default the three files one run of PostgreSQL 15 wrote at once
//!   (`parsers/tests/fixtures/pg15-text.{log,csv,json}`: auto_explain text plans, pgbench's
//!   extended and prepared protocols, psql, events); `SERVERSAGE_PG_LOG`,
//!   `SERVERSAGE_PG_CSV` and `SERVERSAGE_PG_JSON` name other files (e.g. the logs the e2e
//!   tests' throwaway server writes; their prefix must be one of the recognised defaults).
//! - `mongodb`: generated "Slow query" lines shaped as MongoDB's documentation shows them
//!   (finds, aggregates, updates with varying literals) with a connection line every 8th.
//!
//! `cargo bench -p benches --bench db_postgres_parser` (add `-- stderr` to filter).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serversage_parsers::decoder::for_format;
use serversage_parsers::{Decoder, RecordMeta, SourceContext};

const CORPUS_BYTES: usize = 16 << 20;
/// Rows per batch, as the pipeline's decode stage.
const BATCH_ROWS: usize = 8192;

fn ctx() -> SourceContext {
    SourceContext {
        host: "bench".into(),
        source: "db".into(),
        ..Default::default()
    }
}

fn fixture(env: &str, name: &str) -> Vec<u8> {
    let path = std::env::var_os(env).map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../parsers/tests/fixtures")
                .join(name)
        },
        PathBuf::from,
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e} (set {env})", path.display()))
}

fn repeat(log: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CORPUS_BYTES + log.len());
    while out.len() < CORPUS_BYTES {
        out.extend_from_slice(log);
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// MongoDB lines in the documented shape, literals varied so fingerprints repeat but
/// statements do not.
fn mongo_corpus() -> Vec<u8> {
    let mut out = Vec::with_capacity(CORPUS_BYTES + 4096);
    let mut i = 0u64;
    while out.len() < CORPUS_BYTES {
        let ms = 100 + i % 900;
        let line = match i % 8 {
            0 => format!(
                r#"{{"t":{{"$date":"2020-05-20T20:10:08.{:03}+00:00"}},"s":"I","c":"NETWORK","id":22943,"ctx":"listener","msg":"Connection accepted","attr":{{"remote":"10.0.0.{}:5{:04}","connectionId":{i},"connectionCount":3}}}}"#,
                i % 1000,
                i % 250,
                i % 10000
            ),
            1..=4 => format!(
                r#"{{"t":{{"$date":"2020-05-20T20:11:02.118+00:00"}},"s":"I","c":"COMMAND","id":51803,"ctx":"conn{i}","msg":"Slow query","attr":{{"type":"command","ns":"shop.orders","command":{{"find":"orders","filter":{{"status":"{}","qty":{{"$in":[{},{},{}]}}}},"sort":{{"ts":-1}},"limit":{},"lsid":{{"id":{{"$uuid":"0a1b2c3d-9cd6-42d4-b1c8-{:012}"}}}},"$db":"shop"}},"planSummary":"IXSCAN {{ status: 1, qty: 1 }}","keysExamined":{},"docsExamined":{},"nreturned":10,"queryHash":"8B3D4AB8","planCacheKey":"BBEC5D6A","reslen":4210,"remote":"10.1.2.3:50010","protocol":"op_msg","durationMillis":{ms}}}}}"#,
                ["A", "B", "D"][(i % 3) as usize],
                i % 7,
                i % 11,
                i % 13,
                10 + i % 5,
                i,
                i % 500,
                i % 500
            ),
            5 | 6 => format!(
                r#"{{"t":{{"$date":"2020-05-20T20:10:08.731+00:00"}},"s":"I","c":"COMMAND","id":51803,"ctx":"conn{i}","msg":"Slow query","attr":{{"type":"command","ns":"stocks.trades","appName":"MongoDB Shell","command":{{"aggregate":"trades","pipeline":[{{"$match":{{"ticker":"T{}"}}}},{{"$project":{{"ticker":1,"price":1,"priceGTE110":{{"$gte":["$price",{}]}},"_id":0}}}},{{"$sort":{{"price":-1}}}}],"allowDiskUse":true,"cursor":{{}},"$db":"stocks"}},"planSummary":"COLLSCAN","keysExamined":0,"docsExamined":{},"hasSortStage":true,"usedDisk":true,"numYields":1002,"nreturned":101,"reslen":17738,"protocol":"op_msg","durationMillis":{ms}}}}}"#,
                i % 100,
                100 + i % 20,
                1000 + i
            ),
            _ => format!(
                r#"{{"t":{{"$date":"2020-05-20T20:12:00.000+00:00"}},"s":"I","c":"WRITE","id":51803,"ctx":"conn{i}","msg":"Slow query","attr":{{"type":"update","ns":"shop.orders","command":{{"q":{{"_id":{{"$oid":"5ec5a5b1d9a5b0b1{:08x}"}}}},"u":{{"$set":{{"status":"B","n":{i}}}}},"multi":false,"upsert":false}},"planSummary":"IDHACK","keysExamined":1,"docsExamined":1,"nMatched":1,"nModified":1,"numYields":0,"durationMillis":{ms}}}}}"#,
                i
            ),
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        i += 1;
    }
    out
}

#[derive(Default)]
struct Stats {
    records: u64,
    rows: u64,
    errors: u64,
}

/// The decode stage over the whole input: frame, decode, take both tables' batches.
fn decode_all(dec: &mut dyn Decoder, input: &[u8]) -> Stats {
    let mut st = Stats::default();
    let mut pos = 0;
    while pos < input.len() {
        let len = dec.frame(&input[pos..], true).expect("frames at EOF");
        let meta = RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 1_795_400_000_000_000,
        };
        st.records += 1;
        if dec.decode(&input[pos..pos + len], &meta).is_err() {
            st.errors += 1;
        }
        pos += len;
        if dec.pending_rows() >= BATCH_ROWS {
            take(dec, &mut st);
        }
    }
    take(dec, &mut st);
    st
}

fn take(dec: &mut dyn Decoder, st: &mut Stats) {
    if let Some(b) = dec.finish() {
        st.rows += b.num_rows() as u64;
        black_box(b);
    }
    for (_, b) in dec.finish_side() {
        st.rows += b.num_rows() as u64;
        black_box(b);
    }
}

struct Input {
    name: &'static str,
    format: &'static str,
    bytes: Vec<u8>,
    records: u64,
}

fn inputs() -> Vec<Input> {
    let all = [
        (
            "postgres-stderr",
            "postgres",
            repeat(&fixture("SERVERSAGE_PG_LOG", "pg15-text.log")),
        ),
        (
            "postgres-csv",
            "postgres-csv",
            repeat(&fixture("SERVERSAGE_PG_CSV", "pg15-text.csv")),
        ),
        (
            "postgres-json",
            "postgres-json",
            repeat(&fixture("SERVERSAGE_PG_JSON", "pg15-text.json")),
        ),
        ("mongodb", "mongodb", mongo_corpus()),
    ];
    all.into_iter()
        .map(|(name, format, bytes)| {
            let mut dec = for_format(format, &ctx()).expect(format);
            let st = decode_all(dec.as_mut(), &bytes);
            // Outside the timing: the bench measures parsing, not dead letters.
            assert_eq!(st.errors, 0, "{name}: dead letters in the corpus");
            eprintln!(
                "{name}: {} bytes, {} records, {} rows",
                bytes.len(),
                st.records,
                st.rows
            );
            Input {
                name,
                format,
                bytes,
                records: st.records,
            }
        })
        .collect()
}

fn pass(format: &str, input: &[u8]) -> u64 {
    let mut dec = for_format(format, &ctx()).expect(format);
    decode_all(dec.as_mut(), input).rows
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
}

fn decode_stage(c: &mut Criterion) {
    let inputs = inputs();
    let mut group = c.benchmark_group("db_postgres_decode_bytes");
    configure(&mut group);
    for i in &inputs {
        group.throughput(Throughput::Bytes(i.bytes.len() as u64));
        group.bench_function(i.name, |b| b.iter(|| pass(i.format, black_box(&i.bytes))));
    }
    group.finish();
    let mut group = c.benchmark_group("db_postgres_decode_records");
    configure(&mut group);
    for i in &inputs {
        group.throughput(Throughput::Elements(i.records));
        group.bench_function(i.name, |b| b.iter(|| pass(i.format, black_box(&i.bytes))));
    }
    group.finish();
}

criterion_group!(benches, decode_stage);
criterion_main!(benches);
