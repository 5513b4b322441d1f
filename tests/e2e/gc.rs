//! JVM GC logs (format `jvm-gc`, table `gc_events`): real logs written at test time by this
//! machine's JDK (tests/java/GcWorkload.java under every collector, several `-Xlog`
//! decoration sets), and public JDK 8 logs read in place. Every log is imported with the
//! real binary and checked with SQL against a scan of the log text done here with plain
//! string operations, never with the parser.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::harness::*;

/// GcWorkload compiled once per test run (`javac -d`), shared by every test in this file.
fn classes() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gc-workload-classes");
        std::fs::create_dir_all(&dir).unwrap();
        let src = repo().join("tests/java/GcWorkload.java");
        let out = Command::new("javac")
            .arg("-d")
            .arg(&dir)
            .arg(&src)
            .output()
            .expect("javac (a JDK 17 on PATH)");
        assert!(out.status.success(), "javac: {}", text(&out.stderr));
        dir
    })
}

/// `-Xlog` decoration sets; `{}` is replaced by the log file.
const RICH: &str = "-Xlog:gc*:file={}:time,uptime,level,tags";
const LEAN: &str = "-Xlog:gc:file={}:uptimemillis,pid,tid";
const SAFEPOINT: &str = "-Xlog:gc*,safepoint:file={}:utctime";

/// JVM start given to `import --boot-time` for logs that only have uptimes.
const JVM_START: &str = "2026-01-02T03:04:05Z";
/// The same instant in µs since the epoch.
const JVM_START_US: i64 = 1_767_323_045_000_000;

/// One JVM run and its log.
struct Run {
    label: String,
    xlog: &'static str,
    log: PathBuf,
    pid: u32,
    out: Output,
}

/// Runs GcWorkload under `gc_flag` with a small heap and the decoration set `xlog`.
fn jvm(
    dir: &Path,
    label: &str,
    gc_flag: &str,
    heap: &str,
    xlog: &'static str,
    args: &[&str],
) -> Run {
    let log = dir.join(format!("{label}.log"));
    let child = Command::new("java")
        .arg(gc_flag)
        .arg(format!("-Xmx{heap}"))
        .arg(format!("-Xms{heap}"))
        .arg(xlog.replace("{}", log.to_str().unwrap()))
        .arg("-cp")
        .arg(classes())
        .arg("GcWorkload")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("java (JDK 17 on PATH)");
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("Unrecognized")
            && !stderr.contains("Invalid")
            && !stderr.contains("Error: Could not"),
        "{label}: the JVM rejected its flags:\n{stderr}"
    );
    Run {
        label: label.to_string(),
        xlog,
        log,
        pid,
        out,
    }
}

/// What the log text says, counted line by line with plain string operations.
#[derive(Debug, Default)]
struct Scan {
    /// Lines with `Pause ` ending in `<n>ms`: count and the sum in µs.
    pauses: i64,
    pause_us: i64,
    /// Of those, `Pause Full`.
    full: i64,
    /// `GC(n) Concurrent ... <n>ms` lines.
    concurrent: i64,
    /// `Allocation Stall (thread) <n>ms` lines.
    stalls: i64,
    /// `Safepoint "..."` lines.
    safepoints: i64,
    /// ZGC `Garbage Collection (cause) a(x%)->b(y%)` lines.
    zgc_cycles: i64,
    /// `Out Of Memory (thread)` lines.
    ooms: i64,
    /// The first pause line with a heap transition: (byte offset, before, after, capacity).
    first_pause_heap: Option<(u64, u64, u64, u64)>,
    /// The first ZGC cycle line: (byte offset, before, after).
    first_zgc_cycle: Option<(u64, u64, u64)>,
}

/// `24M`, `512K`, `0B`, `2G`: bytes (1024-based).
fn size(s: &str) -> u64 {
    let (num, unit) = s.split_at(s.len() - 1);
    let mul = match unit {
        "B" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => panic!("size {s:?}"),
    };
    num.parse::<u64>().unwrap_or_else(|_| panic!("size {s:?}")) * mul
}

/// `24M->4M(256M)` → (before, after, capacity).
fn heap_transition(tok: &str) -> Option<(u64, u64, u64)> {
    let (before, rest) = tok.split_once("->")?;
    let (after, cap) = rest.strip_suffix(')')?.split_once('(')?;
    if before.contains('(') {
        return None;
    }
    Some((size(before), size(after), size(cap)))
}

/// A trailing `<n>ms` token in µs.
fn trailing_ms_us(line: &str) -> Option<i64> {
    let last = line.rsplit(' ').next()?.strip_suffix("ms")?;
    let v: f64 = last.parse().ok()?;
    Some((v * 1000.0).round() as i64)
}

fn scan(path: &Path) -> Scan {
    let bytes = std::fs::read(path).unwrap();
    let mut s = Scan::default();
    let mut offset = 0u64;
    for raw in bytes.split_inclusive(|&b| b == b'\n') {
        let here = offset;
        offset += raw.len() as u64;
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end();
        let ms = trailing_ms_us(line);
        if line.contains("Pause ")
            && let Some(us) = ms
        {
            s.pauses += 1;
            s.pause_us += us;
            if line.contains("Pause Full") {
                s.full += 1;
            }
            let toks: Vec<&str> = line.split(' ').collect();
            if s.first_pause_heap.is_none()
                && toks.len() >= 2
                && let Some((b, a, c)) = heap_transition(toks[toks.len() - 2])
            {
                s.first_pause_heap = Some((here, b, a, c));
            }
        }
        if line.contains(") Concurrent ") && ms.is_some() {
            s.concurrent += 1;
        }
        if line.contains("] Allocation Stall (") && ms.is_some() {
            s.stalls += 1;
        }
        if line.contains("Safepoint \"") {
            s.safepoints += 1;
        }
        if line.contains("] Out Of Memory (") {
            s.ooms += 1;
        }
        // (Start markers `GC(0) Garbage Collection (Warmup)` have no sizes and make no row.)
        if let Some(i) = line.find(") Garbage Collection (")
            && line.contains("->")
        {
            s.zgc_cycles += 1;
            // `... (Allocation Stall) 126M(98%)->128M(100%)`: sizes before `(`.
            if s.first_zgc_cycle.is_none() {
                let tok = line[i..].rsplit(' ').next().unwrap();
                let (b, a) = tok.split_once("->").unwrap();
                let b = size(b.split('(').next().unwrap());
                let a = size(a.split('(').next().unwrap());
                s.first_zgc_cycle = Some((here, b, a));
            }
        }
    }
    s
}

/// The first row of a query as numbers (CSV cells; empty = null = -1).
fn nums(data: &Path, q: &str) -> Vec<i64> {
    let rows = sql(data, q);
    assert_eq!(rows.len(), 1, "{q} -> {rows:?}");
    rows[0]
        .iter()
        .map(|c| {
            if c.is_empty() {
                -1
            } else {
                c.parse().unwrap_or_else(|_| panic!("{q} -> {rows:?}"))
            }
        })
        .collect()
}

/// Per-log numbers, for the report printed by each test (`--nocapture`).
#[derive(Debug)]
struct Seen {
    label: String,
    pauses: i64,
    pause_ms: f64,
    concurrent: i64,
    safepoints: i64,
    rows: i64,
}

impl Seen {
    fn report(&self) {
        eprintln!(
            "{}: {} pauses, {:.3} ms, {} concurrent phases, {} safepoints, {} rows",
            self.label, self.pauses, self.pause_ms, self.concurrent, self.safepoints, self.rows
        );
    }
}

/// Imports `run.log` into its own store and checks it against `scan`.
fn check(dir: &Path, run: &Run, collector: &str) -> Seen {
    let log = &run.log;
    let s = scan(log);
    let body = std::fs::read_to_string(log).unwrap();
    assert!(
        body.contains(" Using "),
        "{}: the log has no collector banner:\n{body}",
        run.label
    );
    let data = dir.join(format!("data-{}", run.label));
    let mut args = vec![
        "import",
        "--format",
        "jvm-gc",
        "--host",
        &run.label,
        "--data",
        data.to_str().unwrap(),
    ];
    if run.xlog == LEAN {
        args.extend_from_slice(&["--boot-time", JVM_START]);
    }
    args.extend_from_slice(&["--source", &run.label]);
    args.push(log.to_str().unwrap());
    ok(&args);
    let ctx = format!("{} ({})", run.label, log.display());

    // Stop-the-world pauses (safepoints overlap them and are left out): count and total.
    let p = nums(
        &data,
        "SELECT count(*), CAST(coalesce(sum(round(duration_seconds * 1000000)), 0) AS BIGINT), \
         sum(CASE WHEN kind = 'full' THEN 1 ELSE 0 END) \
         FROM gc_events WHERE stop_the_world AND kind <> 'safepoint'",
    );
    assert_eq!(
        (p[0], p[1]),
        (s.pauses, s.pause_us),
        "{ctx}: pause rows/µs vs the log's `Pause ... <n>ms` lines"
    );
    assert_eq!(p[2].max(0), s.full, "{ctx}: full pauses");

    // Concurrent phases and stalls are never pauses.
    let c = nums(
        &data,
        "SELECT \
           sum(CASE WHEN phase LIKE 'Concurrent %' AND stop_the_world = false AND duration_seconds IS NOT NULL THEN 1 ELSE 0 END), \
           sum(CASE WHEN kind IN ('concurrent', 'concurrent_cycle', 'allocation_stall', 'relocation_stall') \
                     AND (stop_the_world IS NULL OR stop_the_world) THEN 1 ELSE 0 END), \
           sum(CASE WHEN kind = 'allocation_stall' AND stop_the_world = false THEN 1 ELSE 0 END), \
           sum(CASE WHEN kind = 'safepoint' AND stop_the_world THEN 1 ELSE 0 END), \
           sum(CASE WHEN kind = 'out_of_memory' THEN 1 ELSE 0 END), \
           sum(CASE WHEN kind = 'concurrent_cycle' AND phase = 'Garbage Collection' THEN 1 ELSE 0 END), \
           count(*) \
         FROM gc_events",
    );
    let c: Vec<i64> = c.into_iter().map(|v| v.max(0)).collect();
    assert_eq!(c[0], s.concurrent, "{ctx}: concurrent phase rows");
    assert_eq!(c[1], 0, "{ctx}: concurrent rows marked stop-the-world");
    assert_eq!(c[2], s.stalls, "{ctx}: allocation stall rows");
    assert_eq!(c[3], s.safepoints, "{ctx}: safepoint rows");
    assert_eq!(c[4], s.ooms, "{ctx}: out_of_memory rows");
    assert_eq!(c[5], s.zgc_cycles, "{ctx}: ZGC cycle rows");

    // Which collector: every pause row names it.
    let cols = sql(
        &data,
        "SELECT DISTINCT coalesce(collector, 'NULL') FROM gc_events WHERE stop_the_world AND kind <> 'safepoint'",
    );
    if s.pauses > 0 {
        assert_eq!(cols, vec![vec![collector.to_string()]], "{ctx}: collector");
    }

    // One pause's heap sizes equal its line's `24M->4M(256M)`.
    if let Some((off, before, after, cap)) = s.first_pause_heap {
        let h = nums(
            &data,
            &format!(
                "SELECT heap_before_bytes, heap_after_bytes, heap_capacity_bytes, \
                 CASE WHEN stop_the_world THEN 1 ELSE 0 END \
                 FROM gc_events WHERE source_offset = {off}"
            ),
        );
        assert_eq!(
            h,
            vec![before as i64, after as i64, cap as i64, 1],
            "{ctx}: heap of the pause at byte {off}"
        );
    } else {
        // The concurrent collectors log heap sizes on their cycles, not on their short
        // pauses; Shenandoah's pauses carry one only when a cycle degenerates, which a
        // given run may not do.
        assert!(
            matches!(collector, "ZGC" | "Shenandoah"),
            "{ctx}: no pause with a heap transition"
        );
    }
    if let Some((off, before, after)) = s.first_zgc_cycle {
        let h = nums(
            &data,
            &format!(
                "SELECT heap_before_bytes, heap_after_bytes, \
                 CASE WHEN stop_the_world THEN 1 ELSE 0 END \
                 FROM gc_events WHERE source_offset = {off}"
            ),
        );
        assert_eq!(
            h,
            vec![before as i64, after as i64, 0],
            "{ctx}: heap of the ZGC cycle at byte {off}"
        );
    }

    // Clock and JVM identity follow the decorations.
    let (clock, jvm) = if run.xlog == LEAN {
        ("jvm_start", run.pid.to_string())
    } else {
        // No pid decoration: `jvm` is the source name.
        ("wall", run.label.clone())
    };
    let ids = sql(&data, "SELECT DISTINCT clock, jvm FROM gc_events");
    assert_eq!(ids, vec![vec![clock.to_string(), jvm]], "{ctx}: clock, jvm");
    if run.xlog == LEAN && s.pauses > 0 {
        // ts = JVM start + uptime for every row.
        let bad = sql_num(
            &data,
            &format!(
                "SELECT count(*) FROM gc_events WHERE \
                 CAST(ts AS BIGINT) - {JVM_START_US} <> CAST(round(uptime_seconds * 1000000) AS BIGINT)"
            ),
        );
        assert_eq!(bad, 0, "{ctx}: ts is not JVM start + uptime");
    }

    let seen = Seen {
        label: run.label.clone(),
        pauses: s.pauses,
        pause_ms: s.pause_us as f64 / 1000.0,
        concurrent: s.concurrent,
        safepoints: s.safepoints,
        rows: c[6],
    };
    seen.report();

    // Nothing fell through to dead letters (checked last, so that a dead letter does not
    // hide the checks above). (`sql` splits CSV cells at commas.)
    let dead = sql(
        &data,
        "SELECT source_offset, error_type, rtrim(CAST(raw AS VARCHAR), chr(10)) FROM dead_letters ORDER BY source_offset",
    );
    assert!(
        dead.is_empty(),
        "{ctx}: {} dead letter(s): {dead:?}",
        sql_num(&data, "SELECT count(*) FROM dead_letters")
    );

    seen
}

/// Runs the three decoration sets under one collector in parallel, then checks each log.
fn collector_test(flag: &str, name: &str, short: &str) -> Vec<Seen> {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<Run> = std::thread::scope(|sc| {
        let hs: Vec<_> = [("rich", RICH), ("lean", LEAN), ("safepoint", SAFEPOINT)]
            .into_iter()
            .map(|(tag, xlog)| {
                let d = dir.path();
                sc.spawn(move || jvm(d, &format!("{short}-{tag}"), flag, "128m", xlog, &["2"]))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = Vec::new();
    for run in &runs {
        // GcWorkload keeps every 2 MiB array it allocates (i % 64 == 0 implies i % 8 == 0,
        // and it retains i % 8 == 0), about 5 GiB by the time the window is trimmed, so at
        // any small heap it ends in OutOfMemoryError even without `oom`. Accept that, but
        // nothing else (a crash or a rejected flag).
        let err = text(&run.out.stderr);
        assert!(
            run.out.status.success() || err.contains("java.lang.OutOfMemoryError"),
            "{}: JVM failed: {}\n{err}",
            run.label,
            run.out.status
        );
        let s = check(dir.path(), run, name);
        if run.xlog != LEAN || name != "ZGC" {
            // (ZGC logs its pauses under gc,phases, which `-Xlog:gc` leaves out.)
            assert!(s.pauses > 0, "{}: no pauses logged", run.label);
        }
        seen.push(s);
    }
    seen
}

#[test]
fn g1_logs_match_the_log_text() {
    collector_test("-XX:+UseG1GC", "G1", "g1");
}

#[test]
fn parallel_logs_match_the_log_text() {
    collector_test("-XX:+UseParallelGC", "Parallel", "parallel");
}

#[test]
fn serial_logs_match_the_log_text() {
    collector_test("-XX:+UseSerialGC", "Serial", "serial");
}

#[test]
fn zgc_logs_match_the_log_text() {
    let seen = collector_test("-XX:+UseZGC", "ZGC", "zgc");
    assert!(seen.iter().any(|s| s.concurrent > 0));
}

#[test]
fn shenandoah_logs_match_the_log_text() {
    let seen = collector_test("-XX:+UseShenandoahGC", "Shenandoah", "shenandoah");
    assert!(seen.iter().any(|s| s.concurrent > 0));
}

#[test]
fn a_run_that_ends_in_out_of_memory_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = jvm(
        dir.path(),
        "g1-oom",
        "-XX:+UseG1GC",
        "32m",
        RICH,
        &["10", "oom"],
    );
    assert!(!run.out.status.success(), "expected OutOfMemoryError");
    assert!(
        text(&run.out.stderr).contains("java.lang.OutOfMemoryError: Java heap space"),
        "{}",
        text(&run.out.stderr)
    );
    let s = check(dir.path(), &run, "G1");
    assert!(s.pauses > 0);
    // G1 tries full collections before giving up (`check` compared their number with the
    // log's `Pause Full` lines); a concurrent cycle may still end after them.
    let data = dir.path().join("data-g1-oom");
    let full = sql_num(
        &data,
        "SELECT count(*) FROM gc_events WHERE kind = 'full' AND stop_the_world \
         AND phase = 'Pause Full' AND cause = 'G1 Compaction Pause'",
    );
    assert!(full >= 1, "no full collection before OutOfMemoryError");
}

/// JDK 8 `-XX:+PrintGCDetails` pause of a record: the outer `, N secs]` before ` [Times:`.
fn jdk8_secs_before_times(line: &str) -> Option<i64> {
    let head = line.split(" [Times:").next()?;
    let head = head.trim_end().strip_suffix(" secs]")?;
    let n = head.rsplit(", ").next()?;
    let v: f64 = n.parse().ok()?;
    Some((v * 1e7).round() as i64)
}

#[test]
fn public_jdk8_logs_match_the_log_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();

    // ParNew/CMS (a rotated log in two parts) and Parallel: one `[GC (cause) ... , N secs]
    // [Times: ...]` line per young pause; N is the pause (7 decimals, so 0.1 µs units).
    let parts = [
        ("cms", "gc/gcviewer/SampleSun1_8_0Series-Part2.txt", "CMS"),
        ("cms", "gc/gcviewer/SampleSun1_8_0Series-Part3.txt", "CMS"),
        (
            "apple",
            "gc/gcviewer/SampleSun1_8_0Parallel_Apple.txt",
            "Parallel",
        ),
    ];
    let mut expect: std::collections::BTreeMap<&str, (i64, i64, &str)> = Default::default();
    for (host, rel, col) in parts {
        let path = shared(rel);
        let body = std::fs::read_to_string(&path).unwrap();
        let e = expect.entry(host).or_insert((0, 0, col));
        for line in body.lines() {
            if line.contains(": [GC (") || line.contains(": [Full GC (") {
                let v = jdk8_secs_before_times(line)
                    .unwrap_or_else(|| panic!("{rel}: no pause time in {line}"));
                e.0 += 1;
                e.1 += v;
            }
        }
        ok(&[
            "import",
            "--format",
            "jvm-gc",
            "--host",
            host,
            "--data",
            d,
            path.to_str().unwrap(),
        ]);
    }

    // JDK 8 Shenandoah: `[Pause Init Mark (process weakrefs), 3.341 ms]`, `[Pause Degenerated
    // GC (Update Refs) 3941M->1733M(3966M) 91.066 ms]`; `[Concurrent marking, 866.393 ms]`.
    let shen = shared("gc/gcviewer/SampleOpenJdk1_8_0-332.txt");
    let body = std::fs::read_to_string(&shen).unwrap();
    let (mut n, mut us, mut conc) = (0i64, 0i64, 0i64);
    for line in body.lines().map(str::trim_end) {
        let Some(t) = line.strip_suffix(" ms]") else {
            continue;
        };
        let v: f64 = t.rsplit([' ', ',']).next().unwrap().parse().unwrap();
        if line.contains(": [Pause ") {
            n += 1;
            us += (v * 1000.0).round() as i64;
        } else if line.contains(": [Concurrent ") {
            conc += 1;
        }
    }
    ok(&[
        "import",
        "--format",
        "jvm-gc",
        "--host",
        "shen8",
        "--data",
        d,
        shen.to_str().unwrap(),
    ]);

    let dead = sql(
        &data,
        "SELECT source, error_type, reason FROM dead_letters LIMIT 5",
    );
    assert!(dead.is_empty(), "dead letters {dead:#?}");

    for (host, (count, tenth_us, col)) in &expect {
        let got = nums(
            &data,
            &format!(
                "SELECT count(*), CAST(sum(round(duration_seconds * 10000000)) AS BIGINT), \
                 count(DISTINCT collector), sum(CASE WHEN collector = '{col}' THEN 1 ELSE 0 END) \
                 FROM gc_events WHERE host = '{host}' AND stop_the_world AND kind <> 'safepoint'"
            ),
        );
        assert_eq!(
            got,
            vec![*count, *tenth_us, 1, *count],
            "{host}: pauses, total (0.1 µs), collectors"
        );
        eprintln!(
            "jdk8 {host}: {count} pauses, {:.4} ms, collector {col}",
            *tenth_us as f64 / 1e4
        );
    }
    assert_eq!(expect["cms"].0, 186);

    let got = nums(
        &data,
        "SELECT count(*), CAST(sum(round(duration_seconds * 1000000)) AS BIGINT) \
         FROM gc_events WHERE host = 'shen8' AND stop_the_world AND kind <> 'safepoint'",
    );
    assert_eq!(got, vec![n, us], "shen8: pauses, total µs");
    let got = nums(
        &data,
        "SELECT sum(CASE WHEN stop_the_world = false THEN 1 ELSE 0 END), \
         sum(CASE WHEN stop_the_world THEN 0 ELSE 1 END) \
         FROM gc_events WHERE host = 'shen8' AND phase LIKE 'Concurrent %'",
    );
    assert_eq!(
        got,
        vec![conc, conc],
        "shen8: concurrent phases are not pauses"
    );
    eprintln!(
        "jdk8 shen8: {n} pauses, {:.3} ms, {conc} concurrent phases",
        us as f64 / 1e3
    );
}

#[test]
fn public_jdk7_safepoint_and_evacuation_failure_rows_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stopped = shared("gc/gcviewer/SampleSun1_7_0_51_CMS_PrintApplStoppedTime.txt");
    let exhausted = shared(
        "gc/gcviewer/SampleSun1_7_0_G1_young_initial_mark_to_space_exhausted_original_order.txt",
    );
    for f in [&stopped, &exhausted] {
        ok(&[
            "import",
            "--format",
            "jvm-gc",
            "--data",
            data.to_str().unwrap(),
            f.to_str().unwrap(),
        ]);
    }
    let rows = sql(
        &data,
        "SELECT kind, phase, count(*) FROM gc_events \
         WHERE kind IN ('safepoint', 'evacuation_failure') GROUP BY kind, phase ORDER BY kind",
    );
    let n = |p: &Path, s: &str| grep_count(p, s).to_string();
    assert_eq!(
        rows,
        vec![
            vec![
                "evacuation_failure".to_string(),
                "to-space exhausted".to_string(),
                n(&exhausted, "(to-space exhausted)"),
            ],
            vec![
                "safepoint".to_string(),
                "Total time for which application threads were stopped".to_string(),
                n(
                    &stopped,
                    "Total time for which application threads were stopped: "
                ),
            ],
        ],
        "JDK 7/8 safepoint and evacuation_failure rows: kind, phase, count"
    );
}
