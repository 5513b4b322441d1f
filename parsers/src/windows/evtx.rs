//! `.evtx` files through the `evtx` crate, as a byte-stream [`Decoder`].
//!
//! Framing is positional: the 4 KiB file header block is one record and every 64 KiB chunk
//! after it is one record. A record starting `ElfFile\0` is a header, `ElfChnk\0` a chunk;
//! anything else is a damaged chunk, or a damaged header when a chunk magic follows 4 KiB
//! later. Chunks are found by position, never by the header's (often stale) chunk count.
//!
//! Each chunk is parsed on its own ([`EvtxChunkData`]). Its records are read by replaying
//! their BinXML template instance into the XML reader's walker (`template/`), and those
//! replay does not cover (float values, records that are not one template instance, …)
//! are rendered to XML by the crate and read by [`super::xml::parse_event`].
//! Both give the same row (tested on every sample file and by the `evtx_template` fuzz
//! target); replay skips the crate's XML rendering and our lexing of it, which were two
//! thirds of the decode time.
//!
//! Damage: an all-zero chunk is unused space (no row, no error). A chunk the crate cannot
//! open (bad magic, bad string table) is one dead letter. Inside a readable chunk, every
//! readable record becomes a row and the unreadable ones are listed (record id and offset
//! where known) in one dead letter for the chunk, whose raw bytes are the chunk: rows and a
//! dead letter from the same framed record. A panic inside the crate is caught per chunk
//! and reported the same way. CRC32 mismatches are not errors: records are read anyway, as
//! `evtx_dump` does.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arrow_array::RecordBatch;
use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxChunkHeader, EvtxFileHeader, HeaderFlags, ParserSettings};
use memchr::memmem;

use super::columns::Columns;
use super::fields::Event;
use super::template::Templates;
use super::xml::{Scratch, parse_event_with, recycle};
use crate::decoder::{Decoder, RecordMeta, SourceContext};
use crate::error::{ErrorKind, ParseError};
use crate::event::EventKind;

/// Size of the file header block.
pub const FILE_HEADER_SIZE: usize = 4096;
/// Size of a chunk.
pub const CHUNK_SIZE: usize = 65536;
const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
const RECORD_MAGIC: &[u8; 4] = b"\x2a\x2a\x00\x00";
/// Failures listed by name in one chunk's dead letter; the rest are counted.
const MAX_LISTED: usize = 16;

/// The file header fields a follower needs (read from the first 4 KiB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    /// Number of the chunk holding the oldest records.
    pub first_chunk: u64,
    /// Number of the chunk being written.
    pub last_chunk: u64,
    /// Record id the next record written will get.
    pub next_record_id: u64,
    /// Chunk count as stored (16 bits, stale in dirty files: chunks are found by size).
    pub chunk_count: u16,
    /// Format version, `major.minor` (3.1 or 3.2).
    pub version: (u16, u16),
    /// Not closed cleanly (a copy of a live log).
    pub dirty: bool,
    /// The log is full.
    pub full: bool,
    /// The header's CRC32 matches (or the file says it keeps none).
    pub checksum_ok: bool,
}

/// Reads the file header from the first bytes of a file (at least 128).
pub fn read_file_header(bytes: &[u8]) -> Result<FileHeader, ParseError> {
    let h = EvtxFileHeader::from_bytes(bytes).map_err(|e| {
        ParseError::new(
            ErrorKind::Malformed,
            0,
            format!("not an evtx file header: {e}"),
        )
    })?;
    Ok(FileHeader {
        first_chunk: h.first_chunk_number,
        last_chunk: h.last_chunk_number,
        next_record_id: h.next_record_id,
        chunk_count: h.chunk_count,
        version: (h.major_version, h.minor_version),
        dirty: h.flags.contains(HeaderFlags::DIRTY),
        full: h.flags.contains(HeaderFlags::FULL),
        checksum_ok: h.validate_checksum(),
    })
}

/// A chunk header's record range and fill level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Id of the chunk's first record.
    pub first_record_id: u64,
    /// Id of the chunk's last record (so far, while the chunk is being written).
    pub last_record_id: u64,
    /// Chunk offset where the records end.
    pub free_space_offset: u32,
}

/// Reads a chunk header (the chunk's first 512 bytes); `Ok(None)` for unused (all-zero)
/// space.
pub fn read_chunk_header(chunk: &[u8]) -> Result<Option<ChunkHeader>, ParseError> {
    let head = &chunk[..chunk.len().min(512)];
    if head.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    let h = EvtxChunkHeader::from_bytes(chunk).map_err(|e| {
        ParseError::new(
            ErrorKind::Malformed,
            0,
            format!("not an evtx chunk header: {e}"),
        )
    })?;
    Ok(Some(ChunkHeader {
        first_record_id: h.first_event_record_id,
        last_record_id: h.last_event_record_id,
        free_space_offset: h.free_space_offset,
    }))
}

/// File offset of chunk `n`.
pub fn chunk_offset(n: u64) -> u64 {
    FILE_HEADER_SIZE as u64 + n * CHUNK_SIZE as u64
}

/// Frames the header block and the chunks (see the module docs).
pub(crate) fn frame(buf: &[u8], eof: bool) -> Option<usize> {
    if buf.is_empty() {
        return None;
    }
    let need = if buf.starts_with(FILE_MAGIC) {
        FILE_HEADER_SIZE
    } else if buf.starts_with(CHUNK_MAGIC) {
        CHUNK_SIZE
    } else if buf.len() < FILE_HEADER_SIZE + CHUNK_MAGIC.len() {
        if !eof {
            return None;
        }
        CHUNK_SIZE
    } else if buf[FILE_HEADER_SIZE..].starts_with(CHUNK_MAGIC) {
        FILE_HEADER_SIZE
    } else {
        CHUNK_SIZE
    };
    if buf.len() >= need {
        Some(need)
    } else if eof {
        Some(buf.len())
    } else {
        None
    }
}

/// One record of a chunk that could not be read.
struct Failure {
    offset: Option<u64>,
    record_id: Option<u64>,
    reason: String,
}

/// An error with its chain of causes, on one line (without the crate's generic wrappers).
fn chain(e: &dyn std::error::Error) -> String {
    const GENERIC: &str = "An error occurred while trying to deserialize evtx stream.";
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        let m = x.to_string();
        if m != GENERIC {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = x.source();
    }
    s
}

/// Chunk offset of the record with id `id`: `expected` if it is there, else the first
/// record header carrying that id.
fn locate(data: &[u8], expected: Option<u64>, id: u64) -> Option<u64> {
    let is_at = |o: usize| {
        data.get(o..o + 16).is_some_and(|h| {
            h.starts_with(RECORD_MAGIC) && u64::from_le_bytes(h[8..16].try_into().unwrap()) == id
        })
    };
    if let Some(e) = expected.and_then(|e| usize::try_from(e).ok())
        && is_at(e)
    {
        return Some(e as u64);
    }
    memmem::find_iter(&data[512.min(data.len())..], RECORD_MAGIC)
        .map(|p| p + 512)
        .find(|&o| is_at(o))
        .map(|o| o as u64)
}

fn record_size(data: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    let b = data.get(at + 4..at + 8)?;
    Some(u64::from(u32::from_le_bytes(b.try_into().unwrap())))
}

/// Decoder for `.evtx` byte streams (table `windows_events`).
pub struct EvtxDecoder {
    cols: Columns,
    settings: Arc<ParserSettings>,
    skip_through: Option<u64>,
    last_record_id: Option<u64>,
    header: Option<FileHeader>,
    /// Reused chunk buffer (the crate takes an owned copy of each chunk).
    buf: Vec<u8>,
    /// Vectors the XML reader fills, reused from record to record.
    scratch: Scratch,
    /// Template replay (`None`: every record through XML, the reference path).
    templates: Option<Templates>,
}

impl EvtxDecoder {
    /// A decoder for the source `ctx`; its `skip_through_record_id` option, when set, is
    /// [`EvtxDecoder::skip_through_record_id`].
    pub fn new(ctx: SourceContext) -> Self {
        let skip = ctx
            .options
            .get("skip_through_record_id")
            .and_then(|v| v.trim().parse().ok());
        EvtxDecoder {
            cols: Columns::new(&ctx.host, &ctx.source, "evtx"),
            settings: Arc::new(ParserSettings::default().indent(false)),
            skip_through: skip,
            last_record_id: None,
            header: None,
            buf: Vec::with_capacity(CHUNK_SIZE),
            scratch: Scratch::default(),
            templates: Some(Templates::default()),
        }
    }

    /// How many records were read by template replay (the rest went through XML).
    pub fn replayed(&self) -> u64 {
        self.templates.as_ref().map_or(0, |t| t.replayed)
    }

    /// Reads every record through its XML rendering, none by template replay: the reference
    /// the replay is tested against.
    #[doc(hidden)]
    pub fn xml_only(mut self) -> Self {
        self.templates = None;
        self
    }

    /// Emits no row for records with an id up to `id` (and no dead letter for failures
    /// before such a record in its chunk): a follower that re-reads the chunk still being
    /// written passes the last id it stored, so that nothing is emitted twice.
    pub fn skip_through_record_id(mut self, id: Option<u64>) -> Self {
        self.skip_through = id;
        self
    }

    /// The highest record id read so far (emitted or skipped).
    pub fn last_record_id(&self) -> Option<u64> {
        self.last_record_id
    }

    /// The file header, once its record has been decoded.
    pub fn file_header(&self) -> Option<&FileHeader> {
        self.header.as_ref()
    }

    fn decode_header(&mut self, record: &[u8]) -> Result<(), ParseError> {
        let h = read_file_header(record)?;
        self.header = Some(h);
        if record.len() < FILE_HEADER_SIZE {
            return Err(ParseError::new(
                ErrorKind::Truncated,
                record.len(),
                format!(
                    "the file ends inside its header block ({} of {FILE_HEADER_SIZE} bytes)",
                    record.len()
                ),
            ));
        }
        Ok(())
    }

    fn decode_chunk(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        let number = meta
            .offset
            .checked_sub(FILE_HEADER_SIZE as u64)
            .filter(|o| o % CHUNK_SIZE as u64 == 0)
            .map(|o| o / CHUNK_SIZE as u64);
        let name = match number {
            Some(n) => format!("chunk {n} (file offset {:#x})", meta.offset),
            None => format!("chunk at file offset {:#x}", meta.offset),
        };
        if record.iter().all(|b| *b == 0) {
            return Ok(());
        }
        let mut data = std::mem::take(&mut self.buf);
        data.clear();
        data.extend_from_slice(record);
        data.resize(CHUNK_SIZE, 0);
        let mut chunk = match EvtxChunkData::new(data, false) {
            Ok(c) => c,
            Err(e) => {
                return Err(ParseError::new(
                    ErrorKind::Malformed,
                    0,
                    format!("{name}: {}", chain(&e)),
                ));
            }
        };
        chunk.number = number;
        let mut failures = Vec::new();
        let before = self.cols.len();
        let read = catch_unwind(AssertUnwindSafe(|| {
            read_chunk(
                &mut chunk,
                &self.settings,
                self.skip_through,
                &mut self.last_record_id,
                &mut self.cols,
                &mut self.scratch,
                self.templates.as_mut(),
                &mut failures,
                meta,
            )
        }));
        self.buf = std::mem::take(&mut chunk.data);
        let rows = self.cols.len() - before;
        let opened = match read {
            Ok(r) => r,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                failures.push(Failure {
                    offset: None,
                    record_id: None,
                    reason: format!("the evtx crate panicked after {rows} records: {what}"),
                });
                Ok(())
            }
        };
        if let Err(e) = opened {
            return Err(ParseError::new(
                ErrorKind::Malformed,
                0,
                format!("{name}: {e}"),
            ));
        }
        if record.len() < CHUNK_SIZE {
            return Err(ParseError::new(
                ErrorKind::Truncated,
                record.len(),
                format!(
                    "{name} is cut short at {} of {CHUNK_SIZE} bytes ({rows} records read{})",
                    record.len(),
                    if failures.is_empty() {
                        String::new()
                    } else {
                        describe(&failures, meta.offset)
                    }
                ),
            ));
        }
        if failures.is_empty() {
            return Ok(());
        }
        let offset = failures
            .iter()
            .find_map(|f| f.offset)
            .and_then(|o| usize::try_from(o).ok())
            .unwrap_or(0)
            .min(record.len());
        Err(ParseError::new(
            ErrorKind::Malformed,
            offset,
            format!(
                "{name}: {} unreadable record(s), {rows} read: {}",
                failures.len(),
                describe(&failures, meta.offset)
            ),
        ))
    }
}

/// The failures of one chunk as a `; `-separated list.
fn describe(failures: &[Failure], chunk_at: u64) -> String {
    let mut out = String::new();
    for (i, f) in failures.iter().take(MAX_LISTED).enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        match f.record_id {
            Some(id) => out.push_str(&format!("record {id}")),
            None => out.push_str("record"),
        }
        if let Some(o) = f.offset {
            out.push_str(&format!(
                " at chunk offset {o:#x} (file offset {:#x})",
                chunk_at + o
            ));
        }
        out.push_str(": ");
        out.push_str(&f.reason);
    }
    if failures.len() > MAX_LISTED {
        out.push_str(&format!("; and {} more", failures.len() - MAX_LISTED));
    }
    out
}

/// Reads every record of an opened chunk into `cols`, listing the failures. `Err` when the
/// chunk cannot be parsed at all (its string table).
#[allow(clippy::too_many_arguments)]
fn read_chunk(
    chunk: &mut EvtxChunkData,
    settings: &Arc<ParserSettings>,
    skip_through: Option<u64>,
    last_record_id: &mut Option<u64>,
    cols: &mut Columns,
    scratch: &mut Scratch,
    mut templates: Option<&mut Templates>,
    failures: &mut Vec<Failure>,
    meta: &RecordMeta,
) -> Result<(), String> {
    if let Some(t) = templates.as_deref_mut() {
        t.new_chunk();
    }
    let mut parsed = chunk.parse(Arc::clone(settings)).map_err(|e| chain(&e))?;
    let data: &[u8] = parsed.data;
    let skipped = |id: u64| skip_through.is_some_and(|s| id <= s);
    let mut expected = Some(512u64);
    for item in parsed.iter() {
        match item {
            Ok(rec) => {
                let id = rec.event_record_id;
                let start = rec.binxml_offset.saturating_sub(24);
                expected = Some(rec.binxml_offset + u64::from(rec.binxml_size) + 4);
                *last_record_id = Some(last_record_id.map_or(id, |l| l.max(id)));
                if skipped(id) {
                    // What failed before it in this chunk was reported when it was new.
                    failures.clear();
                    continue;
                }
                let written_us = rec.timestamp.as_microsecond();
                let fail = |reason: String| Failure {
                    offset: Some(start),
                    record_id: Some(id),
                    reason,
                };
                let mut add = |mut ev: Event<'_>, scratch: &mut Scratch| {
                    ev.record_id = ev.record_id.or(Some(id));
                    ev.evtx_record_id = Some(id);
                    ev.written_us = Some(written_us);
                    match ev.event_id {
                        Some(eid) => {
                            cols.push(&ev, eid, meta.offset + start, meta.ingest_ts_us);
                        }
                        None => failures.push(fail("the record has no EventID".into())),
                    }
                    scratch.data = recycle(ev.data.0);
                };
                if let Some(templates) = templates.as_deref_mut()
                    && let Some(ev) = templates.event(
                        data,
                        rec.binxml_offset as usize,
                        rec.binxml_size as usize,
                        scratch,
                    )
                {
                    add(ev, scratch);
                    templates.replayed += 1;
                    continue;
                }
                let xml = match rec.into_xml_bytes() {
                    Ok(x) => x.data,
                    Err(e) => {
                        failures.push(fail(chain(&e)));
                        continue;
                    }
                };
                let text = match std::str::from_utf8(&xml) {
                    Ok(t) => Cow::Borrowed(t),
                    Err(_) => String::from_utf8_lossy(&xml),
                };
                match parse_event_with(&text, scratch) {
                    Ok(ev) => add(ev, scratch),
                    Err(e) => failures.push(fail(format!("its XML rendering: {}", e.reason))),
                }
            }
            Err(e) => {
                let (offset, record_id) = match &e {
                    EvtxError::FailedToReadRecordAt { offset, .. } => (Some(*offset), None),
                    EvtxError::FailedToParseRecord { record_id, .. } => {
                        (locate(data, expected, *record_id), Some(*record_id))
                    }
                    _ => (None, None),
                };
                expected = match (&e, offset) {
                    (EvtxError::FailedToParseRecord { .. }, Some(o)) => {
                        record_size(data, o).map(|s| o + s)
                    }
                    _ => None,
                };
                if let Some(id) = record_id {
                    *last_record_id = Some(last_record_id.map_or(id, |l| l.max(id)));
                    if skipped(id) {
                        failures.clear();
                        continue;
                    }
                }
                failures.push(Failure {
                    offset,
                    record_id,
                    reason: chain(&e),
                });
            }
        }
    }
    Ok(())
}

impl Decoder for EvtxDecoder {
    fn kind(&self) -> EventKind {
        EventKind::Windows
    }

    fn frame(&self, buf: &[u8], eof: bool) -> Option<usize> {
        frame(buf, eof)
    }

    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        // The decode stage skips blank records before they get here (the trait's contract).
        if record.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if record.starts_with(FILE_MAGIC) && record.len() <= FILE_HEADER_SIZE {
            return self.decode_header(record);
        }
        if record.len() == FILE_HEADER_SIZE && !record.starts_with(CHUNK_MAGIC) {
            // Framed as a header because a chunk follows: a header with a damaged magic.
            return self.decode_header(record);
        }
        self.decode_chunk(record, meta)
    }

    fn pending_rows(&self) -> usize {
        self.cols.len()
    }

    fn finish(&mut self) -> Option<RecordBatch> {
        self.cols.finish()
    }
}
