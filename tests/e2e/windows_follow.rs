//! `serversage run` on .evtx files: whole files through a glob, and a log that keeps
//! growing the way Windows writes it (records filled into the last chunk in place, new
//! chunks appended, a header that lags), followed by record id across restarts. The file
//! is built in a temp dir from a real sample (read in place); every stage's expected rows
//! are what `evtx_dump` reads from that stage's bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// Records `evtx_dump` reads from a file (one `Record N` line each).
fn dump_count(path: &Path) -> i64 {
    dump_ids(path).len() as i64
}

/// The record ids `evtx_dump` reads from a file.
fn dump_ids(path: &Path) -> Vec<u64> {
    let out = Command::new("evtx_dump")
        .args(["-o", "xml", "-t", "1"])
        .arg(path)
        .output()
        .expect("evtx_dump on PATH (cargo install evtx --version 0.15.1; tests/setup.sh)");
    text(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Record ")?.trim().parse().ok())
        .collect()
}

fn config(dir: &Path, patterns: &[String]) -> PathBuf {
    let paths: Vec<String> = patterns.iter().map(|p| format!("{p:?}")).collect();
    let cfg = format!(
        "data_dir = \"data\"\n[store]\nflush_interval = \"1s\"\n\
         [[sources]]\nname = \"live\"\nformat = \"evtx\"\npaths = [{}]\n",
        paths.join(", ")
    );
    let p = dir.join("serversage.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

/// Replaces `path` with `bytes` at once (no reader sees a half-written file).
fn publish(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Chunk `n` of `file` cut after its first `keep` records, as a chunk still being filled
/// looks: header fields (last record number/id, last record offset, free space) say so and
/// the space after the last record is zero.
fn partial_chunk(file: &[u8], n: usize, keep: usize) -> Vec<u8> {
    let mut c = file[HEADER + n * CHUNK..HEADER + (n + 1) * CHUNK].to_vec();
    let (mut at, mut last_at, mut last_id) = (512usize, 512usize, 0u64);
    for _ in 0..keep {
        assert_eq!(&c[at..at + 4], b"\x2a\x2a\x00\x00", "record at {at:#x}");
        let size = u32::from_le_bytes(c[at + 4..at + 8].try_into().unwrap()) as usize;
        last_id = u64::from_le_bytes(c[at + 8..at + 16].try_into().unwrap());
        last_at = at;
        at += size;
    }
    let first_number = u64::from_le_bytes(c[8..16].try_into().unwrap());
    let first_id = u64::from_le_bytes(c[24..32].try_into().unwrap());
    let last_number = first_number + (last_id - first_id);
    c[16..24].copy_from_slice(&last_number.to_le_bytes());
    c[32..40].copy_from_slice(&last_id.to_le_bytes());
    c[44..48].copy_from_slice(&(last_at as u32).to_le_bytes());
    c[48..52].copy_from_slice(&(at as u32).to_le_bytes());
    c[at..].fill(0);
    c
}

fn rows(data: &Path) -> (i64, i64) {
    let r = sql(
        data,
        "SELECT count(*), count(DISTINCT evtx_record_id) FROM windows_events",
    );
    (r[0][0].parse().unwrap(), r[0][1].parse().unwrap())
}

/// Waits until the table holds `want` rows and no more arrive for two seconds.
fn settle(data: &Path, want: i64) -> (i64, i64) {
    let got = wait_for(Duration::from_secs(60), || {
        if !data.join("windows_events").exists() {
            return None;
        }
        let r = rows(data);
        (r.0 >= want).then_some(r)
    });
    std::thread::sleep(Duration::from_secs(3));
    let after = if data.join("windows_events").exists() {
        rows(data)
    } else {
        (0, 0)
    };
    assert!(got.is_some(), "never reached {want} rows: {after:?}");
    after
}

#[test]
fn a_growing_evtx_file_is_followed_by_record_id_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = dir.path().join("data");
    // security.evtx: 26 used chunks of 33, a dirty header that lags its last chunk.
    let sample = std::fs::read(shared("windows/evtx/security.evtx")).unwrap();
    let live = logs.join("Security.evtx");
    let cfg = config(
        dir.path(),
        &[logs.join("*.evtx").to_string_lossy().into_owned()],
    );

    // Stage 1: the header and the first 10 chunks.
    let mut stage = sample[..HEADER + 10 * CHUNK].to_vec();
    publish(&live, &stage);
    let want1 = dump_count(&live);
    assert!(want1 > 500, "{want1}");
    let run = Running::start(&cfg);
    assert_eq!(settle(&data, want1), (want1, want1), "stage 1");

    // Stage 2: chunk 10 appended while only its first 30 records are written.
    stage.extend_from_slice(&partial_chunk(&sample, 10, 30));
    publish(&live, &stage);
    let want2 = dump_count(&live);
    assert_eq!(want2, want1 + 30);
    assert_eq!(settle(&data, want2), (want2, want2), "stage 2");

    // Stage 2b: a copy caught while record 31 was half written, completed a moment later:
    // the torn record is neither a row nor a dead letter, and is read once complete.
    let mut torn = partial_chunk(&sample, 10, 31);
    let end = u32::from_le_bytes(torn[48..52].try_into().unwrap()) as usize;
    let last = u32::from_le_bytes(torn[44..48].try_into().unwrap()) as usize;
    torn[last + (end - last) / 2..end].fill(0);
    let at = stage.len() - CHUNK;
    stage[at..].copy_from_slice(&torn);
    publish(&live, &stage);
    std::thread::sleep(Duration::from_millis(700));
    stage[at..].copy_from_slice(&partial_chunk(&sample, 10, 31));
    publish(&live, &stage);
    assert_eq!(settle(&data, want2 + 1), (want2 + 1, want2 + 1), "stage 2b");

    // Stage 3: the same chunk filled in place (same size, more records).
    let filled = sample[HEADER + 10 * CHUNK..HEADER + 11 * CHUNK].to_vec();
    stage[HEADER + 10 * CHUNK..].copy_from_slice(&filled);
    publish(&live, &stage);
    let want3 = dump_count(&live);
    assert!(want3 > want2);
    assert_eq!(settle(&data, want3), (want3, want3), "stage 3");
    run.stop();

    // Stopped: more chunks are written (with their preallocated, empty space after them).
    // The restart reads only the records after the checkpoint.
    stage = sample.clone();
    publish(&live, &stage);
    let want4 = dump_count(&live);
    assert!(want4 > want3 + 1000, "{want4}");
    let run = Running::start(&cfg);
    assert_eq!(settle(&data, want4), (want4, want4), "after restart");
    run.stop();

    // A restart with nothing new adds nothing; the checkpoint is the next record id.
    let run = Running::start(&cfg);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(rows(&data), (want4, want4), "second restart");

    // The log is cleared and starts again at record 1 under the same name (system.evtx
    // stands in for it): another log, read whole, although its ids are below the checkpoint.
    let other = shared("windows/evtx/system.evtx");
    publish(&live, &std::fs::read(&other).unwrap());
    let want5 = want4 + dump_count(&other);
    let got = settle(&data, want5);
    run.stop();
    assert_eq!(got.0, want5, "the new log after clearing");
    let cps: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("state/checkpoints.json")).unwrap(),
    )
    .unwrap();
    // One entry per log: the next record id to store.
    let mut offsets: Vec<i64> = cps["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "live")
        .inspect(|e| {
            assert!(e["id"].as_str().unwrap().starts_with("evtx:"), "{e}");
            assert_eq!(e["head_len"], 0, "a keyed entry: {e}");
        })
        .map(|e| e["offset"].as_i64().unwrap())
        .collect();
    offsets.sort();
    let next = |f: &Path| *dump_ids(f).iter().max().unwrap() as i64 + 1;
    assert_eq!(
        offsets,
        vec![next(&other), next(&shared("windows/evtx/security.evtx"))],
        "{cps:#}"
    );
    assert_eq!(
        sql_num(&data, "SELECT count(*) FROM dead_letters"),
        0,
        "a clean log, read in pieces, has no dead letters"
    );
}

#[test]
fn run_reads_a_glob_of_exported_logs_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Security_short_selected.evtx and Security_with_size_t.evtx, read in place.
    let pattern = shared("windows/evtx/Security_*.evtx");
    let files: Vec<PathBuf> = glob_files(&pattern);
    assert_eq!(files.len(), 2, "{files:?}");
    let want: i64 = files.iter().map(|f| dump_count(f)).sum();
    let cfg = config(dir.path(), &[pattern.to_string_lossy().into_owned()]);
    let run = Running::start(&cfg);
    let got = settle(&data, want);
    run.stop();
    assert_eq!(got.0, want, "each record once");
}

fn glob_files(pattern: &Path) -> Vec<PathBuf> {
    let dir = pattern.parent().unwrap();
    let name = pattern.file_name().unwrap().to_string_lossy().into_owned();
    let (pre, post) = name.split_once('*').unwrap();
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(pre) && n.ends_with(post)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn an_imported_log_is_followed_from_where_the_import_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = dir.path().join("data");
    let sample = std::fs::read(shared("windows/evtx/security.evtx")).unwrap();
    let live = logs.join("Security.evtx");
    // Last week's export (the first 10 chunks) is imported ...
    publish(&live, &sample[..HEADER + 10 * CHUNK]);
    let imported = dump_count(&live);
    let import = |what: &str| {
        let out = ok(&[
            "import",
            "--format",
            "evtx",
            "--data",
            data.to_str().unwrap(),
            live.to_str().unwrap(),
        ]);
        let stderr = text(&out.stderr);
        eprintln!("{what}: {stderr}");
        stderr
    };
    import("first import");
    assert_eq!(rows(&data), (imported, imported));
    // ... then the live log, grown since, is followed: only the newer records are added.
    publish(&live, &sample);
    let want = dump_count(&live);
    let cfg = config(
        dir.path(),
        &[logs.join("*.evtx").to_string_lossy().into_owned()],
    );
    let run = Running::start(&cfg);
    assert_eq!(settle(&data, want), (want, want), "import, then run");
    run.stop();
    // And importing it again adds nothing.
    let stderr = import("second import");
    assert!(stderr.contains("already stored"), "{stderr}");
    assert_eq!(rows(&data), (want, want));
}

/// Chunk `n` of `file` with every record id (and the chunk header's ranges) moved up by
/// `delta`: newer records for a log that wrapped around.
fn shifted_chunk(file: &[u8], n: usize, delta: u64) -> Vec<u8> {
    let mut c = file[HEADER + n * CHUNK..HEADER + (n + 1) * CHUNK].to_vec();
    for at in [8usize, 16, 24, 32] {
        let v = u64::from_le_bytes(c[at..at + 8].try_into().unwrap()) + delta;
        c[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    let free = u32::from_le_bytes(c[48..52].try_into().unwrap()) as usize;
    let mut at = 512;
    while at < free && c[at..at + 4] == *b"\x2a\x2a\x00\x00" {
        let id = u64::from_le_bytes(c[at + 8..at + 16].try_into().unwrap()) + delta;
        c[at + 8..at + 16].copy_from_slice(&id.to_le_bytes());
        at += u32::from_le_bytes(c[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    c
}

#[test]
fn a_log_that_wraps_over_its_oldest_chunk_continues_by_record_id() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = dir.path().join("data");
    // The 26 used chunks of security.evtx: records 1..=2261.
    let sample = std::fs::read(shared("windows/evtx/security.evtx")).unwrap();
    let mut log = sample[..HEADER + 26 * CHUNK].to_vec();
    let live = logs.join("Security.evtx");
    publish(&live, &log);
    let first = dump_ids(&live);
    let last = *first.iter().max().unwrap();
    let cfg = config(
        dir.path(),
        &[logs.join("*.evtx").to_string_lossy().into_owned()],
    );
    let run = Running::start(&cfg);
    let n = first.len() as i64;
    assert_eq!(settle(&data, n), (n, n), "before the wrap");

    // Full: the oldest chunk is overwritten with the next records (chunk 1's, renumbered
    // to follow the last id). The file's first record changes; its ids continue.
    let chunk1_first = u64::from_le_bytes(
        sample[HEADER + CHUNK + 24..HEADER + CHUNK + 32]
            .try_into()
            .unwrap(),
    );
    let newer = shifted_chunk(&sample, 1, last + 1 - chunk1_first);
    log[HEADER..HEADER + CHUNK].copy_from_slice(&newer);
    publish(&live, &log);
    let now = dump_ids(&live);
    let added = now.iter().filter(|&&id| id > last).count() as i64;
    assert!(added > 50, "{added}");
    assert_eq!(
        settle(&data, n + added),
        (n + added, n + added),
        "after the wrap"
    );
    run.stop();
    assert_eq!(
        sql_num(&data, "SELECT max(evtx_record_id) FROM windows_events"),
        *now.iter().max().unwrap() as i64
    );
    // A restart reads nothing again.
    let run = Running::start(&cfg);
    std::thread::sleep(Duration::from_secs(4));
    run.stop();
    assert_eq!(
        rows(&data),
        (n + added, n + added),
        "restart after the wrap"
    );
}
