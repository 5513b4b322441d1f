//! Shared helpers for the integration tests: kernel batches from tuples and rule configs
//! from TOML.
#![allow(dead_code)]

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
    new_null_array,
};
use serversage_parsers::EventKind;
use serversage_rules::{MetricOp, MetricUpdate, Outputs, RuleConfig, RuleSet};

pub const SEC: i64 = 1_000_000;
pub const MIN: i64 = 60 * SEC;

/// One kernel row: (ts_us, host, class, severity, message).
pub type Row<'a> = (i64, &'a str, &'a str, &'a str, &'a str);

/// A `kernel_events` batch from tuples; empty `class`/`severity` become null, and
/// `uptime_seconds` = ts in seconds (a numeric column to aggregate).
pub fn kernel_batch(rows: &[Row<'_>]) -> RecordBatch {
    kernel_batch_with_uptime(rows, |r| Some(r.0 as f64 / SEC as f64))
}

pub fn kernel_batch_with_uptime(
    rows: &[Row<'_>],
    uptime: impl Fn(&Row<'_>) -> Option<f64>,
) -> RecordBatch {
    let schema = EventKind::Kernel.schema();
    let n = rows.len();
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let ts = || -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())
                .with_timezone("UTC"),
        )
    };
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match f.name().as_str() {
                "ts" | "ingest_ts" => ts(),
                "host" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                "source" => Arc::new(StringArray::from(vec!["kmsg"; n])),
                "source_offset" => Arc::new(UInt64Array::from_iter_values(0..n as u64)),
                "clock" => Arc::new(StringArray::from(vec!["realtime"; n])),
                "uptime_seconds" => Arc::new(rows.iter().map(&uptime).collect::<Float64Array>()),
                "class" => Arc::new(rows.iter().map(|r| opt(r.2)).collect::<StringArray>()),
                "severity" => Arc::new(rows.iter().map(|r| opt(r.3)).collect::<StringArray>()),
                "message" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.4))),
                _ => new_null_array(f.data_type(), n),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

/// Parses one rule from TOML.
pub fn rule(toml_text: &str) -> RuleConfig {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("bad test rule: {e}\n{toml_text}"))
}

pub fn ruleset(rules: &[&str]) -> RuleSet {
    let configs: Vec<RuleConfig> = rules.iter().map(|r| rule(r)).collect();
    RuleSet::new(&configs).unwrap_or_else(|e| panic!("invalid rules: {e:?}"))
}

/// Feeds one batch and returns what came out.
pub fn feed(rs: &mut RuleSet, rows: &[Row<'_>], now_us: i64) -> Outputs {
    let mut out = Outputs::default();
    rs.on_batch(EventKind::Kernel, &kernel_batch(rows), now_us, &mut out);
    out
}

/// `(labels joined by ",", op)` of metric updates, for compact assertions.
pub fn metrics(updates: &[MetricUpdate]) -> Vec<(String, MetricOp)> {
    updates
        .iter()
        .map(|u| {
            let labels: Vec<String> = u.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (labels.join(","), u.op.clone())
        })
        .collect()
}
