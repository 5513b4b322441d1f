//! Arbitrary bytes as `evtx` (a file header block, then 64 KiB chunks parsed by the evtx
//! crate) through its decoder's frame/decode/finish loop. A chunk keeps the rows of its
//! readable records when others in it fail, hence [`Rows::KeptOnError`]. Seed it with the
//! chunks of the public samples (fuzz/README.md) and `-max_len=70000`, or the fuzzer never
//! builds a whole chunk.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("evtx", Rows::KeptOnError, data));
