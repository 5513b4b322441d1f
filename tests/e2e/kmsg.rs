//! The live /dev/kmsg source: the real binary follows this machine's kernel ring buffer.
//! Records are written into the ring (`<3>serversage-test-…` through /dev/kmsg) and a real
//! segfault is provoked; their rows must appear in `kernel_events` with their sequence
//! numbers and boot id, a restart must resume without duplicates (a record written while
//! stopped is read once, nothing is read twice), and a new boot id must give one `boot`
//! event, which fires a `class = 'boot'` alert. Needs root (to write /dev/kmsg); skips, saying why, when the device is not
//! readable or writable.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("serversage-test-{}-{nanos:x}", std::process::id())
}

/// One record into the ring (one open per write: the kernel rate-limits per open file).
fn kmsg_write(text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open("/dev/kmsg")?;
    f.write_all(text.as_bytes())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap()
        .trim()
        .to_string()
}

fn count(data: &Path, filter: &str) -> i64 {
    sql_num(
        data,
        &format!("SELECT count(*) FROM kernel_events WHERE {filter}"),
    )
}

/// Waits until `filter` matches exactly `n` rows; panics with what it saw.
fn wait_rows(data: &Path, filter: &str, n: i64) {
    let mut seen = -1;
    let got = wait_for(Duration::from_secs(40), || {
        if data.join("kernel_events").exists() {
            seen = count(data, filter);
        }
        (seen == n).then_some(())
    });
    assert!(got.is_some(), "{filter}: {seen} rows, expected {n}");
}

/// Starts the binary and waits until the source has opened (and positioned) the device.
fn start(cfg: &Path) -> Running {
    let run = Running::start(cfg);
    wait_for(Duration::from_secs(30), || {
        (metric(&run.metrics(), "serversage_source_files{source=\"kmsg\"}") == Some(1.0))
            .then_some(())
    })
    .expect("the kmsg source opened /dev/kmsg");
    run
}

/// Runs python3 into a NULL dereference; its pid, if it died of SIGSEGV.
fn segfault() -> Option<u32> {
    let mut child = Command::new("python3")
        .args(["-c", "import ctypes; ctypes.string_at(0)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id();
    let status = child.wait().ok()?;
    use std::os::unix::process::ExitStatusExt;
    (status.signal() == Some(11)).then_some(pid)
}

#[test]
fn kmsg_source_follows_the_ring_resumes_without_duplicates_and_marks_a_new_boot() {
    if let Err(e) = std::fs::File::open("/dev/kmsg") {
        eprintln!("skipped: /dev/kmsg is not readable here: {e}");
        return;
    }
    let m = marker();
    if let Err(e) = kmsg_write(&format!("<3>{m}: probe\n")) {
        eprintln!("skipped: /dev/kmsg is not writable here (needs root): {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("serversage.toml");
    std::fs::write(
        &cfg,
        r#"data_dir = "data"
[store]
flush_interval = "1s"

[[sources]]
name = "kmsg"
format = "kmsg"
paths = ["/dev/kmsg"]
read_from = "end"

[[rules]]
name = "KmsgTestReboot"
kind = "kernel"
filter = "class = 'boot'"
group_by = ["host"]
window = { size = "1m", idle_flush = "1s" }
aggregate = { fn = "count" }
alert = { op = ">", threshold = 0, severity = "critical", summary = "{host} booted" }
"#,
    )
    .unwrap();
    let boot = boot_id();
    let exception_trace = std::fs::read_to_string("/proc/sys/debug/exception-trace")
        .map(|s| s.trim() != "0")
        .unwrap_or(true);

    // First run, from the end of the ring: the probe written before it is not read.
    let run = start(&cfg);
    kmsg_write(&format!("<3>{m}: first run\n")).unwrap();
    let pid = segfault();
    wait_rows(&data, &format!("message = '{m}: first run'"), 1);
    let rows = sql(
        &data,
        &format!(
            "SELECT seq IS NOT NULL, boot_id, level, facility, class IS NULL, clock \
             FROM kernel_events WHERE message = '{m}: first run'"
        ),
    );
    assert_eq!(
        rows,
        vec![vec![
            "true".to_string(),
            boot.clone(),
            "err".into(),
            "user".into(),
            "true".into(),
            "boot".into()
        ]],
        "a userspace <3> record arrives as user.err (formats doc K1)"
    );
    match pid {
        Some(pid) if exception_trace => {
            let f = format!("class = 'segfault' AND facts['pid'] = '{pid}'");
            wait_rows(&data, &f, 1);
            let rows = sql(
                &data,
                &format!(
                    "SELECT severity, facts['comm'] LIKE 'python3%', facts['addr'], \
                     boot_id, seq > (SELECT seq FROM kernel_events WHERE message = '{m}: first run') \
                     FROM kernel_events WHERE {f}"
                ),
            );
            assert_eq!(
                rows,
                vec![vec![
                    "medium".to_string(),
                    "true".into(),
                    "0".into(),
                    boot.clone(),
                    "true".into()
                ]]
            );
        }
        _ => eprintln!(
            "note: no segfault row checked (python3 did not die of SIGSEGV, or debug.exception-trace = 0)"
        ),
    }
    assert_eq!(count(&data, &format!("message = '{m}: probe'")), 0);
    run.stop();

    // Written while stopped: read once by the next run, in the same boot, although
    // read_from = "end" (the checkpoint wins); nothing of the first run is read again.
    kmsg_write(&format!("<3>{m}: while stopped\n")).unwrap();
    let run = start(&cfg);
    kmsg_write(&format!("<3>{m}: second run\n")).unwrap();
    wait_rows(&data, &format!("message = '{m}: second run'"), 1);
    let metrics = run.metrics();
    run.stop();
    for what in ["first run", "while stopped", "second run"] {
        assert_eq!(
            count(&data, &format!("message = '{m}: {what}'")),
            1,
            "{what}"
        );
    }
    let dup = sql_num(
        &data,
        "SELECT count(*) - count(DISTINCT seq) FROM kernel_events",
    );
    assert_eq!(dup, 0, "no kernel record stored twice");
    assert_eq!(
        count(&data, &format!("boot_id IS NULL OR boot_id <> '{boot}'")),
        0,
        "every row carries this boot's id"
    );
    assert!(
        metric(
            &metrics,
            "serversage_events_parsed_total{source=\"kmsg\",kind=\"kernel\"}"
        )
        .is_some_and(|n| n >= 2.0),
        "{metrics}"
    );

    // A checkpoint from another boot: this start is a new boot, read from the start of the
    // ring, and exactly one `boot` event marks it (the kernel's banner, seq 0, or its copy).
    let cp = data.join("state/checkpoints.json");
    let text = std::fs::read_to_string(&cp).unwrap();
    assert!(text.contains(&format!("kmsg:kmsg@{boot}")), "{text}");
    let fake = "00000000-0000-4000-8000-000000000000";
    std::fs::write(&cp, text.replace(&boot, fake)).unwrap();
    let boots_before = count(&data, "class = 'boot'");
    let alerts = data.join("alerts.log");
    let reboot_fired = || !firings(&alerts, "KmsgTestReboot").is_empty();
    assert!(!reboot_fired(), "no boot event before the boot id changed");
    let run = start(&cfg);
    wait_rows(&data, &format!("message = '{m}: probe'"), 1);
    wait_for(Duration::from_secs(30), || reboot_fired().then_some(()))
        .expect("the boot event fires a `class = 'boot'` alert");
    run.stop();
    assert_eq!(count(&data, "class = 'boot'") - boots_before, 1);
    assert_eq!(
        count(
            &data,
            "class = 'boot' AND seq = 0 AND message LIKE 'Linux version %'"
        ),
        1
    );
    let text = std::fs::read_to_string(&cp).unwrap();
    assert!(
        text.contains(&format!("kmsg:kmsg@{boot}")) && !text.contains(fake),
        "{text}"
    );
}
