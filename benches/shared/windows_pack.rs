//! The `windows` pack pass the `windows_pack` bench and the `evtx_pack` example share:
//! included by `#[path]` in both (they can use the rules crate, a dev-dependency; the
//! benches library cannot).

use std::collections::BTreeMap;

use benches::decode::{BATCH_ROWS, decode_all_with};
use serversage_parsers::{Decoder, EventKind};
use serversage_rules::{Outputs, RuleSet, packs};

/// The time the pass runs at: after every event of the corpus.
pub const NOW_US: i64 = 1_795_400_000_000_000;

/// The `windows` pack's rules with their default parameters.
pub fn windows_pack() -> RuleSet {
    let pack = packs::find("windows").expect("the windows pack is built in");
    let rules = pack
        .rules(&BTreeMap::new(), "packs.windows")
        .expect("the pack's defaults are valid");
    RuleSet::new(&rules).expect("the pack compiles")
}

/// One pass: decode `input` with `dec` and feed each batch to `rules`, then flush them;
/// returns (rows, metric updates and alerts produced).
pub fn pass_with(dec: &mut dyn Decoder, input: &[u8], rules: &mut RuleSet) -> (u64, usize) {
    let mut out = Outputs::default();
    let mut produced = 0;
    let stats = decode_all_with(dec, input, BATCH_ROWS, |batch| {
        rules.on_batch(EventKind::Windows, &batch, NOW_US, &mut out);
        produced += out.metrics.len() + out.alerts.len();
        out.clear();
    });
    rules.flush(NOW_US, &mut out);
    (stats.rows, produced + out.metrics.len() + out.alerts.len())
}
