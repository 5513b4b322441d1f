//! The `windows_pack` bench's `evtx+pack` pass (decode the .evtx corpus, every batch through
//! the built-in `windows` pack) as a plain binary: for instruction counts under
//! `valgrind --tool=callgrind`, repeatable where wall time on a shared machine is not.
//!
//! ```text
//! cargo build --release -p benches --example evtx_pack
//! evtx_pack [--mb N] [--xml-only]
//! ```
//!
//! `--mb`: corpus size in MiB (default 8: the clean samples' used chunks, repeated);
//! `--xml-only`: every record through the crate's XML rendering (the reference path), not
//! template replay. Prints bytes, rows, metric updates and alerts, and MB/s.

#[path = "../shared/windows_pack.rs"]
mod windows_pack;

use std::time::Instant;

use benches::decode::bench_context;
use benches::evtx_corpus::{repeat, used_chunks};
use serversage_parsers::windows::EvtxDecoder;
use windows_pack::{pass_with, windows_pack};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mb = args
        .iter()
        .position(|a| a == "--mb")
        .and_then(|i| args.get(i + 1))
        .map_or(8, |v| v.parse().expect("--mb takes a number"));
    let xml_only = args.iter().any(|a| a == "--xml-only");
    let corpus = repeat(&used_chunks(), mb << 20);
    let mut rules = windows_pack();
    let mut dec = EvtxDecoder::new(bench_context("windows"));
    if xml_only {
        dec = dec.xml_only();
    }
    let started = Instant::now();
    let (rows, produced) = pass_with(&mut dec, &corpus, &mut rules);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} bytes, {rows} rows, {produced} updates and alerts, {} replayed; {:.1} MB/s",
        corpus.len(),
        dec.replayed(),
        corpus.len() as f64 / secs / 1e6
    );
}
