use crate::harness::*;

#[test]
fn import_stores_every_record_once_and_duckdb_reads_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let log = sample("kernel/dmesg.log");
    let expected = dmesg_records(&log) as i64;
    ok(&[
        "import",
        "--format",
        "kernel",
        "--host",
        "web1",
        "--boot-time",
        "2026-11-23T12:19:35Z",
        "--data",
        d,
        log.to_str().unwrap(),
    ]);
    assert_eq!(
        sql_num(&data, "SELECT count(*) FROM kernel_events"),
        expected
    );
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(DISTINCT source_offset) FROM kernel_events"
        ),
        expected
    );
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(*) FROM kernel_events WHERE host <> 'web1'"
        ),
        0
    );
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(*) FROM kernel_events WHERE class = 'segfault'"
        ),
        grep_count(&log, "]: segfault at ") as i64
    );
    // Boot time + 1977.069379 s = 12:52:32.069379 on 2026-11-23.
    let rows = sql(
        &data,
        "SELECT CAST(ts AS VARCHAR) FROM kernel_events WHERE class = 'segfault'",
    );
    assert!(
        rows[0][0].starts_with("2026-11-23T12:52:32.069379"),
        "{rows:?}"
    );

    // A second import of the same file adds nothing.
    let out = ok(&[
        "import",
        "--format",
        "kernel",
        "--host",
        "web1",
        "--data",
        d,
        log.to_str().unwrap(),
    ]);
    assert!(
        text(&out.stderr).contains("already stored, skipped"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        sql_num(&data, "SELECT count(*) FROM kernel_events"),
        expected
    );

    // A copy of the file elsewhere is the same file; a grown file adds only its new records.
    let copy = dir.path().join("copy.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(b"[ 2000.000000] EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0\n");
    std::fs::write(&copy, &bytes).unwrap();
    ok(&[
        "import",
        "--format",
        "kernel",
        "--host",
        "web1",
        "--data",
        d,
        copy.to_str().unwrap(),
    ]);
    assert_eq!(
        sql_num(&data, "SELECT count(*) FROM kernel_events"),
        expected + 1
    );
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(*) FROM kernel_events WHERE class = 'ext4_error'"
        ),
        1
    );

    // The files are plain Parquet in a hive layout: DuckDB reads them as they are.
    let py = format!(
        "import duckdb; print(duckdb.sql(\"SELECT count(*) FROM read_parquet('{d}/kernel_events/**/*.parquet', hive_partitioning=true)\").fetchall()[0][0])"
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &py])
        .output()
        .expect("python3 with duckdb (tests/setup.sh installs it)");
    assert!(out.status.success(), "duckdb: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), (expected + 1).to_string());
}

#[test]
fn bad_input_goes_to_dead_letters_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let f = dir.path().join("bad.log");
    let mut bytes = b"[    1.000000] first\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024)); // a 3 MiB line
    bytes.extend_from_slice(b"\n[   2.x] bad stamp\n\0\0\0\0\n[    3.000000] last, cut mid-line");
    std::fs::write(&f, &bytes).unwrap();
    ok(&[
        "import",
        "--format",
        "kernel",
        "--data",
        data.to_str().unwrap(),
        f.to_str().unwrap(),
    ]);
    assert_eq!(sql_num(&data, "SELECT count(*) FROM kernel_events"), 2);
    let dead = sql(
        &data,
        "SELECT error_type, count(*), sum(raw_bytes), min(source_offset) FROM dead_letters GROUP BY error_type ORDER BY error_type",
    );
    // The 3 MiB line: three 1 MiB pieces and its newline; then the bad stamp and the NULs.
    let by_type: std::collections::HashMap<String, (i64, i64, i64)> = dead
        .iter()
        .map(|r| {
            (
                r[0].clone(),
                (
                    r[1].parse().unwrap(),
                    r[2].parse().unwrap(),
                    r[3].parse().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(by_type["oversized"], (4, 3 * 1024 * 1024 + 1, 21));
    assert_eq!(by_type["bad_timestamp"].0, 1);
    assert_eq!(by_type["nul_byte"].0, 1);
    // Every byte of the file is in one table or the other.
    let stored: i64 = sql_num(&data, "SELECT sum(raw_bytes) FROM dead_letters")
        + sql_num(
            &data,
            "SELECT sum(length(message)) + 2 * 15 + 1 FROM kernel_events",
        );
    assert_eq!(stored, bytes.len() as i64);
}

/// A class of the operator's own (`[[kernel_classes]]`) is tried before the built-in
/// catalogue: the sample's virtio PCI devices being enabled get it, with the PCI address
/// and the power state as facts, exactly as many as the log has; a bad class is refused
/// naming its key.
#[test]
fn kernel_classes_from_the_config_classify_messages() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("classes.toml");
    std::fs::write(
        &cfg,
        r#"
data_dir = "data"
[[kernel_classes]]
name = "virtio_enabled"
severity = "low"
needles = ["virtio-pci"]
pattern = 'virtio-pci (?P<device>[0-9a-f:.]+): enabling device \((?P<from>\d+) -> (?P<to>\d+)\)'
"#,
    )
    .unwrap();
    let log = sample("kernel/dmesg.log");
    let expected = grep_count(&log, "] virtio-pci 0000:");
    assert!(expected > 0, "the sample enables virtio devices");
    ok(&[
        "import",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "kernel",
        log.to_str().unwrap(),
    ]);
    let data = dir.path().join("data");
    let rows = sql(
        &data,
        "SELECT class, severity, device, facts['to'] FROM kernel_events \
         WHERE message LIKE 'virtio-pci 0000:%' ORDER BY source_offset",
    );
    assert_eq!(rows.len(), expected);
    for r in &rows {
        assert_eq!(
            (r[0].as_str(), r[1].as_str(), r[3].as_str()),
            ("virtio_enabled", "low", "0002"),
            "{r:?}"
        );
        assert!(r[2].starts_with("0000:00:"), "{r:?}");
    }

    std::fs::write(
        &cfg,
        "[[kernel_classes]]\nname = \"x\"\nseverity = \"urgent\"\npattern = \"(\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["validate", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("kernel_classes[0]: "), "{stdout}");
}
