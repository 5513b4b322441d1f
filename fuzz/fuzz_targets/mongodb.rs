//! Arbitrary bytes as `mongodb` through its decoder's frame/decode/finish loop: MongoDB 4.4+ JSON log lines (Slow query entries and their command shapes).
//! Every decoded record is exactly one row, in `slow_queries` or `db_events`.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("mongodb", Rows::One, data));
