//! Not built yet.

use std::collections::BTreeMap;

use crate::decoder::{Decoder, SourceContext};

/// The decoder of a PostgreSQL log format, or `None` if `format` is not one.
pub fn decoder_for(format: &str, ctx: &SourceContext) -> Option<Box<dyn Decoder>> {
    let _ = (format, ctx);
    None
}

/// Problems with a PostgreSQL format's options, or `None` if `format` is not one.
pub fn check_options(
    format: &str,
    options: &BTreeMap<String, String>,
) -> Option<Vec<(String, String)>> {
    let _ = (format, options);
    None
}
