//! Fingerprints that pt-query-digest 3.2.1 printed for the Percona sample logs
//! (`--output json`), so that these rules are checked without Perl; parsers/tests/
//! db_fingerprint.rs compares against the Perl code itself on many more statements.

use super::*;

fn fp(s: &str) -> String {
    let mut f = Fingerprinter::new();
    String::from_utf8(f.fingerprint(s.as_bytes()).to_vec()).unwrap()
}

#[test]
fn as_pt_query_digest_printed_them() {
    let cases = [
        (
            "select 12_13_foo from (select 12foo from 123_bar) as 123baz",
            "select ?_?_foo from (select ?oo from ?_bar) as ?z",
        ),
        (
            "foo\nbar\n\t\t\t0 AS counter\nbaz",
            "foo bar ? as counter baz",
        ),
        (
            "SELECT foo -- file: /user.php, line: 417, url: d217d035a34ac9e693b41d4c2&limit=500&offset=0",
            "select foo ",
        ),
        (
            "/* SELECT count(*) FROM X instance */ select count(*) as A from X\n",
            "select count(*) as a from x",
        ),
        (
            "INSERT INTO `foo` VALUES (1, 2, 3),(4, 5, 6)",
            "insert into `foo` values(?+)",
        ),
        ("INSERT `foo` VALUES(\"bar\")", "insert `foo` values(?+)"),
        (
            "select abc, XYZ FROM `a tbl`, `t-2` WHERE 1 != 2 AND 3<>3 OR \"x\" OR '\"`\"'",
            "select abc, xyz from `a tbl`, `t?` where ? != ? and ?<>? or ? or ?",
        ),
        (
            "SELECT * FROM `products` ORDER BY name asc, shape",
            "select * from `products` order by name, shape",
        ),
        (
            "SELECT * FROM blah WHERE id IS NOT NULL",
            "select * from blah where id is not ?",
        ),
        (
            "LOAD DATA INFILE '/tmp/foo.txt' INTO TABLE db.tbl",
            "load data infile ? into table db.tbl",
        ),
        ("SET NAMES utf8", "set names utf?"),
        ("administrator command: Quit", "administrator command: Quit"),
        ("BEGIN", "begin"),
        // A `\x0B` is `\s` to the union rule but not squeezed: no space for it to find.
        (
            "select\x0ba\x0bunion\x0bselect\x0ba",
            "select\x0ba /*repeat\x0bunion*/",
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(fp(sql), want, "{sql}");
    }
}

#[test]
fn whole_statement_cases() {
    assert_eq!(
        fp("SELECT /*!40001 SQL_NO_CACHE */ * FROM `t`"),
        "mysqldump"
    );
    assert_eq!(fp("select /*db.t:1/5*/ 1"), "percona-toolkit");
    assert_eq!(fp("CALL Sales.Report(2024, 'x')"), "call sales.report");
    assert_eq!(fp("use `shop`"), "use ?");
}

#[test]
fn checksum_is_md5_in_upper_hex() {
    // `echo -n 'select col from foo_tbl' | md5sum`, and pt-query-digest's ID for that class.
    assert_eq!(
        fingerprint_id("select col from foo_tbl"),
        "538CA093E701E0CBA20C29AF174CE545"
    );
    assert_eq!(&checksum(b""), b"D41D8CD98F00B204E9800998ECF8427E");
}
