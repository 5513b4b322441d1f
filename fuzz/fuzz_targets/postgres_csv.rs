//! Arbitrary bytes as `postgres-csv` through its decoder's frame/decode/finish loop: PostgreSQL csvlog (quoted fields with newlines and doubled quotes, 22-26 columns).
//! Every decoded record is exactly one row, in `slow_queries` or `db_events`.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("postgres-csv", Rows::One, data));
