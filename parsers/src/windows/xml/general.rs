//! The general reader: quick-xml over any well-formed event XML (comments, CDATA, any
//! entity, any quoting), and the one that words the errors.

use std::borrow::Cow;

use quick_xml::events::{BytesRef, BytesStart, Event as XmlEvent};
use quick_xml::reader::Reader;

use super::walk::{Attrs, Walk, bad};
use crate::error::{ErrorKind, ParseError};
use crate::windows::fields::Event;

/// `part` (a slice of `src` handed back by quick-xml with a shorter lifetime) as a slice of
/// `src`, so that names and values outlive the XML event; a copy if it is not in `src`.
fn reborrow<'a>(src: &'a str, part: &str) -> Cow<'a, str> {
    let start = (part.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
    match src.get(start..start.wrapping_add(part.len())) {
        Some(s) if std::ptr::eq(s.as_ptr(), part.as_ptr()) => Cow::Borrowed(s),
        _ => Cow::Owned(part.to_owned()),
    }
}

/// The attributes of `e` into `out`.
fn attrs_of<'a>(
    src: &'a str,
    e: &BytesStart<'_>,
    at: u64,
    out: &mut Attrs<'a>,
) -> Result<(), ParseError> {
    out.clear();
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
        out.push((key, value));
    }
    Ok(())
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

/// Parses one `<Event>` element with quick-xml.
pub(super) fn parse(xml: &str) -> Result<Event<'_>, ParseError> {
    let mut r = Reader::from_str(xml);
    let mut w = Walk::new(xml.len());
    let mut attrs = Attrs::new();
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
                attrs_of(xml, &e, at, &mut attrs)?;
                w.open(
                    reborrow(xml, e.local_name().into_inner()),
                    &attrs,
                    depth,
                    at,
                )?;
                depth += 1;
            }
            XmlEvent::Empty(e) => {
                attrs_of(xml, &e, at, &mut attrs)?;
                w.open(
                    reborrow(xml, e.local_name().into_inner()),
                    &attrs,
                    depth,
                    at,
                )?;
                w.close(depth);
                closed = depth == 0;
            }
            XmlEvent::End(_) => {
                depth = depth.saturating_sub(1);
                w.close(depth);
                closed = depth == 0;
            }
            XmlEvent::Text(t) if w.wants_text() => w.text(t.into_inner()),
            XmlEvent::CData(t) if w.wants_text() => w.text(t.into_inner()),
            XmlEvent::GeneralRef(g) if w.wants_text() => w.text(entity(&g)),
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
    Ok(w.finish())
}
