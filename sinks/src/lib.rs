//! ServerSage sinks: where events and derived data leave the pipeline.
//!
//! - [`store`]: the event store, every table as Parquet files in a hive layout
//!   (`<root>/<table>/date=YYYY-MM-DD/hour=HH/*.parquet`) that DuckDB, Spark and Trino read
//!   as they are. Synchronous; it reports which source offsets are durable so the pipeline
//!   can checkpoint.
//! - [`query`]: the read-only DataFusion session over the store, shared by the CLI, the
//!   HTTP SQL endpoint and reports, and the result writers (table, CSV, JSON lines).

pub mod http;
pub mod metrics;
pub mod notify;
pub mod query;
pub mod store;
