//! The rule engine: [`RuleSet`] routes batches to rules, keeps per-rule window state and
//! emits metric updates and alert transitions. See the crate docs for the semantics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, StringArray};
use datafusion::arrow::compute::{cast, max as max_of};
use datafusion::arrow::datatypes::{DataType, TimestampMicrosecondType};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serversage_parsers::EventKind;

use crate::accumulator::Accumulator;
use crate::alert::{Active, AlertRule};
use crate::config::{AggFn, ConfigError, MetricKind, RuleConfig};
use crate::filter::Filter;
use crate::output::{MetricDesc, MetricOp, MetricUpdate, Outputs};
use crate::window::WindowSpec;

/// Most distinct groups one rule tracks. Rows of further groups are counted in one
/// overflow group whose every label value is [`OVERFLOW_LABEL`].
pub const MAX_GROUPS_PER_RULE: usize = 10_000;

/// Label value of the overflow group.
pub const OVERFLOW_LABEL: &str = "other";

/// A validated set of rules and their state. Deterministic: the same calls with the same
/// arguments produce the same [`Outputs`], in the same order.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Validates every rule (keys `rules[i]...`) plus cross-rule constraints (unique rule
    /// names and metric names) and compiles them. Returns every error found.
    pub fn new(rules: &[RuleConfig]) -> Result<RuleSet, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut compiled = Vec::new();
        let mut names = HashSet::new();
        let mut metrics = HashSet::new();
        for (i, config) in rules.iter().enumerate() {
            let prefix = format!("rules[{i}]");
            if !names.insert(config.name.as_str()) {
                errors.push(ConfigError::new(
                    format!("{prefix}.name"),
                    format!("duplicate rule name {:?}", config.name),
                ));
            }
            if let Some(m) = &config.metric
                && !metrics.insert(m.name.as_str())
            {
                errors.push(ConfigError::new(
                    format!("{prefix}.metric.name"),
                    format!("metric {:?} is already produced by another rule", m.name),
                ));
            }
            let (errs, parts) = config.check(&prefix);
            errors.extend(errs);
            if let Some((kind, filter, durations)) = parts {
                compiled.push(Rule::new(config, kind, filter, durations));
            }
        }
        if errors.is_empty() {
            Ok(RuleSet { rules: compiled })
        } else {
            Err(errors)
        }
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Event kinds read by at least one rule (sorted, no duplicates).
    pub fn kinds(&self) -> Vec<EventKind> {
        let mut kinds: Vec<EventKind> = self.rules.iter().map(|r| r.kind).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The metric families the rules feed, in rule order.
    pub fn metric_descriptors(&self) -> Vec<MetricDesc> {
        self.rules
            .iter()
            .filter_map(|r| r.metric.as_ref().map(|m| m.desc.clone()))
            .collect()
    }

    /// Feeds a batch of `kind` (in [`EventKind::schema`]) to every rule reading that kind,
    /// in rule order. `now_us` is the processing time of arrival (for idle flushing).
    pub fn on_batch(
        &mut self,
        kind: EventKind,
        batch: &RecordBatch,
        now_us: i64,
        out: &mut Outputs,
    ) {
        let schema = kind.schema();
        let matches =
            Arc::ptr_eq(&batch.schema(), &schema) || batch.schema().fields() == schema.fields();
        for rule in self.rules.iter_mut().filter(|r| r.kind == kind) {
            if !matches {
                out.filter_errors.push((
                    rule.name.clone(),
                    format!("batch does not have the {} schema; skipped", kind.table()),
                ));
                continue;
            }
            rule.on_batch(batch, now_us, out);
        }
    }

    /// Processing-time tick: closes the open windows of every rule that has received no
    /// batch for at least its `idle_flush`.
    pub fn on_tick(&mut self, now_us: i64, out: &mut Outputs) {
        for rule in &mut self.rules {
            if let Some(last) = rule.last_arrival
                && now_us.saturating_sub(last) >= rule.idle_flush
            {
                rule.close_all(out);
            }
        }
    }

    /// Closes every open window of every rule (end of an import, shutdown).
    pub fn flush(&mut self, _now_us: i64, out: &mut Outputs) {
        for rule in &mut self.rules {
            rule.close_all(out);
        }
    }
}

#[derive(Debug)]
struct MetricOut {
    desc: MetricDesc,
}

/// Interned group keys of one rule.
#[derive(Debug, Default)]
struct Groups {
    /// Label values per group id.
    labels: Vec<Vec<String>>,
    /// Encoded key → group id.
    ids: HashMap<String, u32>,
    /// Id of the overflow group, once created.
    overflow: Option<u32>,
}

impl Groups {
    fn intern(&mut self, key: &str, values: impl FnOnce() -> Vec<String>, width: usize) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        if self.labels.len() >= MAX_GROUPS_PER_RULE {
            if let Some(id) = self.overflow {
                return id;
            }
            let id = self.labels.len() as u32;
            self.labels.push(vec![OVERFLOW_LABEL.to_string(); width]);
            self.overflow = Some(id);
            return id;
        }
        let id = self.labels.len() as u32;
        self.labels.push(values());
        self.ids.insert(key.to_string(), id);
        id
    }

    fn sort(&self, ids: &mut [u32]) {
        ids.sort_by(|a, b| self.labels[*a as usize].cmp(&self.labels[*b as usize]));
    }
}

/// One compiled rule and its state.
#[derive(Debug)]
struct Rule {
    name: String,
    kind: EventKind,
    filter: Option<Filter>,
    group_by: Vec<String>,
    group_cols: Vec<usize>,
    ts_col: usize,
    agg_col: Option<usize>,
    func: AggFn,
    window: WindowSpec,
    lateness: i64,
    idle_flush: i64,
    metric: Option<MetricOut>,
    alert: Option<AlertRule>,
    /// Whether windows are kept at all (gauge or alert); counter-only rules need none.
    windowed: bool,

    groups: Groups,
    /// Accumulators keyed by (window start, group).
    accs: HashMap<(i64, u32), Accumulator>,
    /// Open windows (start → groups present), ordered by start.
    open: BTreeMap<i64, Vec<u32>>,
    /// Start of the newest closed window; windows starting at or before it are closed.
    closed_through: Option<i64>,
    /// Newest event time seen.
    max_ts: Option<i64>,
    /// Processing time of the last batch.
    last_arrival: Option<i64>,
    /// Last gauge value set per group (count/sum gauges, for zeroing absent groups).
    gauge_last: HashMap<u32, f64>,
    /// Pending or firing groups.
    active: HashMap<u32, Active>,
}

impl Rule {
    fn new(
        config: &RuleConfig,
        kind: EventKind,
        filter: Option<Filter>,
        d: crate::config::Durations,
    ) -> Rule {
        let schema = kind.schema();
        let index = |name: &str| schema.index_of(name).expect("validated column");
        let metric = config.metric.as_ref().map(|m| MetricOut {
            desc: MetricDesc {
                name: m.name.clone(),
                kind: m.kind,
                help: m.help.clone().unwrap_or_else(|| default_help(config)),
                label_names: config.group_by.clone(),
            },
        });
        let windowed = config.alert.is_some()
            || metric
                .as_ref()
                .is_some_and(|m| m.desc.kind == MetricKind::Gauge);
        Rule {
            name: config.name.clone(),
            kind,
            filter,
            group_by: config.group_by.clone(),
            group_cols: config.group_by.iter().map(|c| index(c)).collect(),
            ts_col: index("ts"),
            agg_col: config.aggregate.column.as_deref().map(index),
            func: config.aggregate.func,
            window: WindowSpec::new(d.size, d.slide),
            lateness: d.lateness,
            idle_flush: d.idle_flush,
            metric,
            alert: config.alert.as_ref().map(|a| AlertRule::new(a, d.hold)),
            windowed,
            groups: Groups::default(),
            accs: HashMap::new(),
            open: BTreeMap::new(),
            closed_through: None,
            max_ts: None,
            last_arrival: None,
            gauge_last: HashMap::new(),
            active: HashMap::new(),
        }
    }

    fn counter(&self) -> Option<&str> {
        self.metric
            .as_ref()
            .filter(|m| m.desc.kind == MetricKind::Counter)
            .map(|m| m.desc.name.as_str())
    }

    fn gauge(&self) -> Option<&str> {
        self.metric
            .as_ref()
            .filter(|m| m.desc.kind == MetricKind::Gauge)
            .map(|m| m.desc.name.as_str())
    }

    fn on_batch(&mut self, batch: &RecordBatch, now_us: i64, out: &mut Outputs) {
        self.last_arrival = Some(now_us);
        if batch.num_rows() == 0 {
            return;
        }
        let ts = batch
            .column(self.ts_col)
            .as_primitive::<TimestampMicrosecondType>();
        // The watermark follows every row of the kind, selected or not: stream time moves
        // on even while the filter selects nothing.
        let batch_max = max_of(ts);

        let mask = match &self.filter {
            None => None,
            Some(f) => match f.evaluate(batch) {
                Ok(m) => Some(m),
                Err(e) => {
                    out.filter_errors.push((self.name.clone(), e));
                    self.advance(batch_max, out);
                    return;
                }
            },
        };
        let values: Option<Float64Array> = match self.agg_col {
            None => None,
            Some(c) => match cast(batch.column(c), &DataType::Float64) {
                Ok(a) => Some(a.as_primitive().clone()),
                Err(e) => {
                    out.filter_errors.push((self.name.clone(), e.to_string()));
                    self.advance(batch_max, out);
                    return;
                }
            },
        };
        let key_cols: Vec<KeyCol<'_>> = match self
            .group_cols
            .iter()
            .map(|&c| KeyCol::new(batch.column(c)))
            .collect::<Result<_, _>>()
        {
            Ok(k) => k,
            Err(e) => {
                out.filter_errors.push((self.name.clone(), e));
                self.advance(batch_max, out);
                return;
            }
        };

        let rows: Box<dyn Iterator<Item = usize>> = match &mask {
            Some(m) => Box::new(m.values().set_indices()),
            None => Box::new(0..batch.num_rows()),
        };
        let counter = self.counter().is_some();
        let sum_counter = counter && self.func == AggFn::Sum;
        let mut incs: HashMap<u32, f64> = HashMap::new();
        let mut late = 0u64;
        let mut key = String::new();
        let mut scratch = String::new();
        for row in rows {
            if ts.is_null(row) {
                continue;
            }
            let value = match &values {
                Some(v) if v.is_null(row) || v.value(row).is_nan() => continue,
                Some(v) => Some(v.value(row)),
                None => None,
            };
            key.clear();
            for col in &key_cols {
                scratch.clear();
                col.write(row, &mut scratch);
                let _ = write!(key, "{}:{}", scratch.len(), scratch);
            }
            let width = key_cols.len();
            let gid = self.groups.intern(
                &key,
                || {
                    key_cols
                        .iter()
                        .map(|c| {
                            let mut s = String::new();
                            c.write(row, &mut s);
                            s
                        })
                        .collect()
                },
                width,
            );
            if counter {
                let inc = match value {
                    Some(v) if sum_counter => v.max(0.0),
                    _ => 1.0,
                };
                *incs.entry(gid).or_insert(0.0) += inc;
            }
            if !self.windowed {
                continue;
            }
            let t = ts.value(row);
            let mut dropped = false;
            for start in self.window.starts(t) {
                if self.closed_through.is_some_and(|c| start <= c) {
                    dropped = true;
                    continue;
                }
                let acc = self.accs.entry((start, gid)).or_insert_with(|| {
                    self.open.entry(start).or_default().push(gid);
                    Accumulator::default()
                });
                match value {
                    Some(v) => acc.add_value(v),
                    None => acc.add_row(),
                }
            }
            if dropped {
                late += 1;
            }
        }

        if let Some(name) = self.counter() {
            let mut ids: Vec<u32> = incs.keys().copied().collect();
            self.groups.sort(&mut ids);
            for gid in ids {
                out.metrics.push(MetricUpdate {
                    name: name.to_string(),
                    labels: self.labels(gid),
                    op: MetricOp::Inc(incs[&gid]),
                });
            }
        }
        if late > 0 {
            out.late_events.push((self.name.clone(), late));
        }
        self.advance(batch_max, out);
    }

    /// Moves the watermark to the batch's newest event time minus the allowed lateness
    /// and closes the windows it passes.
    fn advance(&mut self, batch_max: Option<i64>, out: &mut Outputs) {
        let Some(batch_max) = batch_max else { return };
        let max_ts = self.max_ts.map_or(batch_max, |m| m.max(batch_max));
        self.max_ts = Some(max_ts);
        if self.windowed {
            let watermark = max_ts.saturating_sub(self.lateness);
            self.close_through(self.window.closable_through(watermark), out);
        }
    }

    /// Closes every open window, whatever the watermark.
    fn close_all(&mut self, out: &mut Outputs) {
        if let Some((&last, _)) = self.open.last_key_value() {
            self.close_through(last, out);
        }
    }

    /// Closes every window starting at or before `horizon`: windows holding events are
    /// evaluated with their accumulators; empty windows in between are evaluated only as
    /// far as they can change state (gauges dropping to 0, alerts resolving, pending
    /// alerts reaching `for`), so a jump in event time costs O(groups), not O(windows).
    fn close_through(&mut self, horizon: i64, out: &mut Outputs) {
        if self.closed_through.is_some_and(|c| horizon <= c) {
            return;
        }
        let slide = self.window.slide;
        let mut cursor = match self.closed_through {
            Some(c) => c + slide,
            None => match self.open.first_key_value() {
                Some((&s, _)) => s,
                None => horizon + slide,
            },
        };
        while cursor <= horizon {
            let next_open = self.open.first_key_value().map(|(&s, _)| s);
            if next_open == Some(cursor) {
                self.close_window(cursor, out);
                cursor += slide;
                continue;
            }
            // Empty windows [cursor, limit).
            let limit = next_open
                .filter(|&s| s <= horizon)
                .unwrap_or(horizon + slide);
            let mut start = cursor;
            if self.empty_window_matters() {
                while start < limit {
                    self.close_window(start, out);
                    match self.next_pending_fire() {
                        Some(t) => start = t.max(start + slide),
                        None => break,
                    }
                }
            }
            cursor = limit;
        }
        self.closed_through = Some(horizon);
    }

    /// Whether evaluating an empty window can change anything.
    fn empty_window_matters(&self) -> bool {
        !self.active.is_empty()
            || (self.gauge().is_some() && self.gauge_last.values().any(|v| *v != 0.0))
    }

    /// Start of the earliest window at whose close a pending alert would fire.
    fn next_pending_fire(&self) -> Option<i64> {
        let hold = self.alert.as_ref()?.hold;
        self.active
            .values()
            .filter_map(|a| match a {
                Active::Pending { since } => Some(
                    self.window
                        .ceil_start(since.saturating_add(hold).saturating_sub(self.window.size)),
                ),
                Active::Firing { .. } => None,
            })
            .min()
    }

    fn labels(&self, gid: u32) -> Vec<(String, String)> {
        self.group_by
            .iter()
            .cloned()
            .zip(self.groups.labels[gid as usize].iter().cloned())
            .collect()
    }

    /// Evaluates and removes the window starting at `start` (possibly empty).
    fn close_window(&mut self, start: i64, out: &mut Outputs) {
        let end = self.window.end(start);
        let present_ids = self.open.remove(&start).unwrap_or_default();
        let mut present: HashMap<u32, Option<f64>> = HashMap::with_capacity(present_ids.len());
        for gid in present_ids {
            let acc = self.accs.remove(&(start, gid)).unwrap_or_default();
            present.insert(gid, acc.value(self.func));
        }
        let zero_when_empty = self.func.zero_when_empty();
        let absent_value = zero_when_empty.then_some(0.0);

        if let Some(name) = self.gauge().map(str::to_string) {
            let mut ids: Vec<u32> = present.keys().copied().collect();
            if zero_when_empty {
                ids.extend(
                    self.gauge_last
                        .iter()
                        .filter(|(g, v)| **v != 0.0 && !present.contains_key(g))
                        .map(|(g, _)| *g),
                );
            }
            self.groups.sort(&mut ids);
            for gid in ids {
                let value = present.get(&gid).copied().unwrap_or(absent_value);
                let Some(value) = value else { continue };
                if zero_when_empty {
                    self.gauge_last.insert(gid, value);
                }
                out.metrics.push(MetricUpdate {
                    name: name.clone(),
                    labels: self.labels(gid),
                    op: MetricOp::Set(value),
                });
            }
        }

        if let Some(alert) = self.alert.take() {
            let mut ids: Vec<u32> = present.keys().copied().collect();
            ids.extend(self.active.keys().filter(|g| !present.contains_key(g)));
            self.groups.sort(&mut ids);
            for gid in ids {
                let value = present.get(&gid).copied().unwrap_or(absent_value);
                let prev = self.active.get(&gid).copied();
                let step = alert.step(prev, alert.condition(value), start, end);
                match step.next {
                    Some(a) => self.active.insert(gid, a),
                    None => self.active.remove(&gid),
                };
                if let Some((state, since)) = step.emit {
                    let group = self.labels(gid);
                    out.alerts
                        .push(alert.event(&self.name, state, &group, value, start, end, since));
                }
            }
            self.alert = Some(alert);
        }
    }
}

fn default_help(config: &RuleConfig) -> String {
    let what = match &config.aggregate.column {
        Some(c) => format!("{}({c})", config.aggregate.func.as_str()),
        None => format!("{}(*)", config.aggregate.func.as_str()),
    };
    let filter = config
        .filter
        .as_deref()
        .map(|f| format!(" where {f}"))
        .unwrap_or_default();
    format!(
        "rule {}: {what} of {} events{filter}, per {} window",
        config.name, config.kind, config.window.size
    )
}

/// A group-by column of one batch, rendered as strings (null → "").
enum KeyCol<'a> {
    Utf8(&'a StringArray),
    Other(ArrayFormatter<'a>),
}

impl<'a> KeyCol<'a> {
    fn new(array: &'a ArrayRef) -> Result<KeyCol<'a>, String> {
        if let Some(s) = array.as_any().downcast_ref::<StringArray>() {
            return Ok(KeyCol::Utf8(s));
        }
        ArrayFormatter::try_new(array.as_ref(), &NULL_AS_EMPTY)
            .map(KeyCol::Other)
            .map_err(|e| e.to_string())
    }

    fn write(&self, row: usize, out: &mut String) {
        match self {
            KeyCol::Utf8(a) => {
                if a.is_valid(row) {
                    out.push_str(a.value(row));
                }
            }
            KeyCol::Other(f) => {
                let _ = write!(out, "{}", f.value(row));
            }
        }
    }
}

static NULL_AS_EMPTY: FormatOptions<'static> = FormatOptions::new().with_null("");
