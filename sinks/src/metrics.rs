//! Prometheus exposition: the pipeline's own metrics and the families that rules derive.
//!
//! One [`Metrics`] is shared (behind an `Arc`) by every stage: stages increment the
//! pipeline families directly; the rules consumer applies [`MetricUpdate`]s through
//! [`Metrics::apply`]; the HTTP listener encodes everything as OpenMetrics text.
//! Names follow `serversage_<area>_<name>_<unit>_total`; docs/metrics.md lists them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serversage_rules::{MetricDesc, MetricKind, MetricOp, MetricUpdate};

/// Label set of a pipeline metric: fixed keys, dynamic values.
pub type Labels = Vec<(&'static str, String)>;
/// Label set of a rule-derived metric: keys come from the rule's `group_by`.
type DynLabels = Vec<(String, String)>;

/// Series per rule family beyond which new label sets are folded into one `other` series.
pub const MAX_SERIES_PER_FAMILY: usize = 10_000;

/// The pipeline's own metrics.
#[derive(Default)]
pub struct PipelineMetrics {
    /// Bytes read from each source.
    pub source_read_bytes: Family<Labels, Counter>,
    /// Files each source currently follows.
    pub source_files: Family<Labels, Gauge>,
    /// Times a followed file shrank (truncation) and was read again from the start.
    pub source_truncations: Family<Labels, Counter>,
    /// Records a source knows it missed (the /dev/kmsg ring overwrote them before they were read).
    pub source_lost_records: Family<Labels, Counter>,
    /// Events parsed, by source and kind.
    pub events_parsed: Family<Labels, Counter>,
    /// Records that did not parse, by source, format and error type (each is kept in `dead_letters`).
    pub parse_errors: Family<Labels, Counter>,
    /// Batches waiting in each consumer's queue.
    pub bus_queue_batches: Family<Labels, Gauge>,
    /// Capacity of each consumer's queue, in batches.
    pub bus_queue_capacity: Family<Labels, Gauge>,
    /// Rows written to the store, by table.
    pub store_rows: Family<Labels, Counter>,
    /// Parquet files written, by table.
    pub store_files: Family<Labels, Counter>,
    /// Bytes of Parquet written, by table.
    pub store_written_bytes: Family<Labels, Counter>,
    /// Store write failures.
    pub store_errors: Family<Labels, Counter>,
    /// Events that arrived after their rule's window had closed.
    pub rule_late_events: Family<Labels, Counter>,
    /// Alert state transitions, by rule and state.
    pub alert_transitions: Family<Labels, Counter>,
    /// Notifications that could not be delivered, by notifier.
    pub notification_errors: Family<Labels, Counter>,
}

enum RuleFamily {
    Counter(Family<DynLabels, Counter<f64, AtomicU64>>),
    Gauge(Family<DynLabels, Gauge<f64, AtomicU64>>),
    Histogram(Family<DynLabels, Histogram, Buckets>),
}

/// Creates a rule histogram's series with the rule's bucket bounds.
#[derive(Clone)]
struct Buckets(Arc<[f64]>);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// Every metric ServerSage exposes, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    /// The pipeline's own families.
    pub pipeline: PipelineMetrics,
    rules: HashMap<String, (RuleFamily, AtomicU64)>,
}

impl Metrics {
    /// Registers the pipeline's families and one family per rule metric.
    pub fn new(rule_metrics: &[MetricDesc]) -> Metrics {
        let mut registry = Registry::default();
        let pipeline = PipelineMetrics::default();
        {
            let r = registry.sub_registry_with_prefix("serversage");
            let p = &pipeline;
            r.register(
                "source_read_bytes",
                "Bytes read from each source",
                p.source_read_bytes.clone(),
            );
            r.register(
                "source_files",
                "Files each source currently follows",
                p.source_files.clone(),
            );
            r.register(
                "source_truncations",
                "Followed files that shrank and were re-read from the start",
                p.source_truncations.clone(),
            );
            r.register(
                "source_lost_records",
                "Records a source missed (kernel ring buffer overwritten before they were read)",
                p.source_lost_records.clone(),
            );
            r.register(
                "events_parsed",
                "Events parsed, by source and kind",
                p.events_parsed.clone(),
            );
            r.register(
                "parse_errors",
                "Records that did not parse (kept in table dead_letters)",
                p.parse_errors.clone(),
            );
            r.register(
                "bus_queue_batches",
                "Batches waiting in each consumer's queue",
                p.bus_queue_batches.clone(),
            );
            r.register(
                "bus_queue_capacity_batches",
                "Capacity of each consumer's queue",
                p.bus_queue_capacity.clone(),
            );
            r.register(
                "store_rows",
                "Rows written to the Parquet store, by table",
                p.store_rows.clone(),
            );
            r.register(
                "store_files",
                "Parquet files written, by table",
                p.store_files.clone(),
            );
            r.register(
                "store_written_bytes",
                "Bytes of Parquet written, by table",
                p.store_written_bytes.clone(),
            );
            r.register(
                "store_errors",
                "Failed store writes, by table",
                p.store_errors.clone(),
            );
            r.register(
                "rule_late_events",
                "Events that arrived after their window closed",
                p.rule_late_events.clone(),
            );
            r.register(
                "alert_transitions",
                "Alert state transitions, by rule and state",
                p.alert_transitions.clone(),
            );
            r.register(
                "notification_errors",
                "Notifications that could not be delivered",
                p.notification_errors.clone(),
            );
        }
        let mut rules = HashMap::new();
        for d in rule_metrics {
            // prometheus-client appends `_total` to counters itself.
            let name = d.name.strip_suffix("_total").unwrap_or(&d.name).to_string();
            let family = match d.kind {
                MetricKind::Counter => {
                    let f = Family::<DynLabels, Counter<f64, AtomicU64>>::default();
                    registry.register(name, d.help.clone(), f.clone());
                    RuleFamily::Counter(f)
                }
                MetricKind::Gauge => {
                    let f = Family::<DynLabels, Gauge<f64, AtomicU64>>::default();
                    registry.register(name, d.help.clone(), f.clone());
                    RuleFamily::Gauge(f)
                }
                MetricKind::Histogram => {
                    let f = Family::new_with_constructor(Buckets(d.buckets.clone().into()));
                    registry.register(name, d.help.clone(), f.clone());
                    RuleFamily::Histogram(f)
                }
            };
            rules.insert(d.name.clone(), (family, AtomicU64::new(0)));
        }
        Metrics {
            registry,
            pipeline,
            rules,
        }
    }

    /// Applies one update from the rules engine. Unknown families are ignored (a rule
    /// without a metric output never produces one).
    pub fn apply(&self, update: &MetricUpdate) {
        let Some((family, series)) = self.rules.get(&update.name) else {
            return;
        };
        let mut labels: DynLabels = update.labels.clone();
        if matches!(update.op, MetricOp::Remove) {
            let removed = match family {
                RuleFamily::Counter(f) => f.remove(&labels),
                RuleFamily::Gauge(f) => f.remove(&labels),
                RuleFamily::Histogram(f) => f.remove(&labels),
            };
            if removed {
                series.fetch_sub(1, Ordering::Relaxed);
            }
            return;
        }
        let known = match family {
            RuleFamily::Counter(f) => f.get(&labels).is_some(),
            RuleFamily::Gauge(f) => f.get(&labels).is_some(),
            RuleFamily::Histogram(f) => f.get(&labels).is_some(),
        };
        if !known {
            if series.load(Ordering::Relaxed) as usize >= MAX_SERIES_PER_FAMILY {
                for (_, v) in labels.iter_mut() {
                    *v = "other".to_string();
                }
            } else {
                series.fetch_add(1, Ordering::Relaxed);
            }
        }
        match (family, &update.op) {
            (RuleFamily::Counter(f), MetricOp::Inc(v)) => {
                f.get_or_create(&labels).inc_by(*v);
            }
            (RuleFamily::Gauge(f), MetricOp::Set(v)) => {
                f.get_or_create(&labels).set(*v);
            }
            (RuleFamily::Gauge(f), MetricOp::Inc(v)) => {
                f.get_or_create(&labels).inc_by(*v);
            }
            (RuleFamily::Histogram(f), MetricOp::Observe(values)) => {
                let h = f.get_or_create(&labels);
                for v in values {
                    h.observe(*v);
                }
            }
            // An op that does not fit the family's type (never produced by the rules).
            _ => {}
        }
    }

    /// The OpenMetrics text exposition of every family.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Shorthand for a one-label pipeline label set.
pub fn label(key: &'static str, value: impl Into<String>) -> Labels {
    vec![(key, value.into())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_families_encode_with_labels() {
        let m = Metrics::new(&[
            MetricDesc {
                name: "kernel_events_total".into(),
                kind: MetricKind::Counter,
                help: "Kernel events".into(),
                label_names: vec!["class".into()],
                buckets: Vec::new(),
            },
            MetricDesc {
                name: "kernel_events_per_minute".into(),
                kind: MetricKind::Gauge,
                help: "Per minute".into(),
                label_names: vec!["class".into()],
                buckets: Vec::new(),
            },
        ]);
        m.apply(&MetricUpdate {
            name: "kernel_events_total".into(),
            labels: vec![("class".into(), "oom_kill".into())],
            op: MetricOp::Inc(2.0),
        });
        m.apply(&MetricUpdate {
            name: "kernel_events_per_minute".into(),
            labels: vec![("class".into(), "segfault".into())],
            op: MetricOp::Set(7.0),
        });
        m.pipeline
            .store_rows
            .get_or_create(&label("table", "kernel_events"))
            .inc_by(5);
        let text = m.encode();
        assert!(
            text.contains("kernel_events_total{class=\"oom_kill\"} 2.0"),
            "{text}"
        );
        assert!(
            text.contains("kernel_events_per_minute{class=\"segfault\"} 7.0"),
            "{text}"
        );
        assert!(
            text.contains("serversage_store_rows_total{table=\"kernel_events\"} 5"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn histograms_and_removed_series() {
        let m = Metrics::new(&[
            MetricDesc {
                name: "gc_pause_seconds".into(),
                kind: MetricKind::Histogram,
                help: "Pauses".into(),
                label_names: vec!["jvm".into()],
                buckets: vec![0.01, 0.1],
            },
            MetricDesc {
                name: "top".into(),
                kind: MetricKind::Gauge,
                help: "Top".into(),
                label_names: vec!["id".into()],
                buckets: Vec::new(),
            },
        ]);
        m.apply(&MetricUpdate {
            name: "gc_pause_seconds".into(),
            labels: vec![("jvm".into(), "app".into())],
            op: MetricOp::Observe(vec![0.005, 0.05, 0.05, 3.0]),
        });
        for (id, op) in [
            ("a", MetricOp::Set(1.0)),
            ("b", MetricOp::Set(2.0)),
            ("a", MetricOp::Remove),
        ] {
            m.apply(&MetricUpdate {
                name: "top".into(),
                labels: vec![("id".into(), id.into())],
                op,
            });
        }
        let text = m.encode();
        for line in [
            "gc_pause_seconds_bucket{le=\"0.01\",jvm=\"app\"} 1",
            "gc_pause_seconds_bucket{le=\"0.1\",jvm=\"app\"} 3",
            "gc_pause_seconds_bucket{le=\"+Inf\",jvm=\"app\"} 4",
            "gc_pause_seconds_count{jvm=\"app\"} 4",
            "top{id=\"b\"} 2.0",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("top{id=\"a\"}"), "{text}");
    }
}
