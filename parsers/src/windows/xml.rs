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

use std::borrow::Cow;

use memchr::{memchr, memmem};
use quick_xml::events::{BytesRef, BytesStart, Event as XmlEvent};
use quick_xml::reader::Reader;

use super::fields::{Clock, Event, Outcome, parse_system_time, parse_u32, parse_uint};
use crate::error::{ErrorKind, ParseError};

/// Section of the event an element is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    System,
    EventData,
    UserData,
    Other,
    Rendering,
}

/// What the text of the element being read goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    EventId,
    Version,
    Level,
    Task,
    Opcode,
    Keywords,
    RecordId,
    Channel,
    Computer,
    Data,
    Message,
}

/// Text of one element, borrowed while it is one piece.
#[derive(Default)]
struct Acc<'a> {
    one: Option<Cow<'a, str>>,
    many: Option<String>,
}

impl<'a> Acc<'a> {
    fn push(&mut self, s: Cow<'a, str>) {
        if s.is_empty() {
            return;
        }
        if let Some(m) = &mut self.many {
            m.push_str(&s);
        } else if let Some(first) = self.one.take() {
            let mut m = String::with_capacity(first.len() + s.len());
            m.push_str(&first);
            m.push_str(&s);
            self.many = Some(m);
        } else {
            self.one = Some(s);
        }
    }

    fn take(&mut self) -> Cow<'a, str> {
        match (self.many.take(), self.one.take()) {
            (Some(m), _) => Cow::Owned(m),
            (None, Some(o)) => o,
            (None, None) => Cow::Borrowed(""),
        }
    }
}

/// `part` (a slice of `src` handed back by quick-xml with a shorter lifetime) as a slice of
/// `src`, so that names and values outlive the XML event; a copy if it is not in `src`.
fn reborrow<'a>(src: &'a str, part: &str) -> Cow<'a, str> {
    let start = (part.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
    match src.get(start..start.wrapping_add(part.len())) {
        Some(s) if std::ptr::eq(s.as_ptr(), part.as_ptr()) => Cow::Borrowed(s),
        _ => Cow::Owned(part.to_owned()),
    }
}

fn local<'a>(src: &'a str, e: &BytesStart<'_>) -> Cow<'a, str> {
    reborrow(src, e.local_name().into_inner())
}

fn bad(offset: u64, len: usize, reason: impl Into<String>) -> ParseError {
    ParseError::new(
        ErrorKind::Malformed,
        usize::try_from(offset).unwrap_or(len).min(len),
        reason,
    )
}

/// Calls `f` with each attribute of `e` as `(local name, unescaped value)`.
fn each_attr<'a>(
    src: &'a str,
    e: &BytesStart<'_>,
    at: u64,
    mut f: impl FnMut(Cow<'a, str>, Cow<'a, str>),
) -> Result<(), ParseError> {
    let mut it = e.attributes();
    it.with_checks(false);
    for a in it {
        let a = a.map_err(|err| bad(at, src.len(), format!("bad attribute: {err}")))?;
        let key = reborrow(src, a.key.local_name().into_inner());
        let raw = reborrow(src, &a.value);
        let value = match quick_xml::escape::unescape(&raw) {
            Ok(Cow::Borrowed(_)) => raw,
            Ok(Cow::Owned(s)) => Cow::Owned(s),
            Err(err) => return Err(bad(at, src.len(), format!("bad attribute value: {err}"))),
        };
        f(key, value);
    }
    Ok(())
}

/// The `Name` attribute of `e`, if any.
fn name_attr<'a>(
    src: &'a str,
    e: &BytesStart<'_>,
    at: u64,
) -> Result<Option<Cow<'a, str>>, ParseError> {
    let mut name = None;
    each_attr(src, e, at, |k, v| {
        if k == "Name" {
            name = Some(v);
        }
    })?;
    Ok(name)
}

fn entity(r: &BytesRef<'_>) -> Cow<'static, str> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Cow::Owned(c.to_string());
    }
    let name = r.clone().into_inner();
    match quick_xml::escape::resolve_predefined_entity(&name) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(format!("&{name};")),
    }
}

/// The System field an attribute of element `name` carries.
fn system_attr<'a>(ev: &mut Event<'a>, name: &str, k: &str, v: Cow<'a, str>) {
    if v.is_empty() {
        return;
    }
    match (name, k) {
        ("Provider", "Name") => ev.provider = Some(v),
        ("Provider", "Guid") => ev.provider_guid = Some(v),
        ("EventID", "Qualifiers") => ev.qualifiers = parse_u32(&v),
        ("TimeCreated", "SystemTime") => {
            ev.time_created = parse_system_time(&v).map(|t| (t, Clock::TimeCreated));
        }
        ("Correlation", "ActivityID") => ev.activity_id = Some(v),
        ("Correlation", "RelatedActivityID") => ev.related_activity_id = Some(v),
        ("Execution", "ProcessID") => ev.process_id = parse_u32(&v),
        ("Execution", "ThreadID") => ev.thread_id = parse_u32(&v),
        ("Security", "UserID") => ev.user_sid = Some(v),
        _ => {}
    }
}

fn system_target(name: &str) -> Option<Target> {
    Some(match name {
        "EventID" => Target::EventId,
        "Version" => Target::Version,
        "Level" => Target::Level,
        "Task" => Target::Task,
        "Opcode" => Target::Opcode,
        "Keywords" => Target::Keywords,
        "EventRecordID" => Target::RecordId,
        "Channel" => Target::Channel,
        "Computer" => Target::Computer,
        _ => return None,
    })
}

/// Names of sibling elements seen so far: a repeated name gets `_1`, `_2`, … as the crate's
/// JSON output names them (`Certificate`, `Certificate_1`), so keys stay unique.
#[derive(Default)]
struct Siblings<'a> {
    /// One bit per (length, last byte) class of the names seen: most names are new, and the
    /// bit says so without a scan.
    bloom: u64,
    names: Vec<(Cow<'a, str>, u32)>,
}

impl<'a> Siblings<'a> {
    fn clear(&mut self) {
        self.bloom = 0;
        self.names.clear();
    }

    fn unique(&mut self, n: Cow<'a, str>) -> Cow<'a, str> {
        let class =
            (n.len() as u64 * 31 + u64::from(n.as_bytes().last().copied().unwrap_or(0))) & 63;
        let bit = 1u64 << class;
        if self.bloom & bit != 0
            && let Some(e) = self.names.iter_mut().find(|(k, _)| *k == n)
        {
            e.1 += 1;
            return Cow::Owned(format!("{n}_{}", e.1));
        }
        self.bloom |= bit;
        self.names.push((n.clone(), 0));
        n
    }
}

/// An open element below the UserData child (or another data section).
struct Level<'a> {
    name: Cow<'a, str>,
    had_child: bool,
    children: Siblings<'a>,
}

/// Parser state over one `<Event>` element.
struct Walk<'a> {
    src: &'a str,
    ev: Event<'a>,
    section: Section,
    /// Depth of the element whose text is being read, and where it goes.
    capture: Option<(usize, Target)>,
    text: Acc<'a>,
    /// Position of the current EventData/UserData entry among its siblings.
    position: usize,
    /// Key of the current EventData entry.
    key: Cow<'a, str>,
    /// Names of the entries of the current data section.
    top: Siblings<'a>,
    /// Open elements from the current UserData entry down.
    path: Vec<Level<'a>>,
}

impl<'a> Walk<'a> {
    /// Depth of the entries of the current data section.
    fn entry_depth(&self) -> usize {
        if self.section == Section::UserData {
            3
        } else {
            2
        }
    }

    fn open(&mut self, e: &BytesStart<'_>, depth: usize, at: u64) -> Result<(), ParseError> {
        let name = local(self.src, e);
        match depth {
            0 => {
                if name != "Event" {
                    return Err(bad(
                        at,
                        self.src.len(),
                        format!("expected <Event>, found <{name}>"),
                    ));
                }
            }
            1 => {
                self.section = match name.as_ref() {
                    "System" => Section::System,
                    "EventData" => Section::EventData,
                    "UserData" => Section::UserData,
                    "RenderingInfo" => Section::Rendering,
                    _ => {
                        self.ev.user_data_name.get_or_insert(name);
                        Section::Other
                    }
                };
                self.position = 0;
                self.top.clear();
            }
            _ => match self.section {
                Section::System if depth == 2 => {
                    let ev = &mut self.ev;
                    each_attr(self.src, e, at, |k, v| system_attr(ev, &name, &k, v))?;
                    if let Some(t) = system_target(&name) {
                        self.start_capture(depth, t);
                    }
                }
                Section::EventData if depth == 2 => {
                    self.position += 1;
                    self.key = match name_attr(self.src, e, at)? {
                        Some(n) => self.top.unique(n),
                        None if name == "Data" => name,
                        None => self.top.unique(name),
                    };
                    self.start_capture(depth, Target::Data);
                }
                Section::UserData if depth == 2 => {
                    self.ev.user_data_name.get_or_insert(name);
                    self.position = 0;
                    self.top.clear();
                }
                Section::UserData | Section::Other => {
                    let entry_depth = self.entry_depth();
                    if depth < entry_depth {
                        return Ok(());
                    }
                    if depth == entry_depth {
                        self.position += 1;
                        self.path.clear();
                    }
                    let name = if name == "Data" {
                        name_attr(self.src, e, at)?.unwrap_or(name)
                    } else {
                        name
                    };
                    let name = match self.path.last_mut() {
                        Some(parent) => {
                            parent.had_child = true;
                            parent.children.unique(name)
                        }
                        None if name == "Data" => name,
                        None => self.top.unique(name),
                    };
                    self.path.push(Level {
                        name,
                        had_child: false,
                        children: Siblings::default(),
                    });
                    self.start_capture(depth, Target::Data);
                }
                Section::Rendering if depth == 2 && name == "Message" => {
                    self.start_capture(depth, Target::Message);
                }
                _ => {}
            },
        }
        Ok(())
    }

    fn start_capture(&mut self, depth: usize, t: Target) {
        self.text = Acc::default();
        self.capture = Some((depth, t));
    }

    fn close(&mut self, depth: usize) {
        if matches!(self.section, Section::UserData | Section::Other)
            && !self.path.is_empty()
            && depth >= self.entry_depth()
        {
            let level = self.path.pop().expect("non-empty path");
            if !level.had_child {
                let value = self.text.take();
                if self.path.is_empty() {
                    self.ev
                        .data
                        .push_positional(self.position, level.name, value);
                } else {
                    let mut k = String::new();
                    for l in &self.path {
                        k.push_str(&l.name);
                        k.push('.');
                    }
                    k.push_str(&level.name);
                    self.ev.data.push(Cow::Owned(k), value);
                }
            }
            self.text = Acc::default();
            if self.path.is_empty() {
                self.capture = None;
            }
            return;
        }
        let Some((d, t)) = self.capture else {
            if depth == 1 {
                self.section = Section::None;
            }
            return;
        };
        if d != depth {
            return;
        }
        self.capture = None;
        let v = self.text.take();
        let ev = &mut self.ev;
        match t {
            Target::EventId => ev.event_id = parse_u32(&v),
            Target::Version => ev.version = parse_u32(&v),
            Target::Level => ev.level = parse_u32(&v),
            Target::Task => ev.task = parse_u32(&v),
            Target::Opcode => ev.opcode = parse_u32(&v),
            Target::Keywords => {
                ev.keywords = parse_uint(&v);
                ev.outcome = ev.keywords.and_then(Outcome::of_keywords);
            }
            Target::RecordId => ev.record_id = parse_uint(&v),
            Target::Channel => ev.channel = Some(v).filter(|v| !v.is_empty()),
            Target::Computer => ev.computer = Some(v).filter(|v| !v.is_empty()),
            Target::Data => {
                let key = std::mem::replace(&mut self.key, Cow::Borrowed(""));
                ev.data.push_positional(self.position, key, v);
            }
            Target::Message => ev.message = Some(v).filter(|v| !v.is_empty()),
        }
    }
}

/// Parses one `<Event>` element (an XML declaration and whitespace around it are allowed).
pub(crate) fn parse_event(xml: &str) -> Result<Event<'_>, ParseError> {
    let mut r = Reader::from_str(xml);
    let mut w = Walk {
        src: xml,
        ev: Event::default(),
        section: Section::None,
        capture: None,
        text: Acc::default(),
        position: 0,
        key: Cow::Borrowed(""),
        top: Siblings::default(),
        path: Vec::new(),
    };
    let mut depth = 0usize;
    let mut closed = false;
    loop {
        let at = r.buffer_position();
        let event = r
            .read_event()
            .map_err(|e| bad(r.error_position(), xml.len(), format!("event XML: {e}")))?;
        match event {
            XmlEvent::Start(e) | XmlEvent::Empty(e) if closed => {
                return Err(bad(
                    at,
                    xml.len(),
                    format!(
                        "<{}> after the end of the event",
                        e.local_name().into_inner()
                    ),
                ));
            }
            XmlEvent::Start(e) => {
                w.open(&e, depth, at)?;
                depth += 1;
            }
            XmlEvent::Empty(e) => {
                w.open(&e, depth, at)?;
                w.close(depth);
                closed = depth == 0;
            }
            XmlEvent::End(_) => {
                depth = depth.saturating_sub(1);
                w.close(depth);
                closed = depth == 0;
            }
            XmlEvent::Text(t) if w.capture.is_some() => w.text.push(t.into_inner()),
            XmlEvent::CData(t) if w.capture.is_some() => w.text.push(t.into_inner()),
            XmlEvent::GeneralRef(g) if w.capture.is_some() => w.text.push(entity(&g)),
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if !closed {
        return Err(ParseError::new(
            ErrorKind::Truncated,
            xml.len(),
            "the <Event> element is not closed",
        ));
    }
    Ok(w.ev)
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

/// `end` extended over trailing blanks and one line end; `None` if more input could extend it.
fn with_line_end(b: &[u8], mut end: usize, eof: bool) -> Option<usize> {
    while end < b.len() && matches!(b[end], b' ' | b'\t' | b'\r') {
        end += 1;
    }
    if end < b.len() {
        if b[end] == b'\n' {
            end += 1;
        }
        Some(end)
    } else if eof {
        Some(end)
    } else {
        None
    }
}

/// Frames the next record of rendered event XML (see the module docs).
pub(crate) fn frame(b: &[u8], eof: bool) -> Option<usize> {
    let i = b.iter().position(|c| !c.is_ascii_whitespace());
    let Some(i) = i else {
        return match memchr(b'\n', b) {
            Some(n) => Some(n + 1),
            None if eof && !b.is_empty() => Some(b.len()),
            None => None,
        };
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
