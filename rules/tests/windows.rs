//! Event-time windows: tumbling and sliding counts, lateness, late events, idle flush.

mod common;

use common::*;
use serversage_rules::{MetricOp, Outputs};

const GAUGE_PER_HOST: &str = r#"
    name = "per_host"
    kind = "kernel"
    group_by = ["host"]
    window = { size = "1m" }
    aggregate = { fn = "count" }
    metric = { name = "events_per_minute", type = "gauge" }
"#;

fn set(labels: &str, v: f64) -> (String, MetricOp) {
    (labels.to_string(), MetricOp::Set(v))
}

#[test]
fn tumbling_count_per_group() {
    let mut rs = ruleset(&[GAUGE_PER_HOST]);
    let out = feed(
        &mut rs,
        &[
            (10 * SEC, "web2", "", "", "a"),
            (20 * SEC, "web1", "", "", "b"),
            (30 * SEC, "web1", "", "", "c"),
            (70 * SEC, "web1", "", "", "d"),
        ],
        0,
    );
    // Watermark 70s closes [0, 60s): web1 2, web2 1, sorted by label.
    assert_eq!(
        metrics(&out.metrics),
        vec![set("host=web1", 2.0), set("host=web2", 1.0)]
    );
    assert!(out.alerts.is_empty() && out.late_events.is_empty());

    let out = feed(
        &mut rs,
        &[
            (80 * SEC, "web2", "", "", "e"),
            (130 * SEC, "web3", "", "", "f"),
        ],
        SEC,
    );
    // Watermark 130s closes [60s, 120s): web1 1 (the row at 70s), web2 1.
    assert_eq!(
        metrics(&out.metrics),
        vec![set("host=web1", 1.0), set("host=web2", 1.0)]
    );

    let mut out = Outputs::default();
    rs.flush(2 * SEC, &mut out);
    // [120s, 180s) holds only web3; web1 and web2 drop to 0.
    assert_eq!(
        metrics(&out.metrics),
        vec![
            set("host=web1", 0.0),
            set("host=web2", 0.0),
            set("host=web3", 1.0)
        ]
    );
    // Nothing is left open.
    let mut out = Outputs::default();
    rs.flush(3 * SEC, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

/// Small deterministic pseudo-random generator (no external crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn sliding_counts_match_brute_force() {
    let mut rs = ruleset(&[r#"
        name = "sliding"
        kind = "kernel"
        group_by = ["host"]
        window = { type = "sliding", size = "5m", every = "1m" }
        aggregate = { fn = "count" }
        metric = { name = "events_5m", type = "gauge" }
    "#]);
    let hosts = ["a", "b", "c"];
    let mut rng = Lcg(42);
    // Sorted event times over 40 minutes, with a quiet gap between 20m and 29m.
    let mut events: Vec<(i64, &str)> = (0..300)
        .map(|_| {
            (
                rng.next(40 * MIN as u64) as i64,
                hosts[rng.next(3) as usize],
            )
        })
        .filter(|(t, _)| !(20 * MIN..29 * MIN).contains(t))
        .collect();
    events.sort();

    let mut got = Vec::new();
    for (i, chunk) in events.chunks(7).enumerate() {
        let rows: Vec<Row<'_>> = chunk.iter().map(|(t, h)| (*t, *h, "", "", "m")).collect();
        let out = feed(&mut rs, &rows, i as i64);
        assert!(out.late_events.is_empty(), "sorted input is never late");
        got.extend(metrics(&out.metrics));
    }
    let mut out = Outputs::default();
    rs.flush(1_000, &mut out);
    got.extend(metrics(&out.metrics));

    // Independent model: walk every window start (multiple of 1m) from the first window
    // containing the first event to the last window containing the last event; per host
    // (sorted) count events with start <= t < start + 5m by brute force; emit the count
    // when non-zero, and 0 once when the host had a non-zero value before.
    let first = events[0].0.div_euclid(MIN) * MIN - 4 * MIN;
    let last = events.last().unwrap().0.div_euclid(MIN) * MIN;
    let mut last_value = std::collections::HashMap::new();
    let mut want = Vec::new();
    let mut start = first;
    while start <= last {
        for h in hosts {
            let n = events
                .iter()
                .filter(|(t, host)| *host == h && start <= *t && *t < start + 5 * MIN)
                .count() as f64;
            let prev = last_value.get(h).copied().unwrap_or(0.0);
            if n > 0.0 || prev != 0.0 {
                want.push(set(&format!("host={h}"), n));
                last_value.insert(h, n);
            }
        }
        start += MIN;
    }
    assert!(want.len() > 100);
    assert_eq!(got, want);
}

#[test]
fn late_events_are_counted_and_do_not_reopen_windows() {
    let counter = r#"
        name = "all_events"
        kind = "kernel"
        window = { size = "1m" }
        aggregate = { fn = "count" }
        metric = { name = "events_total", type = "counter" }
    "#;
    let mut rs = ruleset(&[GAUGE_PER_HOST, counter]);
    let out = feed(
        &mut rs,
        &[
            (10 * SEC, "web1", "", "", "a"),
            (130 * SEC, "web1", "", "", "b"),
        ],
        0,
    );
    // Closes [0,60s) (web1=1) and the empty [60s,120s) (web1 drops to 0).
    assert_eq!(
        metrics(&out.metrics),
        vec![
            set("host=web1", 1.0),
            set("host=web1", 0.0),
            ("".to_string(), MetricOp::Inc(2.0))
        ]
    );

    let out = feed(
        &mut rs,
        &[
            (50 * SEC, "web1", "", "", "late, window [0,60s) closed"),
            (100 * SEC, "web1", "", "", "late, window [60s,120s) closed"),
            (150 * SEC, "web1", "", "", "on time"),
        ],
        1,
    );
    assert_eq!(out.late_events, vec![("per_host".to_string(), 2)]);
    // The counter is independent of windows: it counts all three rows.
    assert_eq!(
        metrics(&out.metrics),
        vec![("".to_string(), MetricOp::Inc(3.0))]
    );

    let mut out = Outputs::default();
    rs.flush(2, &mut out);
    // [120s,180s) holds the rows at 130s and 150s; the late rows reopened nothing (a
    // reopened [0,60s) or [60s,120s) would be emitted here too).
    assert_eq!(metrics(&out.metrics), vec![set("host=web1", 2.0)]);
}

#[test]
fn lateness_delays_closing() {
    let mut rs = ruleset(&[r#"
        name = "late_ok"
        kind = "kernel"
        window = { size = "1m", lateness = "30s" }
        aggregate = { fn = "count" }
        metric = { name = "events_per_minute", type = "gauge" }
    "#]);
    // Watermark 70s - 30s = 40s: nothing closes.
    let out = feed(
        &mut rs,
        &[(10 * SEC, "h", "", "", ""), (70 * SEC, "h", "", "", "")],
        0,
    );
    assert!(out.is_empty(), "{out:?}");
    // 50s is within the allowed lateness: not late, counted in [0,60s).
    let out = feed(&mut rs, &[(50 * SEC, "h", "", "", "")], 1);
    assert!(out.is_empty(), "{out:?}");
    // Watermark 95s - 30s = 65s closes [0,60s) with 2 rows.
    let out = feed(&mut rs, &[(95 * SEC, "h", "", "", "")], 2);
    assert_eq!(metrics(&out.metrics), vec![set("", 2.0)]);
    // Now 55s is late; 65s is not.
    let out = feed(
        &mut rs,
        &[(55 * SEC, "h", "", "", ""), (65 * SEC, "h", "", "", "")],
        3,
    );
    assert_eq!(out.late_events, vec![("late_ok".to_string(), 1)]);
    assert!(out.metrics.is_empty());
    let mut out = Outputs::default();
    rs.flush(4, &mut out);
    // [60s,120s) has 70s, 95s and 65s.
    assert_eq!(metrics(&out.metrics), vec![set("", 3.0)]);
}

#[test]
fn idle_flush_on_tick_closes_open_windows() {
    let mut rs = ruleset(&[
        GAUGE_PER_HOST,
        r#"
        name = "quick"
        kind = "kernel"
        window = { size = "1m", idle_flush = "5s" }
        aggregate = { fn = "count" }
        metric = { name = "quick_per_minute", type = "gauge" }
    "#,
    ]);
    let t0 = 1_000 * SEC; // processing time, unrelated to event time
    let out = feed(
        &mut rs,
        &[
            (10 * SEC, "web1", "", "", ""),
            (20 * SEC, "web1", "", "", ""),
        ],
        t0,
    );
    assert!(out.is_empty());

    let mut out = Outputs::default();
    rs.on_tick(t0 + 4 * SEC, &mut out);
    assert!(out.is_empty(), "{out:?}");
    rs.on_tick(t0 + 5 * SEC, &mut out);
    // Only the rule with idle_flush = 5s closed its window.
    assert_eq!(out.metrics.len(), 1);
    assert_eq!(out.metrics[0].name, "quick_per_minute");
    assert_eq!(out.metrics[0].op, MetricOp::Set(2.0));

    let mut out = Outputs::default();
    rs.on_tick(t0 + 59 * SEC, &mut out);
    assert!(out.is_empty(), "{out:?}");
    // The default idle_flush is the window size (1m).
    rs.on_tick(t0 + 60 * SEC, &mut out);
    assert_eq!(metrics(&out.metrics), vec![set("host=web1", 2.0)]);
    // Nothing stays open, so further ticks are silent.
    let mut out = Outputs::default();
    rs.on_tick(t0 + 600 * SEC, &mut out);
    assert!(out.is_empty(), "{out:?}");

    // The flushed window does not reopen: a row for it is late.
    let out = feed(&mut rs, &[(30 * SEC, "web1", "", "", "")], t0 + 601 * SEC);
    assert_eq!(
        out.late_events,
        vec![("per_host".to_string(), 1), ("quick".to_string(), 1)]
    );
}

#[test]
fn empty_batches_only_touch_processing_time() {
    let mut rs = ruleset(&[GAUGE_PER_HOST]);
    let _ = feed(&mut rs, &[(10 * SEC, "web1", "", "", "")], 0);
    // An empty batch counts as activity: the idle timer restarts.
    let out = feed(&mut rs, &[], 50 * SEC);
    assert!(out.is_empty());
    let mut out = Outputs::default();
    rs.on_tick(100 * SEC, &mut out);
    assert!(out.is_empty(), "{out:?}");
    rs.on_tick(110 * SEC, &mut out);
    assert_eq!(metrics(&out.metrics), vec![set("host=web1", 1.0)]);
}
