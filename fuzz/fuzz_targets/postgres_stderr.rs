//! Arbitrary bytes as `postgres` through its decoder's frame/decode/finish loop: PostgreSQL stderr logs (any `log_line_prefix`; the defaults are tried when none is
//! configured: multi-line messages, same-pid DETAIL/STATEMENT follow-ups, auto_explain plans).
//! Every decoded record is exactly one row, in `slow_queries` or `db_events`.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("postgres", Rows::One, data));
