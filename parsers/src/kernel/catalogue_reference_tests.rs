//! `classify` (and the decoder's `classify_utf8`) against `classify_reference` on mutated
//! example lines: the fast path's gates and capture programs must not change an answer.

use super::*;

/// xorshift64: a deterministic stream for the mutation test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes the patterns branch on: digits, separators, brackets, hex, a non-UTF-8 byte.
const MUTATION_BYTES: &[u8] = b"0123456789abcdefx :,=()[]{}<>\"'-_./+#\t\xff";

/// One mutation of `v`: a byte replaced, inserted, removed, a range cut out or repeated,
/// the message cut short, another example spliced on, or a multi-byte character inserted.
fn mutate(rng: &mut Rng, v: &mut Vec<u8>, examples: &[&str]) {
    let at = rng.below(v.len() + 1);
    let byte = MUTATION_BYTES[rng.below(MUTATION_BYTES.len())];
    match rng.below(8) {
        0 if at < v.len() => v[at] = byte,
        // Multi-byte UTF-8: facts must still split on character boundaries only.
        7 => {
            let c = ["é", "→", "𝄞"][rng.below(3)];
            v.splice(at..at, c.bytes());
        }
        1 => v.insert(at, byte),
        2 if at < v.len() => {
            v.remove(at);
        }
        3 => {
            let end = (at + rng.below(12)).min(v.len());
            v.drain(at..end);
        }
        4 => {
            let end = (at + rng.below(12)).min(v.len());
            let piece = v[at..end].to_vec();
            v.splice(at..at, piece);
        }
        5 => v.truncate(at),
        _ => {
            let other = examples[rng.below(examples.len())].as_bytes();
            let from = rng.below(other.len());
            v.splice(at.., other[from..].iter().copied());
        }
    }
}

#[test]
fn classify_agrees_with_the_reference_on_mutated_lines() {
    let cat = Catalogue::builtin();
    let examples: Vec<&str> = Catalogue::examples().collect();
    // Every built-in row has an example it classifies.
    let mut seen = vec![false; cat.rows().len()];
    for e in &examples {
        if let Some(c) = cat.classify_reference(e.as_bytes()) {
            seen[c.row] = true;
        }
    }
    let unseen: Vec<&str> = (0..seen.len())
        .filter(|&i| !seen[i])
        .map(|i| &*cat.rows()[i].name)
        .collect();
    assert!(unseen.is_empty(), "rows without an example: {unseen:?}");

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut classified = 0;
    for n in 0..4000 {
        let mut v = examples[n % examples.len()].as_bytes().to_vec();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut v, &examples);
        }
        let want = cat.classify_reference(&v);
        classified += usize::from(want.is_some());
        assert_eq!(cat.classify(&v), want, "{:?}", String::from_utf8_lossy(&v));
        // The decoder's path: facts sliced from the message already checked as UTF-8.
        if let Ok(utf8) = std::str::from_utf8(&v) {
            assert_eq!(cat.classify_utf8(&v, Some(utf8)), want, "{utf8:?}");
        }
    }
    // The mutations keep enough lines classified to exercise the capture programs.
    assert!(classified > 1000, "only {classified} of 4000 classified");
}
