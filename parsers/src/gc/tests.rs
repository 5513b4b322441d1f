use super::legacy::Legacy;
use super::unified::{Message, parse_message};
use super::*;
use crate::time::civil_to_us;

fn unified(line: &str) -> (Decorations<'_>, Message<'_>) {
    let (d, at) = parse_decorations(line.as_bytes()).unwrap();
    let m = parse_message(line.as_bytes(), at, &d);
    (d, m)
}

fn event(line: &str) -> GcEvent<'_> {
    match unified(line).1 {
        Message::Event(e) => e,
        other => panic!("not an event: {other:?}"),
    }
}

fn legacy(rec: &str) -> Vec<GcEvent<'_>> {
    match parse_legacy(rec.as_bytes(), false).unwrap() {
        Legacy::Events(e) => e.iter().cloned().collect(),
        other => panic!("no events: {other:?}"),
    }
}

const M: u64 = 1 << 20;
const K: u64 = 1 << 10;

fn t(b: u64, a: u64, c: Option<u64>) -> Transition {
    Transition {
        before: Some(b),
        after: Some(a),
        capacity: c,
    }
}

#[test]
fn decorations_any_set() {
    let (d, _) = unified(
        "[2026-11-23T12:00:00.123+0000][0.123s][1234ms][info][gc,start    ][4242][4243] GC(12) Pause Young (Normal) (G1 Evacuation Pause)",
    );
    assert_eq!(
        d.wall_us,
        Some(civil_to_us(2026, 11, 23, 12, 0, 0, 123_000).unwrap())
    );
    assert_eq!(d.uptime_us, Some(1_234_000)); // the later uptime decoration wins
    assert_eq!(d.level, Some("info"));
    assert_eq!(d.tags, Some("gc,start"));
    assert_eq!((d.pid, d.tid), (Some("4242"), Some("4243")));
    // timemillis (epoch) vs uptimemillis; uptimenanos; comma decimal uptime (ZGC sample).
    let (d, _) = unified("[1795439458650ms][1296746ns] Using G1");
    assert_eq!(d.wall_us, Some(1_795_439_458_650_000));
    assert_eq!(d.uptime(), Some(1296));
    let (d, _) =
        unified("[2,048s][info][gc] GC(1) Garbage Collection (Warmup) 208M(20%)->164M(16%)");
    assert_eq!(d.uptime_us, Some(2_048_000));
    let e = parse_decorations(b"[2026-13-01T00:00:00.000+0000] x").unwrap_err();
    assert_eq!((e.kind, e.offset), (crate::ErrorKind::BadTimestamp, 1));
}

#[test]
fn g1_young_pause() {
    let e = event(
        "[0.5s][info][gc] GC(12) Pause Young (Normal) (G1 Evacuation Pause) 24M->4M(256M) 3.456ms",
    );
    assert_eq!(e.gc_id, Some(12));
    assert_eq!(e.kind, "young");
    assert_eq!(e.phase, "Pause Young (Normal)");
    assert_eq!(e.cause, Some("G1 Evacuation Pause"));
    assert_eq!(e.stop_the_world, Some(true));
    assert_eq!(e.duration_s, Some(0.003456));
    assert_eq!(e.heap, t(24 * M, 4 * M, Some(256 * M)));
    assert_eq!(e.uptime_us, Some(500_000));
    let e =
        event("[1s][info][gc] GC(3) Pause Young (Mixed) (G1 Evacuation Pause) 9M->3M(16M) 1.000ms");
    assert_eq!(e.kind, "mixed");
    let e = event(
        "[1s][info][gc] GC(3) Pause Young (Concurrent Start) (G1 Humongous Allocation) 56M->55M(128M) 2.825ms",
    );
    assert_eq!(
        (e.kind, e.phase),
        ("young", "Pause Young (Concurrent Start)")
    );
    assert_eq!(e.cause, Some("G1 Humongous Allocation"));
    let e = event("[1s][info][gc] GC(3) Pause Remark 64M->64M(128M) 2.492ms");
    assert_eq!(
        (e.kind, e.cause, e.duration_s),
        ("remark", None, Some(0.002492))
    );
    let e = event("[1s][info][gc] GC(3) Pause Cleanup 64M->64M(128M) 0.006ms");
    assert_eq!(e.kind, "cleanup");
    let e = event("[1s][info][gc] GC(9) Pause Full (System.gc()) 100M->20M(128M) 12.5ms");
    assert_eq!((e.kind, e.cause), ("full", Some("System.gc()")));
    // G1's own causes and qualifiers name the collector without the `Using G1` banner (a
    // rotated log's later files); Parallel/Serial's `Pause Young (Allocation Failure)` does not.
    assert_eq!(e.collector, None);
    let e = event(
        "[2026-12-01T10:57:43.560+0000][0.128s][info][gc             ] GC(13) Pause Full (G1 Compaction Pause) 30M->29M(32M) 5.332ms",
    );
    assert_eq!(e.collector, Some(collector::G1));
    let e = event(
        "[0.5s][info][gc] GC(12) Pause Young (Normal) (GCLocker Initiated GC) 24M->4M(256M) 3.456ms",
    );
    assert_eq!(e.collector, Some(collector::G1));
    let e =
        event("[0.203s][info][gc] GC(0) Pause Young (Allocation Failure) 32M->29M(123M) 6.868ms");
    assert_eq!(e.collector, None);
}

#[test]
fn start_markers_and_details_make_no_row() {
    assert_eq!(
        unified("[1s][info][gc,start] GC(3) Pause Remark").1,
        Message::Known
    );
    assert_eq!(
        unified("[1s][info][gc] GC(3) Concurrent Mark Cycle").1,
        Message::Known
    );
    assert_eq!(
        unified("[1s][info][gc,phases] GC(3) Pre Evacuate Collection Set: 0.1ms").1,
        Message::Known
    );
    assert_eq!(
        unified("[1s][info][gc,init] Version: 17.0.15").1,
        Message::Known
    );
    assert_eq!(
        unified("[1s][info][gc] Using G1").1,
        Message::Collector(collector::G1)
    );
    assert_eq!(
        unified("[1s][info][gc,init] Heap Region Size: 1M").1,
        Message::RegionSize(M)
    );
    assert_eq!(
        unified("[1s][info][gc,heap] GC(3) Eden regions: 12->0(13)").1,
        Message::Regions {
            gc_id: 3,
            which: unified::Region::Eden,
            t: t(12, 0, Some(13))
        }
    );
    assert_eq!(
        unified("[1s][info][gc,cpu] GC(3) User=0.01s Sys=0.02s Real=0.03s").1,
        Message::Cpu {
            gc_id: 3,
            times: CpuTimes {
                user: 0.01,
                sys: 0.02,
                real: 0.03
            }
        }
    );
    assert_eq!(unified("[1s][info][gc] Something new").1, Message::Unknown);
}

#[test]
fn concurrent_phases_are_not_pauses() {
    let e = event("[0.697s][info][gc] GC(18) Concurrent Mark 2.299ms");
    assert_eq!((e.kind, e.stop_the_world), ("concurrent", Some(false)));
    assert_eq!(e.duration_s, Some(0.002299));
    let e = event("[1s][info][gc] GC(3) Concurrent Mark Cycle 6.112ms");
    assert_eq!(
        (e.kind, e.phase),
        ("concurrent_cycle", "Concurrent Mark Cycle")
    );
    let e = event("[1s][info][gc] GC(7) Concurrent cleanup 1613M->1361M(1636M) 0.092ms");
    assert_eq!(e.heap, t(1613 * M, 1361 * M, Some(1636 * M)));
    assert_eq!(e.stop_the_world, Some(false));
}

#[test]
fn zgc_and_shenandoah() {
    let e =
        event("[3,167s][info][gc] GC(3) Garbage Collection (Allocation Rate) 502M(49%)->716M(70%)");
    assert_eq!(e.collector, Some(collector::ZGC));
    assert_eq!(
        (e.kind, e.cause),
        ("concurrent_cycle", Some("Allocation Rate"))
    );
    assert_eq!(e.heap, t(502 * M, 716 * M, None));
    assert_eq!(e.duration_s, None);
    let e = event("[1s][info][gc] GC(4) Minor Collection (Allocation Rate) 16M(0%)->8M(0%) 0.005s");
    assert_eq!((e.phase, e.duration_s), ("Minor Collection", Some(0.005)));
    let e = event("[1s][info][gc,phases] GC(4) y: Pause Mark Start 0.012ms");
    assert_eq!(
        (e.kind, e.collector),
        ("initial_mark", Some(collector::ZGC))
    );
    let e = event("[1s][info][gc] Allocation Stall (main) 12.3ms");
    assert_eq!(
        (e.kind, e.stop_the_world, e.duration_s),
        ("allocation_stall", Some(false), Some(0.0123))
    );
    let e = event("[0.1s][info][gc] Out Of Memory (main)");
    assert_eq!(e.kind, "out_of_memory");
    let e = event(
        "[2019-09-28T14:33:00.085+0000][8.804s][info][gc            ] GC(165) Pause Degenerated GC (Outside of Cycle) 119M->56M(124M) 11.373ms",
    );
    assert_eq!(
        (e.kind, e.collector),
        ("degenerated", Some(collector::SHENANDOAH))
    );
    assert_eq!(
        (e.phase, e.cause),
        ("Pause Degenerated GC (Outside of Cycle)", None)
    );
    let e = event("[1s][info][gc] GC(2) Pause Init Mark (unload classes) 0.120ms");
    assert_eq!(e.kind, "initial_mark");
    // Shenandoah's exit statistics (`8027 us`, space before the unit) are not pauses.
    assert_eq!(
        unified("[9s][info][gc,stats] Pause Init Mark (G)      8027 us").1,
        Message::Known
    );
}

#[test]
fn safepoints() {
    let e = event(
        "[0.109s][info] Safepoint \"G1CollectFull\", Time since last: 66196681 ns, Reaching safepoint: 4687 ns, Cleanup: 6580 ns, At safepoint: 2904682 ns, Total: 2915949 ns",
    );
    assert_eq!(
        (e.kind, e.phase, e.stop_the_world),
        ("safepoint", "G1CollectFull", Some(true))
    );
    assert!((e.duration_s.unwrap() - 0.002915949).abs() < 1e-15);
    let e = event(
        "[8.805s][info][safepoint     ] Total time for which application threads were stopped: 0.0128948 seconds, Stopping threads took: 0.0002622 seconds",
    );
    assert_eq!((e.kind, e.duration_s), ("safepoint", Some(0.0128948)));
}

#[test]
fn legacy_parallel_one_liner() {
    let ev = legacy(
        "2015-07-22T14:53:42.655-0100: 1.807: [GC (Allocation Failure) [PSYoungGen: 65536K->10746K(76288K)] 65536K->17546K(251392K), 0.0263911 secs] [Times: user=0.08 sys=0.02, real=0.03 secs]\n",
    );
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(
        e.wall_us,
        Some(civil_to_us(2015, 7, 22, 15, 53, 42, 655_000).unwrap())
    );
    assert_eq!(e.uptime_us, Some(1_807_000));
    assert_eq!(
        (e.kind, e.phase, e.cause),
        ("young", "GC", Some("Allocation Failure"))
    );
    assert_eq!(e.collector, Some(collector::PARALLEL));
    assert_eq!(e.duration_s, Some(0.0263911));
    assert_eq!(e.young, t(65536 * K, 10746 * K, Some(76288 * K)));
    assert_eq!(e.heap, t(65536 * K, 17546 * K, Some(251392 * K)));
    assert_eq!(
        e.times,
        Some(CpuTimes {
            user: 0.08,
            sys: 0.02,
            real: 0.03
        })
    );
}

#[test]
fn legacy_full_gc_generations() {
    let ev = legacy(
        "12.5: [Full GC (Ergonomics) [PSYoungGen: 10720K->0K(272896K)] [ParOldGen: 41512K->40000K(175104K)] 52232K->40000K(448000K), [Metaspace: 11310K->11310K(1060864K)], 0.1234567 secs] [Times: user=0.30 sys=0.01, real=0.12 secs]",
    );
    let e = &ev[0];
    assert_eq!((e.kind, e.cause), ("full", Some("Ergonomics")));
    assert_eq!(e.old, t(41512 * K, 40000 * K, Some(175104 * K)));
    assert_eq!(e.metaspace, t(11310 * K, 11310 * K, Some(1060864 * K)));
    assert_eq!(e.heap, t(52232 * K, 40000 * K, Some(448000 * K)));
    assert_eq!(e.wall_us, None);
    assert_eq!(e.uptime_us, Some(12_500_000));
}

#[test]
fn legacy_cms_phases() {
    let ev = legacy(
        "2014-04-09T15:26:52.211+0200: 0.395: [CMS-concurrent-mark: 0.010/0.023 secs] [Times: user=0.00 sys=0.00, real=0.01 secs] ",
    );
    assert_eq!(
        (ev[0].kind, ev[0].phase, ev[0].stop_the_world),
        ("concurrent", "CMS-concurrent-mark", Some(false))
    );
    assert_eq!(ev[0].duration_s, Some(0.023));
    assert!(matches!(
        parse_legacy(b"0.385: [CMS-concurrent-mark-start]", false).unwrap(),
        Legacy::Known
    ));
    let ev = legacy(
        "0.384: [GC (CMS Initial Mark) [1 CMS-initial-mark: 73765K(95616K)] 85022K(138624K), 0.0002081 secs]",
    );
    assert_eq!(
        (ev[0].kind, ev[0].collector),
        ("initial_mark", Some(collector::CMS))
    );
    assert_eq!(ev[0].cause, Some("CMS Initial Mark"));
    // ParNew with a CMS old collection inside (concurrent mode failure) and an embedded phase.
    let rec = "0.545: [GC (Allocation Failure) 0.545: [ParNew: 19586K->19586K(19648K), 0.0000205 secs]0.545: [CMS0.545: [CMS-concurrent-abortable-preclean: 0.005/0.111 secs] [Times: user=0.23 sys=0.08, real=0.11 secs] \n (concurrent mode failure): 83511K->54817K(84032K), 0.0336464 secs] 103097K->54817K(103680K), [CMS Perm : 2472K->2471K(21248K)], 0.0339164 secs] [Times: user=0.03 sys=0.00, real=0.03 secs] \n";
    let ev = legacy(rec);
    assert_eq!(ev.len(), 2);
    assert_eq!((ev[0].kind, ev[0].duration_s), ("full", Some(0.0339164)));
    assert_eq!(ev[0].young, t(19586 * K, 19586 * K, Some(19648 * K)));
    assert_eq!(ev[0].old, t(83511 * K, 54817 * K, Some(84032 * K)));
    assert_eq!(ev[0].metaspace, t(2472 * K, 2471 * K, Some(21248 * K)));
    assert_eq!(ev[0].heap, t(103097 * K, 54817 * K, Some(103680 * K)));
    assert_eq!(ev[0].times.map(|t| t.real), Some(0.03));
    assert_eq!((ev[1].kind, ev[1].duration_s), ("concurrent", Some(0.111)));
}

#[test]
fn legacy_g1_multiline_comma_locale() {
    let rec = "2015-02-20T14:50:41.432+0100: 16578,506: [GC pause (G1 Evacuation Pause) (young)\nDesired survivor size 8912896 bytes, new threshold 15 (max 15)\n, 0,0282200 secs]\n   [Parallel Time: 24,5 ms, GC Workers: 4]\n   [Eden: 124,0M(124,0M)->0,0B(126,0M) Survivors: 12,0M->11,0M Heap: 214,9M(256,0M)->90,4M(256,0M)]\n [Times: user=0,10 sys=0,00, real=0,03 secs]\n";
    assert_eq!(frame(rec.as_bytes(), true), Some(rec.len()));
    let ev = legacy(rec);
    let e = &ev[0];
    assert_eq!(e.uptime_us, Some(16_578_506_000));
    assert_eq!(
        (e.kind, e.collector, e.cause),
        ("young", Some(collector::G1), Some("G1 Evacuation Pause"))
    );
    assert_eq!(e.phase, "GC pause (G1 Evacuation Pause) (young)");
    assert_eq!(e.duration_s, Some(0.02822));
    assert_eq!(e.young, t(136 * M, 11 * M, None));
    assert_eq!(
        e.heap,
        t(
            (214.9 * M as f64).round() as u64,
            (90.4 * M as f64).round() as u64,
            Some(256 * M)
        )
    );
    assert_eq!(
        e.times,
        Some(CpuTimes {
            user: 0.10,
            sys: 0.0,
            real: 0.03
        })
    );
    // to-space exhausted makes an extra evacuation_failure row.
    let ev =
        legacy("438.543: [GC pause (young) (to-space exhausted) (initial-mark), 0.1156890 secs]");
    assert_eq!(ev.len(), 2);
    assert_eq!(
        (ev[1].kind, ev[1].stop_the_world),
        ("evacuation_failure", None)
    );
}

#[test]
fn legacy_shenandoah_and_stopped() {
    let ev = legacy(
        "2022-08-17T16:25:40.436+0800: 295.220: [Pause Degenerated GC (Update Refs) 3941M->1733M(3966M), 184.489 ms]",
    );
    assert_eq!(
        (ev[0].kind, ev[0].collector),
        ("degenerated", Some(collector::SHENANDOAH))
    );
    assert_eq!(ev[0].heap, t(3941 * M, 1733 * M, Some(3966 * M)));
    assert!((ev[0].duration_s.unwrap() - 0.184489).abs() < 1e-12);
    let ev = legacy(
        "2022-08-17T16:20:48.555+0800: 3.338: [Concurrent marking (process weakrefs), 866.393 ms]",
    );
    assert_eq!(
        (ev[0].kind, ev[0].stop_the_world),
        ("concurrent", Some(false))
    );
    assert!(matches!(
        parse_legacy(
            b"2022-08-17T16:20:47.680+0800: 2.464: [Concurrent reset, start]",
            false
        )
        .unwrap(),
        Legacy::Known
    ));
    let ev = legacy(
        "2015-02-20T14:50:39.533+0100: 16576,607: Total time for which application threads were stopped: 0,0003060 seconds",
    );
    assert_eq!(
        (ev[0].kind, ev[0].duration_s),
        ("safepoint", Some(0.000306))
    );
}

#[test]
fn legacy_errors_carry_offsets() {
    let e = parse_legacy(
        b"Exception in thread \"main\" java.lang.IllegalStateException",
        false,
    )
    .unwrap_err();
    assert_eq!((e.kind, e.offset), (crate::ErrorKind::Malformed, 0));
    let e = parse_legacy(
        b"1.807: [GC (Allocation Failure) [PSYoungGen: 65536K->10746K(76288K)] 655",
        false,
    )
    .unwrap_err();
    assert_eq!((e.kind, e.offset), (crate::ErrorKind::Truncated, 7));
    let e = parse_legacy(b"1.807: hello", false).unwrap_err();
    assert_eq!(e.offset, 7);
    let e = parse_legacy(b"2015-13-22T14:53:42.655-0100: 1.807: [GC", false).unwrap_err();
    assert_eq!(e.kind, crate::ErrorKind::BadTimestamp);
    let e = parse_legacy(b"1.0: [GC (Allocation Failure) 10K->5K(20K)]", false).unwrap_err();
    assert_eq!((e.kind, e.offset), (crate::ErrorKind::Malformed, 42));
}

#[test]
fn framing() {
    // Unified: one line each.
    assert_eq!(
        frame(b"[0.1s][info][gc] Using G1\n[0.2s] x\n", false),
        Some(26)
    );
    // JDK 8 split record: waits for the closing line.
    let buf = b"1.0: [GC pause (young)\nDesired survivor size 1 bytes\n";
    assert_eq!(frame(buf, false), None);
    // Indented continuation after a balanced line; a partial next line waits.
    let buf = b"1.0: [GC pause (young), 0.1 secs]\n   [Eden: 1M(1M)->0B(1M)]\n [Times: user=0.00 sys=0.00, real=0.00 secs]\n2.0: [GC";
    assert_eq!(frame(buf, false), Some(buf.len() - 8));
    assert_eq!(frame(b"1.0: [GC x, 0.1 secs]\n", false), None);
    assert_eq!(frame(b"1.0: [GC x, 0.1 secs]\n", true), Some(22));
    // Interleaved stdout is its own record.
    assert_eq!(frame(b"hello world\n1.0: [GC x]\n", false), Some(12));
    // An unclosed bracket stops at a unified line or a JVM banner.
    let buf = b"1.0: [GC (Allocation Failure) \nJava HotSpot(TM) 64-Bit\n";
    assert_eq!(frame(buf, false), Some(31));
    // And never exceeds the line limit.
    let mut big = b"1.0: [GC (Allocation Failure)\n".to_vec();
    for _ in 0..1000 {
        big.extend_from_slice(b"x\n");
    }
    let n = frame(&big, false).unwrap();
    assert_eq!(
        big[..n].iter().filter(|&&b| b == b'\n').count(),
        MAX_RECORD_LINES
    );
}

#[test]
fn sizes_and_durations() {
    assert_eq!(
        parse_size(b"214,9M("),
        Some(((214.9 * M as f64).round() as u64, 6))
    );
    assert_eq!(parse_size(b"0B"), Some((0, 2)));
    assert_eq!(parse_size(b"1G"), Some((1 << 30, 2)));
    assert_eq!(
        parse_transition(b"3072K(3584K)->488K(3584K) Eden"),
        Some((t(3072 * K, 488 * K, Some(3584 * K)), 25))
    );
    assert_eq!(parse_duration(b"3.456ms"), Some((0.003456, 7)));
    assert_eq!(parse_duration(b"0,0047 secs]"), Some((0.0047, 11)));
    let (d, n) = parse_duration(b"1234 ns").unwrap();
    assert!((d - 1.234e-6).abs() < 1e-18 && n == 7);
    assert_eq!(
        split_phase_cause("Pause Young (Normal) (G1 Evacuation Pause)"),
        ("Pause Young (Normal)", Some("G1 Evacuation Pause"))
    );
    assert_eq!(
        split_phase_cause("Pause Full (System.gc())"),
        ("Pause Full", Some("System.gc()"))
    );
}

fn decode_all(input: &str, boot: Option<i64>) -> arrow_array::RecordBatch {
    use crate::decoder::SourceContext;
    let ctx = SourceContext {
        host: "h".into(),
        source: "app-gc".into(),
        boot_time_us: boot,
        ..Default::default()
    };
    decode_with(&mut GcDecoder::new(ctx), input)
}

/// Every record of `input` through `dec` (offsets from 0, ingest time 7), as one batch.
fn decode_with(dec: &mut GcDecoder, input: &str) -> arrow_array::RecordBatch {
    use crate::decoder::{Decoder, RecordMeta};
    let b = input.as_bytes();
    let mut at = 0;
    while at < b.len() {
        let n = dec.frame(&b[at..], true).unwrap();
        let meta = RecordMeta {
            offset: at as u64,
            ingest_ts_us: 7,
        };
        dec.decode(&b[at..at + n], &meta).unwrap();
        at += n;
    }
    dec.finish().unwrap()
}

fn col_u64(b: &arrow_array::RecordBatch, name: &str, row: usize) -> Option<u64> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    let c = b
        .column_by_name(name)
        .unwrap()
        .as_primitive::<arrow_array::types::UInt64Type>();
    c.is_valid(row).then(|| c.value(row))
}

fn col_f64(b: &arrow_array::RecordBatch, name: &str, row: usize) -> Option<f64> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    let c = b
        .column_by_name(name)
        .unwrap()
        .as_primitive::<arrow_array::types::Float64Type>();
    c.is_valid(row).then(|| c.value(row))
}

fn col_str<'b>(b: &'b arrow_array::RecordBatch, name: &str, row: usize) -> Option<&'b str> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    let c = b.column_by_name(name).unwrap().as_string::<i32>();
    c.is_valid(row).then(|| c.value(row))
}

#[test]
fn decoder_merges_g1_region_details_and_cpu() {
    let log = "[2026-11-23T13:10:57.643+0000][0.004s][info][gc] Using G1
[2026-11-23T13:10:57.657+0000][0.018s][info][gc,init] Heap Region Size: 1M
[2026-11-23T13:10:57.756+0000][0.117s][info][gc,start    ] GC(0) Pause Young (Concurrent Start) (G1 Humongous Allocation)
[2026-11-23T13:10:57.757+0000][0.118s][info][gc,task     ] GC(0) Using 2 workers of 2 for evacuation
[2026-11-23T13:10:57.758+0000][0.119s][info][gc,phases   ] GC(0)   Pre Evacuate Collection Set: 0.0ms
[2026-11-23T13:10:57.758+0000][0.119s][info][gc,heap     ] GC(0) Eden regions: 2->0(11)
[2026-11-23T13:10:57.758+0000][0.119s][info][gc,heap     ] GC(0) Survivor regions: 0->1(1)
[2026-11-23T13:10:57.758+0000][0.119s][info][gc,heap     ] GC(0) Old regions: 0->0
[2026-11-23T13:10:57.758+0000][0.119s][info][gc,heap     ] GC(0) Archive regions: 2->2
[2026-11-23T13:10:57.758+0000][0.119s][info][gc,heap     ] GC(0) Humongous regions: 54->54
[2026-11-23T13:10:57.758+0000][0.119s][info][gc,metaspace] GC(0) Metaspace: 84K(320K)->84K(320K) NonClass: 81K(192K)->81K(192K) Class: 3K(128K)->3K(128K)
[2026-11-23T13:10:57.758+0000][0.119s][info][gc          ] GC(0) Pause Young (Concurrent Start) (G1 Humongous Allocation) 56M->55M(128M) 2.470ms
[2026-11-23T13:10:57.758+0000][0.119s][info][gc,cpu      ] GC(0) User=0.01s Sys=0.02s Real=0.03s
[2026-11-23T13:10:57.774+0000][0.135s][info][gc,marking  ] GC(1) Concurrent Mark 2.430ms
";
    let b = decode_all(log, None);
    assert_eq!(b.num_rows(), 2);
    assert_eq!(col_str(&b, "collector", 0), Some("G1"));
    assert_eq!(col_str(&b, "clock", 0), Some("wall"));
    assert_eq!(col_str(&b, "jvm", 0), Some("app-gc"));
    assert_eq!(col_u64(&b, "gc_id", 0), Some(0));
    assert_eq!(col_u64(&b, "young_before_bytes", 0), Some(2 * M));
    assert_eq!(col_u64(&b, "young_after_bytes", 0), Some(M));
    assert_eq!(col_u64(&b, "old_before_bytes", 0), Some(54 * M));
    assert_eq!(col_u64(&b, "metaspace_after_bytes", 0), Some(84 * K));
    assert_eq!(col_u64(&b, "heap_capacity_bytes", 0), Some(128 * M));
    assert_eq!(col_f64(&b, "user_seconds", 0), Some(0.01));
    assert_eq!(col_f64(&b, "real_seconds", 0), Some(0.03));
    assert_eq!(col_f64(&b, "uptime_seconds", 0), Some(0.119));
    assert_eq!(col_str(&b, "kind", 1), Some("concurrent"));
    assert_eq!(col_f64(&b, "user_seconds", 1), None);
    assert_eq!(
        col_u64(&b, "source_offset", 1),
        Some(log.find("[2026-11-23T13:10:57.774").unwrap() as u64)
    );
}

#[test]
fn decoder_parallel_generations_pid_and_jvm_start_clock() {
    let log = "[3ms][29889][29890] Using Parallel
[142ms][29889][29892] GC(2) Pause Young (Allocation Failure)
[164ms][29889][29892] GC(2) PSYoungGen: 36915K(38400K)->5104K(38400K) Eden: 31939K(33280K)->0K(33280K) From: 4976K(5120K)->5104K(5120K)
[164ms][29889][29892] GC(2) ParOldGen: 53256K(87552K)->82128K(87552K)
[164ms][29889][29892] GC(2) Metaspace: 139K(384K)->139K(384K) NonClass: 135K(256K)->135K(256K) Class: 4K(128K)->4K(128K)
[164ms][29889][29892] GC(2) Pause Young (Allocation Failure) 88M->85M(123M) 21.857ms
[164ms][29889][29892] GC(2) User=0.00s Sys=0.01s Real=0.02s
";
    let b = decode_all(log, Some(1_000_000_000));
    assert_eq!(b.num_rows(), 1);
    assert_eq!(col_str(&b, "jvm", 0), Some("29889"));
    assert_eq!(col_str(&b, "clock", 0), Some("jvm_start"));
    assert_eq!(col_str(&b, "collector", 0), Some("Parallel"));
    assert_eq!(col_str(&b, "cause", 0), Some("Allocation Failure"));
    assert_eq!(col_str(&b, "phase", 0), Some("Pause Young"));
    assert_eq!(col_u64(&b, "young_before_bytes", 0), Some(36915 * K));
    assert_eq!(col_u64(&b, "old_after_bytes", 0), Some(82128 * K));
    assert_eq!(col_u64(&b, "heap_before_bytes", 0), Some(88 * M));
    assert_eq!(col_f64(&b, "sys_seconds", 0), Some(0.01));
    assert_eq!(col_f64(&b, "duration_seconds", 0), Some(0.021857));
    use arrow_array::cast::AsArray;
    let ts = b
        .column(0)
        .as_primitive::<arrow_array::types::TimestampMicrosecondType>();
    assert_eq!(ts.value(0), 1_000_000_000 + 164_000);
}

/// The real G1 log of sample-logs/gc/g1-heap-exhausted.log (JDK 17, 1 MiB regions; how it
/// was made: sample-logs/README.md), decoded whole.
const G1_EXHAUSTED: &str = include_str!("../../../sample-logs/gc/g1-heap-exhausted.log");

/// The row of `kind` for GC id `id`.
fn row_of(b: &arrow_array::RecordBatch, id: u64, kind: &str) -> usize {
    (0..b.num_rows())
        .find(|&r| col_u64(b, "gc_id", r) == Some(id) && col_str(b, "kind", r) == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} row for GC({id})"))
}

#[test]
fn allocated_and_promoted_from_g1_regions() {
    let b = decode_all(G1_EXHAUSTED, None);
    let alloc = |r| {
        (
            col_u64(&b, "allocated_bytes", r),
            col_u64(&b, "promoted_bytes", r),
        )
    };
    let prom = |r| col_u64(&b, "promoted_bytes", r);
    // GC(0), the first GC of the JVM: nothing to subtract from.
    let r0 = row_of(&b, 0, "young");
    assert_eq!(col_u64(&b, "allocated_bytes", r0), None);
    // GC(1): Eden 16->0, Survivor 1->2, Old 0->0, Humongous 0->0 (1M regions).
    // GC(2): Eden 17->0, Survivor 2->2, Old 0->0.
    // allocated = young before (17 + 2) - young after GC(1) (0 + 2) = 17M; promoted = 0.
    let r = row_of(&b, 2, "young");
    assert_eq!(alloc(r), (Some(17 * M), Some(0)));
    // GC(5): Eden 17->0, Survivor 2->3, Old 2->4: promoted = 4 - 2 = 2M.
    // GC(6) (To-space exhausted): Eden 15->0, Survivor 3->3, Old 4->19, Humongous 0->0:
    // allocated = (15 + 3) - (0 + 3) = 15M; promoted = 19 - 4 = 15M.
    assert_eq!(prom(row_of(&b, 5, "young")), Some(2 * M));
    assert_eq!(alloc(row_of(&b, 6, "young")), (Some(15 * M), Some(15 * M)));
    // The evacuation_failure row of GC(6) has no sizes.
    let ef = row_of(&b, 6, "evacuation_failure");
    assert_eq!(alloc(ef), (None, None));
    // A full GC has no promotion; its allocation counts from the previous GC's young after.
    let f = row_of(&b, 13, "full");
    assert_eq!(col_u64(&b, "promoted_bytes", f), None);
    // Summed over the log, allocation never goes negative and is only null for GC(0) and
    // for rows without sizes.
    let with_sizes = (0..b.num_rows())
        .filter(|&r| col_u64(&b, "heap_before_bytes", r).is_some())
        .count();
    let with_alloc = (0..b.num_rows())
        .filter(|&r| col_u64(&b, "allocated_bytes", r).is_some())
        .count();
    assert!(
        with_alloc < with_sizes && with_alloc > 10,
        "{with_alloc}/{with_sizes}"
    );
}

#[test]
fn allocated_from_heap_totals_when_generations_are_not_logged() {
    // sample-ujl-parallel-gc-defaults.txt (gcviewer, JDK 9+ `-Xlog:gc`), its first lines:
    let log = "[0.017s][info][gc] Using Parallel
[0.203s][info][gc] GC(0) Pause Young (Allocation Failure) 32M->29M(123M) 6.868ms
[0.214s][info][gc] GC(1) Pause Young (Allocation Failure) 62M->62M(123M) 7.849ms
[0.228s][info][gc] GC(2) Pause Full (Ergonomics) 62M->61M(123M) 13.765ms
[0.292s][info][gc] GC(3) Pause Full (Ergonomics) 94M->30M(123M) 7.984ms
";
    let b = decode_all(log, None);
    let alloc: Vec<_> = (0..4).map(|r| col_u64(&b, "allocated_bytes", r)).collect();
    // 62 - 29 = 33M; 62 - 62 = 0; 94 - 61 = 33M.
    assert_eq!(alloc, vec![None, Some(33 * M), Some(0), Some(33 * M)]);
    // No generation sizes: no promotion figure.
    assert!((0..4).all(|r| col_u64(&b, "promoted_bytes", r).is_none()));
}

#[test]
fn allocated_and_promoted_jdk8_parallel() {
    // SampleSun1_8_0Parallel_Apple.txt (gcviewer), lines 7 and 8: the old generation is not
    // printed, so old = heap - young.
    let log = "2015-07-22T14:53:42.655-0100: 1.807: [GC (Allocation Failure) [PSYoungGen: 65536K->10746K(76288K)] 65536K->17546K(251392K), 0.0263911 secs] [Times: user=0.08 sys=0.02, real=0.03 secs]
2015-07-22T14:53:43.737-0100: 2.889: [GC (Allocation Failure) [PSYoungGen: 76282K->10720K(141824K)] 83082K->24100K(316928K), 0.0245340 secs] [Times: user=0.09 sys=0.04, real=0.03 secs]
";
    let b = decode_all(log, None);
    // Row 0: promoted = (17546 - 10746) - (65536 - 65536) = 6800K; first GC: allocated null.
    assert_eq!(col_u64(&b, "allocated_bytes", 0), None);
    assert_eq!(col_u64(&b, "promoted_bytes", 0), Some(6800 * K));
    // Row 1: allocated = 76282 - 10746 = 65536K;
    // promoted = (24100 - 10720) - (83082 - 76282) = 13380 - 6800 = 6580K.
    assert_eq!(col_u64(&b, "allocated_bytes", 1), Some(65536 * K));
    assert_eq!(col_u64(&b, "promoted_bytes", 1), Some(6580 * K));
}

#[test]
fn allocated_is_per_jvm() {
    // Two JVMs in one file, told apart by the `pid` decoration (lines of the JDK 17 runs
    // of sample-logs/README.md, pids changed).
    let log = "[0.058s][6113] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 6M->1M(32M) 0.916ms
[0.058s][7000] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 17M->2M(32M) 1.336ms
[0.070s][6113] GC(1) Pause Young (Normal) (G1 Evacuation Pause) 21M->6M(32M) 2.246ms
[0.071s][7000] GC(1) Pause Young (Normal) (G1 Evacuation Pause) 19M->2M(32M) 1.538ms
";
    let b = decode_all(log, None);
    let alloc: Vec<_> = (0..4).map(|r| col_u64(&b, "allocated_bytes", r)).collect();
    // 6113: 21 - 1 = 20M; 7000: 19 - 2 = 17M.
    assert_eq!(alloc, vec![None, None, Some(20 * M), Some(17 * M)]);
}

#[test]
fn out_of_memory_error_lines_are_events() {
    // The end of a real JDK 17 run (`-Xlog:gc:stdout:uptime,pid`, stdout and stderr to one
    // file, -XX:+ExitOnOutOfMemoryError): the JVM's own line, no time stamp.
    let log = "[0.007s][6113] Using G1
[0.162s][6113] GC(19) Pause Full (G1 Compaction Pause) 30M->29M(32M) 6.712ms
Terminating due to java.lang.OutOfMemoryError: Java heap space
";
    let b = decode_all(log, Some(1_000_000_000));
    assert_eq!(b.num_rows(), 2);
    assert_eq!(col_str(&b, "kind", 1), Some("out_of_memory"));
    assert_eq!(
        col_str(&b, "phase", 1),
        Some("Terminating due to java.lang.OutOfMemoryError")
    );
    assert_eq!(col_str(&b, "cause", 1), Some("Java heap space"));
    assert_eq!(col_str(&b, "collector", 1), Some("G1"));
    // The JVM and the time of the line before it; no duration, no stop-the-world flag.
    assert_eq!(col_str(&b, "jvm", 1), Some("6113"));
    assert_eq!(col_str(&b, "clock", 1), Some("preceding"));
    assert_eq!(col_f64(&b, "uptime_seconds", 1), None);
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    let ts = b
        .column(0)
        .as_primitive::<arrow_array::types::TimestampMicrosecondType>();
    assert_eq!(ts.value(1), 1_000_000_000 + 162_000);
    assert!(b.column_by_name("stop_the_world").unwrap().is_null(1));
    assert_eq!(col_f64(&b, "duration_seconds", 1), None);

    // An uncaught one with its stack trace is one record and one row; -XX:+HeapDumpOnOutOfMemoryError
    // prints the error when thrown, then its dump lines (known, no row). Real lines, JDK 17,
    // `-Xlog:gc:stdout`.
    let log = "[0.199s][info][gc] GC(24) Pause Full (G1 Compaction Pause) 29M->29M(32M) 6.818ms
java.lang.OutOfMemoryError: Java heap space
Dumping heap to /tmp/gcw/dump.hprof ...
Heap dump file created [35385274 bytes in 0.041 secs]
[0.243s][info][gc] GC(26) Pause Full (G1 Compaction Pause) 29M->1M(10M) 1.551ms
Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space
\tat LeakyCache.main(LeakyCache.java:11)
";
    let b = decode_all(log, None);
    let kinds: Vec<_> = (0..b.num_rows()).map(|r| col_str(&b, "kind", r)).collect();
    assert_eq!(
        kinds,
        vec![
            Some("full"),
            Some("out_of_memory"),
            Some("full"),
            Some("out_of_memory")
        ]
    );
    assert_eq!(col_str(&b, "phase", 1), Some("java.lang.OutOfMemoryError"));
    assert_eq!(
        col_str(&b, "phase", 3),
        Some("Exception in thread \"main\" java.lang.OutOfMemoryError")
    );
    assert_eq!(col_str(&b, "cause", 3), Some("Java heap space"));
    assert!(
        col_str(&b, "message", 3)
            .unwrap()
            .ends_with("(LeakyCache.java:11)")
    );
    // Wall clock: the preceding line has none, so uptime + no JVM start = ingest.
    assert_eq!(col_str(&b, "clock", 3), Some("ingest"));

    // Other causes; no cause after the class name.
    for (line, cause) in [
        (
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Metaspace",
            Some("Metaspace"),
        ),
        (
            "Exception in thread \"pool-1-thread-3\" java.lang.OutOfMemoryError: GC overhead limit exceeded",
            Some("GC overhead limit exceeded"),
        ),
        (
            "Aborting due to java.lang.OutOfMemoryError: Java heap space",
            Some("Java heap space"),
        ),
        (
            "Exception in thread \"main\" java.lang.OutOfMemoryError",
            None,
        ),
    ] {
        let evs = legacy(line);
        assert_eq!(evs.len(), 1, "{line}");
        assert_eq!(
            (evs[0].kind, evs[0].cause),
            ("out_of_memory", cause),
            "{line}"
        );
    }
}

#[test]
fn substring_search_and_integer_sizes() {
    assert_eq!(
        find(b"a (to-space exhausted)", b"(to-space exhausted)"),
        Some(2)
    );
    assert_eq!(find(b"(to-space", b"(to-space exhausted)"), None);
    assert_eq!(find(b"abc", b"c"), Some(2));
    assert_eq!(find(b"abc", b""), Some(0));
    assert_eq!(find(b"xyxyz", b"xyz"), Some(2));
    assert!(!contains(b"(mixe) (mixed", b"(mixed)"));
    assert_eq!(parse_size(b"65536K->"), Some((65536 * K, 6)));
    assert_eq!(parse_size(b"0B"), Some((0, 2)));
    assert_eq!(parse_size(b"12.5M"), Some((12 * M + M / 2, 5)));
    assert_eq!(parse_size(b"3072,0K"), Some((3072 * K, 7)));
    assert_eq!(parse_size(b"12.M"), Some((12, 2))); // as before: `.` without a digit ends it
    assert_eq!(parse_size(b"1024"), Some((1024, 4)));
    assert_eq!(parse_size(b"K"), None);
}

#[test]
fn mutated_logs_never_panic() {
    // A cheap fuzz pass over real logs with random byte edits: decode errors are fine, a
    // panic (slicing, arithmetic) is not. The cargo-fuzz target `jvm_gc` does this at length.
    use crate::decoder::{Decoder, RecordMeta, SourceContext};
    let jdk8 = "2015-07-22T14:53:42.655-0100: 1.807: [GC (Allocation Failure) [PSYoungGen: 65536K->10746K(76288K)] 65536K->17546K(251392K), 0.0263911 secs] [Times: user=0.08 sys=0.02, real=0.03 secs]
Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space
\tat LeakyCache.main(LeakyCache.java:11)
Terminating due to java.lang.OutOfMemoryError: Metaspace
";
    let base: Vec<u8> = [&G1_EXHAUSTED.as_bytes()[..12_000], jdk8.as_bytes()].concat();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const BYTES: &[u8] = b"[]()->:,. 0123456789KMGBsn\n\t\xff\xc3OutOfMemoryError";
    for _ in 0..2000 {
        let mut input = base.clone();
        for _ in 0..(next() % 40 + 1) {
            let at = (next() % input.len() as u64) as usize;
            match next() % 3 {
                0 => input[at] = BYTES[(next() % BYTES.len() as u64) as usize],
                1 => {
                    input.remove(at);
                }
                _ => input.insert(at, BYTES[(next() % BYTES.len() as u64) as usize]),
            }
        }
        let mut dec = GcDecoder::new(SourceContext {
            boot_time_us: Some(1),
            ..Default::default()
        });
        let mut at = 0;
        while at < input.len() {
            let n = dec.frame(&input[at..], true).unwrap();
            let meta = RecordMeta {
                offset: at as u64,
                ingest_ts_us: 7,
            };
            let _ = dec.decode(&input[at..at + n], &meta);
            at += n;
        }
        let _ = dec.finish();
    }
}

#[test]
fn a_rotated_files_decoder_continues_from_the_previous_file() {
    use crate::decoder::{Decoder, SourceContext};
    // sample-logs/gc/g1-heap-exhausted.log cut after GC(5)'s pause line: the second part
    // has no `Using G1` and no `Heap Region Size`, as a JVM's rotated-in file.
    let cut = G1_EXHAUSTED
        .find("GC(5) Pause Young (Normal) (G1 Evacuation Pause) 21M")
        .unwrap();
    let cut = cut + G1_EXHAUSTED[cut..].find('\n').unwrap() + 1;
    let (first, second) = G1_EXHAUSTED.split_at(cut);
    let ctx = SourceContext::default();
    let mut old = GcDecoder::new(ctx.clone());
    let _ = decode_with(&mut old, first);
    let mut alone = GcDecoder::new(ctx.clone());
    let b = decode_with(&mut alone, second);
    let r = row_of(&b, 6, "young");
    assert_eq!(col_str(&b, "collector", r), Some("G1")); // from its cause
    assert_eq!(col_u64(&b, "young_before_bytes", r), None); // region size unknown
    let mut next = GcDecoder::new(ctx);
    next.resume(old.carry_over().unwrap());
    let b = decode_with(&mut next, second);
    let r = row_of(&b, 6, "young");
    // As in allocated_and_promoted_from_g1_regions: 15M allocated, 15M promoted.
    assert_eq!(col_u64(&b, "young_before_bytes", r), Some(18 * M));
    assert_eq!(col_u64(&b, "allocated_bytes", r), Some(15 * M));
    assert_eq!(col_u64(&b, "promoted_bytes", r), Some(15 * M));
}

#[test]
fn uptime_in_integers_equals_the_rounded_float() {
    use super::unified::uptime_us_exact;
    let float = |s: &str| (parse_decimal(s.as_bytes()).unwrap() * 1e6).round() as i64;
    let mut texts: Vec<String> = Vec::new();
    for int in (0..3000u64).chain([86_399, 1_000_000, 12_345_678, 99_999_999]) {
        texts.push(format!("{int}"));
        for frac in [0u64, 1, 5, 9, 10, 99, 123, 500, 999] {
            texts.push(format!("{int}.{frac:03}"));
            texts.push(format!("{int},{frac:03}"));
        }
        for digits in 1..=6u32 {
            let frac = (int * 7919 + u64::from(digits) * 104_729) % 10u64.pow(digits);
            texts.push(format!("{int}.{frac:0w$}", w = digits as usize));
        }
    }
    for t in &texts {
        assert_eq!(uptime_us_exact(t.as_bytes()), Some(float(t)), "{t}");
    }
    // Other shapes are left to the float path.
    assert_eq!(uptime_us_exact(b"5."), Some(float("5.")));
    for t in [
        "",
        ".5",
        "1.2345678",
        "123456789.0",
        "1e3",
        "1.2.3",
        "-1",
        "1 ",
    ] {
        assert_eq!(uptime_us_exact(t.as_bytes()), None, "{t}");
    }
}
