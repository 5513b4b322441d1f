//! Database slow-log decoding: frame + parse + fingerprint + append to Arrow (the pipeline's
//! decode stage) over ~16 MB in-memory corpora made by repeating real logs, in bytes/s and
//! entries/s. One function per format.
//!
//! `mysql-slow`:
//! - `percona-samples`: the 32 slow logs of Percona Toolkit's test samples
//!   (`../shared/samples/db/percona-slowlogs/`, read at bench time) one after the other:
//!   MySQL 5.0-5.7 and Percona Server entries, admin commands, multi-line statements;
//! - `file`: the log named by `SERVERSAGE_MYSQL_SLOW_LOG` when set (e.g. a MariaDB log with
//!   `log_slow_verbosity=query_plan,explain`; `benches/mysql_slow_vs_pt.sh` compares it
//!   with pt-query-digest on the same file).
//!
//! `cargo bench -p benches --bench db_parser` (add `-- mysql` to filter).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use benches::decode::{BATCH_ROWS, bench_context, decode_all};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serversage_parsers::SourceContext;
use serversage_parsers::decoder::for_format;

const CORPUS_BYTES: usize = 16 << 20;

fn ctx() -> SourceContext {
    bench_context("db")
}

/// `log` repeated to [`CORPUS_BYTES`].
fn repeated(log: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CORPUS_BYTES + log.len());
    while out.len() < CORPUS_BYTES {
        out.extend_from_slice(log);
    }
    out
}

struct Input {
    name: &'static str,
    bytes: Vec<u8>,
    records: u64,
}

/// Checks once, outside the timing, that the corpus decodes without dead letters.
fn input(format: &str, name: &'static str, bytes: Vec<u8>) -> Input {
    let mut dec = for_format(format, &ctx()).expect("decoder");
    let got = decode_all(dec.as_mut(), &bytes, BATCH_ROWS);
    assert!(got.errors.is_empty(), "{name}: {:?}", got.errors.first());
    assert!(got.rows > 0, "{name}: no rows");
    eprintln!(
        "{format} {name}: {} bytes, {} records, {} rows",
        bytes.len(),
        got.framed,
        got.rows
    );
    Input {
        name,
        bytes,
        records: got.rows,
    }
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
}

/// Bytes/s and rows/s of `format` over each input.
fn bench_format(c: &mut Criterion, format: &str, inputs: &[Input]) {
    let pass = |input: &[u8]| {
        let mut dec = for_format(format, &ctx()).expect("decoder");
        decode_all(dec.as_mut(), input, BATCH_ROWS).rows
    };
    let mut group = c.benchmark_group(format!("{format}_decode_bytes"));
    configure(&mut group);
    for i in inputs {
        group.throughput(Throughput::Bytes(i.bytes.len() as u64));
        group.bench_function(i.name, |b| b.iter(|| pass(black_box(&i.bytes))));
    }
    group.finish();
    let mut group = c.benchmark_group(format!("{format}_decode_entries"));
    configure(&mut group);
    for i in inputs {
        group.throughput(Throughput::Elements(i.records));
        group.bench_function(i.name, |b| b.iter(|| pass(black_box(&i.bytes))));
    }
    group.finish();
}

fn mysql_slow(c: &mut Criterion) {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/db/percona-slowlogs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut log = Vec::new();
    for f in files {
        log.extend_from_slice(&std::fs::read(f).unwrap());
        if !log.ends_with(b"\n") {
            log.push(b'\n');
        }
    }
    let mut inputs = vec![input("mysql-slow", "percona-samples", repeated(&log))];
    if let Some(path) = std::env::var_os("SERVERSAGE_MYSQL_SLOW_LOG") {
        let log = std::fs::read(&path).expect("SERVERSAGE_MYSQL_SLOW_LOG");
        inputs.push(input("mysql-slow", "file", repeated(&log)));
    }
    bench_format(c, "mysql-slow", &inputs);
}

criterion_group!(benches, mysql_slow);
criterion_main!(benches);
