//! The decode stage: bytes of one source in, Arrow event batches and dead letters out.
//!
//! Framing works on the bytes as read; only a record cut by the end of a read is copied
//! (into `pending`) to wait for the rest. Offsets are tracked for every record, so each
//! emitted batch says how far into the source it reaches.

use serversage_parsers::dead_letter::DeadLetterBuilder;
use serversage_parsers::{
    Decoder, ErrorKind, EventBatch, EventKind, ParseError, RecordMeta, SourceContext, SourceOffset,
};

/// Rows per batch before it is handed to the bus.
pub const BATCH_ROWS: usize = 8192;

/// Counters of one [`DecodeStage::feed`] call, for the pipeline's metrics.
#[derive(Debug, Default, Clone)]
pub struct DecodeCounts {
    /// Events appended.
    pub events: u64,
    /// Records that did not parse, by error kind.
    pub errors: Vec<(ErrorKind, u64)>,
}

impl DecodeCounts {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: DecodeCounts) {
        self.events += other.events;
        for (k, n) in other.errors {
            self.add_errors(k, n);
        }
    }

    fn add_errors(&mut self, kind: ErrorKind, n: u64) {
        match self.errors.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, m)) => *m += n,
            None => self.errors.push((kind, n)),
        }
    }
}

/// Frames, parses and batches the bytes of one source.
pub struct DecodeStage {
    decoder: Box<dyn Decoder>,
    dead: DeadLetterBuilder,
    kind: EventKind,
    source_id: String,
    pending: Vec<u8>,
    /// Source offset of `pending[0]` (or of the next byte when `pending` is empty).
    pending_offset: u64,
    max_record: usize,
    batch_rows: usize,
    /// The last record was cut at `max_record`: its tail, up to the next terminator, is
    /// a dead letter too rather than a bogus event.
    in_oversized: bool,
}

impl DecodeStage {
    /// What the next file of a rotated log continues from ([`Decoder::carry_over`]).
    pub fn carry_over(&self) -> Option<Box<dyn std::any::Any + Send>> {
        self.decoder.carry_over()
    }

    /// Continues from the state of the file this one replaced ([`Decoder::resume`]).
    pub fn resume(&mut self, state: Box<dyn std::any::Any + Send>) {
        self.decoder.resume(state);
    }

    /// A stage for `format`, reading the source identified by `source_id` from `offset`.
    /// `None` when the format is unknown (configuration validation prevents that).
    pub fn new(
        format: &str,
        ctx: &SourceContext,
        source_id: String,
        offset: u64,
        max_record: usize,
    ) -> Option<DecodeStage> {
        let decoder = serversage_parsers::decoder::for_format(format, ctx)?;
        Some(DecodeStage {
            kind: decoder.kind(),
            decoder,
            dead: DeadLetterBuilder::new(ctx.clone(), format),
            source_id,
            pending: Vec::new(),
            pending_offset: offset,
            max_record,
            batch_rows: BATCH_ROWS,
            in_oversized: false,
        })
    }

    /// Offset just past the last framed record: where a restart must resume.
    pub fn framed_offset(&self) -> u64 {
        self.pending_offset
    }

    /// Bytes waiting for the rest of their record.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Feeds the next bytes of the source. With `eof`, a trailing partial record is taken
    /// as complete. Full batches are passed to `emit` as they fill.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        eof: bool,
        now_us: i64,
        emit: &mut dyn FnMut(EventBatch),
    ) -> DecodeCounts {
        let mut counts = DecodeCounts::default();
        if self.pending.is_empty() {
            let used = self.frame_all(bytes, eof, now_us, &mut counts, emit);
            self.pending.extend_from_slice(&bytes[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.pending);
            buf.extend_from_slice(bytes);
            let used = self.frame_all(&buf, eof, now_us, &mut counts, emit);
            buf.drain(..used);
            self.pending = buf;
        }
        counts
    }

    /// Feeds one whole record of a source whose positions are not byte offsets (a
    /// /dev/kmsg record, one `read()`, at its sequence number): its rows get `position` as
    /// their offset, and batches emitted from now on end at `next` (where a restart
    /// resumes). Nothing may be pending from [`DecodeStage::feed`].
    pub fn feed_record(
        &mut self,
        record: &[u8],
        position: u64,
        next: u64,
        now_us: i64,
        emit: &mut dyn FnMut(EventBatch),
    ) -> DecodeCounts {
        debug_assert!(self.pending.is_empty(), "feed_record after a partial feed");
        let mut counts = DecodeCounts::default();
        self.pending.clear();
        self.pending_offset = position;
        // No batch may be cut inside the record: its end would be a byte count, not `next`.
        let batch_rows = std::mem::replace(&mut self.batch_rows, usize::MAX);
        self.frame_all(record, true, now_us, &mut counts, emit);
        self.batch_rows = batch_rows;
        self.pending_offset = next;
        if self.decoder.pending_rows() + self.dead.len() >= self.batch_rows {
            self.flush(emit);
        }
        counts
    }

    fn frame_all(
        &mut self,
        buf: &[u8],
        eof: bool,
        now_us: i64,
        counts: &mut DecodeCounts,
        emit: &mut dyn FnMut(EventBatch),
    ) -> usize {
        let mut pos = 0;
        while pos < buf.len() {
            let rest = &buf[pos..];
            let window = &rest[..rest.len().min(self.max_record)];
            // A window cut at max_record is not the end of the input: no newline in it = oversized.
            let framed = self
                .decoder
                .frame(window, eof && window.len() == rest.len());
            let (len, oversized) = match framed {
                Some(n) if n > 0 => (n, false),
                _ if rest.len() >= self.max_record => (self.max_record, true),
                _ => break,
            };
            let record = &rest[..len];
            if !oversized && !self.in_oversized && record.iter().all(u8::is_ascii_whitespace) {
                // Blank lines separate nothing in these formats: skip, but keep the offset.
                pos += len;
                self.pending_offset += len as u64;
                continue;
            }
            let meta = RecordMeta {
                offset: self.pending_offset,
                ingest_ts_us: now_us,
            };
            let result = if oversized || self.in_oversized {
                let what = if oversized { "piece" } else { "last piece" };
                Err(ParseError::new(
                    ErrorKind::Oversized,
                    len,
                    format!(
                        "record longer than max_record_bytes ({}): {what} of it",
                        self.max_record
                    ),
                ))
            } else {
                self.decoder.decode(record, &meta)
            };
            match result {
                Ok(()) => counts.events += 1,
                Err(e) => {
                    counts.add_errors(e.kind, 1);
                    self.dead.push(record, &meta, &e);
                }
            }
            self.in_oversized = oversized;
            pos += len;
            self.pending_offset += len as u64;
            if self.decoder.pending_rows() + self.dead.len() >= self.batch_rows {
                self.flush(emit);
            }
        }
        pos
    }

    /// Emits whatever rows are built, even if the batch is not full.
    pub fn flush(&mut self, emit: &mut dyn FnMut(EventBatch)) {
        let offsets = vec![SourceOffset {
            source_id: self.source_id.clone(),
            end: self.pending_offset,
        }];
        if let Some(records) = self.decoder.finish() {
            emit(EventBatch {
                kind: self.kind,
                records,
                offsets: offsets.clone(),
            });
        }
        for (kind, records) in self.decoder.finish_side() {
            emit(EventBatch {
                kind,
                records,
                offsets: offsets.clone(),
            });
        }
        if let Some(records) = self.dead.finish() {
            emit(EventBatch {
                kind: EventKind::DeadLetter,
                records,
                offsets,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]], max_record: usize) -> (Vec<EventBatch>, u64) {
        let ctx = SourceContext {
            host: "h".into(),
            source: "s".into(),
            ..Default::default()
        };
        let mut st = DecodeStage::new("kernel", &ctx, "id".into(), 0, max_record).unwrap();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            st.feed(c, i + 1 == chunks.len(), 0, &mut |b| out.push(b));
        }
        st.flush(&mut |b| out.push(b));
        (out, st.framed_offset())
    }

    fn rows(out: &[EventBatch], kind: EventKind) -> usize {
        out.iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.num_rows())
            .sum()
    }

    #[test]
    fn records_split_across_reads_are_joined() {
        let (out, end) = run(
            &[b"[ 1.0] a\n[ 2.", b"0] b\n               c\n[ 3.0] d"],
            4096,
        );
        assert_eq!(rows(&out, EventKind::Kernel), 3);
        assert_eq!(end, 43);
        assert_eq!(out[0].offsets[0].end, 43);
    }

    #[test]
    fn giant_lines_become_bounded_dead_letters() {
        let mut big = vec![b'x'; 10_000];
        big.push(b'\n');
        let (out, end) = run(&[b"[ 1.0] ok\n", &big, b"[ 2.0] ok\n"], 4096);
        assert_eq!(rows(&out, EventKind::Kernel), 2);
        assert_eq!(
            rows(&out, EventKind::DeadLetter),
            3,
            "two 4096-byte pieces and the tail"
        );
        assert_eq!(end, 10 + 10_001 + 10);
    }

    #[test]
    fn whole_records_carry_their_own_positions() {
        let ctx = SourceContext::default();
        let mut st = DecodeStage::new("kmsg", &ctx, "k".into(), 0, 4096).unwrap();
        let mut out = Vec::new();
        st.feed_record(b"6,41,100,-;a\n SUBSYSTEM=x\n", 41, 42, 0, &mut |b| {
            out.push(b)
        });
        st.feed_record(b"not kmsg\n", 42, 43, 0, &mut |b| out.push(b));
        st.flush(&mut |b| out.push(b));
        assert_eq!(rows(&out, EventKind::Kernel), 1);
        assert_eq!(rows(&out, EventKind::DeadLetter), 1);
        assert!(out.iter().all(|b| b.offsets[0].end == 43));
        assert_eq!(st.framed_offset(), 43);
    }

    #[test]
    fn nul_bytes_are_dead_letters_not_crashes() {
        let (out, _) = run(&[b"[ 1.0] a\0b\n[ 2.0] fine\n"], 4096);
        assert_eq!(rows(&out, EventKind::Kernel), 1);
        assert_eq!(rows(&out, EventKind::DeadLetter), 1);
    }
}
