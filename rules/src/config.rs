//! Rule configuration: the serde types read from the config file, duration parsing and
//! [`RuleConfig::validate`], which checks a rule against its event kind's schema.

use std::collections::HashSet;
use std::fmt;

use datafusion::arrow::datatypes::DataType;
use serde::{Deserialize, Serialize};
use serversage_parsers::EventKind;

use crate::alert::template_placeholders;
use crate::filter::{Filter, ValueExpr};

/// Most windows one event may belong to (`size / every` of a sliding window).
pub const MAX_WINDOWS_PER_EVENT: i64 = 1_000;

/// One rule: which events, how they are grouped and windowed, what is aggregated and what
/// comes out (a metric family and/or an alert).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique rule name, `[a-zA-Z_][a-zA-Z0-9_]*`; it is the alert's `alertname`.
    pub name: String,
    /// Event kind the rule reads, by configuration or table name (`"kernel"`).
    pub kind: String,
    /// SQL boolean expression over the kind's columns selecting the rows the rule sees
    /// (`"class = 'oom_kill' AND severity IN ('critical','high')"`); absent = every row.
    #[serde(default)]
    pub filter: Option<String>,
    /// Columns of the kind whose values form the group key; they become the metric's and
    /// the alert's labels, in this order.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Event-time window over which the aggregate is computed.
    pub window: WindowConfig,
    /// What is computed per window and group.
    pub aggregate: AggregateConfig,
    /// Metric family fed by the rule, if any.
    #[serde(default)]
    pub metric: Option<MetricConfig>,
    /// Alert condition evaluated at each window close, if any.
    #[serde(default)]
    pub alert: Option<AlertConfig>,
}

/// Event-time window of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// `"tumbling"` (default) or `"sliding"`.
    #[serde(rename = "type", default)]
    pub kind: WindowKind,
    /// Window length, a duration such as `"1m"`.
    pub size: String,
    /// Slide of a sliding window; required for sliding windows, must divide `size`;
    /// not allowed for tumbling windows.
    #[serde(default)]
    pub every: Option<String>,
    /// Allowed lateness: the watermark trails the newest event time by this much
    /// (default `"0s"`).
    #[serde(default)]
    pub lateness: Option<String>,
    /// Processing time without any batch of the kind after which the open windows close
    /// (default: the window size).
    #[serde(default)]
    pub idle_flush: Option<String>,
}

/// Shape of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowKind {
    /// Back-to-back windows `[k*size, (k+1)*size)`.
    #[default]
    Tumbling,
    /// Windows of `size` starting every `every`; an event is in `size / every` windows.
    Sliding,
}

/// The aggregate computed per window and group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateConfig {
    /// Aggregate function.
    #[serde(rename = "fn")]
    pub func: AggFn,
    /// Numeric column, or numeric SQL expression over the kind's columns
    /// (`"heap_after_bytes / heap_capacity_bytes"`), aggregated; required for all but
    /// `count` and `rate`. With `count`, rows whose value is null are not counted (SQL
    /// `COUNT(column)`).
    #[serde(default)]
    pub column: Option<String>,
    /// The quantile of `fn = "quantile"`, in [0, 1] (0.99 = the 99th percentile).
    #[serde(default)]
    pub quantile: Option<f64>,
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggFn {
    /// Number of rows.
    Count,
    /// Sum of the column's non-null values.
    Sum,
    /// Smallest non-null value.
    Min,
    /// Largest non-null value.
    Max,
    /// Mean of the non-null values.
    Avg,
    /// The `quantile` of the non-null values, interpolated linearly between the two
    /// nearest ranks (exact: every value of the window is kept until it closes).
    Quantile,
    /// Per second of window: the row count (no column) or the column's sum, divided by
    /// the window size in seconds (a GC's pause seconds per second = GC overhead).
    Rate,
}

impl AggFn {
    /// Lower-case name, as in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            AggFn::Count => "count",
            AggFn::Sum => "sum",
            AggFn::Min => "min",
            AggFn::Max => "max",
            AggFn::Avg => "avg",
            AggFn::Quantile => "quantile",
            AggFn::Rate => "rate",
        }
    }

    /// Whether a group without rows in a window has value 0 (count, sum) rather than none.
    pub fn zero_when_empty(self) -> bool {
        matches!(self, AggFn::Count | AggFn::Sum | AggFn::Rate)
    }

    /// Whether the function needs a value column.
    pub fn needs_column(self) -> bool {
        !matches!(self, AggFn::Count | AggFn::Rate)
    }
}

/// The metric family a rule feeds; its labels are the rule's `group_by` columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricConfig {
    /// Prometheus metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`, unique across rules.
    pub name: String,
    /// `"counter"` (count/sum only, incremented as batches arrive), `"gauge"` (set at
    /// each window close) or `"histogram"` (every selected row's aggregate column
    /// observed as it arrives; the window and function are not used).
    #[serde(rename = "type")]
    pub kind: MetricKind,
    /// Upper bounds of a histogram's buckets, increasing (`+Inf` is added); histograms
    /// only. Default: 0.001 s to 60 s in 1-2.5-5 steps, for durations in seconds.
    #[serde(default)]
    pub buckets: Option<Vec<f64>>,
    /// Cardinality cap of a gauge: at each window close only the `top` groups with the
    /// largest values keep their own series; the others are summed into one series whose
    /// labels are all `other` (count, sum, rate) or dropped (other functions), and series
    /// that fall out of the top are removed.
    #[serde(default)]
    pub top: Option<usize>,
    /// Help text; a description of the rule when absent.
    #[serde(default)]
    pub help: Option<String>,
}

/// Prometheus metric types a rule can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Monotonic counter.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Distribution of observed values in buckets.
    Histogram,
}

impl MetricKind {
    /// Lower-case name, as in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// Alert condition `aggregate <op> threshold`, held for `for`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Comparison: `">"`, `">="`, `"<"`, `"<="`, `"=="` or `"!="`.
    pub op: CmpOp,
    /// Value the aggregate is compared with.
    pub threshold: f64,
    /// How long the condition must hold before the alert fires (default `"0s"`: at once).
    #[serde(rename = "for", default)]
    pub hold: Option<String>,
    /// Severity label of the alert (default `"warning"`).
    #[serde(default)]
    pub severity: Option<String>,
    /// Summary template; placeholders `{rule}`, `{value}`, `{op}`, `{threshold}`,
    /// `{severity}`, `{state}` and `{<group_by column>}`.
    #[serde(default)]
    pub summary: Option<String>,
    /// Fire only for groups never seen before by this rule (a new slow query
    /// fingerprint): a group is known from the first window it appears in, fires at most
    /// once and resolves at the next window close. Known groups survive restarts.
    #[serde(default)]
    pub new_groups_only: bool,
}

/// Comparison operator of an alert condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `==`
    #[serde(rename = "==", alias = "=")]
    Eq,
    /// `!=`
    #[serde(rename = "!=", alias = "<>")]
    Ne,
}

impl CmpOp {
    /// The operator as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// `value <op> threshold`; false when `value` is NaN (except for `!=`).
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Gt => value > threshold,
            CmpOp::Ge => value >= threshold,
            CmpOp::Lt => value < threshold,
            CmpOp::Le => value <= threshold,
            CmpOp::Eq => value == threshold,
            CmpOp::Ne => value != threshold,
        }
    }
}

/// A configuration problem: which key, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    /// Full key of the offending value, e.g. `rules[2].window.size`.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, reason: impl fmt::Display) -> Self {
        ConfigError {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

/// Parses a duration such as `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, `"1w"` or a
/// combination (`"1h30m"`, `"1m30s"`) into microseconds. Units: `us`/`µs`, `ms`, `s`, `m`,
/// `h`, `d`, `w`. A bare `"0"` is zero; any other number needs a unit.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if text == "0" {
        return Ok(0);
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration {s:?}: expected a number at {rest:?}"
            ));
        }
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: i64 = match unit {
            "us" | "µs" => 1,
            "ms" => 1_000,
            "s" => 1_000_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            "d" => 86_400_000_000,
            "w" => 604_800_000_000,
            "" => {
                return Err(format!(
                    "invalid duration {s:?}: missing unit (us, ms, s, m, h, d, w)"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration {s:?}: unknown unit {other:?} (us, ms, s, m, h, d, w)"
                ));
            }
        };
        total = number
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid duration {s:?}: too large"))?;
    }
    Ok(total)
}

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Durations of a rule, in microseconds, once validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Durations {
    pub size: i64,
    pub slide: i64,
    pub lateness: i64,
    pub idle_flush: i64,
    pub hold: i64,
}

/// What a valid rule compiles to: its kind, filter and durations.
/// A validated rule's compiled parts.
pub(crate) struct Compiled {
    pub kind: EventKind,
    pub filter: Option<Filter>,
    pub durations: Durations,
    /// The aggregated value, when it is an expression rather than a column.
    pub value_expr: Option<ValueExpr>,
    /// Per `group_by` entry: the expression, when it is not a plain column.
    pub group_exprs: Vec<Option<ValueExpr>>,
}

/// Splits a `group_by` entry `"<column or SQL expression> AS <label>"` into the
/// expression and the label; an entry without `AS` is a column named as its label.
pub(crate) fn split_alias(entry: &str) -> (&str, &str) {
    let lower = entry.to_ascii_lowercase();
    if let Some(at) = lower.rfind(" as ") {
        let label = entry[at + 4..].trim();
        if is_identifier(label) {
            return (entry[..at].trim(), label);
        }
    }
    (entry.trim(), entry.trim())
}

impl RuleConfig {
    /// The label names of the rule's groups: each `group_by` entry's column or alias.
    pub fn group_labels(&self) -> Vec<String> {
        self.group_by
            .iter()
            .map(|g| split_alias(g).1.to_string())
            .collect()
    }
}

impl RuleConfig {
    /// Checks everything about the rule and returns every problem found (empty = valid).
    /// Keys are `key_prefix` followed by the field path, e.g. with prefix `rules[0]`:
    /// `rules[0].aggregate.column`.
    pub fn validate(&self, key_prefix: &str) -> Vec<ConfigError> {
        self.check(key_prefix).0
    }

    /// Validates and, when valid, returns the pieces the engine needs.
    pub(crate) fn check(&self, p: &str) -> (Vec<ConfigError>, Option<Compiled>) {
        let mut errs = Vec::new();
        let mut err = |key: String, reason: String| errs.push(ConfigError::new(key, reason));

        if !is_identifier(&self.name) {
            err(
                format!("{p}.name"),
                format!(
                    "rule name {:?} must match [a-zA-Z_][a-zA-Z0-9_]*",
                    self.name
                ),
            );
        }

        let kind = EventKind::from_name(&self.kind);
        if kind.is_none() {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
            err(
                format!("{p}.kind"),
                format!(
                    "unknown event kind {:?} (known: {})",
                    self.kind,
                    known.join(", ")
                ),
            );
        }
        let schema = kind.map(|k| k.schema());

        // Filter.
        let mut filter = None;
        if let (Some(sql), Some(kind)) = (&self.filter, kind) {
            match Filter::compile(sql, kind) {
                Ok(f) => filter = Some(f),
                Err(e) => err(format!("{p}.filter"), e),
            }
        }

        // Group-by columns and expressions.
        let mut seen = HashSet::new();
        let mut group_exprs = Vec::with_capacity(self.group_by.len());
        for (i, entry) in self.group_by.iter().enumerate() {
            let (expr, label) = split_alias(entry);
            group_exprs.push(None);
            if !seen.insert(label) {
                err(
                    format!("{p}.group_by[{i}]"),
                    format!("label {label:?} listed twice"),
                );
                continue;
            }
            let (Some(schema), Some(kind)) = (&schema, kind) else {
                continue;
            };
            if schema.field_with_name(expr).is_ok() {
                continue;
            }
            if is_identifier(expr) {
                err(
                    format!("{p}.group_by[{i}]"),
                    format!(
                        "no column {expr:?} in {} (columns: {})",
                        self.kind,
                        column_list(schema)
                    ),
                );
            } else if expr == label {
                err(
                    format!("{p}.group_by[{i}]"),
                    format!("an expression needs a label name: \"{expr} AS name\""),
                );
            } else {
                match ValueExpr::compile_key(expr, kind) {
                    Ok(e) => group_exprs[i] = Some(e),
                    Err(e) => err(format!("{p}.group_by[{i}]"), e),
                }
            }
        }

        // Aggregate.
        let func = self.aggregate.func;
        let mut value_expr = None;
        match &self.aggregate.column {
            None if func.needs_column() => err(
                format!("{p}.aggregate.column"),
                format!("{} needs a numeric column", func.as_str()),
            ),
            None => {}
            Some(column) => {
                if let (Some(schema), Some(kind)) = (&schema, kind) {
                    match schema.field_with_name(column) {
                        Ok(field) if func != AggFn::Count && !is_numeric(field.data_type()) => err(
                            format!("{p}.aggregate.column"),
                            format!(
                                "{} needs a numeric column; {column:?} is {}",
                                func.as_str(),
                                field.data_type()
                            ),
                        ),
                        Ok(_) => {}
                        Err(_) if is_identifier(column) => err(
                            format!("{p}.aggregate.column"),
                            format!(
                                "no column {column:?} in {} (columns: {})",
                                self.kind,
                                column_list(schema)
                            ),
                        ),
                        Err(_) => match ValueExpr::compile(column, kind) {
                            Ok(e) => value_expr = Some(e),
                            Err(e) => err(format!("{p}.aggregate.column"), e),
                        },
                    }
                }
            }
        }
        match (func, self.aggregate.quantile) {
            (AggFn::Quantile, None) => err(
                format!("{p}.aggregate.quantile"),
                "quantile needs `quantile`, a number in [0, 1]".into(),
            ),
            (AggFn::Quantile, Some(q)) if !(0.0..=1.0).contains(&q) => err(
                format!("{p}.aggregate.quantile"),
                format!("{q} is not in [0, 1]"),
            ),
            (AggFn::Quantile, Some(_)) | (_, None) => {}
            (_, Some(_)) => err(
                format!("{p}.aggregate.quantile"),
                format!(
                    "only fn = \"quantile\" takes `quantile`, not {}",
                    func.as_str()
                ),
            ),
        }

        // Window.
        let w = &self.window;
        let size = match parse_duration(&w.size) {
            Ok(v) if v > 0 => Some(v),
            Ok(_) => {
                err(format!("{p}.window.size"), "must be greater than 0".into());
                None
            }
            Err(e) => {
                err(format!("{p}.window.size"), e);
                None
            }
        };
        let slide = match (w.kind, &w.every) {
            (WindowKind::Tumbling, None) => size,
            (WindowKind::Tumbling, Some(_)) => {
                err(
                    format!("{p}.window.every"),
                    "only sliding windows take `every`".into(),
                );
                None
            }
            (WindowKind::Sliding, None) => {
                err(
                    format!("{p}.window.every"),
                    "sliding windows need `every` (the slide)".into(),
                );
                None
            }
            (WindowKind::Sliding, Some(every)) => match parse_duration(every) {
                Err(e) => {
                    err(format!("{p}.window.every"), e);
                    None
                }
                Ok(v) if v <= 0 => {
                    err(format!("{p}.window.every"), "must be greater than 0".into());
                    None
                }
                Ok(v) => match size {
                    Some(size) if size % v != 0 => {
                        err(
                            format!("{p}.window.every"),
                            format!("{every:?} does not divide the window size {:?}", w.size),
                        );
                        None
                    }
                    Some(size) if size / v > MAX_WINDOWS_PER_EVENT => {
                        err(
                            format!("{p}.window.every"),
                            format!(
                                "size / every = {} windows per event; at most {MAX_WINDOWS_PER_EVENT}",
                                size / v
                            ),
                        );
                        None
                    }
                    _ => Some(v),
                },
            },
        };
        let lateness = optional_duration(&w.lateness, 0, format!("{p}.window.lateness"), &mut err);
        let idle_flush = match &w.idle_flush {
            None => size,
            Some(text) => match parse_duration(text) {
                Ok(v) if v > 0 => Some(v),
                Ok(_) => {
                    err(
                        format!("{p}.window.idle_flush"),
                        "must be greater than 0".into(),
                    );
                    None
                }
                Err(e) => {
                    err(format!("{p}.window.idle_flush"), e);
                    None
                }
            },
        };

        // Outputs.
        if self.metric.is_none() && self.alert.is_none() {
            err(
                p.to_string(),
                "rule has no output: set `metric` and/or `alert`".into(),
            );
        }
        if let Some(m) = &self.metric {
            if !is_metric_name(&m.name) {
                err(
                    format!("{p}.metric.name"),
                    format!(
                        "metric name {:?} must match [a-zA-Z_:][a-zA-Z0-9_:]*",
                        m.name
                    ),
                );
            }
            if m.kind == MetricKind::Counter
                && !matches!(self.aggregate.func, AggFn::Count | AggFn::Sum)
            {
                err(
                    format!("{p}.metric.type"),
                    format!(
                        "a counter needs count or sum, not {}; use a gauge",
                        self.aggregate.func.as_str()
                    ),
                );
            }
        }
        if let Some(m) = &self.metric {
            match (m.kind, &m.buckets) {
                (MetricKind::Histogram, _) if self.aggregate.column.is_none() => err(
                    format!("{p}.aggregate.column"),
                    "a histogram observes a column's values; set `aggregate.column`".into(),
                ),
                (MetricKind::Histogram, Some(b))
                    if b.is_empty()
                        || b.iter().any(|v| !v.is_finite())
                        || b.windows(2).any(|w| w[0] >= w[1]) =>
                {
                    err(
                        format!("{p}.metric.buckets"),
                        "bucket bounds must be finite and strictly increasing".into(),
                    );
                }
                (_, Some(_)) if m.kind != MetricKind::Histogram => err(
                    format!("{p}.metric.buckets"),
                    "only histograms take `buckets`".into(),
                ),
                _ => {}
            }
            if m.kind == MetricKind::Histogram && self.alert.is_some() {
                err(
                    format!("{p}.alert"),
                    "a histogram rule cannot alert; write a second rule with a gauge or an alert"
                        .into(),
                );
            }
            match m.top {
                Some(0) => err(format!("{p}.metric.top"), "must be at least 1".into()),
                Some(_) if m.kind != MetricKind::Gauge => err(
                    format!("{p}.metric.top"),
                    "only gauges take `top` (counters keep every series they ever had)".into(),
                ),
                _ => {}
            }
        }
        let mut hold = Some(0);
        if let Some(a) = &self.alert {
            if !a.threshold.is_finite() {
                err(
                    format!("{p}.alert.threshold"),
                    "must be a finite number".into(),
                );
            }
            hold = optional_duration(&a.hold, 0, format!("{p}.alert.for"), &mut err);
            if a.new_groups_only {
                if self.group_by.is_empty() {
                    err(
                        format!("{p}.alert.new_groups_only"),
                        "needs group_by columns (what makes a group new)".into(),
                    );
                }
                if hold.is_some_and(|h| h > 0) {
                    err(
                        format!("{p}.alert.for"),
                        "a new-group alert fires in the group's first window; `for` cannot apply"
                            .into(),
                    );
                }
            }
            if let Some(sev) = &a.severity
                && sev.trim().is_empty()
            {
                err(format!("{p}.alert.severity"), "must not be empty".into());
            }
            if let Some(template) = &a.summary {
                match template_placeholders(template) {
                    Err(e) => err(format!("{p}.alert.summary"), e),
                    Ok(names) => {
                        for name in names {
                            if !crate::alert::BUILTIN_PLACEHOLDERS.contains(&name.as_str())
                                && !self.group_labels().contains(&name)
                            {
                                err(
                                    format!("{p}.alert.summary"),
                                    format!(
                                        "unknown placeholder {{{name}}}; use {{rule}}, {{value}}, {{op}}, {{threshold}}, {{severity}}, {{state}} or a group_by column"
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }

        let ok = errs.is_empty();
        let parts = match (kind, size, slide, lateness, idle_flush, hold) {
            (Some(kind), Some(size), Some(slide), Some(lateness), Some(idle_flush), Some(hold))
                if ok =>
            {
                Some(Compiled {
                    kind,
                    filter,
                    durations: Durations {
                        size,
                        slide,
                        lateness,
                        idle_flush,
                        hold,
                    },
                    value_expr,
                    group_exprs,
                })
            }
            _ => None,
        };
        (errs, parts)
    }
}

fn optional_duration(
    text: &Option<String>,
    default: i64,
    key: String,
    err: &mut impl FnMut(String, String),
) -> Option<i64> {
    match text {
        None => Some(default),
        Some(t) => match parse_duration(t) {
            Ok(v) => Some(v),
            Err(e) => {
                err(key, e);
                None
            }
        },
    }
}

fn column_list(schema: &datafusion::arrow::datatypes::Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(500_000));
        assert_eq!(parse_duration("30s"), Ok(30_000_000));
        assert_eq!(parse_duration("5m"), Ok(300_000_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000_000));
        assert_eq!(parse_duration("1d"), Ok(86_400_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000));
        assert_eq!(parse_duration("1h2m3s4ms5us"), Ok(3_723_004_005));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration(" 7us "), Ok(7));
        for bad in [
            "",
            "5",
            "m",
            "5x",
            "-5s",
            "1.5s",
            "5m3",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(parse_duration("1000000000000w").is_err());
    }

    #[test]
    fn names() {
        assert!(is_identifier("oom_by_host1"));
        assert!(is_identifier("_x"));
        assert!(!is_identifier("1x"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
        assert!(is_metric_name("serversage:oom_total"));
        assert!(!is_metric_name("oom-total"));
        assert!(!is_metric_name("9oom"));
    }

    #[test]
    fn cmp_ops() {
        assert!(CmpOp::Gt.holds(2.0, 1.0));
        assert!(!CmpOp::Gt.holds(1.0, 1.0));
        assert!(CmpOp::Ge.holds(1.0, 1.0));
        assert!(CmpOp::Lt.holds(0.0, 1.0));
        assert!(CmpOp::Le.holds(1.0, 1.0));
        assert!(CmpOp::Eq.holds(1.0, 1.0));
        assert!(CmpOp::Ne.holds(0.0, 1.0));
        assert!(!CmpOp::Gt.holds(f64::NAN, 1.0));
    }
}
