//! Arbitrary bytes as `windows-xml` (rendered `<Event>` elements, back to back, over lines,
//! in an `<Events>` wrapper) through its decoder's frame/decode/finish loop. One event is
//! one row; the declaration, wrapper tags and comments are structural records (no row).
//!
//! The invariants checked and the input layout are in `harness.rs`. Besides, wherever the
//! fast XML reader reads an input it must read what the general (quick-xml) one reads.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    harness::check("windows-xml", Rows::AtMostOne, data);
    if let Some(text) = data.get(3..).and_then(|d| std::str::from_utf8(d).ok()) {
        assert_ne!(
            serversage_parsers::windows::readers_agree(text),
            Some(false),
            "the fast and the general XML readers disagree"
        );
    }
});
