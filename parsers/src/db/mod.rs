//! Database logs (tables `slow_queries` and `db_events`): MySQL/MariaDB slow query logs,
//! PostgreSQL stderr/csv/json logs, MongoDB JSON log lines, and SQL fingerprints.
//!
//! One module per format (`mysql`, `postgres`, `mongodb`); `fingerprint` normalises
//! statements as pt-query-digest does; `schema` holds both tables' Arrow schemas.

pub mod columns;
pub mod fingerprint;
pub mod mongodb;
pub mod mysql;
pub mod postgres;
pub mod schema;

use std::collections::BTreeMap;

use crate::decoder::{Decoder, SourceContext};

/// The decoder of a database log format, or `None` if `format` is not one.
pub fn decoder_for(format: &str, ctx: &SourceContext) -> Option<Box<dyn Decoder>> {
    mysql::decoder_for(format, ctx)
        .or_else(|| postgres::decoder_for(format, ctx))
        .or_else(|| mongodb::decoder_for(format, ctx))
}

/// Problems with the `options` of a database format as `(key, reason)`, or `None` when
/// `format` is not a database format.
pub fn check_options(
    format: &str,
    options: &BTreeMap<String, String>,
) -> Option<Vec<(String, String)>> {
    postgres::check_options(format, options)
}
