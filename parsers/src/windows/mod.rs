//! Windows events (table `windows_events`): four forms of the same event, normalised to one
//! set of columns.
//!
//! | format name | input | module |
//! |---|---|---|
//! | `evtx` | `.evtx` files (the `evtx` crate parses each 64 KiB chunk) | `evtx.rs` |
//! | `windows-xml` | rendered event XML: WEF, `wevtutil qe /f:xml`, `Get-WinEvent` `ToXml()` | `xml.rs` |
//! | `winlogbeat-json` | Winlogbeat / Elastic Agent ECS JSON (lines, pretty objects, arrays) | `winlogbeat.rs` |
//! | `nxlog-json` | NXLog `im_msvistalog` + `to_json()` lines (optionally after a syslog header) | `nxlog.rs` |
//!
//! Every form parses into a borrowed [`fields::Event`]; `columns.rs` appends it. The event
//! XML (W2 of shared/formats/windows-and-kernel.md) is the reference shape:
//!
//! ```text
//! Event       = "<Event" ns ">" System [EventData | UserData | other] [RenderingInfo] "</Event>"
//! System      = Provider(@Name, @Guid) EventID(@Qualifiers) Version Level Task Opcode
//!               Keywords(hex) TimeCreated(@SystemTime) EventRecordID
//!               Correlation(@ActivityID, @RelatedActivityID) Execution(@ProcessID, @ThreadID)
//!               Channel Computer Security(@UserID)
//! EventData   = *( "<Data" [Name=…] ">" text "</Data>" / "<Binary>" hex "</Binary>" )
//! UserData    = "<" name ns ">" *( "<" key ">" text-or-children "</" key ">" ) "</" name ">"
//! ```
//!
//! Normalisation (the same event in two forms gives the same row, but for `format`,
//! `source_offset`, `message` and what a form does not carry): `ts` is `TimeCreated` (UTC,
//! µs; FILETIME 0 is no time); GUIDs are lower case in braces; EventData/UserData become a
//! map in which named values keep their name, positional `<Data>` are `param1`, `param2`,
//! … (position among the section's elements, as Winlogbeat numbers them), nested UserData
//! keys are dotted, and empty values are dropped (Winlogbeat drops them); `outcome` comes
//! from the keyword bits (or keyword names, or NXLog's `EventType`). The rendered message
//! is kept in `message` for reading only; nothing is derived from it.
//!
//! The follower of growing .evtx files (pipeline side) uses:
//! - [`evtx::read_file_header`] on the first 4 KiB: next record id, oldest and current
//!   chunk numbers, chunk count as stored, dirty/full flags;
//! - [`evtx::read_chunk_header`] on a chunk: its first/last record ids and fill level;
//! - [`EvtxDecoder::skip_through_record_id`] (or the source option
//!   `skip_through_record_id`): re-reading the chunk still being written emits only records
//!   with higher ids, and no dead letter for a failure already reported;
//!   [`EvtxDecoder::last_record_id`] gives the highest id read, and every row carries its
//!   `record_id`.

mod columns;
pub mod evtx;
pub(crate) mod fields;
mod framing;
mod json;
pub mod nxlog;
pub mod schema;
mod template;
mod winlogbeat;
mod xml;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use arrow_array::RecordBatch;

pub use evtx::EvtxDecoder;
#[doc(hidden)]
pub use xml::readers_agree;

use crate::decoder::{Decoder, RecordMeta, SourceContext};
use crate::error::{ErrorKind, ParseError};
use crate::event::EventKind;
use columns::Columns;
use fields::Event;

/// Which text form a [`WindowsTextDecoder`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextForm {
    /// Rendered event XML (`windows-xml`).
    Xml,
    /// Winlogbeat / Elastic Agent JSON (`winlogbeat-json`).
    Winlogbeat,
    /// NXLog JSON (`nxlog-json`).
    Nxlog,
}

impl TextForm {
    fn format(self) -> &'static str {
        match self {
            TextForm::Xml => "windows-xml",
            TextForm::Winlogbeat => "winlogbeat-json",
            TextForm::Nxlog => "nxlog-json",
        }
    }
}

/// Decoder for the forwarded text forms (table `windows_events`).
pub struct WindowsTextDecoder {
    form: TextForm,
    cols: Columns,
    utc_offset_s: i64,
}

impl WindowsTextDecoder {
    /// A decoder of `form` for the source `ctx` (NXLog: its `utc_offset` option is the zone
    /// of zone-less event times).
    pub fn new(form: TextForm, ctx: &SourceContext) -> Self {
        let utc_offset_s = ctx
            .options
            .get("utc_offset")
            .and_then(|o| nxlog::parse_utc_offset(o))
            .unwrap_or(0);
        WindowsTextDecoder {
            form,
            cols: Columns::new(&ctx.host, &ctx.source, form.format()),
            utc_offset_s,
        }
    }

    fn push(&mut self, ev: &Event<'_>, meta: &RecordMeta) {
        let id = ev.event_id.expect("checked by the caller");
        self.cols.push(ev, id, meta.offset, meta.ingest_ts_us);
    }
}

fn no_event_id(_len: usize) -> ParseError {
    ParseError::new(ErrorKind::Malformed, 0, "the event has no EventID")
}

/// Byte offset in `text` of a serde_json error (it reports line and column).
pub(crate) fn json_error_offset(text: &str, e: &serde_json::Error) -> usize {
    let mut off = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i + 1 == e.line() {
            return (off + e.column().saturating_sub(1)).min(text.len());
        }
        off += line.len();
    }
    text.len()
}

impl Decoder for WindowsTextDecoder {
    fn kind(&self) -> EventKind {
        EventKind::Windows
    }

    fn frame(&self, buf: &[u8], eof: bool) -> Option<usize> {
        match self.form {
            TextForm::Xml => xml::frame(buf, eof),
            TextForm::Winlogbeat => json::frame(buf, eof),
            TextForm::Nxlog => crate::text::line_len(buf, eof),
        }
    }

    fn decode(&mut self, record: &[u8], meta: &RecordMeta) -> Result<(), ParseError> {
        if record.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let clamp = |mut e: ParseError| {
            e.offset = e.offset.min(record.len());
            e
        };
        let text = json::text_of(record);
        match self.form {
            TextForm::Xml => {
                if xml::is_structural(record) {
                    return Ok(());
                }
                if !record.trim_ascii_start().starts_with(b"<Event") {
                    let at = record.len() - record.trim_ascii_start().len();
                    return Err(ParseError::new(
                        ErrorKind::Malformed,
                        at,
                        "not an <Event> element",
                    ));
                }
                let ev = xml::parse_event(&text).map_err(clamp)?;
                if ev.event_id.is_none() {
                    return Err(no_event_id(record.len()));
                }
                self.push(&ev, meta);
            }
            TextForm::Winlogbeat => {
                if json::is_structural(record) {
                    return Ok(());
                }
                let evs = winlogbeat::parse(&text).map_err(clamp)?;
                if evs.iter().any(|e| e.event_id.is_none()) {
                    return Err(no_event_id(record.len()));
                }
                for ev in &evs {
                    self.push(ev, meta);
                }
            }
            TextForm::Nxlog => {
                let ev = nxlog::parse(&text, self.utc_offset_s).map_err(clamp)?;
                if ev.event_id.is_none() {
                    return Err(no_event_id(record.len()));
                }
                self.push(&ev, meta);
            }
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

/// The decoder of a Windows event format, or `None` if `format` is not one.
pub fn decoder_for(format: &str, ctx: &SourceContext) -> Option<Box<dyn Decoder>> {
    let form = match format {
        "evtx" => return Some(Box::new(EvtxDecoder::new(ctx.clone()))),
        "windows-xml" => TextForm::Xml,
        "winlogbeat-json" => TextForm::Winlogbeat,
        "nxlog-json" => TextForm::Nxlog,
        _ => return None,
    };
    Some(Box::new(WindowsTextDecoder::new(form, ctx)))
}

/// Problems with the `options` of a Windows format as `(key, reason)`, or `None` when
/// `format` is not one. `evtx` takes `skip_through_record_id` (a record id), `nxlog-json`
/// takes `utc_offset` (`+03:00`, `-0500`, `UTC`).
pub fn check_options(
    format: &str,
    options: &BTreeMap<String, String>,
) -> Option<Vec<(String, String)>> {
    let allowed: &[&str] = match format {
        "evtx" => &["skip_through_record_id"],
        "nxlog-json" => &["utc_offset"],
        "windows-xml" | "winlogbeat-json" => &[],
        _ => return None,
    };
    let mut errs = Vec::new();
    for (k, v) in options {
        if !allowed.contains(&k.as_str()) {
            errs.push((
                k.clone(),
                format!("format `{format}` does not take this option"),
            ));
        } else if k == "skip_through_record_id" && v.trim().parse::<u64>().is_err() {
            errs.push((
                k.clone(),
                "must be a record id (an unsigned integer)".into(),
            ));
        } else if k == "utc_offset" && nxlog::parse_utc_offset(v).is_none() {
            errs.push((
                k.clone(),
                "must be an offset such as +03:00, -0500 or UTC".into(),
            ));
        }
    }
    Some(errs)
}
