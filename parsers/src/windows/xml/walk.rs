//! The event walker both XML readers drive: it is told of each element opening (its local
//! name and attributes), closing, and of text, and fills an [`Event`].

use std::borrow::Cow;

use crate::error::{ErrorKind, ParseError};
use crate::windows::fields::{Clock, Event, Outcome, parse_system_time, parse_u32, parse_uint};

/// An element's attributes as `(local name, unescaped value)`.
pub(crate) type Attrs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

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

/// A malformed-XML error at `offset` of a record of `len` bytes.
pub(super) fn bad(offset: u64, len: usize, reason: impl Into<String>) -> ParseError {
    ParseError::new(
        ErrorKind::Malformed,
        usize::try_from(offset).unwrap_or(len).min(len),
        reason,
    )
}

/// The System field an attribute of element `name` carries. `v` is cloned, not copied to
/// a `String`: a borrowed value stays borrowed.
#[allow(clippy::ptr_arg)]
fn system_attr<'a>(ev: &mut Event<'a>, name: &str, k: &str, v: &Cow<'a, str>) {
    if v.is_empty() {
        return;
    }
    match (name, k) {
        ("Provider", "Name") => ev.provider = Some(v.clone()),
        ("Provider", "Guid") => ev.provider_guid = Some(v.clone()),
        ("EventID", "Qualifiers") => ev.qualifiers = parse_u32(v),
        ("TimeCreated", "SystemTime") => {
            ev.time_created = parse_system_time(v).map(|t| (t, Clock::TimeCreated));
        }
        ("Correlation", "ActivityID") => ev.activity_id = Some(v.clone()),
        ("Correlation", "RelatedActivityID") => ev.related_activity_id = Some(v.clone()),
        ("Execution", "ProcessID") => ev.process_id = parse_u32(v),
        ("Execution", "ThreadID") => ev.thread_id = parse_u32(v),
        ("Security", "UserID") => ev.user_sid = Some(v.clone()),
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

fn name_attr<'a>(attrs: &Attrs<'a>) -> Option<Cow<'a, str>> {
    attrs
        .iter()
        .find(|(k, _)| k == "Name")
        .map(|(_, v)| v.clone())
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
        let last = u64::from(n.as_bytes().last().copied().unwrap_or(0));
        let bit = 1u64 << ((n.len() as u64 * 31 + last) & 63);
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
pub(crate) struct Walk<'a> {
    len: usize,
    pub ev: Event<'a>,
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

/// Vectors a walk fills, kept by a decoder from one record to the next so that a record
/// costs no allocation for them (empty between records; see [`recycle`]).
#[derive(Default)]
pub(crate) struct Scratch {
    /// The event's data entries (returned by the caller once the event is appended).
    pub data: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    names: Vec<(Cow<'static, str>, u32)>,
    attrs: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

/// `v` emptied, for borrows of another lifetime: the same allocation (an in-place collect
/// over no elements), with no unsafe code.
/// (`T` and `U` are one type but for lifetimes, so the allocation fits.)
pub(crate) fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// Room for a typical event's entries: growing these vectors cost more than the rest of
/// the walk.
const ENTRIES: usize = 32;

fn with_room<T>(mut v: Vec<T>) -> Vec<T> {
    v.reserve(ENTRIES);
    v
}

impl<'a> Walk<'a> {
    /// A walker over a record of `len` bytes (for error offsets).
    pub fn new(len: usize) -> Self {
        Self::with_vectors(len, Vec::new(), Vec::new())
    }

    /// A walker that fills the vectors of `scratch` (take them back with
    /// [`Walk::finish_into`]), and the attribute vector for the reader.
    pub fn from_scratch(len: usize, scratch: &mut Scratch) -> (Self, Attrs<'a>) {
        let data = recycle(std::mem::take(&mut scratch.data));
        let names = recycle(std::mem::take(&mut scratch.names));
        let attrs = recycle(std::mem::take(&mut scratch.attrs));
        (Self::with_vectors(len, data, names), attrs)
    }

    fn with_vectors(
        len: usize,
        data: Vec<(Cow<'a, str>, Cow<'a, str>)>,
        names: Vec<(Cow<'a, str>, u32)>,
    ) -> Self {
        let mut ev = Event::default();
        ev.data.0 = with_room(data);
        Walk {
            len,
            ev,
            section: Section::None,
            capture: None,
            text: Acc::default(),
            position: 0,
            key: Cow::Borrowed(""),
            top: Siblings {
                bloom: 0,
                names: with_room(names),
            },
            path: Vec::new(),
        }
    }

    /// True while an element's text is wanted (readers may skip text otherwise).
    pub fn wants_text(&self) -> bool {
        self.capture.is_some()
    }

    /// Text (already unescaped) inside the current element.
    pub fn text(&mut self, t: Cow<'a, str>) {
        self.text.push(t);
    }

    /// Depth of the entries of the current data section.
    fn entry_depth(&self) -> usize {
        if self.section == Section::UserData {
            3
        } else {
            2
        }
    }

    /// An element named `name` (local name) opens at `depth` (the root is 0), at byte `at`.
    #[inline]
    pub fn open(
        &mut self,
        name: Cow<'a, str>,
        attrs: &Attrs<'a>,
        depth: usize,
        at: u64,
    ) -> Result<(), ParseError> {
        match depth {
            0 => {
                if name != "Event" {
                    return Err(bad(
                        at,
                        self.len,
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
                    for (k, v) in attrs {
                        system_attr(&mut self.ev, &name, k, v);
                    }
                    if let Some(t) = system_target(&name) {
                        self.start_capture(depth, t);
                    }
                }
                Section::EventData if depth == 2 => {
                    self.position += 1;
                    self.key = match name_attr(attrs) {
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
                        name_attr(attrs).unwrap_or(name)
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

    /// The element opened at `depth` closes.
    #[inline]
    pub fn close(&mut self, depth: usize) {
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
                    let len = self.path.iter().map(|l| l.name.len() + 1).sum::<usize>();
                    let mut k = String::with_capacity(len + level.name.len());
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

    /// The event once the root closed.
    pub fn finish(self) -> Event<'a> {
        self.ev
    }

    /// The event once the root closed; the walk's own vectors (and `attrs`) go back to
    /// `scratch`.
    pub fn finish_into(self, attrs: Attrs<'a>, scratch: &mut Scratch) -> Event<'a> {
        scratch.names = recycle(self.top.names);
        scratch.attrs = recycle(attrs);
        self.ev
    }
}
