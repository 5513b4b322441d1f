//! Arbitrary bytes as `winlogbeat-json` (objects one per line or pretty-printed, in a JSON
//! array or not) through its decoder's frame/decode/finish loop. Any number of rows per
//! record: an array's `[`, `,` and `]` are structural (none), and the Elastic test wrapper
//! `{"events": [...]}` is one record with a row per element.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("winlogbeat-json", Rows::Any, data));
