//! Step 6 of the module docs, on the lower-cased, space-squeezed text: `null`, `IN` and
//! `VALUES` lists, repeated `UNION` arms, `LIMIT`, `ORDER BY ... ASC`.

use memchr::memchr2;

use super::{Needle, find_iter, is_space, is_word, needle};

static NULL: Needle = needle!(b"null");
static UNION: Needle = needle!(b"union");
static SELECT: Needle = needle!(b"select");
static LIMIT: Needle = needle!(b"limit ?");
static ORDER_BY: Needle = needle!(b"order by ");

/// Upper bound of the bytes compared while looking for repeated `UNION` arms: Perl's
/// backtracking is quadratic there, and a pathological statement must not stall a source.
/// Past it the arms are left as they are (the only way this module can differ from Perl).
const UNION_BUDGET: usize = 1 << 26;

/// A pass: writes its rewrite of the text to the vector, or returns false for no change.
type Pass = fn(&[u8], &mut Vec<u8>) -> bool;

/// Applies the passes in Perl's order; the result ends in `s`. A pass runs only when `s`
/// has every byte of its keyword: most statements lack some (`select ? from t` has no `n`
/// for `null`, no `u` for `union`...), and one look at each byte for all passes costs less
/// than each pass's own search.
pub(super) fn rewrite(s: &mut Vec<u8>, tmp: &mut Vec<u8>) {
    let mut bytes = ByteSet::of(s);
    let passes: [(Pass, &[&[u8]]); 5] = [
        (nulls, &[b"null"]),
        (lists, &[b"in(", b"value("]),
        // Not `select union`: the `\s` between them may be a `\x0B`, which step 5 keeps.
        (unions, &[b"selectunion"]),
        (limit, &[b"limit ?"]),
        (order_by_asc, &[b"order by "]),
    ];
    for (pass, keywords) in passes {
        if keywords.iter().any(|k| bytes.has_all(k)) && pass(s, tmp) {
            std::mem::swap(s, tmp);
            bytes = ByteSet::of(s);
        }
    }
}

/// Which bytes occur in a text, as bits `b % 64`: a byte shares its bit with three others,
/// so [`ByteSet::has_all`] can only say yes when a byte is missing, never no when all occur.
#[derive(Clone, Copy)]
struct ByteSet(u64);

impl ByteSet {
    fn of(s: &[u8]) -> Self {
        ByteSet(s.iter().fold(0, |m, &b| m | 1 << (b & 63)))
    }

    /// False when some byte of `k` is not in the text.
    fn has_all(self, k: &[u8]) -> bool {
        k.iter().all(|&b| self.0 & 1 << (b & 63) != 0)
    }
}

#[inline]
fn boundary_before(s: &[u8], i: usize) -> bool {
    i == 0 || !is_word(s[i - 1])
}

/// `s/\bnull\b/?/g`.
fn nulls(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut copied = 0;
    let mut changed = false;
    for at in find_iter(&NULL, s) {
        if at < copied || !boundary_before(s, at) || s.get(at + 4).is_some_and(|&b| is_word(b)) {
            continue;
        }
        if !changed {
            out.clear();
            changed = true;
        }
        out.extend_from_slice(&s[copied..at]);
        out.push(b'?');
        copied = at + 4;
    }
    if changed {
        out.extend_from_slice(&s[copied..]);
    }
    changed
}

/// End of `(?:[\s,]*\([\s?,]*\))+` at `at`, if it matches at least once (each repetition
/// is deterministic, so the greedy `+` simply takes as many as there are).
fn list_groups(s: &[u8], mut at: usize) -> Option<usize> {
    let mut end = None;
    loop {
        let mut j = at
            + s[at..]
                .iter()
                .take_while(|&&b| is_space(b) || b == b',')
                .count();
        if s.get(j) != Some(&b'(') {
            return end;
        }
        j += 1;
        j += s[j..]
            .iter()
            .take_while(|&&b| is_space(b) || b == b'?' || b == b',')
            .count();
        if s.get(j) != Some(&b')') {
            return end;
        }
        end = Some(j + 1);
        at = j + 1;
    }
}

/// `s/\b(in|values?)(?:[\s,]*\([\s?,]*\))+/$1(?+)/gx`.
fn lists(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut from = 0;
    let mut copied = 0;
    let mut changed = false;
    while let Some(k) = memchr2(b'i', b'v', &s[from..]) {
        let at = from + k;
        from = at + 1;
        if !boundary_before(s, at) {
            continue;
        }
        let word = if s[at..].starts_with(b"in") {
            2
        } else if s[at..].starts_with(b"values") {
            6
        } else if s[at..].starts_with(b"value") {
            5
        } else {
            continue;
        };
        // `values?` backtracking to `value` cannot help: a list cannot start at `s`.
        let Some(end) = list_groups(s, at + word) else {
            continue;
        };
        if !changed {
            out.clear();
            changed = true;
        }
        out.extend_from_slice(&s[copied..at + word]);
        out.extend_from_slice(b"(?+)");
        copied = end;
        from = end;
    }
    if changed {
        out.extend_from_slice(&s[copied..]);
    }
    changed
}

/// One or more `(\sunion(?:\sall)?)\s` + `arm` at `at`: the end of the last repetition and
/// its separator (`$2`).
fn repeated_arm<'s>(
    s: &'s [u8],
    mut at: usize,
    arm: &[u8],
    budget: &mut usize,
) -> Option<(usize, &'s [u8])> {
    let mut found = None;
    loop {
        if !(s.get(at).is_some_and(|&b| is_space(b)) && s[at + 1..].starts_with(b"union")) {
            return found;
        }
        let k = at + 6;
        *budget = budget.saturating_sub(arm.len() + 8);
        let all = s.get(k).is_some_and(|&b| is_space(b))
            && s.get(k + 1..k + 4) == Some(b"all")
            && s.get(k + 4).is_some_and(|&b| is_space(b))
            && s[k + 5..].starts_with(arm);
        let (sep_end, arm_start) = if all {
            (k + 4, k + 5)
        } else if s.get(k).is_some_and(|&b| is_space(b)) && s[k + 1..].starts_with(arm) {
            (k, k + 1)
        } else {
            return found;
        };
        found = Some((arm_start + arm.len(), &s[at..sep_end]));
        at = arm_start + arm.len();
    }
}

/// `s/\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+/$1 \/*repeat$2*\//xg`: the shortest
/// `select ...` prefix that the same text repeats after `union`, for each `select`.
fn unions(s: &[u8], out: &mut Vec<u8>) -> bool {
    if find_iter(&UNION, s).next().is_none() {
        return false;
    }
    let mut budget = UNION_BUDGET;
    let mut from = 0;
    let mut copied = 0;
    let mut changed = false;
    while let Some(k) = find_iter(&SELECT, &s[from..]).next() {
        let at = from + k;
        from = at + 1;
        if !boundary_before(s, at) || !s.get(at + 6).is_some_and(|&b| is_space(b)) {
            continue;
        }
        let base = at + 8;
        if base > s.len() {
            break;
        }
        let mut hit = None;
        for u in find_iter(&UNION, &s[base..]) {
            let e = base + u - 1;
            if budget == 0 {
                return false;
            }
            if !is_space(s[e]) {
                continue;
            }
            if let Some(found) = repeated_arm(s, e, &s[at..e], &mut budget) {
                hit = Some((e, found));
                break;
            }
        }
        let Some((e, (end, sep))) = hit else {
            continue;
        };
        if !changed {
            out.clear();
            changed = true;
        }
        out.extend_from_slice(&s[copied..e]);
        out.extend_from_slice(b" /*repeat");
        out.extend_from_slice(sep);
        out.extend_from_slice(b"*/");
        copied = end;
        from = end;
    }
    if changed {
        out.extend_from_slice(&s[copied..]);
    }
    changed
}

/// `s/\blimit \?(?:, ?\?| offset \?)?/limit ?/`: the first one only.
fn limit(s: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(at) = find_iter(&LIMIT, s).find(|&at| boundary_before(s, at)) else {
        return false;
    };
    let rest = &s[at + 7..];
    let extra = if rest.starts_with(b", ?") {
        3
    } else if rest.starts_with(b",?") {
        2
    } else if rest.starts_with(b" offset ?") {
        9
    } else {
        return false;
    };
    out.clear();
    out.extend_from_slice(&s[..at + 7]);
    out.extend_from_slice(&rest[extra..]);
    true
}

/// `if (m/\bORDER BY /gi) { 1 while s/\G(.+?)\s+ASC/$1/gi && pos }`: from the first
/// `order by `, each following ` asc` (also the start of `ascii`...) is removed, as long as
/// every match starts where the previous one ended; `s///g` resets `pos`, so the loop runs
/// once.
fn order_by_asc(s: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(at) = find_iter(&ORDER_BY, s).find(|&at| boundary_before(s, at)) else {
        return false;
    };
    let mut g = at + 9;
    let mut changed = false;
    loop {
        // The shortest non-empty `.+?` followed by whitespace and `asc`.
        let mut j = g + 1;
        let mut hit = None;
        while j < s.len() {
            if is_space(s[j]) {
                let q = j + s[j..].iter().take_while(|&&b| is_space(b)).count();
                if s[q..].starts_with(b"asc") {
                    hit = Some((j, q + 3));
                    break;
                }
                j = q;
            } else {
                j += 1;
            }
        }
        let Some((keep_end, end)) = hit else {
            break;
        };
        if !changed {
            out.clear();
            out.extend_from_slice(&s[..g]);
            changed = true;
        }
        out.extend_from_slice(&s[g..keep_end]);
        g = end;
    }
    if changed {
        out.extend_from_slice(&s[g..]);
    }
    changed
}
