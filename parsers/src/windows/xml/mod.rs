//! Rendered event XML (`windows-xml`): Windows Event Forwarding, `wevtutil qe /f:xml`,
//! `Get-WinEvent | % ToXml()`, and the `evtx` crate's rendering of .evtx records (the evtx
//! decoder parses its records through [`parse_event`] too, so both forms share one reader).
//!
//! Framing: one `<Event …>…</Event>` element per record, wherever it starts: several per line
//! (wevtutil writes them back to back), one over many lines, inside an `<Events>` wrapper or
//! not. The wrapper tags, `<?xml …?>` declarations and comments are structural records (no
//! row). An `<Event` that starts before the current one is closed ends the current one, so a
//! truncated event loses only itself. Other bytes are framed up to the next line end or
//! `<Event`, and are dead letters.
//!
//! Parsing (quick-xml, borrowing from the record): `<System>` fields and attributes;
//! `<EventData>` children (`<Data Name=…>`, unnamed `<Data>`, `<Binary>`); the `<UserData>`
//! child element's name and its (possibly nested) children; any other section
//! (`<ProcessingErrorData>`, `<DebugData>`) like UserData; `<RenderingInfo><Message>` as
//! `message`. Values keep their characters exactly (CR LF inside a value stays CR LF);
//! predefined entities and character references are resolved.
//!
//! Two readers fill the same [`walk::Walk`]: `fast.rs`, a lexer for XML as renderers write
//! it, and `general.rs`, quick-xml for everything else (and for the wording of errors).
//! The fast one gives up rather than guess, so both give the same event.

mod fast;
mod general;
mod walk;

use crate::windows::framing::{self, with_line_end};
use memchr::{memchr, memmem};

pub(crate) use walk::{Attrs, Scratch, Walk, recycle};

use crate::error::ParseError;
use crate::windows::fields::Event;

/// Parses one `<Event>` element (an XML declaration and whitespace around it are allowed).
pub(crate) fn parse_event(xml: &str) -> Result<Event<'_>, ParseError> {
    parse_event_with(xml, &mut Scratch::default())
}

/// [`parse_event`] with vectors kept from earlier records (give the event's data vector
/// back with [`recycle`] once the event is used).
pub(crate) fn parse_event_with<'a>(
    xml: &'a str,
    scratch: &mut Scratch,
) -> Result<Event<'a>, ParseError> {
    match fast::parse(xml, scratch) {
        Some(ev) => Ok(ev),
        None => general::parse(xml),
    }
}

/// Whether the fast reader, when it reads `xml`, gives what the general one gives
/// (`None`: the fast reader leaves it to the general one). For tests and fuzzing.
#[doc(hidden)]
pub fn readers_agree(xml: &str) -> Option<bool> {
    let fast = fast::parse(xml, &mut Scratch::default())?;
    Some(general::parse(xml).is_ok_and(|g| g == fast))
}

fn starts_tag(b: &[u8], name: &[u8]) -> bool {
    b.len() > name.len()
        && b.starts_with(name)
        && matches!(b[name.len()], b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
}

/// Start of the next `tag` (`<Event`, `</Event`: not `<EventData`) in `b` at or after
/// `from`.
fn next_tag(b: &[u8], from: usize, tag: &[u8]) -> Option<usize> {
    let mut i = from;
    while let Some(p) = memmem::find(&b[i.min(b.len())..], tag) {
        let at = i + p;
        if starts_tag(&b[at..], tag) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

fn next_event_start(b: &[u8], from: usize) -> Option<usize> {
    next_tag(b, from, b"<Event")
}

/// Frames the next record of rendered event XML (see the module docs).
pub(crate) fn frame(b: &[u8], eof: bool) -> Option<usize> {
    let i = match framing::first_record_byte(b, eof) {
        Ok(i) => i,
        Err(framed) => return framed,
    };
    let rest = &b[i..];
    // A partial tag name at the end of the buffer: wait to see what it is.
    if rest.len() < 9 && !eof && rest[0] == b'<' {
        return None;
    }
    let upto = |pat: &[u8]| -> Option<usize> {
        match memmem::find(rest, pat) {
            Some(p) => with_line_end(b, i + p + pat.len(), eof),
            None if eof => Some(b.len()),
            None => None,
        }
    };
    if starts_tag(rest, b"<Event") {
        let close = next_tag(rest, 0, b"</Event");
        let next = next_event_start(rest, 1);
        let close = close.filter(|c| next.is_none_or(|n| *c < n));
        return match (close, next) {
            (Some(c), _) => match memchr(b'>', &rest[c..]) {
                Some(g) => with_line_end(b, i + c + g + 1, eof),
                None if eof => Some(b.len()),
                None => None,
            },
            (None, Some(n)) => Some(i + n),
            (None, None) if eof => Some(b.len()),
            (None, None) => None,
        };
    }
    if rest.starts_with(b"<?") {
        return upto(b"?>");
    }
    if rest.starts_with(b"<!--") {
        return upto(b"-->");
    }
    if starts_tag(rest, b"<Events") || starts_tag(rest, b"</Events") {
        return upto(b">");
    }
    // Anything else runs to the line end or the next event, whichever is first.
    let nl = memchr(b'\n', rest).map(|n| i + n + 1);
    let ev = next_event_start(rest, 1).map(|n| i + n);
    match (nl, ev) {
        (Some(a), Some(e)) => Some(a.min(e)),
        (Some(a), None) => Some(a),
        (None, Some(e)) => Some(e),
        (None, None) if eof => Some(b.len()),
        (None, None) => None,
    }
}

/// True for the structural records [`frame`] produces (declaration, wrapper, comment).
pub(crate) fn is_structural(record: &[u8]) -> bool {
    let t = record.trim_ascii_start();
    t.starts_with(b"<?")
        || t.starts_with(b"<!--")
        || starts_tag(t, b"<Events")
        || starts_tag(t, b"</Events")
}
