//! Appends slow-log entries to `slow_queries`, carrying what an entry inherits from the ones
//! before it (time, database, the engine a banner named).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use arrow_array::RecordBatch;

use super::entry::{Entry, LogTime, Record, parse_record_into, recycle, utf8};
use crate::db::columns::{Attributes, SlowQueryColumns, SlowQueryRow};
use crate::db::fingerprint::{Fingerprinter, checksum};
use crate::decoder::{Decoder, RecordMeta, SourceContext};
use crate::error::ParseError;
use crate::event::EventKind;

/// Decoder of the `mysql-slow` format (table `slow_queries`).
pub struct MysqlSlowDecoder {
    ctx: SourceContext,
    cols: SlowQueryColumns,
    fingerprints: Fingerprinter,
    scratch: Vec<u8>,
    /// The last row's attributes, emptied: their room serves the next entry.
    spare: Attributes<'static>,
    /// Time of the last entry that had one (pt-query-digest's inherited `ts`).
    last_ts: Option<i64>,
    /// Database of the last entry that named one: the server writes `use` only on a change.
    last_db: Option<String>,
    /// Engine named by the last start-up banner.
    banner_engine: Option<&'static str>,
    /// Checksums of recent fingerprints, with the fingerprint as text: a log repeats few
    /// shapes, and a lookup is cheaper than an MD5 (and a UTF-8 check). The map gives the
    /// index in `known`, so that a hit is one lookup, not a test and then a fetch.
    ids: HashMap<Box<[u8]>, usize, Seeded>,
    known: Vec<Known>,
}

/// Hasher of the fingerprint cache: a multiply-rotate hash eight bytes at a step (as
/// rustc's FxHash), several times cheaper than SipHash on short fingerprints, seeded per
/// decoder. Crafted collisions could only slow lookups in a map of at most [`ID_CACHE`].
#[derive(Clone)]
struct Seeded(u64);

impl Default for Seeded {
    fn default() -> Self {
        Seeded(std::collections::hash_map::RandomState::new().hash_one(0u64))
    }
}

impl BuildHasher for Seeded {
    type Hasher = FpHasher;
    fn build_hasher(&self) -> FpHasher {
        FpHasher(self.0)
    }
}

struct FpHasher(u64);

impl FpHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FpHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(last));
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A fingerprint seen before.
struct Known {
    id: Box<str>,
    text: Box<str>,
}

/// Fingerprints whose checksum [`MysqlSlowDecoder`] keeps (then it starts afresh).
const ID_CACHE: usize = 4096;

impl MysqlSlowDecoder {
    /// A decoder for one source (one server's log).
    pub fn new(ctx: SourceContext) -> Self {
        MysqlSlowDecoder {
            cols: SlowQueryColumns::new(&ctx.source),
            ctx,
            fingerprints: Fingerprinter::new(),
            scratch: Vec::new(),
            spare: Vec::with_capacity(16),
            last_ts: None,
            last_db: None,
            banner_engine: None,
            ids: HashMap::default(),
            known: Vec::new(),
        }
    }

    fn append(&mut self, e: Box<Entry<'_>>, meta: &RecordMeta) {
        let query_us = (e.query_time * 1e6).round() as i64;
        let own_ts = match e.time {
            Some(LogTime::Utc(t)) => Some(t),
            _ => None,
        }
        .or_else(|| e.set_timestamp.map(|s| s * 1_000_000 + query_us))
        .or(match e.time {
            Some(LogTime::Local(t)) => Some(t),
            _ => None,
        });
        let ts = own_ts.or(self.last_ts).unwrap_or(meta.ingest_ts_us);
        if own_ts.is_some() {
            self.last_ts = own_ts;
        }
        let named_db = e.use_db.as_deref().or(e.schema).filter(|d| !d.is_empty());
        let database = match (named_db, e.schema) {
            (Some(d), _) => Some(d),
            // An empty `Schema:` says the session has no database.
            (None, Some(_)) => None,
            (None, None) => self.last_db.as_deref(),
        };
        let input = if e.statement_newline {
            self.scratch.clear();
            self.scratch.extend_from_slice(e.statement);
            self.scratch.push(b'\n');
            &self.scratch[..]
        } else {
            e.statement
        };
        let fp = self.fingerprints.fingerprint(input);
        let at = match self.ids.get(fp) {
            Some(&at) => at,
            None => {
                if self.ids.len() >= ID_CACHE {
                    self.ids.clear();
                    self.known.clear();
                }
                self.known.push(Known {
                    id: checksum(fp).iter().map(|&b| char::from(b)).collect(),
                    text: utf8(fp).into(),
                });
                self.ids.insert(fp.into(), self.known.len() - 1);
                self.known.len() - 1
            }
        };
        let known = &self.known[at];
        let statement = match e.statement_text {
            Some(s) => Cow::Borrowed(s.trim_ascii_end()),
            None => utf8(e.statement.trim_ascii_end()),
        };
        let engine = self.banner_engine.or(e.engine_hint).unwrap_or("mysql");
        let row = SlowQueryRow {
            ts_us: ts,
            host: &self.ctx.host,
            ingest_ts_us: meta.ingest_ts_us,
            offset: meta.offset,
            engine,
            database,
            user: e.user,
            client: e.client,
            session_id: e.session_id,
            query_time_seconds: e.query_time,
            lock_time_seconds: e.lock_time,
            rows_sent: e.rows_sent,
            rows_examined: e.rows_examined,
            rows_affected: e.rows_affected,
            keys_examined: None,
            docs_examined: None,
            command: Some(if e.admin { "Admin" } else { "Query" }),
            statement: &statement,
            fingerprint: &known.text,
            fingerprint_id: &known.id,
            plan_summary: e.plan_summary.as_deref(),
            plan: e.plan.as_deref(),
            attributes: e.attributes,
        };
        self.cols.push(&row);
        self.spare = recycle(row.attributes);
        if let Some(d) = named_db
            && self.last_db.as_deref() != Some(d)
        {
            self.last_db = Some(d.to_string());
        }
    }
}

impl Decoder for MysqlSlowDecoder {
    fn kind(&self) -> EventKind {
        EventKind::SlowQuery
    }

    fn frame(&self, buf: &[u8], eof: bool) -> Option<usize> {
        super::frame(buf, eof)
    }

    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        if record.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match parse_record_into(record, recycle(std::mem::take(&mut self.spare)))? {
            Record::Banner(engine) => {
                if let Some(e) = engine {
                    // A new server (or a reopened log): `use` is written afresh.
                    self.banner_engine = Some(e);
                    self.last_db = None;
                }
            }
            Record::Entry(e) => self.append(e, meta),
        }
        Ok(())
    }

    fn pending_rows(&self) -> usize {
        self.cols.len()
    }

    fn finish(&mut self) -> Option<RecordBatch> {
        self.cols.finish()
    }
}
