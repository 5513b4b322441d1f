//! Arbitrary bytes through the kernel decoder's frame/decode/finish loop, fed in several
//! chunkings, checking the invariants the pipeline relies on:
//!
//! - nothing panics (this includes arithmetic overflow: cargo-fuzz builds with debug
//!   assertions);
//! - framing makes progress: a returned length is > 0 and <= the buffer, and at EOF a
//!   non-empty buffer always frames;
//! - framing does not depend on how the bytes arrive: reading all at once, split at an
//!   arbitrary point, or in small chunks gives the same records;
//! - a non-blank record either decodes (one row) or fails with a `ParseError` whose offset
//!   lies within the record (`offset <= len`; `len` means "ended too early"); a blank
//!   record adds no row;
//! - `finish` returns exactly the rows appended, and `None` when there are none.
//!
//! Input layout: byte 0 picks the small chunk size, bytes 1-2 the split point, the rest is
//! the log text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serversage_parsers::{Decoder, ErrorKind, RecordMeta, SourceContext, decoder};

/// What happened to one framed record.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Blank,
    Row,
    Error(ErrorKind, usize),
}

/// (offset, length, outcome) of every record, in order.
type Trace = Vec<(usize, usize, Outcome)>;

fn new_decoder() -> Box<dyn Decoder> {
    let ctx = SourceContext {
        host: "fuzz".into(),
        source: "fuzz".into(),
        // A real boot time, so that seconds-since-boot stamps take the `boot + uptime` path.
        boot_time_us: Some(1_795_367_440_000_000),
        boot_id: Some("0f3c1a5e-6d1b-4b8e-9a57-2c9f8f0e4b11".into()),
        default_year: 2026,
    };
    decoder::for_format("kernel", &ctx).expect("kernel decoder")
}

/// Frames and decodes every complete record at the front of `buf[*start..]`.
fn drain(
    dec: &mut dyn Decoder,
    buf: &[u8],
    start: &mut usize,
    eof: bool,
    batch_rows: usize,
    rows_out: &mut usize,
    trace: &mut Trace,
) {
    while *start < buf.len() {
        let rest = &buf[*start..];
        let Some(len) = dec.frame(rest, eof) else {
            assert!(!eof, "at EOF a non-empty buffer must frame: {rest:?}");
            return;
        };
        assert!(
            len > 0 && len <= rest.len(),
            "framer returned {len} for a buffer of {}",
            rest.len()
        );
        let record = &rest[..len];
        let before = dec.pending_rows();
        let meta = RecordMeta {
            offset: *start as u64,
            ingest_ts_us: 1_795_400_000_000_000,
        };
        let outcome = match dec.decode(record, &meta) {
            Ok(()) if record.iter().all(u8::is_ascii_whitespace) => Outcome::Blank,
            Ok(()) => Outcome::Row,
            Err(e) => {
                assert!(
                    !record.iter().all(u8::is_ascii_whitespace),
                    "blank record failed: {e}"
                );
                assert!(
                    e.offset <= record.len(),
                    "error offset {} outside the record of {} bytes: {e}",
                    e.offset,
                    record.len()
                );
                Outcome::Error(e.kind, e.offset)
            }
        };
        let added = dec.pending_rows() - before;
        let expected = usize::from(outcome == Outcome::Row);
        assert_eq!(added, expected, "{outcome:?} appended {added} rows");
        trace.push((*start, len, outcome));
        *start += len;
        if dec.pending_rows() >= batch_rows {
            take(dec, rows_out);
        }
    }
}

fn take(dec: &mut dyn Decoder, rows_out: &mut usize) {
    let pending = dec.pending_rows();
    match dec.finish() {
        Some(batch) => {
            assert_eq!(batch.num_rows(), pending);
            assert!(pending > 0, "finish returned an empty batch");
            *rows_out += pending;
        }
        None => assert_eq!(pending, 0, "finish returned nothing for {pending} rows"),
    }
    assert_eq!(dec.pending_rows(), 0);
}

/// Feeds `input` in the pieces that `cuts` (increasing offsets) delimit, EOF after the last.
fn run(input: &[u8], cuts: &[usize], batch_rows: usize) -> Trace {
    let mut dec = new_decoder();
    let mut trace = Trace::new();
    let mut rows = 0;
    let mut start = 0;
    for &cut in cuts {
        drain(
            dec.as_mut(),
            &input[..cut],
            &mut start,
            false,
            batch_rows,
            &mut rows,
            &mut trace,
        );
    }
    drain(
        dec.as_mut(),
        input,
        &mut start,
        true,
        batch_rows,
        &mut rows,
        &mut trace,
    );
    assert_eq!(start, input.len(), "input not consumed at EOF");
    take(dec.as_mut(), &mut rows);
    let expected_rows = trace.iter().filter(|t| t.2 == Outcome::Row).count();
    assert_eq!(rows, expected_rows);
    trace
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let chunk = usize::from(data[0] % 32) + 1;
    let split_sel = usize::from(u16::from_le_bytes([data[1], data[2]]));
    let input = &data[3..];
    let split = split_sel % (input.len() + 1);

    // All at once, with EOF; batches of one row, so every record goes through `finish`.
    let whole = run(input, &[], 1);
    // Split at an arbitrary point.
    let halves = run(input, &[split], 8192);
    assert_eq!(whole, halves, "split at {split} changed the records");
    // In small chunks, as a slow tailer would read them.
    let cuts: Vec<usize> = (chunk..input.len()).step_by(chunk).collect();
    let chunks = run(input, &cuts, 3);
    assert_eq!(whole, chunks, "chunks of {chunk} changed the records");
});
