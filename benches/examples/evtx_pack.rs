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

use std::collections::BTreeMap;
use std::time::Instant;

use benches::decode::{BATCH_ROWS, bench_context, decode_all_with};
use benches::evtx_corpus::{repeat, used_chunks};
use serversage_parsers::EventKind;
use serversage_parsers::windows::EvtxDecoder;
use serversage_rules::{Outputs, RuleSet, packs};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mb = args
        .iter()
        .position(|a| a == "--mb")
        .and_then(|i| args.get(i + 1))
        .map_or(8, |v| v.parse().expect("--mb takes a number"));
    let xml_only = args.iter().any(|a| a == "--xml-only");
    let corpus = repeat(&used_chunks(), mb << 20);
    let pack = packs::find("windows").expect("the windows pack is built in");
    let rules = pack
        .rules(&BTreeMap::new(), "packs.windows")
        .expect("the pack's defaults are valid");
    let mut rules = RuleSet::new(&rules).expect("the pack compiles");
    let mut dec = EvtxDecoder::new(bench_context("windows"));
    if xml_only {
        dec = dec.xml_only();
    }
    let now = 1_795_400_000_000_000;
    let mut out = Outputs::default();
    let mut produced = 0;
    let started = Instant::now();
    let stats = decode_all_with(&mut dec, &corpus, BATCH_ROWS, |batch| {
        rules.on_batch(EventKind::Windows, &batch, now, &mut out);
        produced += out.metrics.len() + out.alerts.len();
        out.clear();
    });
    rules.flush(now, &mut out);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} bytes, {} rows, {} updates and alerts, {} replayed; {:.1} MB/s",
        corpus.len(),
        stats.rows,
        produced + out.metrics.len() + out.alerts.len(),
        dec.replayed(),
        corpus.len() as f64 / secs / 1e6
    );
}
