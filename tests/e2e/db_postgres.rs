//! PostgreSQL logs end to end (formats `postgres`, `postgres-csv`, `postgres-json`): a
//! throwaway PostgreSQL 15 of this machine (own data directory, port and socket; never the
//! shared cluster) logs to stderr, csvlog and jsonlog at once while pgbench and a query mix
//! run (multi-line SQL, quotes, unicode, SQL and protocol-level prepared statements, a lock
//! wait, a deadlock, a sort spilling to a temporary file, an error). The three logs are
//! imported with the real binary and checked with SQL against each other, against pgBadger's
//! JSON report on the same stderr log, and against plain string scans of the logs.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::Duration;

use crate::harness::*;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Prefixes the tests configure; both are among the defaults the decoder recognises, as
/// `import` takes no format options.
const DEBIAN_PREFIX: &str = "%m [%p] %q%u@%d ";
const PGBADGER_PREFIX: &str = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ";

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    text(&out.stdout).trim() == "0"
}

/// `cmd` run as the `postgres` user when we are root (initdb and postgres refuse root).
fn as_postgres(prog: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", prog]);
        c
    } else {
        Command::new(prog)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn must(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// A throwaway cluster; stopped (immediate) and removed on drop, even when a test fails.
struct Pg {
    root: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    logs: PathBuf,
    port: u16,
    running: bool,
}

impl Pg {
    /// initdb + start with every log destination and the logging settings of the issue.
    fn start(label: &str, explain_format: &str, prefix: &str) -> Pg {
        let bin = Path::new(PG_BIN);
        assert!(
            bin.join("initdb").exists(),
            "PostgreSQL 15 server binaries expected in {PG_BIN} (Debian package postgresql-15)"
        );
        let root = std::env::temp_dir().join(format!(
            "serversage-pg-{label}-{}-{}",
            std::process::id(),
            now_nanos()
        ));
        std::fs::create_dir_all(&root).unwrap();
        let sock = root.join("sock");
        let logs = root.join("log");
        std::fs::create_dir_all(&sock).unwrap();
        if is_root() {
            must(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&root)
                    .output()
                    .unwrap(),
                "chown of the cluster directory",
            );
        }
        let data = root.join("data");
        let mut pg = Pg {
            root,
            data,
            sock,
            logs,
            port: free_port(),
            running: false,
        };
        must(
            as_postgres(&format!("{PG_BIN}/initdb"))
                .arg("-D")
                .arg(&pg.data)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ])
                .output()
                .unwrap(),
            "initdb",
        );
        let conf = format!(
            "
port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sock}'
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = '{logs}'
log_filename = 'pg'
log_rotation_size = 0
log_line_prefix = '{prefix}'
log_min_duration_statement = 0
log_lock_waits = on
deadlock_timeout = 100ms
log_temp_files = 0
log_checkpoints = on
log_autovacuum_min_duration = 0
autovacuum_naptime = 1
log_connections = on
log_disconnections = on
shared_preload_libraries = 'auto_explain'
auto_explain.log_min_duration = 0
auto_explain.log_format = {explain_format}
",
            port = pg.port,
            sock = pg.sock.display(),
            logs = pg.logs.display(),
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(pg.data.join("postgresql.conf"))
            .unwrap()
            .write_all(conf.as_bytes())
            .unwrap();
        let out = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(&pg.data)
            .args(["-w", "-t", "60", "-l"])
            .arg(pg.root.join("pg_ctl.log"))
            .arg("start")
            .output()
            .unwrap();
        pg.running = true;
        if !out.status.success() {
            let log = std::fs::read_to_string(pg.root.join("pg_ctl.log")).unwrap_or_default();
            panic!(
                "pg_ctl start failed ({}): {}\n{}\n{log}",
                out.status,
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        pg
    }

    fn log(&self, ext: &str) -> PathBuf {
        self.logs.join(format!("pg{ext}"))
    }

    fn conn_args(&self) -> Vec<String> {
        vec![
            "-h".into(),
            self.sock.display().to_string(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            "postgres".into(),
        ]
    }

    /// Runs a script with psql (errors in it do not stop it); returns stdout and stderr.
    fn psql(&self, sql: &str) -> (String, String) {
        let mut child = Command::new(format!("{PG_BIN}/psql"))
            .args(self.conn_args())
            .args(["-X", "-q", "-d", "postgres", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("psql");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (text(&out.stdout), text(&out.stderr))
    }

    /// One value, `psql -At -c`.
    fn value(&self, sql: &str) -> String {
        let out = must(
            Command::new(format!("{PG_BIN}/psql"))
                .args(self.conn_args())
                .args(["-X", "-At", "-d", "postgres", "-c", sql])
                .output()
                .unwrap(),
            "psql -c",
        );
        text(&out.stdout).trim().to_string()
    }

    /// An interactive session fed through its stdin, named by application_name.
    fn session(&self, name: &str) -> Session {
        let mut child = Command::new(format!("{PG_BIN}/psql"))
            .args(self.conn_args())
            .args(["-X", "-q", "-d", "postgres"])
            .env("PGAPPNAME", name)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("psql session");
        let stdin = child.stdin.take().unwrap();
        Session { child, stdin }
    }

    fn pgbench(&self, args: &[&str]) {
        must(
            Command::new(format!("{PG_BIN}/pgbench"))
                .args(self.conn_args())
                .args(args)
                .arg("postgres")
                .output()
                .unwrap(),
            &format!("pgbench {args:?}"),
        );
    }

    /// Waits until `sql` returns `want` (30 s at most).
    fn await_value(&self, sql: &str, want: &str, what: &str) {
        wait_for(Duration::from_secs(30), || {
            (self.value(sql) == want).then_some(())
        })
        .unwrap_or_else(|| panic!("timed out waiting for {what} ({sql} = {want})"));
    }

    /// Waits until the stderr log contains `needle` (60 s at most).
    fn await_log(&self, needle: &str) {
        wait_for(Duration::from_secs(60), || {
            let log = std::fs::read(self.log("")).unwrap_or_default();
            String::from_utf8_lossy(&log).contains(needle).then_some(())
        })
        .unwrap_or_else(|| panic!("timed out waiting for `{needle}` in the server log"));
    }

    fn stop(&mut self) {
        if self.running {
            must(
                as_postgres(&format!("{PG_BIN}/pg_ctl"))
                    .arg("-D")
                    .arg(&self.data)
                    .args(["-w", "-t", "60", "-m", "fast", "stop"])
                    .output()
                    .unwrap(),
                "pg_ctl stop",
            );
            self.running = false;
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if self.running {
            let _ = as_postgres(&format!("{PG_BIN}/pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-w", "-t", "30", "-m", "immediate", "stop"])
                .output();
        }
        if std::thread::panicking() {
            eprintln!("PostgreSQL test cluster kept in {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A psql process reading statements from a pipe.
struct Session {
    child: Child,
    stdin: ChildStdin,
}

impl Session {
    fn send(&mut self, sql: &str) {
        writeln!(self.stdin, "{sql}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Ends the session; returns what psql printed on stderr.
    fn close(mut self) -> String {
        self.send("\\q");
        drop(self.stdin);
        let out = self.child.wait_with_output().unwrap();
        text(&out.stderr)
    }
}

/// The query mix: multi-line SQL, quotes, unicode, an error, SQL-level PREPARE/EXECUTE and
/// a sort that spills to a temporary file.
const WORKLOAD: &str = "
CREATE TABLE t (id int PRIMARY KEY, v text);
CREATE TABLE gate (id int);
INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'ünïcödé ✓');
SELECT 'it''s a \"quote\"', 'ünïcödé ✓'
  , 42
FROM t
WHERE id IN (1, 2,
   3);
SELECT *
\tFROM t
\tWHERE v = 'tab	inside';
SELECT * FROM no_such_table;
PREPARE p1(int) AS SELECT v FROM t WHERE id = $1;
EXECUTE p1(1);
EXECUTE p1(2);
SET work_mem = '64kB';
SELECT count(*) FROM (SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC) s;
RESET work_mem;
CHECKPOINT;
";

/// A lock wait forced without timing races: the holder keeps its row lock until the test
/// has seen the waiter's `still waiting` line.
fn lock_wait(pg: &Pg) {
    let mut gatekeeper = pg.session("gatekeeper");
    gatekeeper.send("BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE;");
    pg.await_value(
        "SELECT count(*) FROM pg_locks WHERE relation = 'gate'::regclass AND granted",
        "1",
        "the gate lock",
    );
    let mut holder = pg.session("holder");
    holder.send("BEGIN; UPDATE t SET v = 'held' WHERE id = 1; LOCK TABLE gate IN ACCESS SHARE MODE; COMMIT;");
    pg.await_value(
        "SELECT count(*) FROM pg_locks WHERE relation = 'gate'::regclass AND NOT granted",
        "1",
        "the holder waiting at the gate",
    );
    let mut waiter = pg.session("waiter");
    waiter.send("UPDATE t SET v = 'waited' WHERE id = 1;");
    pg.await_log("still waiting for ShareLock on transaction");
    gatekeeper.send("COMMIT;");
    pg.await_log("acquired ShareLock on transaction");
    for (name, s) in [
        ("waiter", waiter),
        ("holder", holder),
        ("gatekeeper", gatekeeper),
    ] {
        let err = s.close();
        assert!(err.is_empty(), "{name}: {err}");
    }
}

/// Two sessions locking rows 1 and 2 in opposite orders: exactly one deadlock.
fn deadlock(pg: &Pg) {
    let mut a = pg.session("dl_a");
    let mut b = pg.session("dl_b");
    a.send("BEGIN; UPDATE t SET v = 'a' WHERE id = 2;");
    b.send("BEGIN; UPDATE t SET v = 'b' WHERE id = 3;");
    pg.await_value(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('dl_a', 'dl_b') AND state = 'idle in transaction'",
        "2",
        "both deadlock sessions in their transactions",
    );
    a.send("UPDATE t SET v = 'a' WHERE id = 3;");
    pg.await_value(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dl_a' AND wait_event_type = 'Lock'",
        "1",
        "session A blocked by B",
    );
    b.send("UPDATE t SET v = 'b' WHERE id = 2;");
    pg.await_log("deadlock detected");
    a.send("ROLLBACK;");
    b.send("ROLLBACK;");
    let errs = format!("{}{}", a.close(), b.close());
    assert_eq!(errs.matches("deadlock detected").count(), 1, "{errs}");
}

/// Runs the whole workload on `pg` and stops it; returns the three logs.
fn drive(pg: &mut Pg, transactions: &str) -> [PathBuf; 3] {
    pg.pgbench(&["-i", "-s", "1", "-q"]);
    pg.pgbench(&["-c", "2", "-t", transactions]);
    pg.pgbench(&["-c", "2", "-t", transactions, "-M", "prepared"]);
    pg.pgbench(&["-c", "1", "-t", transactions, "-M", "extended"]);
    let (_, err) = pg.psql(WORKLOAD);
    assert!(
        err.contains("relation \"no_such_table\" does not exist"),
        "the workload's deliberate error: {err}"
    );
    assert_eq!(
        err.matches("ERROR").count(),
        1,
        "only the deliberate error: {err}"
    );
    lock_wait(pg);
    deadlock(pg);
    // 10,000 new rows in a new table pass autovacuum's analyze and insert thresholds; it
    // wakes every second (autovacuum_naptime).
    let (_, err) =
        pg.psql("CREATE TABLE av (i int); INSERT INTO av SELECT generate_series(1, 10000);");
    assert!(err.is_empty(), "{err}");
    pg.await_log("automatic analyze of table \"postgres.public.av\"");
    pg.stop();
    [pg.log(""), pg.log(".csv"), pg.log(".json")]
}

fn import(data: &Path, format: &str, source: &str, file: &Path) {
    ok(&[
        "import",
        "--format",
        format,
        "--host",
        "db1",
        "--source",
        source,
        "--data",
        data.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
}

fn num(v: &serde_json::Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} is not a number in {v}"))
}

/// `duration: N ms  <kind>` messages of the stderr log, by kind, counted with string
/// operations on the log text (never with the parser): (count, total ms).
fn scan_durations(log: &str) -> BTreeMap<String, (u64, f64)> {
    let mut out: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for line in log.lines() {
        if line.starts_with('\t') {
            continue;
        }
        let Some((_, rest)) = line.split_once(" LOG:  duration: ") else {
            continue;
        };
        let Some((ms, tail)) = rest.split_once(" ms") else {
            continue;
        };
        let kind = tail
            .trim_start()
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_string();
        let kind = if kind.is_empty() { "bare".into() } else { kind };
        let e = out.entry(kind).or_default();
        e.0 += 1;
        e.1 += ms.parse::<f64>().unwrap();
    }
    out
}

/// pgBadger's JSON report of the stderr log.
fn pgbadger(log: &Path, prefix: &str, dir: &Path) -> serde_json::Value {
    let out = dir.join("pgbadger.json");
    must(
        Command::new("pgbadger")
            .args([
                "--format", "stderr", "--prefix", prefix, "--quiet", "-x", "json",
            ])
            // Its pid file (default /tmp/pgbadger.pid) refuses concurrent runs.
            .arg("--pid-dir")
            .arg(dir)
            .arg("-o")
            .arg(&out)
            .arg(log)
            .output()
            .expect("pgbadger (Debian package pgbadger; tests/setup.sh installs it)"),
        "pgbadger",
    );
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

/// Every check of one run (prefix: the stderr log's `log_line_prefix`).
fn check_run(label: &str, explain_format: &str, prefix: &str, transactions: &str) {
    // pgBadger 12 files a JSON-format plan under a normal form of its JSON text, not of the
    // statement: per normalised query it then counts statements and executes only.
    let per_query_commands = if explain_format == "json" {
        "'statement', 'execute'"
    } else {
        "'statement', 'execute', 'plan'"
    };
    let mut pg = Pg::start(label, explain_format, prefix);
    let logs = drive(&mut pg, transactions);
    let dir = tempfile::Builder::new()
        .prefix(&format!("ss-pg-{label}-"))
        .tempdir()
        .unwrap();
    let data = dir.path().join("data");
    for (format, source, file) in [
        ("postgres", "stderr", &logs[0]),
        ("postgres-csv", "csv", &logs[1]),
        ("postgres-json", "json", &logs[2]),
    ] {
        import(&data, format, source, file);
    }
    // (d) Nothing is a dead letter.
    let rows = sql_rows(
        &data,
        "SELECT source, source_offset, error_type, reason FROM dead_letters ORDER BY source, source_offset",
    );
    assert_eq!(
        rows,
        Vec::<serde_json::Value>::new(),
        "{label}: dead letters"
    );

    // (a) The three logs of one run give the same slow queries and the same events.
    let per_source = |q: &str| -> BTreeMap<String, Vec<serde_json::Value>> {
        let mut m: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for mut r in sql_rows(&data, q) {
            let s = r["source"].as_str().unwrap().to_string();
            r.as_object_mut().unwrap().remove("source");
            m.entry(s).or_default().push(r);
        }
        m
    };
    let slow = per_source(
        "SELECT source, command, count(*) AS n, round(sum(query_time_seconds) * 1000, 3) AS ms, \
         count(DISTINCT fingerprint) AS fps, count(plan_summary) AS summaries \
         FROM slow_queries GROUP BY source, command ORDER BY source, command",
    );
    assert_eq!(slow["stderr"], slow["csv"], "{label}: stderr vs csvlog");
    assert_eq!(slow["stderr"], slow["json"], "{label}: stderr vs jsonlog");
    let events = per_source(
        "SELECT source, event, count(*) AS n, sum(size_bytes) AS bytes, count(duration_seconds) AS timed \
         FROM db_events GROUP BY source, event ORDER BY source, event",
    );
    assert_eq!(
        events["stderr"], events["csv"],
        "{label}: stderr vs csvlog events"
    );
    assert_eq!(
        events["stderr"], events["json"],
        "{label}: stderr vs jsonlog events"
    );
    let same_text = sql_rows(
        &data,
        "SELECT count(*) AS n FROM (SELECT statement, query_time_seconds, command FROM slow_queries WHERE source = 'stderr' \
         EXCEPT SELECT statement, query_time_seconds, command FROM slow_queries WHERE source = 'json') x",
    );
    assert_eq!(
        num(&same_text[0], "n"),
        0.0,
        "{label}: every stderr statement (tabs removed) reads as in jsonlog"
    );

    // The slow queries against a string scan of the stderr log.
    let stderr_text = String::from_utf8_lossy(&std::fs::read(&logs[0]).unwrap()).into_owned();
    let scanned = scan_durations(&stderr_text);
    let stored: BTreeMap<String, (u64, f64)> = slow["stderr"]
        .iter()
        .map(|r| {
            (
                r["command"].as_str().unwrap().to_string(),
                (num(r, "n") as u64, num(r, "ms")),
            )
        })
        .collect();
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        scanned.keys().filter(|k| *k != "bare").collect::<Vec<_>>(),
        "{label}: commands"
    );
    for (k, (n, ms)) in &stored {
        let (sn, sms) = scanned[k];
        assert_eq!(*n, sn, "{label}: {k} count");
        assert!(
            (ms - sms).abs() < 0.01,
            "{label}: {k} total {ms} vs {sms} ms"
        );
    }
    let plans = &stored["plan"];
    let summaries = slow["stderr"]
        .iter()
        .find(|r| r["command"] == "plan")
        .map(|r| num(r, "summaries") as u64);
    assert_eq!(
        summaries,
        Some(plans.0),
        "{label}: every plan has a top node"
    );

    // Statement texts as sent: the multi-line one with its quotes and unicode.
    let multi = sql_rows(
        &data,
        "SELECT statement, fingerprint FROM slow_queries WHERE source = 'csv' AND command = 'statement' \
         AND statement LIKE '%quote%' ORDER BY ts",
    );
    assert_eq!(multi.len(), 1, "{label}: {multi:?}");
    assert_eq!(
        multi[0]["statement"],
        "SELECT 'it''s a \"quote\"', 'ünïcödé ✓'\n  , 42\nFROM t\nWHERE id IN (1, 2,\n   3);"
    );
    let tabbed = sql_rows(
        &data,
        "SELECT statement FROM slow_queries WHERE source = 'stderr' AND command = 'statement' \
         AND statement LIKE '%tab%inside%'",
    );
    assert_eq!(
        tabbed[0]["statement"], "SELECT *\n\tFROM t\n\tWHERE v = 'tab\tinside';",
        "{label}: continuation tabs removed, the statement's own tabs kept"
    );
    let exec = sql_rows(
        &data,
        "SELECT count(*) AS n, min(attributes['prepare']) AS prep FROM slow_queries \
         WHERE source = 'json' AND statement LIKE 'EXECUTE p1%'",
    );
    assert_eq!(num(&exec[0], "n"), 2.0, "{label}: SQL EXECUTE");
    assert_eq!(
        exec[0]["prep"],
        "PREPARE p1(int) AS SELECT v FROM t WHERE id = $1;"
    );
    let params = sql_rows(
        &data,
        "SELECT count(*) AS n FROM slow_queries WHERE source = 'stderr' AND command = 'execute' \
         AND attributes['parameters'] LIKE '$1 = %'",
    );
    assert!(num(&params[0], "n") > 0.0, "{label}: bind parameters kept");

    // (b) pgBadger on the same stderr log: total query count and duration. pgBadger counts
    // statement, execute and auto_explain plan entries as queries (not parse/bind).
    let report = pgbadger(&logs[0], prefix, dir.path());
    let overall = &report["overall_stat"];
    let theirs_n = overall["queries_number"].as_f64().unwrap();
    let db = &overall["postgres"];
    let theirs_ms = db["queries_duration"]["execute"].as_f64().unwrap();
    let ours = sql_rows(
        &data,
        "SELECT count(*) AS n, sum(query_time_seconds) * 1000 AS ms FROM slow_queries \
         WHERE source = 'stderr' AND command IN ('statement', 'execute', 'plan')",
    );
    assert_eq!(
        num(&ours[0], "n"),
        theirs_n,
        "{label}: query count vs pgBadger"
    );
    assert!(
        (num(&ours[0], "ms") - theirs_ms).abs() < 0.01,
        "{label}: total query time {} vs pgBadger's {theirs_ms} ms",
        num(&ours[0], "ms")
    );
    // Its `prepare` and `bind` durations are the parse and bind steps'.
    for (theirs, command) in [("prepare", "parse"), ("bind", "bind")] {
        let t = db["queries_duration"][theirs].as_f64().unwrap();
        let o = sql_rows(
            &data,
            &format!(
                "SELECT coalesce(sum(query_time_seconds), 0) * 1000 AS ms FROM slow_queries \
                 WHERE source = 'stderr' AND command = '{command}'"
            ),
        );
        assert!(
            (num(&o[0], "ms") - t).abs() < 0.01,
            "{label}: {command} time {} vs pgBadger's {theirs} {t} ms",
            num(&o[0], "ms")
        );
    }
    let histogram_total = db["histogram"]["query_total"].as_f64().unwrap();
    let not_plans = sql_rows(
        &data,
        "SELECT count(*) AS n FROM slow_queries WHERE source = 'stderr' AND command IN ('statement', 'execute')",
    );
    assert_eq!(
        num(&not_plans[0], "n"),
        histogram_total,
        "{label}: statements vs pgBadger's query-time histogram"
    );
    // Per normalised query: where pgBadger's normal form and our fingerprint read the same
    // (pgBadger ends every query with `;`, pt-query-digest keeps what was logged), the
    // counts agree.
    let mut ours_fp: BTreeMap<String, f64> = BTreeMap::new();
    for r in sql_rows(
        &data,
        &format!(
            "SELECT fingerprint, count(*) AS n FROM slow_queries WHERE source = 'stderr' \
             AND command IN ({per_query_commands}) GROUP BY fingerprint"
        ),
    ) {
        let key = r["fingerprint"]
            .as_str()
            .unwrap()
            .trim_end_matches(';')
            .trim();
        *ours_fp.entry(key.to_string()).or_default() += num(&r, "n");
    }
    let mut matched = Vec::new();
    for (q, v) in report["normalyzed_info"]["postgres"].as_object().unwrap() {
        let key = q.trim_end_matches(';').trim();
        if let Some(n) = ours_fp.get(key) {
            assert_eq!(*n, num(v, "count"), "{label}: count of `{key}` vs pgBadger");
            matched.push(key.to_string());
        }
    }
    // (pt-query-digest reads `abalance + $1` as `abalance ? ?`, pgBadger as `abalance + ?`:
    // those classes cannot be compared by name.)
    assert!(
        matched.len() >= 10
            && matched
                .iter()
                .any(|k| k == "select abalance from pgbench_accounts where aid = ?"),
        "{label}: pgbench's statements compared with pgBadger's normalised queries: {matched:?}"
    );

    // (c) The events: lock wait, lock acquired, deadlock, temporary file, checkpoints.
    let ev = |source: &str, event: &str, extra: &str| {
        sql_rows(
            &data,
            &format!(
                "SELECT event, level, sqlstate, duration_seconds AS d, size_bytes AS size, message, detail, hint, statement, \
                 attributes['lock_mode'] AS mode, attributes['outcome'] AS outcome, \
                 attributes['context'] AS context FROM db_events \
                 WHERE source = '{source}' AND event = '{event}' {extra} ORDER BY ts, source_offset"
            ),
        )
    };
    // The forced wait, by its statement: the deadlock's first waiter may log one too.
    let forced = "AND statement = 'UPDATE t SET v = ''waited'' WHERE id = 1;'";
    let waits = ev("stderr", "lock_wait", forced);
    assert_eq!(waits.len(), 1, "{label}: the forced lock wait: {waits:?}");
    assert_eq!(waits[0]["mode"], "ShareLock");
    assert_eq!(waits[0]["outcome"], "waiting");
    assert!(
        num(&waits[0], "d") >= 0.1,
        "{label}: waited past deadlock_timeout"
    );
    assert_eq!(
        waits[0]["statement"],
        "UPDATE t SET v = 'waited' WHERE id = 1;"
    );
    assert!(
        waits[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("Process holding the lock: ")
    );
    let acquired = ev("csv", "lock_acquired", forced);
    assert_eq!(acquired.len(), 1, "{label}: {acquired:?}");
    assert!(num(&acquired[0], "d") >= num(&waits[0], "d"));
    for source in ["stderr", "csv", "json"] {
        let dl = ev(source, "deadlock", "");
        assert_eq!(dl.len(), 1, "{label} {source}: one deadlock: {dl:?}");
        assert_eq!(dl[0]["level"], "ERROR");
        assert_eq!(dl[0]["hint"], "See server log for query details.");
        assert!(dl[0]["detail"].as_str().unwrap().contains("\nProcess "));
        if source != "stderr" {
            assert_eq!(dl[0]["sqlstate"], "40P01", "{label} {source}");
        }
    }
    let deadlock_waits = ev(
        "json",
        "lock_wait",
        "AND attributes['outcome'] = 'deadlock'",
    );
    assert_eq!(deadlock_waits.len(), 1, "{label}: {deadlock_waits:?}");
    // Temporary files: sizes as logged, counted with string operations on the log text.
    let logged_sizes: Vec<u64> = stderr_text
        .lines()
        .filter_map(|l| l.split_once("LOG:  temporary file: path \""))
        .map(|(_, r)| r.rsplit_once(", size ").unwrap().1.parse().unwrap())
        .collect();
    let temp = ev("json", "temp_file", "");
    assert_eq!(temp.len(), logged_sizes.len(), "{label}: temp files");
    let stored_sizes: Vec<u64> = temp.iter().map(|r| r["size"].as_u64().unwrap()).collect();
    assert_eq!(stored_sizes, logged_sizes);
    let sort_spill = ev(
        "stderr",
        "temp_file",
        "AND statement LIKE 'SELECT count(*) FROM (SELECT g FROM generate_series%'",
    );
    assert!(
        !sort_spill.is_empty(),
        "{label}: the sort's temp file names its statement"
    );
    assert!(sort_spill.iter().all(|r| r["size"].as_u64().unwrap() > 0));
    let cp = ev("csv", "checkpoint", "");
    assert_eq!(
        cp.len(),
        stderr_text
            .matches("LOG:  checkpoint complete: wrote ")
            .count(),
        "{label}: checkpoints"
    );
    assert!(
        cp.len() >= 2,
        "{label}: CHECKPOINT and the shutdown one: {cp:?}"
    );
    assert!(cp.iter().all(|r| r["d"].as_f64().is_some()));
    assert_eq!(ev("csv", "checkpoint_start", "").len(), cp.len());
    let analyze = ev(
        "stderr",
        "autoanalyze",
        "AND message LIKE '%\"postgres.public.av\"%'",
    );
    assert!(!analyze.is_empty(), "{label}: autoanalyze of av");
    assert!(
        analyze.iter().all(|r| r["d"].as_f64().is_some()),
        "{label}: elapsed"
    );
    let errors = ev("json", "error", "AND message LIKE '%no_such_table%'");
    assert_eq!(errors.len(), 1, "{label}: {errors:?}");
    assert_eq!(errors[0]["statement"], "SELECT * FROM no_such_table;");
    assert_eq!(errors[0]["sqlstate"], "42P01");
    let conns = ev("stderr", "connection", "");
    assert_eq!(
        conns.len(),
        stderr_text
            .matches(" LOG:  connection authorized: ")
            .count(),
        "{label}: connections"
    );
    assert_eq!(
        ev("stderr", "disconnection", "").len(),
        stderr_text
            .matches(" LOG:  disconnection: session time: ")
            .count(),
        "{label}: disconnections"
    );
    if label == "text" {
        // The same stderr log followed live: the db pack's statements, lock waits, deadlock.
        crate::db_rules::db_pack_on_a_followed_postgres_log(dir.path(), &logs[0], &data);
    }
}

#[test]
fn postgres_logs_with_text_plans_agree_with_each_other_and_pgbadger() {
    check_run("text", "text", DEBIAN_PREFIX, "60");
}

#[test]
fn postgres_logs_with_json_plans_agree_with_each_other_and_pgbadger() {
    check_run("json", "json", PGBADGER_PREFIX, "30");
}
