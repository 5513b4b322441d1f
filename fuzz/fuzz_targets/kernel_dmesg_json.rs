//! Arbitrary bytes as `dmesg --json` output (framed per array element) through the
//! `dmesg-json` decoder's frame/decode/finish loop, fed in several chunkings. Structural
//! records (the header, `,`, `]}`) decode to no row.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("dmesg-json", Rows::AtMostOne, data));
