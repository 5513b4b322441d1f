//! JDK 7/8 `-XX:+PrintGCDetails` records, with or without `-XX:+PrintGCDateStamps` /
//! `-XX:+PrintGCTimeStamps`, `-XX:+PrintGCApplicationStoppedTime`; Parallel, CMS, G1, Serial
//! and JDK 8 Shenandoah.
//!
//! ```text
//! record    = prefix ( event / stopped / known-line )
//! prefix    = [ iso8601 ": " ] [ uptime ": " ]       ; uptime may use a decimal comma
//! event     = "[" head *( text / nested / prefix ) ", " duration "]" [ times ] *detail
//! head      = name *( SP "(" group ")" )            ; `GC (Allocation Failure)`, `Full GC (Ergonomics)`,
//!                                                   ; `GC pause (G1 Evacuation Pause) (young)`
//! nested    = "[" label ": " transition [ ", " duration ] "]"   ; `[PSYoungGen: 65536K->10746K(76288K)]`
//! duration  = number SP ( "secs" / "ms" ) / cpu "/" wall " secs"   ; CMS concurrent phases
//! times     = SP "[Times: user=" n " sys=" n ", real=" n " secs]"
//! detail    = SP line                                ; G1: `   [Eden: 124M(124M)->0B(126M) Survivors: ... Heap: ...]`
//! stopped   = "Total time for which application threads were stopped: " n " seconds, ..."
//! ```
//!
//! The event's duration is the one before the bracket that closes its head bracket; size
//! transitions anywhere in the record are assigned by their label (`PSYoungGen`, `ParNew`,
//! `DefNew`, `Eden`/`Survivors` → young; `ParOldGen`, `PSOldGen`, `CMS`, `Tenured` → old;
//! `Metaspace`, `Perm` → metaspace; `Heap` or none → heap). CMS and G1 concurrent phases
//! printed inside another event become rows of their own.

use super::{
    CpuTimes, Events, GcEvent, Transition, classify_phase, collector, contains, number_len,
    parse_decimal, parse_duration, parse_transition, split_phase_cause, unified::STOPPED,
};
use crate::error::{ErrorKind, ParseError};
use crate::text::{parse_seconds_us, trim_eol};
use crate::time::parse_iso8601;

/// What a JDK 8 record is. Returned by value (no allocation per record), hence the size
/// difference between variants.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Default)]
pub enum Legacy<'a> {
    /// Rows.
    Events(Events<'a>),
    /// GC output that makes no row (start markers, banners, ergonomics, statistics).
    #[default]
    Known,
    /// A statistics table printed at exit starts (Shenandoah): untimestamped lines follow.
    StatsStart,
}

/// Parses one JDK 8 record. `in_stats`: a statistics table is being printed, so lines
/// without a time stamp are part of it.
pub fn parse_legacy(record: &[u8], in_stats: bool) -> Result<Legacy<'_>, ParseError> {
    let rec = trim_eol(record);
    let Ok(text) = std::str::from_utf8(rec) else {
        let bad = std::str::from_utf8(rec).unwrap_err().valid_up_to();
        return Err(ParseError::new(
            ErrorKind::Malformed,
            bad,
            "invalid UTF-8 in a GC log record",
        ));
    };
    let (wall_us, uptime_us, mut pos) = prefix(rec)?;
    let stamped = pos > 0;
    while rec.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let body = &text[pos..];
    if !body.starts_with('[')
        && let Some(ev) = out_of_memory(
            body,
            &GcEvent {
                wall_us,
                uptime_us,
                ..Default::default()
            },
        )
    {
        let mut evs = Events::default();
        evs.push(ev);
        return Ok(Legacy::Events(evs));
    }
    if !stamped {
        if body.starts_with("All times are wall-clock") || body.starts_with("GC STATISTICS") {
            return Ok(Legacy::StatsStart);
        }
        if in_stats || is_known_text(text) {
            return Ok(Legacy::Known);
        }
    }
    let base = GcEvent {
        wall_us,
        uptime_us,
        ..Default::default()
    };
    if let Some(r) = body.strip_prefix(STOPPED) {
        let (secs, _) = parse_duration(r.as_bytes()).ok_or_else(|| {
            ParseError::new(
                ErrorKind::Malformed,
                pos + STOPPED.len(),
                "expected `<seconds> seconds` after `threads were stopped:`",
            )
        })?;
        let mut ev = Events::default();
        ev.push(GcEvent {
            kind: "safepoint",
            phase: &STOPPED[..STOPPED.len() - 2],
            stop_the_world: Some(true),
            duration_s: Some(secs),
            ..base
        });
        return Ok(Legacy::Events(ev));
    }
    if body.starts_with("Application time: ") {
        return Ok(Legacy::Known);
    }
    if !body.starts_with('[') {
        return Err(ParseError::new(
            ErrorKind::Malformed,
            pos,
            if stamped {
                "expected `[` after the GC time stamp"
            } else {
                "not GC log output: no time stamp, no `[` event and not a known header line"
            },
        ));
    }
    event(rec, text, pos, base)
}

const OOME: &str = "java.lang.OutOfMemoryError";

/// A line of the JVM's stdout/stderr reporting an OutOfMemoryError, when the GC log goes
/// there too (`-Xlog:gc:stdout`, JDK 8 `-verbose:gc`): `Exception in thread "main"
/// java.lang.OutOfMemoryError: Java heap space` (with its stack trace as indented lines),
/// `Terminating due to java.lang.OutOfMemoryError: Java heap space`
/// (`-XX:+ExitOnOutOfMemoryError`), `Aborting due to ...` (`-XX:+CrashOnOutOfMemoryError`),
/// the bare `java.lang.OutOfMemoryError: Metaspace` of `-XX:+HeapDumpOnOutOfMemoryError`.
/// The phase is the first line up to the class name, the cause what follows its colon.
fn out_of_memory<'a>(body: &'a str, base: &GcEvent<'a>) -> Option<GcEvent<'a>> {
    let first = body.split('\n').next().unwrap_or(body);
    let at = first.find(OOME)? + OOME.len();
    let cause = first[at..]
        .strip_prefix(':')
        .map(str::trim)
        .filter(|c| !c.is_empty());
    Some(GcEvent {
        kind: "out_of_memory",
        phase: first[..at].trim_start(),
        cause,
        ..base.clone()
    })
}

/// `2014-07-24T13:49:45.090+0400: 0.155: ` → (wall, uptime, bytes consumed).
fn prefix(rec: &[u8]) -> Result<(Option<i64>, Option<i64>, usize), ParseError> {
    let mut pos = 0;
    let mut wall = None;
    let mut uptime = None;
    if rec.len() > 20 && rec[4] == b'-' && rec[10] == b'T' && rec[0].is_ascii_digit() {
        let (t, used) = parse_iso8601(rec).ok_or_else(|| {
            ParseError::new(
                ErrorKind::BadTimestamp,
                0,
                "expected an ISO 8601 date stamp",
            )
        })?;
        if !rec[used..].starts_with(b": ") {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                used,
                "expected `: ` after the date stamp",
            ));
        }
        wall = Some(t);
        pos = used + 2;
    }
    let n = number_len(&rec[pos..]);
    if n > 0 && rec[pos + n..].starts_with(b": ") {
        let s = &rec[pos..pos + n];
        let us = if memchr::memchr(b',', s).is_some() {
            parse_decimal(s).map(|v| (v * 1e6).round() as i64)
        } else {
            parse_seconds_us(s)
        };
        uptime = Some(us.ok_or_else(|| {
            ParseError::new(ErrorKind::BadTimestamp, pos, "uptime is not a number")
        })?);
        pos += n + 2;
    }
    Ok((wall, uptime, pos))
}

/// Lines that are GC output but never an event.
fn is_known_text(text: &str) -> bool {
    const KNOWN: &[&str] = &[
        "Java HotSpot(TM)",
        "OpenJDK ",
        "Memory: ",
        "CommandLine flags: ",
        "/proc/meminfo:",
        "Heap",
        "{Heap",
        "}",
        "Desired survivor size",
        // -XX:+HeapDumpOnOutOfMemoryError, after its `java.lang.OutOfMemoryError: ...` line
        "Dumping heap to ",
        "Heap dump file created",
        // The fatal-error banner of -XX:+CrashOnOutOfMemoryError, after `Aborting due to ...`
        "#",
        "- age ",
        // CMS -XX:+PrintCMSInitiationStatistics
        "CMSCollector shouldConcurrentCollect",
        "time_until_cms_gen_full",
        "free=",
        "contiguous_available=",
        "promotion_rate=",
        "cms_allocation_rate=",
        "occupancy=",
        "initiatingOccupancy=",
        "initiatingPermOccupancy=",
        // JDK 8 Shenandoah, untimestamped
        "Regions: ",
        "Humongous object threshold",
        "Max TLAB size",
        "GC threads: ",
        "Heuristics ergonomically sets",
        "Shenandoah ",
        "Pacer for ",
        "Initialize Shenandoah heap",
        "Reference processing: ",
        "Soft Max Heap Size",
        "Trigger: ",
        "Free: ",
        "Cancelling GC: ",
        "Failed to allocate",
        ", [Metaspace: ",
        "Status: ",
        "Reserved region:",
        "Collection set:",
        " ",
        "\t",
    ];
    if KNOWN.iter().any(|p| text.starts_with(p)) {
        return true;
    }
    // `2016-04-14 22:37:22 GC log file created ...` / `... has reached the maximum size`.
    text.len() > 20
        && text.as_bytes()[10] == b' '
        && text[..20].contains(':')
        && contains(text.as_bytes(), b" GC log file ")
}

/// Index of the `]` closing the `[` at `open`, skipping `[0x...)` address ranges.
fn closing(rec: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut i = open;
    while let Some(off) = memchr::memchr2(b'[', b']', &rec[i..]) {
        let p = i + off;
        if rec[p] == b'[' {
            if !rec[p + 1..].starts_with(b"0x") {
                depth += 1;
            }
        } else {
            depth -= 1;
            if depth == 0 {
                return Some(p);
            }
        }
        i = p + 1;
    }
    None
}

/// The head of an event: its name and the parenthesised groups that follow, up to nested
/// brackets, a comma, a colon, a size or a time stamp.
fn head(s: &str) -> &str {
    let b = s.as_bytes();
    let mut depth = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            b'\n' => break,
            b'[' | b',' | b':' | b'{' | b'0'..=b'9' if depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    let h = s[..i].trim_end();
    h.strip_suffix("Before GC").map_or(h, str::trim_end)
}

fn event<'a>(
    rec: &'a [u8],
    text: &'a str,
    open: usize,
    base: GcEvent<'a>,
) -> Result<Legacy<'a>, ParseError> {
    let close = closing(rec, open).ok_or_else(|| {
        ParseError::new(
            ErrorKind::Truncated,
            open,
            "the GC event's `[` is never closed: record truncated or cut by other output",
        )
    })?;
    let inner = &text[open + 1..close];
    let h = head(inner);
    let mut events = Events::default();

    // Start markers and informational brackets make no row.
    if h.ends_with("-start")
        || inner.ends_with(", start")
        || h.starts_with("G1Ergonomics")
        || h.starts_with("Times")
        || h == "GC concurrent-mark-reset-for-overflow"
        || h == "GC concurrent-mark-abort"
    {
        // A start marker can still carry an embedded event on the same record.
        scan(rec, text, open, close, &base, &mut events, None);
        return Ok(if events.is_empty() {
            Legacy::Known
        } else {
            Legacy::Events(events)
        });
    }

    let (mut phase, mut cause) = split_phase_cause(h);
    let duration = top_duration(inner).ok_or_else(|| {
        ParseError::new(
            ErrorKind::Malformed,
            close,
            "expected `, <n> secs` (or `ms`) before the event's closing `]`",
        )
    })?;
    let mut main = GcEvent {
        duration_s: Some(duration),
        ..base.clone()
    };
    let (kind, stw, col): (&'static str, Option<bool>, Option<&'static str>) =
        if h.starts_with("GC pause") {
            let k = if contains(inner.as_bytes(), b"(mixed)") {
                "mixed"
            } else {
                "young"
            };
            (k, Some(true), Some(collector::G1))
        } else if h.starts_with("GC remark") {
            ("remark", Some(true), Some(collector::G1))
        } else if h.starts_with("GC cleanup") {
            ("cleanup", Some(true), Some(collector::G1))
        } else if h.starts_with("GC concurrent-") {
            ("concurrent", Some(false), Some(collector::G1))
        } else if h.starts_with("CMS-concurrent-") {
            ("concurrent", Some(false), Some(collector::CMS))
        } else if h.starts_with("Full GC") {
            ("full", Some(true), None)
        } else if h == "GC" || h.starts_with("GC (") {
            if contains(inner.as_bytes(), b"CMS-initial-mark") {
                ("initial_mark", Some(true), Some(collector::CMS))
            } else if contains(inner.as_bytes(), b"CMS-remark") {
                ("remark", Some(true), Some(collector::CMS))
            } else {
                ("young", Some(true), None)
            }
        } else if h.starts_with("Pause ") || h.starts_with("Concurrent ") {
            let (k, s, _) = classify_phase(phase);
            (k, s, Some(collector::SHENANDOAH))
        } else {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                open + 1,
                "unknown JDK 8 GC event name",
            ));
        };
    if h.starts_with("GC concurrent-") || h.starts_with("CMS-concurrent-") {
        // `CMS-concurrent-mark: 0.010/0.010 secs`: the name ends at the colon.
        phase = inner.split([':', ',']).next().unwrap_or(h).trim_end();
        cause = None;
    }
    main.kind = kind;
    main.stop_the_world = stw;
    main.collector = col;
    main.phase = phase;
    main.cause = cause;
    let full = scan(rec, text, open, close, &base, &mut events, Some(&mut main));
    if full && main.kind == "young" {
        // A young collection that fell back to collecting the old generation
        // (promotion failed, concurrent mode failure).
        main.kind = "full";
    }
    let evac_failure = contains(inner.as_bytes(), b"(to-space exhausted)")
        || contains(inner.as_bytes(), b"(to-space overflow)");
    // Main row first, then embedded rows (they were pushed during the scan).
    let mut out = Events::default();
    out.push(main.clone());
    for e in events.iter() {
        out.push(e.clone());
    }
    if evac_failure {
        out.push(GcEvent {
            kind: "evacuation_failure",
            phase: "to-space exhausted",
            collector: main.collector,
            ..base
        });
    }
    Ok(Legacy::Events(out))
}

/// Duration before the closing bracket: `..., 0.0263911 secs`, `..., 0,0047 secs` (decimal
/// comma), `..., 3.341 ms` (Shenandoah), `CMS-concurrent-mark: 0.010/0.023 secs` (CPU/wall:
/// the wall time).
fn top_duration(inner: &str) -> Option<f64> {
    let t = inner.trim_end();
    let (t, scale) = if let Some(r) = t.strip_suffix("secs") {
        (r, 1.0)
    } else if let Some(r) = t.strip_suffix("ms") {
        (r, 1e-3)
    } else {
        return None;
    };
    let t = t.trim_end();
    let b = t.as_bytes();
    let mut j = b.len();
    while j > 0 && (b[j - 1].is_ascii_digit() || matches!(b[j - 1], b'.' | b',')) {
        j -= 1;
    }
    let num = t[j..].trim_start_matches([',', '.']);
    parse_decimal(num.as_bytes()).map(|v| v * scale)
}

/// Walks the record from the event's `[`: assigns size transitions to the main event,
/// collects embedded concurrent events and the `[Times: ...]` after the event.
/// Returns true when an old generation was collected inside a young event.
fn scan<'a>(
    rec: &'a [u8],
    text: &'a str,
    open: usize,
    close: usize,
    base: &GcEvent<'a>,
    events: &mut Events<'a>,
    mut main: Option<&mut GcEvent<'a>>,
) -> bool {
    let mut stack: [usize; 16] = [0; 16];
    let mut depth = 0usize;
    let mut i = open;
    let mut eden = Transition::default();
    let mut surv = Transition::default();
    let mut old_collected = false;
    let mut cpu: Option<CpuTimes> = None;
    while i < rec.len() {
        let b = rec[i];
        match b {
            b'[' if !rec[i + 1..].starts_with(b"0x") => {
                if depth < stack.len() {
                    stack[depth] = i;
                }
                depth += 1;
                let rest = &text[i + 1..];
                if i != open
                    && (rest.starts_with("CMS-concurrent-") || rest.starts_with("GC concurrent-"))
                    && let Some(c) = closing(rec, i)
                {
                    let inner = &text[i + 1..c];
                    let name = inner.split([':', ',']).next().unwrap_or(inner).trim_end();
                    if !name.ends_with("-start")
                        && let Some(d) = top_duration(inner)
                    {
                        events.push(GcEvent {
                            kind: "concurrent",
                            phase: name,
                            collector: Some(if rest.starts_with("CMS") {
                                collector::CMS
                            } else {
                                collector::G1
                            }),
                            stop_the_world: Some(false),
                            duration_s: Some(d),
                            ..base.clone()
                        });
                    }
                }
                if i > close && rest.starts_with("Times: ") {
                    cpu = times(rest).or(cpu);
                }
                i += 1;
            }
            b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'0'..=b'9'
                if i > 0
                    && !rec[i - 1].is_ascii_alphanumeric()
                    && !matches!(rec[i - 1], b'.' | b',' | b'-' | b'+' | b'=') =>
            {
                // Only a size (number then a unit, `(` or `->`) can start a transition; time
                // stamps and counts are skipped without parsing.
                let n = number_len(&rec[i..]);
                let sized = matches!(
                    rec.get(i + n),
                    Some(b'B' | b'K' | b'M' | b'G' | b'T' | b'(' | b'-')
                );
                if !sized {
                    i += n.max(1);
                } else if let Some((t, n)) = parse_transition(&rec[i..]) {
                    let lbl = label(
                        text,
                        i,
                        if depth > 0 {
                            stack[(depth - 1).min(15)]
                        } else {
                            open
                        },
                    );
                    if let Some(m) = main.as_deref_mut() {
                        match lbl {
                            "PSYoungGen" | "ParNew" | "DefNew" | "ASParNew" => {
                                m.young = m.young.or(t);
                                m.collector = m.collector.or(Some(young_collector(lbl)));
                            }
                            "ParOldGen" | "PSOldGen" | "CMS" | "Tenured" | "ASCMS" => {
                                m.old = m.old.or(t);
                                old_collected = true;
                                m.collector = m.collector.or(Some(young_collector(lbl)));
                            }
                            "Metaspace" | "Perm" | "PSPermGen" => m.metaspace = m.metaspace.or(t),
                            "Eden" => {
                                eden = eden.or(t);
                                m.collector = m.collector.or(Some(collector::G1));
                            }
                            "Survivors" => surv = surv.or(t),
                            "Heap" | "" => m.heap = m.heap.or(t),
                            _ => {}
                        }
                    }
                    i += n;
                } else {
                    i += number_len(&rec[i..]).max(1);
                }
            }
            _ => i += 1,
        }
    }
    if let Some(m) = main {
        if m.young.is_empty() && !eden.is_empty() {
            let add = |a: Option<u64>, b: Option<u64>| Some(a? + b.unwrap_or(0));
            m.young = Transition {
                before: add(eden.before, surv.before),
                after: add(eden.after, surv.after),
                capacity: None,
            };
        }
        m.times = cpu;
        if m.stop_the_world == Some(false) {
            // A concurrent phase's `[Times: ...]` are its own CPU times.
        }
    }
    old_collected
}

fn young_collector(label: &str) -> &'static str {
    match label {
        "PSYoungGen" | "ParOldGen" | "PSOldGen" => collector::PARALLEL,
        "DefNew" | "Tenured" => collector::SERIAL,
        _ => collector::CMS,
    }
}

/// The label of the transition at `at`: the word before a `:` right in front of it
/// (`PSYoungGen: `, `Eden: `, `CMS Perm : ` → `Perm`), else the first word of the innermost
/// bracket when the colon starts a line (`[ParNew (promotion failed)` ... `\n: 1098K->`),
/// else empty (the heap total).
fn label(text: &str, at: usize, bracket: usize) -> &str {
    let b = text.as_bytes();
    let mut j = at;
    while j > 0 && b[j - 1] == b' ' {
        j -= 1;
    }
    if j == 0 || b[j - 1] != b':' {
        return "";
    }
    j -= 1;
    while j > 0 && b[j - 1] == b' ' {
        j -= 1;
    }
    let end = j;
    while j > 0 && (b[j - 1].is_ascii_alphanumeric() || b[j - 1] == b'-') {
        j -= 1;
    }
    if j < end {
        return &text[j..end];
    }
    // Colon at the start of a line: the bracket's own name.
    let name = &text[bracket + 1..];
    let n = name
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || c == b'-'))
        .unwrap_or(name.len());
    // `[CMS2014-10-21T...: ` / `[CMS0.545: `: a time stamp glued to the name.
    name[..n].trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
}

/// `Times: user=0.08 sys=0.02, real=0.03 secs]`.
fn times(s: &str) -> Option<CpuTimes> {
    let end = s.find(']')?;
    let s = &s[..end];
    let field = |key: &str| -> Option<f64> {
        let at = super::find(s.as_bytes(), key.as_bytes())? + key.len();
        let r = &s[at..];
        let n = number_len(r.as_bytes());
        parse_decimal(&r.as_bytes()[..n])
    };
    Some(CpuTimes {
        user: field("user=")?,
        sys: field("sys=")?,
        real: field("real=")?,
    })
}
