//! Framing and parsing of entries as each server version writes them.

use super::entry::{Entry, LogTime, Record, parse_record};
use super::frame;
use crate::ErrorKind;

/// Records of `log` as the framer cuts them (whole input, EOF).
fn records(log: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < log.len() {
        let n = frame(&log[at..], true).expect("frames at EOF");
        assert!(n > 0);
        out.push(&log[at..at + n]);
        at += n;
    }
    out
}

fn entry(record: &[u8]) -> Entry<'_> {
    match parse_record(record) {
        Ok(Record::Entry(e)) => *e,
        other => panic!(
            "not an entry: {other:?} for {:?}",
            String::from_utf8_lossy(record)
        ),
    }
}

fn attr<'e>(e: &'e Entry<'_>, k: &str) -> Option<&'e str> {
    e.attributes
        .iter()
        .find(|(key, _)| *key == k)
        .map(|(_, v)| &**v)
}

const MYSQL8: &[u8] = b"# Time: 2019-03-05T14:02:28.123456Z
# User@Host: app[app] @ web1 [10.0.0.5]  Id:     8
# Query_time: 0.000219  Lock_time: 0.000093 Rows_sent: 1  Rows_examined: 1 Thread_id: 8 Errno: 0 Killed: 0 Bytes_received: 0 Bytes_sent: 56 Start: 2019-03-05T14:02:28.123237Z End: 2019-03-05T14:02:28.123456Z
use shop;
SET timestamp=1551794548;
SELECT * FROM items WHERE id = 1;
# Time: 2019-03-05T14:02:29.000001+02:00
# User@Host: root[root] @ localhost []  Id:     9
# Query_time: 1.5  Lock_time: 0 Rows_sent: 0  Rows_examined: 0
SET timestamp=1551787348;
UPDATE t SET a = 'x;
# not a header' WHERE b = 2;
";

#[test]
fn mysql_8_entries() {
    let recs = records(MYSQL8);
    assert_eq!(recs.len(), 2, "{recs:?}");
    let e = entry(recs[0]);
    assert_eq!(e.time, Some(LogTime::Utc(1_551_794_548_123_456)));
    assert_eq!(e.set_timestamp, Some(1_551_794_548));
    assert_eq!(
        (e.user, e.client, e.session_id),
        (Some("app"), Some("web1"), Some("8"))
    );
    assert_eq!(attr(&e, "client_ip"), Some("10.0.0.5"));
    assert_eq!(e.use_db.as_deref(), Some("shop"));
    assert_eq!((e.query_time, e.lock_time), (0.000219, Some(0.000093)));
    assert_eq!((e.rows_sent, e.rows_examined), (Some(1), Some(1)));
    assert_eq!(attr(&e, "Bytes_sent"), Some("56"));
    assert_eq!(attr(&e, "End"), Some("2019-03-05T14:02:28.123456Z"));
    assert_eq!(e.statement, b"SELECT * FROM items WHERE id = 1");
    assert_eq!(e.engine_hint, None);
    // `;` then a `#` line that is not a header stays inside the statement.
    let e = entry(recs[1]);
    assert_eq!(e.time, Some(LogTime::Utc(1_551_787_349_000_001)));
    assert_eq!(
        e.statement,
        b"UPDATE t SET a = 'x;\n# not a header' WHERE b = 2"
    );
}

const MARIADB: &[u8] = b"/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time\t\t    Id Command\tArgument
# Time: 261201  7:51:44
# User@Host: root[root] @ localhost []
# Thread_id: 3  Schema:   QC_hit: No
# Query_time: 0.000107  Lock_time: 0.000000  Rows_sent: 1  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 95
#
# explain: id\tselect_type\ttable\ttype\tpossible_keys\tkey\tkey_len\tref\trows\tr_rows\tfiltered\tr_filtered\tExtra
# explain: 1\tSIMPLE\titems\tref\tPRIMARY,ix\tix\t4\tconst\t3\t3.00\t100.00\t100.00\tUsing where
# explain: 1\tSIMPLE\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNo tables used
#
# Warnings
# Warning 1292 Truncated incorrect INTEGER value: 'abc'
SET timestamp=1796111504;
select version();
# User@Host: app[app] @  [10.1.2.3]
# Thread_id: 4  Schema: shop  QC_hit: No
# Query_time: 0.500000  Lock_time: 0.000010  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 1  Bytes_sent: 11
use `shop`;
SET timestamp=1796111505;
INSERT INTO t VALUES (1, '# x;'), (2, 'y');
/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time\t\t    Id Command\tArgument
# Time: 261201  7:52:00
# User@Host: root[root] @ localhost []
# Thread_id: 5  Schema:   QC_hit: No
# Query_time: 0.000050  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 11
SET timestamp=1796111520;
FLUSH SLOW LOGS;
";

#[test]
fn mariadb_entries_and_banners() {
    let recs = records(MARIADB);
    let kinds: Vec<&str> = recs
        .iter()
        .map(|r| match parse_record(r) {
            Ok(Record::Banner(Some(e))) => e,
            Ok(Record::Banner(None)) => "banner",
            Ok(Record::Entry(_)) => "entry",
            Err(e) => panic!("{e}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "mariadb", "banner", "banner", "entry", "entry", "mariadb", "banner", "banner", "entry"
        ]
    );
    let e = entry(recs[3]);
    assert_eq!(e.time, Some(LogTime::Local(1_796_111_504_000_000)));
    assert_eq!(
        e.schema,
        Some(""),
        "an empty Schema is a field without a value"
    );
    assert_eq!(e.session_id, Some("3"));
    assert_eq!(e.rows_affected, Some(0));
    assert_eq!(e.engine_hint, Some("mariadb"));
    assert_eq!(
        e.plan_summary.as_deref(),
        Some("items:ref(ix), No tables used")
    );
    assert_eq!(e.plan.as_deref().unwrap().lines().count(), 3);
    assert_eq!(
        attr(&e, "warnings"),
        Some("Warning 1292 Truncated incorrect INTEGER value: 'abc'")
    );
    assert_eq!(e.statement, b"select version()");
    let e = entry(recs[4]);
    assert_eq!((e.user, e.client), (Some("app"), Some("10.1.2.3")));
    assert_eq!(
        (e.use_db.as_deref(), e.schema),
        (Some("shop"), Some("shop"))
    );
    assert_eq!(e.statement, b"INSERT INTO t VALUES (1, '# x;'), (2, 'y')");
}

#[test]
fn percona_one_line_time_and_admin_commands() {
    let log = b"# Time: 071218 11:48:27 # User@Host: [SQL_SLAVE] @  []
# Thread_id: 10
# Query_time: 0.000012  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
# No InnoDB statistics available for this query
BEGIN;
# User@Host: meow[meow] @  [1.2.3.8]
# Thread_id: 7  Schema: db2
# Query_time: 0.018799  Lock_time: 0.009453  Rows_sent: 0  Rows_examined: 0
use db2;
# administrator command: Quit;
# User@Host: u[u] @ h []
# Query_time: 1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0
SET timestamp=1700000000;
use foo;
";
    let recs = records(log);
    assert_eq!(recs.len(), 3, "{recs:?}");
    let e = entry(recs[0]);
    assert_eq!(e.time, Some(LogTime::Local(1_197_978_507_000_000)));
    assert_eq!(e.user, Some("SQL_SLAVE"));
    assert_eq!(e.engine_hint, Some("percona"));
    let e = entry(recs[1]);
    assert!(e.admin);
    assert_eq!(e.statement, b"administrator command: Quit");
    assert_eq!(e.use_db.as_deref(), Some("db2"));
    // A statement that is `use foo` itself.
    let e = entry(recs[2]);
    assert_eq!(e.statement, b"use foo");
}

#[test]
fn bad_input_becomes_errors_with_reasons() {
    let bad = |r: &[u8]| parse_record(r).unwrap_err();
    let e = bad(b"hello world\n");
    assert_eq!(e.kind, ErrorKind::Malformed);
    let e =
        bad(b"# Time: 071218 11:48:27\n# User@Host: a[a] @ h []\n# Query_time: 1  Lock_time: 0\n");
    assert_eq!(e.kind, ErrorKind::Truncated);
    let e = bad(b"# Query_time: abc  Lock_time: 0\nselect 1;\n");
    assert_eq!((e.kind, e.offset), (ErrorKind::Malformed, 14));
    let e = bad(b"# Query_time: 1\nSET timestamp=99999999999999999999;\nselect 1;\n");
    assert_eq!(e.kind, ErrorKind::BadTimestamp);
    let e = bad(b"\0\0\0\0");
    assert_eq!((e.kind, e.offset), (ErrorKind::NulByte, 0));
    // A time that is not one keeps the row, flagged.
    let e = entry(b"# Time: margdl 11:48:27\n# Query_time: 1\nselect 1;\n");
    assert_eq!(attr(&e, "bad_time"), Some("margdl 11:48:27"));
}

#[test]
fn framing_cuts_and_waits() {
    // A NUL region between entries is a record of its own; the entry after it is whole.
    let log = b"# Query_time: 1\nselect 1;\n\0\0\0\0# Query_time: 2\nselect 2;\n";
    let recs = records(log);
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[1], b"\0\0\0\0");
    // A NUL inside a statement is a byte of the statement (mysqlslap sends one).
    let log = b"# Query_time: 1\nCREATE TABLE t (a INT)\0;\n# Query_time: 2\nselect 2;\n";
    let recs = records(log);
    assert_eq!(recs.len(), 2);
    assert_eq!(entry(recs[0]).statement, b"CREATE TABLE t (a INT)\0");
    // The last entry waits for the next one (or EOF): its statement may go on.
    let one = b"# Query_time: 1\nselect 1;\n";
    assert_eq!(frame(one, false), None);
    assert_eq!(frame(one, true), Some(one.len()));
    let two = b"# Query_time: 1\nselect 1;\n# Time: 071218 11:48:27\n";
    assert_eq!(frame(two, false), Some(one.len()));
    // A cut-off entry does not swallow the next one: `# Time:` always starts a record.
    let cut = b"# Query_time: 1\nselect 1, 'unterminated\n# Time: 071218 11:48:27\n# Query_time: 2\nselect 2;\n";
    assert_eq!(records(cut).len(), 2);
    // CR LF line ends.
    let crlf = b"# Query_time: 1\r\nselect 1;\r\n# User@Host: a[a] @ h []\r\n# Query_time: 2\r\nselect\r\n 2;\r\n";
    let recs = records(crlf);
    assert_eq!(recs.len(), 2);
    assert_eq!(entry(recs[1]).statement, b"select\r\n 2");
    assert_eq!(entry(recs[1]).user, Some("a"));
}

#[test]
fn framing_does_not_depend_on_how_bytes_arrive() {
    for log in [MYSQL8, MARIADB] {
        let whole = records(log);
        for chunk in 1..48 {
            let mut got = Vec::new();
            let (mut at, mut avail) = (0, 0);
            while at < log.len() {
                avail = (avail + chunk).min(log.len());
                let eof = avail == log.len();
                while let Some(n) = frame(&log[at..avail], eof) {
                    got.push(&log[at..at + n]);
                    at += n;
                    if at == avail {
                        break;
                    }
                }
            }
            assert_eq!(got, whole, "chunks of {chunk}");
        }
    }
}
