//! `serversage parse`: a tap for debugging a source: events as JSON lines on stdout,
//! malformed records with their offset and reason on stderr.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serversage_parsers::{EventBatch, EventKind, SourceContext};

use crate::decode::DecodeStage;

/// Arguments of `serversage parse`.
#[derive(Args, Debug)]
pub struct ParseArgs {
    /// Format of the files (`serversage formats`).
    #[arg(long, short)]
    format: String,
    /// Host column for the events.
    #[arg(long, default_value = "auto")]
    host: String,
    /// Boot time (RFC 3339) for seconds-since-boot timestamps, or "host".
    #[arg(long)]
    boot_time: Option<String>,
    /// Exit with status 1 if any record is malformed.
    #[arg(long)]
    strict: bool,
    /// Files to parse ("-" for standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs the tap.
pub fn run(a: ParseArgs) -> anyhow::Result<ExitCode> {
    serversage_parsers::decoder::kind_of(&a.format)
        .with_context(|| format!("unknown format `{}` (see `serversage formats`)", a.format))?;
    let host = if a.host == "auto" {
        crate::host::hostname()
    } else {
        a.host.clone()
    };
    let boot_time_us = super::parse_boot_time(a.boot_time.as_deref(), "--boot-time")?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut malformed = 0u64;
    for file in &a.files {
        let name = file.display().to_string();
        let ctx = SourceContext {
            host: host.clone(),
            source: name.clone(),
            boot_time_us,
            boot_id: None,
            default_year: chrono::Datelike::year(&chrono::Utc::now()),
            options: Default::default(),
            kernel_catalogue: None,
        };
        let mut input: Box<dyn Read> = if name == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::fs::File::open(file).with_context(|| format!("{name}: cannot open"))?)
        };
        let mut stage = DecodeStage::new(&a.format, &ctx, name.clone(), 0, 1024 * 1024)
            .expect("format checked above");
        let mut batches: Vec<EventBatch> = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        let now = crate::host::now_us();
        loop {
            let n = input
                .read(&mut buf)
                .with_context(|| format!("{name}: read failed"))?;
            stage.feed(&buf[..n], n == 0, now, &mut |b| batches.push(b));
            for b in batches.drain(..) {
                malformed += print_batch(&b, &name, &mut out)?;
            }
            if n == 0 {
                break;
            }
        }
        stage.flush(&mut |b| batches.push(b));
        for b in batches.drain(..) {
            malformed += print_batch(&b, &name, &mut out)?;
        }
    }
    out.flush()?;
    if malformed > 0 {
        eprintln!("{malformed} malformed record(s)");
    }
    Ok(if a.strict && malformed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints events as JSON lines; reports dead letters on stderr. Returns the dead letters' count.
fn print_batch(b: &EventBatch, file: &str, out: &mut impl Write) -> anyhow::Result<u64> {
    if b.kind != EventKind::DeadLetter {
        let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
        w.write(&b.records)?;
        w.finish()?;
        return Ok(0);
    }
    use arrow::array::{AsArray, RecordBatch};
    use arrow::datatypes::UInt64Type;
    let r: &RecordBatch = &b.records;
    let offsets = r
        .column_by_name("source_offset")
        .expect("dead_letters.source_offset")
        .as_primitive::<UInt64Type>();
    let reasons = r
        .column_by_name("reason")
        .expect("dead_letters.reason")
        .as_string::<i32>();
    for i in 0..r.num_rows() {
        eprintln!("{file}: offset {}: {}", offsets.value(i), reasons.value(i));
    }
    Ok(r.num_rows() as u64)
}
