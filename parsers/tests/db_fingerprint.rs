//! Fingerprints and checksums against the real pt-query-digest on this machine: its own
//! `QueryRewriter::fingerprint` and `make_checksum` (loaded from /usr/bin/pt-query-digest by
//! a small Perl driver) are run on every statement of the Percona sample logs, on hand-made
//! edge cases and on a deterministic stream of generated statements, and must give exactly
//! the bytes and ids that `serversage_parsers::db::fingerprint` gives.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serversage_parsers::db::fingerprint::{Fingerprinter, checksum, fingerprint, fingerprint_id};

const PT: &str = "/usr/bin/pt-query-digest";

/// Reads `len(4, big-endian) + bytes` statements on stdin and writes, for each, the
/// fingerprint and the checksum in the same framing.
const DRIVER: &str = r#"
require $ARGV[0];
my $qr = QueryRewriter->new();
binmode STDIN; binmode STDOUT;
# chomp inside fingerprint() removes $/, which is "\n" in pt-query-digest.
my $in = do { local $/ = undef; <STDIN> };
my $pos = 0;
while ($pos < length($in)) {
  my $len = unpack("N", substr($in, $pos, 4)); $pos += 4;
  my $q = substr($in, $pos, $len); $pos += $len;
  my $f = $qr->fingerprint($q);
  my $c = Transformers::make_checksum($f);
  print pack("N", length($f)), $f, pack("N", length($c)), $c;
}
"#;

/// (fingerprint, checksum) of each statement, computed by pt-query-digest's Perl code.
fn perl_fingerprints(statements: &[Vec<u8>]) -> Vec<(Vec<u8>, String)> {
    assert!(
        Path::new(PT).exists(),
        "{PT} is missing: install Debian's percona-toolkit (tests/setup.sh does)"
    );
    let mut child = Command::new("perl")
        .args(["-e", DRIVER, PT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run perl");
    let mut input = Vec::new();
    for s in statements {
        input.extend_from_slice(&(s.len() as u32).to_be_bytes());
        input.extend_from_slice(s);
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("perl output");
    writer.join().unwrap().expect("write to perl");
    assert!(
        out.status.success(),
        "perl driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut res = Vec::new();
    let mut pos = 0;
    let mut field = || {
        let n = u32::from_be_bytes(out.stdout[pos..pos + 4].try_into().unwrap()) as usize;
        let v = out.stdout[pos + 4..pos + 4 + n].to_vec();
        pos += 4 + n;
        v
    };
    for _ in statements {
        let f = field();
        let c = String::from_utf8(field()).unwrap();
        res.push((f, c));
    }
    res
}

/// Compares every statement; lists the first differences with their inputs.
fn assert_same(statements: &[Vec<u8>]) {
    let perl = perl_fingerprints(statements);
    let mut fp = Fingerprinter::new();
    let mut bad = Vec::new();
    for (s, (pf, pc)) in statements.iter().zip(&perl) {
        let ours = fp.fingerprint(s).to_vec();
        let ours_id: String = checksum(&ours).iter().map(|&b| char::from(b)).collect();
        if &ours != pf || &ours_id != pc {
            bad.push(format!(
                "input {:?}\n  perl {:?} {pc}\n  ours {:?} {ours_id}",
                String::from_utf8_lossy(s),
                String::from_utf8_lossy(pf),
                String::from_utf8_lossy(&ours)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} statements differ from pt-query-digest; first ones:\n{}",
        bad.len(),
        statements.len(),
        bad.iter().take(15).cloned().collect::<Vec<_>>().join("\n")
    );
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/db/percona-slowlogs")
}

/// Statement texts of a slow log, cut the way pt-query-digest reads events (records end at
/// `;\n#`, statements start at the first line that is not a header), independently of the
/// parser under test.
fn statements_of(log: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = log;
    while !rest.is_empty() {
        let cut = rest
            .windows(3)
            .position(|w| w == b";\n#")
            .map_or(rest.len(), |p| p + 2);
        let chunk = &rest[..cut];
        rest = &rest[cut..];
        let mut at = 0;
        for line in chunk.split_inclusive(|&b| b == b'\n') {
            let header = line.starts_with(b"#")
                || line.starts_with(b"use ")
                || line.starts_with(b"SET timestamp")
                || line.starts_with(b"SET insert_id")
                || line.starts_with(b"SET last_insert_id");
            if !header {
                let mut s = chunk[at..].to_vec();
                if s.ends_with(b";\n") {
                    s.truncate(s.len() - 2);
                }
                out.push(s);
                break;
            }
            at += line.len();
        }
    }
    out
}

#[test]
fn statements_of_the_percona_sample_logs() {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(samples()).expect("../shared/samples/db/percona-slowlogs") {
        let log = std::fs::read(entry.unwrap().path()).unwrap();
        all.extend(statements_of(&log));
    }
    assert!(all.len() > 2250, "{} statements", all.len());
    assert_same(&all);
}

/// Cases chosen from QueryRewriter's code, one per rule and per interaction between rules.
const EDGE: &[&str] = &[
    "SELECT /*!40001 SQL_NO_CACHE */ * FROM `tbl`",
    "select /*db.tbl:1/2*/ count(*) from t",
    "administrator command: Quit",
    "administrator command:  Init DB",
    "CALL foo(1, 2)",
    "  call\tP1(f(1), 2)",
    "call p",
    "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    "insert ignore into t (a,b) values(1,2) , (3,4) on duplicate key update a=values(a)",
    "REPLACE INTO t VALUES (f(1), 2),(3, 4)",
    "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
    "INSERT INTO t SELECT * FROM u WHERE id IN (1,2)",
    "insert into values_t values (1), (2)",
    "INSERT LOW_PRIORITY INTO t VALUES (1),(2)",
    "select 1 /* c */ from t /*! STRAIGHT_JOIN */ where a = 2 /**/ and b = 3 /* x */",
    "select /**/ 1",
    "select 1 -- comment\nfrom t # another\nwhere a='#x' -- 'quoted",
    "select 'a#b' # tail",
    "select \"a--b\" -- tail \"q\"\nfrom t",
    "use foo",
    "USE `foo`\n",
    "use foo bar",
    "use foo\n\n",
    "select 'it\\'s', \"say \\\"hi\\\"\", 'a''b', \"x'y\" from t",
    "select 'unterminated from t",
    "select \"a'b\" , 'c\"d'",
    "select TRUE, false, True1, atrue, true_, -false, 1.false, xtrue",
    "select 0x1F, 0XAB, X'ab', x'CD', b'101', B'1', -1.5e3, +2, 1e-3, .5, 5.",
    "select c1, t2.col_3, abc123def, 123abc from t1 where x = -7",
    "select a-1, a - 1, a+-1, a--1, 2-x",
    "select $1, $2, f($3), a$1, $$1, x = $10 from t",
    "  \n\t select\t\t1\r\n from   t\n",
    "select 1\n",
    "select 1\n\n",
    "SELECT\x0b1 \x0b FROM t",
    "select NULL, null, nullable, isnull(a), NULLIF(a, NULL) from t where a is not null",
    "select * from t where a in (1, 2, 3) and b IN ( 'x','y' ) and c in(select 1) and d in ()",
    "select * from t where id in (?, ?) , (?)",
    "insert into t values (1, NULL), (2, null)",
    "insert into t value (1)",
    "select a from t where join (1) and main (2) and begin (3)",
    "select a from t union select a from t",
    "select a from t union all select a from t union all select a from t",
    "select a from t union select b from t",
    "SELECT 1 UNION SELECT 1 UNION ALL SELECT 1 UNION SELECT 2",
    "(select a from t) union (select a from t)",
    "select x from t union select x from t union select y from u union select y from u",
    "select * from t limit 10",
    "select * from t limit 10, 20",
    "select * from t limit 10,20",
    "select * from t limit 10 offset 20",
    "select * from t limit 1 union select * from t limit 1, 2",
    "select * from t nolimit 5",
    "select * from t order by a ASC, b desc, c asc",
    "select * from t order by a, b ascii_col asc",
    "select a asc from t order by a asc",
    "SELECT * FROM t ORDER BY a DESC",
    "select * from t order by asc asc",
    "select * from t group by a asc order by b asc",
    "select * from t where name = 'naïve café' and `ünï` = 1",
    "select '\u{00e9}' || \u{00e9}1",
    "SET NAMES utf8mb4",
    "set @a = 1, @b := 'x'",
    "SHOW /*!50002 GLOBAL */ STATUS",
    "BEGIN",
    "COMMIT",
    "",
    " ",
    "\n",
    "?",
    "x?",
    "select x? , .? , -? , b?, B?",
    "#",
    "-- only a comment",
    "/* only a comment */",
    "select 1 /* unclosed",
    "select 'a' 'b' \"c\" \"d",
];

#[test]
fn edge_cases() {
    let mut all: Vec<Vec<u8>> = EDGE.iter().map(|s| s.as_bytes().to_vec()).collect();
    // Bytes that are not UTF-8, a CR LF statement, a NUL.
    all.push(b"select \xff\xfe from t where a = '\xc3'".to_vec());
    all.push(b"select 1\r\nfrom t\r\n".to_vec());
    all.push(b"select 'a\0b', 1\0".to_vec());
    assert_same(&all);
}

/// xorshift64*: a fixed stream, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "SELECT ",
    "select ",
    "Select",
    " ",
    "  ",
    "\n",
    "\t",
    "\r\n",
    "\x0b",
    "'",
    "\"",
    "\\",
    "`",
    "(",
    ")",
    ",",
    ", ",
    "?",
    "1",
    "42",
    "0x1F",
    "-",
    "+",
    ".",
    "e",
    "5.",
    "in",
    "IN ",
    " in (",
    "values",
    "VALUES ",
    "value",
    "union",
    " union ",
    " UNION ALL ",
    "all",
    "null",
    "NULL",
    "true",
    "FALSE",
    "limit ",
    " limit ?",
    "offset",
    "order by ",
    "ORDER BY ",
    " asc",
    "ASC",
    " desc",
    "/*",
    "*/",
    "/*!",
    "--",
    "-- ",
    "#",
    "use ",
    "call ",
    "CALL p(",
    "insert into ",
    "INSERT ",
    "REPLACE ",
    " ignore",
    " INTO ",
    "x",
    "b",
    "X",
    "$1",
    "$",
    "é",
    "ü",
    "\u{00a0}",
    "\u{2028}",
    ";",
    "a",
    "t1",
    "tbl",
    "where ",
    " = ",
    "from ",
    " and ",
    "is not ",
    "abc_",
    "administrator command: ",
    "SQL_NO_CACHE",
    "/*a.b:1/2*/",
];

/// Statements from the token alphabet, plus templates that reach the deeper rules (repeated
/// union arms, multi-row inserts, ORDER BY lists) and a few raw bytes.
fn generated(n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5eed_0f5a_11d5_u64);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = Vec::new();
        match i % 4 {
            0 | 1 => {
                for _ in 0..rng.below(40) + 1 {
                    s.extend_from_slice(TOKENS[rng.below(TOKENS.len())].as_bytes());
                }
            }
            2 => {
                let arm = format!(
                    "select {} from t{}",
                    ["a", "?", "1", "'x'", "b, c"][rng.below(5)],
                    rng.below(3)
                );
                s.extend_from_slice(arm.as_bytes());
                for _ in 0..rng.below(4) {
                    let sep = [" union ", " union all ", " UNION\tALL ", " union  "][rng.below(4)];
                    s.extend_from_slice(sep.as_bytes());
                    let again = if rng.below(3) == 0 {
                        "select z from u".to_string()
                    } else {
                        arm.clone()
                    };
                    s.extend_from_slice(again.as_bytes());
                }
                for _ in 0..rng.below(3) {
                    s.extend_from_slice(TOKENS[rng.below(TOKENS.len())].as_bytes());
                }
            }
            _ => {
                let head = [
                    "INSERT INTO t VALUES ",
                    "insert ignore into t(a) values",
                    "select * from t order by ",
                    "select * from t where a in ",
                ][rng.below(4)];
                s.extend_from_slice(head.as_bytes());
                for _ in 0..rng.below(5) + 1 {
                    let item = [
                        "(1, 'a')", "(?)", ", ", "a asc", "b", " ASC", ",(2)", "(f(1),2)",
                    ][rng.below(8)];
                    s.extend_from_slice(item.as_bytes());
                }
                if rng.below(4) == 0 {
                    s.push((rng.next() & 0xff) as u8);
                }
            }
        }
        out.push(s);
    }
    out
}

/// `FINGERPRINT_CASES=1000000` runs a longer stream.
#[test]
fn generated_statements() {
    let n = std::env::var("FINGERPRINT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    assert_same(&generated(n));
}

#[test]
fn postgres_parameters_become_question_marks() {
    let mut out = String::new();
    let cases = [
        (
            "SELECT * FROM t WHERE id = $1 AND a IN ($2, $3)",
            "select * from t where id = ? and a in(?+)",
        ),
        (
            "update t set a=$1, b = f($12) where c=$2",
            "update t set a=?, b = f(?) where c=?",
        ),
        // `$` continuing an identifier, and `$$`, are not parameters.
        ("select a$1, $$1 from t", "select a$?, $$? from t"),
    ];
    for (sql, want) in cases {
        fingerprint(sql.as_bytes(), &mut out);
        assert_eq!(out, want, "{sql}");
    }
    // The pt-query-digest-exact fingerprinter keeps `$?`, as Perl does.
    let mut exact = Fingerprinter::new();
    assert_eq!(exact.fingerprint(b"select $1"), b"select $?");
    assert_same(&[b"select $1".to_vec(), b"in ($1, $2)".to_vec()]);
}

#[test]
fn string_api_and_ids() {
    let mut out = String::from("junk");
    fingerprint(b"SELECT col FROM foo_tbl", &mut out);
    assert_eq!(out, "select col from foo_tbl");
    // pt-query-digest 3.2.1's query ID for this class (slow006.txt report: 0x538CA0...).
    assert_eq!(fingerprint_id(&out), "538CA093E701E0CBA20C29AF174CE545");
    fingerprint(b"select \xff", &mut out);
    assert_eq!(out, "select \u{fffd}");
}
