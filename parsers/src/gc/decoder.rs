//! Appends GC events to `gc_events` Arrow columns, carrying per-GC-id detail state.

use std::sync::Arc;

use arrow_array::builder::ArrayBuilder;
use arrow_array::builder::PrimitiveBuilder;
use arrow_array::builder::{
    BooleanBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::types::{ArrowPrimitiveType, Float64Type, UInt64Type};
use arrow_array::{ArrayRef, PrimitiveArray, RecordBatch};
use memchr::memchr;

use super::legacy::Legacy;
use super::unified::{
    Area, Message, Region, parse_decorations_in, parse_message, parse_message_str,
};
use super::{CpuTimes, GcEvent, Transition, frame, is_unified_line, parse_legacy};
use crate::builders::ts_builder;
use crate::decoder::{Decoder, RecordMeta, SourceContext};
use crate::error::{ErrorKind, ParseError};
use crate::event::EventKind;
use crate::schema;
use crate::text::trim_eol;

/// Sizes logged on detail lines of the GC id being collected (unified logging).
#[derive(Debug, Default, Clone)]
struct Detail {
    gc_id: Option<u64>,
    young: Transition,
    old: Transition,
    metaspace: Transition,
    eden: Transition,
    survivor: Transition,
    old_regions: Transition,
    humongous: Transition,
}

/// The CPU columns of the latest row, held back until the next row (or `finish`) so that a
/// following `User=.. Sys=.. Real=..` line of the same GC id can fill them. Every other
/// column of a row is appended at once: nothing of the row is copied or kept.
#[derive(Debug, Clone, Copy)]
struct HeldTimes {
    gc_id: Option<u64>,
    times: Option<CpuTimes>,
}

/// A nullable number column whose nulls are appended in runs: most rows leave most size and
/// CPU columns null, and one `append_nulls` per run costs less than a null bit per row. The
/// arrays are the same.
struct Col<T: ArrowPrimitiveType> {
    b: PrimitiveBuilder<T>,
    /// Nulls not yet appended, after the last value.
    nulls: usize,
}

impl<T: ArrowPrimitiveType> Col<T> {
    fn new() -> Self {
        Col {
            b: PrimitiveBuilder::new(),
            nulls: 0,
        }
    }

    #[inline]
    fn append_option(&mut self, v: Option<T::Native>) {
        match v {
            Some(v) => {
                if self.nulls > 0 {
                    self.b.append_nulls(self.nulls);
                    self.nulls = 0;
                }
                self.b.append_value(v);
            }
            None => self.nulls += 1,
        }
    }

    fn finish(&mut self) -> PrimitiveArray<T> {
        if self.nulls > 0 {
            self.b.append_nulls(self.nulls);
            self.nulls = 0;
        }
        self.b.finish()
    }
}

/// Occupancy after the previous GC of one JVM, for `allocated_bytes`.
#[derive(Debug, Default, Clone)]
struct AfterGc {
    /// The `pid` decoration, empty when the log has none (the JVM is the source).
    jvm: Vec<u8>,
    heap: Option<u64>,
    young: Option<u64>,
}

/// JVMs remembered per source for `allocated_bytes` (a log names one JVM, or a few when
/// several share a file with `pid` decorations); the oldest is forgotten beyond this.
const MAX_JVMS: usize = 64;

/// What a rotated log's next file continues from ([`Decoder::carry_over`]).
#[derive(Debug, Clone)]
struct Carried {
    collector: Option<&'static str>,
    region_size: Option<u64>,
    detail: Detail,
    after_gc: Vec<AfterGc>,
    last_wall_us: Option<i64>,
    last_uptime_us: Option<i64>,
    last_pid: String,
}

/// Decoder for the `jvm-gc` format.
pub struct GcDecoder {
    ctx: SourceContext,
    /// Per JVM, the sizes after its previous GC, most recently used last.
    after_gc: Vec<AfterGc>,
    /// Time decorations / stamps of the latest line that had any, for lines without
    /// (OutOfMemoryError printed by the JVM between GC lines).
    last_wall_us: Option<i64>,
    last_uptime_us: Option<i64>,
    /// `pid` decoration of the latest line that had one.
    last_pid: String,
    collector: Option<&'static str>,
    region_size: Option<u64>,
    detail: Detail,
    in_stats: bool,
    /// The CPU columns of the latest row, not yet appended.
    pending: Option<HeldTimes>,
    rows: usize,
    ts: TimestampMicrosecondBuilder,
    host: StringBuilder,
    source: StringBuilder,
    ingest_ts: TimestampMicrosecondBuilder,
    offset: UInt64Builder,
    clock: StringBuilder,
    uptime: Col<Float64Type>,
    jvm: StringBuilder,
    collector_col: StringBuilder,
    gc_id: Col<UInt64Type>,
    kind: StringBuilder,
    phase: StringBuilder,
    cause: StringBuilder,
    stw: BooleanBuilder,
    duration: Col<Float64Type>,
    heap_before: Col<UInt64Type>,
    heap_after: Col<UInt64Type>,
    heap_capacity: Col<UInt64Type>,
    young_before: Col<UInt64Type>,
    young_after: Col<UInt64Type>,
    old_before: Col<UInt64Type>,
    old_after: Col<UInt64Type>,
    meta_before: Col<UInt64Type>,
    meta_after: Col<UInt64Type>,
    allocated: Col<UInt64Type>,
    promoted: Col<UInt64Type>,
    user: Col<Float64Type>,
    sys: Col<Float64Type>,
    real: Col<Float64Type>,
    message: StringBuilder,
}

/// True when `inner` is a slice of `outer` (event fields borrowed from the record; a field
/// from anywhere else is not written).
fn inside(outer: &[u8], inner: &str) -> bool {
    (inner.as_ptr() as usize)
        .checked_sub(outer.as_ptr() as usize)
        .is_some_and(|start| start + inner.len() <= outer.len())
}

impl GcDecoder {
    /// A decoder for one source (one JVM's log).
    pub fn new(ctx: SourceContext) -> Self {
        GcDecoder {
            ctx,
            after_gc: Vec::new(),
            last_wall_us: None,
            last_uptime_us: None,
            last_pid: String::new(),
            collector: None,
            region_size: None,
            detail: Detail::default(),
            in_stats: false,
            pending: None,
            rows: 0,
            ts: ts_builder(),
            host: StringBuilder::new(),
            source: StringBuilder::new(),
            ingest_ts: ts_builder(),
            offset: UInt64Builder::new(),
            clock: StringBuilder::new(),
            uptime: Col::new(),
            jvm: StringBuilder::new(),
            collector_col: StringBuilder::new(),
            gc_id: Col::new(),
            kind: StringBuilder::new(),
            phase: StringBuilder::new(),
            cause: StringBuilder::new(),
            stw: BooleanBuilder::new(),
            duration: Col::new(),
            heap_before: Col::new(),
            heap_after: Col::new(),
            heap_capacity: Col::new(),
            young_before: Col::new(),
            young_after: Col::new(),
            old_before: Col::new(),
            old_after: Col::new(),
            meta_before: Col::new(),
            meta_after: Col::new(),
            allocated: Col::new(),
            promoted: Col::new(),
            user: Col::new(),
            sys: Col::new(),
            real: Col::new(),
            message: StringBuilder::new(),
        }
    }

    /// Appends an event as a row (after the CPU columns of the previous one). `whole` is
    /// `text` when already checked as UTF-8.
    fn push(&mut self, text: &[u8], whole: Option<&str>, ev: &GcEvent<'_>, meta: &RecordMeta) {
        self.flush();
        // An OutOfMemoryError printed by the JVM on its stdout has no time of its own.
        let undated = ev.kind == "out_of_memory" && ev.wall_us.is_none() && ev.uptime_us.is_none();
        let (ts, clock) = match (ev.wall_us, ev.uptime_us, self.ctx.boot_time_us) {
            (Some(w), _, _) => (w, "wall"),
            (None, Some(up), Some(start)) if start.checked_add(up).is_some() => {
                (start + up, "jvm_start")
            }
            // It takes the time of the latest line that had one, printed just before.
            _ if undated => match (
                self.last_wall_us,
                self.last_uptime_us,
                self.ctx.boot_time_us,
            ) {
                (Some(w), _, _) => (w, "preceding"),
                (None, Some(up), Some(start)) if start.checked_add(up).is_some() => {
                    (start + up, "preceding")
                }
                _ => (meta.ingest_ts_us, "ingest"),
            },
            _ => (meta.ingest_ts_us, "ingest"),
        };
        let host = ev.host.filter(|h| inside(text, h));
        let pid = ev.pid.filter(|p| inside(text, p));
        // The JVM when the line does not name it but a preceding line did (OutOfMemoryError
        // lines of the JVM's stdout in a log decorated with `pid`).
        let pid_before = pid.is_none() && ev.pid.is_none() && undated;
        let cause = ev.cause.filter(|c| inside(text, c));
        let mut young = ev.young;
        let mut old = ev.old;
        let mut metaspace = ev.metaspace;
        // Sizes from this GC id's detail lines go on its first row with a heap transition.
        if ev.gc_id.is_some() && ev.gc_id == self.detail.gc_id && !ev.heap.is_empty() {
            let d = std::mem::take(&mut self.detail);
            let rs = self.region_size;
            let regions = |a: Transition, b: Transition| -> Transition {
                match rs {
                    Some(rs) if !a.is_empty() => Transition {
                        before: a.before.map(|x| (x + b.before.unwrap_or(0)) * rs),
                        after: a.after.map(|x| (x + b.after.unwrap_or(0)) * rs),
                        capacity: None,
                    },
                    _ => Transition::default(),
                }
            };
            young = young.or(d.young).or(regions(d.eden, d.survivor));
            old = old.or(d.old).or(regions(d.old_regions, d.humongous));
            metaspace = metaspace.or(d.metaspace);
        }
        let key: &[u8] = match pid {
            Some(p) => p.as_bytes(),
            None if pid_before => self.last_pid.as_bytes(),
            None => b"",
        };
        let (allocated, promoted) = rates(&mut self.after_gc, key, ev.kind, ev.heap, young, old);

        self.ts.append_value(ts);
        match host {
            Some(h) => self.host.append_value(h),
            None => self.host.append_value(&self.ctx.host),
        }
        self.source.append_value(&self.ctx.source);
        self.ingest_ts.append_value(meta.ingest_ts_us);
        self.offset.append_value(meta.offset);
        self.clock.append_value(clock);
        self.uptime
            .append_option(ev.uptime_us.map(|u| u as f64 / 1e6));
        match pid {
            Some(j) => self.jvm.append_value(j),
            None if pid_before && !self.last_pid.is_empty() => {
                self.jvm.append_value(&self.last_pid)
            }
            None => self.jvm.append_value(&self.ctx.source),
        }
        self.collector_col
            .append_option(ev.collector.or(self.collector));
        self.gc_id.append_option(ev.gc_id);
        self.kind.append_value(ev.kind);
        self.phase.append_value(ev.phase);
        self.cause.append_option(cause);
        self.stw.append_option(ev.stop_the_world);
        self.duration.append_option(ev.duration_s);
        self.heap_before.append_option(ev.heap.before);
        self.heap_after.append_option(ev.heap.after);
        self.heap_capacity.append_option(ev.heap.capacity);
        self.young_before.append_option(young.before);
        self.young_after.append_option(young.after);
        self.old_before.append_option(old.before);
        self.old_after.append_option(old.after);
        self.meta_before.append_option(metaspace.before);
        self.meta_after.append_option(metaspace.after);
        self.allocated.append_option(allocated);
        self.promoted.append_option(promoted);
        // Invalid bytes (JDK 8 records are checked, unified decorations only one by one)
        // make a lossy copy.
        match whole.or_else(|| std::str::from_utf8(text).ok()) {
            Some(t) => self.message.append_value(t),
            None => self.message.append_value(String::from_utf8_lossy(text)),
        }
        self.pending = Some(HeldTimes {
            gc_id: ev.gc_id,
            times: ev.times,
        });
        self.rows += 1;
    }

    /// Appends the CPU columns of the latest row.
    fn flush(&mut self) {
        let Some(held) = self.pending.take() else {
            return;
        };
        self.user.append_option(held.times.map(|t| t.user));
        self.sys.append_option(held.times.map(|t| t.sys));
        self.real.append_option(held.times.map(|t| t.real));
    }

    fn decode_unified(&mut self, line: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        // One UTF-8 check for the line; decorations and message are then slices of it.
        let whole = std::str::from_utf8(line).ok();
        let (d, at) = parse_decorations_in(line, whole)?;
        if d.wall_us.is_some() || d.uptime().is_some() {
            self.last_wall_us = d.wall_us;
            self.last_uptime_us = d.uptime();
        }
        if let Some(pid) = d.pid
            && pid != self.last_pid
        {
            self.last_pid.clear();
            self.last_pid.push_str(pid);
        }
        let msg = match whole {
            Some(w) => parse_message_str(&w[at..], &d),
            None => parse_message(line, at, &d),
        };
        if !matches!(
            msg,
            Message::StatsStart | Message::Unknown | Message::Known | Message::Truncated
        ) {
            self.in_stats = false;
        }
        match msg {
            Message::Event(ev) => {
                if ev.gc_id.is_some() {
                    self.in_stats = false;
                }
                // A collector told by an event's name holds for the rest of the file (a
                // rotated log's later files have no `Using ...` banner).
                if self.collector.is_none() && ev.kind != "safepoint" {
                    self.collector = ev.collector;
                }
                self.push(line, whole, &ev, meta);
            }
            Message::Sizes {
                gc_id,
                area,
                t,
                collector,
            } => {
                self.detail_for(gc_id);
                if self.collector.is_none() {
                    self.collector = collector;
                }
                let slot = match area {
                    Area::Young => &mut self.detail.young,
                    Area::Old => &mut self.detail.old,
                    Area::Metaspace => &mut self.detail.metaspace,
                };
                *slot = t;
            }
            Message::Regions { gc_id, which, t } => {
                self.detail_for(gc_id);
                let slot = match which {
                    Region::Eden => &mut self.detail.eden,
                    Region::Survivor => &mut self.detail.survivor,
                    Region::Old => &mut self.detail.old_regions,
                    Region::Humongous => &mut self.detail.humongous,
                };
                *slot = t;
            }
            Message::RegionSize(v) => self.region_size = Some(v),
            Message::Collector(c) => {
                // `Using G1` starts a JVM's log: sizes after an earlier JVM's GCs (a file
                // that had this path) are not this one's.
                self.collector = Some(c);
                self.after_gc.clear();
            }
            Message::Cpu { gc_id, times } => {
                if let Some(p) = self.pending.as_mut()
                    && p.gc_id == Some(gc_id)
                    && p.times.is_none()
                {
                    p.times = Some(times);
                }
            }
            Message::StatsStart => self.in_stats = true,
            Message::Truncated => {
                return Err(ParseError::new(
                    ErrorKind::Truncated,
                    line.len(),
                    "GC event line cut short (unbalanced parentheses)",
                ));
            }
            Message::Known => {}
            Message::Unknown => {
                let gc_line = d
                    .tags
                    .is_some_and(|t| t.starts_with("gc") || t.starts_with("safepoint"));
                if !(self.in_stats && (gc_line || d.tags.is_none())) {
                    return Err(ParseError::new(
                        ErrorKind::Malformed,
                        at,
                        "unrecognised unified-logging GC message",
                    ));
                }
            }
        }
        Ok(())
    }

    fn detail_for(&mut self, gc_id: u64) {
        if self.detail.gc_id != Some(gc_id) {
            self.detail = Detail {
                gc_id: Some(gc_id),
                ..Default::default()
            };
        }
    }
}

/// `allocated_bytes` and `promoted_bytes` of a row whose sizes are final, with `after_gc`
/// (per JVM, `key` its `pid`) updated to this GC.
fn rates(
    after_gc: &mut Vec<AfterGc>,
    key: &[u8],
    kind: &str,
    heap: Transition,
    young: Transition,
    old: Transition,
) -> (Option<u64>, Option<u64>) {
    if heap.before.is_none() && young.before.is_none() {
        return (None, None);
    }
    // Promoted: what the old generation gained in a young (or mixed) pause; from the
    // heap and young totals when the old generation is not logged (JDK 8 ParNew /
    // PSYoungGen lines): (heap - young) after minus (heap - young) before.
    let mut promoted = None;
    if matches!(kind, "young" | "mixed") {
        promoted = match (old.before, old.after) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b)),
            _ => match (heap.before, heap.after, young.before, young.after) {
                (Some(hb), Some(ha), Some(yb), Some(ya)) => {
                    let old_before = i128::from(hb) - i128::from(yb);
                    let old_after = i128::from(ha) - i128::from(ya);
                    Some((old_after - old_before).max(0) as u64)
                }
                _ => None,
            },
        };
    }
    // Allocated: this GC's before minus the previous GC's after, per JVM.
    // Most logs have one JVM: the last entry, without a call to memcmp.
    let same = |a: &AfterGc| a.jvm.len() == key.len() && (key.is_empty() || a.jvm == key);
    let found = match after_gc.last() {
        Some(a) if same(a) => Some(after_gc.len() - 1),
        _ => after_gc.iter().rposition(same),
    };
    let i = match found {
        Some(i) => i,
        None => {
            if after_gc.len() >= MAX_JVMS {
                after_gc.remove(0);
            }
            after_gc.push(AfterGc {
                jvm: key.to_vec(),
                ..Default::default()
            });
            after_gc.len() - 1
        }
    };
    let prev = &mut after_gc[i];
    let diff = |now: Option<u64>, before: Option<u64>| -> Option<i128> {
        Some(i128::from(now?) - i128::from(before?))
    };
    // Young generation when both GCs logged it (what the application allocated goes
    // there), else the whole heap. A negative difference (the heap shrank between two
    // GCs, as when a concurrent phase freed memory) tells nothing: null.
    let d = diff(young.before, prev.young).or_else(|| diff(heap.before, prev.heap));
    let allocated = d.filter(|d| *d >= 0).map(|d| d as u64);
    if heap.after.is_some() || young.after.is_some() {
        prev.heap = heap.after;
        prev.young = young.after;
    }
    (allocated, promoted)
}

impl Decoder for GcDecoder {
    fn kind(&self) -> EventKind {
        EventKind::Gc
    }

    fn frame(&self, buf: &[u8], eof: bool) -> Option<usize> {
        frame(buf, eof)
    }

    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        if record.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if let Some(nul) = memchr(0, record) {
            return Err(ParseError::new(
                ErrorKind::NulByte,
                nul,
                "NUL byte in a text record",
            ));
        }
        let line = trim_eol(record);
        if is_unified_line(line) {
            return self.decode_unified(line, meta);
        }
        match parse_legacy(record, self.in_stats)? {
            Legacy::Events(evs) => {
                self.in_stats = false;
                if let Some(ev) = evs.iter().next()
                    && (ev.wall_us.is_some() || ev.uptime_us.is_some())
                {
                    self.last_wall_us = ev.wall_us;
                    self.last_uptime_us = ev.uptime_us;
                }
                for ev in evs.iter() {
                    if ev.collector.is_some() && self.collector.is_none() && ev.kind != "safepoint"
                    {
                        self.collector = ev.collector;
                    }
                    self.push(line, None, ev, meta);
                }
            }
            Legacy::StatsStart => self.in_stats = true,
            Legacy::Known => {}
        }
        Ok(())
    }

    fn pending_rows(&self) -> usize {
        self.rows
    }

    fn carry_over(&self) -> Option<Box<dyn std::any::Any + Send>> {
        Some(Box::new(Carried {
            collector: self.collector,
            region_size: self.region_size,
            detail: self.detail.clone(),
            after_gc: self.after_gc.clone(),
            last_wall_us: self.last_wall_us,
            last_uptime_us: self.last_uptime_us,
            last_pid: self.last_pid.clone(),
        }))
    }

    fn resume(&mut self, state: Box<dyn std::any::Any + Send>) {
        let Ok(c) = state.downcast::<Carried>() else {
            return;
        };
        // What this file has told already wins (it may be a new JVM's log).
        self.collector = self.collector.or(c.collector);
        self.region_size = self.region_size.or(c.region_size);
        if self.detail.gc_id.is_none() {
            self.detail = c.detail;
        }
        if self.after_gc.is_empty() {
            self.after_gc = c.after_gc;
        }
        if self.last_wall_us.is_none() && self.last_uptime_us.is_none() {
            self.last_wall_us = c.last_wall_us;
            self.last_uptime_us = c.last_uptime_us;
        }
        if self.last_pid.is_empty() {
            self.last_pid = c.last_pid;
        }
    }

    fn finish(&mut self) -> Option<RecordBatch> {
        self.flush();
        if self.offset.is_empty() {
            return None;
        }
        self.rows = 0;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.ts.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.ingest_ts.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.clock.finish()),
            Arc::new(self.uptime.finish()),
            Arc::new(self.jvm.finish()),
            Arc::new(self.collector_col.finish()),
            Arc::new(self.gc_id.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.phase.finish()),
            Arc::new(self.cause.finish()),
            Arc::new(self.stw.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(self.heap_before.finish()),
            Arc::new(self.heap_after.finish()),
            Arc::new(self.heap_capacity.finish()),
            Arc::new(self.young_before.finish()),
            Arc::new(self.young_after.finish()),
            Arc::new(self.old_before.finish()),
            Arc::new(self.old_after.finish()),
            Arc::new(self.meta_before.finish()),
            Arc::new(self.meta_after.finish()),
            Arc::new(self.allocated.finish()),
            Arc::new(self.promoted.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.sys.finish()),
            Arc::new(self.real.finish()),
            Arc::new(self.message.finish()),
        ];
        Some(
            RecordBatch::try_new(schema::gc_events(), cols)
                .expect("gc_events columns match schema"),
        )
    }
}

#[cfg(test)]
mod col_tests {
    use super::Col;
    use arrow_array::Array;
    use arrow_array::builder::UInt64Builder;
    use arrow_array::types::UInt64Type;

    #[test]
    fn runs_of_nulls_make_the_same_array_as_one_null_per_row() {
        let rows: Vec<Option<u64>> = (0..300u64)
            .map(|i| (i % 7 == 0 || (100..200).contains(&i)).then_some(i))
            .collect();
        let mut col = Col::<UInt64Type>::new();
        for pass in [&rows[..], &[None, None][..], &[Some(1), None][..], &[][..]] {
            let mut plain = UInt64Builder::new();
            for &v in pass {
                col.append_option(v);
                plain.append_option(v);
            }
            let (a, b) = (col.finish(), plain.finish());
            assert_eq!(a, b);
            assert_eq!(a.null_count(), b.null_count());
            assert_eq!(a.nulls(), b.nulls());
        }
    }
}
