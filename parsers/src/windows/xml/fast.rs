//! The fast reader: a lexer for event XML as renderers write it (the evtx crate, Windows'
//! `EvtRender`, WEF): elements, attributes in either quote, text with predefined entities
//! and character references, an XML declaration before the root. Anything else (comments,
//! CDATA, processing instructions, DOCTYPE, unknown entities, ill-formed markup, nesting
//! past [`MAX_DEPTH`]) makes it give up (`None`) and the general reader (quick-xml) reads
//! the record and words its errors. Where it does not give up it gives the general
//! reader's result: tests and the `windows_xml` fuzz target check that.
//!
//! Why it exists: the evtx decoder reads every record through XML, and quick-xml's event
//! and attribute machinery cost more than the crate's own rendering.

use std::borrow::Cow;

use memchr::{memchr, memmem};

use super::walk::{Attrs, Walk};
use crate::windows::fields::Event;

/// Deepest element nesting read here (event XML nests about 5 deep).
pub(super) const MAX_DEPTH: usize = 64;

/// `raw` with predefined entities and character references resolved; `None` when it holds
/// another entity or a stray `&`.
fn unescape(raw: &str) -> Option<Cow<'_, str>> {
    if !has(raw, b'&') {
        return Some(Cow::Borrowed(raw));
    }
    quick_xml::escape::unescape(raw).ok()
}

/// Whether `s` holds the byte `c` (a plain loop for the short strings of event XML).
#[inline]
fn has(s: &str, c: u8) -> bool {
    let b = s.as_bytes();
    if b.len() > 64 {
        return memchr(c, b).is_some();
    }
    let mut found = false;
    for &x in b {
        found |= x == c;
    }
    found
}

/// The part of a qualified name after its first `:` (as quick-xml's `local_name`).
fn local(qname: &str) -> &str {
    match qname.bytes().position(|c| c == b':') {
        Some(i) => &qname[i + 1..],
        None => qname,
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// A byte that has no place in a name (quick-xml rejects such names, or reads them
/// differently: leave them to it).
fn bad_in_name(c: u8) -> bool {
    matches!(
        c,
        b'"' | b'\'' | b'=' | b'<' | b'&' | b'>' | b'/' | b'?' | b'!'
    )
}

/// Index of the first `c` in `b[from..]`: a plain loop over the first bytes (names and
/// values are short, and memchr's setup costs more than they do), then memchr.
#[inline]
fn find(b: &[u8], from: usize, c: u8) -> Option<usize> {
    let end = b.len().min(from + 32);
    for (k, &x) in b[from..end].iter().enumerate() {
        if x == c {
            return Some(from + k);
        }
    }
    memchr(c, &b[end..]).map(|p| end + p)
}

/// Parses one `<Event>` element, or `None` when the general reader must.
pub(super) fn parse(xml: &str) -> Option<Event<'_>> {
    let b = xml.as_bytes();
    let mut w = Walk::new(b.len());
    let mut attrs = Attrs::with_capacity(8);
    let mut stack: [&str; MAX_DEPTH] = [""; MAX_DEPTH];
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut closed = false;
    let mut i = 0usize;
    while let Some(lt) = find(b, i, b'<') {
        if lt > i {
            let t = &xml[i..lt];
            if w.wants_text() {
                w.text(unescape(t)?);
            } else if has(t, b'&') {
                unescape(t)?;
            }
        }
        match *b.get(lt + 1)? {
            b'/' => {
                let gt = find(b, lt + 2, b'>')?;
                let name = xml[lt + 2..gt].trim_end_matches(|c: char| is_space(c as u8));
                if depth == 0 || stack[depth - 1] != name {
                    return None;
                }
                depth -= 1;
                w.close(depth);
                closed = depth == 0;
                i = gt + 1;
            }
            b'?' => {
                if seen_root {
                    return None;
                }
                i = lt + 2 + memmem::find(&b[lt + 2..], b"?>")? + 2;
            }
            b'!' => return None,
            _ => {
                if closed {
                    return None;
                }
                let start = lt + 1;
                let mut j = start;
                while j < b.len() && !is_space(b[j]) && !matches!(b[j], b'>' | b'/') {
                    j += 1;
                }
                if j == start || j >= b.len() {
                    return None;
                }
                let qname = &xml[start..j];
                if qname.bytes().any(bad_in_name) {
                    return None;
                }
                attrs.clear();
                let empty = loop {
                    while j < b.len() && is_space(b[j]) {
                        j += 1;
                    }
                    match *b.get(j)? {
                        b'>' => {
                            j += 1;
                            break false;
                        }
                        b'/' => {
                            if b.get(j + 1) != Some(&b'>') {
                                return None;
                            }
                            j += 2;
                            break true;
                        }
                        _ => {
                            let ks = j;
                            while j < b.len()
                                && !is_space(b[j])
                                && !matches!(b[j], b'=' | b'>' | b'/')
                            {
                                j += 1;
                            }
                            let key = &xml[ks..j];
                            if key.bytes().any(bad_in_name) {
                                return None;
                            }
                            while j < b.len() && is_space(b[j]) {
                                j += 1;
                            }
                            if key.is_empty() || b.get(j) != Some(&b'=') {
                                return None;
                            }
                            j += 1;
                            while j < b.len() && is_space(b[j]) {
                                j += 1;
                            }
                            let q = *b.get(j)?;
                            if q != b'"' && q != b'\'' {
                                return None;
                            }
                            let vs = j + 1;
                            let ve = find(b, vs, q)?;
                            let raw = &xml[vs..ve];
                            if has(raw, b'<') {
                                return None;
                            }
                            attrs.push((Cow::Borrowed(local(key)), unescape(raw)?));
                            j = ve + 1;
                            let next = *b.get(j)?;
                            if !is_space(next) && next != b'>' && next != b'/' {
                                return None;
                            }
                        }
                    }
                };
                w.open(Cow::Borrowed(local(qname)), &attrs, depth, lt as u64)
                    .ok()?;
                seen_root = true;
                if empty {
                    w.close(depth);
                    closed = depth == 0;
                } else {
                    if depth >= MAX_DEPTH {
                        return None;
                    }
                    stack[depth] = qname;
                    depth += 1;
                }
                i = j;
            }
        }
    }
    let tail = &xml[i..];
    if has(tail, b'&') {
        unescape(tail)?;
    }
    closed.then(|| w.finish())
}
