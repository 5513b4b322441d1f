//! Template definitions (and fragments of plain elements) compiled into replay plans: the
//! element tree as open/text/close operations, attribute and text pieces that are literals
//! or substitutions.

use super::values::{push_utf16, until_nul};

/// Deepest element nesting replayed (event templates nest about 5 deep).
const MAX_DEPTH: usize = 32;

/// A piece of an attribute value or of element text.
#[derive(Debug, Clone, Copy)]
pub(super) enum Piece {
    /// Literal text: a span of [`Plan::lits`].
    Lit(u32, u32),
    /// Substitution value `n` of the instance.
    Sub(u16),
}

#[derive(Debug)]
pub(super) struct Attr {
    pub(super) name: (u32, u32),
    /// Its value's pieces: a span of [`Plan::pieces`].
    pub(super) pieces: (u32, u32),
}

#[derive(Debug)]
pub(super) enum Op {
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
    pub(super) ops: Vec<Op>,
    pub(super) attrs: Vec<Attr>,
    pub(super) pieces: Vec<Piece>,
    /// Element and attribute names and literal text.
    pub(super) lits: String,
}

/// Reads BinXML tokens of a template definition.
pub(super) struct Reader<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
}

impl Reader<'_> {
    pub(super) fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
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
pub(super) fn compile(data: &[u8], def: u32) -> Option<Plan> {
    let def = def as usize;
    let size = u32::from_le_bytes(data.get(def + 20..def + 24)?.try_into().ok()?) as usize;
    let mut p = Plan::default();
    compile_into(&mut p, data, def + 24, (def + 24).checked_add(size)?, true)?;
    Some(p)
}

impl Plan {
    pub(super) fn clear(&mut self) {
        self.ops.clear();
        self.attrs.clear();
        self.pieces.clear();
        self.lits.clear();
    }
}

/// Compiles the BinXML of `data[start..end]` into `p`: a template definition (`template`:
/// one root, elements carry DependencyIds, substitutions) or a fragment of plain elements
/// nested in a record's value (no DependencyIds, literal text only, several roots allowed).
pub(super) fn compile_into(
    p: &mut Plan,
    data: &[u8],
    start: usize,
    end: usize,
    template: bool,
) -> Option<()> {
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

pub(super) fn span((s, e): (u32, u32)) -> std::ops::Range<usize> {
    s as usize..e as usize
}
