//! The kernel catalogue's fast path against its reference: for any message,
//! `Catalogue::classify` (start-literal gates, the needle automaton, the backtracking
//! capture programs of `capture.rs`) gives exactly what `Catalogue::classify_reference`
//! (every row in order, needles by `memmem`, the regex crate's `captures`) gives: the same
//! row, class, severity and facts; so does `classify_utf8`, the decoder's path for a
//! message already known to be UTF-8.
//!
//! Input layout: byte 0 picks a seed (`Catalogue::examples`, one per built-in row and a few
//! unclassified lines) or none, byte 1 how many of the seed's bytes to keep; the rest is
//! appended. Random bytes alone seldom get past a pattern's first literal; spliced onto a
//! real class line they reach its groups, alternatives and optional tails.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serversage_parsers::kernel::Catalogue;

static EXAMPLES: LazyLock<Vec<&'static str>> = LazyLock::new(|| Catalogue::examples().collect());

fuzz_target!(|data: &[u8]| {
    let [pick, keep, rest @ ..] = data else {
        return;
    };
    let mut text = Vec::new();
    if let Some(seed) = EXAMPLES.get(usize::from(*pick)) {
        let seed = seed.as_bytes();
        // keep = 255: the whole seed; otherwise a prefix, so the tail replaces its end.
        let n = if *keep == 255 {
            seed.len()
        } else {
            usize::from(*keep) % (seed.len() + 1)
        };
        text.extend_from_slice(&seed[..n]);
    }
    text.extend_from_slice(rest);
    let cat = Catalogue::builtin();
    let got = cat.classify(&text);
    let want = cat.classify_reference(&text);
    assert_eq!(got, want, "on {:?}", String::from_utf8_lossy(&text));
    // The decoder's path: facts sliced from the message already checked as UTF-8.
    if let Ok(utf8) = std::str::from_utf8(&text) {
        assert_eq!(cat.classify_utf8(&text, Some(utf8)), want, "on {utf8:?}");
    }
});
