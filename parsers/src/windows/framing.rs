//! Framing shared by the text forms (rendered XML, Winlogbeat/NXLog JSON): blank lines
//! are records of their own, and a record takes its trailing blanks and line end.

use memchr::memchr;

/// Where the next record starts (`Ok`: its first non-blank byte), or what the framer
/// returns at once (`Err`): a blank line ending within `b` is a record of its own; input
/// that is all blank is one record at end of input and needs more bytes before it.
pub(crate) fn first_record_byte(b: &[u8], eof: bool) -> Result<usize, Option<usize>> {
    let first = b.iter().position(|c| !c.is_ascii_whitespace());
    if let Some(n) = memchr(b'\n', &b[..first.unwrap_or(b.len())]) {
        return Err(Some(n + 1));
    }
    first.ok_or((eof && !b.is_empty()).then_some(b.len()))
}

/// `end` extended over trailing blanks and one line end; `None` if more input could extend it.
pub(crate) fn with_line_end(b: &[u8], mut end: usize, eof: bool) -> Option<usize> {
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
