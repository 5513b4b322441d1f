//! .evtx to Arrow with the built-in `windows` rule pack on: the decode stage (frame, the
//! evtx crate's chunk parse, template replay into the event walker, Arrow appends) and, on the same
//! core, every batch fed to the pack's rules (filters, group keys, windows, alerts) as the
//! pipeline's rules thread does. Corpus: the used chunks of the clean public .evtx samples
//! repeated to 64 MiB (benches/src/evtx_corpus.rs), the same bytes as `windows_parser`'s
//! `evtx`. The `decode-only` function is the same pass without the rules, and `pack-only`
//! the rules alone over batches decoded beforehand.
//!
//! The repeated corpus goes back in time at every repetition, so most windows of the
//! later passes are already closed: those events still count towards the counters and are
//! reported as late, which is the engine's normal path for late data. A real log's windows
//! would instead close and emit as time moves on; either way the per-row work (filters,
//! group keys) is the same.
//!
//! `cargo bench -p benches --bench windows_pack`.

#[path = "../shared/windows_pack.rs"]
mod windows_pack;

use std::hint::black_box;
use std::time::Duration;

use benches::decode::{BATCH_ROWS, bench_context, decode_all, decode_all_with};
use benches::evtx_corpus::{repeat, used_chunks};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serversage_parsers::decoder::for_format;
use serversage_parsers::{EventKind, SourceContext};
use serversage_rules::{Outputs, RuleSet};
use windows_pack::{NOW_US, pass_with, windows_pack};

const EVTX_BYTES: usize = 64 << 20;

fn ctx() -> SourceContext {
    bench_context("windows")
}

/// One pass over `input` with a fresh decoder (compiling the pack's SQL is start-up work,
/// not per-event work, and stays outside the timing: `rules` comes in built).
fn pass(input: &[u8], mut rules: RuleSet) -> (u64, usize) {
    let mut dec = for_format("evtx", &ctx()).expect("evtx decoder");
    pass_with(dec.as_mut(), input, &mut rules)
}

/// A group of 10 samples of 5 s, after 1 s of warm-up (each pass takes about 0.3 s).
fn configure<M: criterion::measurement::Measurement>(
    group: &mut criterion::BenchmarkGroup<'_, M>,
    throughput: Throughput,
) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(throughput);
}

fn bench(c: &mut Criterion) {
    let corpus = repeat(&used_chunks(), EVTX_BYTES);
    // Check once, outside the timing, that the rules see every row and do something.
    let mut dec = for_format("evtx", &ctx()).expect("evtx decoder");
    let plain = decode_all(dec.as_mut(), &corpus, BATCH_ROWS);
    assert!(plain.errors.is_empty(), "{:?}", plain.errors.first());
    let started = std::time::Instant::now();
    let rules = windows_pack();
    eprintln!("compiling the pack: {:?}", started.elapsed());
    let (rows, produced) = pass(&corpus, rules);
    assert_eq!(rows, plain.rows);
    assert!(produced > 0, "the pack produced no metric update or alert");
    eprintln!(
        "evtx: {} bytes, {rows} events; the pack produced {produced} updates and alerts",
        corpus.len()
    );

    let mut group = c.benchmark_group("windows_pack_bytes");
    configure(&mut group, Throughput::Bytes(corpus.len() as u64));
    group.bench_function("evtx+pack", |b| {
        b.iter_batched(
            windows_pack,
            |rules| pass(black_box(&corpus), rules),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("decode-only", |b| {
        b.iter(|| {
            let mut dec = for_format("evtx", &ctx()).expect("evtx decoder");
            decode_all(dec.as_mut(), black_box(&corpus), BATCH_ROWS).rows
        })
    });
    // The rules alone, over the batches decoded beforehand.
    let mut batches = Vec::new();
    let mut dec = for_format("evtx", &ctx()).expect("evtx decoder");
    decode_all_with(dec.as_mut(), &corpus, BATCH_ROWS, |b| batches.push(b));
    group.bench_function("pack-only", |b| {
        b.iter_batched(
            windows_pack,
            |mut rules| {
                let mut out = Outputs::default();
                for batch in &batches {
                    rules.on_batch(EventKind::Windows, batch, NOW_US, &mut out);
                    out.clear();
                }
                rules.len()
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("windows_pack_events");
    configure(&mut group, Throughput::Elements(rows));
    group.bench_function("evtx+pack", |b| {
        b.iter_batched(
            windows_pack,
            |rules| pass(black_box(&corpus), rules),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
