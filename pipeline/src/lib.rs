//! The ServerSage pipeline: configuration, sources, the decode stage, the bus and the
//! runtime that wires them to the rules engine and the sinks.
//!
//! ```text
//! FileSource ──bytes──► DecodeStage ──EventBatch──► Bus ──┬─► store consumer (Parquet, checkpoints)
//!  (tailer thread)       (same thread)                    └─► rules consumer ─► metrics, alerts ─► store
//! ```
//!
//! Main types:
//! - [`config::Config`] is the TOML file, validated (every error names its key) before
//!   [`topology::Topology`] builds anything from it.
//! - [`source::FileSource`] follows globs of files, reading bytes itself so that every
//!   event carries its byte offset; [`source::Checkpoints`] remembers how far each file
//!   (by content fingerprint) is durably stored.
//! - [`decode::DecodeStage`] frames and parses bytes with a format's
//!   [`Decoder`](serversage_parsers::Decoder) and emits Arrow batches plus dead letters.
//! - [`bus::Bus`] fans batches out to one bounded queue per consumer: a full queue blocks
//!   the producer, so a slow sink slows reading instead of growing memory.

pub mod bus;
pub mod cli;
pub mod config;
pub mod decode;
pub mod host;
pub mod rule_state;
pub mod source;
pub mod topology;
