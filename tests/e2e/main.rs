//! End-to-end tests: the real `serversage` binary on real logs, checked against values
//! computed independently from the input (line counts, grep-style matches), plus a real
//! Prometheus scraping /metrics and DuckDB reading the Parquet files as they are.

mod db_mysql;
mod db_postgres;
mod db_rules;
mod gc;
mod gc_follow;
mod gc_rules;
mod harness;
mod import;
mod kmsg;
mod listen;
mod parse;
mod run;
mod validate;
mod windows;
mod windows_follow;
mod windows_pack;
mod windows_rules;
