//! Quantile and rate aggregates, value and group expressions, histograms, capped gauges
//! and new-group alerts.

mod common;

use common::*;
use serversage_rules::{AlertState, MetricOp};

fn set(labels: &str, v: f64) -> (String, MetricOp) {
    (labels.to_string(), MetricOp::Set(v))
}

#[test]
fn quantile_and_rate_over_a_window() {
    // uptime_seconds = ts in seconds: 1, 2, 3, 4, 10 in [0, 60s).
    let mut rs = ruleset(&[
        r#"
        name = "p90"
        kind = "kernel"
        window = { size = "1m" }
        aggregate = { fn = "quantile", quantile = 0.9, column = "uptime_seconds" }
        metric = { name = "p90_uptime", type = "gauge" }
        "#,
        r#"
        name = "per_second"
        kind = "kernel"
        window = { size = "1m" }
        aggregate = { fn = "rate" }
        metric = { name = "events_per_second", type = "gauge" }
        "#,
    ]);
    let rows: Vec<Row<'_>> = [1, 2, 3, 4, 10, 70]
        .iter()
        .map(|s| (s * SEC, "web1", "", "", "m"))
        .collect();
    let out = feed(&mut rs, &rows, 0);
    // Ranks 0..4; q=0.9 → rank 3.6 → 4 + 0.6 * (10 - 4) = 7.6 (float rounding aside).
    let m = metrics(&out.metrics);
    assert_eq!(m.len(), 2);
    match &m[0].1 {
        MetricOp::Set(v) => assert!((v - 7.6).abs() < 1e-9, "p90 {v}"),
        other => panic!("{other:?}"),
    }
    // 5 events in a 60 s window.
    assert_eq!(m[1], set("", 5.0 / 60.0));
}

#[test]
fn value_and_group_expressions() {
    let mut rs = ruleset(&[r#"
        name = "by_prefix"
        kind = "kernel"
        group_by = ["COALESCE(left(message, 3), '-') AS prefix"]
        window = { size = "1m" }
        aggregate = { fn = "max", column = "uptime_seconds * 2" }
        metric = { name = "doubled_max", type = "gauge" }
        "#]);
    let out = feed(
        &mut rs,
        &[
            (5 * SEC, "h", "", "", "usb 1-1: new device"),
            (9 * SEC, "h", "", "", "usb 2-1: gone"),
            (7 * SEC, "h", "", "", "eth0: link up"),
            (90 * SEC, "h", "", "", "x"),
        ],
        0,
    );
    assert_eq!(
        metrics(&out.metrics),
        vec![set("prefix=eth", 14.0), set("prefix=usb", 18.0)]
    );
}

#[test]
fn expressions_are_checked() {
    let bad = |toml_text: &str| {
        let cfg = rule(toml_text);
        cfg.validate("rules[0]")
            .into_iter()
            .map(|e| format!("{}: {}", e.key, e.reason))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let e = bad(r#"
        name = "x"
        kind = "kernel"
        group_by = ["substr(message, 1, 3)"]
        window = { size = "1m" }
        aggregate = { fn = "quantile", column = "message || 'a'" }
        metric = { name = "x", type = "gauge", top = 0 }
        "#);
    assert!(
        e.contains("rules[0].group_by[0]: an expression needs a label name"),
        "{e}"
    );
    assert!(
        e.contains("rules[0].aggregate.column: expression must be numeric"),
        "{e}"
    );
    assert!(
        e.contains("rules[0].aggregate.quantile: quantile needs"),
        "{e}"
    );
    assert!(e.contains("rules[0].metric.top: must be at least 1"), "{e}");
    let e = bad(r#"
        name = "x"
        kind = "kernel"
        window = { size = "1m" }
        aggregate = { fn = "count" }
        alert = { op = ">", threshold = 0, new_groups_only = true, for = "5m" }
        "#);
    assert!(
        e.contains("rules[0].alert.new_groups_only: needs group_by"),
        "{e}"
    );
    assert!(e.contains("rules[0].alert.for: a new-group alert"), "{e}");
}

#[test]
fn histogram_observes_each_value() {
    let mut rs = ruleset(&[r#"
        name = "uptimes"
        kind = "kernel"
        group_by = ["host"]
        window = { size = "1m" }
        aggregate = { fn = "sum", column = "uptime_seconds" }
        metric = { name = "uptime_seconds", type = "histogram", buckets = [1.0, 10.0] }
        "#]);
    let out = feed(
        &mut rs,
        &[
            (2 * SEC, "b", "", "", "m"),
            (3 * SEC, "a", "", "", "m"),
            (500 * SEC, "a", "", "", "m"),
        ],
        0,
    );
    assert_eq!(
        metrics(&out.metrics),
        vec![
            ("host=a".to_string(), MetricOp::Observe(vec![3.0, 500.0])),
            ("host=b".to_string(), MetricOp::Observe(vec![2.0])),
        ]
    );
}

#[test]
fn capped_gauge_keeps_the_top_and_sums_the_rest() {
    let mut rs = ruleset(&[r#"
        name = "by_class"
        kind = "kernel"
        group_by = ["class"]
        window = { size = "1m" }
        aggregate = { fn = "count" }
        metric = { name = "per_class", type = "gauge", top = 2 }
        "#]);
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (class, n) in [("a", 5), ("b", 1), ("c", 3), ("d", 1)] {
        for i in 0..n {
            rows.push((i * SEC, "h", class, "low", "m"));
        }
    }
    rows.push((61 * SEC, "h", "b", "low", "m"));
    rows.push((62 * SEC, "h", "b", "low", "m"));
    rows.push((130 * SEC, "h", "x", "low", "m"));
    let out = feed(&mut rs, &rows, 0);
    assert_eq!(
        metrics(&out.metrics),
        vec![
            // [0, 60s): a 5, c 3 keep their series; b + d = 2 are `other`.
            set("class=a", 5.0),
            set("class=c", 3.0),
            set("class=other", 2.0),
            // [60s, 120s): only b; a and c left the top and are removed.
            ("class=a".to_string(), MetricOp::Remove),
            ("class=c".to_string(), MetricOp::Remove),
            set("class=b", 2.0),
            set("class=other", 0.0),
        ]
    );
}

#[test]
fn new_group_alert_fires_once_per_group_and_survives_restarts() {
    const RULE: &str = r#"
        name = "NewClass"
        kind = "kernel"
        filter = "class IS NOT NULL"
        group_by = ["class"]
        window = { size = "1m" }
        aggregate = { fn = "count" }
        alert = { op = ">", threshold = 0, new_groups_only = true }
        "#;
    let mut rs = ruleset(&[RULE]);
    let out = feed(
        &mut rs,
        &[
            (SEC, "h", "segfault", "medium", "m"),
            (70 * SEC, "h", "segfault", "medium", "m"),
            (71 * SEC, "h", "oom_kill", "high", "m"),
            (130 * SEC, "h", "segfault", "medium", "m"),
            (190 * SEC, "h", "", "", "m"),
        ],
        0,
    );
    let transitions: Vec<(String, AlertState)> = out
        .alerts
        .iter()
        .map(|a| (a.labels[0].1.clone(), a.state))
        .collect();
    assert_eq!(
        transitions,
        vec![
            // [0, 60s): segfault is new.
            ("segfault".to_string(), AlertState::Firing),
            // [60s, 120s): oom_kill is new; segfault is known and resolves.
            ("oom_kill".to_string(), AlertState::Firing),
            ("segfault".to_string(), AlertState::Resolved),
            // [120s, 180s): segfault again, known: silent; oom_kill resolves.
            ("oom_kill".to_string(), AlertState::Resolved),
        ]
    );
    // A restarted rule set told what was known stays silent for known classes.
    let saved = rs.known_groups();
    assert_eq!(
        saved["NewClass"],
        vec![vec!["oom_kill".to_string()], vec!["segfault".to_string()]]
    );
    let mut rs = ruleset(&[RULE]);
    rs.restore_known_groups(&saved);
    let mut out = feed(
        &mut rs,
        &[
            (300 * SEC, "h", "segfault", "medium", "m"),
            (301 * SEC, "h", "hung_task", "high", "m"),
        ],
        0,
    );
    rs.flush(0, &mut out);
    let fired: Vec<&str> = out
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| a.labels[0].1.as_str())
        .collect();
    assert_eq!(fired, vec!["hung_task"]);
}
