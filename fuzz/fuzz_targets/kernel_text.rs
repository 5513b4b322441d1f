//! Arbitrary bytes as kernel text (dmesg in any util-linux form, or kern.log) through the
//! `kernel` decoder's frame/decode/finish loop, fed in several chunkings.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("kernel", Rows::One, data));
