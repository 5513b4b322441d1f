//! Arbitrary bytes as `mysql-slow` (MySQL / MariaDB / Percona slow query logs) through its
//! decoder's frame/decode/finish loop: framing of entries that end only where the next one
//! starts, header lines, banners, NUL regions, and the fingerprint of every statement.
//!
//! The invariants checked and the input layout are in `harness.rs`. A record appends at
//! most one row: an entry one, a banner or blank line none.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("mysql-slow", Rows::AtMostOne, data));
