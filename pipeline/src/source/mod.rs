//! Sources: where bytes come from. Today: files, followed or imported once.

mod checkpoint;
mod evtx;
mod file;
mod fingerprint;
mod listen;

pub use checkpoint::{CHECKPOINT_VERSION, Checkpoints, Entry};
pub use evtx::{EvtxFollower, is_evtx_follow};
pub use file::{FileSource, FileSourceOptions, SourceReport};
pub use fingerprint::{HEAD_BYTES, fnv1a64};
pub use listen::ListenSource;
