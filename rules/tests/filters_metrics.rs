//! Filters, counters, gauges and group handling.

mod common;

use common::*;
use serversage_parsers::EventKind;
use serversage_rules::{MAX_GROUPS_PER_RULE, MetricKind, MetricOp, OVERFLOW_LABEL, Outputs};

#[test]
fn filter_with_and_in_like_matches_an_independent_predicate() {
    let mut rs = ruleset(&[r#"
        name = "oom_kills"
        kind = "kernel"
        filter = "class = 'oom_kill' AND severity IN ('critical', 'high') AND message LIKE '%Killed process%'"
        group_by = ["host"]
        window = { size = "1m" }
        aggregate = { fn = "count" }
        metric = { name = "oom_kills", type = "counter" }
    "#]);
    let rows: Vec<Row<'_>> = vec![
        (
            1,
            "web1",
            "oom_kill",
            "critical",
            "Out of memory: Killed process 12",
        ),
        (2, "web1", "oom_kill", "high", "Killed process 13 (java)"),
        (3, "web1", "oom_kill", "info", "Killed process 14"),
        (
            4,
            "web1",
            "oom_kill",
            "critical",
            "oom-kill: constraint=NONE",
        ),
        (
            5,
            "web2",
            "oom_kill",
            "high",
            "Memory cgroup out of memory: Killed process 7",
        ),
        (6, "web2", "", "critical", "Killed process 8"),
        (7, "web2", "oom_kill", "", "Killed process 9"),
        (8, "web3", "usb", "critical", "Killed process?"),
        (
            9,
            "web1",
            "oom_kill",
            "critical",
            "killed process (lower case)",
        ),
    ];
    // Independent predicate over the tuples (empty = null, and null never matches).
    let mut want = std::collections::BTreeMap::new();
    for r in &rows {
        if r.2 == "oom_kill"
            && ["critical", "high"].contains(&r.3)
            && r.4.contains("Killed process")
        {
            *want.entry(format!("host={}", r.1)).or_insert(0.0) += 1.0;
        }
    }
    let want: Vec<(String, MetricOp)> = want
        .into_iter()
        .map(|(k, v)| (k, MetricOp::Inc(v)))
        .collect();
    assert_eq!(want.len(), 2, "the fixture must select rows of two hosts");
    let out = feed(&mut rs, &rows, 0);
    assert_eq!(metrics(&out.metrics), want);
    assert!(out.filter_errors.is_empty());
}

#[test]
fn counter_sum_ignores_nulls_and_negatives() {
    let mut rs = ruleset(&[r#"
        name = "uptime_sum"
        kind = "kernel"
        group_by = ["class"]
        window = { size = "1m" }
        aggregate = { fn = "sum", column = "uptime_seconds" }
        metric = { name = "uptime_seconds_total", type = "counter", help = "sum of uptimes" }
    "#]);
    let rows: Vec<Row<'_>> = vec![
        (1, "h", "a", "", ""),
        (2, "h", "a", "", ""),
        (3, "h", "b", "", ""),
        (4, "h", "", "", ""),
    ];
    let uptimes = [Some(1.5), Some(-4.0), None, Some(2.0)];
    let batch = kernel_batch_with_uptime(&rows, |r| uptimes[r.0 as usize - 1]);
    let mut out = Outputs::default();
    rs.on_batch(EventKind::Kernel, &batch, 0, &mut out);
    // class "" (null) sorts first; "b" only had a null value, so it has no update.
    assert_eq!(
        metrics(&out.metrics),
        vec![
            ("class=".to_string(), MetricOp::Inc(2.0)),
            ("class=a".to_string(), MetricOp::Inc(1.5)),
        ]
    );
    let descs = rs.metric_descriptors();
    assert_eq!(descs.len(), 1);
    assert_eq!(descs[0].name, "uptime_seconds_total");
    assert_eq!(descs[0].kind, MetricKind::Counter);
    assert_eq!(descs[0].help, "sum of uptimes");
    assert_eq!(descs[0].label_names, vec!["class".to_string()]);
}

#[test]
fn gauge_drops_to_zero_once_when_a_burst_stops() {
    let mut rs = ruleset(&[r#"
        name = "errors"
        kind = "kernel"
        filter = "severity = 'error'"
        group_by = ["host"]
        window = { size = "10s" }
        aggregate = { fn = "count" }
        metric = { name = "errors_per_10s", type = "gauge" }
    "#]);
    let e = |t: i64, h: &'static str| (t * SEC, h, "", "error", "boom");
    let _ = feed(&mut rs, &[e(1, "a"), e(2, "a"), e(3, "b")], 0);
    let out = feed(&mut rs, &[e(11, "a")], 1);
    assert_eq!(
        metrics(&out.metrics),
        vec![
            ("host=a".to_string(), MetricOp::Set(2.0)),
            ("host=b".to_string(), MetricOp::Set(1.0)),
        ]
    );
    // b is absent from [10s,20s): Set(0); a has 1.
    let out = feed(&mut rs, &[(25 * SEC, "x", "", "info", "")], 2);
    assert_eq!(
        metrics(&out.metrics),
        vec![
            ("host=a".to_string(), MetricOp::Set(1.0)),
            ("host=b".to_string(), MetricOp::Set(0.0)),
        ]
    );
    // Much later: a drops to 0 once at the first empty window; b is not repeated.
    let out = feed(&mut rs, &[(300 * SEC, "x", "", "info", "")], 3);
    assert_eq!(
        metrics(&out.metrics),
        vec![("host=a".to_string(), MetricOp::Set(0.0))]
    );
    let mut out = Outputs::default();
    rs.flush(4, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn avg_and_min_gauges_skip_absent_groups() {
    let mut rs = ruleset(&[
        r#"
        name = "avg_up"
        kind = "kernel"
        group_by = ["host"]
        window = { size = "1m" }
        aggregate = { fn = "avg", column = "uptime_seconds" }
        metric = { name = "avg_uptime", type = "gauge" }
    "#,
        r#"
        name = "min_up"
        kind = "kernel"
        window = { size = "1m" }
        aggregate = { fn = "min", column = "uptime_seconds" }
        metric = { name = "min_uptime", type = "gauge" }
    "#,
    ]);
    let _ = feed(
        &mut rs,
        &[
            (10 * SEC, "a", "", "", ""),
            (20 * SEC, "a", "", "", ""),
            (30 * SEC, "b", "", "", ""),
        ],
        0,
    );
    let out = feed(&mut rs, &[(70 * SEC, "b", "", "", "")], 1);
    assert_eq!(
        out.metrics
            .iter()
            .map(|m| (m.name.as_str(), m.labels.clone(), m.op.clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                "avg_uptime",
                vec![("host".into(), "a".into())],
                MetricOp::Set(15.0)
            ),
            (
                "avg_uptime",
                vec![("host".into(), "b".into())],
                MetricOp::Set(30.0)
            ),
            ("min_uptime", vec![], MetricOp::Set(10.0)),
        ]
    );
    let mut out = Outputs::default();
    rs.flush(2, &mut out);
    // a is absent from [60s,120s): nothing for it.
    assert_eq!(
        metrics(&out.metrics),
        vec![
            ("host=b".to_string(), MetricOp::Set(70.0)),
            ("".to_string(), MetricOp::Set(70.0)),
        ]
    );
}

#[test]
fn groups_beyond_the_cap_share_the_overflow_group() {
    let mut rs = ruleset(&[r#"
        name = "per_host"
        kind = "kernel"
        group_by = ["host", "class"]
        window = { size = "1m" }
        aggregate = { fn = "count" }
        metric = { name = "events_total", type = "counter" }
    "#]);
    let extra = 37;
    let hosts: Vec<String> = (0..MAX_GROUPS_PER_RULE + extra)
        .map(|i| format!("h{i:06}"))
        .collect();
    let rows: Vec<Row<'_>> = hosts.iter().map(|h| (1, h.as_str(), "c", "", "")).collect();
    let out = feed(&mut rs, &rows, 0);
    assert_eq!(out.metrics.len(), MAX_GROUPS_PER_RULE + 1);
    let overflow = out
        .metrics
        .iter()
        .find(|m| m.labels.iter().all(|(_, v)| v == OVERFLOW_LABEL))
        .expect("overflow group");
    assert_eq!(overflow.op, MetricOp::Inc(extra as f64));
    assert_eq!(
        overflow.labels,
        vec![
            ("host".to_string(), "other".to_string()),
            ("class".to_string(), "other".to_string())
        ]
    );
    // Known groups keep their own series.
    let out = feed(
        &mut rs,
        &[(2, "h000000", "c", "", ""), (3, "new", "c", "", "")],
        1,
    );
    assert_eq!(
        metrics(&out.metrics),
        vec![
            ("host=h000000,class=c".to_string(), MetricOp::Inc(1.0)),
            ("host=other,class=other".to_string(), MetricOp::Inc(1.0)),
        ]
    );
}

#[test]
fn non_string_group_columns_are_rendered() {
    let mut rs = ruleset(&[r#"
        name = "by_offset"
        kind = "kernel"
        group_by = ["source_offset", "boot_id"]
        window = { size = "1m" }
        aggregate = { fn = "count" }
        metric = { name = "by_offset", type = "counter" }
    "#]);
    let out = feed(&mut rs, &[(1, "h", "", "", ""), (2, "h", "", "", "")], 0);
    // source_offset is 0, 1 (UInt64); boot_id is null → "".
    assert_eq!(
        metrics(&out.metrics),
        vec![
            ("source_offset=0,boot_id=".to_string(), MetricOp::Inc(1.0)),
            ("source_offset=1,boot_id=".to_string(), MetricOp::Inc(1.0)),
        ]
    );
}

#[test]
fn same_input_same_output() {
    let rules = [
        r#"
        name = "g"
        kind = "kernel"
        group_by = ["host", "class"]
        window = { type = "sliding", size = "3m", every = "1m", lateness = "20s" }
        aggregate = { fn = "count" }
        metric = { name = "g", type = "gauge" }
        alert = { op = ">=", threshold = 3, for = "1m" }
    "#,
        r#"
        name = "c"
        kind = "kernel"
        group_by = ["class"]
        window = { size = "1m" }
        aggregate = { fn = "sum", column = "uptime_seconds" }
        metric = { name = "c", type = "counter" }
    "#,
    ];
    let run = || {
        let mut rs = ruleset(&rules);
        let mut all = Outputs::default();
        let hosts = ["z", "a", "m", "b"];
        let classes = ["oom_kill", "usb", "", "net"];
        for b in 0..40i64 {
            let rows: Vec<Row<'_>> = (0..25i64)
                .map(|i| {
                    let t = b * 20 * SEC + ((i * 7919 + b * 31) % 60) * SEC - 30 * SEC;
                    (
                        t,
                        hosts[((i + b) % 4) as usize],
                        classes[((i * 3 + b) % 4) as usize],
                        "",
                        "",
                    )
                })
                .collect();
            let out = feed(&mut rs, &rows, b);
            all.metrics.extend(out.metrics);
            all.alerts.extend(out.alerts);
            all.late_events.extend(out.late_events);
            rs.on_tick(b, &mut all);
        }
        rs.flush(100, &mut all);
        all
    };
    let first = run();
    assert!(!first.metrics.is_empty() && !first.alerts.is_empty() && !first.late_events.is_empty());
    assert_eq!(first, run());
}
