//! Sources: where bytes come from. Files, followed or imported once, and this machine's
//! kernel ring buffer (/dev/kmsg).

mod checkpoint;
mod evtx;
mod file;
mod fingerprint;
mod kmsg;
mod listen;

pub use checkpoint::{CHECKPOINT_VERSION, Checkpoints, Entry};
pub use evtx::{EvtxFollower, reads_evtx};
pub use file::{FileSource, FileSourceOptions, SourceReport};
pub use fingerprint::{HEAD_BYTES, fnv1a64};
pub use kmsg::{KmsgSource, kmsg_device};
pub use listen::ListenSource;
