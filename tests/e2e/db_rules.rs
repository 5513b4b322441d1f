//! The built-in `db` rule pack on a followed slow log: its counters and histogram agree
//! with pt-query-digest's totals for the same log, the per-fingerprint gauge keeps its
//! cardinality cap, and the new-fingerprint alert fires once per new query shape, also
//! across a restart; on a followed PostgreSQL log, the lock-wait and deadlock alerts fire
//! for the events the log holds. Called by the MariaDB and PostgreSQL tests with the logs
//! they wrote and checked.

use std::path::Path;
use std::time::Duration;

use crate::db_mysql::Classes;
use crate::harness::*;

fn write_config(dir: &Path, source: &str, log: &Path) -> std::path::PathBuf {
    let cfg = dir.join(format!("{source}.toml"));
    std::fs::write(
        &cfg,
        format!(
            r#"
data_dir = "live"
[store]
flush_interval = "1s"
[[sources]]
name = "{source}"
format = "mysql-slow"
paths = ["{}"]
partial_record_timeout = "300ms"
[packs.db]
idle_flush = "1s"
top_fingerprints = 5
new_fingerprint_seconds = 0.0
"#,
            log.display()
        ),
    )
    .unwrap();
    cfg
}

fn firing_new_fingerprints(alerts_log: &Path) -> usize {
    firings(alerts_log, "DbNewSlowFingerprint").len()
}

pub(crate) fn db_pack_on_a_followed_log(
    dir: &Path,
    log: &Path,
    imported: &Path,
    expected: &Classes,
) {
    let entries: u64 = expected.values().map(|c| c.count).sum();
    let total_seconds: f64 = expected.values().map(|c| c.total_us).sum::<i64>() as f64 / 1e6;
    // Query shapes per (database, fingerprint), from the imported store that the caller
    // checked against pt-query-digest.
    let shapes = sql_num(
        imported,
        "SELECT count(*) FROM (SELECT DISTINCT database, fingerprint_id FROM slow_queries)",
    ) as usize;
    assert!(shapes > 5, "enough fingerprints to exceed the cap of 5");

    let run = Running::start(&write_config(dir, "mariadb", log));
    let m = wait_for(Duration::from_secs(60), || {
        let m = run.metrics();
        (series_sum(&m, "serversage_db_slow_queries_total") == entries as f64).then_some(m)
    })
    .unwrap_or_else(|| panic!("{entries} queries counted:\n{}", run.metrics()));
    assert_eq!(
        series_sum(&m, "serversage_db_query_time_seconds_count"),
        entries as f64
    );
    let observed = series_sum(&m, "serversage_db_query_time_seconds_sum");
    assert!(
        (observed - total_seconds).abs() < 1e-6 * entries as f64,
        "histogram sum {observed} vs pt-query-digest's total {total_seconds}"
    );
    let alerts_log = dir.join("live").join("alerts.log");
    wait_for(Duration::from_secs(30), || {
        (firing_new_fingerprints(&alerts_log) == shapes).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{shapes} new query shapes, {} alerts",
            firing_new_fingerprints(&alerts_log)
        )
    });
    // Once the windows closed, the capped gauge holds at most 5 fingerprints + `other`.
    let m = run.metrics();
    let series: Vec<&str> = m
        .lines()
        .filter(|l| l.starts_with("serversage_db_slow_queries_by_fingerprint{"))
        .collect();
    let named = series
        .iter()
        .filter(|l| !l.contains("fingerprint_id=\"other\""))
        .count();
    assert!(named <= 5, "{series:#?}");
    assert!(
        series
            .iter()
            .any(|l| l.contains("fingerprint_id=\"other\"")),
        "{series:#?}"
    );
    run.stop();

    // After a restart the same queries are logged again (the log appended to itself):
    // their shapes are known (state/rules.json), so nothing is new.
    let run = Running::start(&write_config(dir, "mariadb", log));
    let bytes = std::fs::read(log).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
        .unwrap();
    wait_for(Duration::from_secs(60), || {
        (series_sum(&run.metrics(), "serversage_db_slow_queries_total") == entries as f64)
            .then_some(())
    })
    .expect("the restarted run counted the appended queries");
    std::thread::sleep(Duration::from_secs(3));
    run.stop();
    assert_eq!(firing_new_fingerprints(&alerts_log), shapes);
}

/// The db pack on a PostgreSQL stderr log that `imported` holds as source `stderr`
/// (already checked against pgBadger and the log text by the caller).
pub(crate) fn db_pack_on_a_followed_postgres_log(dir: &Path, log: &Path, imported: &Path) {
    let statements = sql_num(
        imported,
        "SELECT count(*) FROM slow_queries WHERE source = 'stderr' \
         AND (command IS NULL OR command NOT IN ('parse', 'bind', 'plan'))",
    );
    // One firing per group and run of consecutive minutes holding such events (an alert
    // that fires in one minute stays firing through the next if it has such events too).
    let windows = |events: &str, group: &str| {
        expected_firings(&sql(
            imported,
            &format!(
                "SELECT {group}, CAST(date_trunc('minute', ts) AS BIGINT) / 60000000 \
                 FROM db_events WHERE source = 'stderr' AND event IN ({events})"
            ),
        ))
    };
    let lock_windows = windows("'lock_wait'", "database");
    let error_windows = windows("'deadlock', 'fatal', 'panic'", "event");
    assert!(lock_windows >= 1 && error_windows >= 1);

    let cfg = dir.join("pg-live.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
data_dir = "pg-live"
[store]
flush_interval = "1s"
[[sources]]
name = "pg"
format = "postgres"
paths = ["{}"]
host = "db1"
partial_record_timeout = "300ms"
[packs.db]
idle_flush = "1s"
"#,
            log.display()
        ),
    )
    .unwrap();
    let alerts_log = dir.join("pg-live").join("alerts.log");
    let firing = |rule: &str| firings(&alerts_log, rule).len();
    let run = Running::start(&cfg);
    wait_for(Duration::from_secs(60), || {
        (series_sum(&run.metrics(), "serversage_db_slow_queries_total") == statements as f64
            && firing("DbLockWaits") >= lock_windows
            && firing("DbErrors") >= error_windows)
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "{statements} statements, {lock_windows} lock-wait and {error_windows} error windows:\n{}\n{}",
            run.metrics(),
            std::fs::read_to_string(&alerts_log).unwrap_or_default()
        )
    });
    run.stop();
    assert_eq!(firing("DbLockWaits"), lock_windows);
    assert_eq!(firing("DbErrors"), error_windows);
}
