//! The decode stage's inner loop, as the pipeline runs it: frame a record, decode it into the
//! kind's Arrow builders, and take a batch every `batch_rows` rows.

use std::io::{self, Read};

use arrow_array::RecordBatch;
use serversage_parsers::{Decoder, ParseError, RecordMeta, SourceContext};

/// Rows a pipeline batch holds before it is handed on.
pub const BATCH_ROWS: usize = 8192;

/// The context the benches decode in: host `bench`, this source name, and 2026 for the
/// forms whose timestamps carry no year.
pub fn bench_context(source: &str) -> SourceContext {
    SourceContext {
        host: "bench".into(),
        source: source.into(),
        default_year: 2026,
        ..Default::default()
    }
}

/// [`bench_context`] with a boot time (a JVM's start for GC logs) at the generated kernel
/// corpus's first wall-clock record, so that boot-relative stamps become the times the
/// generator meant.
pub fn booted_bench_context(source: &str) -> SourceContext {
    SourceContext {
        boot_time_us: Some(crate::corpus::BASE_WALL_US),
        ..bench_context(source)
    }
}

/// What [`decode_all`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Records the framer returned, blank ones included.
    pub framed: u64,
    /// Rows in the batches taken.
    pub rows: u64,
    /// Batches taken.
    pub batches: u64,
    /// Records that did not parse: (offset of the record in the input, the error).
    pub errors: Vec<(u64, ParseError)>,
}

/// Frames, decodes and batches all of `input` (a whole file: the last record ends at EOF).
/// At most the first 100 errors are kept.
pub fn decode_all(dec: &mut dyn Decoder, input: &[u8], batch_rows: usize) -> DecodeStats {
    decode_all_with(dec, input, batch_rows, |batch| {
        std::hint::black_box(batch);
    })
}

/// [`decode_all`], handing every batch taken to `on_batch` (a downstream stage such as a
/// rule set, measured together with the decoding).
pub fn decode_all_with(
    dec: &mut dyn Decoder,
    input: &[u8],
    batch_rows: usize,
    mut on_batch: impl FnMut(RecordBatch),
) -> DecodeStats {
    let mut stats = DecodeStats::default();
    let mut take = |batch: RecordBatch, stats: &mut DecodeStats| {
        stats.rows += batch.num_rows() as u64;
        stats.batches += 1;
        on_batch(batch);
    };
    let mut pos = 0usize;
    while pos < input.len() {
        let buf = &input[pos..];
        let len = dec
            .frame(buf, true)
            .expect("at EOF a non-empty buffer always frames");
        assert!(
            len > 0 && len <= buf.len(),
            "framer returned {len} of {}",
            buf.len()
        );
        let meta = RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 1_795_400_000_000_000,
        };
        stats.framed += 1;
        if let Err(e) = dec.decode(&buf[..len], &meta)
            && stats.errors.len() < 100
        {
            stats.errors.push((pos as u64, e));
        }
        if dec.pending_rows() >= batch_rows
            && let Some(batch) = dec.finish()
        {
            take(batch, &mut stats);
        }
        pos += len;
    }
    if let Some(batch) = dec.finish() {
        take(batch, &mut stats);
    }
    stats
}

/// [`decode_all`] over a reader, in `chunk`-byte reads, carrying partial records between
/// reads as the pipeline's file source does. Memory stays bounded by the chunk size, the
/// longest record and one batch.
pub fn decode_reader(
    dec: &mut dyn Decoder,
    mut input: impl Read,
    chunk: usize,
    batch_rows: usize,
) -> io::Result<DecodeStats> {
    let mut stats = DecodeStats::default();
    let mut buf: Vec<u8> = Vec::with_capacity(chunk * 2);
    let mut start = 0usize; // first unconsumed byte of `buf`
    let mut offset = 0u64; // source offset of `buf[start]`
    let mut eof = false;
    loop {
        while start < buf.len() {
            let Some(len) = dec.frame(&buf[start..], eof) else {
                break;
            };
            assert!(len > 0 && len <= buf.len() - start, "framer returned {len}");
            let meta = RecordMeta {
                offset,
                ingest_ts_us: 1_795_400_000_000_000,
            };
            stats.framed += 1;
            if let Err(e) = dec.decode(&buf[start..start + len], &meta)
                && stats.errors.len() < 100
            {
                stats.errors.push((offset, e));
            }
            if dec.pending_rows() >= batch_rows
                && let Some(batch) = dec.finish()
            {
                stats.rows += batch.num_rows() as u64;
                stats.batches += 1;
                std::hint::black_box(batch);
            }
            start += len;
            offset += len as u64;
        }
        if eof {
            break;
        }
        buf.drain(..start);
        start = 0;
        let old = buf.len();
        buf.resize(old + chunk, 0);
        let n = loop {
            match input.read(&mut buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        buf.truncate(old + n);
        eof = n == 0;
    }
    if let Some(batch) = dec.finish() {
        stats.rows += batch.num_rows() as u64;
        stats.batches += 1;
        std::hint::black_box(batch);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{
        INTERESTING_CLASSES, KernelForm, ORDINARY_CLASSIFIED, expected_classified_share,
        kernel_corpus_vec,
    };
    use serversage_parsers::{SourceContext, decoder::for_format};
    use std::collections::BTreeSet;

    fn ctx() -> SourceContext {
        booted_bench_context("corpus")
    }

    /// The generator's record count is what the decoder produces, with no errors, in
    /// every form and for several seeds.
    #[test]
    fn corpus_records_equal_decoded_rows() {
        for form in KernelForm::ALL {
            for seed in [1, 2, 0xdead_beef] {
                let (buf, stats) = kernel_corpus_vec(2_000_000, form, seed);
                let mut dec = for_format(form.format(), &ctx()).unwrap();
                let got = decode_all(dec.as_mut(), &buf, BATCH_ROWS);
                assert!(
                    got.errors.is_empty(),
                    "{form} seed {seed}: {:?}",
                    &got.errors[..got.errors.len().min(3)]
                );
                assert_eq!(got.framed, stats.records, "{form} seed {seed}");
                assert_eq!(got.rows, stats.records, "{form} seed {seed}");
                assert!(got.batches >= stats.records / BATCH_ROWS as u64);
            }
        }
    }

    /// Reading in small chunks frames and decodes exactly as reading all at once.
    #[test]
    fn streaming_matches_whole_input() {
        for form in KernelForm::ALL {
            let (buf, stats) = kernel_corpus_vec(300_000, form, 9);
            for chunk in [1, 7, 100, 4096, 1 << 20] {
                let mut dec = for_format(form.format(), &ctx()).unwrap();
                let got = decode_reader(dec.as_mut(), &buf[..], chunk, 1000).unwrap();
                assert_eq!(got.framed, stats.records, "{form} chunk {chunk}");
                assert_eq!(got.rows, stats.records, "{form} chunk {chunk}");
                assert!(got.errors.is_empty());
            }
        }
    }

    /// The mix is what the generator promises: the classified share its template rates give
    /// (~1% problems plus the routine events the catalogue names, ~19% in all), exactly the
    /// classes of its classified templates, some multi-line records
    /// (dmesg only), a few non-UTF-8 messages, monotonic time, ~110-byte dmesg lines.
    #[test]
    fn corpus_mix_is_realistic() {
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        use arrow_array::types::TimestampMicrosecondType;

        for form in KernelForm::ALL {
            let (buf, stats) = kernel_corpus_vec(4_000_000, form, 42);
            let mut dec = for_format(form.format(), &ctx()).unwrap();
            let mut pos = 0;
            let (mut classified, mut multi, mut raw, mut rows) = (0u64, 0u64, 0u64, 0u64);
            let mut last_ts = i64::MIN;
            let mut classes = BTreeSet::new();
            while pos < buf.len() {
                let len = dec.frame(&buf[pos..], true).unwrap();
                let meta = RecordMeta {
                    offset: pos as u64,
                    ingest_ts_us: 0,
                };
                dec.decode(&buf[pos..pos + len], &meta).unwrap();
                pos += len;
                if dec.pending_rows() >= BATCH_ROWS || pos == buf.len() {
                    let b = dec.finish().unwrap();
                    rows += b.num_rows() as u64;
                    let ts = b
                        .column_by_name("ts")
                        .unwrap()
                        .as_primitive::<TimestampMicrosecondType>();
                    for t in ts.values() {
                        assert!(*t > last_ts, "{form}: time went backwards");
                        last_ts = *t;
                    }
                    let class = b.column_by_name("class").unwrap().as_string::<i32>();
                    classified += (b.num_rows() - class.null_count()) as u64;
                    classes.extend(class.iter().flatten().map(str::to_string));
                    raw += (b.num_rows() - b.column_by_name("message_raw").unwrap().null_count())
                        as u64;
                    let msg = b.column_by_name("message").unwrap().as_string::<i32>();
                    multi += msg
                        .iter()
                        .filter(|m| m.is_some_and(|m| m.contains('\n')))
                        .count() as u64;
                }
            }
            assert_eq!(rows, stats.records);
            // ~35k records: one standard deviation of the share is ~0.2 points.
            let pct = classified as f64 * 100.0 / rows as f64;
            let expected = expected_classified_share(form) * 100.0;
            assert!(
                (pct - expected).abs() < 1.0,
                "{form}: {pct:.2}% classified, the generator's rates give {expected:.2}%"
            );
            let want: BTreeSet<String> = INTERESTING_CLASSES
                .iter()
                .chain(ORDINARY_CLASSIFIED.iter().map(|(_, c)| c))
                .map(|c| c.to_string())
                .collect();
            assert_eq!(classes, want, "{form}: classes seen");
            assert!(raw > 0, "{form}: no non-UTF-8 message");
            if form == KernelForm::Dmesg {
                assert!(multi > 0, "no multi-line record");
                let lines = buf.iter().filter(|&&b| b == b'\n').count() as f64;
                let avg = buf.len() as f64 / lines;
                assert!(
                    (90.0..130.0).contains(&avg),
                    "average dmesg line {avg:.1} bytes"
                );
            } else {
                assert_eq!(multi, 0);
            }
        }
    }
}
