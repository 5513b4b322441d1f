//! Arbitrary bytes as /dev/kmsg records (`PRI,SEQ,USEC,FLAG;text` plus ` KEY=value`
//! dictionary lines) through the `kmsg` decoder's frame/decode/finish loop, fed in several
//! chunkings.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("kmsg", Rows::One, data));
