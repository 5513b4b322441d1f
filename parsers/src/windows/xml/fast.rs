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

use memchr::{memchr, memchr2, memchr3};

use super::walk::{Scratch, Walk};
use crate::windows::fields::Event;

/// Deepest element nesting read here (event XML nests about 5 deep).
pub(super) const MAX_DEPTH: usize = 64;

/// `raw` with predefined entities and character references resolved; `None` when it holds
/// another entity or a stray `&`.
fn unescape(raw: &str) -> Option<Cow<'_, str>> {
    if !has(raw, b'&') {
        return Some(Cow::Borrowed(raw));
    }
    resolve(raw)
}

/// `raw`, which holds a `&`, with its references resolved as quick-xml resolves them: the
/// predefined entities here (the only ones renderers write, `&lt;` most), anything else
/// by quick-xml itself over the whole of `raw`.
fn resolve(raw: &str) -> Option<Cow<'_, str>> {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut last = 0;
    while let Some(p) = memchr(b'&', &b[last..]) {
        let at = last + p;
        let rest = &b[at + 1..];
        let (text, n) = if rest.starts_with(b"lt;") {
            ("<", 3)
        } else if rest.starts_with(b"gt;") {
            (">", 3)
        } else if rest.starts_with(b"amp;") {
            ("&", 4)
        } else if rest.starts_with(b"quot;") {
            ("\"", 5)
        } else if rest.starts_with(b"apos;") {
            ("'", 5)
        } else {
            return quick_xml::escape::unescape(raw).ok();
        };
        out.push_str(&raw[last..at]);
        out.push_str(text);
        last = at + 1 + n;
    }
    out.push_str(&raw[last..]);
    Some(Cow::Owned(out))
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

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Byte classes of [`CLASS`].
const SPACE: u8 = 1;
/// `>` and `/`: the end of a name or of a tag's attributes.
const TAG_END: u8 = 2;
const EQ: u8 = 4;
/// A byte that has no place in a name (quick-xml rejects such names, or reads them
/// differently: leave them to it), besides `=`, `>` and `/`.
const BAD: u8 = 8;
/// What ends a name: any class above.
const NAME_STOP: u8 = SPACE | TAG_END | EQ | BAD;
/// `:`, which ends a name's prefix.
const COLON: u8 = 16;

/// The class of every byte, so that a name is read in one pass that also finds the bytes
/// that make the reader give up.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[b'>' as usize] = TAG_END;
    t[b'/' as usize] = TAG_END;
    t[b'=' as usize] = EQ;
    t[b'"' as usize] = BAD;
    t[b'\'' as usize] = BAD;
    t[b'<' as usize] = BAD;
    t[b'&' as usize] = BAD;
    t[b'?' as usize] = BAD;
    t[b'!' as usize] = BAD;
    t[b':' as usize] = COLON;
    t
};

/// End of the name starting at `from` (the first byte of a [`NAME_STOP`] class, or the
/// end), and where its local part starts (after its first `:`, as quick-xml's
/// `local_name`): one pass.
#[inline]
fn name_end(b: &[u8], from: usize) -> (usize, usize) {
    let mut j = from;
    // Four bytes a test while they fit (the classes OR-ed), then one at a time.
    while let Some(q) = b.get(j..j + 4) {
        let k = CLASS[q[0] as usize]
            | CLASS[q[1] as usize]
            | CLASS[q[2] as usize]
            | CLASS[q[3] as usize];
        if k & (NAME_STOP | COLON) != 0 {
            break;
        }
        j += 4;
    }
    while j < b.len() && CLASS[b[j] as usize] & (NAME_STOP | COLON) == 0 {
        j += 1;
    }
    if j < b.len() && b[j] == b':' {
        let local = j + 1;
        j = local;
        while j < b.len() && CLASS[b[j] as usize] & NAME_STOP == 0 {
            j += 1;
        }
        return (j, local);
    }
    (j, from)
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

/// Index of the first `<` in `b[from..]`, and whether a `&` comes before it (one pass
/// where [`find`] and [`has`] took two).
#[inline]
fn find_lt(b: &[u8], from: usize) -> Option<(usize, bool)> {
    let end = b.len().min(from + 32);
    for (k, &x) in b[from..end].iter().enumerate() {
        // One table test per byte for the usual bytes ('<' and '&' are both BAD).
        if CLASS[x as usize] & BAD != 0 {
            if x == b'<' {
                return Some((from + k, false));
            }
            if x == b'&' {
                return find(b, from + k, b'<').map(|p| (p, true));
            }
        }
    }
    match memchr2(b'<', b'&', &b[end..]) {
        Some(p) if b[end + p] == b'<' => Some((end + p, false)),
        Some(p) => find(b, end + p, b'<').map(|p| (p, true)),
        None => None,
    }
}

/// End of an attribute value starting at `from` and quoted with `q`, and whether it holds
/// a `&`; `None` when it is not closed or holds a `<`.
#[inline]
fn value_end(b: &[u8], from: usize, q: u8) -> Option<(usize, bool)> {
    let p = from + memchr3(q, b'<', b'&', &b[from..])?;
    match b[p] {
        x if x == q => Some((p, false)),
        b'<' => None,
        _ => {
            let e = p + memchr2(q, b'<', &b[p..])?;
            (b[e] == q).then_some((e, true))
        }
    }
}

/// Text already known to hold a `&` (or not), with its references resolved.
#[inline]
fn unescape_if(raw: &str, amp: bool) -> Option<Cow<'_, str>> {
    if amp {
        resolve(raw)
    } else {
        Some(Cow::Borrowed(raw))
    }
}

/// Parses one `<Event>` element, or `None` when the general reader must.
pub(super) fn parse<'a>(xml: &'a str, scratch: &mut Scratch) -> Option<Event<'a>> {
    let b = xml.as_bytes();
    // Open elements as (start, end) of their qualified names: offsets, not slices, so
    // that the stack is half the size to set up for every record.
    if u32::try_from(b.len()).is_err() {
        return None;
    }
    let (mut w, mut attrs) = Walk::from_scratch(b.len(), scratch);
    let mut stack: [(u32, u32); MAX_DEPTH] = [(0, 0); MAX_DEPTH];
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut closed = false;
    let mut i = 0usize;
    while let Some((lt, amp)) = find_lt(b, i) {
        if lt > i {
            let t = &xml[i..lt];
            if w.wants_text() {
                w.text(unescape_if(t, amp)?);
            } else if amp {
                unescape_if(t, amp)?;
            }
        }
        match *b.get(lt + 1)? {
            b'/' => {
                // The usual close tag, `</` the open element's name `>`: no scan.
                if depth > 0 {
                    let (os, oe) = stack[depth - 1];
                    let name = &b[os as usize..oe as usize];
                    let e = lt + 2 + name.len();
                    if b.get(e) == Some(&b'>') && &b[lt + 2..e] == name {
                        depth -= 1;
                        w.close(depth);
                        closed = depth == 0;
                        i = e + 1;
                        continue;
                    }
                }
                let gt = find(b, lt + 2, b'>')?;
                let mut ne = gt;
                while ne > lt + 2 && is_space(b[ne - 1]) {
                    ne -= 1;
                }
                if depth == 0 {
                    return None;
                }
                let (os, oe) = stack[depth - 1];
                if b[os as usize..oe as usize] != b[lt + 2..ne] {
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
                let mut q = lt + 2;
                i = loop {
                    q = find(b, q, b'?')?;
                    if b.get(q + 1) == Some(&b'>') {
                        break q + 2;
                    }
                    q += 1;
                };
            }
            b'!' => return None,
            _ => {
                if closed {
                    return None;
                }
                let start = lt + 1;
                let (mut j, local_at) = name_end(b, start);
                if j == start || j >= b.len() || CLASS[b[j] as usize] & (EQ | BAD) != 0 {
                    return None;
                }
                let qname = &xml[start..j];
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
                            let (ke, key_local) = name_end(b, ks);
                            j = ke;
                            if j < b.len() && CLASS[b[j] as usize] & BAD != 0 {
                                return None;
                            }
                            let key = &xml[ks..j];
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
                            let (ve, amp) = value_end(b, vs, q)?;
                            let raw = &xml[vs..ve];
                            attrs
                                .push((Cow::Borrowed(&xml[key_local..ke]), unescape_if(raw, amp)?));
                            j = ve + 1;
                            let next = *b.get(j)?;
                            if !is_space(next) && next != b'>' && next != b'/' {
                                return None;
                            }
                        }
                    }
                };
                w.open(
                    Cow::Borrowed(&qname[local_at - start..]),
                    &attrs,
                    depth,
                    lt as u64,
                )
                .ok()?;
                seen_root = true;
                if empty {
                    w.close(depth);
                    closed = depth == 0;
                } else {
                    if depth >= MAX_DEPTH {
                        return None;
                    }
                    stack[depth] = (start as u32, (start + qname.len()) as u32);
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
    closed.then(|| w.finish_into(attrs, scratch))
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn references_resolve_as_quick_xml_resolves_them() {
        for raw in [
            "&lt;a&gt;",
            "x &amp; y;z &quot;q&quot; &apos;",
            "a;b&lt;;c",
            "&#60;&lt;",
            "&#x3C;",
            "&nbsp;",
            "&lt",
            "& lt;",
            "&&lt;",
            "tail &amp;",
            "&LT;",
        ] {
            assert_eq!(
                resolve(raw),
                quick_xml::escape::unescape(raw).ok(),
                "{raw:?}"
            );
        }
    }
}
