//! PostgreSQL server logs (formats `postgres`, `postgres-csv`, `postgres-json`; tables
//! `slow_queries` and `db_events`).
//!
//! # stderr (`postgres`)
//!
//! ```text
//! record    = head *cont *( follow *cont )
//! head      = prefix level ":  " text LF           ; level not a follow-up kind
//! follow    = prefix follow-kind ":  " text LF     ; same %p as the head (when logged)
//! follow-kind = "DETAIL" / "HINT" / "CONTEXT" / "STATEMENT" / "QUERY" / "LOCATION"
//! cont      = HTAB text LF                         ; a newline inside the message
//! prefix    = log_line_prefix as configured (see `prefix.rs`), or one of
//!             "%m [%p] %q%u@%d " (Debian), "%m [%p] " (PostgreSQL 10+),
//!             "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h " (pgBadger's advice)
//! level     = 1*( upper-case letter / digit )      ; LOG, ERROR, ... or a translation
//! ```
//!
//! PostgreSQL writes one message (its DETAIL/HINT/STATEMENT lines included) in one piece,
//! and through the logging collector messages of concurrent backends never mix inside a
//! message; they do interleave between messages, which is why a follow-up line joins the
//! record only when its pid is the head's. A record is complete when the next full line is
//! neither a continuation nor one of its follow-ups, so the last record of a buffer waits
//! (`frame` returns `None` unless `eof`). Continuation tabs are removed, so statement and
//! message text read the same as in csvlog and jsonlog.
//!
//! # csvlog (`postgres-csv`)
//!
//! One CSV row per message (PostgreSQL 9.0-12: 23 columns, 13: 24, 14+: 26), text fields
//! quoted with `""` inside and newlines kept. A record ends at a newline outside quotes:
//! PostgreSQL quotes every field that can hold a quote, so the quote count before it is
//! even. Fields are split by `csv-core`.
//!
//! # jsonlog (`postgres-json`, PostgreSQL 15+)
//!
//! One JSON object per line with the keys of `json.rs`; unknown keys are ignored.
//!
//! # Rows
//!
//! All three formats yield the same messages and the same rows (see `events.rs`):
//! - `duration: N ms  statement|execute|parse|bind|fastpath ...: SQL` (log_min_duration_statement)
//!   → one `slow_queries` row, `command` = statement / execute / parse / bind / fastpath,
//!   DETAIL `parameters: ...` in `attributes`;
//! - `duration: N ms  plan:` + plan (auto_explain, text or JSON) → one `slow_queries` row,
//!   `command` = plan, statement = the plan's Query Text, `plan`, `plan_summary` = top node.
//!   auto_explain logs executor runs, log_min_duration_statement logs statements: when both
//!   are on, one statement has both rows (pgBadger counts both too);
//! - `statement: SQL` / `execute N: SQL` (log_statement) → a `db_events` row `statement`,
//!   and the pid's next bare `duration: N ms` (log_duration) → the `slow_queries` row of that
//!   statement; a bare duration with no statement to pair with → `db_events` `duration`;
//! - everything else → one `db_events` row with a low-cardinality `event`: lock_wait,
//!   lock_acquired, deadlock, temp_file, checkpoint_start, checkpoint, restartpoint,
//!   autovacuum, autoanalyze, connection_received, connection, disconnection, startup,
//!   shutdown, error, fatal, panic, warning, statement, duration, other.

mod csv;
mod events;
mod explain;
mod json;
mod prefix;
mod stderr;
mod time;

pub use explain::plan_summary;
pub use prefix::{DEFAULT_PREFIXES, LineHead, Prefix, PrefixFields};

use std::borrow::Cow;
use std::collections::BTreeMap;

use arrow_array::RecordBatch;

use crate::decoder::{Decoder, RecordMeta, SourceContext};
use crate::error::{ErrorKind, ParseError};
use crate::event::EventKind;

/// Option key of the stderr format's prefix.
pub const PREFIX_OPTION: &str = "log_line_prefix";

/// One log message, whatever format carried it, borrowing from the record.
#[derive(Debug, Default, Clone)]
pub struct Entry<'a> {
    /// Message time, µs since the epoch (UTC); `None` when the format did not log it.
    pub ts_us: Option<i64>,
    /// Backend process id.
    pub pid: Option<&'a str>,
    /// Database user.
    pub user: Option<&'a str>,
    /// Database.
    pub database: Option<&'a str>,
    /// Client host or address (no port).
    pub client: Option<&'a str>,
    /// application_name.
    pub application: Option<&'a str>,
    /// Session id (`%c`: start time and pid in hex).
    pub session: Option<&'a str>,
    /// Backend type (`client backend`, `autovacuum worker`, ...).
    pub backend_type: Option<&'a str>,
    /// Command tag (`%i`, csv `command_tag`, json `ps`).
    pub command_tag: Option<&'a str>,
    /// Query id (`%Q`, PostgreSQL 14+), when not 0.
    pub query_id: Option<&'a str>,
    /// Severity: LOG, ERROR, FATAL, ...
    pub level: &'a str,
    /// SQLSTATE (`%e`, csv/json field), when not `00000`.
    pub sqlstate: Option<&'a str>,
    /// The message.
    pub message: Cow<'a, str>,
    /// DETAIL.
    pub detail: Option<Cow<'a, str>>,
    /// HINT.
    pub hint: Option<Cow<'a, str>>,
    /// CONTEXT.
    pub context: Option<Cow<'a, str>>,
    /// STATEMENT: the client statement the message concerns.
    pub statement: Option<Cow<'a, str>>,
    /// QUERY: an internal query (PL/pgSQL).
    pub internal_query: Option<Cow<'a, str>>,
    /// LOCATION (log_error_verbosity = verbose).
    pub location: Option<Cow<'a, str>>,
    /// Character position of the error in the statement (stderr's ` at character N`).
    pub position: Option<&'a str>,
}

/// Which of the three layouts a [`PgDecoder`] reads.
#[derive(Debug, Clone)]
enum Layout {
    Stderr(stderr::Prefixes),
    Csv(Box<csv::CsvFields>),
    Json,
}

/// Decoder for `postgres`, `postgres-csv` and `postgres-json`.
pub struct PgDecoder {
    layout: Layout,
    sink: events::Sink,
    /// jsonlog numbers (pid, query id) written out as text.
    scratch: String,
}

impl PgDecoder {
    /// A stderr-format decoder; `prefix` `None` tries [`DEFAULT_PREFIXES`].
    pub fn stderr(ctx: &SourceContext, prefix: Option<Prefix>) -> PgDecoder {
        PgDecoder {
            layout: Layout::Stderr(stderr::Prefixes::new(prefix)),
            sink: events::Sink::new(ctx),
            scratch: String::new(),
        }
    }

    /// A csvlog decoder.
    pub fn csv(ctx: &SourceContext) -> PgDecoder {
        PgDecoder {
            layout: Layout::Csv(Box::default()),
            sink: events::Sink::new(ctx),
            scratch: String::new(),
        }
    }

    /// A jsonlog decoder.
    pub fn json(ctx: &SourceContext) -> PgDecoder {
        PgDecoder {
            layout: Layout::Json,
            sink: events::Sink::new(ctx),
            scratch: String::new(),
        }
    }
}

impl Decoder for PgDecoder {
    fn kind(&self) -> EventKind {
        EventKind::SlowQuery
    }

    fn frame(&self, buf: &[u8], eof: bool) -> Option<usize> {
        match &self.layout {
            Layout::Stderr(p) => stderr::frame(p, buf, eof),
            Layout::Csv(_) => csv::frame(buf, eof),
            Layout::Json => crate::text::line_len(buf, eof),
        }
    }

    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        if record.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if let Some(nul) = memchr::memchr(0, record) {
            return Err(ParseError::new(
                ErrorKind::NulByte,
                nul,
                "NUL byte in a log record",
            ));
        }
        // Valid UTF-8 is the rule: check it in one pass, convert only when it is not.
        let text = match std::str::from_utf8(record) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(record),
        };
        self.decode_text(&text, meta).map_err(|mut e| {
            if let Cow::Owned(_) = text {
                e.offset = raw_offset(record, e.offset);
            }
            e
        })
    }

    fn pending_rows(&self) -> usize {
        self.sink.len()
    }

    fn finish(&mut self) -> Option<RecordBatch> {
        self.sink.finish_slow()
    }

    fn side_kinds(&self) -> &'static [EventKind] {
        &[EventKind::DbEvent]
    }

    fn finish_side(&mut self) -> Vec<(EventKind, RecordBatch)> {
        self.sink
            .finish_events()
            .map(|b| (EventKind::DbEvent, b))
            .into_iter()
            .collect()
    }
}

/// The offset in `raw` of byte `at` of its lossy UTF-8 conversion (each invalid sequence
/// became the 3-byte U+FFFD).
pub(crate) fn raw_offset(raw: &[u8], at: usize) -> usize {
    let (mut conv, mut orig) = (0, 0);
    for chunk in raw.utf8_chunks() {
        let v = chunk.valid().len();
        if at <= conv + v {
            return orig + (at - conv);
        }
        conv += v;
        orig += v;
        let bad = chunk.invalid().len();
        if bad > 0 {
            if at < conv + 3 {
                return orig;
            }
            conv += 3;
            orig += bad;
        }
    }
    orig.min(raw.len())
}

impl PgDecoder {
    fn decode_text(&mut self, text: &str, meta: &RecordMeta) -> Result<(), ParseError> {
        match &mut self.layout {
            Layout::Stderr(p) => {
                let e = stderr::parse(p, text)?;
                self.sink.push(&e, meta);
            }
            Layout::Csv(f) => {
                let e = f.parse(text)?;
                self.sink.push(&e, meta);
            }
            Layout::Json => {
                let log = json::parse(text)?;
                let e = log.entry(&mut self.scratch)?;
                self.sink.push(&e, meta);
            }
        }
        Ok(())
    }
}

/// The decoder of a PostgreSQL log format, or `None` if `format` is not one. Options are
/// validated by [`check_options`] first; an invalid prefix here falls back to the defaults.
pub fn decoder_for(format: &str, ctx: &SourceContext) -> Option<Box<dyn Decoder>> {
    match format {
        "postgres" => {
            let prefix = ctx
                .options
                .get(PREFIX_OPTION)
                .and_then(|p| Prefix::parse(p).ok());
            Some(Box::new(PgDecoder::stderr(ctx, prefix)))
        }
        "postgres-csv" => Some(Box::new(PgDecoder::csv(ctx))),
        "postgres-json" => Some(Box::new(PgDecoder::json(ctx))),
        _ => None,
    }
}

/// Problems with a PostgreSQL format's options, or `None` if `format` is not one.
pub fn check_options(
    format: &str,
    options: &BTreeMap<String, String>,
) -> Option<Vec<(String, String)>> {
    let takes_prefix = match format {
        "postgres" => true,
        "postgres-csv" | "postgres-json" => false,
        _ => return None,
    };
    let mut errs = Vec::new();
    for (k, v) in options {
        if k == PREFIX_OPTION && takes_prefix {
            if let Err(e) = Prefix::parse(v) {
                errs.push((k.clone(), e));
            }
        } else if takes_prefix {
            errs.push((
                k.clone(),
                format!("unknown option of format `{format}` (it takes `{PREFIX_OPTION}`)"),
            ));
        } else {
            errs.push((
                k.clone(),
                format!("format `{format}` takes no options (its records name their fields)"),
            ));
        }
    }
    Some(errs)
}

#[cfg(test)]
mod tests {
    use super::raw_offset;

    #[test]
    fn offsets_of_lossy_text_point_into_the_raw_bytes() {
        let raw = b"ab\xff\xfecd";
        let text = String::from_utf8_lossy(raw);
        assert_eq!(text, "ab\u{fffd}\u{fffd}cd");
        assert_eq!(raw_offset(raw, 1), 1);
        assert_eq!(raw_offset(raw, 2), 2);
        assert_eq!(raw_offset(raw, 8), 4);
        assert_eq!(raw_offset(raw, 10), 6);
        assert_eq!(raw_offset(raw, 99), 6);
    }
}
