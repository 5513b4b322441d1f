//! What rules produce: metric updates, alert transitions and diagnostics, plus the
//! conversion of alert transitions into rows of the `alerts` table.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, MapBuilder, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::record_batch::RecordBatch;

use crate::config::MetricKind;

/// A metric family a rule feeds, so a registry can create it before any update arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDesc {
    /// Prometheus metric name.
    pub name: String,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Histogram bucket upper bounds (without `+Inf`); empty for other kinds.
    pub buckets: Vec<f64>,
    /// Help text.
    pub help: String,
    /// Label names, in the rule's `group_by` order.
    pub label_names: Vec<String>,
}

/// Everything one call into a [`RuleSet`](crate::RuleSet) produced, in a deterministic
/// order. Callers usually reuse one `Outputs` and drain its vectors.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outputs {
    /// Metric updates, in emission order.
    pub metrics: Vec<MetricUpdate>,
    /// Alert state transitions, in emission order.
    pub alerts: Vec<AlertEvent>,
    /// `(rule, n)`: `n` events of the batch fell into windows the rule had already
    /// closed (they still count towards the rule's counter and its open windows).
    pub late_events: Vec<(String, u64)>,
    /// `(rule, message)`: the rule could not evaluate a batch (its rows were skipped).
    pub filter_errors: Vec<(String, String)>,
}

impl Outputs {
    /// True when nothing was produced.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
            && self.alerts.is_empty()
            && self.late_events.is_empty()
            && self.filter_errors.is_empty()
    }

    /// Empties every vector, keeping their capacity.
    pub fn clear(&mut self) {
        self.metrics.clear();
        self.alerts.clear();
        self.late_events.clear();
        self.filter_errors.clear();
    }
}

/// One change to one series of a metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricUpdate {
    /// Metric family name.
    pub name: String,
    /// `(label, value)` pairs in the rule's `group_by` order.
    pub labels: Vec<(String, String)>,
    /// The change.
    pub op: MetricOp,
}

/// How a series changes.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricOp {
    /// Add to a counter.
    Inc(f64),
    /// Set a gauge.
    Set(f64),
    /// Observe values in a histogram (one update per group and batch).
    Observe(Vec<f64>),
    /// Remove the series (a capped gauge's group that left the top).
    Remove,
}

/// Alert states, as in Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    /// Condition true, but not yet for the rule's `for` duration.
    Pending,
    /// Condition true for at least `for`.
    Firing,
    /// Condition false again after firing.
    Resolved,
}

impl AlertState {
    /// `"pending"`, `"firing"` or `"resolved"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One alert state transition of one group of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// Rule name (the `alertname` label).
    pub rule: String,
    /// New state.
    pub state: AlertState,
    /// Severity from the rule.
    pub severity: String,
    /// The group's labels in `group_by` order (a column named `alertname` or `severity`
    /// is renamed `exported_<name>`), then `("alertname", rule)` and `("severity", ..)`.
    pub labels: Vec<(String, String)>,
    /// Aggregate value of the window that caused the transition (`None` when the group
    /// had no values in it and the aggregate is min, max or avg).
    pub value: Option<f64>,
    /// The rule's threshold.
    pub threshold: f64,
    /// Start of that window (µs).
    pub window_start_us: i64,
    /// End (exclusive) of that window (µs).
    pub window_end_us: i64,
    /// When the condition started to hold: start of the first window in which it was true.
    pub active_since_us: Option<i64>,
    /// Rendered summary.
    pub summary: String,
    /// Event time of the transition: the window end (µs).
    pub ts_us: i64,
}

/// Turns alert transitions into a batch of the `alerts` table
/// ([`serversage_parsers::schema::alerts`]): `ts` = the transition's event time, `host`
/// as given, `source` = `"rules"`, `ingest_ts` = `now_us`, `labels` a map in label order.
pub fn alerts_batch(events: &[AlertEvent], host: &str, now_us: i64) -> RecordBatch {
    let n = events.len();
    let ts = |values: Vec<Option<i64>>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    };
    let strings = |f: &dyn Fn(&AlertEvent) -> Option<String>| -> ArrayRef {
        Arc::new(events.iter().map(f).collect::<StringArray>())
    };
    let mut labels = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for e in events {
        for (k, v) in &e.labels {
            labels.keys().append_value(k);
            labels.values().append_value(v);
        }
        labels
            .append(true)
            .expect("keys and values are appended in pairs");
    }
    let columns: Vec<ArrayRef> = vec![
        ts(events.iter().map(|e| Some(e.ts_us)).collect()),
        Arc::new(StringArray::from(vec![host; n])),
        Arc::new(StringArray::from(vec!["rules"; n])),
        ts(vec![Some(now_us); n]),
        strings(&|e| Some(e.rule.clone())),
        strings(&|e| Some(e.state.as_str().to_string())),
        strings(&|e| Some(e.severity.clone())),
        Arc::new(labels.finish()),
        Arc::new(events.iter().map(|e| e.value).collect::<Float64Array>()),
        Arc::new(
            events
                .iter()
                .map(|e| Some(e.threshold))
                .collect::<Float64Array>(),
        ),
        ts(events.iter().map(|e| Some(e.window_start_us)).collect()),
        ts(events.iter().map(|e| Some(e.window_end_us)).collect()),
        ts(events.iter().map(|e| e.active_since_us).collect()),
        strings(&|e| Some(e.summary.clone())),
    ];
    RecordBatch::try_new(serversage_parsers::schema::alerts(), columns)
        .expect("columns are built in the alerts schema's order and types")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, MapArray};
    use datafusion::arrow::datatypes::TimestampMicrosecondType;

    fn event(state: AlertState, value: Option<f64>) -> AlertEvent {
        AlertEvent {
            rule: "oom".into(),
            state,
            severity: "critical".into(),
            labels: vec![
                ("host".into(), "web1".into()),
                ("alertname".into(), "oom".into()),
                ("severity".into(), "critical".into()),
            ],
            value,
            threshold: 2.5,
            window_start_us: 60_000_000,
            window_end_us: 120_000_000,
            active_since_us: Some(0),
            summary: "oom: value 3 > 2.5".into(),
            ts_us: 120_000_000,
        }
    }

    #[test]
    fn batch_matches_schema_and_values() {
        let events = [
            event(AlertState::Firing, Some(3.0)),
            event(AlertState::Resolved, None),
        ];
        let b = alerts_batch(&events, "collector1", 999);
        assert_eq!(b.schema(), serversage_parsers::schema::alerts());
        assert_eq!(b.num_rows(), 2);
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let ts = col("ts");
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.values(), &[120_000_000, 120_000_000]);
        assert_eq!(
            col("ingest_ts")
                .as_primitive::<TimestampMicrosecondType>()
                .value(1),
            999
        );
        assert_eq!(col("host").as_string::<i32>().value(0), "collector1");
        assert_eq!(col("source").as_string::<i32>().value(1), "rules");
        assert_eq!(col("state").as_string::<i32>().value(0), "firing");
        assert_eq!(col("state").as_string::<i32>().value(1), "resolved");
        let value = col("value");
        let value = value.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        assert_eq!(value.value(0), 3.0);
        assert!(value.is_null(1));
        let since = col("active_since");
        assert_eq!(since.as_primitive::<TimestampMicrosecondType>().value(0), 0);
        let labels = col("labels");
        let labels = labels.as_any().downcast_ref::<MapArray>().unwrap();
        let entries = labels.value(1);
        let keys = entries.column(0).as_string::<i32>();
        let values = entries.column(1).as_string::<i32>();
        assert_eq!(keys.len(), 3);
        assert_eq!((keys.value(0), values.value(0)), ("host", "web1"));
        assert_eq!((keys.value(2), values.value(2)), ("severity", "critical"));
        assert_eq!(alerts_batch(&[], "h", 0).num_rows(), 0);
    }
}
