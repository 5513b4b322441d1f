//! The rule engine: [`RuleSet`] routes batches to rules, keeps per-rule window state and
//! emits metric updates and alert transitions. See the crate docs for the semantics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::compute::{cast, max as max_of};
use datafusion::arrow::datatypes::{DataType, TimestampMicrosecondType};
use datafusion::arrow::record_batch::RecordBatch;
use serversage_parsers::EventKind;

use crate::accumulator::Accumulator;
use crate::alert::{Active, AlertRule};
use crate::config::{AggFn, Compiled, ConfigError, MetricKind, RuleConfig, split_alias};
use crate::filter::{Filter, ValueExpr};
use crate::groups::{Groups, KeyCol, encode_key};
use crate::output::{MetricDesc, MetricOp, MetricUpdate, Outputs};
use crate::select::{Rows, select};
use crate::window::WindowSpec;

/// Most distinct groups one rule tracks. Rows of further groups are counted in one
/// overflow group whose every label value is [`OVERFLOW_LABEL`].
pub const MAX_GROUPS_PER_RULE: usize = 10_000;

/// Default histogram buckets: seconds, from 1 ms to 1 min in 1-2.5-5 steps.
pub const DEFAULT_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

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
        let keyed: Vec<(String, &RuleConfig)> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("rules[{i}]"), r))
            .collect();
        RuleSet::with_keys(&keyed)
    }

    /// As [`RuleSet::new`], with each rule's configuration key given (rules of a built-in
    /// pack are `packs.kernel.rules[2]`), so errors name where the rule came from.
    pub fn with_keys(rules: &[(String, &RuleConfig)]) -> Result<RuleSet, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut compiled = Vec::new();
        let mut names = HashSet::new();
        let mut metrics = HashSet::new();
        for (prefix, config) in rules {
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
            let (errs, parts) = config.check(prefix);
            errors.extend(errs);
            if let Some(parts) = parts {
                compiled.push(Rule::new(config, parts));
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

    /// The groups each `new_groups_only` rule has seen, by rule name, for saving across
    /// restarts (the pipeline keeps them in its state directory).
    pub fn known_groups(&self) -> BTreeMap<String, Vec<Vec<String>>> {
        self.rules
            .iter()
            .filter(|r| r.new_groups_only)
            .map(|r| (r.name.clone(), r.known_groups()))
            .collect()
    }

    /// Restores groups saved by [`RuleSet::known_groups`]; rules that no longer exist
    /// or whose group_by changed width are ignored.
    pub fn restore_known_groups(&mut self, saved: &BTreeMap<String, Vec<Vec<String>>>) {
        for rule in self.rules.iter_mut().filter(|r| r.new_groups_only) {
            if let Some(groups) = saved.get(&rule.name) {
                let width = rule.group_by.len();
                rule.known
                    .extend(groups.iter().filter(|g| g.len() == width).cloned());
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

/// One compiled rule and its state.
#[derive(Debug)]
struct Rule {
    name: String,
    kind: EventKind,
    filter: Option<Filter>,
    group_by: Vec<String>,
    /// Column index per group entry (`usize::MAX` for an expression).
    group_cols: Vec<usize>,
    /// Expression per group entry that is not a plain column.
    group_exprs: Vec<Option<ValueExpr>>,
    ts_col: usize,
    agg_col: Option<usize>,
    /// The aggregated value when it is an SQL expression rather than a column.
    value_expr: Option<ValueExpr>,
    /// Per column of the kind's schema: read by the value, group keys or windows.
    used: Vec<bool>,
    func: AggFn,
    /// `q` of a quantile rule.
    quantile: f64,
    /// Cardinality cap of a gauge (`metric.top`).
    top: Option<usize>,
    /// Alert only for groups never seen before.
    new_groups_only: bool,
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
    /// Groups seen in a closed window (`new_groups_only` alerts), by label values.
    known: HashSet<Vec<String>>,
    /// Series of a capped gauge currently exported.
    shown: HashSet<u32>,
}

impl Rule {
    fn new(
        config: &RuleConfig,
        Compiled {
            kind,
            filter,
            durations: d,
            value_expr,
            group_exprs,
        }: Compiled,
    ) -> Rule {
        let schema = kind.schema();
        let index = |name: &str| schema.index_of(name).expect("validated column");
        let metric = config.metric.as_ref().map(|m| MetricOut {
            desc: MetricDesc {
                name: m.name.clone(),
                kind: m.kind,
                help: m.help.clone().unwrap_or_else(|| default_help(config)),
                label_names: config.group_labels(),
                buckets: match m.kind {
                    MetricKind::Histogram => m
                        .buckets
                        .clone()
                        .unwrap_or_else(|| DEFAULT_BUCKETS.to_vec()),
                    _ => Vec::new(),
                },
            },
        });
        let mut used = vec![false; schema.fields().len()];
        let exprs = value_expr.iter().chain(group_exprs.iter().flatten());
        for i in exprs.flat_map(ValueExpr::columns) {
            used[i] = true;
        }
        for g in &config.group_by {
            if let Ok(i) = schema.index_of(split_alias(g).0) {
                used[i] = true;
            }
        }
        let ts_col = index("ts");
        let agg_col = match value_expr {
            Some(_) => None,
            None => config.aggregate.column.as_deref().map(index),
        };
        for i in agg_col.into_iter().chain([ts_col]) {
            used[i] = true;
        }
        let windowed = config.alert.is_some()
            || metric
                .as_ref()
                .is_some_and(|m| m.desc.kind == MetricKind::Gauge);
        Rule {
            name: config.name.clone(),
            kind,
            filter,
            group_by: config.group_labels(),
            group_cols: config
                .group_by
                .iter()
                .zip(&group_exprs)
                .map(|(g, e)| match e {
                    Some(_) => usize::MAX,
                    None => index(split_alias(g).0),
                })
                .collect(),
            group_exprs,
            ts_col,
            agg_col,
            value_expr,
            used,
            func: config.aggregate.func,
            quantile: config.aggregate.quantile.unwrap_or(0.5),
            top: config.metric.as_ref().and_then(|m| m.top),
            new_groups_only: config.alert.as_ref().is_some_and(|a| a.new_groups_only),
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
            known: HashSet::new(),
            shown: HashSet::new(),
        }
    }

    fn counter(&self) -> Option<&str> {
        self.metric
            .as_ref()
            .filter(|m| m.desc.kind == MetricKind::Counter)
            .map(|m| m.desc.name.as_str())
    }

    fn histogram(&self) -> Option<&str> {
        self.metric
            .as_ref()
            .filter(|m| m.desc.kind == MetricKind::Histogram)
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
        // The watermark follows every row of the kind, selected or not: stream time moves
        // on even while the filter selects nothing.
        let batch_max = max_of(
            batch
                .column(self.ts_col)
                .as_primitive::<TimestampMicrosecondType>(),
        );

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
        // The expressions below read the selected rows only.
        let batch = match select(batch, mask.as_ref(), &self.used) {
            Ok(Rows::None) => {
                self.advance(batch_max, out);
                return;
            }
            Ok(Rows::All(b) | Rows::Some(b)) => b,
            Err(e) => {
                out.filter_errors.push((self.name.clone(), e));
                self.advance(batch_max, out);
                return;
            }
        };
        let batch = &batch;
        let ts = batch
            .column(self.ts_col)
            .as_primitive::<TimestampMicrosecondType>();
        let column = match (&self.value_expr, self.agg_col) {
            (Some(e), _) => match e.evaluate(batch) {
                Ok(a) => Some(a),
                Err(e) => {
                    out.filter_errors.push((self.name.clone(), e));
                    self.advance(batch_max, out);
                    return;
                }
            },
            (None, Some(c)) => Some(batch.column(c).clone()),
            (None, None) => None,
        };
        let values: Option<Float64Array> = match column {
            None => None,
            Some(c) => match cast(&c, &DataType::Float64) {
                Ok(a) => Some(a.as_primitive().clone()),
                Err(e) => {
                    out.filter_errors.push((self.name.clone(), e.to_string()));
                    self.advance(batch_max, out);
                    return;
                }
            },
        };
        let mut key_arrays: Vec<ArrayRef> = Vec::with_capacity(self.group_cols.len());
        for (&c, e) in self.group_cols.iter().zip(&self.group_exprs) {
            match e {
                None => key_arrays.push(batch.column(c).clone()),
                Some(e) => match e.evaluate(batch) {
                    Ok(a) => key_arrays.push(a),
                    Err(e) => {
                        out.filter_errors.push((self.name.clone(), e));
                        self.advance(batch_max, out);
                        return;
                    }
                },
            }
        }
        let key_cols: Vec<KeyCol<'_>> =
            match key_arrays.iter().map(KeyCol::new).collect::<Result<_, _>>() {
                Ok(k) => k,
                Err(e) => {
                    out.filter_errors.push((self.name.clone(), e));
                    self.advance(batch_max, out);
                    return;
                }
            };

        let counter = self.counter().is_some();
        let sum_counter = counter && self.func == AggFn::Sum;
        let histogram = self.histogram().is_some();
        let keep = self.func == AggFn::Quantile;
        let mut incs: HashMap<u32, f64> = HashMap::new();
        let mut observed: HashMap<u32, Vec<f64>> = HashMap::new();
        let mut late = 0u64;
        let mut key = String::new();
        let mut scratch = String::new();
        for row in 0..batch.num_rows() {
            if ts.is_null(row) {
                continue;
            }
            let value = match &values {
                Some(v) if v.is_null(row) || v.value(row).is_nan() => continue,
                Some(v) => Some(v.value(row)),
                None => None,
            };
            encode_key(&key_cols, row, &mut key, &mut scratch);
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
            if histogram && let Some(v) = value {
                observed.entry(gid).or_default().push(v);
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
                    Some(v) => acc.add_value(v, keep),
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
        if let Some(name) = self.histogram() {
            let mut ids: Vec<u32> = observed.keys().copied().collect();
            self.groups.sort(&mut ids);
            for gid in ids {
                out.metrics.push(MetricUpdate {
                    name: name.to_string(),
                    labels: self.labels(gid),
                    op: MetricOp::Observe(observed.remove(&gid).unwrap_or_default()),
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
            || !self.shown.is_empty()
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
        let window_seconds = self.window.size as f64 / 1e6;
        for gid in present_ids {
            let mut acc = self.accs.remove(&(start, gid)).unwrap_or_default();
            present.insert(gid, acc.value(self.func, self.quantile, window_seconds));
        }
        let zero_when_empty = self.func.zero_when_empty();
        let absent_value = zero_when_empty.then_some(0.0);

        if let (Some(name), Some(top)) = (self.gauge().map(str::to_string), self.top) {
            self.set_top_gauges(&name, top, &present, out);
        } else if let Some(name) = self.gauge().map(str::to_string) {
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
            // `new_groups_only`: a group is evaluated in the first window it appears in
            // and is known from then on; a known group's condition is false, so a firing
            // one resolves at the next close.
            let mut new_ids = HashSet::new();
            if self.new_groups_only {
                for &gid in &ids {
                    if self.known.insert(self.groups.labels[gid as usize].clone()) {
                        new_ids.insert(gid);
                    }
                }
            }
            ids.extend(self.active.keys().filter(|g| !present.contains_key(g)));
            self.groups.sort(&mut ids);
            for gid in ids {
                let value = present.get(&gid).copied().unwrap_or(absent_value);
                let prev = self.active.get(&gid).copied();
                let cond = if self.new_groups_only && !new_ids.contains(&gid) {
                    false
                } else {
                    alert.condition(value)
                };
                if self.new_groups_only && prev.is_none() && !cond {
                    continue;
                }
                let step = alert.step(prev, cond, start, end);
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

    /// Sets a capped gauge: the `top` largest groups keep their series, the rest are
    /// summed into the `other` series (additive functions only), and series that left
    /// the top are removed. Ties are broken by label order, so the result is
    /// deterministic.
    fn set_top_gauges(
        &mut self,
        name: &str,
        top: usize,
        present: &HashMap<u32, Option<f64>>,
        out: &mut Outputs,
    ) {
        let mut ranked: Vec<(u32, f64)> = present
            .iter()
            .filter_map(|(g, v)| v.map(|v| (*g, v)))
            .collect();
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1).then_with(|| {
                self.groups.labels[a.0 as usize].cmp(&self.groups.labels[b.0 as usize])
            })
        });
        let rest = ranked.split_off(ranked.len().min(top));
        let mut shown: Vec<u32> = ranked.iter().map(|(g, _)| *g).collect();
        self.groups.sort(&mut shown);
        let mut gone: Vec<u32> = self
            .shown
            .iter()
            .filter(|g| !shown.contains(g))
            .copied()
            .collect();
        self.groups.sort(&mut gone);
        for gid in gone {
            out.metrics.push(MetricUpdate {
                name: name.to_string(),
                labels: self.labels(gid),
                op: MetricOp::Remove,
            });
        }
        for &gid in &shown {
            out.metrics.push(MetricUpdate {
                name: name.to_string(),
                labels: self.labels(gid),
                op: MetricOp::Set(present[&gid].unwrap_or(0.0)),
            });
        }
        if self.func.zero_when_empty() && !self.group_by.is_empty() {
            // The `other` series is always exported (0 when every group fits), so a
            // dashboard summing the family sees the whole total.
            let other: f64 = rest.iter().map(|(_, v)| v).sum();
            out.metrics.push(MetricUpdate {
                name: name.to_string(),
                labels: self
                    .group_by
                    .iter()
                    .map(|c| (c.clone(), OVERFLOW_LABEL.to_string()))
                    .collect(),
                op: MetricOp::Set(other),
            });
        }
        self.shown = shown.into_iter().collect();
    }

    /// Label values of the groups a `new_groups_only` rule has seen.
    fn known_groups(&self) -> Vec<Vec<String>> {
        let mut v: Vec<Vec<String>> = self.known.iter().cloned().collect();
        v.sort();
        v
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
