//! Windowed rules over event batches: filters, windows, accumulators, alert state.
//!
//! A rule reads one event kind, keeps the rows its SQL filter selects, groups them by some
//! columns, aggregates them per event-time window and feeds a Prometheus metric family
//! and/or an alert. Rules are pure: no I/O, no threads, no wall clock. Processing time is
//! passed in (`now_us`, µs since the epoch), so tests drive them with a virtual clock.
//!
//! Main types:
//! - [`RuleConfig`] (with [`WindowConfig`], [`AggregateConfig`], [`MetricConfig`],
//!   [`AlertConfig`]) is one rule as configured; [`RuleConfig::validate`] checks it
//!   against its kind's schema and returns [`ConfigError`]s naming the offending key.
//! - [`RuleSet`] compiles the rules and holds their state: [`RuleSet::on_batch`],
//!   [`RuleSet::on_tick`] and [`RuleSet::flush`] append to an [`Outputs`].
//! - [`Outputs`] carries [`MetricUpdate`]s, [`AlertEvent`]s and diagnostics;
//!   [`MetricDesc`] describes the metric families up front; [`alerts_batch`] turns alert
//!   transitions into rows of the `alerts` table.
//!
//! ```
//! use std::sync::Arc;
//! use datafusion::arrow::array::{
//!     new_null_array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
//! };
//! use serversage_parsers::EventKind;
//! use serversage_rules::{MetricOp, Outputs, RuleConfig, RuleSet};
//!
//! let rule: RuleConfig = serde_json::from_str(r#"{
//!     "name": "oom_kills", "kind": "kernel", "filter": "class = 'oom_kill'",
//!     "group_by": ["host"], "window": {"size": "1m"}, "aggregate": {"fn": "count"},
//!     "metric": {"name": "oom_kills_per_minute", "type": "gauge"}
//! }"#).unwrap();
//! let mut rules = RuleSet::new(&[rule]).unwrap();
//!
//! // Three rows of the kernel_events table: two OOM kills on web1 in the first minute,
//! // then an unrelated message three minutes in, which moves the watermark on.
//! let schema = EventKind::Kernel.schema();
//! let ts: ArrayRef = Arc::new(
//!     TimestampMicrosecondArray::from(vec![1_000_000, 2_000_000, 180_000_000]).with_timezone("UTC"),
//! );
//! let text = |v: [&str; 3]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
//! let columns: Vec<ArrayRef> = schema.fields().iter().map(|f| match f.name().as_str() {
//!     "ts" | "ingest_ts" => ts.clone(),
//!     "host" => text(["web1", "web1", "web1"]),
//!     "class" => text(["oom_kill", "oom_kill", "usb"]),
//!     "source" | "clock" | "message" => text(["k", "k", "k"]),
//!     "source_offset" => Arc::new(UInt64Array::from(vec![0u64; 3])),
//!     _ => new_null_array(f.data_type(), 3),
//! }).collect();
//! let batch = RecordBatch::try_new(schema, columns).unwrap();
//!
//! let mut out = Outputs::default();
//! rules.on_batch(EventKind::Kernel, &batch, 0, &mut out);
//! // The watermark (3m) closed [0, 1m): web1 had 2 OOM kills in it.
//! assert_eq!(out.metrics[0].labels, vec![("host".to_string(), "web1".to_string())]);
//! assert_eq!(out.metrics[0].op, MetricOp::Set(2.0));
//! ```
//!
//! # Semantics
//!
//! **Filter.** A SQL boolean expression over the kind's columns, parsed and type-checked by
//! DataFusion once per rule and evaluated on each whole batch; a null result counts as
//! false. Volatile functions (`now()`, `random()`) are rejected. If evaluation fails the
//! rule skips that batch's rows and reports `(rule, error)` in [`Outputs::filter_errors`].
//!
//! **Groups.** The `group_by` values of each selected row: a column, or a SQL expression
//! with a label name (`"event_data['TargetUserName'] AS account"`), rendered as strings
//! (Utf8 as is, other types with Arrow's display, null as `""`). A rule tracks at most
//! [`MAX_GROUPS_PER_RULE`] groups; rows of any further group go to one overflow group
//! whose every label is [`OVERFLOW_LABEL`] (`"other"`). Groups are never forgotten, so that
//! bound is also the rule's memory bound for groups.
//!
//! **Values.** `count` counts rows (with a `column`, rows whose value is non-null); `sum`,
//! `min`, `max`, `avg` use the column (or numeric SQL expression) cast to f64; `quantile`
//! interpolates linearly between ranks over the window's values; `rate` is the count, or
//! the column's sum, per second of window. Rows whose value is null or NaN are skipped
//! entirely (they create no group).
//!
//! **Windows.** On event time (`ts`). Tumbling: `[k*size, (k+1)*size)`; sliding: windows
//! of `size` starting at every multiple of `every`, so each event is in `size / every`
//! windows. The watermark of a rule is the newest `ts` of any row of its kind seen so far
//! (selected or not) minus `lateness`; it advances once per batch, after the whole batch
//! has been added, so rows within one batch are never late relative to each other. After
//! each batch every window with `end <= watermark` closes, in start order. On
//! [`RuleSet::on_tick`], if no batch of the kind arrived for `idle_flush` of processing
//! time, every open window closes; [`RuleSet::flush`] closes every open window. A closed
//! window never reopens: once window `W` is closed, all windows starting at or before
//! `W`'s start are closed. A selected row that falls into at least one closed window is
//! *late*: it is counted in [`Outputs::late_events`] (one `(rule, n)` entry per batch)
//! and still added to those of its windows that are open. Empty windows between data
//! windows are closed too and evaluated as far as they change something (gauges drop to
//! 0, alerts resolve, pending alerts reach `for`), in O(groups), however long the gap.
//!
//! **Metrics.** Counter (count or sum only): each batch emits one `Inc` per group with
//! selected rows, in label order, independent of windows and lateness; negative values
//! are not added (a counter never decreases). Gauge: each window close emits `Set(value)`
//! for every group in the window, in label order; for count/sum gauges, a group seen
//! before but absent from the closed window gets `Set(0)` once (not repeated while it
//! stays at 0); for min/max/avg absent groups get nothing. A gauge with `top = N` sets
//! only the N largest groups of the window, removes the series of groups that left the
//! top ([`MetricOp::Remove`]) and, for count/sum/rate, sets one `other` series to the sum
//! of the rest. Histogram: each batch emits one `Observe` per group with every selected
//! value, in label order.
//!
//! **Alerts.** Evaluated at each window close for every group in the window and every
//! group with a pending or firing alert (absent: count/sum = 0, min/max/avg = condition
//! false). Condition true from inactive: `active_since` = the window's start; the alert
//! fires when `window_end - active_since >= for` (so with `for` no longer than the window
//! it fires at once, without a pending step), otherwise it is pending. Pending and still
//! true fires once `for` is reached; condition false: firing → resolved (emitted),
//! pending → inactive (silent). Only transitions are emitted; a firing group stays
//! silent. Event labels: the group's labels (a column named `alertname` or `severity`
//! becomes `exported_<name>`), then `alertname` = rule and `severity`. The event time of
//! a transition (`ts_us`) is the window end. With `new_groups_only`, a group is evaluated
//! only in the first window it appears in (later it is known, its condition false), so
//! it fires once and resolves at the next close; [`RuleSet::known_groups`] saves the
//! known groups across restarts.
//!
//! **Packs.** [`packs`] holds the built-in rule packs, ordinary rules with parameters.
//!
//! **Order.** Rules run in configuration order; within a rule, counters first, then the
//! closed windows in start order, groups sorted by label values. No output depends on a
//! hash map's iteration order.

mod accumulator;
mod alert;
pub mod config;
mod engine;
pub mod filter;
mod groups;
mod output;
pub mod packs;
mod select;
pub mod window;

pub use accumulator::Accumulator;
pub use config::{
    AggFn, AggregateConfig, AlertConfig, CmpOp, ConfigError, MetricConfig, MetricKind, RuleConfig,
    WindowConfig, WindowKind, parse_duration,
};
pub use engine::{DEFAULT_BUCKETS, MAX_GROUPS_PER_RULE, OVERFLOW_LABEL, RuleSet};
pub use filter::{Filter, ValueExpr};
pub use output::{
    AlertEvent, AlertState, MetricDesc, MetricOp, MetricUpdate, Outputs, alerts_batch,
};
