//! csvlog: framing by quote parity, fields split by `csv-core`.

use std::borrow::Cow;

use csv_core::{ReadRecordResult, Reader};
use memchr::memchr2;

use super::Entry;
use crate::error::{ErrorKind, ParseError};

/// Most columns a csvlog row has (PostgreSQL 14+).
const MAX_FIELDS: usize = 26;
/// Fewest: PostgreSQL 9.0-12 (23 columns); 8.x had 22.
const MIN_FIELDS: usize = 22;

/// Length of the first CSV row: up to a newline preceded by an even number of quotes.
pub(crate) fn frame(buf: &[u8], eof: bool) -> Option<usize> {
    let mut quotes = 0usize;
    let mut at = 0;
    while let Some(i) = memchr2(b'"', b'\n', &buf[at..]) {
        let j = at + i;
        if buf[j] == b'"' {
            quotes += 1;
        } else if quotes.is_multiple_of(2) {
            return Some(j + 1);
        }
        at = j + 1;
    }
    (eof && !buf.is_empty()).then_some(buf.len())
}

/// Reused state for splitting rows.
#[derive(Debug, Clone)]
pub(crate) struct CsvFields {
    reader: Reader,
    out: Vec<u8>,
    ends: [usize; MAX_FIELDS + 1],
}

impl Default for CsvFields {
    fn default() -> Self {
        CsvFields {
            reader: Reader::new(),
            out: Vec::new(),
            ends: [0; MAX_FIELDS + 1],
        }
    }
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn copt(s: &str) -> Option<Cow<'_, str>> {
    opt(s).map(Cow::Borrowed)
}

impl CsvFields {
    /// Splits one framed row into an [`Entry`] borrowing from this state.
    pub(crate) fn parse(&mut self, text: &str) -> Result<Entry<'_>, ParseError> {
        let body = text.strip_suffix('\n').unwrap_or(text);
        let body = body.strip_suffix('\r').unwrap_or(body);
        if !body
            .bytes()
            .filter(|&b| b == b'"')
            .count()
            .is_multiple_of(2)
        {
            return Err(ParseError::new(
                ErrorKind::Truncated,
                body.len(),
                "csvlog row ends inside a quoted field",
            ));
        }
        self.reader.reset();
        self.out.clear();
        self.out.resize(body.len() + 1, 0);
        let mut input = body.as_bytes();
        let mut nfields = 0;
        let mut nout = 0;
        loop {
            let (res, nin, no, ne) =
                self.reader
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nfields..]);
            input = &input[nin..];
            // `ends` are relative to the output slice of this call.
            for e in &mut self.ends[nfields..nfields + ne] {
                *e += nout;
            }
            nout += no;
            nfields += ne;
            match res {
                ReadRecordResult::InputEmpty => {
                    if input.is_empty() {
                        // Feed the end of input so the last field is closed.
                        let (res, _, no2, ne2) = self.reader.read_record(
                            &[],
                            &mut self.out[nout..],
                            &mut self.ends[nfields..],
                        );
                        for e in &mut self.ends[nfields..nfields + ne2] {
                            *e += nout;
                        }
                        nout += no2;
                        nfields += ne2;
                        let _ = res;
                        break;
                    }
                }
                ReadRecordResult::Record | ReadRecordResult::End => break,
                ReadRecordResult::OutputFull => {
                    // Unquoting only shrinks a row; cannot happen with len + 1.
                    return Err(ParseError::new(
                        ErrorKind::Malformed,
                        body.len() - input.len(),
                        "csvlog field larger than its row",
                    ));
                }
                ReadRecordResult::OutputEndsFull => {
                    return Err(ParseError::new(
                        ErrorKind::Malformed,
                        body.len() - input.len(),
                        format!("csvlog row has more than {MAX_FIELDS} columns"),
                    ));
                }
            }
        }
        let _ = nout;
        if !(MIN_FIELDS..=MAX_FIELDS).contains(&nfields) {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                0,
                format!(
                    "csvlog row has {nfields} columns; PostgreSQL writes {MIN_FIELDS} to {MAX_FIELDS}"
                ),
            ));
        }
        let out = std::str::from_utf8(&self.out[..nout]).map_err(|e| {
            ParseError::new(
                ErrorKind::Malformed,
                e.valid_up_to(),
                "csvlog field split inside a character",
            )
        })?;
        let mut f = [""; MAX_FIELDS];
        let mut start = 0;
        for (i, &end) in self.ends[..nfields].iter().enumerate() {
            f[i] = out.get(start..end).unwrap_or("");
            start = end;
        }
        let ts_us = match opt(f[0]) {
            Some(t) => Some(super::time::parse_pg_timestamp(t).ok_or_else(|| {
                ParseError::new(
                    ErrorKind::BadTimestamp,
                    0,
                    "csvlog log_time is not a timestamp with a known zone",
                )
            })?),
            None => None,
        };
        if f[11].is_empty() {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                0,
                "csvlog row without error_severity (column 12)",
            ));
        }
        // connection_from is host:port, or [local].
        let client = opt(f[4]).map(|c| match c.rsplit_once(':') {
            Some((h, p)) if !c.starts_with('[') && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => c,
        });
        Ok(Entry {
            ts_us,
            pid: opt(f[3]),
            user: opt(f[1]),
            database: opt(f[2]),
            client,
            application: opt(f[22]),
            session: opt(f[5]),
            backend_type: opt(f[23]),
            command_tag: opt(f[7]),
            query_id: opt(f[25]).filter(|q| *q != "0"),
            level: f[11],
            sqlstate: opt(f[12]).filter(|s| *s != "00000"),
            message: Cow::Borrowed(f[13]),
            detail: copt(f[14]),
            hint: copt(f[15]),
            context: copt(f[18]),
            statement: copt(f[19]),
            internal_query: copt(f[16]),
            location: copt(f[21]),
            position: opt(f[20]).or(opt(f[17])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &str = "2026-12-01 07:51:41.533 UTC,,,31598,,6b0e7c8d.7b6e,3,,2026-12-01 07:51:41 UTC,3/7,0,LOG,00000,\"automatic aggressive vacuum of table \"\"template1.pg_catalog.pg_class\"\": index scans: 0
pages: 0 removed, 14 remain, 14 scanned (100.00% of total)
system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s\",,,,,,,,,\"\",\"autovacuum worker\",,0
2026-12-01 07:51:44.946 UTC,\"postgres\",\"postgres\",31736,\"127.0.0.1:5544\",6b0e7c90.7bf8,9,\"UPDATE\",2026-12-01 07:51:44 UTC,4/11,789,LOG,00000,\"duration: 0.343 ms  execute P_1: UPDATE a SET b = $1\",\"parameters: $1 = '726'\",,,,,,,,\"pgbench\",\"client backend\",,0
";

    #[test]
    fn frames_quoted_newlines_and_splits_fields() {
        let b = ROW.as_bytes();
        let n = frame(b, false).unwrap();
        assert!(b[..n].ends_with(b"\"autovacuum worker\",,0\n"));
        assert_eq!(frame(&b[n..], false), Some(b.len() - n));
        assert_eq!(frame(&b[n..b.len() - 1], false), None);
        let mut f = CsvFields::default();
        let e = f.parse(&ROW[..n]).unwrap();
        assert!(
            e.message
                .starts_with("automatic aggressive vacuum of table \"template1.")
        );
        assert!(e.message.ends_with("elapsed: 0.00 s"));
        assert_eq!(e.backend_type, Some("autovacuum worker"));
        assert_eq!((e.user, e.client, e.sqlstate), (None, None, None));
        let e = f.parse(&ROW[n..]).unwrap();
        assert_eq!(e.client, Some("127.0.0.1"));
        assert_eq!(e.detail.as_deref(), Some("parameters: $1 = '726'"));
        assert_eq!(e.application, Some("pgbench"));
        assert_eq!(e.pid, Some("31736"));
    }

    #[test]
    fn wrong_rows_are_errors() {
        let mut f = CsvFields::default();
        assert_eq!(f.parse("a,b,c\n").unwrap_err().kind, ErrorKind::Malformed);
        assert_eq!(f.parse("a,\"b\n").unwrap_err().kind, ErrorKind::Truncated);
        let bad_time = ROW.lines().nth(3).unwrap().replacen("UTC", "QQQ", 1);
        assert_eq!(
            f.parse(&bad_time).unwrap_err().kind,
            ErrorKind::BadTimestamp
        );
    }
}
