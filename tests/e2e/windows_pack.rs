//! The built-in `windows` pack over a real System log (`system.evtx` of the shared
//! samples, read in place): its service, new-service and disk alerts fire once per run of
//! consecutive minutes that hold such records, as SQL over the stored rows computes it.

use std::time::Duration;

use crate::harness::*;

#[test]
fn windows_pack_on_a_real_system_log() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("w.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
data_dir = "data"
[store]
flush_interval = "1s"
[[sources]]
name = "system"
format = "evtx"
paths = ["{}"]
[packs.windows]
idle_flush = "1s"
"#,
            shared("windows/evtx/system.evtx").display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let run = Running::start(&cfg);
    let total = wait_for(Duration::from_secs(60), || {
        let n = series_sum(&run.metrics(), "serversage_windows_events_total");
        (n > 0.0).then_some(n)
    })
    .expect("events counted");
    std::thread::sleep(Duration::from_secs(4));
    let m = run.metrics();
    run.stop();
    let stored = sql_num(&data, "SELECT count(*) FROM windows_events");
    assert_eq!(
        series_sum(&m, "serversage_windows_events_total"),
        stored as f64
    );
    assert!(total <= stored as f64);

    let alerts = |rule: &str| {
        sql_num(
            &data,
            &format!("SELECT count(*) FROM alerts WHERE rule = '{rule}' AND state = 'firing'"),
        ) as usize
    };
    let minute = "CAST(date_trunc('minute', ts) AS BIGINT) / 60000000";
    for (rule, group, filter) in [
        (
            "WindowsDiskError",
            "computer, provider, CAST(event_id AS VARCHAR)",
            "channel = 'System' AND event_id IN (7, 11, 51, 55, 129, 153) \
             AND lower(provider) IN ('disk', 'ntfs', 'microsoft-windows-ntfs')",
        ),
        (
            "WindowsNewService",
            "computer, COALESCE(event_data['ServiceName'], '')",
            "event_id = 7045 AND provider = 'Service Control Manager'",
        ),
        (
            "WindowsServiceFailure",
            "computer, COALESCE(event_data['param1'], '')",
            "event_id IN (7000, 7009, 7023, 7031, 7034) AND provider = 'Service Control Manager'",
        ),
    ] {
        let rows = sql(
            &data,
            &format!("SELECT {group}, {minute} FROM windows_events WHERE {filter}"),
        );
        assert!(!rows.is_empty(), "{rule}: the log has such records");
        assert_eq!(alerts(rule), expected_firings(&rows), "{rule}");
    }
}
