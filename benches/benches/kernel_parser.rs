//! Kernel decoding: frame + parse + append to Arrow (the pipeline's decode stage) over a
//! ~16 MB in-memory corpus per form (the three text forms with the `kernel` decoder, and
//! /dev/kmsg records with the `kmsg` decoder), in bytes/s and records/s; and the parse step
//! alone.
//!
//! `cargo bench -p benches --bench kernel_parser` (add `-- dmesg-iso` to filter).

use std::hint::black_box;
use std::time::Duration;

use benches::corpus::{KernelForm, kernel_corpus_vec};
use benches::decode::{BATCH_ROWS, booted_bench_context, decode_all};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serversage_parsers::decoder::for_format;
use serversage_parsers::kernel::{kmsg, parse_record};
use serversage_parsers::{Decoder, SourceContext};

const CORPUS_BYTES: u64 = 16 << 20;
const SEED: u64 = 0x5e_5a9e;

fn ctx() -> SourceContext {
    booted_bench_context("kernel")
}

struct Input {
    form: KernelForm,
    bytes: Vec<u8>,
    records: u64,
}

fn inputs() -> Vec<Input> {
    KernelForm::ALL
        .into_iter()
        .map(|form| {
            let (bytes, stats) = kernel_corpus_vec(CORPUS_BYTES, form, SEED);
            // Check once, outside the timing, that the bench measures what it claims.
            let mut dec = for_format(form.format(), &ctx()).expect("kernel decoder");
            let got = decode_all(dec.as_mut(), &bytes, BATCH_ROWS);
            assert!(got.errors.is_empty(), "{form}: {:?}", got.errors.first());
            assert_eq!(got.rows, stats.records, "{form}");
            Input {
                form,
                bytes,
                records: stats.records,
            }
        })
        .collect()
}

/// One pass of the decode stage over the whole corpus with a fresh decoder.
fn decode_pass(form: KernelForm, input: &[u8]) -> u64 {
    let mut dec: Box<dyn Decoder> = for_format(form.format(), &ctx()).expect("kernel decoder");
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

fn decode_stage(c: &mut Criterion) {
    let inputs = inputs();
    let mut group = c.benchmark_group("kernel_decode_bytes");
    configure(&mut group);
    for i in &inputs {
        group.throughput(Throughput::Bytes(i.bytes.len() as u64));
        group.bench_function(i.form.name(), |b| {
            b.iter(|| decode_pass(i.form, black_box(&i.bytes)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("kernel_decode_records");
    configure(&mut group);
    for i in &inputs {
        group.throughput(Throughput::Elements(i.records));
        group.bench_function(i.form.name(), |b| {
            b.iter(|| decode_pass(i.form, black_box(&i.bytes)))
        });
    }
    group.finish();

    // The parse step alone: records framed beforehand, no Arrow.
    let mut group = c.benchmark_group("kernel_parse_only");
    configure(&mut group);
    for i in &inputs {
        let dec = for_format(i.form.format(), &ctx()).expect("kernel decoder");
        let mut records = Vec::with_capacity(i.records as usize);
        let mut pos = 0;
        while pos < i.bytes.len() {
            let len = dec.frame(&i.bytes[pos..], true).expect("frames at EOF");
            records.push(&i.bytes[pos..pos + len]);
            pos += len;
        }
        group.throughput(Throughput::Bytes(i.bytes.len() as u64));
        group.bench_function(i.form.name(), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for r in &records {
                    n += if i.form == KernelForm::Kmsg {
                        kmsg::parse(black_box(r)).expect("corpus parses").text.len()
                    } else {
                        parse_record(black_box(r), 2026)
                            .expect("corpus parses")
                            .text
                            .len()
                    };
                }
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode_stage);
criterion_main!(benches);
