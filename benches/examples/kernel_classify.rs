//! Kernel classification throughput on one file, for the comparison with mtail
//! (benches/mtail/compare.sh): the whole decode stage the pipeline runs on a source's
//! thread (frame, parse, classify against the built-in catalogue, append to Arrow), on one
//! core, over a corpus held in memory; then the number of rows per class.
//!
//! ```text
//! cargo build --release -p benches --example kernel_classify
//! kernel_classify FILE [--format kernel|kmsg] [--passes N]
//! ```
//!
//! Prints `bytes`, `records`, `seconds` (best pass, wall), `mb_per_s` (10^6 bytes per
//! second), `cpu_seconds` / `mb_per_cpu_s` (the same from the thread's CPU time, which
//! stays honest on a machine busy with other work) and one `class NAME COUNT` line per
//! class, sorted by name. For the text forms it also
//! prints `catalogue_cpu_seconds` / `catalogue_mb_per_cpu_s`: the catalogue's matching
//! alone (every record's message, parsed beforehand, classified; no Arrow), per corpus byte.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow_array::{Array, StringArray};
use benches::decode::{BATCH_ROWS, booted_bench_context, decode_all};
use serversage_parsers::{Decoder, RecordMeta, SourceContext, decoder, kernel};

fn ctx() -> SourceContext {
    booted_bench_context("kernel")
}

fn count_classes(batch: &arrow_array::RecordBatch, counts: &mut BTreeMap<String, u64>) {
    let col = batch
        .column_by_name("class")
        .expect("kernel_events has `class`");
    let classes = col
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("`class` is a string column");
    for i in 0..classes.len() {
        if classes.is_valid(i) {
            *counts.entry(classes.value(i).to_string()).or_default() += 1;
        }
    }
}

/// One untimed pass that keeps the batches' `class` columns.
fn classes(format: &str, input: &[u8]) -> Result<(u64, BTreeMap<String, u64>)> {
    let mut dec = decoder::for_format(format, &ctx()).context("decoder")?;
    let mut counts = BTreeMap::new();
    let (mut rows, mut errors, mut pos) = (0u64, 0u64, 0usize);
    let mut take = |dec: &mut Box<dyn Decoder>, counts: &mut BTreeMap<String, u64>| {
        if let Some(b) = dec.finish() {
            rows += b.num_rows() as u64;
            count_classes(&b, counts);
        }
    };
    while pos < input.len() {
        let len = dec.frame(&input[pos..], true).context("framing at EOF")?;
        let meta = RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 0,
        };
        if dec.decode(&input[pos..pos + len], &meta).is_err() {
            errors += 1;
        }
        if dec.pending_rows() >= BATCH_ROWS {
            take(&mut dec, &mut counts);
        }
        pos += len;
    }
    take(&mut dec, &mut counts);
    if errors > 0 {
        eprintln!("note: {errors} records did not parse (dead letters, no class)");
    }
    Ok((rows, counts))
}

/// CPU time of this thread, in seconds.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Best CPU time of the catalogue alone over every record's message text (text forms).
fn catalogue_only(input: &[u8], passes: u32) -> f64 {
    let mut texts: Vec<&[u8]> = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let len = kernel::frame(&input[pos..], true).expect("frames at EOF");
        if let Ok(r) = kernel::parse_record(&input[pos..pos + len], 2026) {
            texts.push(r.text);
        }
        pos += len;
    }
    let cat = kernel::Catalogue::builtin();
    let mut best = f64::INFINITY;
    for _ in 0..passes.max(1) {
        let t = thread_cpu();
        let n = texts
            .iter()
            .filter(|m| cat.classify(std::hint::black_box(m)).is_some())
            .count();
        best = best.min(thread_cpu() - t);
        std::hint::black_box(n);
    }
    best
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut format = "kernel".to_string();
    let mut passes = 3u32;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--format" => format = args.next().context("--format needs a value")?,
            "--passes" => {
                passes = args
                    .next()
                    .context("--passes needs a value")?
                    .parse()
                    .context("--passes")?
            }
            "-h" | "--help" => {
                println!("usage: kernel_classify FILE [--format kernel|kmsg] [--passes N]");
                return Ok(());
            }
            f if file.is_none() => file = Some(f.to_string()),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    let file = file.context("usage: kernel_classify FILE [--format kernel|kmsg] [--passes N]")?;
    let input = std::fs::read(&file).with_context(|| format!("reading {file}"))?;
    let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    let mut records = 0;
    for _ in 0..passes.max(1) {
        let mut dec = decoder::for_format(&format, &ctx()).context("unknown format")?;
        let (t, c) = (Instant::now(), thread_cpu());
        let stats = decode_all(dec.as_mut(), &input, BATCH_ROWS);
        best_cpu = best_cpu.min(thread_cpu() - c);
        best = best.min(t.elapsed().as_secs_f64());
        records = stats.rows;
    }
    let catalogue = if format == "kmsg" {
        None
    } else {
        Some(catalogue_only(&input, passes))
    };
    let (rows, counts) = classes(&format, &input)?;
    assert_eq!(rows, records, "the counting pass saw the same rows");
    println!("bytes {}", input.len());
    println!("records {records}");
    println!("seconds {best:.4}");
    println!("mb_per_s {:.1}", input.len() as f64 / best / 1e6);
    println!("cpu_seconds {best_cpu:.4}");
    println!("mb_per_cpu_s {:.1}", input.len() as f64 / best_cpu / 1e6);
    if let Some(t) = catalogue {
        println!("catalogue_cpu_seconds {t:.4}");
        println!("catalogue_mb_per_cpu_s {:.1}", input.len() as f64 / t / 1e6);
    }
    for (class, n) in &counts {
        println!("class {class} {n}");
    }
    Ok(())
}
