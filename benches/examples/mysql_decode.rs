//! The `mysql-slow` decode stage (frame, parse, fingerprint, append to Arrow) over the same
//! corpus as `db_parser`'s `percona-samples`, as a plain binary: for instruction counts
//! under `valgrind --tool=callgrind` (repeatable where wall time on a shared machine is not)
//! and for checking that a change leaves every output value as it was.
//!
//! ```text
//! cargo build --release -p benches --example mysql_decode
//! mysql_decode [--mb N] [--passes N] [--dump FILE]
//! ```
//!
//! `--mb`: corpus size in MiB (default 16, as the bench); `--passes`: decodes of it
//! (default 1); `--dump`: writes every batch of the first pass (each row's values, floats
//! with their bits, strings escaped) to FILE, to diff or hash.
//! Prints bytes, rows and the best pass's MB/s (10^6 bytes per second).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType, UInt64Type};
use benches::decode::BATCH_ROWS;
use serversage_parsers::{Decoder, RecordMeta, SourceContext, decoder::for_format};

fn corpus(bytes: usize) -> Result<Vec<u8>> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/db/percona-slowlogs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| dir.display().to_string())?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let mut log = Vec::new();
    for f in files {
        log.extend_from_slice(&std::fs::read(f)?);
        if !log.ends_with(b"\n") {
            log.push(b'\n');
        }
    }
    let mut out = Vec::with_capacity(bytes + log.len());
    while out.len() < bytes {
        out.extend_from_slice(&log);
    }
    Ok(out)
}

/// Value `row` of `col`, exactly: floats as their bits too, strings escaped.
fn cell(col: &dyn Array, row: usize) -> String {
    if col.is_null(row) {
        return "NULL".into();
    }
    if let Some(a) = col.as_string_opt::<i32>() {
        format!("{:?}", a.value(row))
    } else if let Some(a) = col.as_primitive_opt::<Float64Type>() {
        let v = a.value(row);
        format!("{v:?} ({:#018x})", v.to_bits())
    } else if let Some(a) = col.as_primitive_opt::<UInt64Type>() {
        a.value(row).to_string()
    } else if let Some(a) = col.as_primitive_opt::<TimestampMicrosecondType>() {
        a.value(row).to_string()
    } else if let Some(a) = col.as_map_opt() {
        let entries = a.value(row);
        (0..entries.len())
            .map(|i| {
                let (k, v) = (entries.column(0), entries.column(1));
                format!("{}={}", cell(k.as_ref(), i), cell(v.as_ref(), i))
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        panic!("column type {:?} not dumped", col.data_type())
    }
}

/// Takes the pending batch, writing it to `out`; its rows.
fn take(dec: &mut dyn Decoder, out: Option<&mut impl Write>) -> Result<usize> {
    let Some(b) = dec.finish() else {
        return Ok(0);
    };
    if let Some(o) = out {
        for row in 0..b.num_rows() {
            for (field, col) in b.schema().fields().iter().zip(b.columns()) {
                writeln!(o, "{}: {}", field.name(), cell(col.as_ref(), row))?;
            }
            writeln!(o)?;
        }
    }
    let n = b.num_rows();
    std::hint::black_box(b);
    Ok(n)
}

fn main() -> Result<()> {
    let mut mb = 16usize;
    let mut passes = 1usize;
    let mut dump: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--mb" => mb = value()?.parse()?,
            "--passes" => passes = value()?.parse()?,
            "--dump" => dump = Some(value()?.into()),
            _ => bail!("unknown argument {a}"),
        }
    }
    let input = corpus(mb << 20)?;
    let ctx = SourceContext {
        host: "bench".into(),
        source: "db".into(),
        default_year: 2026,
        ..Default::default()
    };
    let mut out = match &dump {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    let mut best = f64::INFINITY;
    let mut rows = 0usize;
    for pass in 0..passes {
        let started = Instant::now();
        let mut dec = for_format("mysql-slow", &ctx).context("decoder")?;
        let mut pos = 0;
        let mut errors = 0usize;
        rows = 0;
        while pos < input.len() {
            let buf = &input[pos..];
            let len = dec.frame(buf, true).context("frame at EOF")?;
            let meta = RecordMeta {
                offset: pos as u64,
                ingest_ts_us: 1_795_400_000_000_000,
            };
            if let Err(e) = dec.decode(&buf[..len], &meta) {
                errors += 1;
                if let Some(o) = out.as_mut().filter(|_| pass == 0) {
                    writeln!(o, "error at {pos}: {e:?}")?;
                }
            }
            if dec.pending_rows() >= BATCH_ROWS {
                rows += take(dec.as_mut(), out.as_mut().filter(|_| pass == 0))?;
            }
            pos += len;
        }
        rows += take(dec.as_mut(), out.as_mut().filter(|_| pass == 0))?;
        best = best.min(started.elapsed().as_secs_f64());
        if errors > 0 {
            eprintln!("{errors} records did not parse");
        }
    }
    if let Some(mut o) = out {
        o.flush()?;
    }
    println!("bytes {}", input.len());
    println!("rows {rows}");
    println!("mb_per_s {:.1}", input.len() as f64 / best / 1e6);
    Ok(())
}
