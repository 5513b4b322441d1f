//! JVM garbage-collector logs (format `jvm-gc`, table `gc_events`): JDK 9+ unified logging
//! (`-Xlog:gc*`, any decorations) and JDK 7/8 `-XX:+PrintGCDetails` logs, detected per record.
//!
//! # Framing
//!
//! ```text
//! record   = unified-line / legacy-record / blank-line
//! unified-line  = 1*decoration SP message LF          ; always one line (see `unified.rs`)
//! decoration    = "[" 1*( %x20-5C / %x5E-7E ) "]"      ; first byte after "[" a digit or a-z
//! legacy-record = first-line *( inner-line ) *( cont-line )
//!   first-line  = any line that is not a unified line
//!   inner-line  = any line, taken while "[" and "]" are unbalanced ("[0x" address ranges of
//!                 heap printouts do not count), up to MAX_RECORD_LINES / MAX_RECORD_BYTES
//!   cont-line   = 1*( SP / HTAB ) text LF              ; G1 detail block, " [Times: ...]"
//! ```
//!
//! A JDK 8 GC event spans lines when the JVM prints something in the middle of it (tenuring
//! distribution, G1 ergonomics, heap-at-GC, FLS statistics, reference processing) or when
//! G1 prints its indented detail block after the pause; bracket balance plus indentation
//! covers all of them. A record whose brackets never close is cut at the limits (or at a
//! JVM banner / unified line) and becomes a dead letter. Anything else that is not GC output
//! (application stdout) is a record of its own and a dead letter.
//!
//! # Rows
//!
//! One row per GC event, never per detail line:
//! - a pause with its duration (`kind` young, mixed, full, remark, cleanup, initial_mark,
//!   degenerated, update_refs, relocate, ... `stop_the_world` = true);
//! - a concurrent phase or cycle with its duration (`kind` concurrent / concurrent_cycle,
//!   `stop_the_world` = false): never counted as a pause;
//! - a ZGC collection summary `Garbage Collection (cause) 18M(2%)->12M(1%)` (concurrent_cycle);
//! - allocation / relocation stalls (`allocation_stall`, `relocation_stall`: a thread waited,
//!   the world did not stop);
//! - safepoints (`Safepoint "..." ... Total: N ns`, `Total time for which application threads
//!   were stopped`): `kind` = safepoint, stop_the_world = true. They overlap the GC pauses, so
//!   GC pause time is `stop_the_world AND kind <> 'safepoint'`;
//! - `To-space exhausted` / `(to-space exhausted)`: an `evacuation_failure` row without a
//!   duration (stop_the_world null), next to the pause row itself;
//! - ZGC `Out Of Memory (thread)`, and the JVM's own `java.lang.OutOfMemoryError` lines when
//!   its stdout/stderr share the file (`Exception in thread "main" java.lang.OutOfMemoryError:
//!   Java heap space` with its stack trace, `Terminating due to ...` of
//!   `-XX:+ExitOnOutOfMemoryError`): an `out_of_memory` row, `cause` after the colon, time
//!   and `pid` from the preceding line.
//!
//! Start markers (`GC(3) Pause Remark`, `[CMS-concurrent-mark-start]`, `[..., start]`) and
//! detail lines of a GC id (phases, workers, references, regions, MMU, pacer, ...) are GC
//! output and make no row. Detail lines with sizes are not lost: the decoder keeps the sizes
//! logged for the current GC id (`Eden regions: 12->0(13)` times the region size,
//! `PSYoungGen: ...`, `ParOldGen`, `DefNew`, `Tenured`, `Metaspace`) and puts them on that
//! GC id's next row with a heap transition; the `User=.. Sys=.. Real=..` line that follows a
//! pause fills that pause's `*_seconds` CPU columns (the last row's CPU columns are held back
//! until the next row or `finish`). Known banner/configuration lines (`Using G1`, `Version:`, `Heap Region
//! Size:`, JDK 8 `Java HotSpot(TM)`, `Memory:`, `CommandLine flags:`, log rotation lines,
//! Shenandoah statistics tables, the heap printout at exit) are skipped; an unknown line
//! is a dead letter.
//!
//! # Columns
//!
//! `ts` is the wall clock when the line has one (`time`, `utctime`, `timemillis` decorations,
//! JDK 8 date stamps: `clock` = "wall"), else the configured JVM start
//! (`SourceContext::boot_time_us`) plus the uptime (`clock` = "jvm_start"), else ingest time
//! (`clock` = "ingest"). `jvm` is the `pid` decoration when logged, else the source name.
//! Sizes: K/M/G/T suffixes are powers of 1024; G1 region counts are multiplied by the logged
//! region size. `young_*` of G1 is eden + survivors, `old_*` is old + humongous regions.
//! `metaspace_*` is Metaspace (JDK 8+) or the permanent generation (JDK 7).
//! `allocated_bytes` = young (else heap) before this GC minus after the previous GC of the
//! same JVM (state kept per decoder, i.e. per file); `promoted_bytes` = what the old
//! generation gained in a young/mixed pause (old after − before, or from heap − young).
//! In a JDK 8 record with an embedded event (a CMS concurrent phase printed inside a pause),
//! both rows carry the record's time stamp and the whole record as `message`.

mod decoder;
mod legacy;
mod unified;

pub use decoder::GcDecoder;
pub use legacy::parse_legacy;
pub use unified::{Decorations, parse_decorations};

use memchr::memchr;

/// Largest number of lines a JDK 8 record may span before the framer cuts it.
pub const MAX_RECORD_LINES: usize = 256;
/// Largest size of a JDK 8 record before the framer cuts it.
pub const MAX_RECORD_BYTES: usize = 128 * 1024;

/// Which collector wrote an event, as stored in `collector`.
pub mod collector {
    /// Garbage-First.
    pub const G1: &str = "G1";
    /// Parallel (PSYoungGen / ParOldGen).
    pub const PARALLEL: &str = "Parallel";
    /// Serial (DefNew / Tenured).
    pub const SERIAL: &str = "Serial";
    /// Concurrent Mark Sweep (ParNew / CMS).
    pub const CMS: &str = "CMS";
    /// Z.
    pub const ZGC: &str = "ZGC";
    /// Shenandoah.
    pub const SHENANDOAH: &str = "Shenandoah";
}

/// Before/after (and capacity after) of one memory area, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Transition {
    /// Used before the collection.
    pub before: Option<u64>,
    /// Used after the collection.
    pub after: Option<u64>,
    /// Capacity after the collection.
    pub capacity: Option<u64>,
}

impl Transition {
    fn is_empty(&self) -> bool {
        self.before.is_none() && self.after.is_none() && self.capacity.is_none()
    }
    fn or(self, other: Transition) -> Transition {
        if self.is_empty() { other } else { self }
    }
}

/// CPU times of a pause (`[Times: user=.. sys=.., real=.. secs]`, `User=..s Sys=..s Real=..s`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CpuTimes {
    /// User CPU seconds.
    pub user: f64,
    /// System CPU seconds.
    pub sys: f64,
    /// Wall seconds.
    pub real: f64,
}

/// One GC event, borrowing its text from the record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GcEvent<'a> {
    /// Wall-clock time, µs since the epoch, when the line carried one.
    pub wall_us: Option<i64>,
    /// JVM uptime in µs.
    pub uptime_us: Option<i64>,
    /// `pid` decoration.
    pub pid: Option<&'a str>,
    /// `hostname` decoration.
    pub host: Option<&'a str>,
    /// Collector, when the line tells.
    pub collector: Option<&'static str>,
    /// `GC(n)` id.
    pub gc_id: Option<u64>,
    /// Low-cardinality event class (young, full, concurrent, safepoint, ...).
    pub kind: &'static str,
    /// The event's own name, e.g. `Pause Young (Normal)`.
    pub phase: &'a str,
    /// GC cause, e.g. `G1 Evacuation Pause`.
    pub cause: Option<&'a str>,
    /// Whether application threads were stopped; `None` for informational rows.
    pub stop_the_world: Option<bool>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Whole heap.
    pub heap: Transition,
    /// Young generation (G1: eden + survivors).
    pub young: Transition,
    /// Old generation (G1: old + humongous).
    pub old: Transition,
    /// Metaspace or permanent generation.
    pub metaspace: Transition,
    /// CPU times.
    pub times: Option<CpuTimes>,
}

/// Up to four events parsed from one record, without allocating.
#[derive(Debug, Default)]
pub struct Events<'a> {
    items: [Option<GcEvent<'a>>; 4],
    len: usize,
}

impl<'a> Events<'a> {
    fn push(&mut self, ev: GcEvent<'a>) {
        if self.len < self.items.len() {
            self.items[self.len] = Some(ev);
            self.len += 1;
        }
    }
    /// Number of events.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when the record made no row.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The events in log order.
    pub fn iter(&self) -> impl Iterator<Item = &GcEvent<'a>> {
        self.items[..self.len].iter().flatten()
    }
}

/// True when `line` starts with a unified-logging decoration (`[0.123s]`, `[2026-...]`,
/// `[info]`, `[gc,start]`, `[1234]`): `[` followed by a digit or a lowercase letter, with a
/// closing `]` on the line. JDK 8 brackets start with an uppercase letter (`[GC`, `[Full GC`).
pub fn is_unified_line(line: &[u8]) -> bool {
    line.first() == Some(&b'[')
        && matches!(line.get(1), Some(b'0'..=b'9' | b'a'..=b'z'))
        && memchr(b']', &line[..line.len().min(128)]).is_some()
}

/// Frames one record (see the module documentation).
pub fn frame(buf: &[u8], eof: bool) -> Option<usize> {
    let mut end = crate::text::line_len(buf, eof)?;
    let first = &buf[..end];
    if first.iter().all(u8::is_ascii_whitespace) || is_unified_line(first) {
        return Some(end);
    }
    let mut depth = bracket_delta(first);
    let mut lines = 1usize;
    loop {
        let rest = &buf[end..];
        if rest.is_empty() {
            return if eof { Some(end) } else { None };
        }
        if lines >= MAX_RECORD_LINES || end >= MAX_RECORD_BYTES {
            return Some(end);
        }
        let n = match crate::text::line_len(rest, eof) {
            Some(n) => n,
            // A partial next line: if we are inside an open bracket it belongs to us; otherwise
            // its first byte decides, and we already have it.
            None if depth <= 0 && !matches!(rest[0], b' ' | b'\t') => return Some(end),
            None => return None,
        };
        let line = &rest[..n];
        if line.iter().all(u8::is_ascii_whitespace) || is_unified_line(line) || is_banner(line) {
            return Some(end);
        }
        if depth > 0 || matches!(line[0], b' ' | b'\t') {
            depth += bracket_delta(line);
            end += n;
            lines += 1;
        } else {
            return Some(end);
        }
    }
}

/// `[` minus `]` on a line; `[0x` (address ranges in heap printouts, closed by `)`) is not counted.
fn bracket_delta(line: &[u8]) -> i64 {
    let mut d = 0i64;
    let mut i = 0;
    while let Some(off) = memchr::memchr2(b'[', b']', &line[i..]) {
        let p = i + off;
        if line[p] == b'[' {
            if !line[p + 1..].starts_with(b"0x") {
                d += 1;
            }
        } else {
            d -= 1;
        }
        i = p + 1;
    }
    d
}

/// Lines that always start a new record: a JVM banner or a log-rotation header.
fn is_banner(line: &[u8]) -> bool {
    line.starts_with(b"Java HotSpot(TM)")
        || line.starts_with(b"OpenJDK ")
        || line.starts_with(b"CommandLine flags:")
        || line.starts_with(b"Memory: ")
        || (line.len() > 20
            && line[4] == b'-'
            && line[10] == b' '
            && contains(line, b" GC log file "))
}

/// Substring test for short needles over short haystacks (one log record): cheaper than
/// building a `memmem` searcher per call.
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// Offset of the first `needle` in `hay` (as [`contains`]): candidates by the first byte,
/// filtered by the last before comparing the rest.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (Some(&first), Some(&last)) = (needle.first(), needle.last()) else {
        return Some(0);
    };
    let n = needle.len();
    if n == 1 {
        return memchr(first, hay);
    }
    memchr::memchr_iter(first, hay).find(|&i| {
        i + n <= hay.len() && hay[i + n - 1] == last && hay[i + 1..i + n - 1] == needle[1..n - 1]
    })
}

/// `str::trim_end`, without the Unicode table look-up when the text ends in a printable
/// ASCII byte (as log lines nearly always do).
pub(crate) fn trim_end_fast(s: &str) -> &str {
    match s.as_bytes().last() {
        Some(b'!'..=b'~') | None => s,
        _ => s.trim_end(),
    }
}

/// `str::trim`, likewise.
pub(crate) fn trim_fast(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(b'!'..=b'~'), Some(b'!'..=b'~')) | (None, None) => s,
        _ => s.trim(),
    }
}

/// Offset of the last `b` in `s`: a plain loop, cheaper than a searcher on short text.
pub(crate) fn rfind_byte(s: &str, b: u8) -> Option<usize> {
    s.as_bytes().iter().rposition(|&c| c == b)
}

/// Offset of the first `b` in `s`, likewise.
pub(crate) fn find_byte(s: &[u8], b: u8) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// Parses a number with `.` or `,` as the decimal separator.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut int: u64 = 0;
    let mut frac: u64 = 0;
    let mut scale: f64 = 1.0;
    let mut seen_sep = false;
    let mut digits = 0;
    for &b in s {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if seen_sep {
                    if scale < 1e15 {
                        frac = frac * 10 + u64::from(b - b'0');
                        scale *= 10.0;
                    }
                } else {
                    int = int.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                }
            }
            b'.' | b',' if !seen_sep => seen_sep = true,
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    Some(int as f64 + frac as f64 / scale)
}

/// Length of the number (digits with one `.`/`,` followed by a digit) at the start of `s`.
pub(crate) fn number_len(s: &[u8]) -> usize {
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    if i > 0 && i + 1 < s.len() && matches!(s[i], b'.' | b',') && s[i + 1].is_ascii_digit() {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
    }
    i
}

/// A size `12`, `12.5M`, `0B`, `1024K` at the start of `s`: (bytes, length). A bare number is
/// taken as bytes.
pub(crate) fn parse_size(s: &[u8]) -> Option<(u64, usize)> {
    // Integers (`65536K`, `24M`), by far the most common, without floating point.
    let mut int: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() && i < 19 {
        int = int * 10 + u64::from(s[i] - b'0');
        i += 1;
    }
    if i > 0 && !matches!(s.get(i), Some(b'.' | b',' | b'0'..=b'9')) {
        let (mul, used) = unit(s.get(i));
        return Some((int.saturating_mul(mul), i + used));
    }
    let n = number_len(s);
    if n == 0 {
        return None;
    }
    let v = parse_decimal(&s[..n])?;
    let (mul, used) = unit(s.get(n));
    Some(((v * mul as f64).round() as u64, n + used))
}

/// The multiplier of a size's unit letter (`B`, `K`, `M`, `G`, `T`; binary) and the bytes
/// it takes: `(1, 0)` when `b` is no unit.
fn unit(b: Option<&u8>) -> (u64, usize) {
    match b {
        Some(b'B') => (1, 1),
        Some(b'K') => (1 << 10, 1),
        Some(b'M') => (1 << 20, 1),
        Some(b'G') => (1 << 30, 1),
        Some(b'T') => (1 << 40, 1),
        _ => (1, 0),
    }
}

/// `size[(cap)]->size[(cap)]` at the start of `s` (G1 prints the capacity on both sides,
/// Parallel/Serial only after). Returns the transition and its length.
pub(crate) fn parse_transition(s: &[u8]) -> Option<(Transition, usize)> {
    let (before, mut i) = parse_size(s)?;
    if s.get(i) == Some(&b'(') {
        let (_, n) = parse_size(&s[i + 1..])?;
        if s.get(i + 1 + n) != Some(&b')') {
            return None;
        }
        i += n + 2;
    }
    if !s[i..].starts_with(b"->") {
        return None;
    }
    i += 2;
    let (after, n) = parse_size(&s[i..])?;
    i += n;
    let mut capacity = None;
    if s.get(i) == Some(&b'(') {
        let (c, n) = parse_size(&s[i + 1..])?;
        if s.get(i + 1 + n) == Some(&b')') {
            capacity = Some(c);
            i += n + 2;
        }
    }
    Some((
        Transition {
            before: Some(before),
            after: Some(after),
            capacity,
        },
        i,
    ))
}

/// A duration `3.456ms`, `0.085s`, `120us`, `1234 ns`, `0,0047 secs` at the start of `s`:
/// (seconds, length).
pub(crate) fn parse_duration(s: &[u8]) -> Option<(f64, usize)> {
    let n = number_len(s);
    if n == 0 {
        return None;
    }
    let v = parse_decimal(&s[..n])?;
    let mut i = n;
    if s.get(i) == Some(&b' ') {
        i += 1;
    }
    let rest = &s[i..];
    let (scale, used) = if rest.starts_with(b"secs") {
        (1.0, 4)
    } else if rest.starts_with(b"seconds") {
        (1.0, 7)
    } else if rest.starts_with(b"ms") {
        (1e-3, 2)
    } else if rest.starts_with(b"us") {
        (1e-6, 2)
    } else if rest.starts_with(b"ns") {
        (1e-9, 2)
    } else if rest.starts_with(b"s") {
        (1.0, 1)
    } else {
        return None;
    };
    Some((v * scale, i + used))
}

/// Kind, stop-the-world flag and collector hint of an event from its name (without causes).
pub(crate) fn classify_phase(name: &str) -> (&'static str, Option<bool>, Option<&'static str>) {
    let n = name;
    if let Some(p) = n.strip_prefix("Pause ") {
        let kind = if p.starts_with("Young") {
            if contains(n.as_bytes(), b"(Mixed)") {
                "mixed"
            } else {
                "young"
            }
        } else if p.starts_with("Full") {
            "full"
        } else if p.starts_with("Remark")
            || p.starts_with("Final Mark")
            || p.starts_with("Mark End")
        {
            "remark"
        } else if p.starts_with("Cleanup") {
            "cleanup"
        } else if p.starts_with("Init Mark")
            || p.starts_with("Initial Mark")
            || p.starts_with("Mark Start")
        {
            "initial_mark"
        } else if p.starts_with("Degenerated") {
            "degenerated"
        } else if contains(p.as_bytes(), b"Update Refs") {
            "update_refs"
        } else if p.starts_with("Relocate") {
            "relocate"
        } else if contains(p.as_bytes(), b"Evac") {
            "evacuation"
        } else {
            "pause"
        };
        let col = if p.starts_with("Init Mark")
            || p.starts_with("Final Mark")
            || p.starts_with("Degenerated")
            || contains(p.as_bytes(), b"Update Refs")
            || contains(p.as_bytes(), b"Evac")
        {
            Some(collector::SHENANDOAH)
        } else if p.starts_with("Mark Start")
            || p.starts_with("Mark End")
            || p.starts_with("Relocate")
        {
            Some(collector::ZGC)
        } else if p.starts_with("Initial Mark") {
            Some(collector::CMS)
        } else {
            None
        };
        return (kind, Some(true), col);
    }
    if n.starts_with("Concurrent ") {
        let kind = if n.ends_with(" Cycle") {
            "concurrent_cycle"
        } else {
            "concurrent"
        };
        return (kind, Some(false), None);
    }
    ("other", None, None)
}

/// Parenthesised groups that qualify a phase rather than name a cause.
pub(crate) fn is_qualifier(g: &str) -> bool {
    matches!(
        g,
        "Normal"
            | "Concurrent Start"
            | "Prepare Mixed"
            | "Mixed"
            | "Evacuation Failure"
            | "unload classes"
            | "process weakrefs"
            | "update refs"
            | "Outside of Cycle"
            | "Mark"
            | "Evacuation"
            | "Update Refs"
            | "Roots"
            | "young"
            | "mixed"
            | "initial-mark"
            | "to-space exhausted"
            | "to-space overflow"
            | "Major"
            | "Minor"
    )
}

/// Splits `Pause Young (Normal) (G1 Evacuation Pause)` into the phase and the cause: the
/// cause is the last top-level parenthesised group that is not a qualifier. When it ends the
/// text, the phase is what precedes it; otherwise (JDK 8 `GC pause (G1 Evacuation Pause)
/// (young)`) the phase is the whole text.
pub(crate) fn split_phase_cause(text: &str) -> (&str, Option<&str>) {
    let text = trim_end_fast(text);
    let b = text.as_bytes();
    let mut cause: Option<(usize, usize)> = None;
    let mut depth = 0u32;
    let mut open = 0usize;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' => {
                if depth == 0 {
                    open = i;
                }
                depth += 1;
            }
            b')' if depth > 0 => {
                depth -= 1;
                if depth == 0 && !is_qualifier(&text[open + 1..i]) {
                    cause = Some((open, i));
                }
            }
            _ => {}
        }
    }
    match cause {
        Some((o, c)) if c + 1 == text.len() => (trim_end_fast(&text[..o]), Some(&text[o + 1..c])),
        Some((o, c)) => (text, Some(&text[o + 1..c])),
        None => (text, None),
    }
}

#[cfg(test)]
mod tests;
