//! Capture groups of a catalogue row by backtracking, for the patterns that allow it.
//!
//! Once a row's regex is known to match, its facts need the spans of its groups. The regex
//! crate's capturing engines (one-pass DFA, bounded backtracker, PikeVM) cost 20–100
//! instructions per byte on the catalogue's patterns: every step of a greedy `\S+` at the
//! end of a pattern is a match state, a lazy `.*?` keeps a visited set. Most catalogue
//! patterns are a chain of literals, byte-class runs, optional groups and alternations;
//! for those a backtracking matcher that scans a class run in a tight loop costs a few
//! instructions per byte.
//!
//! Backtracking in priority order (first alternative, longer greedy run, shorter lazy run
//! first) is exactly the regex crate's leftmost-first semantics from a fixed start, as long
//! as no loop can repeat an empty match; patterns with such loops, with look-arounds other
//! than `^`/`$` (`\A`/`\z`), or with non-ASCII Unicode classes are not compiled ([`Program::new`]
//! returns `None`) and keep the regex crate's engines. A step budget linear in the message
//! length bounds the work on hostile input: past it the caller falls back as well.

use std::cell::RefCell;

use memchr::memmem;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Most instructions a program may have (counted repetitions are unrolled).
const MAX_INSTS: usize = 2048;

#[derive(Debug, Clone)]
enum Inst {
    /// These bytes next.
    Lit(Box<[u8]>),
    /// `min..=max` bytes of class `set`, as many as possible first or as few.
    Run {
        set: u16,
        min: u32,
        max: u32,
        greedy: bool,
    },
    /// Try the first target, then the second.
    Split(u32, u32),
    Jmp(u32),
    /// Record the position in a slot.
    Save(u32),
    /// Position 0 (`^`, `\A`).
    Start,
    /// The end of the text (`$`, `\z`).
    End,
    Match,
}

/// A compiled pattern: instructions plus byte classes as lookup tables.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    insts: Vec<Inst>,
    sets: Vec<[bool; 256]>,
    /// Slots: two per group, group 0 (the whole match) included.
    slots: usize,
    /// Every match starts at 0.
    anchored: bool,
    /// The literal every match starts with, if any: where an unanchored search tries.
    first: Option<memmem::Finder<'static>>,
}

/// What backtracking can undo.
enum Frame {
    /// Resume at `pc`, position `at`.
    Pc(u32, usize),
    /// Give the slot its old value back.
    Slot(u32, usize),
    /// A greedy run ended at `at`: it may give back bytes down to `lo`; continue at `pc`.
    Greedy { pc: u32, lo: usize, at: usize },
    /// A lazy run ended at `at`: it may take more bytes of `set` up to `hi`.
    Lazy {
        pc: u32,
        set: u16,
        at: usize,
        hi: usize,
    },
}

/// Steps a search of `text` may take: linear in its length.
fn budget(text: &[u8]) -> usize {
    256 + 64 * text.len()
}

thread_local! {
    /// The backtracking stack, kept between searches (no allocation per message).
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// No slot value.
pub(crate) const NONE: usize = usize::MAX;

struct Compiler {
    insts: Vec<Inst>,
    sets: Vec<[bool; 256]>,
    groups: u32,
}

impl Compiler {
    fn push(&mut self, i: Inst) -> Option<u32> {
        if self.insts.len() >= MAX_INSTS {
            return None;
        }
        self.insts.push(i);
        Some(self.insts.len() as u32 - 1)
    }

    fn here(&self) -> u32 {
        self.insts.len() as u32
    }

    fn set_of(&mut self, class: &Class) -> Option<u16> {
        let mut set = [false; 256];
        match class {
            Class::Bytes(c) => {
                for r in c.iter() {
                    for b in r.start()..=r.end() {
                        set[usize::from(b)] = true;
                    }
                }
            }
            // Only ASCII: elsewhere a Unicode class matches multi-byte sequences.
            Class::Unicode(c) => {
                for r in c.iter() {
                    if u32::from(r.end()) > 0x7f {
                        return None;
                    }
                    for b in u32::from(r.start())..=u32::from(r.end()) {
                        set[b as usize] = true;
                    }
                }
            }
        }
        let i = match self.sets.iter().position(|s| *s == set) {
            Some(i) => i,
            None => {
                self.sets.push(set);
                self.sets.len() - 1
            }
        };
        u16::try_from(i).ok()
    }

    fn compile(&mut self, hir: &Hir) -> Option<()> {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(l) => {
                self.push(Inst::Lit(l.0.clone()))?;
            }
            HirKind::Class(c) => {
                let set = self.set_of(c)?;
                self.push(Inst::Run {
                    set,
                    min: 1,
                    max: 1,
                    greedy: true,
                })?;
            }
            HirKind::Look(Look::Start) => {
                self.push(Inst::Start)?;
            }
            HirKind::Look(Look::End) => {
                self.push(Inst::End)?;
            }
            HirKind::Look(_) => return None,
            HirKind::Capture(c) => {
                self.groups = self.groups.max(c.index + 1);
                self.push(Inst::Save(c.index * 2))?;
                self.compile(&c.sub)?;
                self.push(Inst::Save(c.index * 2 + 1))?;
            }
            HirKind::Concat(subs) => {
                for s in subs {
                    self.compile(s)?;
                }
            }
            HirKind::Alternation(subs) => {
                let mut jumps = Vec::new();
                for (k, s) in subs.iter().enumerate() {
                    if k + 1 == subs.len() {
                        self.compile(s)?;
                    } else {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.compile(s)?;
                        jumps.push(self.push(Inst::Jmp(0))?);
                        let next = self.here();
                        self.insts[split as usize] = Inst::Split(split + 1, next);
                    }
                }
                let end = self.here();
                for j in jumps {
                    self.insts[j as usize] = Inst::Jmp(end);
                }
            }
            HirKind::Repetition(r) => {
                let max = r.max.unwrap_or(u32::MAX);
                if let HirKind::Class(c) = r.sub.kind() {
                    let set = self.set_of(c)?;
                    self.push(Inst::Run {
                        set,
                        min: r.min,
                        max,
                        greedy: r.greedy,
                    })?;
                    return Some(());
                }
                // A loop that can go round on an empty match has subtle semantics: leave it
                // to the regex crate. An optional (`?`) part may be empty: it does not loop.
                if max > 1 && r.sub.properties().minimum_len().is_none_or(|n| n == 0) {
                    return None;
                }
                for _ in 0..r.min {
                    self.compile(&r.sub)?;
                }
                if r.max.is_none() {
                    // sub*: L: Split(body, out); body; Jmp L
                    let l = self.push(Inst::Split(0, 0))?;
                    self.compile(&r.sub)?;
                    self.push(Inst::Jmp(l))?;
                    let out = self.here();
                    self.insts[l as usize] = self.split(r.greedy, l + 1, out);
                } else {
                    // Up to max - min optional copies, nested: (?:sub(?:sub)?)?
                    let mut splits = Vec::new();
                    for _ in r.min..max {
                        splits.push(self.push(Inst::Split(0, 0))?);
                        self.compile(&r.sub)?;
                    }
                    let out = self.here();
                    for s in splits {
                        self.insts[s as usize] = self.split(r.greedy, s + 1, out);
                    }
                }
            }
        }
        Some(())
    }

    fn split(&self, greedy: bool, body: u32, out: u32) -> Inst {
        if greedy {
            Inst::Split(body, out)
        } else {
            Inst::Split(out, body)
        }
    }
}

impl Program {
    /// Compiles `pattern` as `regex::bytes::Regex` parses it, if its constructs allow.
    pub(crate) fn new(pattern: &str) -> Option<Program> {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
            .ok()?;
        let mut c = Compiler {
            insts: Vec::new(),
            sets: Vec::new(),
            groups: 1,
        };
        c.push(Inst::Save(0))?;
        c.compile(&hir)?;
        c.push(Inst::Save(1))?;
        c.push(Inst::Match)?;
        let first = match &c.insts[1] {
            Inst::Lit(l) => Some(memmem::Finder::new(&l[..]).into_owned()),
            _ => None,
        };
        Some(Program {
            insts: c.insts,
            sets: c.sets,
            slots: c.groups as usize * 2,
            anchored: hir.properties().look_set_prefix().contains(Look::Start),
            first,
        })
    }

    /// True when [`Program::captures`] finds the start itself: the pattern is anchored or
    /// starts with a literal. Otherwise the caller finds the start (the regex's DFA does
    /// that faster than trying every position) and calls [`Program::captures_at`].
    pub(crate) fn finds_start(&self) -> bool {
        self.anchored || self.first.is_some()
    }

    /// The leftmost-first match, for a program that [finds its start](Program::finds_start):
    /// as [`Program::captures_at`], trying every start the pattern allows in order.
    pub(crate) fn captures(&self, text: &[u8], slots: &mut [usize]) -> Result<bool, ()> {
        let mut budget = budget(text);
        if self.anchored {
            return self.run(text, 0, slots, &mut budget);
        }
        let first = self.first.as_ref().expect("finds_start");
        let mut from = 0;
        while let Some(i) = first.find(&text[from..]) {
            if self.run(text, from + i, slots, &mut budget)? {
                return Ok(true);
            }
            from += i + 1;
        }
        Ok(false)
    }

    /// Slots [`Program::captures_at`] fills: two per group.
    pub(crate) fn slot_count(&self) -> usize {
        self.slots
    }

    /// The leftmost-first match starting exactly at `start`, its group spans in `slots`
    /// ([`NONE`] for groups that did not take part). `Err(())` when the step budget ran out.
    pub(crate) fn captures_at(
        &self,
        text: &[u8],
        start: usize,
        slots: &mut [usize],
    ) -> Result<bool, ()> {
        self.run(text, start, slots, &mut budget(text))
    }

    fn run(
        &self,
        text: &[u8],
        start: usize,
        slots: &mut [usize],
        budget: &mut usize,
    ) -> Result<bool, ()> {
        slots.fill(NONE);
        STACK.with_borrow_mut(|stack| {
            stack.clear();
            self.run_with(text, start, slots, budget, stack)
        })
    }

    fn run_with(
        &self,
        text: &[u8],
        start: usize,
        slots: &mut [usize],
        budget: &mut usize,
        stack: &mut Vec<Frame>,
    ) -> Result<bool, ()> {
        let (mut pc, mut at) = (0u32, start);
        loop {
            *budget = budget.checked_sub(1).ok_or(())?;
            let ok = match &self.insts[pc as usize] {
                Inst::Lit(l) => {
                    let ok = text.get(at..).is_some_and(|t| t.starts_with(l));
                    at += l.len();
                    ok
                }
                &Inst::Run {
                    set,
                    min,
                    max,
                    greedy,
                } => {
                    let s = &self.sets[usize::from(set)];
                    let lim = text.len().min(at.saturating_add(max as usize));
                    let need = at.saturating_add(min as usize);
                    if greedy {
                        let mut p = at;
                        while p < lim && s[usize::from(text[p])] {
                            p += 1;
                        }
                        if p < need {
                            false
                        } else {
                            if p > need {
                                stack.push(Frame::Greedy {
                                    pc: pc + 1,
                                    lo: need,
                                    at: p,
                                });
                            }
                            at = p;
                            true
                        }
                    } else if need > lim || !text[at..need].iter().all(|&b| s[usize::from(b)]) {
                        false
                    } else {
                        if need < lim {
                            stack.push(Frame::Lazy {
                                pc: pc + 1,
                                set,
                                at: need,
                                hi: lim,
                            });
                        }
                        at = need;
                        true
                    }
                }
                &Inst::Split(x, y) => {
                    stack.push(Frame::Pc(y, at));
                    pc = x;
                    continue;
                }
                &Inst::Jmp(x) => {
                    pc = x;
                    continue;
                }
                &Inst::Save(k) => {
                    let k = k as usize;
                    stack.push(Frame::Slot(k as u32, slots[k]));
                    slots[k] = at;
                    true
                }
                Inst::Start => at == 0,
                Inst::End => at == text.len(),
                Inst::Match => return Ok(true),
            };
            if ok {
                pc += 1;
                continue;
            }
            // Backtrack to the most recent choice still open.
            loop {
                match stack.pop() {
                    None => return Ok(false),
                    Some(Frame::Pc(p, a)) => {
                        (pc, at) = (p, a);
                        break;
                    }
                    Some(Frame::Slot(k, old)) => slots[k as usize] = old,
                    Some(Frame::Greedy { pc: p, lo, at: a }) => {
                        let a = a - 1;
                        if a > lo {
                            stack.push(Frame::Greedy { pc: p, lo, at: a });
                        }
                        (pc, at) = (p, a);
                        break;
                    }
                    Some(Frame::Lazy {
                        pc: p,
                        set,
                        at: a,
                        hi,
                    }) => {
                        if !self.sets[usize::from(set)][usize::from(text[a])] {
                            continue;
                        }
                        let a = a + 1;
                        if a < hi {
                            stack.push(Frame::Lazy {
                                pc: p,
                                set,
                                at: a,
                                hi,
                            });
                        }
                        (pc, at) = (p, a);
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::bytes::Regex;

    /// Our spans equal the regex crate's for every start the regex reports.
    fn same(pattern: &str, texts: &[&[u8]]) {
        let re = Regex::new(pattern).unwrap();
        let p = Program::new(pattern).unwrap_or_else(|| panic!("compiles: {pattern}"));
        let mut slots = vec![NONE; p.slot_count()];
        for t in texts {
            let want = re.captures(t);
            let got = if p.finds_start() {
                p.captures(t, &mut slots)
            } else {
                let start = want.as_ref().map_or(0, |c| c.get(0).unwrap().start());
                p.captures_at(t, start, &mut slots)
            };
            let got = got.expect("within budget");
            assert_eq!(
                got,
                want.is_some(),
                "{pattern} on {:?}",
                String::from_utf8_lossy(t)
            );
            if let Some(c) = want {
                for g in 0..c.len() {
                    let w = c.get(g).map(|m| (m.start(), m.end()));
                    let s = (slots[2 * g] != NONE).then(|| (slots[2 * g], slots[2 * g + 1]));
                    assert_eq!(
                        s,
                        w,
                        "{pattern} group {g} on {:?}",
                        String::from_utf8_lossy(t)
                    );
                }
            }
        }
    }

    #[test]
    fn priorities_match_the_regex_crate() {
        let texts: &[&[u8]] = &[
            b"",
            b"a",
            b"ab",
            b"aab",
            b"abab",
            b"xaby",
            b"a:b:c",
            b"aaa:bbb: x",
            b"key=\"v\" k2=\"w\"",
            b"xy",
            b"\xffa\xfeb",
        ];
        for p in [
            r"(?-u)^(?P<a>.+?):(?P<b>.*)",
            r"(?-u)^(?P<a>.+):(?P<b>.*)",
            r"(?-u)^(?P<a>\S+):",
            r"(?-u)^(?:(?P<a>\S+):)?(?P<b>\w+)",
            r"(?-u)(?P<a>a|ab)(?P<b>b)?",
            r"(?-u)^(?P<a>a{1,2})(?P<b>a*?)b",
            r"(?-u)^(?:(?P<x>a)|b)+",
            r"(?-u)^(?:(?P<x>x)|y)+",
            r"(?-u)(?:ab)+$",
            r"(?-u)(?:ab){2}",
            r"(?-u)^(?:ab){1,3}?",
            r#"(?-u)k="(?P<v>[^"]*)"(?:.*? k2="(?P<w>[^"]*)")?"#,
            r"(?i-u)^(?P<a>[a-z]+) ?",
            r"(?-u)^.*$",
            r"(?-u)(?P<e>)a",
        ] {
            same(p, texts);
        }
        // Look-arounds other than ^ and $, empty loops and Unicode classes are refused.
        for p in [r"\bx", r"(?m)^x", r"(?:a*)*", r"(?u)."] {
            assert!(Program::new(p).is_none(), "{p}");
        }
    }

    #[test]
    fn hostile_input_runs_out_of_budget() {
        let p = Program::new(r"(?-u)^(?:a|aa)+b").unwrap();
        let t = vec![b'a'; 64];
        let mut slots = vec![NONE; p.slot_count()];
        assert_eq!(p.captures_at(&t, 0, &mut slots), Err(()));
    }
}
