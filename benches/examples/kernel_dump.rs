//! Every column of every row the kernel decoder writes for a file, as text: run it before
//! and after a change to the decoder and compare the outputs (`cmp`), to show the change
//! kept every value, null and batch boundary.
//!
//! ```text
//! kernel_dump FILE [--format kernel|kmsg|dmesg-json|journald-json] [--batch-rows N] > dump
//! ```
//!
//! One `batch N` line per batch, then one line per row: the columns' values, tab-separated,
//! `-` for null (strings and bytes shown with `{:?}`, facts as `{k: v, ...}`).

use std::io::{BufWriter, Write};

use anyhow::{Context, Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use benches::decode::booted_bench_context;
use serversage_parsers::{RecordMeta, SourceContext, decoder};

fn ctx() -> SourceContext {
    booted_bench_context("kernel")
}

fn value(col: &ArrayRef, i: usize) -> String {
    if col.is_null(i) {
        return "-".into();
    }
    if let Some(a) = col.as_primitive_opt::<TimestampMicrosecondType>() {
        a.value(i).to_string()
    } else if let Some(a) = col.as_primitive_opt::<UInt64Type>() {
        a.value(i).to_string()
    } else if let Some(a) = col.as_primitive_opt::<Float64Type>() {
        format!("{:?}", a.value(i))
    } else if let Some(a) = col.as_string_opt::<i32>() {
        format!("{:?}", a.value(i))
    } else if let Some(a) = col.as_binary_opt::<i32>() {
        format!("{:?}", a.value(i))
    } else if let Some(a) = col.as_map_opt() {
        let entries = a.value(i);
        let (k, v) = (entries.column(0), entries.column(1));
        let kv: Vec<String> = (0..entries.len())
            .map(|j| format!("{}: {}", value(k, j), value(v, j)))
            .collect();
        format!("{{{}}}", kv.join(", "))
    } else {
        panic!("no dump for {}", col.data_type())
    }
}

fn dump(out: &mut impl Write, n: &mut usize, batch: &RecordBatch) -> Result<()> {
    writeln!(out, "batch {n} rows {}", batch.num_rows())?;
    *n += 1;
    for i in 0..batch.num_rows() {
        let row: Vec<String> = batch.columns().iter().map(|c| value(c, i)).collect();
        writeln!(out, "{}", row.join("\t"))?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut file, mut format, mut batch_rows) = (None, "kernel".to_string(), 8192usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--format" => format = args.next().context("--format needs a value")?,
            "--batch-rows" => batch_rows = args.next().context("a count")?.parse()?,
            f if file.is_none() => file = Some(f.to_string()),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    let file = file.context("usage: kernel_dump FILE [--format F] [--batch-rows N]")?;
    let input = std::fs::read(&file).with_context(|| format!("reading {file}"))?;
    let mut dec = decoder::for_format(&format, &ctx()).context("unknown format")?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let (mut pos, mut batches) = (0, 0);
    while pos < input.len() {
        let len = dec.frame(&input[pos..], true).context("framing at EOF")?;
        let meta = RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 1_795_400_000_000_000 + pos as i64,
        };
        if let Err(e) = dec.decode(&input[pos..pos + len], &meta) {
            writeln!(out, "error at {pos}: {e}")?;
        }
        if dec.pending_rows() >= batch_rows
            && let Some(b) = dec.finish()
        {
            dump(&mut out, &mut batches, &b)?;
        }
        pos += len;
    }
    if let Some(b) = dec.finish() {
        dump(&mut out, &mut batches, &b)?;
    }
    Ok(())
}
