//! Appends GC events to `gc_events` Arrow columns, carrying per-GC-id detail state.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::ArrayBuilder;
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use memchr::memchr;

use super::legacy::Legacy;
use super::unified::{
    Area, Message, Region, parse_decorations_in, parse_message, parse_message_str,
};
use super::{CpuTimes, GcEvent, Transition, frame, is_unified_line, parse_legacy};
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

/// A row held back until the next row, so that a following `User=.. Sys=.. Real=..` line of
/// the same GC id can fill its CPU columns. Text is copied into reused buffers.
#[derive(Debug, Default)]
struct Row {
    ts: i64,
    ingest_ts: i64,
    offset: u64,
    clock: &'static str,
    uptime: Option<f64>,
    host: Option<Range<usize>>,
    jvm: Option<Range<usize>>,
    collector: Option<&'static str>,
    gc_id: Option<u64>,
    kind: &'static str,
    phase: Range<usize>,
    /// The phase when it is a fixed name not found in the text (JDK 8 stopped-time lines).
    phase_fixed: String,
    cause: Option<Range<usize>>,
    stw: Option<bool>,
    duration: Option<f64>,
    heap: Transition,
    young: Transition,
    old: Transition,
    metaspace: Transition,
    times: Option<CpuTimes>,
    allocated: Option<u64>,
    promoted: Option<u64>,
    /// The JVM when the line does not name it but a preceding line did (OutOfMemoryError
    /// lines of the JVM's stdout in a log decorated with `pid`).
    jvm_fixed: String,
    /// The record text; the ranges above index into it.
    text: Vec<u8>,
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
    /// Boxed: a row is a few hundred bytes, moved twice per event otherwise.
    pending: Option<Box<Row>>,
    spare: Option<Box<Row>>,
    rows: usize,
    ts: TimestampMicrosecondBuilder,
    host: StringBuilder,
    source: StringBuilder,
    ingest_ts: TimestampMicrosecondBuilder,
    offset: UInt64Builder,
    clock: StringBuilder,
    uptime: Float64Builder,
    jvm: StringBuilder,
    collector_col: StringBuilder,
    gc_id: UInt64Builder,
    kind: StringBuilder,
    phase: StringBuilder,
    cause: StringBuilder,
    stw: BooleanBuilder,
    duration: Float64Builder,
    heap_before: UInt64Builder,
    heap_after: UInt64Builder,
    heap_capacity: UInt64Builder,
    young_before: UInt64Builder,
    young_after: UInt64Builder,
    old_before: UInt64Builder,
    old_after: UInt64Builder,
    meta_before: UInt64Builder,
    meta_after: UInt64Builder,
    allocated: UInt64Builder,
    promoted: UInt64Builder,
    user: Float64Builder,
    sys: Float64Builder,
    real: Float64Builder,
    message: StringBuilder,
}

fn ts_builder() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

fn range_of(outer: &[u8], inner: &str) -> Option<Range<usize>> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (start + inner.len() <= outer.len()).then(|| start..start + inner.len())
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
            spare: None,
            rows: 0,
            ts: ts_builder(),
            host: StringBuilder::new(),
            source: StringBuilder::new(),
            ingest_ts: ts_builder(),
            offset: UInt64Builder::new(),
            clock: StringBuilder::new(),
            uptime: Float64Builder::new(),
            jvm: StringBuilder::new(),
            collector_col: StringBuilder::new(),
            gc_id: UInt64Builder::new(),
            kind: StringBuilder::new(),
            phase: StringBuilder::new(),
            cause: StringBuilder::new(),
            stw: BooleanBuilder::new(),
            duration: Float64Builder::new(),
            heap_before: UInt64Builder::new(),
            heap_after: UInt64Builder::new(),
            heap_capacity: UInt64Builder::new(),
            young_before: UInt64Builder::new(),
            young_after: UInt64Builder::new(),
            old_before: UInt64Builder::new(),
            old_after: UInt64Builder::new(),
            meta_before: UInt64Builder::new(),
            meta_after: UInt64Builder::new(),
            allocated: UInt64Builder::new(),
            promoted: UInt64Builder::new(),
            user: Float64Builder::new(),
            sys: Float64Builder::new(),
            real: Float64Builder::new(),
            message: StringBuilder::new(),
        }
    }

    /// Turns an event into the pending row (flushing the previous one).
    fn push(&mut self, text: &[u8], ev: &GcEvent<'_>, meta: &RecordMeta) {
        self.flush();
        let mut row = self.spare.take().unwrap_or_default();
        row.text.clear();
        row.text.extend_from_slice(text);
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
        row.ts = ts;
        row.clock = clock;
        row.ingest_ts = meta.ingest_ts_us;
        row.offset = meta.offset;
        row.uptime = ev.uptime_us.map(|u| u as f64 / 1e6);
        row.host = ev.host.and_then(|h| range_of(text, h));
        row.jvm = ev.pid.and_then(|p| range_of(text, p));
        row.jvm_fixed.clear();
        if row.jvm.is_none() && ev.pid.is_none() && undated {
            row.jvm_fixed.push_str(&self.last_pid);
        }
        row.collector = ev.collector.or(self.collector);
        row.gc_id = ev.gc_id;
        row.kind = ev.kind;
        row.phase_fixed.clear();
        row.phase = range_of(text, ev.phase).unwrap_or_else(|| {
            row.phase_fixed.push_str(ev.phase);
            0..0
        });
        row.cause = ev.cause.and_then(|c| range_of(text, c));
        row.stw = ev.stop_the_world;
        row.duration = ev.duration_s;
        row.heap = ev.heap;
        row.young = ev.young;
        row.old = ev.old;
        row.metaspace = ev.metaspace;
        row.times = ev.times;
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
            row.young = row.young.or(d.young).or(regions(d.eden, d.survivor));
            row.old = row.old.or(d.old).or(regions(d.old_regions, d.humongous));
            row.metaspace = row.metaspace.or(d.metaspace);
        }
        self.rates(&mut row);
        self.pending = Some(row);
        self.rows += 1;
    }

    /// `allocated_bytes` and `promoted_bytes` of a row whose sizes are final.
    fn rates(&mut self, row: &mut Row) {
        row.allocated = None;
        row.promoted = None;
        if row.heap.before.is_none() && row.young.before.is_none() {
            return;
        }
        // Promoted: what the old generation gained in a young (or mixed) pause; from the
        // heap and young totals when the old generation is not logged (JDK 8 ParNew /
        // PSYoungGen lines): (heap - young) after minus (heap - young) before.
        if matches!(row.kind, "young" | "mixed") {
            row.promoted = match (row.old.before, row.old.after) {
                (Some(b), Some(a)) => Some(a.saturating_sub(b)),
                _ => match (
                    row.heap.before,
                    row.heap.after,
                    row.young.before,
                    row.young.after,
                ) {
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
        let key: &[u8] = match &row.jvm {
            Some(r) => &row.text[r.clone()],
            None => row.jvm_fixed.as_bytes(),
        };
        // Most logs have one JVM: the last entry, without a call to memcmp.
        let same = |a: &AfterGc| a.jvm.len() == key.len() && (key.is_empty() || a.jvm == key);
        let found = match self.after_gc.last() {
            Some(a) if same(a) => Some(self.after_gc.len() - 1),
            _ => self.after_gc.iter().rposition(same),
        };
        let i = match found {
            Some(i) => i,
            None => {
                if self.after_gc.len() >= MAX_JVMS {
                    self.after_gc.remove(0);
                }
                self.after_gc.push(AfterGc {
                    jvm: key.to_vec(),
                    ..Default::default()
                });
                self.after_gc.len() - 1
            }
        };
        let prev = &mut self.after_gc[i];
        let diff = |now: Option<u64>, before: Option<u64>| -> Option<i128> {
            Some(i128::from(now?) - i128::from(before?))
        };
        // Young generation when both GCs logged it (what the application allocated goes
        // there), else the whole heap. A negative difference (the heap shrank between two
        // GCs, as when a concurrent phase freed memory) tells nothing: null.
        let d = diff(row.young.before, prev.young).or_else(|| diff(row.heap.before, prev.heap));
        row.allocated = d.filter(|d| *d >= 0).map(|d| d as u64);
        if row.heap.after.is_some() || row.young.after.is_some() {
            prev.heap = row.heap.after;
            prev.young = row.young.after;
        }
    }

    fn flush(&mut self) {
        let Some(row) = self.pending.take() else {
            return;
        };
        let text = &row.text;
        // One UTF-8 check for the record; its ranges are then slices (char boundaries, as
        // they came from `&str`s). Invalid bytes (JDK 8 records are checked, unified
        // decorations only one by one) fall back to lossy copies.
        let valid = std::str::from_utf8(text).ok();
        let s = |r: &Range<usize>| -> Cow<'_, str> {
            match valid.and_then(|t| t.get(r.clone())) {
                Some(v) => Cow::Borrowed(v),
                None => String::from_utf8_lossy(&text[r.clone()]),
            }
        };
        self.ts.append_value(row.ts);
        match &row.host {
            Some(h) => self.host.append_value(s(h)),
            None => self.host.append_value(&self.ctx.host),
        }
        self.source.append_value(&self.ctx.source);
        self.ingest_ts.append_value(row.ingest_ts);
        self.offset.append_value(row.offset);
        self.clock.append_value(row.clock);
        self.uptime.append_option(row.uptime);
        match &row.jvm {
            Some(j) => self.jvm.append_value(s(j)),
            None if !row.jvm_fixed.is_empty() => self.jvm.append_value(&row.jvm_fixed),
            None => self.jvm.append_value(&self.ctx.source),
        }
        self.collector_col.append_option(row.collector);
        self.gc_id.append_option(row.gc_id);
        self.kind.append_value(row.kind);
        if row.phase_fixed.is_empty() {
            self.phase.append_value(s(&row.phase));
        } else {
            self.phase.append_value(&row.phase_fixed);
        }
        self.cause.append_option(row.cause.as_ref().map(s));
        self.stw.append_option(row.stw);
        self.duration.append_option(row.duration);
        self.heap_before.append_option(row.heap.before);
        self.heap_after.append_option(row.heap.after);
        self.heap_capacity.append_option(row.heap.capacity);
        self.young_before.append_option(row.young.before);
        self.young_after.append_option(row.young.after);
        self.old_before.append_option(row.old.before);
        self.old_after.append_option(row.old.after);
        self.meta_before.append_option(row.metaspace.before);
        self.meta_after.append_option(row.metaspace.after);
        self.allocated.append_option(row.allocated);
        self.promoted.append_option(row.promoted);
        self.user.append_option(row.times.map(|t| t.user));
        self.sys.append_option(row.times.map(|t| t.sys));
        self.real.append_option(row.times.map(|t| t.real));
        match valid {
            Some(t) => self.message.append_value(t),
            None => self.message.append_value(String::from_utf8_lossy(text)),
        }
        self.spare = Some(row);
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
                self.push(line, &ev, meta);
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
                    self.push(line, ev, meta);
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
