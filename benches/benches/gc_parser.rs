//! JVM GC log decoding: frame + parse + append to Arrow (the pipeline's decode stage) over
//! ~16 MB in-memory corpora made by repeating real GC logs (GCViewer's test resources in
//! `../shared/samples/gc/gcviewer/`, read at bench time), in bytes/s and records/s.
//!
//! - `jdk8-cms`: `SampleSun1_8_0Series-Part2.txt`, JDK 8 `-XX:+PrintGCDetails` with ParNew/CMS,
//!   one event per line (dates, uptimes, `[Times: ...]`);
//! - `jdk8-g1`: `SampleSun1_8_0G1StringDeduplication.txt`, JDK 8 G1 with multi-line detail
//!   records (the framer's bracket tracking);
//! - `unified`: the `sample-ujl-*.txt` logs (JDK 9+ `-Xlog:gc*`: CMS, Parallel, ZGC)
//!   one after the other;
//! - `unified-g1`: sample-logs/gc/g1-heap-exhausted.log, a JDK 17 G1 `-Xlog:gc*` log with
//!   every detail line (phases, regions, metaspace, CPU) and `time,uptime,level,tags`.
//!
//! Records are the framed records (a multi-line JDK 8 record is one); the rows they give are
//! printed once per input. `cargo bench -p benches --bench gc_parser` (add `-- unified` to
//! filter). Set `SERVERSAGE_GC_SAMPLES` to read the logs from another directory.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use benches::decode::{BATCH_ROWS, booted_bench_context, decode_all};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serversage_parsers::SourceContext;
use serversage_parsers::decoder::for_format;

const CORPUS_BYTES: usize = 16 << 20;

/// (bench id, sample files concatenated, then repeated to [`CORPUS_BYTES`]).
const INPUTS: &[(&str, &[&str])] = &[
    ("jdk8-cms", &["SampleSun1_8_0Series-Part2.txt"]),
    ("jdk8-g1", &["SampleSun1_8_0G1StringDeduplication.txt"]),
    (
        "unified",
        &[
            "sample-ujl-cms-gc-defaults.txt",
            "sample-ujl-parallel-gc-defaults.txt",
            "sample-ujl-zgc-gc-default.txt",
        ],
    ),
    ("unified-g1", &["repo:sample-logs/gc/g1-heap-exhausted.log"]),
];

fn samples_dir() -> PathBuf {
    std::env::var_os("SERVERSAGE_GC_SAMPLES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/gc/gcviewer"),
        PathBuf::from,
    )
}

/// With a JVM start time, so that uptime-only records take the `start + uptime` path.
fn ctx() -> SourceContext {
    booted_bench_context("gc")
}

struct Input {
    name: &'static str,
    bytes: Vec<u8>,
    records: u64,
}

/// One log (the files concatenated, each ending in a newline) repeated to the target size.
fn corpus(files: &[&str]) -> Vec<u8> {
    let dir = samples_dir();
    let mut log = Vec::new();
    for f in files {
        // `repo:` names a file of this repository, else a file of the samples directory.
        let path = match f.strip_prefix("repo:") {
            Some(rel) => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(rel),
            None => dir.join(f),
        };
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "reading {}: {e} (set SERVERSAGE_GC_SAMPLES)",
                path.display()
            )
        });
        log.extend_from_slice(&bytes);
        if !log.ends_with(b"\n") {
            log.push(b'\n');
        }
    }
    let mut out = Vec::with_capacity(CORPUS_BYTES + log.len());
    while out.len() < CORPUS_BYTES {
        out.extend_from_slice(&log);
    }
    out
}

fn inputs() -> Vec<Input> {
    INPUTS
        .iter()
        .map(|&(name, files)| {
            let bytes = corpus(files);
            // Check once, outside the timing, that the bench measures parsing, not dead letters.
            let mut dec = for_format("jvm-gc", &ctx()).expect("gc decoder");
            let got = decode_all(dec.as_mut(), &bytes, BATCH_ROWS);
            assert!(got.errors.is_empty(), "{name}: {:?}", got.errors.first());
            assert!(got.rows > 0, "{name}: no rows");
            eprintln!(
                "{name}: {} bytes, {} records, {} rows",
                bytes.len(),
                got.framed,
                got.rows
            );
            Input {
                name,
                bytes,
                records: got.framed,
            }
        })
        .collect()
}

/// One pass of the decode stage over the whole corpus with a fresh decoder.
fn decode_pass(input: &[u8]) -> u64 {
    let mut dec = for_format("jvm-gc", &ctx()).expect("gc decoder");
    decode_all(dec.as_mut(), input, BATCH_ROWS).rows
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    // One pass takes ~0.1 s: flat sampling, 10 samples, short windows keep the suite < 1 min.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

/// CPU time this thread has run, from the scheduler (`/proc/thread-self/schedstat`, ns).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Throughput per core in CPU time, which other processes on a shared machine do not skew
/// (criterion's wall-clock figures below do): 5 passes per input, printed once.
fn per_core(inputs: &[Input]) {
    for i in inputs {
        let Some(start) = thread_cpu_ns() else {
            return;
        };
        let mut rows = 0;
        for _ in 0..5 {
            rows += decode_pass(black_box(&i.bytes));
        }
        let ns = (thread_cpu_ns().unwrap_or(start) - start).max(1) as f64;
        let bytes = 5.0 * i.bytes.len() as f64;
        eprintln!(
            "{}: {:.0} MB/s per core (CPU time), {:.2} M records/s, {:.2} M rows/s",
            i.name,
            bytes / ns * 1e3,
            5.0 * i.records as f64 / ns * 1e3,
            rows as f64 / ns * 1e3
        );
    }
}

fn decode_stage(c: &mut Criterion) {
    let inputs = inputs();
    per_core(&inputs);
    let mut group = c.benchmark_group("gc_decode_bytes");
    configure(&mut group);
    for i in &inputs {
        group.throughput(Throughput::Bytes(i.bytes.len() as u64));
        group.bench_function(i.name, |b| b.iter(|| decode_pass(black_box(&i.bytes))));
    }
    group.finish();

    let mut group = c.benchmark_group("gc_decode_records");
    configure(&mut group);
    for i in &inputs {
        group.throughput(Throughput::Elements(i.records));
        group.bench_function(i.name, |b| b.iter(|| decode_pass(black_box(&i.bytes))));
    }
    group.finish();
}

criterion_group!(benches, decode_stage);
criterion_main!(benches);
