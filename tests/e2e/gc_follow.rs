//! Following JVM GC logs with `serversage run` while the JVM writes and rotates them: a real
//! JDK 17 run with `-Xlog:...:filecount=5,filesize=64k` (three rotations, and a run left to
//! wrap the five-file ring), a JDK 8 `-XX:+UseGCLogFileRotation` (`gc.log.N.current`)
//! rotation replayed from real JDK 8 logs, and a real JDK 17 run that ends in
//! OutOfMemoryError with its GC log and stderr in one followed file. What is stored is
//! compared with `serversage parse` over the same bytes concatenated in order.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::harness::*;

/// tests/java/GcSteady.java and LeakyCache.java, compiled once per test run.
fn classes() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gc-follow-classes");
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("javac")
            .arg("-d")
            .arg(&dir)
            .arg(repo().join("tests/java/GcSteady.java"))
            .arg(repo().join("tests/java/LeakyCache.java"))
            .output()
            .expect("javac (a JDK 17 on PATH)");
        assert!(out.status.success(), "javac: {}", text(&out.stderr));
        dir
    })
}

/// A config with one `jvm-gc` source following `pattern`, stores flushed every second.
fn config(dir: &Path, pattern: &Path) -> PathBuf {
    let cfg = format!(
        "data_dir = \"data\"\n[store]\nflush_interval = \"1s\"\n\
         [[sources]]\nname = \"gc\"\nformat = \"jvm-gc\"\npaths = [{:?}]\n\
         partial_record_timeout = \"5s\"\n",
        pattern.to_str().unwrap()
    );
    let p = dir.join("serversage.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

/// The columns compared: those a line determines by itself (`source_offset` is per file,
/// the CPU times of a pause whose `User=` line is in the next file are lost).
const COLS: &[&str] = &[
    "clock",
    "uptime_seconds",
    "gc_id",
    "kind",
    "phase",
    "cause",
    "stop_the_world",
    "duration_seconds",
    "heap_before_bytes",
    "heap_after_bytes",
    "heap_capacity_bytes",
    "message",
];

/// Columns that need earlier lines of the log: the pipeline hands a rotated-away file's
/// decoder state to the file that takes its path.
const CONTEXT_COLS: &[&str] = &[
    "collector",
    "young_before_bytes",
    "young_after_bytes",
    "old_before_bytes",
    "old_after_bytes",
    "metaspace_before_bytes",
    "metaspace_after_bytes",
    "allocated_bytes",
    "promoted_bytes",
];

/// One row as a comparable string (numbers rounded to 1e-9: the two outputs print floats
/// differently).
fn key(v: &serde_json::Value) -> String {
    cols_key(v, COLS)
}

fn cols_key(v: &serde_json::Value, cols: &[&str]) -> String {
    cols.iter()
        .map(|c| match v.get(*c) {
            None | Some(serde_json::Value::Null) => "null".to_string(),
            Some(serde_json::Value::Number(n)) => format!("{:.9}", n.as_f64().unwrap()),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\t")
}

fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    text(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `serversage parse --format jvm-gc -` over `files` concatenated in order: the rows, and
/// the malformed records it reported.
fn parsed(files: &[PathBuf]) -> (Vec<serde_json::Value>, String) {
    let mut all = Vec::new();
    for f in files {
        all.extend(std::fs::read(f).unwrap());
    }
    let mut child = bin()
        .args(["parse", "--format", "jvm-gc", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&all).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "parse: {}", text(&out.stderr));
    (json_lines(&out.stdout), text(&out.stderr))
}

/// Every gc_events row stored under `data`.
fn stored(data: &Path) -> Vec<serde_json::Value> {
    sql_rows(data, "SELECT * FROM gc_events")
}

/// Waits until `n` gc_events rows are stored, then stops the run.
fn catch_up(run: Running, data: &Path, n: usize) {
    let got = wait_for(Duration::from_secs(90), || {
        let c = sql(data, "SELECT count(*) FROM gc_events")
            .first()
            .and_then(|r| r[0].parse::<usize>().ok())
            .unwrap_or(0);
        (c >= n).then_some(c)
    });
    run.stop();
    assert!(
        got.is_some(),
        "the pipeline never stored {n} gc_events rows"
    );
}

/// Stored rows equal the parsed ones as multisets of `key`: nothing lost, nothing twice.
fn assert_same(what: &str, got: &[serde_json::Value], want: &[serde_json::Value]) {
    let mut g: Vec<String> = got.iter().map(key).collect();
    let mut w: Vec<String> = want.iter().map(key).collect();
    g.sort();
    w.sort();
    if g != w {
        let missing: Vec<_> = w.iter().filter(|k| !g.contains(k)).take(5).collect();
        let extra: Vec<_> = g.iter().filter(|k| !w.contains(k)).take(5).collect();
        panic!(
            "{what}: {} rows stored, {} parsed; missing {missing:#?}; extra or duplicated {extra:#?}",
            g.len(),
            w.len()
        );
    }
}

/// Rows where a column that depends on earlier lines is null in one output and not in the
/// other (a rotated file does not repeat the log's banner and region size).
fn context_nulls(got: &[serde_json::Value], want: &[serde_json::Value], col: &str) -> usize {
    let nulls = |rows: &[serde_json::Value]| {
        rows.iter()
            .filter(|r| r.get(col).is_none_or(serde_json::Value::is_null))
            .count()
    };
    nulls(got).abs_diff(nulls(want))
}

fn dead_letters(data: &Path) -> i64 {
    // The table exists only once a dead letter was stored.
    let out = bin()
        .args([
            "sql",
            "--data",
            data.to_str().unwrap(),
            "--output",
            "csv",
            "SELECT count(*) FROM dead_letters",
        ])
        .output()
        .unwrap();
    if !out.status.success() {
        return 0;
    }
    text(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

/// Runs GcSteady (allocating 200 MB a second) under G1 with a five-file, 64 KiB ring of
/// `gc*` logs in `logs`, until `stop_when` exists there or `secs` seconds pass; returns the
/// current log's path (`gc.log`).
fn rotating_g1_jvm(logs: &Path, stop_when: &str, secs: &str) -> PathBuf {
    let log = logs.join("gc.log");
    let out = Command::new("java")
        .args(["-XX:+UseG1GC", "-Xmx64m", "-Xms64m", "-Xmn8m"])
        .arg(format!(
            "-Xlog:gc*:file={}:time,uptime,level,tags:filecount=5,filesize=64k",
            log.display()
        ))
        .arg("-cp")
        .arg(classes())
        .args(["GcSteady", "200"])
        .arg(logs.join(stop_when))
        .arg(secs)
        .output()
        .expect("java (JDK 17 on PATH)");
    assert!(out.status.success(), "java: {}", text(&out.stderr));
    log
}

#[test]
fn a_jdk17_log_rotating_while_followed_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = dir.path().join("data");
    let run = Running::start(&config(dir.path(), &logs.join("gc.log*")));

    // ~60 KiB of log a second: GcSteady runs until the third rotation has happened
    // (gc.log.2 exists), so the five-file ring never wraps and every byte is still on disk.
    let log = rotating_g1_jvm(&logs, "gc.log.2", "60");

    // The JVM renames gc.log to gc.log.0, .1, ... and starts a new gc.log each time.
    let mut files: Vec<PathBuf> = (0..5)
        .map(|i| logs.join(format!("gc.log.{i}")))
        .filter(|p| p.exists())
        .collect();
    let rotations = files.len();
    files.push(log);
    assert!(
        (3..5).contains(&rotations),
        "expected 3 or 4 rotations, got {rotations}: {files:?}"
    );
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .collect();
    let (want, malformed) = parsed(&files);
    assert!(malformed.trim().is_empty(), "parse: {malformed}");
    assert!(want.len() > 100, "{} rows", want.len());

    catch_up(run, &data, want.len());
    let got = stored(&data);
    assert_same("rotated JDK 17 log", &got, &want);
    // And the columns that depend on the log's first lines (collector banner, G1 region
    // size, the previous GC's sizes) are those of one decoder over the whole log.
    let both: Vec<&str> = COLS.iter().chain(CONTEXT_COLS).copied().collect();
    let mut g: Vec<String> = got.iter().map(|r| cols_key(r, &both)).collect();
    let mut w: Vec<String> = want.iter().map(|r| cols_key(r, &both)).collect();
    g.sort();
    w.sort();
    let differ: Vec<&String> = g
        .iter()
        .filter(|k| w.binary_search(k).is_err())
        .take(3)
        .collect();
    assert!(differ.is_empty(), "context columns differ: {differ:#?}");
    assert_eq!(dead_letters(&data), 0, "dead letters");
    // Every file was read (rows from each): each row's message is one line of one file.
    let sources: std::collections::BTreeSet<String> = got
        .iter()
        .map(|r| r["source"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sources.len(), 1, "one source: {sources:?}");
    // Pauses name G1 in every file, not only in the one with the `Using G1` banner: by their
    // causes, and from the first such pause on for the others (`Pause Remark`), so only a
    // file's first pauses before one naming G1 may lack it.
    let unnamed: Vec<_> = got
        .iter()
        .filter(|r| r["stop_the_world"] == true && r["kind"] != "safepoint")
        .filter(|r| r["collector"] != "G1")
        .map(|r| &r["message"])
        .collect();
    assert!(
        unnamed.len() <= 2 * rotations,
        "{} pause rows without collector G1: {unnamed:#?}",
        unnamed.len()
    );
    eprintln!(
        "rotation: {rotations} rotations, file sizes {sizes:?}, {} rows stored = parsed; \
         {} pauses without collector; rows whose collector / young_before / allocated differ \
         in nullness from one decoder over the whole log: {} / {} / {}",
        got.len(),
        unnamed.len(),
        context_nulls(&got, &want, "collector"),
        context_nulls(&got, &want, "young_before_bytes"),
        context_nulls(&got, &want, "allocated_bytes"),
    );
}

#[test]
fn a_jdk17_log_ring_that_wraps_is_still_read_whole() {
    // The same JVM left running for ~10 rotations: the five-file ring wraps, so the first
    // files are overwritten (renamed over) and `parse` can only see the last five and the
    // current one. What is achievable, and checked: the follower read every file before it
    // went, so no GC id is missing from what was stored, every row of the surviving files
    // is stored, and no line is stored twice.
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = dir.path().join("data");
    let run = Running::start(&config(dir.path(), &logs.join("gc.log*")));
    let log = rotating_g1_jvm(&logs, "never", "10");
    let mut files: Vec<PathBuf> = (0..5).map(|i| logs.join(format!("gc.log.{i}"))).collect();
    assert!(files.iter().all(|f| f.exists()), "the ring is full");
    files.push(log);
    let mut survivors = Vec::new();
    for f in &files {
        let (rows, malformed) = parsed(std::slice::from_ref(f));
        assert!(
            malformed.trim().is_empty(),
            "parse {}: {malformed}",
            f.display()
        );
        survivors.extend(rows);
    }
    // Wait until the stored rows include the last GC id of the log, then stop.
    let last_id = survivors
        .iter()
        .filter_map(|r| r["gc_id"].as_u64())
        .max()
        .unwrap();
    wait_for(Duration::from_secs(90), || {
        let n = sql(
            &data,
            &format!("SELECT count(*) FROM gc_events WHERE gc_id = {last_id}"),
        );
        (n.first().is_some_and(|r| r[0] != "0")).then_some(())
    })
    .expect("the last GC id stored");
    std::thread::sleep(Duration::from_secs(2));
    run.stop();
    let got = stored(&data);
    let keys: Vec<String> = got.iter().map(key).collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "a line stored twice");
    let missing: Vec<String> = survivors
        .iter()
        .map(key)
        .filter(|k| unique.binary_search(k).is_err())
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "rows of the surviving files not stored: {missing:#?}"
    );
    let ids: std::collections::BTreeSet<u64> =
        got.iter().filter_map(|r| r["gc_id"].as_u64()).collect();
    let gaps: Vec<u64> = (0..=last_id)
        .filter(|i| !ids.contains(i))
        .take(10)
        .collect();
    assert!(
        gaps.is_empty(),
        "GC ids never stored (lost with an overwritten file): {gaps:?}"
    );
    assert!(
        got.len() > survivors.len(),
        "the overwritten files' rows are stored too"
    );
    eprintln!(
        "wrapped ring: GC(0)..GC({last_id}) all stored, {} rows, {} of them in the files left",
        got.len(),
        survivors.len()
    );
}

/// Writes `bytes` to `path` in pieces with pauses, one piece ending mid-line.
fn write_slowly(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let n = bytes.len();
    let mut cuts: Vec<usize> = (1..5).map(|i| n * i / 5).collect();
    // All but one cut at a line end.
    for c in cuts.iter_mut().skip(1) {
        *c += bytes[*c..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
    }
    let mut at = 0;
    for c in cuts.into_iter().chain([n]) {
        f.write_all(&bytes[at..c]).unwrap();
        f.flush().unwrap();
        at = c;
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_jdk8_gc_log_file_rotation_with_current_suffix_is_followed() {
    // JDK 8 -Xloggc:gc.log -XX:+UseGCLogFileRotation writes gc.log.0.current, renames it
    // gc.log.0 when full and goes on in gc.log.1.current (each file starting with `GC log
    // file created` and the JVM banner). Replayed with two consecutive real files of one
    // JVM (ParNew/CMS, JDK 1.8.0_45), written progressively.
    let parts = [
        shared("gc/gcviewer/SampleSun1_8_0Series-Part2.txt"),
        shared("gc/gcviewer/SampleSun1_8_0Series-Part3.txt"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = dir.path().join("data");
    let run = Running::start(&config(dir.path(), &logs.join("gc.log*")));
    std::thread::sleep(Duration::from_millis(500));
    for (i, part) in parts.iter().enumerate() {
        let current = logs.join(format!("gc.log.{i}.current"));
        write_slowly(&current, &std::fs::read(part).unwrap());
        if i + 1 < parts.len() {
            std::fs::rename(&current, logs.join(format!("gc.log.{i}"))).unwrap();
        }
    }
    let (want, malformed) = parsed(&parts);
    assert!(malformed.trim().is_empty(), "parse: {malformed}");
    catch_up(run, &data, want.len());
    let got = stored(&data);
    assert_same("JDK 8 rotated log", &got, &want);
    assert_eq!(dead_letters(&data), 0, "dead letters");
    let pauses = got
        .iter()
        .filter(|r| {
            r["stop_the_world"] == serde_json::Value::Bool(true) && r["kind"] != "safepoint"
        })
        .count();
    // 186 `[GC (...)` pauses in the two files (tests/e2e/gc.rs counts them from the text).
    assert_eq!(pauses, 186);
    eprintln!("jdk8 rotation: {} rows stored = parsed", got.len());
}

#[test]
fn an_out_of_memory_error_in_the_followed_jvm_output_is_a_row() {
    // A real JDK 17 run logging GC to stdout, stdout and stderr into the followed file (as
    // `java ... > app.log 2>&1`), exhausting its 32 MiB heap.
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = dir.path().join("data");
    let log = logs.join("app.log");
    let run = Running::start(&config(dir.path(), &logs.join("*.log")));
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let status = Command::new("java")
        .args([
            "-XX:+UseG1GC",
            "-Xmx32m",
            "-Xlog:gc*:stdout:time,uptime,level,tags",
        ])
        .arg("-cp")
        .arg(classes())
        .arg("LeakyCache")
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap();
    assert!(!status.success(), "LeakyCache ends in OutOfMemoryError");
    let body = std::fs::read_to_string(&log).unwrap();
    let line = body
        .lines()
        .find(|l| l.contains("java.lang.OutOfMemoryError"))
        .expect("the error is in the file");
    assert_eq!(
        line,
        "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space"
    );
    // The wall time of the last dated line before it.
    let before = &body[..body.find(line).unwrap()];
    let last_dated = before.lines().rev().find(|l| l.starts_with("[20")).unwrap();
    let wall = &last_dated[1..24]; // 2026-12-01T10:57:43.586

    let (want, _) = parsed(std::slice::from_ref(&log));
    catch_up(run, &data, want.len());
    let out = ok(&[
        "sql",
        "--data",
        data.to_str().unwrap(),
        "--output",
        "json",
        "SELECT kind, cause, phase, clock, stop_the_world, duration_seconds, \
         to_char(ts, '%Y-%m-%dT%H:%M:%S%.3f') AS t FROM gc_events WHERE kind = 'out_of_memory'",
    ]);
    let rows = json_lines(&out.stdout);
    assert_eq!(rows.len(), 1, "one out_of_memory row: {rows:?}");
    let r = &rows[0];
    assert_eq!(r["cause"], "Java heap space");
    assert_eq!(
        r["phase"],
        "Exception in thread \"main\" java.lang.OutOfMemoryError"
    );
    assert_eq!(r["clock"], "preceding");
    assert!(r["stop_the_world"].is_null() && r["duration_seconds"].is_null());
    assert_eq!(r["t"], wall, "the time of the preceding line");
    // The gc pack pages on it: JvmOutOfMemory fired for that JVM (its window closed at
    // the latest when the pipeline stopped).
    let fired = sql(
        &data,
        "SELECT labels['jvm'], value FROM alerts WHERE rule = 'JvmOutOfMemory' AND state = 'firing'",
    );
    let jvm = sql(
        &data,
        "SELECT jvm FROM gc_events WHERE kind = 'out_of_memory'",
    );
    assert_eq!(fired, vec![vec![jvm[0][0].clone(), "1.0".to_string()]]);
    let got = stored(&data);
    assert_same("GC log on stdout with OutOfMemoryError", &got, &want);
    assert_eq!(dead_letters(&data), 0, "dead letters");
    let full = got.iter().filter(|r| r["kind"] == "full").count();
    assert!(full >= 1, "full GCs before the error");
    eprintln!(
        "oom: {} rows, {full} full GCs, out_of_memory at {wall}",
        got.len()
    );
}
