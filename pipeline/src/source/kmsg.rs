//! The /dev/kmsg source: this machine's kernel ring buffer, read live.
//!
//! A source with `format = "kmsg"` whose one path is the character device `/dev/kmsg`
//! runs this reader instead of the file tailer (formats doc K1, K9):
//!
//! - The device is opened `O_RDONLY|O_NONBLOCK`; each `read(2)` returns exactly one record
//!   (prefix line plus ` KEY=value` lines), which goes whole to the `kmsg` decoder through
//!   [`DecodeStage::feed_record`] with its sequence number as position. The loop reads
//!   until `EAGAIN`, flushes, then waits for readability (epoll through tokio's `AsyncFd`,
//!   at most 250 ms so that shutdown is noticed).
//! - Position: the checkpoint store keeps one keyed entry `kmsg:<source>@<boot id>` whose
//!   offset is the next sequence number to store; it advances only once the rows are in
//!   Parquet, like a file's offset. After a restart in the same boot the ring is read from
//!   its oldest record and records below that number are dropped. A new boot id starts at
//!   sequence 0 and produces exactly one `boot` event: the kernel's own banner (seq 0,
//!   `Linux version ...`) when it is still in the ring, otherwise the same text from
//!   /proc/version. With no checkpoint at all, `read_from` says where to start: `end`
//!   seeks to the end of the ring (`SEEK_END`), `beginning` reads its oldest record.
//! - Loss: when the reader falls behind, the kernel answers `EPIPE` once and continues at
//!   the oldest surviving record. Every jump in sequence numbers (including records
//!   overwritten while ServerSage was stopped) is added to
//!   `serversage_source_lost_records_total{source}` and logged; reading continues.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serversage_parsers::EventBatch;
use serversage_sinks::metrics::{Labels, Metrics};

use super::checkpoint::Checkpoints;
use super::file::{FileSourceOptions, SourceReport, count_decoded};
use crate::bus::Bus;
use crate::config::ReadFrom;
use crate::decode::{DecodeCounts, DecodeStage};
use crate::host::now_us;

/// Read buffer: larger than any record (text ≤ 1 KiB plus a dictionary ≤ ~1 KiB; a
/// smaller buffer makes the kernel answer EINVAL).
const RECORD_BUF: usize = 16 * 1024;

/// `O_NONBLOCK` of Linux's generic ABI (x86, arm, riscv, powerpc, s390, loongarch).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64",
    target_arch = "powerpc64",
    target_arch = "s390x",
    target_arch = "loongarch64"
))]
const O_NONBLOCK: i32 = 0o4000;

/// `EPIPE`: the next record was overwritten before it was read.
const EPIPE: i32 = 32;

/// Whether a configured source is a live /dev/kmsg reader: format `kmsg` and one path that
/// is a character device. Returns that path.
pub fn kmsg_device(opts: &FileSourceOptions) -> Option<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    if opts.format != "kmsg" || opts.patterns.len() != 1 {
        return None;
    }
    let path = Path::new(&opts.patterns[0]);
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.file_type().is_char_device())
        .map(|_| path.to_path_buf())
}

/// Where reading starts, decided from the checkpoint before the first read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Seek to the end of the ring first (no checkpoint, `read_from = "end"`).
    pub seek_end: bool,
    /// The next sequence number wanted: smaller ones are already stored, a larger first
    /// one means records were lost. `None`: whatever comes first is wanted.
    pub expected: Option<u64>,
    /// The boot id of the checkpoint when it is not this boot's: this is a new boot.
    pub previous_boot: Option<String>,
}

/// The resume decision: `saved` is the checkpoint's (boot id, next sequence number).
pub(crate) fn plan(saved: Option<(&str, u64)>, boot_id: &str, read_from: ReadFrom) -> Plan {
    match saved {
        Some((b, next)) if b == boot_id => Plan {
            seek_end: false,
            expected: Some(next),
            previous_boot: None,
        },
        Some((b, _)) => Plan {
            seek_end: false,
            expected: Some(0),
            previous_boot: Some(b.to_string()),
        },
        None => Plan {
            seek_end: read_from == ReadFrom::End,
            expected: None,
            previous_boot: None,
        },
    }
}

/// What one record's sequence number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Stored before (a restart re-reads the ring from its oldest record): drop it.
    Stored,
    /// Wanted; `lost` records before it never arrived.
    Next { lost: u64 },
}

/// Sequence-gap accounting.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SeqTracker {
    expected: Option<u64>,
}

impl SeqTracker {
    pub(crate) fn new(expected: Option<u64>) -> Self {
        SeqTracker { expected }
    }

    pub(crate) fn observe(&mut self, seq: u64) -> Seen {
        let lost = match self.expected {
            Some(e) if seq < e => return Seen::Stored,
            Some(e) => seq - e,
            None => 0,
        };
        self.expected = Some(seq + 1);
        Seen::Next { lost }
    }

    /// The next sequence number wanted.
    pub(crate) fn expected(&self) -> Option<u64> {
        self.expected
    }
}

/// The sequence number of a raw record (`PRI,SEQ,...;`), without parsing the rest.
pub(crate) fn record_seq(rec: &[u8]) -> Option<u64> {
    let mut fields = rec.split(|&b| b == b',' || b == b';');
    fields.next()?;
    let seq = fields.next()?;
    if seq.is_empty() || !seq.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(seq).ok()?.parse().ok()
}

/// The kernel's boot banner as a kmsg record (seq 0, uptime 0), from /proc/version.
fn banner_record(version: &str) -> Vec<u8> {
    let mut rec = b"5,0,0,-;".to_vec();
    for &b in version.trim_end().as_bytes() {
        if !(0x20..0x7f).contains(&b) || b == b'\\' {
            rec.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        } else {
            rec.push(b);
        }
    }
    rec.push(b'\n');
    rec
}

/// A running /dev/kmsg source.
pub struct KmsgSource {
    opts: FileSourceOptions,
    path: PathBuf,
    checkpoints: Arc<Mutex<Checkpoints>>,
    bus: Bus,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    report: SourceReport,
}

/// State of one run over the device.
struct Reader {
    stage: DecodeStage,
    tracker: SeqTracker,
    /// Checkpoint prefix and id of this boot.
    prefix: String,
    id: String,
    /// Entry written (at the first record, so that an idle start leaves none behind).
    registered: bool,
    previous_boot: Option<String>,
    counts: DecodeCounts,
}

impl KmsgSource {
    /// A reader of the character device `path` for the configured source `opts`.
    pub fn new(
        opts: FileSourceOptions,
        path: PathBuf,
        checkpoints: Arc<Mutex<Checkpoints>>,
        bus: Bus,
        metrics: Arc<Metrics>,
        shutdown: Arc<AtomicBool>,
        progress: Arc<AtomicU64>,
    ) -> KmsgSource {
        KmsgSource {
            opts,
            path,
            checkpoints,
            bus,
            metrics,
            shutdown,
            progress,
            report: SourceReport::default(),
        }
    }

    fn labels(&self) -> Labels {
        vec![("source", self.opts.name.clone())]
    }

    /// Runs until shutdown (follow) or until the ring is read to its end (import).
    pub fn run(mut self) -> anyhow::Result<SourceReport> {
        let boot_id = crate::host::boot_id()
            .filter(|b| !b.is_empty())
            .context("/proc/sys/kernel/random/boot_id: cannot read this boot's id")?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(&self.path)
            .with_context(|| {
                format!("source {}: opening {}", self.opts.name, self.path.display())
            })?;
        let prefix = format!("kmsg:{}@", self.opts.name);
        let id = format!("{prefix}{boot_id}");
        let saved = {
            let cps = self.checkpoints.lock().expect("checkpoint lock");
            cps.keyed(&prefix)
                .map(|e| (e.id[prefix.len()..].to_string(), e.offset))
        };
        let read_from = if self.opts.follow {
            self.opts.read_from
        } else {
            ReadFrom::Beginning
        };
        let plan = plan(
            saved.as_ref().map(|(b, n)| (b.as_str(), *n)),
            &boot_id,
            read_from,
        );
        if plan.seek_end {
            file.seek(SeekFrom::End(0))
                .with_context(|| format!("{}: seeking to the end", self.path.display()))?;
        }
        match (&plan.previous_boot, plan.expected) {
            (Some(prev), _) => {
                tracing::info!(source = %self.opts.name, "new boot {boot_id} (previous {prev}): reading the kernel ring from its start")
            }
            (None, Some(next)) => {
                tracing::info!(source = %self.opts.name, "resuming boot {boot_id} at kernel sequence {next}")
            }
            (None, None) => {
                tracing::info!(source = %self.opts.name, "reading the kernel ring from its {}", if plan.seek_end { "end" } else { "start" })
            }
        }
        let mut ctx = self.opts.ctx.clone();
        ctx.source = self.opts.name.clone();
        ctx.boot_id = Some(boot_id.clone());
        ctx.boot_time_us = ctx.boot_time_us.or_else(crate::host::boot_time_us);
        let stage = DecodeStage::new("kmsg", &ctx, id.clone(), 0, self.opts.max_record)
            .context("the kmsg decoder")?;
        let mut reader = Reader {
            stage,
            tracker: SeqTracker::new(plan.expected),
            prefix,
            id,
            registered: false,
            previous_boot: plan.previous_boot,
            counts: DecodeCounts::default(),
        };

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let fd = {
            let _guard = rt.enter();
            // SAFETY: a `File` owns its descriptor, open until the `File` (moved into the
            // `AsyncFd`) is dropped, and `as_raw_fd` always returns that descriptor.
            let registered = unsafe {
                tokio::io::unix::AsyncFd::register_with_interest(
                    file.try_clone()?,
                    tokio::io::Interest::READABLE,
                )
            };
            match registered {
                Ok(fd) => Some(fd),
                Err(e) => {
                    let e = e.into_parts().1;
                    tracing::debug!(source = %self.opts.name, "cannot poll {}: {e}; checking every 250 ms", self.path.display());
                    None
                }
            }
        };
        self.metrics
            .pipeline
            .source_files
            .get_or_create(&self.labels())
            .set(1);
        self.report.files = 1;
        let mut buf = vec![0u8; RECORD_BUF];
        let result = loop {
            let stopping = self.shutdown.load(Ordering::Relaxed);
            if let Err(e) = self.drain(&mut file, &mut buf, &mut reader, stopping) {
                break Err(e);
            }
            if stopping || !self.opts.follow {
                break Ok(());
            }
            match &fd {
                Some(fd) => {
                    let ready = rt.block_on(async {
                        tokio::time::timeout(Duration::from_millis(250), fd.readable()).await
                    });
                    if let Ok(Ok(mut guard)) = ready {
                        // Cleared before reading to EAGAIN: a record arriving after that
                        // wakes the next wait.
                        guard.clear_ready();
                    }
                }
                None => std::thread::sleep(Duration::from_millis(250)),
            }
        };
        self.metrics
            .pipeline
            .source_files
            .get_or_create(&self.labels())
            .set(0);
        result.map(|()| self.report)
    }

    /// Reads every record available now, then flushes what was built.
    fn drain(
        &mut self,
        file: &mut File,
        buf: &mut [u8],
        r: &mut Reader,
        stopping: bool,
    ) -> anyhow::Result<()> {
        let bus = &self.bus;
        let closed = std::cell::Cell::new(None);
        let mut emit = |b: EventBatch| {
            if closed.get().is_none()
                && let Err(e) = bus.publish(b)
            {
                closed.set(Some(e.0));
            }
        };
        let labels = self.labels();
        loop {
            if self.shutdown.load(Ordering::Relaxed) && !stopping {
                break;
            }
            let n = match file.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(EPIPE) => {
                    // Counted from the sequence numbers of the next record.
                    tracing::warn!(source = %self.opts.name, "fell behind the kernel ring buffer: records were overwritten before they were read");
                    continue;
                }
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "source {}: reading {}: {e}",
                        self.opts.name,
                        self.path.display()
                    ));
                }
            };
            self.report.bytes += n as u64;
            self.progress.fetch_add(n as u64, Ordering::Relaxed);
            self.metrics
                .pipeline
                .source_read_bytes
                .get_or_create(&labels)
                .inc_by(n as u64);
            let rec = &buf[..n];
            let seq = record_seq(rec);
            if let Some(seq) = seq {
                match r.tracker.observe(seq) {
                    Seen::Stored => continue,
                    Seen::Next { lost: 0 } => {}
                    Seen::Next { lost } => {
                        tracing::warn!(source = %self.opts.name, "{lost} kernel records lost before sequence {seq} (overwritten in the ring buffer before they were read)");
                        self.metrics
                            .pipeline
                            .source_lost_records
                            .get_or_create(&labels)
                            .inc_by(lost);
                    }
                }
            }
            // A record without a readable sequence number is stored (as a dead letter) at
            // the next position.
            let pos = seq.unwrap_or_else(|| r.tracker.expected().unwrap_or(0));
            if !r.registered {
                self.checkpoints.lock().expect("checkpoint lock").set_keyed(
                    &r.prefix,
                    &r.id,
                    &self.path.to_string_lossy(),
                    &self.opts.name,
                    pos,
                );
                r.registered = true;
                if let Some(prev) = r.previous_boot.take()
                    && pos != 0
                {
                    // The banner was overwritten: the new boot is marked with its text.
                    let version = std::fs::read_to_string("/proc/version")
                        .unwrap_or_else(|_| format!("Linux version unknown (boot after {prev})"));
                    let c =
                        r.stage
                            .feed_record(&banner_record(&version), 0, pos, now_us(), &mut emit);
                    r.counts.merge(c);
                }
            }
            let next = pos + 1;
            let c = r.stage.feed_record(rec, pos, next, now_us(), &mut emit);
            r.counts.merge(c);
            if closed.get().is_some() {
                break;
            }
        }
        r.stage.flush(&mut emit);
        let counts = std::mem::take(&mut r.counts);
        count_decoded(
            &self.metrics,
            &self.opts.name,
            "kmsg",
            &counts,
            &mut self.report,
        );
        if let Some(consumer) = closed.get() {
            anyhow::bail!("source {}: consumer `{consumer}` is gone", self.opts.name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_decisions() {
        // Same boot: from the checkpoint's next sequence number, whatever read_from says.
        let p = plan(Some(("b1", 42)), "b1", ReadFrom::End);
        assert_eq!(
            p,
            Plan {
                seek_end: false,
                expected: Some(42),
                previous_boot: None
            }
        );
        // New boot: everything in the ring is new, from sequence 0, and it is a reboot.
        let p = plan(Some(("b0", 42)), "b1", ReadFrom::End);
        assert_eq!(
            p,
            Plan {
                seek_end: false,
                expected: Some(0),
                previous_boot: Some("b0".into())
            }
        );
        // No checkpoint: read_from decides; nothing counts as lost or as a reboot.
        assert!(plan(None, "b1", ReadFrom::End).seek_end);
        let p = plan(None, "b1", ReadFrom::Beginning);
        assert_eq!(
            p,
            Plan {
                seek_end: false,
                expected: None,
                previous_boot: None
            }
        );
    }

    #[test]
    fn sequence_gaps_are_counted_and_stored_records_dropped() {
        // Resuming at 10 with the ring's oldest record at 7: 7..=9 were stored before.
        let mut t = SeqTracker::new(Some(10));
        assert_eq!(t.observe(7), Seen::Stored);
        assert_eq!(t.observe(9), Seen::Stored);
        assert_eq!(t.observe(10), Seen::Next { lost: 0 });
        assert_eq!(t.observe(11), Seen::Next { lost: 0 });
        // EPIPE: the reader resumes at the oldest surviving record, 780.
        assert_eq!(t.observe(780), Seen::Next { lost: 768 });
        assert_eq!(t.expected(), Some(781));
        // The ring wrapped while we were stopped.
        let mut t = SeqTracker::new(Some(5));
        assert_eq!(t.observe(20), Seen::Next { lost: 15 });
        // No expectation: the first record is simply the first.
        let mut t = SeqTracker::new(None);
        assert_eq!(t.observe(1234), Seen::Next { lost: 0 });
        assert_eq!(t.observe(1236), Seen::Next { lost: 1 });
    }

    #[test]
    fn sequence_numbers_and_the_banner() {
        assert_eq!(record_seq(b"6,191,190144,-;acpi: x\n"), Some(191));
        assert_eq!(record_seq(b"6,191;x"), Some(191));
        assert_eq!(record_seq(b"6,x,1,-;x"), None);
        assert_eq!(record_seq(b"garbage"), None);
        let rec = banner_record("Linux version 6.1.0 (a\\b) #1 SMP\n");
        assert_eq!(rec, b"5,0,0,-;Linux version 6.1.0 (a\\x5cb) #1 SMP\n");
        // The banner record classifies as `boot`.
        let ctx = serversage_parsers::SourceContext::default();
        let mut st = DecodeStage::new("kmsg", &ctx, "k".into(), 0, 4096).unwrap();
        let mut out = Vec::new();
        st.feed_record(&rec, 0, 5, 0, &mut |b| out.push(b));
        st.flush(&mut |b| out.push(b));
        let batch = &out[0].records;
        let class = batch
            .column_by_name("class")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .map(|a| a.value(0).to_string())
            .or_else(|| {
                let c = batch.column_by_name("class").unwrap();
                let s = arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).ok()?;
                Some(
                    s.as_any()
                        .downcast_ref::<arrow::array::StringArray>()?
                        .value(0)
                        .to_string(),
                )
            });
        assert_eq!(class.as_deref(), Some("boot"));
    }
}
