//! Appends parsed kernel records to `kernel_events` Arrow columns.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, Float64Builder, StringBuilder, TimestampMicrosecondBuilder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use memchr::memmem;

use super::{Clock, FACILITIES, KernelRecord, LEVELS, classify, frame, parse_record};
use crate::decoder::{Decoder, RecordMeta, SourceContext};
use crate::error::ParseError;
use crate::event::EventKind;
use crate::schema;

/// Decoder for the `kernel` text format (dmesg and kern.log).
pub struct KernelDecoder {
    ctx: SourceContext,
    message_buf: Vec<u8>,
    ts: TimestampMicrosecondBuilder,
    host: StringBuilder,
    source: StringBuilder,
    ingest_ts: TimestampMicrosecondBuilder,
    offset: UInt64Builder,
    clock: StringBuilder,
    uptime: Float64Builder,
    boot_id: StringBuilder,
    seq: UInt64Builder,
    facility: StringBuilder,
    level: StringBuilder,
    caller: StringBuilder,
    subsystem: StringBuilder,
    device: StringBuilder,
    class: StringBuilder,
    severity: StringBuilder,
    message: StringBuilder,
    message_raw: BinaryBuilder,
}

fn ts_builder() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

impl KernelDecoder {
    /// A decoder for one source.
    pub fn new(ctx: SourceContext) -> Self {
        KernelDecoder {
            ctx,
            message_buf: Vec::new(),
            ts: ts_builder(),
            host: StringBuilder::new(),
            source: StringBuilder::new(),
            ingest_ts: ts_builder(),
            offset: UInt64Builder::new(),
            clock: StringBuilder::new(),
            uptime: Float64Builder::new(),
            boot_id: StringBuilder::new(),
            seq: UInt64Builder::new(),
            facility: StringBuilder::new(),
            level: StringBuilder::new(),
            caller: StringBuilder::new(),
            subsystem: StringBuilder::new(),
            device: StringBuilder::new(),
            class: StringBuilder::new(),
            severity: StringBuilder::new(),
            message: StringBuilder::new(),
            message_raw: BinaryBuilder::new(),
        }
    }

    fn append(&mut self, rec: &KernelRecord<'_>, meta: &RecordMeta) {
        let (ts, clock) = match (rec.wall_us, rec.uptime_us, self.ctx.boot_time_us) {
            (Some(w), _, _) if !rec.wall_is_syslog => (w, Clock::Realtime),
            (_, Some(up), Some(boot)) => (boot + up, Clock::Boot),
            (Some(w), _, _) => (w, Clock::Syslog),
            _ => (meta.ingest_ts_us, Clock::Ingest),
        };
        self.ts.append_value(ts);
        self.host.append_value(rec.host.unwrap_or(&self.ctx.host));
        self.source.append_value(&self.ctx.source);
        self.ingest_ts.append_value(meta.ingest_ts_us);
        self.offset.append_value(meta.offset);
        self.clock.append_value(clock.as_str());
        self.uptime
            .append_option(rec.uptime_us.map(|u| u as f64 / 1e6));
        self.boot_id.append_option(self.ctx.boot_id.as_deref());
        self.seq.append_null();
        let (fac, lvl) = match (rec.facility_name, rec.level_name, rec.pri) {
            (Some(f), Some(l), _) => (Some(f), Some(l)),
            (_, _, Some(p)) => (
                FACILITIES.get(usize::from(p >> 3)).copied(),
                Some(LEVELS[usize::from(p & 7)]),
            ),
            _ => (None, None),
        };
        self.facility.append_option(fac);
        self.level.append_option(lvl);
        self.caller.append_option(rec.caller);
        let (subsystem, device) = subsystem_and_device(rec.text);
        self.subsystem.append_option(subsystem);
        self.device.append_option(device);
        let class =
            classify(rec.text).filter(|c| c.name != "boot" || rec.uptime_us.is_none_or(|u| u == 0));
        self.class.append_option(class.map(|c| c.name));
        self.severity.append_option(class.map(|c| c.severity));

        let text: &[u8] = if rec.continuation.is_empty() {
            rec.text
        } else {
            self.message_buf.clear();
            self.message_buf.extend_from_slice(rec.text);
            for c in &rec.continuation {
                self.message_buf.push(b'\n');
                self.message_buf.extend_from_slice(c);
            }
            &self.message_buf
        };
        match std::str::from_utf8(text) {
            Ok(s) => {
                self.message.append_value(s);
                self.message_raw.append_null();
            }
            Err(_) => {
                self.message.append_value(String::from_utf8_lossy(text));
                self.message_raw.append_value(text);
            }
        }
    }
}

/// `EXT4-fs (sda1): msg` → ("EXT4-fs", "sda1"); `usb 1-1: msg` → ("usb", "1-1");
/// `ACPI: msg` → ("ACPI", none). Prose before a colon (`Command line: ...`) gives nothing.
fn subsystem_and_device(text: &[u8]) -> (Option<&str>, Option<&str>) {
    let head = &text[..text.len().min(64)];
    let Some(colon) = memmem::find(head, b": ") else {
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
        frame(buf, eof)
    }

    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        if record.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let rec = parse_record(record, self.ctx.default_year)?;
        self.append(&rec, meta);
        Ok(())
    }

    fn pending_rows(&self) -> usize {
        self.offset.len()
    }

    fn finish(&mut self) -> Option<RecordBatch> {
        if self.pending_rows() == 0 {
            return None;
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.ts.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.ingest_ts.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.clock.finish()),
            Arc::new(self.uptime.finish()),
            Arc::new(self.boot_id.finish()),
            Arc::new(self.seq.finish()),
            Arc::new(self.facility.finish()),
            Arc::new(self.level.finish()),
            Arc::new(self.caller.finish()),
            Arc::new(self.subsystem.finish()),
            Arc::new(self.device.finish()),
            Arc::new(self.class.finish()),
            Arc::new(self.severity.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.message_raw.finish()),
        ];
        Some(
            RecordBatch::try_new(schema::kernel_events(), cols)
                .expect("kernel_events columns match schema"),
        )
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
