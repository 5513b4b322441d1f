//! Statement fingerprints. Not built yet: the placeholder below only collapses whitespace
//! and case, so that callers can be written against the final signatures.

/// Appends the fingerprint of `statement` to `out` (cleared first).
pub fn fingerprint(statement: &[u8], out: &mut String) {
    out.clear();
    let text = String::from_utf8_lossy(statement);
    for (i, w) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&w.to_lowercase());
    }
}

/// The 16-hex-digit id of a fingerprint (pt-query-digest's `checksum`).
pub fn fingerprint_id(fingerprint: &str) -> String {
    let _ = fingerprint;
    String::from("0000000000000000")
}
