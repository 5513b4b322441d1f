//! The built-in `gc` rule pack over the shipped JDK 17 G1 log of a heap running out
//! (sample-logs/gc/g1-heap-exhausted.log: full GCs at 29-30 of 32 MiB before an
//! OutOfMemoryError): the pause histogram and the full-GC counter agree with the stored
//! rows, and the full-GC and nearly-full-heap alerts fire with the values SQL computes.

use std::time::Duration;

use crate::harness::*;

#[test]
fn gc_pack_pages_on_a_heap_running_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gc.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
data_dir = "data"
[store]
flush_interval = "1s"
[[sources]]
name = "app"
format = "jvm-gc"
paths = ["{}"]
partial_record_timeout = "300ms"
[packs.gc]
idle_flush = "1s"
"#,
            sample("gc/g1-heap-exhausted.log").display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let alerts_log = data.join("alerts.log");
    let fired = |rule: &str| firings(&alerts_log, rule);

    let run = Running::start(&cfg);
    let m = wait_for(Duration::from_secs(60), || {
        let m = run.metrics();
        (series_sum(&m, "serversage_gc_full_total") > 0.0 && !fired("GcHeapNearlyFull").is_empty())
            .then_some(m)
    })
    .unwrap_or_else(|| panic!("full GCs counted and alerted:\n{}", run.metrics()));
    run.stop();

    let pauses = sql_num(
        &data,
        "SELECT count(*) FROM gc_events WHERE stop_the_world AND duration_seconds IS NOT NULL",
    );
    let fulls = sql_num(&data, "SELECT count(*) FROM gc_events WHERE kind = 'full'");
    assert!(fulls >= 3, "the sample ends in several full GCs");
    assert_eq!(
        series_sum(&m, "serversage_gc_pause_seconds_count"),
        pauses as f64
    );
    assert_eq!(series_sum(&m, "serversage_gc_full_total"), fulls as f64);
    let total = sql(
        &data,
        "SELECT sum(duration_seconds) FROM gc_events WHERE stop_the_world AND duration_seconds IS NOT NULL",
    )[0][0]
        .parse::<f64>()
        .unwrap();
    assert!((series_sum(&m, "serversage_gc_pause_seconds_sum") - total).abs() < 1e-9);

    // GcHeapNearlyFull: the largest heap-after / capacity of a full GC, as SQL has it.
    let ratio = sql(
        &data,
        "SELECT max(CAST(heap_after_bytes AS DOUBLE) / heap_capacity_bytes) FROM gc_events WHERE kind = 'full' AND heap_capacity_bytes > 0",
    )[0][0]
        .parse::<f64>()
        .unwrap();
    assert!(ratio >= 0.9, "29-30 MiB of 32 MiB: {ratio}");
    let near = fired("GcHeapNearlyFull");
    let max_alerted = near
        .iter()
        .filter_map(|a| a["value"].as_f64())
        .fold(0.0, f64::max);
    assert!((max_alerted - ratio).abs() < 1e-12, "{near:?}");
    assert_eq!(
        near[0]["labels"]["jvm"].as_str().map(|s| !s.is_empty()),
        Some(true)
    );
    assert!(!fired("GcFull").is_empty());
    // The allocation rate gauge is there for the JVM (bytes per second, positive).
    assert!(
        series_sum(&m, "serversage_gc_allocation_rate_bytes") > 0.0,
        "{m}"
    );
}
