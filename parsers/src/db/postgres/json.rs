//! jsonlog (PostgreSQL 15+): one object per line, fields borrowed unless escaped.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Deserialize;

use super::Entry;
use crate::error::{ErrorKind, ParseError};

/// The keys PostgreSQL writes (`src/backend/utils/error/jsonlog.c`); absent = empty.
#[derive(Debug, Deserialize)]
pub(crate) struct JsonLog<'a> {
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dbname: Option<Cow<'a, str>>,
    pid: Option<i64>,
    #[serde(borrow)]
    remote_host: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ps: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_severity: Option<Cow<'a, str>>,
    #[serde(borrow)]
    state_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow)]
    hint: Option<Cow<'a, str>>,
    #[serde(borrow)]
    internal_query: Option<Cow<'a, str>>,
    #[serde(borrow)]
    context: Option<Cow<'a, str>>,
    #[serde(borrow)]
    statement: Option<Cow<'a, str>>,
    #[serde(borrow)]
    func_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    file_name: Option<Cow<'a, str>>,
    file_line_num: Option<i64>,
    #[serde(borrow)]
    application_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    backend_type: Option<Cow<'a, str>>,
    query_id: Option<i64>,
    cursor_position: Option<i64>,
    internal_position: Option<i64>,
}

/// Parses one line.
pub(crate) fn parse(text: &str) -> Result<JsonLog<'_>, ParseError> {
    let line = text.trim_end_matches(['\n', '\r']);
    serde_json::from_str::<JsonLog<'_>>(line).map_err(|e| {
        // serde_json counts lines and columns; the record is one line.
        let at = e.column().saturating_sub(1).min(line.len());
        let kind = if e.is_eof() {
            ErrorKind::Truncated
        } else {
            ErrorKind::Malformed
        };
        ParseError::new(kind, at, format!("jsonlog line is not a log object: {e}"))
    })
}

fn s<'b>(v: &'b Option<Cow<'_, str>>) -> Option<&'b str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn c<'b>(v: &'b Option<Cow<'_, str>>) -> Option<Cow<'b, str>> {
    s(v).map(Cow::Borrowed)
}

impl JsonLog<'_> {
    /// The entry; `scratch` holds the numbers written out as text.
    pub(crate) fn entry<'b>(&'b self, scratch: &'b mut String) -> Result<Entry<'b>, ParseError> {
        let ts_us = match s(&self.timestamp) {
            Some(t) => Some(super::time::parse_pg_timestamp(t).ok_or_else(|| {
                ParseError::new(
                    ErrorKind::BadTimestamp,
                    0,
                    "jsonlog timestamp is not a timestamp with a known zone",
                )
            })?),
            None => None,
        };
        let Some(level) = s(&self.error_severity) else {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                0,
                "jsonlog object without error_severity",
            ));
        };
        scratch.clear();
        let mut pid_end = 0;
        if let Some(p) = self.pid {
            let _ = write!(scratch, "{p}");
            pid_end = scratch.len();
        }
        let mut qid_end = pid_end;
        if let Some(q) = self.query_id.filter(|q| *q != 0) {
            let _ = write!(scratch, "{q}");
            qid_end = scratch.len();
        }
        if let Some(p) = self.cursor_position.or(self.internal_position) {
            let _ = write!(scratch, "{p}");
        }
        let location = match (s(&self.func_name), s(&self.file_name)) {
            (Some(f), Some(file)) => Some(Cow::Owned(format!(
                "{f}, {file}:{}",
                self.file_line_num.unwrap_or(0)
            ))),
            _ => None,
        };
        let scratch: &'b str = scratch;
        Ok(Entry {
            ts_us,
            pid: self.pid.map(|_| &scratch[..pid_end]),
            user: s(&self.user),
            database: s(&self.dbname),
            client: s(&self.remote_host),
            application: s(&self.application_name),
            session: s(&self.session_id),
            backend_type: s(&self.backend_type),
            command_tag: s(&self.ps),
            query_id: (qid_end > pid_end).then(|| &scratch[pid_end..qid_end]),
            level,
            sqlstate: s(&self.state_code).filter(|s| *s != "00000"),
            message: Cow::Borrowed(s(&self.message).unwrap_or("")),
            detail: c(&self.detail),
            hint: c(&self.hint),
            context: c(&self.context),
            statement: c(&self.statement),
            internal_query: c(&self.internal_query),
            location,
            position: (scratch.len() > qid_end).then(|| &scratch[qid_end..]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_fields_and_escapes() {
        let line = r#"{"timestamp":"2026-12-01 07:51:48.638 UTC","user":"postgres","dbname":"postgres","pid":31857,"remote_host":"[local]","session_id":"6b0e7c94.7c71","line_num":3,"ps":"UPDATE waiting","session_start":"2026-12-01 07:51:48 UTC","vxid":"4/24","txid":815,"error_severity":"LOG","message":"process 31857 still waiting for ShareLock on transaction 814 after 100.157 ms","detail":"Process holding the lock: 31850. Wait queue: 31857.","context":"while updating tuple (0,1) in relation \"t\"","statement":"update t set v='y' where id=1;","application_name":"psql","backend_type":"client backend","query_id":0}"#;
        let log = parse(line).unwrap();
        let mut scratch = String::new();
        let e = log.entry(&mut scratch).unwrap();
        assert_eq!(e.pid, Some("31857"));
        assert_eq!(e.query_id, None);
        assert_eq!(
            e.context.as_deref(),
            Some("while updating tuple (0,1) in relation \"t\"")
        );
        assert_eq!(e.ts_us, Some(1_796_111_508_638_000));
        assert_eq!(e.command_tag, Some("UPDATE waiting"));
    }

    #[test]
    fn bad_lines() {
        assert_eq!(
            parse("{\"message\":").unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(parse("[1,2]").unwrap_err().kind, ErrorKind::Malformed);
        let log = parse(r#"{"message":"x"}"#).unwrap();
        assert!(log.entry(&mut String::new()).is_err());
    }
}
