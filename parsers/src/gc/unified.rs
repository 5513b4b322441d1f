//! JDK 9+ unified logging: `-Xlog:gc*` lines with any decoration set.
//!
//! ```text
//! line        = 1*( "[" decoration "]" ) SP message
//! decoration  = iso8601                       ; time / utctime: wall clock
//!             / number ("s")                  ; uptime (`0.123s`, `2,048s` in some locales)
//!             / 1*DIGIT "ms"                  ; uptimemillis, or timemillis (epoch) when >= 10^12
//!             / 1*DIGIT "ns"                  ; uptimenanos / timenanos (a monotonic clock)
//!             / 1*DIGIT                       ; pid, then tid (the JVM prints them in that order)
//!             / level / tags                  ; `info`, `gc,start    `
//!             / hostname                      ; anything else
//! message     = [ "GC(" id ") " ] [ ("y"/"Y"/"o"/"O") ": " ] text
//! event       = name [ SP transition ] SP duration      ; Pause ..., Concurrent ...
//!             / ("Garbage"/"Major"/"Minor") " Collection (" cause ") " zgc-transition [ SP duration ]
//!             / ("Allocation"/"Relocation") " Stall (" thread ") " duration
//!             / "Safepoint \"" op "\", " ... "Total: " duration
//!             / "Total time for which application threads were stopped: " duration ", ..."
//!             / "To-space exhausted"
//!             / "Out Of Memory (" thread ")"                   ; ZGC: a thread got OutOfMemoryError
//! transition  = size [ "(" size ")" ] "->" size [ "(" size ")" ]
//! ```
//!
//! The decorations are always printed in the JVM's fixed order, whatever order `-Xlog` named
//! them in; they are recognised by shape, so any subset works.

use super::{
    CpuTimes, GcEvent, Transition, classify_phase, collector, contains, find_byte, parse_decimal,
    parse_duration, parse_size, parse_transition, rfind_byte, split_phase_cause, trim_end_fast,
    trim_fast,
};
use crate::error::{ErrorKind, ParseError};
use crate::text::parse_u64;
use crate::time::parse_iso8601;

/// The decorations of one line.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Decorations<'a> {
    /// `time`/`utctime`/`timemillis`: µs since the epoch.
    pub wall_us: Option<i64>,
    /// `uptime`/`uptimemillis`: µs since JVM start.
    pub uptime_us: Option<i64>,
    /// `uptimenanos`/`timenanos` in µs: used as uptime only when nothing better is logged.
    pub nanos_us: Option<i64>,
    /// `pid`.
    pub pid: Option<&'a str>,
    /// `tid`.
    pub tid: Option<&'a str>,
    /// `level`.
    pub level: Option<&'a str>,
    /// `tags`, trimmed.
    pub tags: Option<&'a str>,
    /// `hostname`.
    pub host: Option<&'a str>,
}

impl Decorations<'_> {
    /// The best uptime available, in µs.
    pub fn uptime(&self) -> Option<i64> {
        self.uptime_us.or(self.nanos_us)
    }
}

const LEVELS: [&str; 5] = ["trace", "debug", "info", "warning", "error"];

/// Parses the decorations at the start of `line`; returns them and the offset of the message.
pub fn parse_decorations(line: &[u8]) -> Result<(Decorations<'_>, usize), ParseError> {
    parse_decorations_in(line, std::str::from_utf8(line).ok())
}

/// [`parse_decorations`] with the line already checked as UTF-8 (`whole`), or `None` to
/// check each decoration on its own (and say which one is not UTF-8).
pub(crate) fn parse_decorations_in<'a>(
    line: &'a [u8],
    whole: Option<&'a str>,
) -> Result<(Decorations<'a>, usize), ParseError> {
    let mut d = Decorations::default();
    let mut pos = 0;
    while line.get(pos) == Some(&b'[') {
        let Some(close) = find_byte(&line[pos..], b']').map(|i| pos + i) else {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                pos,
                "unterminated `[` decoration",
            ));
        };
        let inner = &line[pos + 1..close];
        // `[` and `]` are ASCII: the slice of a valid line is on char boundaries.
        decoration(inner, whole.map(|w| &w[pos + 1..close]), pos + 1, &mut d)?;
        pos = close + 1;
    }
    if line.get(pos) == Some(&b' ') {
        pos += 1;
    }
    Ok((d, pos))
}

fn decoration<'a>(
    s: &'a [u8],
    checked: Option<&'a str>,
    at: usize,
    d: &mut Decorations<'a>,
) -> Result<(), ParseError> {
    let bad = |why: &str| ParseError::new(ErrorKind::BadTimestamp, at, why.to_string());
    let text = match checked {
        Some(t) => t,
        None => std::str::from_utf8(s).map_err(|_| bad("decoration is not UTF-8"))?,
    };
    let trimmed = trim_fast(text);
    let first = s.first().copied().unwrap_or(b' ');
    if first.is_ascii_digit() {
        if s.len() >= 19 && s[4] == b'-' && s[7] == b'-' {
            let (t, used) = parse_iso8601(s).ok_or_else(|| bad("expected an ISO 8601 time"))?;
            if used != s.len() {
                return Err(bad("trailing bytes after the ISO 8601 time"));
            }
            d.wall_us = Some(t);
        } else if let Some(v) = text.strip_suffix("ms") {
            let n = parse_u64(v.as_bytes()).ok_or_else(|| bad("expected `<millis>ms`"))?;
            if n >= 1_000_000_000_000 {
                d.wall_us = Some(n as i64 * 1000);
            } else {
                d.uptime_us = Some(n as i64 * 1000);
            }
        } else if let Some(v) = text.strip_suffix("ns") {
            let n = parse_u64(v.as_bytes()).ok_or_else(|| bad("expected `<nanos>ns`"))?;
            d.nanos_us = Some((n / 1000) as i64);
        } else if let Some(v) = text.strip_suffix('s') {
            d.uptime_us = Some(match uptime_us_exact(v.as_bytes()) {
                Some(us) => us,
                None => {
                    let secs =
                        parse_decimal(v.as_bytes()).ok_or_else(|| bad("expected `<seconds>s`"))?;
                    (secs * 1e6).round() as i64
                }
            });
        } else if s.iter().all(u8::is_ascii_digit) {
            if d.pid.is_none() {
                d.pid = Some(text);
            } else {
                d.tid = Some(text);
            }
        } else {
            d.host = Some(trimmed);
        }
    } else if LEVELS.contains(&trimmed) {
        d.level = Some(trimmed);
    } else if !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b',' || b == b'_')
        && d.tags.is_none()
    {
        d.tags = Some(trimmed);
    } else {
        d.host = Some(trimmed);
    }
    Ok(())
}

/// `0.123` / `2,048` seconds in µs with integers only, for the usual shape (up to 8 integer
/// and 6 fraction digits), where it equals `(parse_decimal(s) * 1e6).round()`: that value is
/// within a few ulps of an integer below 10^14, so the rounding gives this exact one. `None`
/// for any other shape.
pub(super) fn uptime_us_exact(s: &[u8]) -> Option<i64> {
    let int_len = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if int_len == 0 || int_len > 8 {
        return None;
    }
    let mut us: i64 = 0;
    for &b in &s[..int_len] {
        us = us * 10 + i64::from(b - b'0');
    }
    us *= 1_000_000;
    let rest = &s[int_len..];
    let Some((&sep, frac)) = rest.split_first() else {
        return Some(us);
    };
    if !matches!(sep, b'.' | b',') || frac.len() > 6 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut scale = 100_000;
    for &b in frac {
        us += i64::from(b - b'0') * scale;
        scale /= 10;
    }
    Some(us)
}

/// What a unified message says. Returned by value (no allocation per line), hence the
/// size difference between variants.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// A row.
    Event(GcEvent<'a>),
    /// A generation's sizes for a GC id (`PSYoungGen: 3072K->488K(3584K)`).
    Sizes {
        /// GC id.
        gc_id: u64,
        /// `young`, `old` or `metaspace`.
        area: Area,
        /// Sizes.
        t: Transition,
        /// Collector the generation name implies.
        collector: Option<&'static str>,
    },
    /// G1 region counts for a GC id (`Eden regions: 12->0(13)`).
    Regions {
        /// GC id.
        gc_id: u64,
        /// Which regions.
        which: Region,
        /// Counts (not bytes).
        t: Transition,
    },
    /// `Heap Region Size: 1M`.
    RegionSize(u64),
    /// `Using G1` and friends.
    Collector(&'static str),
    /// `User=0.01s Sys=0.00s Real=0.01s` of a GC id.
    Cpu {
        /// GC id.
        gc_id: u64,
        /// Times.
        times: CpuTimes,
    },
    /// Start of a statistics table printed at exit (Shenandoah): untagged lines follow.
    StatsStart,
    /// A known GC line that makes no row (start markers, detail lines, banners).
    Known,
    /// Not recognised.
    Unknown,
    /// An event line cut short (unbalanced parentheses): the log ends mid-line.
    Truncated,
}

/// Memory areas with per-generation columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Young generation.
    Young,
    /// Old generation.
    Old,
    /// Metaspace / permanent generation.
    Metaspace,
}

/// G1 region kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Eden.
    Eden,
    /// Survivor.
    Survivor,
    /// Old.
    Old,
    /// Humongous.
    Humongous,
}

/// Parses one unified line (without its line end). `msg_at` is where the message starts.
pub fn parse_message<'a>(line: &'a [u8], msg_at: usize, d: &Decorations<'a>) -> Message<'a> {
    let Ok(msg) = std::str::from_utf8(&line[msg_at..]) else {
        return Message::Unknown;
    };
    parse_message_str(msg, d)
}

/// [`parse_message`] of a message already checked as UTF-8.
pub(crate) fn parse_message_str<'a>(msg: &'a str, d: &Decorations<'a>) -> Message<'a> {
    let msg = trim_end_fast(msg);
    let (gc_id, rest) = split_gc_id(msg);
    // Generational ZGC prefixes phases with the generation: `y: Pause Mark Start 0.010ms`.
    let rest = match rest.as_bytes() {
        [b'y' | b'Y' | b'o' | b'O', b':', b' ', ..] => &rest[3..],
        _ => rest,
    };
    let base = GcEvent {
        wall_us: d.wall_us,
        uptime_us: d.uptime(),
        pid: d.pid,
        host: d.host,
        gc_id,
        ..Default::default()
    };

    if rest.starts_with("Pause ") || rest.starts_with("Concurrent ") {
        let b = rest.as_bytes();
        // One pass over the (short) line, vectorised by the compiler.
        let (open, close) = b.iter().fold((0u32, 0u32), |(o, c), &x| {
            (o + u32::from(x == b'('), c + u32::from(x == b')'))
        });
        if open != close {
            return Message::Truncated;
        }
        return timed_phase(rest, base);
    }
    if let Some(c) = [
        "Garbage Collection (",
        "Major Collection (",
        "Minor Collection (",
    ]
    .iter()
    .find(|p| rest.starts_with(**p))
    {
        let _ = c;
        return zgc_cycle(rest, base);
    }
    for (prefix, kind) in [
        ("Allocation Stall (", "allocation_stall"),
        ("Relocation Stall (", "relocation_stall"),
    ] {
        if rest.starts_with(prefix) {
            let Some(sp) = rfind_byte(rest, b' ') else {
                return Message::Unknown;
            };
            let Some((secs, n)) = parse_duration(&rest.as_bytes()[sp + 1..]) else {
                return Message::Known;
            };
            if n != rest.len() - sp - 1 {
                return Message::Unknown;
            }
            return Message::Event(GcEvent {
                kind,
                phase: &rest[..sp],
                collector: Some(collector::ZGC),
                stop_the_world: Some(false),
                duration_s: Some(secs),
                ..base
            });
        }
    }
    if let Some(r) = rest.strip_prefix("Safepoint \"") {
        let Some(q) = r.find('"') else {
            return Message::Unknown;
        };
        let Some(t) = r.find("Total: ") else {
            return Message::Unknown;
        };
        let Some((secs, _)) = parse_duration(&r.as_bytes()[t + 7..]) else {
            return Message::Unknown;
        };
        return Message::Event(GcEvent {
            kind: "safepoint",
            phase: &r[..q],
            stop_the_world: Some(true),
            duration_s: Some(secs),
            ..base
        });
    }
    if let Some(r) = rest.strip_prefix(STOPPED) {
        return match parse_duration(r.as_bytes()) {
            Some((secs, _)) => Message::Event(GcEvent {
                kind: "safepoint",
                phase: &rest[..STOPPED.len() - 2],
                stop_the_world: Some(true),
                duration_s: Some(secs),
                ..base
            }),
            None => Message::Unknown,
        };
    }
    if rest.starts_with("Out Of Memory (") {
        return Message::Event(GcEvent {
            kind: "out_of_memory",
            phase: rest,
            collector: Some(collector::ZGC),
            ..base
        });
    }
    if rest == "To-space exhausted" {
        return Message::Event(GcEvent {
            kind: "evacuation_failure",
            phase: rest,
            collector: Some(collector::G1),
            ..base
        });
    }
    if let Some(id) = gc_id {
        return detail(id, rest);
    }
    banner(rest, d)
}

pub(crate) const STOPPED: &str = "Total time for which application threads were stopped: ";

fn split_gc_id(msg: &str) -> (Option<u64>, &str) {
    if let Some(r) = msg.strip_prefix("GC(")
        && let Some(close) = find_byte(r.as_bytes(), b')')
        && let Some(id) = parse_u64(&r.as_bytes()[..close])
    {
        let rest = &r[close + 1..];
        return (Some(id), rest.strip_prefix(' ').unwrap_or(rest));
    }
    (None, msg)
}

/// `Pause Young (Normal) (G1 Evacuation Pause) 24M->4M(256M) 3.456ms`; no duration: a start marker.
fn timed_phase<'a>(rest: &'a str, base: GcEvent<'a>) -> Message<'a> {
    let Some(sp) = rfind_byte(rest, b' ') else {
        return Message::Known;
    };
    let last = &rest[sp + 1..];
    let Some((secs, n)) = parse_duration(last.as_bytes()) else {
        return Message::Known;
    };
    if n != last.len() {
        return Message::Known;
    }
    let mut name = trim_end_fast(&rest[..sp]);
    let mut heap = Transition::default();
    if let Some(sp2) = rfind_byte(name, b' ')
        && let Some((t, n)) = parse_transition(&name.as_bytes()[sp2 + 1..])
        && n == name.len() - sp2 - 1
    {
        heap = t;
        name = trim_end_fast(&name[..sp2]);
    }
    let (phase, cause) = split_phase_cause(name);
    let (kind, stw, col) = classify_phase(phase);
    // Names only G1 uses: its causes (`G1 Evacuation Pause`, `G1 Humongous Allocation`,
    // `G1 Compaction Pause`, ...) and its young-pause qualifiers. They tell the collector
    // when the `Using G1` banner is not in this file (a rotated log's later files).
    let col = col.or_else(|| {
        let g1 = cause.is_some_and(|c| c.starts_with("G1 "))
            || phase.ends_with(" (Normal)")
            || phase.ends_with(" (Concurrent Start)")
            || phase.ends_with(" (Prepare Mixed)")
            || phase.ends_with(" (Mixed)")
            || phase == "Pause Cleanup";
        g1.then_some(collector::G1)
    });
    Message::Event(GcEvent {
        kind,
        phase,
        cause,
        collector: col,
        stop_the_world: stw,
        duration_s: Some(secs),
        heap,
        ..base
    })
}

/// ZGC: `Garbage Collection (Warmup) 208M(20%)->164M(16%)`, generational
/// `Minor Collection (Allocation Rate) 16M(0%)->8M(0%) 0.005s`.
fn zgc_cycle<'a>(rest: &'a str, base: GcEvent<'a>) -> Message<'a> {
    let Some(close) = rest.find(") ") else {
        return Message::Known;
    };
    let name = &rest[..close + 1];
    let mut tail = rest[close + 2..].trim();
    let mut duration = None;
    if let Some(sp) = tail.rfind(' ')
        && let Some((secs, n)) = parse_duration(&tail.as_bytes()[sp + 1..])
        && n == tail.len() - sp - 1
    {
        duration = Some(secs);
        tail = &tail[..sp];
    }
    // The cycle's event is its summary line, the one with the heap transition; other lines
    // naming the cycle (its start) carry nothing to count.
    let Some(heap) = zgc_transition(tail.as_bytes()) else {
        return Message::Known;
    };
    let (phase, cause) = split_phase_cause(name);
    Message::Event(GcEvent {
        kind: "concurrent_cycle",
        phase,
        cause,
        collector: Some(collector::ZGC),
        stop_the_world: Some(false),
        duration_s: duration,
        heap,
        ..base
    })
}

/// `502M(49%)->716M(70%)`.
fn zgc_transition(s: &[u8]) -> Option<Transition> {
    let (before, n) = parse_size(s)?;
    let arrow = memchr::memmem::find(s, b"->")?;
    if arrow < n {
        return None;
    }
    let (after, _) = parse_size(&s[arrow + 2..])?;
    Some(Transition {
        before: Some(before),
        after: Some(after),
        capacity: None,
    })
}

/// A line of a GC id that is not an event: sizes, CPU times, or a known detail.
fn detail(gc_id: u64, rest: &str) -> Message<'_> {
    for (prefix, which) in [
        ("Eden regions: ", Region::Eden),
        ("Survivor regions: ", Region::Survivor),
        ("Old regions: ", Region::Old),
        ("Humongous regions: ", Region::Humongous),
    ] {
        if let Some(r) = rest.strip_prefix(prefix) {
            return match parse_transition(r.as_bytes()) {
                Some((t, _)) => Message::Regions { gc_id, which, t },
                None => Message::Known,
            };
        }
    }
    for (prefix, area, col) in [
        ("PSYoungGen: ", Area::Young, Some(collector::PARALLEL)),
        ("DefNew: ", Area::Young, Some(collector::SERIAL)),
        ("ParNew: ", Area::Young, Some(collector::CMS)),
        ("ParOldGen: ", Area::Old, Some(collector::PARALLEL)),
        ("PSOldGen: ", Area::Old, Some(collector::PARALLEL)),
        ("Tenured: ", Area::Old, Some(collector::SERIAL)),
        ("CMS: ", Area::Old, Some(collector::CMS)),
        ("Metaspace: ", Area::Metaspace, None),
    ] {
        if let Some(r) = rest.strip_prefix(prefix) {
            return match parse_transition(r.as_bytes()) {
                Some((t, _)) => Message::Sizes {
                    gc_id,
                    area,
                    t,
                    collector: col,
                },
                None => Message::Known,
            };
        }
    }
    if let Some(r) = rest.strip_prefix("User=") {
        let mut it = r.split(' ');
        let user = it.next().and_then(secs_value);
        let sys = it
            .next()
            .and_then(|s| s.strip_prefix("Sys="))
            .and_then(secs_value);
        let real = it
            .next()
            .and_then(|s| s.strip_prefix("Real="))
            .and_then(secs_value);
        if let (Some(user), Some(sys), Some(real)) = (user, sys, real) {
            return Message::Cpu {
                gc_id,
                times: CpuTimes { user, sys, real },
            };
        }
    }
    // Every other line of a GC id is detail output of that collection (phases, workers,
    // references, ZGC tables, pacer, ergonomics).
    Message::Known
}

fn secs_value(s: &str) -> Option<f64> {
    parse_decimal(s.strip_suffix('s')?.as_bytes())
}

/// Lines without a GC id: collector banner, configuration, exit printouts.
fn banner<'a>(rest: &'a str, d: &Decorations<'a>) -> Message<'a> {
    if let Some(name) = rest.strip_prefix("Using ") {
        let c = match name {
            "G1" => Some(collector::G1),
            "Parallel" => Some(collector::PARALLEL),
            "Serial" => Some(collector::SERIAL),
            "Concurrent Mark Sweep" => Some(collector::CMS),
            "The Z Garbage Collector" => Some(collector::ZGC),
            "Shenandoah" => Some(collector::SHENANDOAH),
            _ => None,
        };
        return c.map_or(Message::Known, Message::Collector);
    }
    for p in ["Heap Region Size: ", "Heap region size: "] {
        if let Some(r) = rest.strip_prefix(p) {
            return parse_size(r.as_bytes())
                .map_or(Message::Known, |(v, _)| Message::RegionSize(v));
        }
    }
    if rest.starts_with("All times are wall-clock times") || rest.starts_with("GC STATISTICS") {
        return Message::StatsStart;
    }
    if let Some(tags) = d.tags
        && tags
            .split(',')
            .any(|t| matches!(t, "init" | "stats" | "exit" | "ergo" | "metaspace" | "heap"))
    {
        return Message::Known;
    }
    if KNOWN_UNTAGGED.iter().any(|p| rest.starts_with(p)) || rest.is_empty() {
        return Message::Known;
    }
    // Shenandoah's exit summary lines are indented; ZGC prints its MMU/tables with GC ids.
    if rest.starts_with(' ') && contains(rest.as_bytes(), b" us") {
        return Message::Known;
    }
    Message::Unknown
}

/// Informational lines printed without a GC id by `-Xlog:gc*` (JDK 9-21).
const KNOWN_UNTAGGED: &[&str] = &[
    "Version: ",
    "Alignments: ",
    "CDS archive",
    "Compressed class space",
    "Narrow klass",
    "CPUs: ",
    "Memory: ",
    "Large Page Support: ",
    "NUMA Support: ",
    "Compressed Oops: ",
    "Heap Min Capacity: ",
    "Heap Initial Capacity: ",
    "Heap Max Capacity: ",
    "Pre-touch: ",
    "Parallel Workers: ",
    "Concurrent Workers: ",
    "Concurrent Refinement Workers: ",
    "Periodic GC: ",
    "Heap",
    " garbage-first heap",
    "  region size",
    " Metaspace",
    "  class space",
    " PSYoungGen",
    " ParOldGen",
    " def new generation",
    " tenured generation",
    "  eden space",
    "  from space",
    "  to   space",
    "   the space",
    "  object space",
    " ZHeap",
    " Shenandoah Heap",
    "Shenandoah",
    "Min heap equals to max heap",
    "Heuristics ergonomically sets",
    "Soft Max Heap Size",
    "Regions: ",
    "Humongous object threshold",
    "Max TLAB size",
    "GC threads: ",
    "Initialize Shenandoah heap",
    "Reference processing: ",
    "Trigger: ",
    "Free: ",
    "Pacer for ",
    "Failed to allocate",
    // Printed with tags gc,ergo / gc,init: without a `tags` decoration they arrive untagged.
    "Attempting full compaction",
    "Attempting maximum full compaction",
    "Mode: ",
    "Heuristics: ",
    "TLAB Size Max: ",
    "Humongous Object Threshold: ",
    "Cancelling GC: ",
    "Evacuation Reserve: ",
    "Free headroom: ",
    "Application time: ",
    "Entering safepoint region: ",
    "Leaving safepoint region",
    "Initializing The Z Garbage Collector",
    "Address Space",
    "Min Capacity: ",
    "Initial Capacity: ",
    "Max Capacity: ",
    "Medium Page Size: ",
    "Runtime Workers: ",
    "Uncommit: ",
    "Uncommit Delay: ",
    "Heap Backing ",
    "Available space on backing filesystem",
    "GC Workers",
    "Probing address space",
    "Mark Stack",
    "Periodic GC",
    "Using legacy",
    "Allocation pacing accrued",
    "all workers. Dividing",
];
