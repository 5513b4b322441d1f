//! Arbitrary bytes as `journalctl -k -o json` lines through the `journald-json` decoder's
//! frame/decode/finish loop, fed in several chunkings.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("journald-json", Rows::One, data));
