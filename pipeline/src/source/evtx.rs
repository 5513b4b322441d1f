//! The `.evtx` source: globs of Windows event log files, followed (or imported) by record id.
//!
//! An .evtx file does not grow by appending bytes: Windows fills the last 64 KiB chunk in
//! place, appends chunks, rewrites the file header (`next_record_id`, last chunk) and, once
//! the log is full, overwrites the oldest chunk. So neither the byte offset nor the first
//! 4 KiB (the header, which changes) can identify a position. This source instead:
//!
//! * knows a file by its first record: the id and written time of the record at the start
//!   of chunk 0, which do not change while the file grows (a path whose file has a new
//!   first record but whose ids continue those of the path's last checkpoint is the same
//!   log after a wrap);
//! * checkpoints the next record id to store as the `offset` of a keyed entry
//!   `evtx:<hash of the identity>` in checkpoints.json (no file fingerprint can match it),
//!   committed once the rows are in Parquet, like byte offsets;
//! * on every change of the file (size, mtime) hashes each chunk and decodes only the
//!   chunks whose bytes changed, oldest records first, skipping records whose id is not
//!   above the last one emitted ([`EvtxDecoder::skip_through_record_id`]). A restart
//!   re-reads the chunks that may hold newer records and emits nothing twice.
//!
//! Chunks whose every record is at or below the checkpoint are not decoded, except the
//! newest chunk (the one being written, whose header may lag behind its records). A
//! trailing chunk shorter than 64 KiB is being appended: it waits. While the file is still
//! changing (modified in the last 2 s), a newest chunk that does not read cleanly (a record
//! caught half-written) is dropped whole and read again at the next poll; once the file
//! settles, its failures are dead letters like any chunk's. Damaged chunks give
//! their dead letters when first read; after a restart, unreadable chunks are not reported
//! again.
//!
//! `serversage import` goes through the same code, one pass per file: the cut last chunk
//! of a truncated file is read too (a `truncated` dead letter beside its rows), a file
//! whose records are all stored is reported as already stored, and a log imported once
//! and followed later (or the reverse) shares its checkpoint.

use std::collections::HashMap;
use std::fs::File;
use std::hash::Hasher;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serversage_parsers::dead_letter::DeadLetterBuilder;
use serversage_parsers::windows::evtx::{
    CHUNK_SIZE, EvtxDecoder, FILE_HEADER_SIZE, chunk_offset, read_chunk_header,
};
use serversage_parsers::{
    Decoder, ErrorKind, EventBatch, EventKind, RecordMeta, SourceContext, SourceOffset,
};
use serversage_sinks::metrics::{Labels, Metrics};

use super::checkpoint::Checkpoints;
use super::file::{FileSourceOptions, SourceReport};
use super::fingerprint::fnv1a64;
use crate::bus::Bus;
use crate::config::ReadFrom;
use crate::decode::BATCH_ROWS;
use crate::host::now_us;

/// Checkpoint ids of .evtx logs: `evtx:` + the FNV-1a of the log's identity, as keyed
/// entries (`head_len` 0, so no file fingerprint ever matches them).
const KEY_PREFIX: &str = "evtx:";
/// First bytes of an identity (hashed into the checkpoint id).
const IDENTITY_MAGIC: &[u8; 16] = b"serversage-evtx\0";
/// Identity = magic + chunk 0's first record id (8) + its first record header (24 bytes).
const IDENTITY_LEN: usize = 16 + 8 + 24;
/// A file modified this recently is looked at on every poll even if its size and mtime
/// did not change (two writes within one mtime tick).
const SETTLE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(250);

/// Whether a source reads .evtx files (followed by `run`, read once by `import`).
pub fn reads_evtx(opts: &FileSourceOptions) -> bool {
    opts.format == "evtx"
}

#[derive(Default)]
struct Followed {
    /// Checkpoint id, once the file has a first record.
    id: Option<String>,
    /// The synthetic head the checkpoint is found by (see [`identity`]).
    ident: Vec<u8>,
    /// Next record id to emit (0: nothing emitted or stored yet).
    next_id: u64,
    /// (size, mtime ns, inode) at the last pass.
    stamp: Option<(u64, i128, u64)>,
    /// Hash of each chunk's bytes at the last pass.
    hashes: HashMap<u64, u64>,
    /// Readable chunk headers: chunk number → (first, last record id).
    ranges: HashMap<u64, (u64, u64)>,
    /// Passes done in this process.
    passes: u64,
    /// The checkpoint said something was stored before this process started.
    resumed: bool,
    /// Still matched by the patterns at the last scan.
    present: bool,
}

/// A running .evtx follower.
pub struct EvtxFollower {
    opts: FileSourceOptions,
    ctx: SourceContext,
    checkpoints: Arc<Mutex<Checkpoints>>,
    bus: Bus,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    files: HashMap<PathBuf, Followed>,
    report: SourceReport,
    buf: Vec<u8>,
}

impl EvtxFollower {
    /// A follower publishing to `bus`.
    pub fn new(
        opts: FileSourceOptions,
        checkpoints: Arc<Mutex<Checkpoints>>,
        bus: Bus,
        metrics: Arc<Metrics>,
        shutdown: Arc<AtomicBool>,
        progress: Arc<AtomicU64>,
    ) -> EvtxFollower {
        let mut ctx = opts.ctx.clone();
        ctx.source = opts.name.clone();
        EvtxFollower {
            opts,
            ctx,
            checkpoints,
            bus,
            metrics,
            shutdown,
            progress,
            files: HashMap::new(),
            report: SourceReport::default(),
            buf: vec![0u8; CHUNK_SIZE],
        }
    }

    fn labels(&self) -> Labels {
        vec![("source", self.opts.name.clone())]
    }

    /// Runs until shutdown (follow), or reads each file once (import).
    pub fn run(mut self) -> anyhow::Result<SourceReport> {
        if !self.opts.follow {
            self.scan()?;
            let mut paths: Vec<PathBuf> = self.files.keys().cloned().collect();
            paths.sort();
            for p in paths {
                self.poll(&p)
                    .map_err(|e| anyhow::anyhow!("{}: {e:#}", p.display()))?;
            }
            return Ok(self.report);
        }
        let mut last_scan: Option<Instant> = None;
        loop {
            if last_scan.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                self.scan()?;
                last_scan = Some(Instant::now());
            }
            let mut paths: Vec<PathBuf> = self.files.keys().cloned().collect();
            paths.sort();
            for p in paths {
                if self.shutdown.load(Ordering::Relaxed) {
                    break;
                }
                if let Err(e) = self.poll(&p) {
                    tracing::warn!(source = %self.opts.name, path = %p.display(), "{e:#}");
                }
            }
            self.metrics
                .pipeline
                .source_files
                .get_or_create(&self.labels())
                .set(self.files.len() as i64);
            if self.shutdown.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(POLL);
        }
        Ok(self.report)
    }

    fn scan(&mut self) -> anyhow::Result<()> {
        for f in self.files.values_mut() {
            f.present = false;
        }
        for pattern in &self.opts.patterns {
            let paths = glob::glob(pattern).map_err(|e| anyhow::anyhow!("{pattern}: {e}"))?;
            for p in paths.flatten() {
                if std::fs::metadata(&p).is_ok_and(|m| m.is_file()) {
                    self.files.entry(p).or_default().present = true;
                }
            }
        }
        // Positions live in the checkpoints; a file that comes back is found there again.
        self.files.retain(|_, f| f.present);
        Ok(())
    }

    /// Looks at one file; decodes what changed.
    fn poll(&mut self, path: &PathBuf) -> anyhow::Result<()> {
        let md = std::fs::metadata(path)?;
        let size = md.len();
        let follow = self.opts.follow;
        if follow && size < (FILE_HEADER_SIZE + CHUNK_SIZE) as u64 {
            return Ok(()); // No whole chunk yet.
        }
        let mtime = i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec());
        let stamp = (size, mtime, md.ino());
        let now_ns = i128::from(now_us()) * 1000;
        // An import reads what is there, as it is.
        let settled = !follow || now_ns - mtime > SETTLE.as_nanos() as i128;
        let f = self.files.get(path).expect("scanned");
        if f.stamp == Some(stamp) && settled {
            return Ok(());
        }
        let mut file = File::open(path)?;
        let mut header = vec![0u8; FILE_HEADER_SIZE.min(size as usize)];
        file.read_exact(&mut header)?;
        let ident = match identity(&mut file, size)? {
            Some(i) => i,
            None if follow => return Ok(()), // Chunk 0 has no record yet.
            // Nothing to know it by (no record in chunk 0, a cut file): read, not checkpointed.
            None => Vec::new(),
        };
        let f = self.files.get_mut(path).expect("scanned");
        if f.id.is_some() && f.ident != ident {
            // Another file at this path (a cleared log), or the oldest chunk was
            // overwritten (a wrap): known again from the checkpoints.
            tracing::info!(source = %self.opts.name, path = %path.display(), "new first record: identifying the log again");
            *f = Followed {
                present: true,
                ..Default::default()
            };
        }
        if f.id.is_none() {
            let max_id = max_record_id(&mut file, size, &header)?;
            self.identify(path, ident, max_id)?;
        }
        let emitted = self.pass(path, &mut file, &header, size, settled)?;
        let f = self.files.get_mut(path).expect("scanned");
        if !follow && f.resumed && emitted == 0 {
            self.report.already_stored.push(path.clone());
        }
        f.stamp = Some(stamp);
        f.passes += 1;
        Ok(())
    }

    /// Finds or creates the file's checkpoint, from its identity (see [`identity`]) or,
    /// for a log that wrapped, from the path's last checkpoint when the file's ids reach it.
    fn identify(&mut self, path: &Path, ident: Vec<u8>, max_id: Option<u64>) -> anyhow::Result<()> {
        let path_s = path.to_string_lossy().into_owned();
        if ident.is_empty() {
            let f = self.files.get_mut(path).expect("scanned");
            f.id = Some(format!("evtx-unidentified:{path_s}"));
            self.report.files += 1;
            return Ok(());
        }
        // A keyed entry (not a file fingerprint: no file source can match it).
        let id = format!("{KEY_PREFIX}{:016x}", fnv1a64(&ident));
        let mut cps = self.checkpoints.lock().expect("checkpoint lock");
        let known = cps.keyed(&id).map(|e| e.offset);
        let continued = known.is_none().then(|| {
            cps.entries()
                .iter()
                .filter(|e| {
                    e.head_len == 0
                        && e.id.starts_with(KEY_PREFIX)
                        && e.path == path_s
                        && e.source == self.opts.name
                })
                .map(|e| e.offset)
                .max()
                .filter(|&o| o > 0 && max_id.is_some_and(|m| m + 1 >= o))
        });
        let start = match (known, continued.flatten()) {
            (Some(o), _) | (None, Some(o)) => o,
            (None, None) if self.opts.read_from == ReadFrom::End => max_id.map_or(0, |m| m + 1),
            (None, None) => 0,
        };
        cps.set_keyed(&id, &id, &path_s, &self.opts.name, start);
        drop(cps);
        if self.opts.follow || known.is_none() {
            self.report.files += 1;
        }
        let f = self.files.get_mut(path).expect("scanned");
        f.id = Some(id);
        f.ident = ident;
        f.next_id = start;
        f.resumed = start > 0;
        Ok(())
    }

    /// Hashes the chunks, decodes the changed ones, publishes rows and dead letters.
    fn pass(
        &mut self,
        path: &PathBuf,
        file: &mut File,
        header: &[u8],
        size: u64,
        settled: bool,
    ) -> anyhow::Result<u64> {
        let body = size.saturating_sub(FILE_HEADER_SIZE as u64);
        let whole = body / CHUNK_SIZE as u64;
        // A cut last chunk is being appended (follow: it waits) or truncated (import: read).
        let tail = if self.opts.follow {
            0
        } else {
            (body % CHUNK_SIZE as u64) as usize
        };
        let labels = self.labels();
        let f = self.files.get_mut(path).expect("scanned");
        let threshold = f.next_id.checked_sub(1);
        let mut changed = Vec::new();
        let mut read = 0u64;
        file.seek(SeekFrom::Start(FILE_HEADER_SIZE as u64))?;
        for n in 0..whole {
            file.read_exact(&mut self.buf)?;
            read += CHUNK_SIZE as u64;
            if self.opts.follow {
                // An import reads each file once: nothing to compare with.
                let mut h = std::hash::DefaultHasher::new();
                h.write(&self.buf);
                let h = h.finish();
                if f.hashes.insert(n, h) == Some(h) {
                    continue;
                }
            }
            if self.buf.iter().all(|b| *b == 0) {
                f.ranges.remove(&n);
                continue;
            }
            match read_chunk_header(&self.buf) {
                Ok(Some(c)) => {
                    f.ranges.insert(n, (c.first_record_id, c.last_record_id));
                    changed.push((n, Some(c.first_record_id)));
                }
                _ => {
                    f.ranges.remove(&n);
                    changed.push((n, None));
                }
            }
        }
        if tail > 0 {
            file.read_exact(&mut self.buf[..tail])?;
            read += tail as u64;
            let first = match read_chunk_header(&self.buf[..tail]) {
                Ok(Some(c)) if tail >= 512 => {
                    f.ranges
                        .insert(whole, (c.first_record_id, c.last_record_id));
                    Some(c.first_record_id)
                }
                _ => None,
            };
            changed.push((whole, first));
        }
        // The newest chunk may hold records its header does not count yet.
        let newest = f
            .ranges
            .iter()
            .max_by_key(|(_, (first, _))| *first)
            .map(|(n, _)| *n);
        let resuming = f.resumed && f.passes == 0;
        changed.retain(|(n, first)| match first {
            None => !resuming,
            Some(_) => {
                let last = f.ranges[n].1;
                Some(*n) == newest || threshold.is_none_or(|t| last > t)
            }
        });
        // Oldest records first (after a wrap the oldest chunk is mid-file); unreadable last.
        changed.sort_by_key(|(n, first)| (first.is_none(), first.unwrap_or(0), *n));

        self.report.bytes += read;
        self.progress.fetch_add(read, Ordering::Relaxed);
        self.metrics
            .pipeline
            .source_read_bytes
            .get_or_create(&labels)
            .inc_by(read);

        let id = f.id.clone().expect("identified");
        let first_pass_of_new_file = f.passes == 0 && f.next_id == 0;
        let mut decoder = EvtxDecoder::new(self.ctx.clone()).skip_through_record_id(threshold);
        let mut dead = DeadLetterBuilder::new(self.ctx.clone(), "evtx");
        let now = now_us();
        let mut events = 0u64;
        let mut errors: Vec<(ErrorKind, u64)> = Vec::new();
        let mut next_id = f.next_id;
        let mut err = |dead: &mut DeadLetterBuilder,
                       record: &[u8],
                       meta: &RecordMeta,
                       e: serversage_parsers::ParseError| {
            match errors.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, m)) => *m += 1,
                None => errors.push((e.kind, 1)),
            }
            dead.push(record, meta, &e);
        };
        if first_pass_of_new_file {
            let meta = RecordMeta {
                offset: 0,
                ingest_ts_us: now,
            };
            if let Err(e) = decoder.decode(header, &meta) {
                err(&mut dead, header, &meta, e);
            }
        }
        let bus = &self.bus;
        let publish = |decoder: &mut EvtxDecoder,
                       dead: &mut DeadLetterBuilder,
                       end: u64|
         -> anyhow::Result<()> {
            let offsets = vec![SourceOffset {
                source_id: id.clone(),
                end,
            }];
            if let Some(records) = decoder.finish() {
                bus.publish(EventBatch {
                    kind: EventKind::Windows,
                    records,
                    offsets: offsets.clone(),
                })
                .map_err(|e| anyhow::anyhow!("consumer `{}` is gone", e.0))?;
            }
            if let Some(records) = dead.finish() {
                bus.publish(EventBatch {
                    kind: EventKind::DeadLetter,
                    records,
                    offsets,
                })
                .map_err(|e| anyhow::anyhow!("consumer `{}` is gone", e.0))?;
            }
            Ok(())
        };
        for (n, _) in &changed {
            let at = chunk_offset(*n);
            let len = if *n == whole { tail } else { CHUNK_SIZE };
            file.seek(SeekFrom::Start(at))?;
            file.read_exact(&mut self.buf[..len])?;
            let chunk = &self.buf[..len];
            let meta = RecordMeta {
                offset: at,
                ingest_ts_us: now,
            };
            if Some(*n) == newest && !settled {
                // The chunk being written may end in a record caught half-written: tried
                // on its own, and if it fails while the file is still changing, nothing of
                // it is kept and it is read again at the next poll.
                let mut trial =
                    EvtxDecoder::new(self.ctx.clone()).skip_through_record_id(threshold);
                let r = trial.decode(chunk, &meta);
                if r.is_err() {
                    self.files.get_mut(path).expect("scanned").hashes.remove(n);
                    continue;
                }
                publish(&mut decoder, &mut dead, next_id)?;
                events += trial.pending_rows() as u64;
                next_id = next_id.max(trial.last_record_id().map_or(0, |l| l + 1));
                publish(&mut trial, &mut dead, next_id)?;
                continue;
            }
            let before = decoder.pending_rows();
            let r = decoder.decode(chunk, &meta);
            events += (decoder.pending_rows() - before) as u64;
            if let Err(e) = r {
                err(&mut dead, chunk, &meta, e);
            }
            next_id = next_id.max(decoder.last_record_id().map_or(0, |l| l + 1));
            if decoder.pending_rows() + dead.len() >= BATCH_ROWS {
                publish(&mut decoder, &mut dead, next_id)?;
            }
        }
        publish(&mut decoder, &mut dead, next_id)?;
        let f = self.files.get_mut(path).expect("scanned");
        f.next_id = next_id;

        self.report.events += events;
        self.metrics
            .pipeline
            .events_parsed
            .get_or_create(&vec![
                ("source", self.opts.name.clone()),
                ("kind", EventKind::Windows.name().to_string()),
            ])
            .inc_by(events);
        let mut emitted = events;
        for (kind, n) in errors {
            self.report.errors += n;
            emitted += n;
            self.metrics
                .pipeline
                .parse_errors
                .get_or_create(&vec![
                    ("source", self.opts.name.clone()),
                    ("format", "evtx".to_string()),
                    ("error_type", kind.as_str().to_string()),
                ])
                .inc_by(n);
        }
        Ok(emitted)
    }
}

/// What a file is known by: [`IDENTITY_MAGIC`], chunk 0's first record id and the header
/// of its first record (id and written time). `None` while chunk 0 holds no record.
fn identity(file: &mut File, size: u64) -> std::io::Result<Option<Vec<u8>>> {
    if size < (FILE_HEADER_SIZE + 512 + 24) as u64 {
        return Ok(None);
    }
    let mut chunk0 = vec![0u8; 512 + 24];
    file.seek(SeekFrom::Start(FILE_HEADER_SIZE as u64))?;
    file.read_exact(&mut chunk0)?;
    let mut ident = Vec::with_capacity(IDENTITY_LEN);
    ident.extend_from_slice(IDENTITY_MAGIC);
    match read_chunk_header(&chunk0) {
        Ok(Some(ch)) => {
            if chunk0[512..516] != *b"\x2a\x2a\x00\x00" {
                return Ok(None);
            }
            ident.extend_from_slice(&ch.first_record_id.to_le_bytes());
            ident.extend_from_slice(&chunk0[512..512 + 24]);
        }
        _ if chunk0[..512].iter().all(|b| *b == 0) => return Ok(None),
        // A damaged chunk 0: its first bytes, whatever they are.
        _ => ident.extend_from_slice(&chunk0[..IDENTITY_LEN - IDENTITY_MAGIC.len()]),
    }
    Ok(Some(ident))
}

/// The highest record id the file's chunk headers (or its file header) name.
fn max_record_id(file: &mut File, size: u64, header: &[u8]) -> std::io::Result<Option<u64>> {
    let mut max = serversage_parsers::windows::evtx::read_file_header(header)
        .ok()
        .and_then(|h| h.next_record_id.checked_sub(1));
    let mut head = vec![0u8; 512];
    let mut n = 0;
    while chunk_offset(n) + CHUNK_SIZE as u64 <= size {
        file.seek(SeekFrom::Start(chunk_offset(n)))?;
        file.read_exact(&mut head)?;
        if let Ok(Some(c)) = read_chunk_header(&head) {
            max = Some(max.map_or(c.last_record_id, |m| m.max(c.last_record_id)));
        }
        n += 1;
    }
    Ok(max)
}
