//! The .evtx bench corpus: the used chunks of the public samples in
//! `../shared/samples/windows/evtx/` that read without a dead letter (read at bench time).

use std::path::PathBuf;

/// Size of an .evtx file header block.
pub const HEADER: usize = 4096;
/// Size of an .evtx chunk.
pub const CHUNK: usize = 65536;

/// Samples that read without a dead letter (the damaged ones measure error paths).
pub const CLEAN: &[&str] = &[
    "security.evtx",
    "system.evtx",
    "Security_with_size_t.evtx",
    "post-Security.evtx",
    "sample-with-irregular-bool-values.evtx",
    "2-vss_7-System.evtx",
    "2-system-Microsoft-Windows-LiveId%4Operational.evtx",
    "E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
    "E_Windows_system32_winevt_logs_Microsoft-Windows-Shell-Core%4Operational.evtx",
    "Application_no_crc32.evtx",
];

/// Where the samples are: `SERVERSAGE_EVTX_SAMPLES`, else `../shared/samples/windows/evtx`
/// beside the clone.
pub fn samples_dir() -> PathBuf {
    std::env::var_os("SERVERSAGE_EVTX_SAMPLES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/windows/evtx"),
        PathBuf::from,
    )
}

/// Each clean sample's header block and its chunks that are not all-zero preallocated
/// space (so that skipped space does not inflate a bytes/s figure).
pub fn used_chunks() -> Vec<u8> {
    let mut out = Vec::new();
    for f in CLEAN {
        let path = samples_dir().join(f);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (set SERVERSAGE_EVTX_SAMPLES)", path.display()));
        out.extend_from_slice(&bytes[..HEADER]);
        for c in bytes[HEADER..].chunks_exact(CHUNK) {
            if c.iter().any(|b| *b != 0) {
                out.extend_from_slice(c);
            }
        }
    }
    out
}

/// `unit` repeated until the result holds at least `size` bytes.
pub fn repeat(unit: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + unit.len());
    while out.len() < size {
        out.extend_from_slice(unit);
    }
    out
}
