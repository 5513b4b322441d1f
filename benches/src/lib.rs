//! Benches for ServerSage: a deterministic corpus generator, the decode loop the pipeline
//! runs (shared by the criterion benches and the tests), and the measurement helpers of the
//! end-to-end bench binary (`cargo run --release -p benches -- --help`).

pub mod corpus;
pub mod decode;
pub mod e2e;
pub mod evtx_corpus;

pub use corpus::{CorpusStats, KernelForm, kernel_corpus, kernel_corpus_vec};
pub use decode::{DecodeStats, decode_all, decode_reader};
