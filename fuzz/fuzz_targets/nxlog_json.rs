//! Arbitrary bytes as `nxlog-json` (one flat object per line, optionally after a syslog
//! header) through its decoder's frame/decode/finish loop: a line is one row.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("nxlog-json", Rows::One, data));
