//! Alert state transitions, deduplication, empty-window evaluation and the alerts table.

mod common;

use common::*;
use datafusion::arrow::array::{Array, AsArray, MapArray};
use datafusion::arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use serversage_rules::{AlertEvent, AlertState, Outputs, alerts_batch};

const OOM_ALERT: &str = r#"
    name = "oom_storm"
    kind = "kernel"
    filter = "class = 'oom_kill'"
    group_by = ["host"]
    window = { size = "1m" }
    aggregate = { fn = "count" }
    alert = { op = ">", threshold = 2, for = "2m", severity = "critical", summary = "{host}: {value} OOM kills {op} {threshold}" }
"#;

fn oom(t: i64, host: &str) -> Row<'_> {
    (
        t,
        host,
        "oom_kill",
        "critical",
        "Out of memory: Killed process",
    )
}

fn brief(a: &AlertEvent) -> (AlertState, String, Option<f64>, i64, i64, Option<i64>) {
    let host = a
        .labels
        .iter()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    (
        a.state,
        host,
        a.value,
        a.window_start_us,
        a.window_end_us,
        a.active_since_us,
    )
}

/// `n` OOM rows for `host` spread inside the minute starting at `minute`.
fn burst(minute: i64, host: &'static str, n: i64) -> Vec<Row<'static>> {
    (0..n)
        .map(|i| oom(minute * MIN + (i + 1) * SEC, host))
        .collect()
}

#[test]
fn pending_firing_resolved_without_duplicates() {
    let mut rs = ruleset(&[OOM_ALERT]);
    let mut all = Vec::new();
    let mut step = |rows: Vec<Row<'static>>, now: i64| {
        let out = feed(&mut rs, &rows, now);
        all.extend(out.alerts.iter().map(brief));
        out.alerts
    };
    let mut m0 = burst(0, "web1", 3);
    m0.extend(burst(0, "web2", 3));
    step(m0, 0);
    // Minute 1 closes minute 0: both hosts over the threshold, pending (for = 2m).
    let a = step(burst(1, "web1", 4), 1);
    assert_eq!(
        a.iter().map(brief).collect::<Vec<_>>(),
        vec![
            (
                AlertState::Pending,
                "web1".into(),
                Some(3.0),
                0,
                MIN,
                Some(0)
            ),
            (
                AlertState::Pending,
                "web2".into(),
                Some(3.0),
                0,
                MIN,
                Some(0)
            ),
        ]
    );
    assert_eq!(a[0].summary, "web1: 3 OOM kills > 2");
    assert_eq!(a[0].severity, "critical");
    assert_eq!(a[0].ts_us, MIN);
    assert_eq!(
        a[0].labels,
        vec![
            ("host".to_string(), "web1".to_string()),
            ("alertname".to_string(), "oom_storm".to_string()),
            ("severity".to_string(), "critical".to_string()),
        ]
    );
    // Closing minute 1: web1 held for 2m (120s - 0 >= 2m) → firing; web2 had no rows,
    // count 0 → pending drops silently.
    let a = step(burst(2, "web1", 5), 2);
    assert_eq!(
        a.iter().map(brief).collect::<Vec<_>>(),
        vec![(
            AlertState::Firing,
            "web1".into(),
            Some(4.0),
            MIN,
            2 * MIN,
            Some(0)
        )]
    );
    // Minute 2 still over the threshold: no duplicate.
    let a = step(burst(3, "web1", 1), 3);
    assert!(a.is_empty(), "{a:?}");
    // Minute 3 had 1 → resolved.
    let a = step(
        vec![(4 * MIN + SEC, "web9", "usb", "info", "usb 1-1: new device")],
        4,
    );
    assert_eq!(
        a.iter().map(brief).collect::<Vec<_>>(),
        vec![(
            AlertState::Resolved,
            "web1".into(),
            Some(1.0),
            3 * MIN,
            4 * MIN,
            Some(0)
        )]
    );
    let mut out = Outputs::default();
    rs.flush(5, &mut out);
    assert!(out.alerts.is_empty());
    let firing = all.iter().filter(|a| a.0 == AlertState::Firing).count();
    assert_eq!(firing, 1);
    assert_eq!(all.len(), 4);
}

#[test]
fn zero_hold_fires_at_once_and_resolves_across_a_gap() {
    let mut rs = ruleset(&[r#"
        name = "any_oom"
        kind = "kernel"
        filter = "class = 'oom_kill'"
        group_by = ["host"]
        window = { size = "1m" }
        aggregate = { fn = "count" }
        alert = { op = ">", threshold = 0 }
    "#]);
    let out = feed(&mut rs, &[oom(10 * SEC, "web1")], 0);
    assert!(out.alerts.is_empty());
    // Unrelated rows ten minutes later move the watermark: [0,1m) fires, the first empty
    // window [1m,2m) resolves it (count 0), and nothing else is emitted for the gap.
    let out = feed(&mut rs, &[(10 * MIN, "web1", "usb", "", "x")], 1);
    let got: Vec<_> = out.alerts.iter().map(brief).collect();
    assert_eq!(
        got,
        vec![
            (
                AlertState::Firing,
                "web1".into(),
                Some(1.0),
                0,
                MIN,
                Some(0)
            ),
            (
                AlertState::Resolved,
                "web1".into(),
                Some(0.0),
                MIN,
                2 * MIN,
                Some(0)
            ),
        ]
    );
    assert_eq!(out.alerts[0].severity, "warning");
    assert_eq!(out.alerts[0].summary, "any_oom: value 1 > 0 [host=web1]");
}

#[test]
fn pending_reaches_for_inside_an_empty_gap() {
    let mut rs = ruleset(&[r#"
        name = "quiet"
        kind = "kernel"
        filter = "class = 'oom_kill'"
        group_by = ["host"]
        window = { size = "1m" }
        aggregate = { fn = "count" }
        alert = { op = "<", threshold = 5, for = "3m" }
    "#]);
    let _ = feed(&mut rs, &[oom(10 * SEC, "web1"), oom(20 * SEC, "web1")], 0);
    let out = feed(&mut rs, &[(30 * MIN, "web1", "usb", "", "x")], 1);
    // [0,1m): 2 < 5 → pending since 0. Empty windows keep it true (count 0); it fires at
    // the close of the first window ending at or after 0 + 3m: [2m,3m). Then silence.
    let got: Vec<_> = out.alerts.iter().map(brief).collect();
    assert_eq!(
        got,
        vec![
            (
                AlertState::Pending,
                "web1".into(),
                Some(2.0),
                0,
                MIN,
                Some(0)
            ),
            (
                AlertState::Firing,
                "web1".into(),
                Some(0.0),
                2 * MIN,
                3 * MIN,
                Some(0)
            ),
        ]
    );
}

#[test]
fn sliding_window_alert_and_min_max_avg_absent_groups() {
    // max(uptime_seconds) over 2m windows sliding by 1m; absent groups have no value, so
    // an active alert resolves.
    let mut rs = ruleset(&[r#"
        name = "high_uptime"
        kind = "kernel"
        group_by = ["host"]
        window = { type = "sliding", size = "2m", every = "1m" }
        aggregate = { fn = "max", column = "uptime_seconds" }
        alert = { op = ">=", threshold = 30 }
    "#]);
    // uptime_seconds = ts in seconds (see kernel_batch).
    let out = feed(&mut rs, &[(40 * SEC, "a", "", "", "")], 0);
    assert!(out.alerts.is_empty());
    // Watermark 200s closes windows starting -1m, 0, 1m: -1m and 0 contain 40s (max 40 →
    // firing at the first), [1m,3m) holds neither row (a absent → resolved; b's row at
    // 200s is only in windows that stay open).
    let out = feed(&mut rs, &[(200 * SEC, "b", "", "", "")], 1);
    let got: Vec<_> = out.alerts.iter().map(brief).collect();
    assert_eq!(
        got,
        vec![
            (
                AlertState::Firing,
                "a".into(),
                Some(40.0),
                -MIN,
                MIN,
                Some(-MIN)
            ),
            (
                AlertState::Resolved,
                "a".into(),
                None,
                MIN,
                3 * MIN,
                Some(-MIN)
            ),
        ]
    );
    assert_eq!(
        out.alerts[1].summary,
        "high_uptime: value n/a >= 30 [host=a]"
    );
}

#[test]
fn alerts_batch_rows_follow_the_events() {
    let mut rs = ruleset(&[OOM_ALERT]);
    let mut events = Vec::new();
    for minute in 0..5 {
        let rows = burst(minute, "web1", if minute < 3 { 3 } else { 0 });
        let rows = if rows.is_empty() {
            vec![(minute * MIN, "web1", "usb", "", "x")]
        } else {
            rows
        };
        events.extend(feed(&mut rs, &rows, minute).alerts);
    }
    let mut out = Outputs::default();
    rs.flush(99, &mut out);
    events.extend(out.alerts);
    let states: Vec<&str> = events.iter().map(|e| e.state.as_str()).collect();
    assert_eq!(states, vec!["pending", "firing", "resolved"]);

    let batch = alerts_batch(&events, "collector", 12_345);
    assert_eq!(batch.schema(), serversage_parsers::schema::alerts());
    assert_eq!(batch.num_rows(), 3);
    let col = |n: &str| batch.column_by_name(n).unwrap().clone();
    let state = col("state");
    let state = state.as_string::<i32>();
    assert_eq!(
        (0..3).map(|i| state.value(i)).collect::<Vec<_>>(),
        vec!["pending", "firing", "resolved"]
    );
    let ts = col("ts");
    let ts = ts.as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.values(), &[MIN, 2 * MIN, 4 * MIN]);
    let ws = col("window_start");
    assert_eq!(
        ws.as_primitive::<TimestampMicrosecondType>().values(),
        &[0, MIN, 3 * MIN]
    );
    let value = col("value");
    let value = value.as_primitive::<Float64Type>();
    assert_eq!(value.values(), &[3.0, 3.0, 0.0]);
    let thr = col("threshold");
    assert_eq!(thr.as_primitive::<Float64Type>().value(2), 2.0);
    assert_eq!(col("rule").as_string::<i32>().value(1), "oom_storm");
    assert_eq!(col("severity").as_string::<i32>().value(1), "critical");
    assert_eq!(col("host").as_string::<i32>().value(0), "collector");
    assert_eq!(col("source").as_string::<i32>().value(0), "rules");
    assert_eq!(
        col("ingest_ts")
            .as_primitive::<TimestampMicrosecondType>()
            .value(2),
        12_345
    );
    let since = col("active_since");
    let since = since.as_primitive::<TimestampMicrosecondType>();
    assert!((0..3).all(|i| since.is_valid(i) && since.value(i) == 0));
    assert_eq!(
        col("summary").as_string::<i32>().value(2),
        "web1: 0 OOM kills > 2"
    );
    let labels = col("labels");
    let labels = labels.as_any().downcast_ref::<MapArray>().unwrap();
    let entries = labels.value(1);
    let keys = entries.column(0).as_string::<i32>();
    let vals = entries.column(1).as_string::<i32>();
    let pairs: Vec<(&str, &str)> = (0..keys.len())
        .map(|i| (keys.value(i), vals.value(i)))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("host", "web1"),
            ("alertname", "oom_storm"),
            ("severity", "critical")
        ]
    );
}
