//! File identity by content: a hash of the file's first bytes.
//!
//! Paths change (rotation, copies) and inodes are reused; the head of a log file is what
//! stays. A file shorter than [`HEAD_BYTES`] is known by the hash of what it has, and the
//! checkpoint remembers how many bytes that hash covers, so the same file is recognised
//! after it grows.

/// Bytes of a file's head used for its fingerprint.
pub const HEAD_BYTES: usize = 4096;

/// FNV-1a, 64 bit: stable across runs and Rust versions (unlike std's SipHash keys).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_vectors() {
        assert_eq!(super::fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
