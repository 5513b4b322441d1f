//! Arbitrary bytes as a JVM GC log (JDK 9+ unified logging or JDK 8 `-XX:+PrintGCDetails`,
//! multi-line records) through the `jvm-gc` decoder's frame/decode/finish loop, fed in several
//! chunkings. The decoder keeps state between records (collector, detail sizes, the row held
//! back for its CPU times), so a record may append any number of rows.
//!
//! The invariants checked and the input layout are in `harness.rs`.

#![no_main]

mod harness;

use harness::Rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::check("jvm-gc", Rows::Any, data));
