//! Arbitrary bytes as `winlogbeat-json` through its decoder's frame/decode/finish loop (not built
//! yet: the format's decoder comes with its issue).
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("winlogbeat-json", Rows::Any, data));
