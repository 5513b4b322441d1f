//! The frame/decode/finish loop shared by every fuzz target (`mod harness;` in each), fed in
//! several chunkings, checking the invariants the pipeline relies on:
//!
//! - nothing panics (this includes arithmetic overflow: cargo-fuzz builds with debug
//!   assertions);
//! - framing makes progress: a returned length is > 0 and <= the buffer, and at EOF a
//!   non-empty buffer always frames;
//! - framing does not depend on how the bytes arrive: reading all at once, split at an
//!   arbitrary point, or in small chunks gives the same records with the same outcomes;
//! - a non-blank record either decodes (appending as many rows as the format allows, see
//!   [`Rows`]) or fails with a `ParseError` whose offset lies within the record
//!   (`offset <= len`; `len` means "ended too early") and appends nothing (but for
//!   [`Rows::KeptOnError`] formats); a blank record adds no row;
//! - `finish` returns exactly the rows appended, and `None` when there are none.
//!
//! Input layout: byte 0 picks the small chunk size, bytes 1-2 the split point, the rest is
//! the log bytes.

use serversage_parsers::{Decoder, ErrorKind, RecordMeta, SourceContext, decoder};

/// How many rows one successfully decoded, non-blank record may append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // each target uses one variant
pub enum Rows {
    /// Exactly one (kernel text, kmsg, journald JSON).
    One,
    /// None or one (`dmesg --json`: the header, `,` and `]}` are structural records).
    AtMostOne,
    /// Any number (JVM GC: a JDK 8 line can hold several events; detail lines, statistics
    /// and headers add none, a held-back row is counted when it is appended).
    Any,
    /// Any number, also when the record fails: a container record keeps the rows of its
    /// readable parts and its error names the rest (an .evtx chunk and its records).
    KeptOnError,
}

/// What happened to one framed record.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Blank,
    Rows(usize),
    Error(ErrorKind, usize, usize),
}

/// (offset, length, outcome) of every record, in order.
type Trace = Vec<(usize, usize, Outcome)>;

fn new_decoder(format: &str) -> Box<dyn Decoder> {
    let ctx = SourceContext {
        host: "fuzz".into(),
        source: "fuzz".into(),
        // A real boot time, so that seconds-since-boot stamps take the `boot + uptime` path
        // (and JVM uptimes the `start + uptime` one).
        boot_time_us: Some(1_795_367_440_000_000),
        boot_id: Some("0f3c1a5e-6d1b-4b8e-9a57-2c9f8f0e4b11".into()),
        default_year: 2026,
        ..Default::default()
    };
    decoder::for_format(format, &ctx).unwrap_or_else(|| panic!("no decoder for {format}"))
}

struct Run<'a> {
    dec: Box<dyn Decoder>,
    rows_rule: Rows,
    batch_rows: usize,
    start: usize,
    rows_out: usize,
    trace: Trace,
    input: &'a [u8],
}

impl Run<'_> {
    /// Frames and decodes every complete record at the front of `input[start..end]`.
    fn drain(&mut self, end: usize, eof: bool) {
        let buf = &self.input[..end];
        while self.start < buf.len() {
            let rest = &buf[self.start..];
            let Some(len) = self.dec.frame(rest, eof) else {
                assert!(!eof, "at EOF a non-empty buffer must frame: {rest:?}");
                return;
            };
            assert!(
                len > 0 && len <= rest.len(),
                "framer returned {len} for a buffer of {}",
                rest.len()
            );
            let record = &rest[..len];
            let blank = record.iter().all(u8::is_ascii_whitespace);
            let before = self.dec.pending_rows();
            let meta = RecordMeta {
                offset: self.start as u64,
                ingest_ts_us: 1_795_400_000_000_000,
            };
            let result = self.dec.decode(record, &meta);
            let added = self
                .dec
                .pending_rows()
                .checked_sub(before)
                .expect("pending_rows went down in decode");
            let outcome = match result {
                Ok(()) if blank => {
                    assert_eq!(added, 0, "blank record appended {added} rows");
                    Outcome::Blank
                }
                Ok(()) => {
                    match self.rows_rule {
                        Rows::One => assert_eq!(added, 1, "a record appended {added} rows"),
                        Rows::AtMostOne => assert!(added <= 1, "a record appended {added} rows"),
                        Rows::Any | Rows::KeptOnError => {}
                    }
                    Outcome::Rows(added)
                }
                Err(e) => {
                    assert!(!blank, "blank record failed: {e}");
                    assert!(
                        e.offset <= record.len(),
                        "error offset {} outside the record of {} bytes: {e}",
                        e.offset,
                        record.len()
                    );
                    if self.rows_rule != Rows::KeptOnError {
                        assert_eq!(added, 0, "failed record appended {added} rows: {e}");
                    }
                    Outcome::Error(e.kind, e.offset, added)
                }
            };
            self.trace.push((self.start, len, outcome));
            self.start += len;
            if self.dec.pending_rows() >= self.batch_rows {
                self.take();
            }
        }
    }

    fn take(&mut self) {
        let pending = self.dec.pending_rows();
        let mut got = match self.dec.finish() {
            Some(batch) => {
                assert!(batch.num_rows() > 0, "finish returned an empty batch");
                batch.num_rows()
            }
            None => 0,
        };
        // Decoders that also write a side table (PostgreSQL: db_events) count its rows too.
        for (kind, batch) in self.dec.finish_side() {
            assert!(self.dec.side_kinds().contains(&kind), "{kind:?} is not a side kind");
            assert!(batch.num_rows() > 0, "finish_side returned an empty batch");
            got += batch.num_rows();
        }
        assert_eq!(got, pending, "finish and finish_side returned {got} rows for {pending}");
        self.rows_out += pending;
        assert_eq!(self.dec.pending_rows(), 0);
    }
}

/// Feeds `input` in the pieces that `cuts` (increasing offsets) delimit, EOF after the last.
fn run(format: &str, rows_rule: Rows, input: &[u8], cuts: &[usize], batch_rows: usize) -> Trace {
    let mut r = Run {
        dec: new_decoder(format),
        rows_rule,
        batch_rows,
        start: 0,
        rows_out: 0,
        trace: Trace::new(),
        input,
    };
    for &cut in cuts {
        r.drain(cut, false);
    }
    r.drain(input.len(), true);
    assert_eq!(r.start, input.len(), "input not consumed at EOF");
    r.take();
    let expected_rows: usize = r
        .trace
        .iter()
        .map(|t| match t.2 {
            Outcome::Rows(n) | Outcome::Error(_, _, n) => n,
            Outcome::Blank => 0,
        })
        .sum();
    assert_eq!(r.rows_out, expected_rows);
    r.trace
}

/// The whole check for one fuzz input (layout in the module docs).
pub fn check(format: &str, rows_rule: Rows, data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let chunk = usize::from(data[0] % 32) + 1;
    let split_sel = usize::from(u16::from_le_bytes([data[1], data[2]]));
    let input = &data[3..];
    let split = split_sel % (input.len() + 1);

    // All at once, with EOF; batches of one row, so every record goes through `finish`.
    let whole = run(format, rows_rule, input, &[], 1);
    // Split at an arbitrary point.
    let halves = run(format, rows_rule, input, &[split], 8192);
    assert_eq!(whole, halves, "split at {split} changed the records");
    // In small chunks, as a slow tailer would read them.
    let cuts: Vec<usize> = (chunk..input.len()).step_by(chunk).collect();
    let chunks = run(format, rows_rule, input, &cuts, 3);
    assert_eq!(whole, chunks, "chunks of {chunk} changed the records");
}
