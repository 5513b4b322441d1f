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

use std::borrow::Cow;

use evtx::binxml::value_variant::SysTime;

use super::fields::Event;
use super::xml::{Attrs, Scratch, Walk};

/// Deepest element nesting replayed (event templates nest about 5 deep).
const MAX_DEPTH: usize = 32;

/// A piece of an attribute value or of element text.
#[derive(Debug, Clone, Copy)]
enum Piece {
    /// Literal text: a span of [`Plan::lits`].
    Lit(u32, u32),
    /// Substitution value `n` of the instance.
    Sub(u16),
}

#[derive(Debug)]
struct Attr {
    name: (u32, u32),
    /// Its value's pieces: a span of [`Plan::pieces`].
    pieces: (u32, u32),
}

#[derive(Debug)]
enum Op {
    /// An element opens; `skip` is the index of the op after its close (where a left-out
    /// element resumes).
    Open {
        name: (u32, u32),
        attrs: (u32, u32),
        dependency: Option<u16>,
        skip: u32,
        /// The substitution that is the element's whole content, if one is: where an array
        /// value repeats the element.
        sole: Option<u16>,
    },
    Text(Piece),
    Close,
}

/// A template definition compiled for replay.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    ops: Vec<Op>,
    attrs: Vec<Attr>,
    pieces: Vec<Piece>,
    /// Element and attribute names and literal text.
    lits: String,
}

/// Reads BinXML tokens of a template definition.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.data.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A name reference: the offset of a string-table entry, stored right here when it is
    /// the current position (the first use in the chunk). Its local part (after a first
    /// `:`, as the XML reader takes it) goes to `lits`; only names the XML reader reads as
    /// they are (ASCII letters, digits, `_`, `-`, `.`, `:`).
    fn name(&mut self, lits: &mut Vec<u8>) -> Option<(u32, u32)> {
        let at = self.u32()? as usize;
        let len = usize::from(u16::from_le_bytes(
            self.data.get(at + 6..at + 8)?.try_into().ok()?,
        ));
        let chars = self.data.get(at + 8..at + 8 + 2 * len)?;
        if at == self.pos {
            self.pos += 10 + 2 * len;
        }
        let start = lits.len();
        let mut prefixed = false;
        for c in chars.chunks_exact(2) {
            let b = u8::try_from(u16::from_le_bytes([c[0], c[1]])).ok()?;
            if b == b':' && !prefixed {
                // The prefix is dropped: the local part starts here.
                prefixed = true;
                lits.truncate(start);
            } else if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':') {
                lits.push(b);
            } else {
                return None;
            }
        }
        (lits.len() > start).then_some((start as u32, lits.len() as u32))
    }
}

/// Compiles the template definition at `def` (chunk offset of its 24-byte header) of chunk
/// `data`, or `None` when it holds what replay leaves to the XML path.
pub(crate) fn compile(data: &[u8], def: u32) -> Option<Plan> {
    let def = def as usize;
    let size = u32::from_le_bytes(data.get(def + 20..def + 24)?.try_into().ok()?) as usize;
    let mut p = Plan::default();
    compile_into(&mut p, data, def + 24, (def + 24).checked_add(size)?, true)?;
    Some(p)
}

impl Plan {
    fn clear(&mut self) {
        self.ops.clear();
        self.attrs.clear();
        self.pieces.clear();
        self.lits.clear();
    }
}

/// Compiles the BinXML of `data[start..end]` into `p`: a template definition (`template`:
/// one root, elements carry DependencyIds, substitutions) or a fragment of plain elements
/// nested in a record's value (no DependencyIds, literal text only, several roots allowed).
fn compile_into(p: &mut Plan, data: &[u8], start: usize, end: usize, template: bool) -> Option<()> {
    let mut r = Reader {
        data: data.get(..end)?,
        pos: start,
    };
    // Names and literals as bytes (checked once, at the end).
    let mut lits = std::mem::take(&mut p.lits).into_bytes();
    lits.clear();
    // Indices of the `Open` ops of the open elements.
    let mut open: Vec<usize> = Vec::new();
    // The element being started: its attributes are read until its start closes.
    let mut starting = false;
    let mut in_attr = false;
    let mut seen_root = false;
    let close = |p: &mut Plan, open: &mut Vec<usize>| -> Option<()> {
        let at = open.pop()?;
        let content = match p.ops[at + 1..] {
            [Op::Text(Piece::Sub(n))] => Some(n),
            _ => None,
        };
        p.ops.push(Op::Close);
        let next = p.ops.len() as u32;
        if let Op::Open { skip, sole, .. } = &mut p.ops[at] {
            *skip = next;
            *sole = content;
        }
        Some(())
    };
    while r.pos < end {
        let token = r.u8()?;
        match token {
            0x00 => break,
            0x0f => r.pos += 3,
            0x01 | 0x41 => {
                let second_root = template && seen_root && open.is_empty();
                if starting || second_root || open.len() >= MAX_DEPTH {
                    return None;
                }
                let dependency = if template { r.u16()? } else { 0xffff };
                let _size = r.u32()?;
                let name = r.name(&mut lits)?;
                if token == 0x41 {
                    let _attr_size = r.u32()?;
                }
                let at = p.attrs.len() as u32;
                p.ops.push(Op::Open {
                    name,
                    attrs: (at, at),
                    dependency: (dependency != 0xffff).then_some(dependency),
                    skip: 0,
                    sole: None,
                });
                open.push(p.ops.len() - 1);
                starting = true;
                in_attr = false;
                seen_root = true;
            }
            0x06 | 0x46 => {
                if !starting {
                    return None;
                }
                let name = r.name(&mut lits)?;
                let at = p.pieces.len() as u32;
                p.attrs.push(Attr {
                    name,
                    pieces: (at, at),
                });
                if let Some(Op::Open { attrs, .. }) = open.last().map(|&i| &mut p.ops[i]) {
                    attrs.1 = p.attrs.len() as u32;
                }
                in_attr = true;
            }
            0x02 => {
                if !starting {
                    return None;
                }
                starting = false;
                in_attr = false;
            }
            0x03 => {
                if !starting {
                    return None;
                }
                starting = false;
                in_attr = false;
                close(p, &mut open)?;
            }
            0x04 => {
                if starting {
                    return None;
                }
                close(p, &mut open)?;
            }
            0x05 | 0x45 | 0x0d | 0x0e => {
                let piece = if token & 0x0f == 0x05 {
                    // A literal: only strings (u16 length, UTF-16).
                    if r.u8()? != 0x01 {
                        return None;
                    }
                    let n = usize::from(r.u16()?);
                    let units = r.data.get(r.pos..r.pos + 2 * n)?;
                    r.pos += 2 * n;
                    let start = lits.len() as u32;
                    // Read as the crate reads it: up to a first NUL unit.
                    push_utf16(&mut lits, until_nul(units));
                    Piece::Lit(start, lits.len() as u32)
                } else if template {
                    let id = r.u16()?;
                    let _ty = r.u8()?;
                    Piece::Sub(id)
                } else {
                    return None;
                };
                if in_attr {
                    let a = p.attrs.last_mut()?;
                    p.pieces.push(piece);
                    a.pieces.1 = p.pieces.len() as u32;
                } else if starting || open.is_empty() {
                    return None;
                } else {
                    p.ops.push(Op::Text(piece));
                }
            }
            // CDATA, character and entity references, processing instructions, nested
            // instances: the XML path.
            _ => return None,
        }
    }
    p.lits = String::from_utf8(lits).ok()?;
    (open.is_empty() && !starting && seen_root).then_some(())
}

fn span((s, e): (u32, u32)) -> std::ops::Range<usize> {
    s as usize..e as usize
}

/// Appends UTF-16LE `units` as the crate's XML escaper writes them and the XML reader reads
/// them back: C0 controls but tab, LF and CR, lone surrogates, U+FFFE and U+FFFF become `_`.
fn push_utf16(out: &mut Vec<u8>, units: &[u8]) {
    let mut rest = units;
    // Most values are printable ASCII: a byte per unit, no decoding; eight units a test, as
    // the 16-bit lanes of a u128: all below 0x80 (no bit of 0xff80 set), and all at least
    // 0x20 (then `v + 0x7fe0` sets the lane's top bit, with no carry out of it).
    const LANES: u128 = 0x0001_0001_0001_0001_0001_0001_0001_0001;
    while let Some((head, tail)) = rest.split_first_chunk::<16>() {
        let w = u128::from_le_bytes(*head);
        if w & (LANES * 0xff80) != 0 || (w + LANES * 0x7fe0) & (LANES * 0x8000) != LANES * 0x8000 {
            break;
        }
        let mut ascii = [0u8; 8];
        for (k, b) in ascii.iter_mut().enumerate() {
            *b = head[2 * k];
        }
        out.extend_from_slice(&ascii);
        rest = tail;
    }
    while let [lo, 0, tail @ ..] = rest
        && (0x20..0x80).contains(lo)
    {
        out.push(*lo);
        rest = tail;
    }
    if rest.is_empty() {
        return;
    }
    let it = rest
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut utf8 = [0u8; 4];
    for c in char::decode_utf16(it) {
        let c = match c {
            Ok(c) if c < ' ' && !matches!(c, '\t' | '\n' | '\r') => '_',
            Ok('\u{FFFE}' | '\u{FFFF}') | Err(_) => '_',
            Ok(c) => c,
        };
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// Appends an ANSI string as the crate decodes it (NUL bytes dropped, Windows-1252: the
/// code page of the default `ParserSettings` the decoder uses) and escapes it for XML (C0
/// controls but tab, LF and CR as `_`).
fn push_ansi(out: &mut Vec<u8>, b: &[u8]) {
    let kept: Cow<'_, [u8]> = if b.contains(&0) {
        Cow::Owned(b.iter().copied().filter(|&c| c != 0).collect())
    } else {
        Cow::Borrowed(b)
    };
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&kept);
    // Controls are single bytes in UTF-8: bytes of other characters are all >= 0x80.
    out.extend(text.bytes().map(|c| {
        if c < b' ' && !matches!(c, b'\t' | b'\n' | b'\r') {
            b'_'
        } else {
            c
        }
    }));
}

/// The units of `bytes` before the first NUL unit (a sized string value ends there).
fn until_nul(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .chunks_exact(2)
        .position(|u| u == [0, 0])
        .unwrap_or(bytes.len() / 2);
    &bytes[..2 * n]
}

/// Substitution value types (MS-EVEN6 2.2.16).
mod ty {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const ANSI_STRING: u8 = 0x02;
    pub const INT8: u8 = 0x03;
    pub const UINT8: u8 = 0x04;
    pub const INT16: u8 = 0x05;
    pub const UINT16: u8 = 0x06;
    pub const INT32: u8 = 0x07;
    pub const UINT32: u8 = 0x08;
    pub const INT64: u8 = 0x09;
    pub const UINT64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const BINARY: u8 = 0x0e;
    pub const GUID: u8 = 0x0f;
    pub const SIZE_T: u8 = 0x10;
    pub const FILETIME: u8 = 0x11;
    pub const SYSTIME: u8 = 0x12;
    pub const SID: u8 = 0x13;
    pub const HEX_INT32: u8 = 0x14;
    pub const HEX_INT64: u8 = 0x15;
    pub const BIN_XML: u8 = 0x21;
    pub const STRING_ARRAY: u8 = 0x81;
}

fn le<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.try_into().ok()
}

/// Appends ASCII `bytes` (built in a stack buffer: one capacity check, not one per byte).
fn push_ascii(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
}

fn push_hex(out: &mut Vec<u8>, v: u64) {
    let mut buf = *b"0x0000000000000000";
    let digits = (64 - v.leading_zeros()).div_ceil(4).max(1) as usize;
    for i in 0..digits {
        buf[1 + digits - i] = b"0123456789abcdef"[(v >> (4 * i)) as usize & 15];
    }
    push_ascii(out, &buf[..2 + digits]);
}

fn push_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends the text the crate renders for a value of type `t` held in `b`, or `None` for a
/// type or size replay leaves to the XML path.
fn render(out: &mut Vec<u8>, t: u8, b: &[u8]) -> Option<()> {
    match t {
        ty::NULL => {}
        ty::STRING => push_utf16(out, until_nul(b)),
        ty::ANSI_STRING => push_ansi(out, b),
        ty::INT8 => push_int(out, i8::from_le_bytes(le(b)?)),
        ty::UINT8 => push_int(out, u8::from_le_bytes(le(b)?)),
        ty::INT16 => push_int(out, i16::from_le_bytes(le(b)?)),
        ty::UINT16 => push_int(out, u16::from_le_bytes(le(b)?)),
        ty::INT32 => push_int(out, i32::from_le_bytes(le(b)?)),
        ty::UINT32 => push_int(out, u32::from_le_bytes(le(b)?)),
        ty::INT64 => push_int(out, i64::from_le_bytes(le(b)?)),
        ty::UINT64 => push_int(out, u64::from_le_bytes(le(b)?)),
        ty::BOOL => match i32::from_le_bytes(le(b)?) {
            0 => out.extend_from_slice(b"false"),
            1 => out.extend_from_slice(b"true"),
            raw => push_int(out, raw),
        },
        ty::BINARY => {
            for chunk in b.chunks(32) {
                let mut buf = [0u8; 64];
                for (k, x) in chunk.iter().enumerate() {
                    buf[2 * k] = b"0123456789ABCDEF"[usize::from(x >> 4)];
                    buf[2 * k + 1] = b"0123456789ABCDEF"[usize::from(x & 15)];
                }
                push_ascii(out, &buf[..2 * chunk.len()]);
            }
        }
        ty::GUID => {
            let g: [u8; 16] = le(b)?;
            const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
            let mut buf = *b"{00000000-0000-0000-0000-000000000000}";
            let mut n = 1;
            for (i, &k) in ORDER.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    n += 1;
                }
                buf[n] = b"0123456789abcdef"[usize::from(g[k] >> 4)];
                buf[n + 1] = b"0123456789abcdef"[usize::from(g[k] & 15)];
                n += 2;
            }
            push_ascii(out, &buf);
        }
        ty::SIZE_T if b.len() == 4 => push_hex(out, u64::from(u32::from_le_bytes(le(b)?))),
        ty::SIZE_T => push_hex(out, u64::from_le_bytes(le(b)?)),
        ty::HEX_INT32 => push_hex(out, u64::from(u32::from_le_bytes(le(b)?))),
        ty::HEX_INT64 => push_hex(out, u64::from_le_bytes(le(b)?)),
        ty::FILETIME => push_filetime(out, u64::from_le_bytes(le(b)?)),
        ty::SYSTIME => {
            // Windows renders a SYSTEMTIME that is not valid (an unset one too) as 1601-01-01.
            let t = SysTime::from_bytes(&le(b)?);
            let f = if t.is_valid() {
                [
                    u32::from(t.year % 10_000),
                    u32::from(t.month),
                    u32::from(t.day),
                    u32::from(t.hour),
                    u32::from(t.minute),
                    u32::from(t.second),
                    u32::from(t.milliseconds) * 10_000,
                ]
            } else {
                [1601, 1, 1, 0, 0, 0, 0]
            };
            push_datetime(out, f);
        }
        // The crate reads a SID's own length (8 bytes and 4 per sub-authority), whatever the
        // value's size says: only a SID that fits its value exactly is replayed.
        ty::SID if b.len() >= 8 && b.len() == 8 + 4 * usize::from(b[1]) => push_sid(out, b),
        // An empty fragment renders as nothing; a non-empty one is nested XML.
        ty::BIN_XML if b.is_empty() => {}
        _ => return None,
    }
    Some(())
}

/// A FILETIME as Windows renders it (seven fractional digits; years past 9999 keep their
/// last four digits; past `i64::MAX`, zeros).
fn push_filetime(out: &mut Vec<u8>, ft: u64) {
    const TICKS_PER_SEC: u64 = 10_000_000;
    const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SEC;
    let mut f = [0u32; 7];
    if ft <= i64::MAX as u64 {
        let (days, ticks) = (ft / TICKS_PER_DAY, ft % TICKS_PER_DAY);
        // Howard Hinnant's civil_from_days, from 0000-03-01 (584,694 days before 1601).
        let z = days + 584_694;
        let (era, doe) = (z / 146_097, z % 146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = era * 400 + yoe + u64::from(month <= 2);
        let secs = ticks / TICKS_PER_SEC;
        f = [
            (year % 10_000) as u32,
            month as u32,
            day as u32,
            (secs / 3_600) as u32,
            (secs / 60 % 60) as u32,
            (secs % 60) as u32,
            (ticks % TICKS_PER_SEC) as u32,
        ];
    }
    push_datetime(out, f);
}

/// Year, month, day, hour, minute, second and 100 ns ticks as Windows renders them.
fn push_datetime(out: &mut Vec<u8>, f: [u32; 7]) {
    let mut buf = *b"0000-00-00T00:00:00.0000000Z";
    for (field, (at, width)) in
        f.iter()
            .zip([(0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2), (20, 7)])
    {
        let mut v = *field;
        for k in (at..at + width).rev() {
            buf[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    push_ascii(out, &buf);
}

/// A SID in `S-R-A-S1-…-Sn` form (revision, 48-bit big-endian authority, then the
/// little-endian sub-authorities), from its bytes (at least 8).
fn push_sid(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b"S-");
    push_int(out, b[0]);
    out.push(b'-');
    push_int(
        out,
        u64::from_be_bytes([0, 0, b[2], b[3], b[4], b[5], b[6], b[7]]),
    );
    for s in b[8..].chunks_exact(4) {
        out.push(b'-');
        push_int(out, u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    }
}

/// Nested BinXML instances a record may hold (the crate allows as many).
const MAX_NESTING: usize = 8;

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
    /// A template's, by the chunk offset of its definition.
    Template(u32),
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
    /// Records replayed so far.
    pub(crate) replayed: std::cell::Cell<u64>,
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
        this.replay(0, 0, &mut w, &mut attrs)?;
        this.replayed.set(this.replayed.get() + 1);
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
        if self.plan(def).is_none() {
            self.plans.push((def, compile(data, def)));
        }
        self.plan(def)?.as_ref()?;
        let n = r.u32()? as usize;
        let descriptors = r.data.get(r.pos..r.pos.checked_add(n.checked_mul(4)?)?)?;
        let mut pos = r.pos + 4 * n;
        let base = self.values.len();
        self.values.resize(base + n, Value::Nested(u32::MAX));
        let frame = self.frames.len();
        self.frames.push(Frame {
            plan: PlanRef::Template(def),
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

    fn plan(&self, def: u32) -> Option<&Option<Plan>> {
        self.plans.iter().find(|(d, _)| *d == def).map(|(_, p)| p)
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

    /// Whether `p` is an array value of one empty item.
    fn lone_empty_item(&self, frame: Frame, p: Piece) -> bool {
        let Piece::Sub(n) = p else { return false };
        matches!(self.value(frame, n), Some(Value::Array(a, b))
            if b - a == 1 && { let (s, e) = self.items[a as usize]; s == e })
    }

    /// The items of an array of several items that is the whole content of an element
    /// (MS-EVEN6 3.1.4.7.5: the element is repeated, once per item).
    fn repeats(&self, frame: Frame, sole: Option<u16>) -> Option<&[(u32, u32)]> {
        match self.value(frame, sole?)? {
            Value::Array(a, b) if b - a > 1 => Some(&self.items[a as usize..b as usize]),
            _ => None,
        }
    }

    /// Replays frame `f` into `w`, its root at `depth`.
    fn replay<'s>(
        &'s self,
        f: usize,
        mut depth: usize,
        w: &mut Walk<'s>,
        attrs: &mut Attrs<'s>,
    ) -> Option<()> {
        let frame = self.frames[f];
        let plan = match frame.plan {
            PlanRef::Template(def) => self.plan(def)?.as_ref()?,
            PlanRef::Fragment(k) => &self.fragments[k],
        };
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
                        // An array of one empty item renders as nothing, yet the crate
                        // keeps the attribute (the value is not empty): the XML path.
                        if pieces.iter().any(|p| self.lone_empty_item(frame, *p)) {
                            return None;
                        }
                        let value = match pieces {
                            [] => Cow::Borrowed(""),
                            [one] => Cow::Borrowed(self.piece(plan, frame, *one)?),
                            many => Cow::Owned(
                                many.iter()
                                    .map(|p| self.piece(plan, frame, *p))
                                    .collect::<Option<String>>()?,
                            ),
                        };
                        // The crate leaves out an attribute whose value is empty (a `Name`
                        // among them, which makes a data entry positional).
                        if value.is_empty() {
                            continue;
                        }
                        attrs.push((Cow::Borrowed(&plan.lits[span(a.name)]), value));
                    }
                    let name = Cow::Borrowed(&plan.lits[span(name)]);
                    if let Some(items) = self.repeats(frame, sole) {
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
                        self.replay(nested as usize, depth, w, attrs)?;
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

#[cfg(test)]
mod tests {
    use evtx::binxml::value_variant::{BinXmlValue, FileTime};

    use super::*;

    /// A small deterministic generator (xorshift), so that failures reproduce.
    fn numbers(seed: u64) -> impl Iterator<Item = u64> {
        std::iter::successors(Some(seed | 1), |x| {
            let mut x = *x;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Some(x)
        })
    }

    fn rendered(t: u8, b: &[u8]) -> Option<String> {
        let mut s = Vec::new();
        render(&mut s, t, b).map(|()| String::from_utf8(s).unwrap())
    }

    #[test]
    fn scalars_render_as_the_crate_renders_them() {
        let edges = [
            0,
            1,
            0xff,
            0x1_0000,
            u64::from(u32::MAX),
            i64::MAX as u64,
            u64::MAX,
        ];
        for v in edges.into_iter().chain(numbers(7).take(20_000)) {
            let b = v.to_le_bytes();
            let crate_text = |x: BinXmlValue<'_>| x.to_string();
            assert_eq!(
                rendered(ty::FILETIME, &b).unwrap(),
                crate_text(BinXmlValue::FileTimeType(FileTime(v))),
                "filetime {v}"
            );
            assert_eq!(
                rendered(ty::HEX_INT64, &b).unwrap(),
                crate_text(BinXmlValue::HexInt64Type(v))
            );
            assert_eq!(
                rendered(ty::HEX_INT32, &b[..4]).unwrap(),
                crate_text(BinXmlValue::HexInt32Type(v as u32))
            );
            assert_eq!(
                rendered(ty::INT64, &b).unwrap(),
                crate_text(BinXmlValue::Int64Type(v as i64))
            );
            assert_eq!(
                rendered(ty::INT16, &b[..2]).unwrap(),
                crate_text(BinXmlValue::Int16Type(v as i16))
            );
            let mut g = [0u8; 16];
            g[..8].copy_from_slice(&b);
            g[8..].copy_from_slice(&v.rotate_left(17).to_le_bytes());
            assert_eq!(
                rendered(ty::GUID, &g).unwrap(),
                crate_text(BinXmlValue::GuidType(g))
            );
            assert_eq!(
                rendered(ty::BINARY, &g[..(v % 17) as usize]).unwrap(),
                crate_text(BinXmlValue::BinaryType(&g[..(v % 17) as usize]))
            );
        }
        // SYSTEMTIMEs: random fields (mostly invalid) and valid ones.
        for (k, v) in numbers(5).take(20_000).enumerate() {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&v.to_le_bytes());
            b[8..].copy_from_slice(&v.rotate_left(29).to_le_bytes());
            if k % 2 == 0 {
                let field = |i: usize, m: u64| ((v >> (i * 5)) % m) as u16;
                let valid = [1601 + field(0, 9000), 1 + field(1, 12), 0, 1 + field(2, 28)];
                let time = [field(3, 24), field(4, 60), field(5, 60), field(6, 1000)];
                for (i, f) in valid.iter().chain(&time).enumerate() {
                    b[2 * i..2 * i + 2].copy_from_slice(&f.to_le_bytes());
                }
            }
            assert_eq!(
                rendered(ty::SYSTIME, &b).unwrap(),
                BinXmlValue::SysTimeType(SysTime::from_bytes(&b)).to_string(),
                "systime {b:02x?}"
            );
        }
        // A size that does not fit the type, and types left to the XML path.
        assert_eq!(rendered(ty::UINT16, &[1, 2, 3]), None);
        assert_eq!(rendered(0x81, b"a\0\0\0"), None);
        assert_eq!(rendered(ty::BIN_XML, &[0x0c]), None);
        assert_eq!(rendered(ty::BIN_XML, &[]).unwrap(), "");
        assert_eq!(rendered(ty::BOOL, &2i32.to_le_bytes()).unwrap(), "2");
    }

    #[test]
    fn sids_render_in_s_r_a_form() {
        let mut b = vec![1, 4, 0, 0, 0, 0, 0, 5];
        for sub in [21u32, 3_623_811_015, 1_386_138_392, 500] {
            b.extend_from_slice(&sub.to_le_bytes());
        }
        assert_eq!(
            rendered(ty::SID, &b).unwrap(),
            "S-1-5-21-3623811015-1386138392-500"
        );
        // A SID whose count does not fit its value is left to the XML path: the crate reads
        // as many sub-authorities as the count says, past the value (found by the
        // evtx_template fuzz target).
        b[1] = 9;
        assert_eq!(rendered(ty::SID, &b), None);
        b[1] = 3;
        assert_eq!(rendered(ty::SID, &b), None);
        assert_eq!(rendered(ty::SID, &[1, 2]), None);
        assert_eq!(
            rendered(ty::SID, &[1, 0, 0, 0, 0, 0, 0, 5]).unwrap(),
            "S-1-5"
        );
    }

    /// A template definition at chunk offset 0: `<Event>` holding the literal `units`.
    fn template_with_literal(units: &[u16]) -> Vec<u8> {
        let mut d = vec![0u8; 24];
        d.extend_from_slice(&[0x0f, 1, 1, 0]);
        d.push(0x01);
        d.extend_from_slice(&0xffffu16.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        // The name is stored inline: its offset is where it starts.
        let at = d.len() as u32 + 4;
        d.extend_from_slice(&at.to_le_bytes());
        d.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&5u16.to_le_bytes());
        d.extend(b"Event".iter().flat_map(|&c| [c, 0]));
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(&[0x02, 0x05, 0x01]);
        d.extend_from_slice(&(units.len() as u16).to_le_bytes());
        d.extend(units.iter().flat_map(|u| u.to_le_bytes()));
        d.extend_from_slice(&[0x04, 0x00]);
        let size = (d.len() - 24) as u32;
        d[20..24].copy_from_slice(&size.to_le_bytes());
        d
    }

    #[test]
    fn literals_end_at_a_nul_as_the_crate_reads_them() {
        // Found by the evtx_template fuzz target: the crate reads a literal up to its first
        // NUL unit (a NUL inside a value is written as `_`).
        let units: Vec<u16> = "Home\0Dir".encode_utf16().collect();
        let plan = compile(&template_with_literal(&units), 0).unwrap();
        let texts: Vec<&str> = plan
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Text(Piece::Lit(s, e)) => Some(&plan.lits[span((*s, *e))]),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["Home"]);
        let units: Vec<u16> = "a\u{1}b".encode_utf16().collect();
        let plan = compile(&template_with_literal(&units), 0).unwrap();
        assert!(plan.lits.ends_with("a_b"), "{:?}", plan.lits);
    }

    /// What the crate's XML escaper writes for `units`, read back as the XML reader reads it.
    fn escaped_and_read_back(units: &[u8]) -> String {
        let mut out = Vec::new();
        utf16_simd::escape_xml_utf16le_into(units, units.len() / 2, &mut out, true);
        let text = String::from_utf8(out).unwrap();
        quick_xml::escape::unescape(&text).unwrap().into_owned()
    }

    #[test]
    fn strings_read_as_their_xml_rendering_reads_back() {
        // Units that matter: controls, quotes and markup, surrogates (paired and lone),
        // non-characters, and ordinary text.
        let interesting: [u16; 16] = [
            0,
            9,
            10,
            13,
            0x1f,
            b'&' as u16,
            b'<' as u16,
            b'"' as u16,
            b'a' as u16,
            0x7f,
            0xe9,
            0x20ac,
            0xd83d,
            0xde00,
            0xfffe,
            0xffff,
        ];
        for (k, r) in numbers(11).take(20_000).enumerate() {
            let len = (r % 40) as usize;
            // Every other case mostly printable ASCII (the eight-unit path), with a few
            // units of the other kinds where it must stop.
            let ascii = r % 2 == 0;
            let units: Vec<u8> = numbers(r)
                .take(len)
                .flat_map(|x| {
                    let u = match x % 7 {
                        _ if ascii && x % 13 != 0 => 0x20 + (x % 0x60) as u16,
                        0 | 1 => x as u16,
                        _ => interesting[(x % 16) as usize],
                    };
                    u.to_le_bytes()
                })
                .collect();
            let mut ours = Vec::new();
            push_utf16(&mut ours, &units);
            let ours = String::from_utf8(ours).unwrap();
            assert_eq!(
                ours,
                escaped_and_read_back(&units),
                "case {k}: {units:02x?}"
            );
        }
    }
}
