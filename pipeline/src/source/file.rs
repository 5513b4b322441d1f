//! The file source: follows glob patterns of files, reading bytes itself so every record
//! keeps its offset.
//!
//! linemux watches the files (it also registers paths that do not exist yet) and wakes
//! the loop when one changes; a rescan every second catches new files matching a glob and
//! rotations. Files are tracked by (device, inode): after a rename-and-create rotation the
//! old file is read to its end before it is let go, then the new one is read from its
//! start. A file that shrinks was truncated and is read again from the start.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serversage_parsers::{EventBatch, SourceContext};
use serversage_sinks::metrics::{Labels, Metrics};

use super::checkpoint::Checkpoints;
use super::fingerprint::HEAD_BYTES;
use crate::bus::Bus;
use crate::config::ReadFrom;
use crate::decode::{DecodeCounts, DecodeStage};
use crate::host::now_us;

const READ_CHUNK: usize = 256 * 1024;

/// What a file source is told to do.
#[derive(Debug, Clone)]
pub struct FileSourceOptions {
    /// Source name (the `source` column and metric label).
    pub name: String,
    /// Format name.
    pub format: String,
    /// Facts for the decoder (host, boot time, ...).
    pub ctx: SourceContext,
    /// Paths or glob patterns.
    pub patterns: Vec<String>,
    /// Address of a TCP/HTTP listener instead of files (see `source::listen`).
    pub listen: Option<std::net::SocketAddr>,
    /// Where files without a checkpoint start.
    pub read_from: ReadFrom,
    /// Keep following (run) or stop at the end of every file (import).
    pub follow: bool,
    /// Longest record accepted.
    pub max_record: usize,
    /// How long a record without terminator waits for more bytes.
    pub partial_timeout: Duration,
}

/// What a source did, for the import summary.
#[derive(Debug, Default, Clone)]
pub struct SourceReport {
    /// Files read (fully or from their checkpoint).
    pub files: usize,
    /// Files skipped because every byte of them was stored before.
    pub already_stored: Vec<PathBuf>,
    /// Bytes read.
    pub bytes: u64,
    /// Events parsed.
    pub events: u64,
    /// Records that did not parse.
    pub errors: u64,
}

struct Tailed {
    path: PathBuf,
    file: File,
    /// Read position.
    offset: u64,
    stage: Option<DecodeStage>,
    id: Option<String>,
    head_len: usize,
    last_data: Instant,
    /// The path now names another file (rotation) or nothing: read to the end, then drop.
    gone: bool,
}

/// A running file source.
pub struct FileSource {
    opts: FileSourceOptions,
    checkpoints: Arc<Mutex<Checkpoints>>,
    bus: Bus,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    files: HashMap<(u64, u64), Tailed>,
    report: SourceReport,
    seen_paths: std::collections::HashSet<PathBuf>,
    /// Read buffer, reused by every read of every file (not allocated per wake-up).
    buf: Vec<u8>,
    /// Decoder state of files rotated away, by the path they had: the file that takes the
    /// path continues from it (a JVM prints its GC log's context once, in the first file).
    carried: HashMap<PathBuf, Box<dyn std::any::Any + Send>>,
}

impl FileSource {
    /// A source publishing to `bus`. `progress` counts bytes read (for a progress bar).
    pub fn new(
        opts: FileSourceOptions,
        checkpoints: Arc<Mutex<Checkpoints>>,
        bus: Bus,
        metrics: Arc<Metrics>,
        shutdown: Arc<AtomicBool>,
        progress: Arc<AtomicU64>,
    ) -> FileSource {
        FileSource {
            opts,
            checkpoints,
            bus,
            metrics,
            shutdown,
            progress,
            files: HashMap::new(),
            report: SourceReport::default(),
            seen_paths: Default::default(),
            buf: vec![0u8; READ_CHUNK],
            carried: HashMap::new(),
        }
    }

    fn labels(&self) -> Labels {
        vec![("source", self.opts.name.clone())]
    }

    /// Runs until shutdown (follow) or until every file is read (import).
    pub fn run(mut self) -> anyhow::Result<SourceReport> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut watcher = if self.opts.follow {
            Some(linemux::MuxedEvents::new()?)
        } else {
            None
        };
        let mut last_scan: Option<Instant> = None;
        loop {
            let stopping = self.shutdown.load(Ordering::Relaxed);
            if last_scan.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                let new_paths = self.scan()?;
                if let Some(w) = watcher.as_mut() {
                    for p in new_paths {
                        // A watch failure only costs latency: the rescan still finds changes.
                        if let Err(e) = rt.block_on(w.add_file(&p)) {
                            tracing::debug!(path = %p.display(), "cannot watch: {e}");
                        }
                    }
                }
                last_scan = Some(Instant::now());
            }
            // Files rotated away first: read to their end before the file that took their
            // path is identified, so that it continues from all of them.
            let mut keys: Vec<(u64, u64)> = self.files.keys().copied().collect();
            keys.sort_by_key(|k| !self.files[k].gone);
            for k in keys {
                self.read_file(k, stopping)?;
            }
            let carried = &mut self.carried;
            self.files.retain(|_, t| {
                let done = t.gone && t.stage.as_ref().is_none_or(|s| s.pending_bytes() == 0);
                if done && let Some(c) = t.stage.as_ref().and_then(DecodeStage::carry_over) {
                    carried.insert(t.path.clone(), c);
                }
                !done
            });
            self.metrics
                .pipeline
                .source_files
                .get_or_create(&self.labels())
                .set(self.files.len() as i64);
            if stopping || !self.opts.follow {
                break;
            }
            match watcher.as_mut() {
                Some(w) => {
                    let _ = rt.block_on(async {
                        tokio::time::timeout(Duration::from_millis(250), w.next_event()).await
                    });
                }
                None => std::thread::sleep(Duration::from_millis(250)),
            }
        }
        Ok(self.report)
    }

    /// Expands the patterns; opens files not yet tracked. Returns paths first seen now.
    fn scan(&mut self) -> anyhow::Result<Vec<PathBuf>> {
        let mut current: HashMap<PathBuf, (u64, u64)> = HashMap::new();
        for pattern in &self.opts.patterns {
            let paths = glob::glob(pattern).map_err(|e| anyhow::anyhow!("{pattern}: {e}"))?;
            for p in paths.flatten() {
                if let Ok(md) = std::fs::metadata(&p)
                    && md.is_file()
                {
                    current.insert(p, (md.dev(), md.ino()));
                }
            }
        }
        for t in self.files.values_mut() {
            let key_now = current.get(&t.path).copied();
            let mine = t.file.metadata().map(|m| (m.dev(), m.ino())).ok();
            if key_now.is_none() || key_now != mine {
                t.gone = true;
            }
        }
        let mut new_paths = Vec::new();
        let mut sorted: Vec<_> = current.into_iter().collect();
        sorted.sort();
        for (path, key) in sorted {
            if self.files.contains_key(&key) {
                continue;
            }
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(source = %self.opts.name, path = %path.display(), "cannot open: {e}");
                    continue;
                }
            };
            if self.seen_paths.insert(path.clone()) {
                new_paths.push(path.clone());
            }
            self.files.insert(
                key,
                Tailed {
                    path,
                    file,
                    offset: 0,
                    stage: None,
                    id: None,
                    head_len: 0,
                    last_data: Instant::now(),
                    gone: false,
                },
            );
        }
        Ok(new_paths)
    }

    /// Identifies a file once it has bytes: checkpoint lookup, start offset, decode stage.
    fn identify(&mut self, key: (u64, u64), size: u64) -> anyhow::Result<()> {
        // The file that had this path before (rotated away, still being read or done).
        let path = self.files[&key].path.clone();
        let before = self
            .files
            .iter()
            .find(|(k, o)| **k != key && o.gone && o.path == path)
            .and_then(|(_, o)| o.stage.as_ref()?.carry_over())
            .or_else(|| self.carried.remove(&path));
        let t = self.files.get_mut(&key).expect("tracked");
        let mut head = vec![0u8; HEAD_BYTES.min(size as usize)];
        t.file.seek(SeekFrom::Start(0))?;
        t.file.read_exact(&mut head)?;
        let path = t.path.to_string_lossy().into_owned();
        let mut cps = self.checkpoints.lock().expect("checkpoint lock");
        let known = cps.find(&head, &path).map(|e| e.offset);
        let start = match known {
            Some(off) if off <= size => off,
            Some(_) => 0,
            None if self.opts.read_from == ReadFrom::End && self.opts.follow => size,
            None => 0,
        };
        let id = cps.register(&head, &path, &self.opts.name, start);
        drop(cps);
        if known == Some(size) && !self.opts.follow {
            self.report.already_stored.push(t.path.clone());
        } else {
            self.report.files += 1;
        }
        let mut ctx = self.opts.ctx.clone();
        ctx.source = self.opts.name.clone();
        t.stage = DecodeStage::new(
            &self.opts.format,
            &ctx,
            id.clone(),
            start,
            self.opts.max_record,
        );
        anyhow::ensure!(t.stage.is_some(), "unknown format {}", self.opts.format);
        if let (Some(stage), Some(state)) = (t.stage.as_mut(), before) {
            stage.resume(state);
        }
        t.id = Some(id);
        t.head_len = head.len();
        t.offset = start;
        t.file.seek(SeekFrom::Start(start))?;
        Ok(())
    }

    fn read_file(&mut self, key: (u64, u64), stopping: bool) -> anyhow::Result<()> {
        let size = match self.files[&key].file.metadata() {
            Ok(m) => m.len(),
            Err(_) => return Ok(()),
        };
        if self.files[&key].id.is_none() {
            if size == 0 {
                return Ok(());
            }
            self.identify(key, size)?;
        }
        let labels = self.labels();
        let format = self.opts.format.clone();
        let t = self.files.get_mut(&key).expect("tracked");
        if size < t.offset {
            tracing::warn!(path = %t.path.display(), "file shrank from {} to {size} bytes: truncated, reading again from the start", t.offset);
            self.metrics
                .pipeline
                .source_truncations
                .get_or_create(&labels)
                .inc();
            let id = t.id.clone().expect("identified");
            self.checkpoints
                .lock()
                .expect("checkpoint lock")
                .reset(&id, 0);
            let mut ctx = self.opts.ctx.clone();
            ctx.source = self.opts.name.clone();
            // copytruncate rotation: the log goes on from the start of the same file.
            let state = t.stage.as_ref().and_then(DecodeStage::carry_over);
            t.stage = DecodeStage::new(&format, &ctx, id, 0, self.opts.max_record);
            if let (Some(stage), Some(state)) = (t.stage.as_mut(), state) {
                stage.resume(state);
            }
            t.offset = 0;
            t.file.seek(SeekFrom::Start(0))?;
        }
        // Small files grow into their full fingerprint.
        if t.head_len < HEAD_BYTES && size as usize > t.head_len {
            let mut head = vec![0u8; HEAD_BYTES.min(size as usize)];
            let mut f = File::open(&t.path).unwrap_or(t.file.try_clone()?);
            if f.read_exact(&mut head).is_ok() {
                self.checkpoints.lock().expect("checkpoint lock").register(
                    &head,
                    &t.path.to_string_lossy(),
                    &self.opts.name,
                    0,
                );
                t.head_len = head.len();
            }
        }
        let bus = &self.bus;
        // Set when a consumer hung up; reading stops and the source reports it.
        let closed = std::cell::Cell::new(None);
        let mut emit = |b: EventBatch| {
            if closed.get().is_none()
                && let Err(e) = bus.publish(b)
            {
                closed.set(Some(e.0));
            }
        };
        let buf = &mut self.buf;
        let mut total = DecodeCounts::default();
        let stage = t.stage.as_mut().expect("identified");
        loop {
            if self.shutdown.load(Ordering::Relaxed) && !stopping {
                break;
            }
            let n = t.file.read(buf)?;
            if n == 0 {
                break;
            }
            t.offset += n as u64;
            t.last_data = Instant::now();
            self.report.bytes += n as u64;
            self.progress.fetch_add(n as u64, Ordering::Relaxed);
            self.metrics
                .pipeline
                .source_read_bytes
                .get_or_create(&labels)
                .inc_by(n as u64);
            let c = stage.feed(&buf[..n], false, now_us(), &mut emit);
            total.merge(c);
            if closed.get().is_some() {
                break;
            }
        }
        // End of what is there: a partial record is complete at the end of an import, or
        // once it has waited long enough; at shutdown it stays for the next run.
        let eof = !self.opts.follow
            || (t.gone && !stopping)
            || (!stopping && t.last_data.elapsed() >= self.opts.partial_timeout);
        if eof && stage.pending_bytes() > 0 {
            total.merge(stage.feed(&[], true, now_us(), &mut emit));
        }
        stage.flush(&mut emit);
        count_decoded(
            &self.metrics,
            &self.opts.name,
            &format,
            &total,
            &mut self.report,
        );
        if let Some(consumer) = closed.get() {
            anyhow::bail!("source {}: consumer `{consumer}` is gone", self.opts.name);
        }
        Ok(())
    }
}

/// Adds what a decode stage did to a source's report and to the pipeline metrics
/// (events parsed, parse errors by type).
pub(super) fn count_decoded(
    metrics: &Metrics,
    source: &str,
    format: &str,
    total: &DecodeCounts,
    report: &mut SourceReport,
) {
    report.events += total.events;
    metrics
        .pipeline
        .events_parsed
        .get_or_create(&vec![
            ("source", source.to_string()),
            ("kind", stage_kind(format)),
        ])
        .inc_by(total.events);
    for (kind, n) in &total.errors {
        report.errors += n;
        metrics
            .pipeline
            .parse_errors
            .get_or_create(&vec![
                ("source", source.to_string()),
                ("format", format.to_string()),
                ("error_type", kind.as_str().to_string()),
            ])
            .inc_by(*n);
    }
}

fn stage_kind(format: &str) -> String {
    serversage_parsers::decoder::kind_of(format)
        .map_or("unknown", |k| k.name())
        .to_string()
}
