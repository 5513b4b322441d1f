//! Parse errors: where in the record and why.

use std::fmt;

/// Why a record could not be parsed. The variant is the `error_type` label of the
/// parse-error metric, so it must stay low-cardinality; details go in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A timestamp field is present but not a valid time.
    BadTimestamp,
    /// A structural element (bracket, prefix, separator) is missing or malformed.
    Malformed,
    /// The record holds a NUL byte (typically a preallocated or corrupted file region).
    NulByte,
    /// The record is longer than the framer's limit and was split.
    Oversized,
    /// The input ended in the middle of a record.
    Truncated,
}

impl ErrorKind {
    /// Stable snake_case name, used as a metric label and in the dead-letter table.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadTimestamp => "bad_timestamp",
            ErrorKind::Malformed => "malformed",
            ErrorKind::NulByte => "nul_byte",
            ErrorKind::Oversized => "oversized",
            ErrorKind::Truncated => "truncated",
        }
    }
}

/// A record that did not parse: the byte offset inside the record, a kind and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Offset of the offending byte, relative to the start of the record.
    pub offset: usize,
    /// Low-cardinality classification of the failure.
    pub kind: ErrorKind,
    /// Human-readable reason, naming what was expected.
    pub reason: String,
}

impl ParseError {
    /// Builds an error at `offset` within the record.
    pub fn new(kind: ErrorKind, offset: usize, reason: impl Into<String>) -> Self {
        ParseError {
            offset,
            kind,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {} of the record: {}",
            self.kind.as_str(),
            self.offset,
            self.reason
        )
    }
}

impl std::error::Error for ParseError {}
