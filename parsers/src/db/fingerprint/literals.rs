//! Comments, quoted strings, numbers, whitespace and case: steps 3 to 5 of the module docs.
//!
//! Each pass reads `s` and, when it changes something, writes the result into `out` and
//! returns true (the caller swaps the buffers); when it returns false `out` is garbage.

use memchr::{memchr, memchr2};

use super::{is_space, is_word, starts_ci};

/// `s#/\*[^!].*?\*/##smg`: block comments, except `/*!...*/` version comments.
///
/// When a comment has no closing `*/`, no later one has either, so the scan stops.
pub(super) fn block_comments(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut from = 0;
    let mut copied = 0;
    let mut changed = false;
    while let Some(k) = super::comment_opens(&s[from..]).next() {
        let open = from + k;
        if s.get(open + 2).is_none_or(|&b| b == b'!') {
            from = open + 1;
            continue;
        }
        let Some(k) = memchr::memchr_iter(b'*', &s[open + 3..])
            .find(|&k| s.get(open + 3 + k + 1) == Some(&b'/'))
        else {
            break;
        };
        if !changed {
            out.clear();
            changed = true;
        }
        out.extend_from_slice(&s[copied..open]);
        copied = open + 3 + k + 2;
        from = copied;
    }
    if changed {
        out.extend_from_slice(&s[copied..]);
    }
    changed
}

/// `s/(?:--|#)[^'"\r\n]*(?=[\r\n]|\Z)//g`: `--` and `#` comments that reach the end of the
/// line with no quote on the way (a `#` before a quote on its line stays, in Perl too).
pub(super) fn line_comments(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut from = 0;
    let mut copied = 0;
    let mut changed = false;
    while let Some(k) = memchr2(b'#', b'-', &s[from..]) {
        let at = from + k;
        let body = match s[at] {
            b'#' => at + 1,
            _ if s.get(at + 1) == Some(&b'-') => at + 2,
            _ => {
                from = at + 1;
                continue;
            }
        };
        let end = body
            + s[body..]
                .iter()
                .take_while(|&&b| !matches!(b, b'\'' | b'"' | b'\r' | b'\n'))
                .count();
        if end < s.len() && matches!(s[end], b'\'' | b'"') {
            // Every comment start before `end` runs into the same quote.
            from = end;
            continue;
        }
        if !changed {
            out.clear();
            changed = true;
        }
        out.extend_from_slice(&s[copied..at]);
        copied = end;
        from = end;
    }
    if changed {
        out.extend_from_slice(&s[copied..]);
    }
    changed
}

/// `s/\\["']//g`: a backslash and the quote it escapes are dropped.
pub(super) fn escaped_quotes(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut from = 0;
    let mut copied = 0;
    let mut changed = false;
    while let Some(k) = memchr(b'\\', &s[from..]) {
        let at = from + k;
        if matches!(s.get(at + 1), Some(b'"' | b'\'')) {
            if !changed {
                out.clear();
                changed = true;
            }
            out.extend_from_slice(&s[copied..at]);
            copied = at + 2;
            from = at + 2;
        } else {
            from = at + 1;
        }
    }
    if changed {
        out.extend_from_slice(&s[copied..]);
    }
    changed
}

/// `s/Q.*?Q/?/sg` for the quote `Q`: each quoted span becomes `?`; an unclosed quote stays.
pub(super) fn quoted(s: &[u8], quote: u8, out: &mut Vec<u8>) -> bool {
    let mut from = 0;
    let mut changed = false;
    while let Some(k) = memchr(quote, &s[from..]) {
        let open = from + k;
        let Some(k) = memchr(quote, &s[open + 1..]) else {
            break;
        };
        if !changed {
            out.clear();
            changed = true;
        }
        out.extend_from_slice(&s[from..open]);
        out.push(b'?');
        from = open + 1 + k + 1;
    }
    if changed {
        out.extend_from_slice(&s[from..]);
    }
    changed
}

/// Length of `true` / `false` at `i` when `s/\bfalse\b|\btrue\b/?/isg` replaces it there.
#[inline]
fn boolean_at(s: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_word(s[i - 1]) {
        return None;
    }
    let len = if starts_ci(s, i, b"false") {
        5
    } else if starts_ci(s, i, b"true") {
        4
    } else {
        return None;
    };
    s.get(i + len).is_none_or(|&b| !is_word(b)).then_some(len)
}

/// Bytes that continue a number in `s/[0-9+-][0-9a-f.xb+-]*/?/g` (`b` is in `a-f`;
/// lower-case only: the pass runs before `lc`).
#[inline]
fn continues_number(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'.' | b'x' | b'+' | b'-')
}

/// What a byte is to a run of step 5's bytes that it only lower-cases.
#[derive(Clone, Copy)]
enum Run {
    /// Only lower-cased: not whitespace, digits, `+`, `-`, `?`, `t`, `f`.
    Plain,
    /// The first letter of `true` / `false`: in a run unless a boolean starts there.
    Letter,
    /// A space: in a run when it is alone (no whitespace before or after it).
    Space,
    /// Anything else ends a run.
    Other,
}

/// [`Run`] of each byte.
static RUN: [Run; 256] = {
    let mut t = [Run::Plain; 256];
    let special = b"\n\t\r\x0c0123456789+-?";
    let mut k = 0;
    while k < special.len() {
        t[special[k] as usize] = Run::Other;
        k += 1;
    }
    let letters = b"tTfF";
    k = 0;
    while k < letters.len() {
        t[letters[k] as usize] = Run::Letter;
        k += 1;
    }
    t[b' ' as usize] = Run::Space;
    t
};

/// Whitespace that step 5 squeezes (Perl's `tr[ \n\t\r\f][ ]s`; not `\x0B`).
#[inline]
fn is_squeezed(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t' | b'\r' | 0x0C)
}

/// The output of step 5, built byte by byte.
struct Out<'o> {
    o: &'o mut Vec<u8>,
    /// A run of whitespace waits here, so that it becomes one space before the next byte.
    space: bool,
    /// The last byte emitted, before lower-casing (`x`, `b` are case-sensitive here).
    last: u8,
}

impl Out<'_> {
    #[inline]
    fn byte(&mut self, b: u8) {
        if is_squeezed(b) {
            self.space = true;
            self.last = b' ';
            return;
        }
        if self.space {
            self.o.push(b' ');
            self.space = false;
        }
        self.o.push(b.to_ascii_lowercase());
        self.last = b;
    }

    /// A `?` (a literal, a number, a boolean, a quoted string): merges with a `x`, `b`, `.`,
    /// `+` or `-` right before it (`s/[xb.+-]\?/?/g`); with `parameter`, it takes a `$` before
    /// it that does not continue an identifier too (PostgreSQL `$1`).
    #[inline]
    fn question(&mut self, parameter: bool) {
        if self.space {
            self.o.push(b' ');
            self.space = false;
        } else if matches!(self.last, b'x' | b'b' | b'.' | b'+' | b'-') {
            self.o.pop();
        } else if parameter && self.last == b'$' {
            let n = self.o.len();
            let before = if n >= 2 { self.o[n - 2] } else { b' ' };
            if !is_word(before) && before != b'$' {
                self.o.pop();
            }
        }
        self.o.push(b'?');
        self.last = b'?';
    }
}

/// Booleans and numbers to `?`, `[xb.+-]?` merged, leading whitespace and one trailing
/// newline removed, whitespace runs squeezed to one space, ASCII lower-cased: Perl's
/// `s/\bfalse\b|\btrue\b/?/isg; s/[0-9+-][0-9a-f.xb+-]*/?/g; s/[xb.+-]\?/?/g; s/\A\s+//;
/// chomp; tr[ \n\t\r\f][ ]s; lc` in one pass.
///
/// Fusing is exact because none of these steps creates or removes whitespace, and a
/// boolean replaced first ends any number that would run into it (`-false` → `-?` → `?`).
pub(super) fn values_and_case(s: &[u8], bind_parameters: bool, o: &mut Vec<u8>) {
    o.clear();
    let mut i = s.iter().take_while(|&&b| is_space(b)).count();
    let end = if s.len() > i && s[s.len() - 1] == b'\n' {
        s.len() - 1
    } else {
        s.len()
    };
    let mut out = Out {
        o,
        space: false,
        last: b' ',
    };
    while i < end {
        // Most bytes only change case: copy runs of them at once. A `t` or `f` that does not
        // start a boolean, and a single space (not after a pending one: nothing to squeeze),
        // stay in the run: they come out as they are, and a run costs less than a step.
        let mut j = i;
        while j < end {
            let c = s[j];
            let plain = match RUN[usize::from(c)] {
                Run::Plain => true,
                Run::Letter => boolean_at(s, j).is_none(),
                Run::Space => {
                    (j > i || !out.space) && !s.get(j + 1).is_some_and(|&b| is_squeezed(b))
                }
                Run::Other => false,
            };
            if !plain {
                break;
            }
            j += 1;
        }
        if j > i {
            if out.space {
                out.o.push(b' ');
                out.space = false;
            }
            out.o.extend(s[i..j].iter().map(u8::to_ascii_lowercase));
            out.last = s[j - 1];
            i = j;
            continue;
        }
        let b = s[i];
        match b {
            b't' | b'T' | b'f' | b'F' => {
                if let Some(len) = boolean_at(s, i) {
                    out.question(false);
                    i += len;
                    continue;
                }
                out.byte(b);
                i += 1;
            }
            b'0'..=b'9' | b'+' | b'-' => {
                let mut j = i + 1;
                while j < end && continues_number(s[j]) && boolean_at(s, j).is_none() {
                    j += 1;
                }
                out.question(bind_parameters && b.is_ascii_digit());
                i = j;
            }
            b'?' => {
                out.question(false);
                i += 1;
            }
            _ => {
                out.byte(b);
                i += 1;
            }
        }
    }
    if out.space {
        out.o.push(b' ');
    }
}
