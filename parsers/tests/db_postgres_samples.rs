//! PostgreSQL and MongoDB decoders on real and documented log text.
//!
//! `fixtures/pg15-text.{log,csv,json}` are the stderr, csvlog and jsonlog files one run of
//! this machine's PostgreSQL 15.20 wrote at once (auto_explain text plans, pgbench's
//! extended and prepared protocols, psql with a multi-line statement, an error, SQL
//! PREPARE/EXECUTE, a sort spilling to disk, CHECKPOINT, a lock wait, a deadlock,
//! autovacuum, shutdown), log_line_prefix `%m [%p] %q%u@%d `. Expected values are read off
//! the log text with string operations here, never computed by the decoder. The MongoDB
//! lines follow MongoDB's documented examples: no MongoDB server produced them.

use std::collections::BTreeMap;

use arrow_array::{Array, Float64Array, MapArray, RecordBatch, StringArray, UInt64Array};
use serversage_parsers::decoder::{self, check_options};
use serversage_parsers::{EventKind, RecordMeta, SourceContext};

const LOG: &[u8] = include_bytes!("fixtures/pg15-text.log");
const CSV: &[u8] = include_bytes!("fixtures/pg15-text.csv");
const JSON: &[u8] = include_bytes!("fixtures/pg15-text.json");

/// Rows of both tables and the dead letters `(offset, reason)` of one input.
struct Out {
    slow: Vec<RecordBatch>,
    events: Vec<RecordBatch>,
    errors: Vec<(usize, String)>,
}

fn run_with(format: &str, input: &[u8], options: &[(&str, &str)], chunk: usize) -> Out {
    let ctx = SourceContext {
        host: "db1".into(),
        source: "pg".into(),
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let mut dec = decoder::for_format(format, &ctx).expect(format);
    let mut out = Out {
        slow: Vec::new(),
        events: Vec::new(),
        errors: Vec::new(),
    };
    // Feed growing windows, as a tailer reading `chunk` bytes at a time would.
    let mut start = 0;
    let mut end = 0;
    while start < input.len() {
        end = (end + chunk).min(input.len());
        let eof = end == input.len();
        while start < end {
            let Some(n) = dec.frame(&input[start..end], eof) else {
                break;
            };
            let rec = &input[start..start + n];
            if let Err(e) = dec.decode(
                rec,
                &RecordMeta {
                    offset: start as u64,
                    ingest_ts_us: 7,
                },
            ) {
                assert!(e.offset <= rec.len(), "{e}");
                out.errors.push((start, e.to_string()));
            }
            start += n;
        }
        if let Some(b) = dec.finish() {
            out.slow.push(b);
        }
        for (k, b) in dec.finish_side() {
            assert_eq!(k, EventKind::DbEvent);
            out.events.push(b);
        }
    }
    out
}

fn run(format: &str, input: &[u8]) -> Out {
    run_with(format, input, &[], usize::MAX / 2)
}

fn strs(batches: &[RecordBatch], col: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name(col)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone();
            (0..a.len())
                .map(move |i| a.is_valid(i).then(|| a.value(i).to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn f64s(batches: &[RecordBatch], col: &str) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name(col)
                .unwrap()
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .clone();
            (0..a.len())
                .map(move |i| a.is_valid(i).then(|| a.value(i)))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn u64s(batches: &[RecordBatch], col: &str) -> Vec<Option<u64>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name(col)
                .unwrap()
                .as_any()
                .downcast_ref::<UInt64Array>()
                .unwrap()
                .clone();
            (0..a.len())
                .map(move |i| a.is_valid(i).then(|| a.value(i)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `attributes` map of every row.
fn attrs(batches: &[RecordBatch]) -> Vec<BTreeMap<String, String>> {
    batches
        .iter()
        .flat_map(|b| {
            let m = b
                .column_by_name("attributes")
                .unwrap()
                .as_any()
                .downcast_ref::<MapArray>()
                .unwrap()
                .clone();
            (0..m.len())
                .map(move |i| {
                    if m.is_null(i) {
                        return BTreeMap::new();
                    }
                    let e = m.value(i);
                    let k = e.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                    let v = e.column(1).as_any().downcast_ref::<StringArray>().unwrap();
                    (0..k.len())
                        .map(|j| (k.value(j).to_string(), v.value(j).to_string()))
                        .collect()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// `duration: N ms  <kind>` lines of the stderr fixture: (kind, ms), by string scan.
fn logged_durations() -> Vec<(String, f64)> {
    String::from_utf8_lossy(LOG)
        .lines()
        .filter_map(|l| l.split_once(" LOG:  duration: "))
        .map(|(_, r)| {
            let (ms, tail) = r.split_once(" ms  ").unwrap();
            let kind = tail.split([' ', ':']).next().unwrap().to_string();
            (kind, ms.parse().unwrap())
        })
        .collect()
}

#[test]
fn every_duration_line_is_one_slow_query() {
    let out = run("postgres", LOG);
    assert_eq!(out.errors, Vec::<(usize, String)>::new());
    let logged = logged_durations();
    let commands = strs(&out.slow, "command");
    let times = f64s(&out.slow, "query_time_seconds");
    assert_eq!(commands.len(), logged.len());
    for (i, (kind, ms)) in logged.iter().enumerate() {
        assert_eq!(commands[i].as_deref(), Some(kind.as_str()), "row {i}");
        assert!((times[i].unwrap() - ms / 1000.0).abs() < 1e-12, "row {i}");
    }
    for (col, want) in [
        ("engine", "postgres"),
        ("host", "db1"),
        ("database", "postgres"),
    ] {
        assert!(
            strs(&out.slow, col)
                .iter()
                .all(|v| v.as_deref() == Some(want))
        );
    }
}

#[test]
fn statements_parameters_and_plans() {
    let out = run("postgres", LOG);
    let commands = strs(&out.slow, "command");
    let statements = strs(&out.slow, "statement");
    let a = attrs(&out.slow);
    let summaries = strs(&out.slow, "plan_summary");
    let plans = strs(&out.slow, "plan");
    // pgbench -M extended: parse, bind + DETAIL, execute + DETAIL, and the plan.
    assert_eq!(
        statements[0].as_deref(),
        Some("SELECT v FROM t WHERE id = $1;")
    );
    assert_eq!(
        commands[..4].to_vec(),
        [s("parse"), s("bind"), s("execute"), s("plan")]
    );
    assert_eq!(a[1]["parameters"], "$1 = '2'");
    assert_eq!(a[2]["parameters"], "$1 = '2'");
    assert!(!a[0].contains_key("parameters"));
    assert_eq!(statements[3], statements[0], "the plan's Query Text");
    assert_eq!(
        summaries[3].as_deref(),
        Some("Index Scan using t_pkey on t")
    );
    assert_eq!(
        plans[3].as_deref(),
        Some(
            "Query Text: SELECT v FROM t WHERE id = $1;\nIndex Scan using t_pkey on t  (cost=0.15..8.17 rows=1 width=32)\n  Index Cond: (id = 2)"
        )
    );
    assert_eq!(summaries[0], None);
    // -M prepared names its statements.
    let named: Vec<&BTreeMap<String, String>> = a
        .iter()
        .filter(|m| m.contains_key("statement_name"))
        .collect();
    assert!(
        !named.is_empty()
            && named
                .iter()
                .all(|m| m["statement_name"] == "P_0" || m["statement_name"] == "P_1")
    );
    // psql's multi-line statement, quotes and unicode; its plan names the bitmap scan.
    let multi =
        "SELECT 'it''s a \"quote\"', 'ünïcödé ✓'\n  , 42\nFROM t\nWHERE id IN (1, 2,\n   3);";
    let rows: Vec<usize> = (0..statements.len())
        .filter(|&i| statements[i].as_deref() == Some(multi))
        .collect();
    assert_eq!(rows.len(), 2, "the statement and its plan");
    assert_eq!(commands[rows[0]].as_deref(), Some("plan"));
    assert_eq!(commands[rows[1]].as_deref(), Some("statement"));
    assert!(summaries[rows[0]].as_deref().unwrap().ends_with(" on t"));
    // SQL EXECUTE keeps the PREPARE it runs.
    let exec = statements
        .iter()
        .position(|v| v.as_deref() == Some("EXECUTE p1(1);"))
        .unwrap();
    assert_eq!(
        a[exec]["prepare"],
        "PREPARE p1(int) AS SELECT v FROM t WHERE id = $1;"
    );
}

fn event_rows(out: &Out, event: &str) -> Vec<usize> {
    strs(&out.events, "event")
        .iter()
        .enumerate()
        .filter(|(_, e)| e.as_deref() == Some(event))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn lock_waits_deadlocks_temp_files_checkpoints_autovacuum() {
    let out = run("postgres", LOG);
    let msg = strs(&out.events, "message");
    let detail = strs(&out.events, "detail");
    let stmt = strs(&out.events, "statement");
    let dur = f64s(&out.events, "duration_seconds");
    let size = u64s(&out.events, "size_bytes");
    let a = attrs(&out.events);
    let waits = event_rows(&out, "lock_wait");
    assert_eq!(
        waits.len(),
        2,
        "still waiting + detected deadlock while waiting"
    );
    let w = waits[0];
    assert_eq!(
        msg[w].as_deref(),
        Some("process 10673 still waiting for ShareLock on transaction 824 after 100.110 ms")
    );
    assert_eq!(dur[w], Some(100.110 / 1000.0));
    assert_eq!(a[w]["lock_mode"], "ShareLock");
    assert_eq!(a[w]["lock_object"], "transaction 824");
    assert_eq!(a[w]["outcome"], "waiting");
    assert!(a[w]["holder_pids"].parse::<u32>().is_ok());
    assert!(
        a[w]["context"].starts_with("while updating tuple ("),
        "{:?}",
        a[w]
    );
    assert_eq!(stmt[w].as_deref(), Some("update t set v='y' where id=1;"));
    assert!(
        detail[w]
            .as_deref()
            .unwrap()
            .starts_with("Process holding the lock: ")
    );
    assert_eq!(a[waits[1]]["outcome"], "deadlock");
    let acq = event_rows(&out, "lock_acquired");
    assert_eq!(acq.len(), 1);
    assert_eq!(dur[acq[0]], Some(715.137 / 1000.0));
    let dl = event_rows(&out, "deadlock");
    assert_eq!(dl.len(), 1);
    let d = detail[dl[0]].as_deref().unwrap();
    assert!(d.starts_with("Process 10686 waits for ShareLock on transaction 827"));
    assert_eq!(d.lines().count(), 4, "four DETAIL lines, tabs removed: {d}");
    assert_eq!(
        strs(&out.events, "hint")[dl[0]].as_deref(),
        Some("See server log for query details.")
    );
    assert!(
        stmt[dl[0]]
            .as_deref()
            .unwrap()
            .starts_with("begin; update t set v='a1'")
    );
    let temp: Vec<Option<u64>> = event_rows(&out, "temp_file")
        .iter()
        .map(|&i| size[i])
        .collect();
    assert_eq!(temp, [Some(2_457_600), Some(2_800_000), Some(41_874)]);
    let t0 = event_rows(&out, "temp_file")[0];
    assert_eq!(a[t0]["path"], "base/pgsql_tmp/pgsql_tmp10663.1");
    assert!(
        stmt[t0]
            .as_deref()
            .unwrap()
            .starts_with("SELECT count(*) FROM (SELECT g")
    );
    let cps = event_rows(&out, "checkpoint");
    assert_eq!(cps.len(), 2);
    assert!(cps.iter().all(|&i| dur[i].is_some()));
    assert_eq!(a[cps[0]]["buffers_written"], "4");
    let starts = event_rows(&out, "checkpoint_start");
    assert_eq!(a[starts[0]]["reason"], "immediate force wait");
    assert_eq!(a[starts[1]]["reason"], "shutdown immediate");
    let vac = event_rows(&out, "autovacuum");
    assert_eq!(vac.len(), 1);
    assert_eq!(a[vac[0]]["table"], "postgres.public.t");
    assert!(dur[vac[0]].is_some());
    assert!(msg[vac[0]].as_deref().unwrap().contains("\npages: "));
    assert_eq!(event_rows(&out, "autoanalyze").len(), 1);
    let err = event_rows(&out, "error");
    assert_eq!(err.len(), 1);
    assert_eq!(
        msg[err[0]].as_deref(),
        Some("relation \"no_such_table\" does not exist")
    );
    assert_eq!(a[err[0]]["position"], "15", "stderr's ` at character 15`");
    assert_eq!(
        stmt[err[0]].as_deref(),
        Some("SELECT * FROM no_such_table;")
    );
    let text = String::from_utf8_lossy(LOG);
    for (event, needle) in [
        ("connection_received", " LOG:  connection received: "),
        ("connection", " LOG:  connection authorized: "),
        ("disconnection", " LOG:  disconnection: session time: "),
    ] {
        assert_eq!(
            event_rows(&out, event).len(),
            text.matches(needle).count(),
            "{event}"
        );
    }
    assert_eq!(event_rows(&out, "startup").len(), 2);
    assert_eq!(event_rows(&out, "shutdown").len(), 2);
}

/// The same messages from the three files of one run give the same rows.
#[test]
fn stderr_csvlog_and_jsonlog_agree() {
    let runs = [
        run("postgres", LOG),
        run("postgres-csv", CSV),
        run("postgres-json", JSON),
    ];
    for r in &runs {
        assert_eq!(r.errors, Vec::<(usize, String)>::new());
    }
    for col in [
        "command",
        "statement",
        "fingerprint",
        "plan_summary",
        "plan",
        "user",
        "session_id",
    ] {
        let v = strs(&runs[0].slow, col);
        assert_eq!(v, strs(&runs[1].slow, col), "csv {col}");
        assert_eq!(v, strs(&runs[2].slow, col), "json {col}");
    }
    let q = f64s(&runs[0].slow, "query_time_seconds");
    assert_eq!(q, f64s(&runs[1].slow, "query_time_seconds"));
    assert_eq!(q, f64s(&runs[2].slow, "query_time_seconds"));
    for col in ["event", "level", "message", "detail", "hint", "statement"] {
        let v = strs(&runs[0].events, col);
        assert_eq!(v, strs(&runs[1].events, col), "csv {col}");
        assert_eq!(v, strs(&runs[2].events, col), "json {col}");
    }
    assert_eq!(
        u64s(&runs[0].events, "size_bytes"),
        u64s(&runs[2].events, "size_bytes")
    );
    assert_eq!(
        f64s(&runs[0].events, "duration_seconds"),
        f64s(&runs[1].events, "duration_seconds")
    );
    // csvlog and jsonlog carry the SQLSTATE that this stderr prefix does not.
    let states = strs(&runs[1].events, "sqlstate");
    let dl = event_rows(&runs[1], "deadlock")[0];
    assert_eq!(states[dl].as_deref(), Some("40P01"));
    assert_eq!(states, strs(&runs[2].events, "sqlstate"));
    assert!(
        strs(&runs[0].events, "sqlstate")
            .iter()
            .all(Option::is_none)
    );
}

#[test]
fn framing_does_not_depend_on_read_sizes() {
    for (format, input) in [
        ("postgres", LOG),
        ("postgres-csv", CSV),
        ("postgres-json", JSON),
    ] {
        let whole = run(format, input);
        for chunk in [1, 7, 100, 4096] {
            let parts = run_with(format, input, &[], chunk);
            assert_eq!(parts.errors, whole.errors, "{format} {chunk}");
            assert_eq!(
                strs(&parts.slow, "statement"),
                strs(&whole.slow, "statement")
            );
            assert_eq!(
                strs(&parts.events, "message"),
                strs(&whole.events, "message")
            );
        }
    }
}

#[test]
fn interleaved_backends_keep_follow_ups_with_their_pid() {
    let log = "\
2026-12-01 08:29:29.123 UTC [10658] postgres@postgres LOG:  duration: 2.335 ms  bind <unnamed>: SELECT v FROM t WHERE id = $1;
2026-12-01 08:29:29.123 UTC [10658] postgres@postgres DETAIL:  parameters: $1 = '2'
2026-12-01 08:29:29.124 UTC [10659] postgres@postgres LOG:  duration: 1.000 ms  statement: SELECT 2
2026-12-01 08:29:29.124 UTC [10658] postgres@postgres STATEMENT:  SELECT stray
";
    let out = run("postgres", log.as_bytes());
    assert!(out.errors.is_empty());
    assert_eq!(attrs(&out.slow)[0]["parameters"], "$1 = '2'");
    assert!(!attrs(&out.slow)[1].contains_key("parameters"));
    // A follow-up line whose message is not next to it is kept, not dropped.
    assert_eq!(strs(&out.events, "level"), [s("STATEMENT")]);
    assert_eq!(strs(&out.events, "event"), [s("other")]);
}

#[test]
fn log_statement_and_log_duration_pairs() {
    // log_statement = all, log_duration = on (no log_min_duration_statement): PostgreSQL
    // logs the statement first and a bare duration after it, other backends in between.
    let log = "\
2026-12-01 09:00:00.001 UTC [1] u@d LOG:  statement: SELECT 1;
2026-12-01 09:00:00.002 UTC [2] u@d LOG:  statement: SELECT 2;
2026-12-01 09:00:00.003 UTC [2] u@d LOG:  duration: 0.200 ms
2026-12-01 09:00:00.004 UTC [1] u@d LOG:  duration: 0.100 ms
2026-12-01 09:00:00.005 UTC [3] u@d LOG:  duration: 0.050 ms
";
    let out = run("postgres", log.as_bytes());
    assert_eq!(
        strs(&out.slow, "statement"),
        [s("SELECT 2;"), s("SELECT 1;")]
    );
    assert_eq!(
        f64s(&out.slow, "query_time_seconds"),
        [Some(0.0002), Some(0.0001)]
    );
    assert_eq!(strs(&out.slow, "session_id"), [s("2"), s("1")]);
    assert_eq!(
        strs(&out.events, "event"),
        [s("statement"), s("statement"), s("duration")],
        "the statements themselves, and a duration with nothing to pair with"
    );
}

#[test]
fn configured_prefixes_and_option_checks() {
    let log = "2026-12-01 09:00:00 UTC:10.0.0.7(51234):app@shop:[42]:57014 ERROR:  canceling statement due to statement timeout\n\
2026-12-01 09:00:00 UTC:10.0.0.7(51234):app@shop:[42]:57014 STATEMENT:  SELECT pg_sleep(10);\n";
    let prefix = "%t:%r:%u@%d:[%p]:%e ";
    let out = run_with(
        "postgres",
        log.as_bytes(),
        &[("log_line_prefix", prefix)],
        1 << 20,
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(strs(&out.events, "client"), [s("10.0.0.7")]);
    assert_eq!(strs(&out.events, "database"), [s("shop")]);
    assert_eq!(strs(&out.events, "sqlstate"), [s("57014")]);
    assert_eq!(strs(&out.events, "statement"), [s("SELECT pg_sleep(10);")]);
    // Without the option, none of the defaults match: dead letters naming the prefixes.
    let out = run("postgres", log.as_bytes());
    assert_eq!(out.errors.len(), 2);
    assert!(
        out.errors[0].1.contains("%m [%p] %q%u@%d "),
        "{}",
        out.errors[0].1
    );
    let opts = |k: &str, v: &str| [(k.to_string(), v.to_string())].into_iter().collect();
    assert!(check_options("postgres", &opts("log_line_prefix", prefix)).is_empty());
    let bad = check_options("postgres", &opts("log_line_prefix", "%m %y "));
    assert_eq!(bad.len(), 1);
    assert!(bad[0].1.contains("%y"), "{bad:?}");
    assert_eq!(check_options("postgres", &opts("prefix", "%m")).len(), 1);
    assert_eq!(
        check_options("postgres-csv", &opts("log_line_prefix", "%m")).len(),
        1
    );
}

#[test]
fn bad_input_becomes_dead_letters_with_offsets() {
    let first = b"2026-12-01 09:00:00.001 UTC [1] u@d LOG:  statement: SELECT 1;\n";
    let mut log = first.to_vec();
    log.extend_from_slice(b"garbage without a prefix\n");
    log.extend_from_slice(b"2026-12-01 09:00:00.001 UTC [1] u@d LOG:  a\0b\n");
    log.extend_from_slice(b"2026-12-01 09:00:00.001 UTC [1] u@d LOG:  caf\xe9 latin-1\n");
    log.extend_from_slice(
        b"2026-12-01 09:00:00.001 UTC [1] u@d LOG:  duration: 1.0 ms  statement: SELECT 'cut",
    );
    let out = run("postgres", &log);
    assert_eq!(out.errors.len(), 2, "{:?}", out.errors);
    assert_eq!(out.errors[0].0, first.len());
    assert!(out.errors[0].1.starts_with("malformed at byte 0"));
    let nul_at = log.iter().position(|&b| b == 0).unwrap() - out.errors[1].0;
    assert!(
        out.errors[1]
            .1
            .starts_with(&format!("nul_byte at byte {nul_at} ")),
        "{}",
        out.errors[1].1
    );
    let msgs = strs(&out.events, "message");
    assert_eq!(msgs.last().unwrap().as_deref(), Some("caf\u{fffd} latin-1"));
    assert_eq!(strs(&out.slow, "statement"), [s("SELECT 'cut")]);
    // csvlog: a row cut inside a quoted field; jsonlog: a cut object.
    let out = run("postgres-csv", &CSV[..CSV.len() / 2]);
    assert!(out.errors.len() <= 1);
    let out = run(
        "postgres-json",
        b"{\"timestamp\":\"2026-12-01 09:00:00.001 UTC\",\"error_severity\":\"LOG\",\"mess",
    );
    assert_eq!(out.errors.len(), 1);
    assert!(
        out.errors[0].1.starts_with("truncated"),
        "{}",
        out.errors[0].1
    );
}

/// MongoDB lines in the shape of the documentation's examples (no server produced them).
const MONGO: &str = r#"{"t":{"$date":"2020-05-20T20:10:08.731+00:00"},"s":"I","c":"COMMAND","id":51803,"ctx":"conn281","msg":"Slow query","attr":{"type":"command","ns":"stocks.trades","appName":"MongoDB Shell","command":{"aggregate":"trades","pipeline":[{"$project":{"ticker":1,"price":1,"priceGTE110":{"$gte":["$price",110]},"_id":0}},{"$sort":{"price":-1}}],"allowDiskUse":true,"cursor":{},"lsid":{"id":{"$uuid":"fa658f9e-9cd6-42d4-b1c8-c9160fabf2a2"}},"$clusterTime":{"clusterTime":{"$timestamp":{"t":1590005405,"i":1}},"signature":{"hash":{"$binary":{"base64":"AAAAAAAAAAAAAAAAAAAAAAAAAAA=","subType":"0"}},"keyId":0}},"$db":"test"},"planSummary":"COLLSCAN","cursorid":1912190691485054730,"keysExamined":0,"docsExamined":1000001,"hasSortStage":true,"usedDisk":true,"numYields":1002,"nreturned":101,"reslen":17738,"locks":{"ReplicationStateTransition":{"acquireCount":{"w":1119}},"Global":{"acquireCount":{"r":1119}}},"storage":{"data":{"bytesRead":232899899,"timeReadingMicros":186017},"timeWaitingMicros":{"cache":849}},"remote":"192.168.14.15:37666","protocol":"op_msg","durationMillis":22427}}
{"t":{"$date":"2020-05-20T20:11:02.118+00:00"},"s":"I","c":"COMMAND","id":51803,"ctx":"conn282","msg":"Slow query","attr":{"type":"command","ns":"shop.orders","command":{"find":"orders","filter":{"status":"A","qty":{"$in":[5,15,25]}},"sort":{"ts":-1},"limit":10,"lsid":{"id":{"$uuid":"0a1b2c3d-9cd6-42d4-b1c8-c9160fabf2a2"}},"$db":"shop"},"planSummary":"IXSCAN { status: 1, qty: 1 }","keysExamined":120,"docsExamined":120,"nreturned":10,"queryHash":"8B3D4AB8","planCacheKey":"BBEC5D6A","reslen":4210,"remote":"10.1.2.3:50010","protocol":"op_msg","durationMillis":153}}
{"t":{"$date":"2020-05-20T20:11:03.500+00:00"},"s":"I","c":"COMMAND","id":51803,"ctx":"conn283","msg":"Slow query","attr":{"type":"command","ns":"shop.orders","command":{"find":"orders","filter":{"status":"D","qty":{"$in":[1,2]}},"sort":{"ts":1},"limit":50,"$db":"shop"},"planSummary":"IXSCAN { status: 1, qty: 1 }","keysExamined":30,"docsExamined":30,"nreturned":30,"durationMillis":101}}
{"t":{"$date":"2020-05-20T20:12:00.000+00:00"},"s":"I","c":"WRITE","id":51803,"ctx":"conn284","msg":"Slow query","attr":{"type":"update","ns":"shop.orders","command":{"q":{"_id":{"$oid":"5ec5a5b1d9a5b0b1c2d3e4f5"}},"u":{"$set":{"status":"B"}},"multi":false,"upsert":false},"planSummary":"IDHACK","keysExamined":1,"docsExamined":1,"nMatched":1,"nModified":1,"numYields":0,"durationMillis":250}}
{"t":{"$date":"2020-05-01T15:16:17.180+00:00"},"s":"I","c":"NETWORK","id":22943,"ctx":"listener","msg":"Connection accepted","attr":{"remote":"127.0.0.1:56734","connectionId":281,"connectionCount":3}}
{"t":{"$date":"2020-05-01T15:16:17.180+00:00"},"s":"I","c":"NETWORK","id":12345,"ctx":"listener","msg":"Listening on","attr":{"address":"127.0.0.1"}}
{"t":{"$date":"2020-05-01T15:20:00.000+00:00"},"s":"E","c":"STORAGE","id":22435,"ctx":"initandlisten","msg":"WiredTiger error","attr":{"error":13,"message":"[1590005400:0] Permission denied"}}
"#;

#[test]
fn mongodb_slow_queries_and_other_lines() {
    let out = run("mongodb", MONGO.as_bytes());
    assert_eq!(out.errors, Vec::<(usize, String)>::new());
    assert_eq!(strs(&out.slow, "engine"), vec![s("mongodb"); 4]);
    assert_eq!(
        strs(&out.slow, "database"),
        [s("stocks"), s("shop"), s("shop"), s("shop")]
    );
    assert_eq!(
        strs(&out.slow, "command"),
        [s("aggregate"), s("find"), s("find"), s("update")]
    );
    assert_eq!(
        f64s(&out.slow, "query_time_seconds"),
        [Some(22.427), Some(0.153), Some(0.101), Some(0.25)]
    );
    assert_eq!(u64s(&out.slow, "docs_examined")[0], Some(1_000_001));
    assert_eq!(u64s(&out.slow, "keys_examined")[1], Some(120));
    assert_eq!(u64s(&out.slow, "rows_sent")[1], Some(10));
    assert_eq!(u64s(&out.slow, "rows_affected")[3], Some(1));
    assert_eq!(
        strs(&out.slow, "plan_summary")[1],
        s("IXSCAN { status: 1, qty: 1 }")
    );
    assert_eq!(strs(&out.slow, "client")[0], s("192.168.14.15"));
    assert_eq!(strs(&out.slow, "session_id")[0], s("conn281"));
    let statements = strs(&out.slow, "statement");
    assert!(
        statements[1]
            .as_deref()
            .unwrap()
            .starts_with(r#"{"find":"orders","filter":{"status":"A""#)
    );
    let fps = strs(&out.slow, "fingerprint");
    assert_eq!(
        fps[1].as_deref(),
        Some(r#"{find: "orders", filter: {status: ?, qty: {$in: [?]}}, sort: {ts: ?}, limit: ?}"#)
    );
    assert_eq!(fps[1], fps[2], "same shape, other literals");
    assert_eq!(
        strs(&out.slow, "fingerprint_id")[1],
        strs(&out.slow, "fingerprint_id")[2]
    );
    assert_eq!(
        fps[0].as_deref(),
        Some(
            r#"{aggregate: "trades", pipeline: [{$project: {ticker: ?, price: ?, priceGTE110: {$gte: [?]}, _id: ?}}, {$sort: {price: ?}}], allowDiskUse: ?, cursor: {}}"#
        )
    );
    assert_eq!(
        fps[3].as_deref(),
        Some(r#"{q: {_id: ?}, u: {$set: {status: ?}}, multi: ?, upsert: ?}"#)
    );
    assert_eq!(
        strs(&out.events, "event"),
        [s("connection"), s("network"), s("error")]
    );
    assert_eq!(
        strs(&out.events, "level"),
        [s("INFO"), s("INFO"), s("ERROR")]
    );
    assert_eq!(strs(&out.events, "message")[2], s("WiredTiger error"));
    let bad = run("mongodb", b"{\"t\":{\"$date\":\"2020-05-20T20:10:08.731+00:00\"},\"s\":\"I\",\"msg\":\"Slow query\",\"attr\":{\"ns\":\"a.b\"}}\nnot json\n");
    assert_eq!(bad.errors.len(), 2, "{:?}", bad.errors);
    assert!(bad.errors[0].1.contains("durationMillis"));
}
