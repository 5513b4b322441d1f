use crate::harness::*;

fn parse_json(path: &std::path::Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["parse", "--format", "kernel", "--host", "h1"];
    args.extend_from_slice(extra);
    args.push(path.to_str().unwrap());
    let out = ok(&args);
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect()
}

#[test]
fn every_dmesg_form_gives_the_same_events() {
    let plain = parse_json(
        &sample("kernel/dmesg.log"),
        &["--boot-time", "2026-11-23T12:19:35Z"],
    );
    let iso = parse_json(&sample("kernel/forms/dmesg-iso.log"), &[]);
    let x = parse_json(&sample("kernel/forms/dmesg-x.log"), &[]);
    let expected = dmesg_records(&sample("kernel/dmesg.log"));
    assert_eq!(plain.len(), expected);
    assert_eq!(iso.len(), expected);
    assert_eq!(x.len(), expected);
    for i in 0..expected {
        assert_eq!(plain[i]["message"], iso[i]["message"], "record {i}");
        assert_eq!(plain[i]["message"], x[i]["message"], "record {i}");
    }
    // dmesg -x names facility and level; the plain form has none.
    assert_eq!(x[0]["facility"], "kern");
    assert!(x.iter().all(|e| e["level"].is_string()));
    assert!(plain[0].get("level").is_none_or(|l| l.is_null()));
    // Boot-relative time + boot time agrees with dmesg's own wall-clock rendering (1 s resolution).
    assert_eq!(plain[0]["clock"], "boot");
    assert_eq!(iso[0]["clock"], "realtime");
    assert_eq!(plain[0]["host"], "h1");
}

#[test]
fn real_incidents_are_classified_with_their_facts() {
    let path = sample("kernel/dmesg.log");
    let ev = parse_json(&path, &[]);
    let class_count = |c: &str| ev.iter().filter(|e| e["class"] == c).count();
    assert_eq!(
        class_count("segfault"),
        grep_count(&path, "]: segfault at ")
    );
    assert_eq!(
        class_count("oom_kill"),
        grep_count(&path, "out of memory: Killed process")
    );
    assert_eq!(class_count("oom_kill"), 1);
    let seg = ev.iter().find(|e| e["class"] == "segfault").unwrap();
    assert_eq!(seg["severity"], "medium");
    assert!(
        seg["message"]
            .as_str()
            .unwrap()
            .starts_with("segv-demo[21581]: segfault at 10 ")
    );
    // The multi-line amd_pstate message is one event with both lines.
    let amd = ev
        .iter()
        .find(|e| e["message"].as_str().unwrap().starts_with("amd_pstate:"))
        .unwrap();
    assert!(
        amd["message"]
            .as_str()
            .unwrap()
            .ends_with("BIOS.\nPlease enable it if your BIOS has the CPPC option.")
    );
    // Ordinary boot messages raise nothing critical.
    let noisy: Vec<_> = ev
        .iter()
        .filter(|e| e["severity"] == "critical" && e["class"] != "oom_kill")
        .collect();
    assert!(noisy.is_empty(), "{noisy:?}");
}

#[test]
fn malformed_records_are_reported_with_offset_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.log");
    let mut bytes = b"[    1.000000] fine\n[   2.x] bad stamp\n[    3.000000] nul\0here\n".to_vec();
    bytes.extend_from_slice(b"[    4.000000] bytes \xff\xfe kept\n");
    std::fs::write(&f, &bytes).unwrap();
    let out = bin()
        .args([
            "parse",
            "--format",
            "kernel",
            "--strict",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--strict fails on malformed input");
    let err = text(&out.stderr);
    assert!(err.contains("offset 20: bad_timestamp at byte 4"), "{err}");
    assert!(err.contains("offset 39: nul_byte"), "{err}");
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["message"], "bytes \u{fffd}\u{fffd} kept");
    assert!(
        events[1]["message_raw"].is_string(),
        "raw bytes are kept when the text is not UTF-8"
    );
}

#[test]
fn public_console_logs_parse_without_loss() {
    // syzkaller crash reports: header lines, a blank line, then raw console output.
    for n in ["1001", "334", "264", "620"] {
        let path = shared(&format!("kernel/syzkaller-reports/{n}"));
        let out = ok(&["parse", "--format", "kernel", path.to_str().unwrap()]);
        let events = text(&out.stdout).lines().count();
        let malformed = text(&out.stderr)
            .lines()
            .filter(|l| l.contains(": offset "))
            .count();
        assert_eq!(events + malformed, dmesg_records(&path), "report {n}");
    }
}
