//! Pure framers and parsers for ServerSage's log formats.
//!
//! Everything here is a function of bytes: no I/O, no async, no clock. The pipeline reads
//! bytes at its edges and drives a [`Decoder`] over them; the decoder frames whole records
//! (a record may span lines), parses each one into a borrowed view, and appends it to the
//! Arrow columns of its event kind. A record that does not parse becomes a
//! [`DeadLetter`](dead_letter::DeadLetterBuilder) row carrying the offset and the reason.
//!
//! Main types:
//! - [`EventKind`] names a table and owns its fixed Arrow [`schema`].
//! - [`EventBatch`] is one kind's rows plus the source offsets they came from, so the
//!   pipeline can checkpoint a file only once every durable consumer has the data.
//! - [`Decoder`] is the format seam: [`decoder::for_format`] builds one by name.
//! - [`ParseError`] is a byte offset plus a [`ErrorKind`] saying why.
//!
//! ```
//! use serversage_parsers::{decoder, RecordMeta, SourceContext};
//! let ctx = SourceContext { host: "web1".into(), source: "dmesg".into(), ..Default::default() };
//! let mut dec = decoder::for_format("kernel", &ctx).unwrap();
//! let input = b"[    1.500000] EXT4-fs (sda1): mounted filesystem\n";
//! let len = dec.frame(input, true).unwrap();
//! dec.decode(&input[..len], &RecordMeta { offset: 0, ingest_ts_us: 0 }).unwrap();
//! let batch = dec.finish().unwrap();
//! assert_eq!(batch.num_rows(), 1);
//! ```

mod builders;
pub mod db;
pub mod dead_letter;
pub mod decoder;
pub mod error;
pub mod event;
pub mod gc;
pub mod kernel;
mod same_value;
pub mod schema;
mod text;
mod time;
pub mod windows;

pub use decoder::{Decoder, RecordMeta, SourceContext};
pub use error::{ErrorKind, ParseError};
pub use event::{EventBatch, EventKind, SourceOffset};
