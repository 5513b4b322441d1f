use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

/// The shipped configuration, pointed at `logs/` in a temp dir, with short flush and idle
/// times so a test does not wait a minute for a window to close.
fn config(dir: &Path) -> PathBuf {
    let shipped = std::fs::read_to_string(repo().join("serversage.toml")).unwrap();
    let cfg = shipped
        .replace(
            "paths = [\"sample-logs/kernel/*.log\"]",
            "paths = [\"logs/*.log\"]\npartial_record_timeout = \"300ms\"",
        )
        .replace("flush_interval = \"10s\"", "flush_interval = \"1s\"")
        .replace(
            "window = { size = \"1m\" }",
            "window = { size = \"1m\", idle_flush = \"1s\" }",
        )
        .replace(
            "[packs.kernel]\nwindow = \"1m\"",
            "[packs.kernel]\nwindow = \"1m\"\nidle_flush = \"1s\"",
        );
    assert_ne!(cfg, shipped);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let p = dir.join("serversage.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn run_follows_files_derives_metrics_and_alerts_and_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let data = dir.path().join("data");
    let log = dir.path().join("logs/kern.log");
    std::fs::copy(sample("kernel/dmesg.log"), &log).unwrap();
    let expected = dmesg_records(&log) as f64;

    let run = Running::start(&cfg);
    let m = wait_for(Duration::from_secs(60), || {
        let m = run.metrics();
        (series_sum(&m, "serversage_kernel_messages_total") == expected).then_some(m)
    })
    .unwrap_or_else(|| panic!("counters never reached {expected}:\n{}", run.metrics()));
    assert_eq!(
        metric(
            &m,
            "serversage_kernel_messages_total{source=\"kernel\",class=\"segfault\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &m,
            "serversage_kernel_messages_total{source=\"kernel\",class=\"oom_kill\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &m,
            "serversage_events_parsed_total{source=\"kernel\",kind=\"kernel\"}"
        ),
        Some(expected)
    );
    assert_eq!(
        metric(
            &m,
            "serversage_parse_errors_total{source=\"kernel\",format=\"kernel\",error_type=\"bad_timestamp\"}"
        ),
        None
    );

    // The OOM kill in the sample pages: the window closes once the source is idle.
    let alerts_log = data.join("alerts.log");
    let alert = wait_for(Duration::from_secs(30), || {
        firings(&alerts_log, "KernelOomKill").into_iter().next()
    })
    .expect("KernelOomKill fired");
    assert_eq!(alert["labels"]["host"], hostname());
    assert_eq!(alert["value"], 1.0);

    // Appended lines are followed, a line cut mid-write is completed, and new incidents count.
    append(&log, b"[ 2100.000000] INFO: task kworker/0:1:123 blocked for more than 120 seconds.\n[ 2101.0000");
    std::thread::sleep(Duration::from_millis(100));
    append(&log, b"00] usb 1-1: USB disconnect, device number 2\n");
    let m = wait_for(Duration::from_secs(30), || {
        let m = run.metrics();
        (series_sum(&m, "serversage_kernel_messages_total") == expected + 2.0).then_some(m)
    })
    .expect("appended lines counted");
    assert_eq!(
        metric(
            &m,
            "serversage_kernel_messages_total{source=\"kernel\",class=\"hung_task\"}"
        ),
        Some(1.0)
    );
    run.stop();

    // The kernel pack counted every classified event once, by host, class and severity.
    let classified = sql_num(
        &data,
        "SELECT count(*) FROM kernel_events WHERE class IS NOT NULL",
    );
    assert!(
        classified >= 3,
        "the sample has a segfault, an OOM report and a hung task"
    );
    assert_eq!(
        series_sum(&m, "serversage_kernel_events_total"),
        classified as f64
    );
    let oom_rows = sql(
        &data,
        "SELECT severity, count(*) FROM kernel_events WHERE class = 'oom_kill' GROUP BY severity",
    );
    for r in &oom_rows {
        let series = format!(
            "serversage_kernel_events_total{{host=\"{}\",class=\"oom_kill\",severity=\"{}\"}}",
            hostname(),
            r[0]
        );
        assert_eq!(metric(&m, &series), r[1].parse::<f64>().ok(), "{series}");
    }

    // The boot banner at the start of the sample is a reboot: one firing per minute with one.
    let boot_minutes = sql_num(
        &data,
        "SELECT count(DISTINCT date_trunc('minute', ts)) FROM kernel_events WHERE class = 'boot'",
    );
    assert!(
        boot_minutes >= 1,
        "the sample starts with the kernel's boot banner"
    );
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(*) FROM alerts WHERE rule = 'KernelReboot' AND state = 'firing'"
        ),
        boot_minutes
    );

    let total = sql_num(&data, "SELECT count(*) FROM kernel_events");
    assert_eq!(
        total,
        expected as i64 + 2,
        "every event stored once at shutdown"
    );
    // Firing for the OOM's minute; resolved by the next minute closed without one (the appended lines).
    let rows = sql(
        &data,
        "SELECT rule, state, labels['host'] FROM alerts WHERE rule = 'KernelOomKill' ORDER BY ts, state",
    );
    let row = |state: &str| vec!["KernelOomKill".to_string(), state.to_string(), hostname()];
    assert_eq!(rows, vec![row("firing"), row("resolved")]);

    // Restart: what was stored is not read again; what arrived while stopped is.
    append(
        &log,
        b"[ 2200.000000] e1000e 0000:00:19.0 eth0: NIC Link is Down\n",
    );
    let run = Running::start(&cfg);
    wait_for(Duration::from_secs(30), || {
        (series_sum(&run.metrics(), "serversage_kernel_messages_total") == 1.0).then_some(())
    })
    .expect("only the new line is read after a restart");
    run.stop();
    assert_eq!(
        sql_num(&data, "SELECT count(*) FROM kernel_events"),
        expected as i64 + 3
    );
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(*) FROM kernel_events WHERE class = 'nic_link_down'"
        ),
        1
    );
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn prometheus_scrapes_the_derived_series_and_promtool_finds_nothing_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let log = dir.path().join("logs/kern.log");
    std::fs::copy(sample("kernel/dmesg.log"), &log).unwrap();
    let expected = dmesg_records(&log) as f64;
    let run = Running::start(&cfg);
    let body = wait_for(Duration::from_secs(60), || {
        let m = run.metrics();
        (series_sum(&m, "serversage_kernel_messages_total") == expected).then_some(m)
    })
    .expect("metrics ready");

    // promtool lints the exposition.
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (tests/setup.sh installs Debian's prometheus)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "promtool: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // A real Prometheus scrapes it and answers from its own query API.
    let target = run
        .metrics_url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_string();
    let prom_port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: serversage\n    static_configs:\n      - targets: ['{target}']\n"),
    )
    .unwrap();
    let mut prom = Command::new("prometheus")
        .args([
            &format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ),
            &format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()),
            &format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus");
    let query = format!(
        "http://127.0.0.1:{prom_port}/api/v1/query?query=sum(serversage_kernel_messages_total%7Bjob%3D%22serversage%22%7D)"
    );
    let answer = wait_for(Duration::from_secs(60), || {
        let body = http_get(&query)?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let value = v["data"]["result"][0]["value"][1]
            .as_str()?
            .parse::<f64>()
            .ok()?;
        (value == expected).then_some(value)
    });
    let oom = http_get(&format!(
        "http://127.0.0.1:{prom_port}/api/v1/query?query=serversage_kernel_messages_total%7Bclass%3D%22oom_kill%22%7D"
    ));
    let _ = prom.kill();
    let _ = prom.wait();
    assert_eq!(
        answer,
        Some(expected),
        "Prometheus never saw the sum of the kernel message counters"
    );
    let oom: serde_json::Value = serde_json::from_str(&oom.expect("query answered")).unwrap();
    assert_eq!(oom["data"]["result"][0]["value"][1], "1");
    run.stop();
}
