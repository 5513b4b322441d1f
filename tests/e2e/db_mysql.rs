//! MySQL / MariaDB slow query logs (format `mysql-slow`, table `slow_queries`) end to end:
//! `serversage import` of real logs, then `serversage sql`, compared per fingerprint with
//! what pt-query-digest (Debian's percona-toolkit 3.2.1) reports for the same file: query
//! count, total and longest Query_time (in µs: both logs and reports have six decimals),
//! fingerprint text and checksum id, with exact equality.
//!
//! The logs: the 32 slow logs of Percona Toolkit's test samples (read in place from
//! ../shared/samples/db/percona-slowlogs), and a MariaDB slow log written at test time by a
//! throwaway `mariadbd` that the test starts on its own data directory, port and socket
//! (never the machine's shared server), driven through the `mariadb` client.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// One fingerprint's figures.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Class {
    pub(crate) count: u64,
    pub(crate) total_us: i64,
    pub(crate) max_us: i64,
    pub(crate) id: String,
}

/// Fingerprint (raw bytes) → figures.
pub(crate) type Classes = BTreeMap<Vec<u8>, Class>;

/// pt-query-digest's JSON prints a fingerprint's first 5000 characters (bytes here).
const PT_FINGERPRINT_CHARS: usize = 5000;

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

fn us(seconds: f64) -> i64 {
    (seconds * 1e6).round() as i64
}

/// pt-query-digest's classes of `file`. `--limit` is a count: with a percentage (`100%`)
/// it stops once the listed classes add up to the total time, dropping classes of 0 s.
fn pt_query_digest(file: &Path) -> Classes {
    let out = Command::new("pt-query-digest")
        .args(["--output", "json", "--limit", "1000000000"])
        .arg(file)
        .output()
        .expect("pt-query-digest (Debian package percona-toolkit; tests/setup.sh installs it)");
    assert!(
        out.status.success(),
        "pt-query-digest {}: {}",
        file.display(),
        text(&out.stderr)
    );
    let report = text(&out.stdout);
    let mut classes = Classes::new();
    if report.trim().is_empty() {
        return classes;
    }
    let j: serde_json::Value = serde_json::from_str(&report).expect("pt-query-digest JSON");
    let secs = |v: &serde_json::Value| us(v.as_str().unwrap().parse::<f64>().unwrap());
    for c in j["classes"].as_array().unwrap() {
        // Its JSON encoder reads the fingerprint's bytes as Latin-1 characters.
        let fp: Vec<u8> = c["fingerprint"]
            .as_str()
            .unwrap()
            .chars()
            .map(|ch| u8::try_from(u32::from(ch)).expect("a byte"))
            .collect();
        let qt = &c["metrics"]["Query_time"];
        classes.insert(
            fp,
            Class {
                count: c["query_count"].as_u64().unwrap(),
                total_us: secs(&qt["sum"]),
                max_us: secs(&qt["max"]),
                id: c["checksum"].as_str().unwrap().to_string(),
            },
        );
    }
    classes
}

/// What serversage stored for `source`, per fingerprint, cut as pt-query-digest prints it.
fn stored_classes(data: &Path, source: &str) -> Classes {
    let rows = sql_rows(
        data,
        &format!(
            "SELECT fingerprint, fingerprint_id, count(*) AS n, sum(query_time_seconds) AS total, \
             max(query_time_seconds) AS longest FROM slow_queries WHERE source = '{source}' \
             GROUP BY fingerprint, fingerprint_id"
        ),
    );
    let mut classes = Classes::new();
    for r in rows {
        let mut fp = r["fingerprint"].as_str().unwrap().as_bytes().to_vec();
        fp.truncate(PT_FINGERPRINT_CHARS);
        let c = Class {
            count: r["n"].as_u64().unwrap(),
            total_us: us(r["total"].as_f64().unwrap()),
            max_us: us(r["longest"].as_f64().unwrap()),
            id: r["fingerprint_id"].as_str().unwrap().to_string(),
        };
        assert!(classes.insert(fp, c).is_none(), "one id per fingerprint");
    }
    classes
}

/// Exact equality, reported class by class.
fn assert_same_classes(what: &str, ours: &Classes, theirs: &Classes) {
    let mut diffs = Vec::new();
    for (fp, t) in theirs {
        match ours.get(fp) {
            Some(o) if o == t => {}
            o => diffs.push(format!(
                "{:?}\n  pt-query-digest {t:?}\n  serversage      {o:?}",
                String::from_utf8_lossy(fp)
            )),
        }
    }
    for (fp, o) in ours {
        if !theirs.contains_key(fp) {
            diffs.push(format!(
                "{:?}\n  only in serversage {o:?}",
                String::from_utf8_lossy(fp)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} classes differ from pt-query-digest ({} vs {} classes):\n{}",
        diffs.len(),
        ours.len(),
        theirs.len(),
        diffs.join("\n")
    );
}

fn import(data: &Path, source: &str, file: &Path) {
    ok(&[
        "import",
        "--format",
        "mysql-slow",
        "--host",
        "db1",
        "--source",
        source,
        "--data",
        data.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
}

/// Lines of `log` that start with `prefix`.
fn lines_starting(log: &[u8], prefix: &str) -> usize {
    log.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(prefix.as_bytes()))
        .count()
}

fn dead_letters(data: &Path) -> Vec<serde_json::Value> {
    sql_rows(
        data,
        "SELECT source, source_offset, error_type, reason FROM dead_letters ORDER BY source, source_offset",
    )
}

#[test]
fn percona_sample_logs_agree_with_pt_query_digest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared("db/percona-slowlogs"))
        .expect("../shared/samples/db/percona-slowlogs")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 32);
    for f in &files {
        import(&data, f.file_name().unwrap().to_str().unwrap(), f);
    }
    assert_eq!(dead_letters(&data), Vec::<serde_json::Value>::new());
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let log = std::fs::read(f).unwrap();
        let stored = sql_rows(
            &data,
            &format!("SELECT count(*) AS n FROM slow_queries WHERE source = '{name}'"),
        );
        assert_eq!(
            stored[0]["n"].as_u64().unwrap() as usize,
            lines_starting(&log, "# Query_time:"),
            "{name}: one row per entry"
        );
        assert_same_classes(name, &stored_classes(&data, name), &pt_query_digest(f));
    }
}

/// A throwaway MariaDB server: its own data directory, port and socket under `dir`, the
/// slow log on with every statement logged. Killed on drop if still running.
struct MariaDb {
    child: Child,
    dir: PathBuf,
    port: u16,
}

const MARIADB_BIN: [&str; 3] = [
    "/usr/sbin/mariadbd",
    "/usr/bin/mariadb-install-db",
    "/usr/bin/mariadb",
];

impl MariaDb {
    fn start(dir: &Path) -> MariaDb {
        for bin in MARIADB_BIN {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing (Debian's mariadb-server)"
            );
        }
        let datadir = dir.join("data");
        let out = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .output()
            .expect("mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg("--user=root")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .args([
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--slow-query-log",
                "--long-query-time=0",
                "--log-slow-verbosity=query_plan,explain,engine,warnings",
                "--log-output=FILE",
            ])
            .arg(format!(
                "--slow-query-log-file={}",
                dir.join("slow.log").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let mut db = MariaDb {
            child,
            dir: dir.to_path_buf(),
            port,
        };
        let start = Instant::now();
        loop {
            if let Some(status) = db.child.try_wait().unwrap() {
                panic!("mariadbd exited with {status}:\n{}", db.error_log());
            }
            if db.admin("ping").status.success() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "mariadbd not ready after 90 s:\n{}",
                db.error_log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        db
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    fn slow_log(&self) -> PathBuf {
        self.dir.join("slow.log")
    }

    fn admin(&self, cmd: &str) -> Output {
        Command::new("mariadb-admin")
            .arg("--no-defaults")
            .arg(format!(
                "--socket={}",
                self.dir.join("mysqld.sock").display()
            ))
            .args(["--user=root", "--connect-timeout=5", cmd])
            .output()
            .expect("mariadb-admin")
    }

    /// A `mariadb` client on the socket, comments kept, going on after errors.
    fn client(&self) -> Command {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!(
                "--socket={}",
                self.dir.join("mysqld.sock").display()
            ))
            .args(["--user=root", "--comments", "--force", "--batch"]);
        c
    }

    /// Runs `sql` through the client; returns stdout and stderr.
    fn run(&self, sql: &str) -> (String, String) {
        let mut child = self
            .client()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mariadb client");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (text(&out.stdout), text(&out.stderr))
    }

    /// One value from a query.
    fn value(&self, sql: &str) -> String {
        let out = self.client().args(["-N", "-e", sql]).output().unwrap();
        assert!(out.status.success(), "{sql}: {}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    }

    /// Shuts the server down and waits for it, so the slow log is complete.
    fn shutdown(mut self) {
        let out = self.admin("shutdown");
        assert!(
            out.status.success(),
            "mariadb-admin shutdown: {}",
            text(&out.stderr)
        );
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "mariadbd did not stop"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let start = Instant::now();
            while self.child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(20) {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Two databases, multi-line statements, quotes and escaped quotes, `#` and `;` inside
/// strings, unicode, IN lists, multi-row inserts, comments, an error.
const WORKLOAD: &str = r#"CREATE DATABASE shop;
CREATE DATABASE audit;
USE shop;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100), price DECIMAL(10,2), note TEXT) CHARSET utf8mb4;
INSERT INTO items VALUES (1,'apple',1.50,'fresh'),(2,'pear',2.25,NULL),(3,'naïve café','3.00','it''s "quoted" # not a comment; really');
INSERT INTO items (id, name, price) VALUES (4, 'kiwi', 0.5), (5, 'Ωmega', 9.99),
  (6, '日本', 12);
SELECT id, name
  FROM items
 WHERE id IN (1, 2, 3)
   AND name <> 'x;y'
 ORDER BY name ASC;
SELECT id, name FROM items WHERE id IN (4,5) AND name <> 'z' ORDER BY name ASC;
SELECT * FROM items WHERE name = 'naïve café';
SELECT * FROM items WHERE note = 'say \'hi\' and "bye"' OR note = "a \"b\"";
SELECT /* a hint */ note FROM items WHERE note LIKE '%#%' OR note = "a;b";
SELECT price FROM items WHERE id = 3 -- trailing comment
;
UPDATE items SET price = price * 1.10 WHERE id = 2;
SELECT COUNT(*) FROM items WHERE price > 1.00 LIMIT 10, 5;
SELECT 0x1F, X'ab', b'101', -1.5e3, TRUE, NULL FROM items LIMIT 1;
USE audit;
CREATE TABLE log (ts DATETIME, msg VARCHAR(200));
INSERT INTO log VALUES (NOW(), 'a\'b'), (NOW(), "c\"d");
SELECT msg FROM log WHERE msg IN ('a''b', 'c"d');
SELECT nosuchcol FROM log;
SELECT CAST('abc' AS INT);
SELECT msg FROM log UNION SELECT msg FROM log;
"#;

/// The same statement shapes with other literals, so that classes have several members.
fn repeats() -> String {
    let mut s = String::from("USE shop;\n");
    for i in 1..=12 {
        s.push_str(&format!("SELECT name, price FROM items WHERE id = {i};\n"));
        s.push_str(&format!(
            "SELECT name FROM items\n WHERE price BETWEEN {}.5 AND {}\n   AND id IN ({}, {});\n",
            i % 4,
            i + 3,
            i,
            i * 2
        ));
    }
    s
}

/// Session A locks row 1 and holds it (in a `SLEEP`) until session B is seen waiting for
/// it; then A's sleep is cut short with `KILL QUERY` and A commits.
///
/// Both sessions are `mariadb -e` clients: a client fed through a pipe was seen, under a
/// loaded CI run, to stay unconnected for a minute.
fn lock_wait(db: &MariaDb) {
    let until = |what: &str, sql: &str| {
        let start = Instant::now();
        while db.value(sql) == "0" {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what}: not seen in 60 s; transactions: {:?}, sessions: {:?}",
                db.value("SELECT GROUP_CONCAT(trx_state, ' ', IFNULL(trx_query, '')) FROM information_schema.innodb_trx"),
                db.value("SELECT GROUP_CONCAT(IFNULL(state, ''), ' ', IFNULL(info, '')) FROM information_schema.processlist")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let a = db
        .client()
        .args([
            "shop",
            "-e",
            "BEGIN; SELECT id FROM items WHERE id = 1 FOR UPDATE; SELECT SLEEP(120); COMMIT;",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A sleeps only once its locking read returned: from then on it holds the row.
    until(
        "session A holds its lock",
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(120)%'",
    );
    let b = db
        .client()
        .args([
            "shop",
            "-e",
            "UPDATE items SET note = 'waited' WHERE id = 1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // B is in the process list, running its UPDATE, as long as it waits for A's lock.
    until(
        "session B waits for the lock",
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'UPDATE items SET note%'",
    );
    std::thread::sleep(Duration::from_millis(300));
    let sleeper = db.value(
        "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(120)%'",
    );
    assert!(!sleeper.is_empty(), "session A sleeps holding the lock");
    db.value(&format!("KILL QUERY {sleeper}"));
    let out = b.wait_with_output().unwrap();
    assert!(out.status.success(), "session B: {}", text(&out.stderr));
    // A's interrupted SLEEP may count as an error for its exit status; its COMMIT ran, as
    // B's UPDATE finishing shows.
    let out = a.wait_with_output().unwrap();
    eprintln!("session A: {} {}", out.status, text(&out.stderr));
}

#[test]
fn a_real_mariadb_slow_log_agrees_with_pt_query_digest() {
    let dir = tempfile::Builder::new()
        .prefix("ss-mariadb-")
        .tempdir()
        .unwrap();
    let started_us = now_us();
    let db = MariaDb::start(dir.path());
    assert!(db.port > 0);
    let (_, err) = db.run(WORKLOAD);
    assert!(
        err.contains("Unknown column 'nosuchcol'"),
        "the workload's error: {err}"
    );
    assert_eq!(
        err.matches("ERROR").count(),
        1,
        "only the deliberate error: {err}"
    );
    let (_, err) = db.run(&repeats());
    assert!(err.is_empty(), "{err}");
    lock_wait(&db);
    // Reopening the log writes the start-up banner again, now in the middle of the file.
    let (_, err) =
        db.run("FLUSH SLOW LOGS;\nUSE audit;\nSELECT COUNT(*)\n  FROM log\n WHERE msg <> '#';\n");
    assert!(err.is_empty(), "{err}");
    let log_path = db.slow_log();
    db.shutdown();
    let stopped_us = now_us();

    let log = std::fs::read(&log_path).unwrap();
    let banners: Vec<usize> = log
        .split_inclusive(|&b| b == b'\n')
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some((start, line))
        })
        .filter(|(_, l)| {
            l.windows(11).any(|w| w == b", Version: ") && l.ends_with(b"started with:\n")
        })
        .map(|(at, _)| at)
        .collect();
    assert_eq!(
        banners.len(),
        2,
        "a banner at the start and one after FLUSH SLOW LOGS"
    );
    assert_eq!(banners[0], 0);

    let data = dir.path().join("store");
    import(&data, "mariadb", &log_path);
    assert_eq!(dead_letters(&data), Vec::<serde_json::Value>::new());
    let entries = lines_starting(&log, "# Query_time:");
    let rows = sql_rows(
        &data,
        "SELECT count(*) AS n, count(DISTINCT engine) AS engines, min(engine) AS engine FROM slow_queries",
    );
    assert_eq!(rows[0]["n"].as_u64().unwrap() as usize, entries);
    assert_eq!(rows[0]["engine"], "mariadb");
    assert_eq!(rows[0]["engines"], 1);

    // pt-query-digest 3.2.1 knows `mysqld, Version` banners, not `mariadbd, Version`: in the
    // middle of a log it reads the entry after one as part of the entry before. Each part
    // of the file between banners is read by it correctly, so it reads the parts.
    let mut expected = Classes::new();
    let mut cuts = banners.clone();
    cuts.push(log.len());
    for (i, w) in cuts.windows(2).enumerate() {
        let part = dir.path().join(format!("part{i}.log"));
        std::fs::write(&part, &log[w[0]..w[1]]).unwrap();
        for (fp, c) in pt_query_digest(&part) {
            let e = expected.entry(fp).or_insert_with(|| Class {
                id: c.id.clone(),
                ..Default::default()
            });
            assert_eq!(e.id, c.id);
            e.count += c.count;
            e.total_us += c.total_us;
            e.max_us = e.max_us.max(c.max_us);
        }
    }
    assert_eq!(
        expected.values().map(|c| c.count).sum::<u64>() as usize,
        entries,
        "pt-query-digest counts every entry of the parts"
    );
    assert_same_classes(
        "MariaDB slow log",
        &stored_classes(&data, "mariadb"),
        &expected,
    );
    // The same log followed live: the db pack's metrics and alerts.
    crate::db_rules::db_pack_on_a_followed_log(dir.path(), &log_path, &data, &expected);

    // What the log says about single statements, checked in the store.
    let one = |sql: &str| {
        let r = sql_rows(&data, sql);
        assert_eq!(r.len(), 1, "{sql}: {r:?}");
        r.into_iter().next().unwrap()
    };
    let r = one(
        "SELECT statement, database, user, client, plan_summary FROM slow_queries WHERE statement LIKE 'SELECT * FROM items WHERE name = %'",
    );
    assert_eq!(
        r["statement"],
        "SELECT * FROM items WHERE name = 'naïve café'"
    );
    assert_eq!(r["database"], "shop");
    assert_eq!(
        (r["user"].as_str(), r["client"].as_str()),
        (Some("root"), Some("localhost"))
    );
    assert_eq!(r["plan_summary"], "items:ALL");
    let r = one(
        "SELECT database, fingerprint FROM slow_queries WHERE statement = 'SELECT nosuchcol FROM log'",
    );
    assert_eq!(r["database"], "audit");
    assert_eq!(r["fingerprint"], "select nosuchcol from log");
    let r = one(
        "SELECT attributes['warnings'] AS w FROM slow_queries WHERE statement = 'SELECT CAST(''abc'' AS INT)'",
    );
    assert!(r["w"].as_str().unwrap().contains("1292"), "{r}");
    let r = one(
        "SELECT query_time_seconds AS q FROM slow_queries WHERE statement LIKE 'UPDATE items SET note = %'",
    );
    assert!(
        r["q"].as_f64().unwrap() >= 0.3,
        "the lock wait is in Query_time: {r}"
    );
    let r = one(
        "SELECT count(*) AS n, min(fingerprint) AS fp FROM slow_queries WHERE fingerprint LIKE 'select name, price from items where id = ?'",
    );
    assert_eq!(r["n"], 12);
    let multi = one("SELECT statement FROM slow_queries WHERE statement LIKE 'SELECT id, name\n%'");
    assert!(
        multi["statement"]
            .as_str()
            .unwrap()
            .contains("'x;y'\n ORDER BY name ASC"),
        "{multi}"
    );
    // ts: SET timestamp (the start, whole seconds) + Query_time: within the server's run.
    let r = one(
        "SELECT CAST(min(ts) AS BIGINT) AS first, CAST(max(ts) AS BIGINT) AS last FROM slow_queries",
    );
    let (first, last) = (r["first"].as_i64().unwrap(), r["last"].as_i64().unwrap());
    assert!(
        started_us - 1_000_000 <= first && first <= last && last <= stopped_us + 1_000_000,
        "rows from {first} to {last} µs, server up from {started_us} to {stopped_us}"
    );
}
