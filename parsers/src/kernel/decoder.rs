//! The kernel decoder: frames and parses any kernel format, classifies with a catalogue,
//! frames multi-line reports, and appends rows to `kernel_events`.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::RecordBatch;

use super::catalogue::Catalogue;
use super::columns::{Columns, Row};
use super::reports::{Reports, add_facts};
use super::{Clock, FACILITIES, LEVELS, dmesg_json, journald, kmsg};
use crate::decoder::{Decoder, RecordMeta, SourceContext};
use crate::error::ParseError;
use crate::event::EventKind;

/// Which kernel format a [`KernelDecoder`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelFormat {
    /// dmesg text in any util-linux form, or kern.log written by a syslog daemon.
    Text,
    /// /dev/kmsg records.
    Kmsg,
    /// `dmesg --json`.
    DmesgJson,
    /// `journalctl -k -o json`.
    JournaldJson,
}

/// One record, format-independent, before classification.
#[derive(Default)]
struct Parsed<'a> {
    ts: Option<(i64, Clock)>,
    uptime_us: Option<i64>,
    seq: Option<u64>,
    facility: Option<&'a str>,
    level: Option<&'a str>,
    host: Option<Cow<'a, str>>,
    boot_id: Option<Cow<'a, str>>,
    caller: Option<Cow<'a, str>>,
    subsystem: Option<Cow<'a, str>>,
    device: Option<Cow<'a, str>>,
    message: Cow<'a, [u8]>,
}

/// Decoder for the kernel formats (table `kernel_events`).
pub struct KernelDecoder {
    ctx: SourceContext,
    format: KernelFormat,
    catalogue: Arc<Catalogue>,
    reports: Reports,
    cols: Columns,
}

fn names_of_pri(p: u8) -> (Option<&'static str>, Option<&'static str>) {
    (
        FACILITIES.get(usize::from(p >> 3)).copied(),
        Some(LEVELS[usize::from(p & 7)]),
    )
}

impl KernelDecoder {
    /// A text-format decoder (dmesg / kern.log) with the built-in catalogue.
    pub fn new(ctx: SourceContext) -> Self {
        Self::with_format(KernelFormat::Text, ctx, Catalogue::builtin())
    }

    /// A text-format decoder classifying with `catalogue`.
    pub fn with_catalogue(ctx: SourceContext, catalogue: Arc<Catalogue>) -> Self {
        Self::with_format(KernelFormat::Text, ctx, catalogue)
    }

    /// A decoder for `format` classifying with `catalogue`.
    pub fn with_format(
        format: KernelFormat,
        ctx: SourceContext,
        catalogue: Arc<Catalogue>,
    ) -> Self {
        KernelDecoder {
            cols: Columns::new(&ctx.source),
            ctx,
            format,
            catalogue,
            reports: Reports::default(),
        }
    }

    /// Time of a record from its kernel timestamp, when the boot time is known. An uptime
    /// so large that the sum overflows is not a time (found by fuzzing): no clock.
    fn boot_clock(&self, uptime: Option<i64>) -> Option<(i64, Clock)> {
        Some((self.ctx.boot_time_us?.checked_add(uptime?)?, Clock::Boot))
    }

    fn parse<'a>(&self, record: &'a [u8]) -> Result<Option<Parsed<'a>>, ParseError> {
        match self.format {
            KernelFormat::Text => {
                let rec = super::parse_record(record, self.ctx.default_year)?;
                let ts = match (rec.wall_us, rec.uptime_us, self.ctx.boot_time_us) {
                    (Some(w), _, _) if !rec.wall_is_syslog => Some((w, Clock::Realtime)),
                    (_, Some(up), Some(_)) if self.boot_clock(Some(up)).is_some() => {
                        self.boot_clock(Some(up))
                    }
                    (Some(w), _, _) => Some((w, Clock::Syslog)),
                    _ => None,
                };
                let (facility, level) = match (rec.facility_name, rec.level_name, rec.pri) {
                    (Some(f), Some(l), _) => (Some(f), Some(l)),
                    (_, _, Some(p)) => names_of_pri(p),
                    _ => (None, None),
                };
                let (subsystem, device) = subsystem_and_device(rec.text);
                let message = if rec.continuation.is_empty() {
                    Cow::Borrowed(rec.text)
                } else {
                    let mut m = rec.text.to_vec();
                    for c in &rec.continuation {
                        m.push(b'\n');
                        m.extend_from_slice(c);
                    }
                    Cow::Owned(m)
                };
                Ok(Some(Parsed {
                    ts,
                    uptime_us: rec.uptime_us,
                    facility,
                    level,
                    host: rec.host.map(Cow::Borrowed),
                    caller: rec.caller.map(Cow::Borrowed),
                    subsystem: subsystem.map(Cow::Borrowed),
                    device: device.map(Cow::Borrowed),
                    message,
                    ..Default::default()
                }))
            }
            KernelFormat::Kmsg => {
                let k = kmsg::parse(record)?;
                let (facility, level) = names_of_pri(k.pri);
                Ok(Some(Parsed {
                    ts: self.boot_clock(Some(k.usec)),
                    uptime_us: Some(k.usec),
                    seq: Some(k.seq),
                    facility,
                    level,
                    caller: k.caller.map(Cow::Borrowed),
                    subsystem: k.subsystem,
                    device: k.device,
                    message: k.text,
                    ..Default::default()
                }))
            }
            KernelFormat::DmesgJson => {
                if dmesg_json::is_structural(record) {
                    return Ok(None);
                }
                let d = dmesg_json::parse_element(record)?;
                let (facility, level) = d.pri.map_or((None, None), names_of_pri);
                Ok(Some(Parsed {
                    ts: self.boot_clock(d.uptime_us),
                    uptime_us: d.uptime_us,
                    facility,
                    level,
                    caller: d.caller,
                    message: d.msg,
                    ..Default::default()
                }))
            }
            KernelFormat::JournaldJson => {
                let j = journald::parse(record)?;
                // The configured boot time applies only to the configured boot.
                let same_boot = match (&j.boot_id, &self.ctx.boot_id) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b.trim()),
                    _ => true,
                };
                let ts = same_boot
                    .then(|| self.boot_clock(j.source_monotonic_us))
                    .flatten()
                    .or(j.realtime_us.map(|r| (r, Clock::Journal)));
                Ok(Some(Parsed {
                    ts,
                    uptime_us: j.source_monotonic_us,
                    facility: j
                        .facility
                        .and_then(|f| FACILITIES.get(usize::from(f)).copied()),
                    level: j.priority.map(|p| LEVELS[usize::from(p)]),
                    host: j.hostname.map(Cow::Owned),
                    boot_id: j.boot_id.map(Cow::Owned),
                    subsystem: j.subsystem.map(Cow::Owned),
                    device: j.device.map(Cow::Owned),
                    message: Cow::Owned(j.message),
                    ..Default::default()
                }))
            }
        }
    }

    fn append(&mut self, p: &Parsed<'_>, meta: &RecordMeta) {
        let text: &[u8] = &p.message;
        // Checked once: for the `message` column and the facts sliced from it.
        let utf8 = std::str::from_utf8(text).ok();
        let mut cls = self.catalogue.classify_utf8(text, utf8);
        // "Linux version" marks a boot only at uptime 0 (or when no uptime is printed).
        if cls.as_ref().is_some_and(|c| &*c.class == "boot") && p.uptime_us.is_some_and(|u| u != 0)
        {
            cls = None;
        }
        let caller = p.caller.as_deref();
        let retro = self
            .reports
            .before(caller, p.uptime_us, text, &mut cls, &self.catalogue);
        if let Some((row, facts)) = retro {
            add_facts(&mut self.cols.facts, row, facts);
        }
        // The facts move to the staged row; the class stays for `reports.after`.
        let facts = cls.as_mut().map(|c| std::mem::take(&mut c.facts));
        let fact_device = facts
            .iter()
            .flatten()
            .find(|(k, _)| &**k == "device")
            .map(|(_, v)| v.as_str());
        let (ts, clock) = p.ts.unwrap_or((meta.ingest_ts_us, Clock::Ingest));
        let row = Row {
            ts_us: ts,
            clock: Some(clock),
            ingest_ts_us: meta.ingest_ts_us,
            offset: meta.offset,
            uptime_us: p.uptime_us,
            host: p.host.as_deref().unwrap_or(&self.ctx.host),
            boot_id: p.boot_id.as_deref().or(self.ctx.boot_id.as_deref()),
            seq: p.seq,
            facility: p.facility,
            level: p.level,
            caller,
            subsystem: p.subsystem.as_deref(),
            device: p.device.as_deref().or(fact_device),
            class: cls.as_ref().map(|c| &*c.class),
            severity: cls.as_ref().map(|c| c.severity),
            message: text,
            message_utf8: utf8,
        };
        let idx = self.cols.push(&row);
        self.cols.push_facts(facts);
        self.reports.after(caller, cls.as_ref(), idx);
    }
}

/// `EXT4-fs (sda1): msg` → ("EXT4-fs", "sda1"); `usb 1-1: msg` → ("usb", "1-1");
/// `ACPI: msg` → ("ACPI", none). Prose before a colon (`Command line: ...`) gives nothing.
pub(crate) fn subsystem_and_device(text: &[u8]) -> (Option<&str>, Option<&str>) {
    let head = &text[..text.len().min(64)];
    // The first ": " (a plain loop: the head is short, memchr's setup costs more).
    let colon = head.windows(2).position(|w| w == b": ");
    let Some(colon) = colon else {
        return (None, None);
    };
    let Ok(prefix) = std::str::from_utf8(&head[..colon]) else {
        return (None, None);
    };
    let (sub, rest) = prefix.split_once(' ').unwrap_or((prefix, ""));
    let valid_sub = !sub.is_empty()
        && sub
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if !valid_sub {
        return (None, None);
    }
    let rest = rest.trim();
    if rest.is_empty() {
        return (Some(sub), None);
    }
    let dev = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest);
    let looks_like_device =
        rest.starts_with('(') || rest.bytes().any(|b| b.is_ascii_digit() || b == b':');
    if looks_like_device {
        (Some(sub), Some(dev))
    } else {
        (None, None)
    }
}

impl Decoder for KernelDecoder {
    fn kind(&self) -> EventKind {
        EventKind::Kernel
    }

    fn frame(&self, buf: &[u8], eof: bool) -> Option<usize> {
        match self.format {
            KernelFormat::Text => super::frame(buf, eof),
            KernelFormat::Kmsg => kmsg::frame(buf, eof),
            KernelFormat::DmesgJson => dmesg_json::frame(buf, eof),
            KernelFormat::JournaldJson => crate::text::line_len(buf, eof),
        }
    }

    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        if record.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if let Some(p) = self.parse(record)? {
            self.append(&p, meta);
        }
        Ok(())
    }

    fn pending_rows(&self) -> usize {
        self.cols.len()
    }

    fn finish(&mut self) -> Option<RecordBatch> {
        self.reports.batch_finished();
        self.cols.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::subsystem_and_device;

    #[test]
    fn subsystems() {
        assert_eq!(
            subsystem_and_device(b"EXT4-fs (sda1): mounted"),
            (Some("EXT4-fs"), Some("sda1"))
        );
        assert_eq!(
            subsystem_and_device(b"usb 1-1: new device"),
            (Some("usb"), Some("1-1"))
        );
        assert_eq!(
            subsystem_and_device(b"ACPI: Core revision"),
            (Some("ACPI"), None)
        );
        assert_eq!(
            subsystem_and_device(b"Command line: console=ttyS0"),
            (None, None)
        );
        assert_eq!(subsystem_and_device(b"Linux version 6.1"), (None, None));
    }
}
