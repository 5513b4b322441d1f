//! From a message to rows: slow statements to `slow_queries`, the rest to `db_events`.

use std::borrow::Cow;
use std::collections::HashMap;

use arrow_array::RecordBatch;

use super::Entry;
use super::explain;
use crate::db::columns::{Attributes, DbEventColumns, DbEventRow, SlowQueryColumns, SlowQueryRow};
use crate::db::fingerprint::{fingerprint, fingerprint_id};
use crate::decoder::{RecordMeta, SourceContext};

/// Engine name written into every row.
pub(crate) const ENGINE: &str = "postgres";

/// Backends whose logged statement waits for its bare `duration:` line, before the map is
/// cleared (a statement whose duration never comes must not pin memory forever).
const MAX_PENDING: usize = 4096;

/// A `statement:` line (log_statement) waiting for its `duration:` (log_duration).
#[derive(Debug)]
struct Pending {
    command: &'static str,
    statement: String,
}

/// Builds both tables' rows for one source, pairing log_statement and log_duration lines.
pub(crate) struct Sink {
    host: String,
    slow: SlowQueryColumns,
    events: DbEventColumns,
    pending: HashMap<String, Pending>,
    fp: String,
}

/// A slow-statement message: `duration: N ms  <kind> [name]: SQL`.
struct Timed<'a> {
    ms: f64,
    command: &'static str,
    name: Option<&'a str>,
    body: &'a str,
    rows: Option<u64>,
}

fn parse_ms(s: &str) -> Option<(f64, &str)> {
    let (num, rest) = s.split_once(" ms")?;
    let v: f64 = num.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some((v, rest))
}

/// `execute <unnamed>: SQL` → (name, SQL); the name ends at the first `: `.
fn named(rest: &str) -> Option<(&str, &str)> {
    rest.split_once(": ")
}

/// Parses the part after `duration: `. `None` for a bare duration.
fn timed(rest: &str) -> Option<Option<Timed<'_>>> {
    let (ms, mut tail) = parse_ms(rest)?;
    if tail.is_empty() {
        return Some(None);
    }
    tail = tail.strip_prefix("  ")?;
    // Some builds log `rows: N  size: N bytes  ` before the statement.
    let mut rows = None;
    if let Some(r) = tail.strip_prefix("rows: ")
        && let Some((n, r)) = r.split_once("  size: ")
        && let Some((_, r)) = r.split_once(" bytes  ")
    {
        rows = n.parse().ok();
        tail = r;
    }
    let (command, name, body) = if let Some(b) = tail.strip_prefix("statement: ") {
        ("statement", None, b)
    } else if let Some(b) = tail.strip_prefix("plan:") {
        ("plan", None, b.strip_prefix('\n').unwrap_or(b))
    } else if let Some(b) = tail.strip_prefix("fastpath function call: ") {
        ("fastpath", None, b)
    } else {
        let (command, r) = if let Some(r) = tail.strip_prefix("execute ") {
            ("execute", r)
        } else if let Some(r) = tail.strip_prefix("parse ") {
            ("parse", r)
        } else if let Some(r) = tail.strip_prefix("bind ") {
            ("bind", r)
        } else {
            return Some(Some(Timed {
                ms,
                command: "other",
                name: None,
                body: tail,
                rows,
            }));
        };
        let (n, b) = named(r)?;
        (command, Some(n), b)
    };
    Some(Some(Timed {
        ms,
        command,
        name,
        body,
        rows,
    }))
}

/// Number right after `key` in `s` (`after 100.157 ms`, `elapsed: 0.01 s`, `total=0.352 s`).
fn number_after(s: &str, key: &str) -> Option<f64> {
    let at = s.find(key)? + key.len();
    let rest = &s[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn quoted(s: &str) -> Option<&str> {
    let a = s.find('"')? + 1;
    let b = a + s[a..].find('"')?;
    Some(&s[a..b])
}

/// `H:MM:SS.mmm` (disconnection session time) in seconds.
fn hms(s: &str) -> Option<f64> {
    let t = s.split(' ').next()?;
    let mut parts = t.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + sec)
}

impl Sink {
    pub(crate) fn new(ctx: &SourceContext) -> Sink {
        Sink {
            host: ctx.host.clone(),
            slow: SlowQueryColumns::new(&ctx.source),
            events: DbEventColumns::new(&ctx.source),
            pending: HashMap::new(),
            fp: String::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slow.len() + self.events.len()
    }

    pub(crate) fn finish_slow(&mut self) -> Option<RecordBatch> {
        self.slow.finish()
    }

    pub(crate) fn finish_events(&mut self) -> Option<RecordBatch> {
        self.events.finish()
    }

    /// Appends the rows of one message.
    pub(crate) fn push(&mut self, e: &Entry<'_>, meta: &RecordMeta) {
        let msg: &str = &e.message;
        let pid_key = e.pid.unwrap_or("");
        if let Some(rest) = msg.strip_prefix("duration: ")
            && let Some(t) = timed(rest)
        {
            match t {
                Some(t) if t.command != "other" => self.slow_row(e, meta, &t),
                Some(_) => self.event(e, meta, "other", Vec::new(), None, None),
                None => {
                    let ms = parse_ms(rest).map(|x| x.0).unwrap_or(0.0);
                    match self.pending.remove(pid_key) {
                        Some(p) => {
                            let t = Timed {
                                ms,
                                command: p.command,
                                name: None,
                                body: &p.statement,
                                rows: None,
                            };
                            self.slow_row(e, meta, &t);
                        }
                        None => {
                            self.event(e, meta, "duration", Vec::new(), Some(ms / 1000.0), None)
                        }
                    }
                }
            }
            return;
        }
        if e.level == "LOG" {
            let logged = if let Some(s) = msg.strip_prefix("statement: ") {
                Some(("statement", s))
            } else if let Some(r) = msg.strip_prefix("execute ") {
                named(r).map(|(_, s)| ("execute", s))
            } else {
                None
            };
            if let Some((command, sql)) = logged {
                if self.pending.len() >= MAX_PENDING {
                    self.pending.clear();
                }
                self.pending.insert(
                    pid_key.to_string(),
                    Pending {
                        command,
                        statement: sql.to_string(),
                    },
                );
                self.event(e, meta, "statement", Vec::new(), None, None);
                return;
            }
        }
        if matches!(e.level, "ERROR" | "FATAL" | "PANIC") {
            // A failed statement logs no duration.
            self.pending.remove(pid_key);
        }
        self.classify(e, meta, msg);
    }

    fn classify(&mut self, e: &Entry<'_>, meta: &RecordMeta, msg: &str) {
        let mut attrs: Attributes<'_> = Vec::new();
        let mut duration = None;
        let mut size = None;
        let event: &'static str = if let Some(r) = msg.strip_prefix("process ")
            && let Some((_, r)) = r.split_once(' ')
            && let Some((outcome, r)) = [
                ("waiting", "still waiting for "),
                ("acquired", "acquired "),
                ("deadlock", "detected deadlock while waiting for "),
                ("rearranged", "avoided deadlock for "),
            ]
            .iter()
            .find_map(|(o, p)| r.strip_prefix(p).map(|r| (*o, r)))
        {
            if let Some((mode, obj)) = r.split_once(" on ") {
                attrs.push(("lock_mode", Cow::Borrowed(mode)));
                let obj = obj
                    .rsplit_once(" after ")
                    .map_or(obj, |(o, _)| o.split(" by rearranging").next().unwrap_or(o));
                attrs.push(("lock_object", Cow::Borrowed(obj)));
            }
            duration = number_after(msg, " after ").map(|ms| ms / 1000.0);
            if let Some(d) = e.detail.as_deref()
                && let Some(h) = d.strip_prefix("Process holding the lock: ")
            {
                let h = h.split(['.', ' ']).next().unwrap_or(h);
                attrs.push(("holder_pids", Cow::Owned(h.to_string())));
            }
            if outcome == "acquired" {
                "lock_acquired"
            } else {
                attrs.push(("outcome", Cow::Borrowed(outcome)));
                "lock_wait"
            }
        } else if msg == "deadlock detected" {
            "deadlock"
        } else if let Some(r) = msg.strip_prefix("temporary file: path ") {
            if let Some(p) = quoted(r) {
                attrs.push(("path", Cow::Borrowed(p)));
            }
            size = r
                .rsplit_once(", size ")
                .and_then(|(_, n)| n.trim().parse().ok());
            "temp_file"
        } else if let Some(r) = msg.strip_prefix("automatic ")
            && let Some((what, r)) = r.split_once(" of table ")
        {
            if let Some(t) = quoted(r) {
                attrs.push(("table", Cow::Borrowed(t)));
            }
            duration = number_after(msg, "elapsed: ").or_else(|| number_after(msg, "elapsed "));
            if what.contains("vacuum") {
                if what != "vacuum" {
                    attrs.push(("kind", Cow::Borrowed(what)));
                }
                "autovacuum"
            } else {
                "autoanalyze"
            }
        } else if let Some(r) = msg
            .strip_prefix("checkpoint starting: ")
            .or_else(|| msg.strip_prefix("restartpoint starting: "))
        {
            attrs.push(("reason", Cow::Borrowed(r)));
            if msg.starts_with('c') {
                "checkpoint_start"
            } else {
                "restartpoint_start"
            }
        } else if let Some(r) = msg
            .strip_prefix("checkpoint complete: ")
            .or_else(|| msg.strip_prefix("restartpoint complete: "))
        {
            duration = number_after(r, "total=");
            if let Some(n) = r.strip_prefix("wrote ").and_then(|x| x.split(' ').next()) {
                attrs.push(("buffers_written", Cow::Borrowed(n)));
            }
            if msg.starts_with('c') {
                "checkpoint"
            } else {
                "restartpoint"
            }
        } else if msg.starts_with("checkpoints are occurring too frequently") {
            "checkpoint_warning"
        } else if msg.starts_with("connection received: ") {
            "connection_received"
        } else if msg.starts_with("connection authenticated: ") {
            "connection_authenticated"
        } else if msg.starts_with("connection authorized: ")
            || msg.starts_with("replication connection authorized: ")
        {
            "connection"
        } else if let Some(r) = msg.strip_prefix("disconnection: session time: ") {
            duration = hms(r);
            "disconnection"
        } else if msg.starts_with("starting PostgreSQL ")
            || msg.starts_with("database system is ready to accept")
        {
            "startup"
        } else if msg.starts_with("received fast shutdown request")
            || msg.starts_with("received smart shutdown request")
            || msg.starts_with("received immediate shutdown request")
            || msg == "database system is shut down"
        {
            "shutdown"
        } else {
            match e.level {
                "ERROR" => "error",
                "FATAL" => "fatal",
                "PANIC" => "panic",
                "WARNING" => "warning",
                _ => "other",
            }
        };
        self.event(e, meta, event, attrs, duration, size);
    }

    fn common_attrs<'a>(e: &'a Entry<'_>, attrs: &mut Attributes<'a>) {
        if let Some(a) = e.application {
            attrs.push(("application", Cow::Borrowed(a)));
        }
        if let Some(s) = e.session {
            attrs.push(("session", Cow::Borrowed(s)));
        }
        if let Some(q) = e.query_id {
            attrs.push(("query_id", Cow::Borrowed(q)));
        }
    }

    fn event<'a>(
        &mut self,
        e: &'a Entry<'_>,
        meta: &RecordMeta,
        event: &'static str,
        mut attributes: Attributes<'a>,
        duration_seconds: Option<f64>,
        size_bytes: Option<u64>,
    ) {
        if let Some(c) = e.context.as_deref() {
            attributes.push(("context", Cow::Borrowed(c)));
        }
        if let Some(q) = e.internal_query.as_deref() {
            attributes.push(("internal_query", Cow::Borrowed(q)));
        }
        if let Some(l) = e.location.as_deref() {
            attributes.push(("location", Cow::Borrowed(l)));
        }
        if let Some(p) = e.position {
            attributes.push(("position", Cow::Borrowed(p)));
        }
        if let Some(b) = e.backend_type {
            attributes.push(("backend_type", Cow::Borrowed(b)));
        }
        Self::common_attrs(e, &mut attributes);
        self.events.push(&DbEventRow {
            ts_us: e.ts_us.unwrap_or(meta.ingest_ts_us),
            host: &self.host,
            ingest_ts_us: meta.ingest_ts_us,
            offset: meta.offset,
            engine: ENGINE,
            database: e.database,
            user: e.user,
            client: e.client,
            session_id: e.pid,
            event,
            level: Some(e.level),
            sqlstate: e.sqlstate,
            duration_seconds,
            size_bytes,
            message: &e.message,
            detail: e.detail.as_deref(),
            hint: e.hint.as_deref(),
            statement: e.statement.as_deref(),
            attributes,
        });
    }

    fn slow_row(&mut self, e: &Entry<'_>, meta: &RecordMeta, t: &Timed<'_>) {
        let mut attributes: Attributes<'_> = Vec::new();
        let (statement, plan, plan_summary) = if t.command == "plan" {
            let p = explain::parse(t.body);
            (p.query_text, Some(t.body), p.summary)
        } else {
            (Cow::Borrowed(t.body), None, None)
        };
        if let Some(n) = t.name.filter(|n| *n != "<unnamed>") {
            attributes.push(("statement_name", Cow::Borrowed(n)));
        }
        if let Some(d) = e.detail.as_deref() {
            if let Some(p) = d.strip_prefix("parameters: ") {
                attributes.push(("parameters", Cow::Borrowed(p)));
            } else if let Some(p) = d.strip_prefix("prepare: ") {
                attributes.push(("prepare", Cow::Borrowed(p)));
            } else {
                attributes.push(("detail", Cow::Borrowed(d)));
            }
        }
        Self::common_attrs(e, &mut attributes);
        fingerprint(statement.as_bytes(), &mut self.fp);
        let id = fingerprint_id(&self.fp);
        self.slow.push(&SlowQueryRow {
            ts_us: e.ts_us.unwrap_or(meta.ingest_ts_us),
            host: &self.host,
            ingest_ts_us: meta.ingest_ts_us,
            offset: meta.offset,
            engine: ENGINE,
            database: e.database,
            user: e.user,
            client: e.client,
            session_id: e.pid,
            query_time_seconds: t.ms / 1000.0,
            rows_sent: t.rows,
            command: Some(t.command),
            statement: &statement,
            fingerprint: &self.fp,
            fingerprint_id: &id,
            plan_summary: plan_summary.as_deref(),
            plan,
            attributes,
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_forms() {
        let t = timed("0.343 ms  execute P_1: UPDATE a SET b = $1")
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.command, t.name, t.body),
            ("execute", Some("P_1"), "UPDATE a SET b = $1")
        );
        assert!((t.ms - 0.343).abs() < 1e-12);
        let t = timed("1.5 ms  execute fetch from S_1/C_2: SELECT 1")
            .unwrap()
            .unwrap();
        assert_eq!(t.name, Some("fetch from S_1/C_2"));
        let t = timed("0.1 ms  bind <unnamed>: SELECT $1").unwrap().unwrap();
        assert_eq!((t.command, t.name), ("bind", Some("<unnamed>")));
        assert!(timed("0.050 ms").unwrap().is_none());
        let t =
            timed("2 ms  plan:\nQuery Text: select 1\nResult  (cost=0.00..0.01 rows=1 width=4)")
                .unwrap()
                .unwrap();
        assert_eq!(t.command, "plan");
        assert!(t.body.starts_with("Query Text"));
        assert!(timed("x ms  statement: a").is_none());
    }

    #[test]
    fn helpers() {
        assert_eq!(
            number_after("lock after 100.157 ms", " after "),
            Some(100.157)
        );
        assert_eq!(hms("0:00:01.510 user=postgres"), Some(1.51));
        assert_eq!(quoted("path \"a/b\", size 1"), Some("a/b"));
    }
}
