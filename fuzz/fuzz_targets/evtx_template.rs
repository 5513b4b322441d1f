//! Arbitrary bytes as an .evtx stream read twice: by template replay (the decoder's usual
//! path) and by XML rendering only (`EvtxDecoder::xml_only`, the reference). Both must give
//! the same rows and the same dead letters. Seed it with whole chunks of the public samples
//! (as for `evtx`, without the three control bytes) and `-max_len=70000`.

#![no_main]

use arrow_array::RecordBatch;
use libfuzzer_sys::fuzz_target;
use serversage_parsers::windows::EvtxDecoder;
use serversage_parsers::{Decoder, RecordMeta, SourceContext};

/// Every batch and every dead letter (offset and message) of `input`.
fn read(mut dec: EvtxDecoder, input: &[u8]) -> (Vec<RecordBatch>, Vec<String>) {
    let (mut batches, mut errors) = (Vec::new(), Vec::new());
    let mut pos = 0;
    while pos < input.len() {
        let Some(n) = dec.frame(&input[pos..], true) else {
            break;
        };
        let meta = RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 1,
        };
        if let Err(e) = dec.decode(&input[pos..pos + n], &meta) {
            errors.push(format!("{pos}: {e}"));
        }
        pos += n.max(1);
    }
    batches.extend(dec.finish());
    (batches, errors)
}

fuzz_target!(|data: &[u8]| {
    let ctx = SourceContext::default();
    let replayed = read(EvtxDecoder::new(ctx.clone()), data);
    let rendered = read(EvtxDecoder::new(ctx).xml_only(), data);
    assert_eq!(replayed.1, rendered.1, "dead letters differ");
    assert_eq!(replayed.0, rendered.0, "rows differ");
});
