//! .evtx records read from their BinXML template, without rendering XML.
//!
//! Nearly every .evtx record is one `TemplateInstance`: a reference to a template definition
//! kept once per chunk (the event's element tree with numbered substitutions) and the
//! record's substitution values. Rendering the record to XML (the `evtx` crate) and lexing
//! that XML back (`xml::fast`) took two thirds of the decode time. Here each template
//! definition is compiled once per chunk into a [`Plan`], and a record's values are replayed
//! through the plan straight into the XML readers' [`Walk`], which fills the event: the same
//! walker, told the same elements, attributes and text, gives the same row.
//!
//! The replay mirrors what the crate renders (MS-EVEN6): an element whose DependencyId names
//! a NULL value is left out; values are written as the crate writes them (decimal integers,
//! `0x` lower-case hex, GUIDs in braces, FILETIMEs with seven fractional digits, SIDs, upper
//! case hex for binary) and strings with the characters XML cannot hold as `_`, as the
//! crate's escaper writes them (which the XML reader then reads back unchanged).
//!
//! Nested BinXML values are spliced in place: a nested template instance is replayed with
//! its own values, a fragment of plain elements is compiled for the record. A string array
//! that is an element's whole content repeats the element once per item, as the crate does.
//!
//! Anything else goes the XML way ([`Templates::event`] gives `None`): records that are not
//! one template instance, templates with CDATA, entity or character references, processing
//! instructions, non-string literals, names the XML reader would read differently; values
//! that are floats, arrays other than string arrays or elsewhere than an element's whole
//! content, or whose size does not fit their type. The sample test
//! `template_replay_reads_every_sample_record_as_its_xml_rendering_does` and the
//! `evtx_template` fuzz target hold both paths to the same rows.
//!
//! `plan.rs` compiles definitions, `values.rs` writes values, this module reads a record's
//! instances and replays them.

mod plan;
#[cfg(test)]
mod tests;
mod values;

use std::borrow::Cow;

use plan::{Op, Piece, Plan, Reader, compile, compile_into, span};
use values::{push_utf16, render, ty};

use super::fields::Event;
use super::xml::{Attrs, Scratch, Walk};

/// Nested BinXML instances a record may hold (the crate allows as many).
const MAX_NESTING: usize = 8;

/// Operations one record may replay. A template can place the same nested instance many
/// times, and nested instances nest: a crafted record would replay exponentially often
/// what its bytes hold once. Past the budget the record goes the XML way, where the
/// crate's own render budget (as large) fails it.
const MAX_REPLAYED_OPS: usize = 1 << 18;

/// A substitution value: its type and the span of its rendered text in
/// [`Templates::text`], or a nested instance (the index of its frame).
#[derive(Debug, Clone, Copy)]
enum Value {
    Text {
        ty: u8,
        start: u32,
        end: u32,
    },
    Nested(u32),
    /// A string array: a span of [`Templates::items`], each item's text span.
    Array(u32, u32),
}

/// One template instance of the record: its definition and its values (a span of
/// [`Templates::values`]).
#[derive(Debug, Clone, Copy)]
struct Frame {
    plan: PlanRef,
    values: (u32, u32),
}

/// Where a frame's plan is.
#[derive(Debug, Clone, Copy)]
enum PlanRef {
    /// A template's: an index of [`Templates::plans`].
    Template(usize),
    /// A fragment of plain elements of this record: an index of [`Templates::fragments`].
    Fragment(usize),
}

/// The compiled templates of the chunk being read, and the buffers a replay fills.
#[derive(Default)]
pub(crate) struct Templates {
    /// By the chunk offset of the definition; `None`: left to the XML path. A chunk holds
    /// a few dozen templates: a scan of their offsets is cheaper than hashing one.
    plans: Vec<(u32, Option<Plan>)>,
    /// The values of the record being replayed, rendered back to back: as bytes while they
    /// are written, then checked as UTF-8 once for the record (`text`).
    buf: Vec<u8>,
    text: String,
    values: Vec<Value>,
    /// The record's instances, the outer one first.
    frames: Vec<Frame>,
    /// The items of the record's string arrays: spans of `text`.
    items: Vec<(u32, u32)>,
    /// The record's nested fragments of plain elements, compiled (the first
    /// `fragments_used`; the rest keep their allocations for the next record).
    fragments: Vec<Plan>,
    fragments_used: usize,
    /// Records replayed so far (counted by the caller, once it has used the event).
    pub(crate) replayed: u64,
}

impl Templates {
    /// Forgets the compiled templates: definitions are per chunk.
    pub(crate) fn new_chunk(&mut self) {
        self.plans.clear();
    }

    /// The event of the record whose BinXML is `data[at..at + len]` (chunk offsets), read
    /// through its template; `None` when it is left to the XML path (see the module docs).
    pub(crate) fn event<'s>(
        &'s mut self,
        data: &[u8],
        at: usize,
        len: usize,
        scratch: &mut Scratch,
    ) -> Option<Event<'s>> {
        // The text allocation moves between `buf` and `text`, and is kept.
        if self.buf.capacity() < self.text.capacity() {
            self.buf = std::mem::take(&mut self.text).into_bytes();
        }
        self.buf.clear();
        self.values.clear();
        self.frames.clear();
        self.items.clear();
        self.fragments_used = 0;
        self.instance(data, at, len, 0)?;
        self.text = String::from_utf8(std::mem::take(&mut self.buf)).ok()?;
        let this: &'s Self = self;
        let (mut w, mut attrs): (Walk<'s>, Attrs<'s>) = Walk::from_scratch(len, scratch);
        let mut budget = MAX_REPLAYED_OPS;
        this.replay(0, 0, &mut w, &mut attrs, &mut budget)?;
        Some(w.finish_into(attrs, scratch))
    }

    /// Reads the template instance that is the whole stream `data[at..at + len]` into a
    /// frame (and its nested instances into frames after it), compiling its template when
    /// it is new; its index.
    fn instance(&mut self, data: &[u8], at: usize, len: usize, nesting: usize) -> Option<usize> {
        if nesting > MAX_NESTING {
            return None;
        }
        let end = at.checked_add(len)?;
        let stream = data.get(at..end)?;
        let mut r = Reader {
            data: &data[..end],
            pos: at
                + match stream {
                    [0x0f, _, _, _, 0x0c, _, ..] => 5,
                    [0x0c, ..] => 1,
                    [0x0f, _, _, _, 0x01 | 0x41, ..] | [0x01 | 0x41, ..] if nesting > 0 => {
                        return self.fragment(data, at, end);
                    }
                    _ => return None,
                },
        };
        let _ = r.u8()?;
        let _template_id = r.u32()?;
        let def = r.u32()?;
        if def as usize == r.pos {
            let size = r.data.get(r.pos + 20..r.pos + 24)?;
            r.pos += 24 + u32::from_le_bytes(size.try_into().ok()?) as usize;
        }
        // Looked up once per instance; the frame keeps the index.
        let k = match self.plans.iter().position(|(d, _)| *d == def) {
            Some(k) => k,
            None => {
                self.plans.push((def, compile(data, def)));
                self.plans.len() - 1
            }
        };
        self.plans[k].1.as_ref()?;
        let n = r.u32()? as usize;
        let descriptors = r.data.get(r.pos..r.pos.checked_add(n.checked_mul(4)?)?)?;
        let mut pos = r.pos + 4 * n;
        let base = self.values.len();
        // The frame's slots first: nested instances append their own values after them.
        self.values.resize(base + n, Value::Nested(u32::MAX));
        let frame = self.frames.len();
        self.frames.push(Frame {
            plan: PlanRef::Template(k),
            values: (base as u32, (base + n) as u32),
        });
        for (k, d) in descriptors.chunks_exact(4).enumerate() {
            let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
            let b = r.data.get(pos..pos + size)?;
            let v = if d[2] == ty::BIN_XML && size > 0 {
                Value::Nested(self.instance(data, pos, size, nesting + 1)? as u32)
            } else if d[2] == ty::STRING_ARRAY {
                self.array(b)?
            } else {
                let start = self.buf.len() as u32;
                render(&mut self.buf, d[2], b)?;
                Value::Text {
                    ty: d[2],
                    start,
                    end: self.buf.len() as u32,
                }
            };
            self.values[base + k] = v;
            pos += size;
        }
        // The instance must be the whole stream.
        (pos == end || r.data.get(pos) == Some(&0x00)).then_some(frame)
    }

    /// Compiles the fragment of plain elements `data[at..end]` into a frame without values;
    /// its index.
    fn fragment(&mut self, data: &[u8], at: usize, end: usize) -> Option<usize> {
        if self.fragments_used == self.fragments.len() {
            self.fragments.push(Plan::default());
        }
        let k = self.fragments_used;
        let plan = &mut self.fragments[k];
        plan.clear();
        compile_into(plan, data, at, end, false)?;
        self.fragments_used += 1;
        self.frames.push(Frame {
            plan: PlanRef::Fragment(k),
            values: (0, 0),
        });
        Some(self.frames.len() - 1)
    }

    /// A string array: NUL-terminated strings back to back (`None` when the last is not
    /// terminated, which the crate reads past the value).
    fn array(&mut self, b: &[u8]) -> Option<Value> {
        let first = self.items.len() as u32;
        let mut rest = b;
        while !rest.is_empty() {
            let n = rest.chunks_exact(2).position(|u| u == [0, 0])?;
            let start = self.buf.len() as u32;
            push_utf16(&mut self.buf, &rest[..2 * n]);
            self.items.push((start, self.buf.len() as u32));
            rest = &rest[2 * n + 2..];
        }
        Some(Value::Array(first, self.items.len() as u32))
    }

    /// Value `n` of `frame` (`None` past its values: the crate renders nothing for it).
    fn value(&self, frame: Frame, n: u16) -> Option<Value> {
        let i = frame.values.0 as usize + usize::from(n);
        (i < frame.values.1 as usize).then(|| self.values[i])
    }

    /// The text of a piece; `None` for a nested instance (spliced, never text) and for an
    /// array of several items (which repeats its element: [`Op::Open`]'s `sole`).
    fn piece<'s>(&'s self, plan: &'s Plan, frame: Frame, p: Piece) -> Option<&'s str> {
        Some(match p {
            Piece::Lit(s, e) => &plan.lits[span((s, e))],
            Piece::Sub(n) => match self.value(frame, n) {
                Some(Value::Text { start, end, .. }) => &self.text[span((start, end))],
                Some(Value::Array(a, b)) => match b - a {
                    0 => "",
                    1 => &self.text[span(self.items[a as usize])],
                    _ => return None,
                },
                Some(Value::Nested(_)) => return None,
                None => "",
            },
        })
    }

    /// Whether `p` is empty as the crate judges an attribute's pieces (`is_optional_empty`):
    /// no text, or an array of no items. An array of one empty item is not: it writes
    /// nothing, yet keeps its attribute.
    fn is_empty(&self, frame: Frame, p: Piece) -> bool {
        match p {
            Piece::Lit(s, e) => s == e,
            Piece::Sub(n) => match self.value(frame, n) {
                Some(Value::Text { start, end, .. }) => start == end,
                Some(Value::Array(a, b)) => a == b,
                Some(Value::Nested(_)) => false,
                None => true,
            },
        }
    }

    /// The items of an array of several items that is the whole content of an element
    /// (MS-EVEN6 3.1.4.7.5: the element is repeated, once per item).
    fn repeats(&self, frame: Frame, sole: Option<u16>) -> Option<&[(u32, u32)]> {
        match self.value(frame, sole?)? {
            Value::Array(a, b) if b - a > 1 => Some(&self.items[a as usize..b as usize]),
            _ => None,
        }
    }

    /// Replays frame `f` into `w`, its root at `depth`, its plan's operations (and each
    /// repeat of an element) charged to `budget`.
    fn replay<'s>(
        &'s self,
        f: usize,
        mut depth: usize,
        w: &mut Walk<'s>,
        attrs: &mut Attrs<'s>,
        budget: &mut usize,
    ) -> Option<()> {
        let frame = self.frames[f];
        let plan = match frame.plan {
            PlanRef::Template(k) => self.plans[k].1.as_ref()?,
            PlanRef::Fragment(k) => &self.fragments[k],
        };
        // Charged per plan, not per operation: one subtraction per instance replayed.
        *budget = budget.checked_sub(plan.ops.len())?;
        let mut i = 0usize;
        while let Some(op) = plan.ops.get(i) {
            let root = i == 0;
            i += 1;
            match *op {
                Op::Open {
                    name,
                    attrs: (a0, a1),
                    dependency,
                    skip,
                    sole,
                } => {
                    // MS-EVEN6 2.2.12: left out when its dependency is NULL (never the root).
                    let left_out = !root
                        && dependency
                            .and_then(|d| self.value(frame, d))
                            .is_some_and(|v| matches!(v, Value::Text { ty: ty::NULL, .. }));
                    if left_out {
                        i = skip as usize;
                        continue;
                    }
                    attrs.clear();
                    for a in &plan.attrs[span((a0, a1))] {
                        let pieces = &plan.pieces[span(a.pieces)];
                        // The crate leaves out an attribute whose pieces are all empty (a
                        // `Name` among them, which makes a data entry positional).
                        if pieces.iter().all(|p| self.is_empty(frame, *p)) {
                            continue;
                        }
                        let value = match pieces {
                            [one] => Cow::Borrowed(self.piece(plan, frame, *one)?),
                            many => Cow::Owned(
                                many.iter()
                                    .map(|p| self.piece(plan, frame, *p))
                                    .collect::<Option<String>>()?,
                            ),
                        };
                        attrs.push((Cow::Borrowed(&plan.lits[span(a.name)]), value));
                    }
                    let name = Cow::Borrowed(&plan.lits[span(name)]);
                    if let Some(items) = self.repeats(frame, sole) {
                        *budget = budget.checked_sub(items.len())?;
                        for &item in items {
                            w.open(name.clone(), attrs, depth, 0).ok()?;
                            if w.wants_text() {
                                w.text(Cow::Borrowed(&self.text[span(item)]));
                            }
                            w.close(depth);
                        }
                        i = skip as usize;
                        continue;
                    }
                    w.open(name, attrs, depth, 0).ok()?;
                    depth += 1;
                }
                Op::Text(p) => {
                    if let Piece::Sub(n) = p
                        && let Some(Value::Nested(nested)) = self.value(frame, n)
                    {
                        // Spliced in place: its elements are children here.
                        self.replay(nested as usize, depth, w, attrs, budget)?;
                    } else if w.wants_text() {
                        w.text(Cow::Borrowed(self.piece(plan, frame, p)?));
                    }
                }
                Op::Close => {
                    depth -= 1;
                    w.close(depth);
                }
            }
        }
        Some(())
    }
}
