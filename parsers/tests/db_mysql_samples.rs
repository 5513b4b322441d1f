//! The `mysql-slow` decoder on the 32 real slow logs of Percona Toolkit's test samples
//! (../shared/samples/db/percona-slowlogs, read in place), checked against pt-query-digest
//! run on the same files and against counts taken from the log text here, plus edge cases
//! written as a server writes them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::{
    Array, Float64Array, MapArray, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use serversage_parsers::decoder::for_format;
use serversage_parsers::{ErrorKind, RecordMeta, SourceContext};

const INGEST_US: i64 = 1_800_000_000_000_000;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/db/percona-slowlogs")
}

fn sample_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(samples())
        .expect("../shared/samples/db/percona-slowlogs")
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    assert_eq!(v.len(), 32, "the sample folder holds 32 logs");
    v
}

/// Rows of one decoded log, plus its dead letters as (offset, kind, reason).
struct Decoded {
    batches: Vec<RecordBatch>,
    dead: Vec<(u64, ErrorKind, String)>,
    records: Vec<(usize, usize)>,
}

/// The pipeline's loop: frame, decode, batch; `chunk` > 0 feeds the bytes that many at a
/// time, as a tailer reading a growing file would.
fn decode(log: &[u8], chunk: usize) -> Decoded {
    let ctx = SourceContext {
        host: "db1".into(),
        source: "slow".into(),
        ..Default::default()
    };
    let mut dec = for_format("mysql-slow", &ctx).expect("mysql-slow decoder");
    let mut out = Decoded {
        batches: Vec::new(),
        dead: Vec::new(),
        records: Vec::new(),
    };
    let mut start = 0;
    let mut avail = if chunk == 0 {
        log.len()
    } else {
        chunk.min(log.len())
    };
    loop {
        let eof = avail == log.len();
        while start < avail {
            let Some(len) = dec.frame(&log[start..avail], eof) else {
                break;
            };
            let record = &log[start..start + len];
            let meta = RecordMeta {
                offset: start as u64,
                ingest_ts_us: INGEST_US,
            };
            if let Err(e) = dec.decode(record, &meta) {
                out.dead.push((start as u64, e.kind, e.to_string()));
            }
            out.records.push((start, len));
            start += len;
            if dec.pending_rows() >= 7 {
                out.batches.extend(dec.finish());
            }
        }
        if eof {
            break;
        }
        avail = (avail + chunk).min(log.len());
    }
    assert_eq!(start, log.len(), "input not consumed");
    out.batches.extend(dec.finish());
    out
}

/// One row, with the columns the tests look at.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    ts: i64,
    offset: u64,
    engine: String,
    database: Option<String>,
    user: Option<String>,
    client: Option<String>,
    session_id: Option<String>,
    query_time: f64,
    lock_time: Option<f64>,
    rows_sent: Option<u64>,
    rows_examined: Option<u64>,
    rows_affected: Option<u64>,
    command: Option<String>,
    statement: String,
    fingerprint: String,
    fingerprint_id: String,
    plan_summary: Option<String>,
    plan: Option<String>,
    attributes: BTreeMap<String, String>,
}

fn rows(d: &Decoded) -> Vec<Row> {
    let mut out = Vec::new();
    for b in &d.batches {
        let s = |name: &str| {
            b.column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let u = |name: &str| {
            b.column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<UInt64Array>()
                .unwrap()
                .clone()
        };
        let f = |name: &str| {
            b.column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .clone()
        };
        let opt_s = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
        let opt_u = |a: &UInt64Array, i: usize| a.is_valid(i).then(|| a.value(i));
        let ts = b
            .column_by_name("ts")
            .unwrap()
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .unwrap();
        let attrs = b
            .column_by_name("attributes")
            .unwrap()
            .as_any()
            .downcast_ref::<MapArray>()
            .unwrap();
        let (engine, database, user, client, session, command, statement, fp, id, summary, plan) = (
            s("engine"),
            s("database"),
            s("user"),
            s("client"),
            s("session_id"),
            s("command"),
            s("statement"),
            s("fingerprint"),
            s("fingerprint_id"),
            s("plan_summary"),
            s("plan"),
        );
        let (offset, sent, examined, affected) = (
            u("source_offset"),
            u("rows_sent"),
            u("rows_examined"),
            u("rows_affected"),
        );
        let (qt, lt) = (f("query_time_seconds"), f("lock_time_seconds"));
        for i in 0..b.num_rows() {
            let mut attributes = BTreeMap::new();
            if attrs.is_valid(i) {
                let kv = attrs.value(i);
                let keys = kv.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                let vals = kv.column(1).as_any().downcast_ref::<StringArray>().unwrap();
                for j in 0..kv.len() {
                    attributes.insert(keys.value(j).to_string(), vals.value(j).to_string());
                }
            }
            out.push(Row {
                ts: ts.value(i),
                offset: offset.value(i),
                engine: engine.value(i).to_string(),
                database: opt_s(&database, i),
                user: opt_s(&user, i),
                client: opt_s(&client, i),
                session_id: opt_s(&session, i),
                query_time: qt.value(i),
                lock_time: lt.is_valid(i).then(|| lt.value(i)),
                rows_sent: opt_u(&sent, i),
                rows_examined: opt_u(&examined, i),
                rows_affected: opt_u(&affected, i),
                command: opt_s(&command, i),
                statement: statement.value(i).to_string(),
                fingerprint: fp.value(i).to_string(),
                fingerprint_id: id.value(i).to_string(),
                plan_summary: opt_s(&summary, i),
                plan: opt_s(&plan, i),
                attributes,
            });
        }
    }
    out
}

/// Lines of `log` that start with `prefix`.
fn lines_starting(log: &[u8], prefix: &str) -> usize {
    log.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(prefix.as_bytes()))
        .count()
}

/// Per fingerprint: (count, total µs, max µs, checksum) from pt-query-digest's JSON report
/// of `file`, with every class (`--limit` as a count: a percentage drops classes whose time
/// is 0 once the total is reached).
fn pt_classes(file: &Path) -> BTreeMap<Vec<u8>, (u64, i64, i64, String)> {
    let out = Command::new("pt-query-digest")
        .args(["--output", "json", "--limit", "1000000000"])
        .arg(file)
        .output()
        .expect("pt-query-digest (Debian package percona-toolkit; tests/setup.sh installs it)");
    assert!(
        out.status.success(),
        "pt-query-digest {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut classes = BTreeMap::new();
    if text.trim().is_empty() {
        return classes;
    }
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let us = |v: &serde_json::Value| -> i64 {
        let s = v.as_str().unwrap();
        (s.parse::<f64>().unwrap() * 1e6).round() as i64
    };
    for c in j["classes"].as_array().unwrap() {
        // pt-query-digest's JSON encodes each byte of the fingerprint as a Latin-1 character.
        let fp: Vec<u8> = c["fingerprint"]
            .as_str()
            .unwrap()
            .chars()
            .map(|ch| ch as u32 as u8)
            .collect();
        let qt = &c["metrics"]["Query_time"];
        classes.insert(
            fp,
            (
                c["query_count"].as_u64().unwrap(),
                us(&qt["sum"]),
                us(&qt["max"]),
                c["checksum"].as_str().unwrap().to_string(),
            ),
        );
    }
    classes
}

/// The same per-fingerprint figures from the decoder's rows.
fn our_classes(rows: &[Row]) -> BTreeMap<Vec<u8>, (u64, i64, i64, String)> {
    let mut classes: BTreeMap<Vec<u8>, (u64, i64, i64, String)> = BTreeMap::new();
    for r in rows {
        let us = (r.query_time * 1e6).round() as i64;
        let e = classes.entry(r.fingerprint.as_bytes().to_vec()).or_insert((
            0,
            0,
            0,
            r.fingerprint_id.clone(),
        ));
        e.0 += 1;
        e.1 += us;
        e.2 = e.2.max(us);
        assert_eq!(e.3, r.fingerprint_id, "one id per fingerprint");
    }
    classes
}

#[test]
fn every_sample_log_agrees_with_pt_query_digest() {
    for file in sample_files() {
        let log = std::fs::read(&file).unwrap();
        let d = decode(&log, 0);
        let rows = rows(&d);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(d.dead.is_empty(), "{name}: dead letters {:?}", d.dead);
        assert_eq!(
            rows.len(),
            lines_starting(&log, "# Query_time:"),
            "{name}: one row per `# Query_time:` line"
        );
        let ours = our_classes(&rows);
        let theirs = pt_classes(&file);
        assert_eq!(
            ours, theirs,
            "{name}: per-fingerprint count, total and max Query_time, checksum"
        );
    }
}

#[test]
fn reading_in_small_pieces_gives_the_same_rows() {
    for file in sample_files() {
        let log = std::fs::read(&file).unwrap();
        if log.len() > 50_000 {
            continue;
        }
        let whole = decode(&log, 0);
        for chunk in [1, 7, 64] {
            let pieces = decode(&log, chunk);
            assert_eq!(
                pieces.records,
                whole.records,
                "{}: chunks of {chunk}",
                file.display()
            );
            assert_eq!(
                rows(&pieces),
                rows(&whole),
                "{}: chunks of {chunk}",
                file.display()
            );
        }
    }
}

fn sample_rows(name: &str) -> Vec<Row> {
    let d = decode(&std::fs::read(samples().join(name)).unwrap(), 0);
    assert!(d.dead.is_empty(), "{name}: {:?}", d.dead);
    rows(&d)
}

/// µs since the epoch of a UTC civil time.
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    let days = {
        let (y, m) = if mo <= 2 {
            (y - 1, mo + 9)
        } else {
            (y, mo - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy as i32;
        i64::from(era) * 146_097 + i64::from(doe) - 719_468
    };
    ((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60_000_000 + i64::from(s) * 1_000_000
}

#[test]
fn database_time_and_engine_as_the_logs_say() {
    // slow006: Schema foo, foo; `use bar`; Schema bar; `use bar`; Schema foo.
    let r = sample_rows("slow006.txt");
    let dbs: Vec<_> = r.iter().map(|r| r.database.as_deref().unwrap()).collect();
    assert_eq!(dbs, ["foo", "foo", "bar", "bar", "bar", "foo"]);
    assert_eq!(r[0].ts, utc(2007, 12, 18, 11, 48, 27));
    assert_eq!(r[5].ts, utc(2007, 12, 18, 11, 49, 30));
    assert!(
        r.iter()
            .all(|r| r.engine == "percona" && r.user.as_deref() == Some("SQL_SLAVE"))
    );

    // slow021: a MySQL 5.0 banner; the first entry has no time, the second one has.
    let r = sample_rows("slow021.txt");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].ts, INGEST_US);
    assert_eq!(r[1].ts, utc(2007, 10, 15, 21, 45, 10));
    assert_eq!(r[0].database.as_deref(), Some("test"));
    assert_eq!(r[1].database.as_deref(), Some("sakila"));
    assert!(
        r.iter()
            .all(|r| r.engine == "mysql" && r.client.as_deref() == Some("localhost"))
    );

    // slow033: entries without Schema after `use db2` inherit it.
    let r = sample_rows("slow033.txt");
    let dbs: Vec<_> = r.iter().map(|r| r.database.as_deref()).collect();
    assert_eq!(
        dbs,
        [
            Some("db1"),
            Some("db1"),
            Some("db1"),
            Some("db2"),
            Some("db1"),
            Some("db1")
        ]
    );

    // slow-pt-243: a Percona banner, admin commands, Percona's extra fields.
    let r = sample_rows("slow-pt-243.txt");
    assert_eq!(r.len(), 2);
    assert!(
        r.iter()
            .all(|r| r.engine == "percona" && r.command.as_deref() == Some("Admin"))
    );
    assert_eq!(r[0].statement, "administrator command: Refresh");
    assert_eq!(r[0].rows_affected, Some(0));
    assert_eq!(
        r[0].attributes.get("Rows_read").map(String::as_str),
        Some("0")
    );
    assert_eq!(r[1].ts, r[0].ts, "no `# Time:`: the previous entry's");

    // slow042: Rows_affected / Rows_read on their own line, a user with a host name.
    let r = sample_rows("slow042.txt");
    assert_eq!(r.len(), 3);
    let clients: Vec<_> = r.iter().map(|r| r.client.as_deref().unwrap()).collect();
    assert_eq!(
        clients,
        ["123.123.123.121", "123.123.123.122", "123.123.123.123"]
    );
    assert!(
        r.iter()
            .all(|r| r.rows_sent == Some(230) && r.rows_examined == Some(230))
    );
    assert_eq!(r[2].statement, "select foo");
}

#[test]
fn set_timestamp_plus_query_time_is_the_end() {
    let log = b"# User@Host: app[app] @ localhost []
# Thread_id: 4  Schema: shop  QC_hit: No
# Query_time: 2.500000  Lock_time: 0.000010  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 1  Bytes_sent: 11
SET timestamp=1796111505;
UPDATE t SET a = 1;
# User@Host: app[app] @ localhost []
# Thread_id: 4  Schema:   QC_hit: No
# Query_time: 0.000001  Lock_time: 0.000010  Rows_sent: 0  Rows_examined: 0
SELECT 1;
";
    let d = decode(log, 0);
    let r = rows(&d);
    assert_eq!(r[0].ts, 1_796_111_505_000_000 + 2_500_000);
    assert_eq!(r[0].engine, "mariadb");
    // No time of its own: the previous entry's; an empty Schema: no database.
    assert_eq!(r[1].ts, r[0].ts);
    assert_eq!(r[1].database, None);
    assert_eq!(r[0].database.as_deref(), Some("shop"));
}

#[test]
fn dead_letters_name_the_record_and_the_reason() {
    let mut log = b"# Query_time: 1\nselect 1;\n".to_vec();
    log.extend_from_slice(&[0; 64]);
    log.extend_from_slice(b"this is not a slow log\n# Query_time: zzz\nselect 2;\n# Query_time: 3\nselect 3;\n# Query_time: 4\n");
    let d = decode(&log, 0);
    let r = rows(&d);
    assert_eq!(r.len(), 2);
    assert_eq!(
        r.iter().map(|r| r.statement.as_str()).collect::<Vec<_>>(),
        ["select 1", "select 3"]
    );
    let at = |needle: &[u8]| log.windows(needle.len()).position(|w| w == needle).unwrap() as u64;
    let kinds: Vec<_> = d.dead.iter().map(|(off, k, _)| (*off, *k)).collect();
    assert_eq!(
        kinds,
        [
            (at(b"\0"), ErrorKind::NulByte),
            (at(b"this is not"), ErrorKind::Malformed),
            (at(b"# Query_time: zzz"), ErrorKind::Malformed),
            (at(b"# Query_time: 4"), ErrorKind::Truncated)
        ]
    );
    assert!(
        d.dead[2].2.contains("Query_time `zzz` is not a duration"),
        "{:?}",
        d.dead[2]
    );
}
