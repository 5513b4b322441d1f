//! User-written rules over `windows_events`, fed by replays of real records: the 15 failed
//! logons (4625) of `Security_with_size_t.evtx` and the two "log cleared" (104) records of
//! `system.evtx` as rendered XML (`evtx_dump -o xml`), and the Winlogbeat 1102 sample, with
//! their times moved into one minute and the failed logons multiplied to 20. The alerts
//! must fire for that minute and resolve once later events close quiet windows.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

/// BASE + `secs` as an RFC 3339 time: the burst is in 2026-03-02T10:00 (any time works:
/// windows are on event time).
fn time(secs: u32) -> String {
    format!("2026-03-02T10:{:02}:{:02}.0000000Z", secs / 60, secs % 60)
}

/// Each record `evtx_dump` renders as XML (one `<?xml ...?>` document each).
fn xml_records(file: &str) -> Vec<String> {
    let out = Command::new("evtx_dump")
        .args(["-o", "xml", "--dont-show-record-number", "-t", "1"])
        .arg(shared(&format!("windows/evtx/{file}")))
        .output()
        .expect("evtx_dump on PATH (cargo install evtx --version 0.15.1; tests/setup.sh)");
    text(&out.stdout)
        .split("<?xml")
        .filter(|r| r.contains("<Event"))
        .map(|r| format!("<?xml{}", r.trim_end()))
        .collect()
}

fn with_event_id(records: &[String], id: u32) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.contains(&format!("<EventID>{id}</EventID>")))
        .cloned()
        .collect()
}

/// The record with its TimeCreated set to `time(secs)`.
fn at(record: &str, secs: u32) -> String {
    let start = record.find("SystemTime=\"").expect("TimeCreated") + "SystemTime=\"".len();
    let end = start + record[start..].find('"').unwrap();
    format!("{}{}{}", &record[..start], time(secs), &record[end..])
}

fn config(dir: &Path) -> std::path::PathBuf {
    let cfg = r#"
data_dir = "data"
[store]
flush_interval = "1s"

[[sources]]
name = "security"
format = "windows-xml"
paths = ["logs/*.xml"]
partial_record_timeout = "300ms"

[[sources]]
name = "beats"
format = "winlogbeat-json"
paths = ["logs/*.json"]

[[rules]]
name = "UserFailedLogonBurst"
kind = "windows"
filter = "event_id = 4625 AND outcome = 'audit_failure'"
group_by = ["computer"]
window = { size = "1m", idle_flush = "2s" }
aggregate = { fn = "count" }
metric = { name = "windows_failed_logons", type = "counter" }
alert = { op = ">", threshold = 10, summary = "{value} failed logons on {computer}" }

[[rules]]
name = "UserLogCleared"
kind = "windows"
filter = "event_id IN (104, 1102) AND user_data_name = 'LogFileCleared'"
group_by = ["computer"]
window = { size = "1m", idle_flush = "2s" }
aggregate = { fn = "count" }
alert = { op = ">=", threshold = 1, severity = "critical" }

[packs.windows]
idle_flush = "2s"
"#;
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let p = dir.join("serversage.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn find<'a>(all: &'a [Value], rule: &str, state: &str, computer: &str) -> Option<&'a Value> {
    all.iter()
        .find(|a| a["rule"] == rule && a["state"] == state && a["labels"]["computer"] == computer)
}

#[test]
fn failed_logon_bursts_and_log_clearing_fire_and_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let data = dir.path().join("data");
    let security = xml_records("Security_with_size_t.evtx");
    let failed = with_event_id(&security, 4625);
    assert_eq!(failed.len(), 15, "the sample's failed logons");
    let cleared = with_event_id(&xml_records("system.evtx"), 104);
    assert_eq!(cleared.len(), 2, "the sample's log-cleared records");
    let quiet = with_event_id(&security, 4624)
        .into_iter()
        .next()
        .expect("a successful logon");

    // 20 failed logons within the minute (the 15 real ones, then the first 5 again), and
    // the two log clearings in it too.
    let mut xml = String::new();
    for i in 0..20 {
        xml.push_str(&at(&failed[i % failed.len()], 2 + 2 * i as u32));
        xml.push('\n');
    }
    xml.push_str(&at(&cleared[0], 10));
    xml.push('\n');
    xml.push_str(&at(&cleared[1], 20));
    xml.push('\n');
    let xml_path = dir.path().join("logs/security.xml");
    std::fs::write(&xml_path, &xml).unwrap();
    // The Winlogbeat 1102 (Security log cleared), moved into the minute.
    let mut beat: Value = serde_json::from_slice(
        &std::fs::read(shared(
            "windows/winlogbeat/integrations-system-security-test-1102.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let ev = &mut beat["events"][0];
    ev["@timestamp"] = Value::from(time(30));
    ev["winlog"]["time_created"] = Value::from(time(30));
    std::fs::write(
        dir.path().join("logs/agent.json"),
        serde_json::to_string(ev).unwrap() + "\n",
    )
    .unwrap();

    let run = Running::start(&cfg);
    let alerts_log = data.join("alerts.log");
    let firing = wait_for(Duration::from_secs(60), || {
        let all = alert_transitions(&alerts_log);
        (find(&all, "UserFailedLogonBurst", "firing", "WIN-L0ZZQ76PMUF").is_some()
            && find(&all, "UserLogCleared", "firing", "DESKTOP-2KGM189").is_some()
            && find(
                &all,
                "UserLogCleared",
                "firing",
                "WIN-41OB2LO92CR.wlbeat.local",
            )
            .is_some())
        .then_some(all)
    })
    .unwrap_or_else(|| panic!("alerts did not fire: {:#?}", alert_transitions(&alerts_log)));
    check_pack(&alerts_log, &failed);
    let burst = find(&firing, "UserFailedLogonBurst", "firing", "WIN-L0ZZQ76PMUF").unwrap();
    assert_eq!(burst["value"], 20.0);
    assert_eq!(burst["summary"], "20 failed logons on WIN-L0ZZQ76PMUF");
    assert_eq!(
        find(&firing, "UserLogCleared", "firing", "DESKTOP-2KGM189").unwrap()["value"],
        2.0
    );
    assert!(
        firing
            .iter()
            .filter(|a| a["rule"].as_str().is_some_and(|r| r.starts_with("User")))
            .all(|a| a["state"] != "resolved"),
        "nothing resolves before later events close quiet windows: {firing:#?}"
    );

    // A successful logon five minutes later: the minutes in between are quiet, so every
    // alert resolves.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&xml_path)
            .unwrap();
        f.write_all(at(&quiet, 300).as_bytes()).unwrap();
        f.write_all(b"\n").unwrap();
    }
    let all = wait_for(Duration::from_secs(60), || {
        let all = alert_transitions(&alerts_log);
        (find(&all, "UserFailedLogonBurst", "resolved", "WIN-L0ZZQ76PMUF").is_some()
            && find(&all, "UserLogCleared", "resolved", "DESKTOP-2KGM189").is_some()
            && find(
                &all,
                "UserLogCleared",
                "resolved",
                "WIN-41OB2LO92CR.wlbeat.local",
            )
            .is_some())
        .then_some(all)
    })
    .unwrap_or_else(|| {
        panic!(
            "alerts did not resolve: {:#?}",
            alert_transitions(&alerts_log)
        )
    });
    // Built-in pack rules may run too (their names differ): count only these rules'.
    let mine: Vec<&Value> = all
        .iter()
        .filter(|a| a["rule"].as_str().is_some_and(|r| r.starts_with("User")))
        .collect();
    assert_eq!(
        mine.len(),
        6,
        "one firing and one resolved per group: {mine:#?}"
    );
    let m = run.metrics();
    run.stop();
    assert_eq!(
        metric(
            &m,
            "windows_failed_logons_total{computer=\"WIN-L0ZZQ76PMUF\"}"
        ),
        Some(20.0),
        "{m}"
    );

    // The same history, in SQL: the replayed rows, and the alerts table.
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(*) FROM windows_events WHERE event_id = 4625 \
             AND outcome = 'audit_failure' AND ts < TIMESTAMP '2026-03-02T10:01:00Z'"
        ),
        20
    );
    let rows = sql(
        &data,
        "SELECT rule, state, labels['computer'] FROM alerts WHERE rule LIKE 'User%' \
         ORDER BY rule, labels['computer'], ts, state",
    );
    let row = |r: &str, s: &str, c: &str| vec![r.to_string(), s.to_string(), c.to_string()];
    assert_eq!(
        rows,
        vec![
            row("UserFailedLogonBurst", "firing", "WIN-L0ZZQ76PMUF"),
            row("UserFailedLogonBurst", "resolved", "WIN-L0ZZQ76PMUF"),
            row("UserLogCleared", "firing", "DESKTOP-2KGM189"),
            row("UserLogCleared", "resolved", "DESKTOP-2KGM189"),
            row("UserLogCleared", "firing", "WIN-41OB2LO92CR.wlbeat.local"),
            row("UserLogCleared", "resolved", "WIN-41OB2LO92CR.wlbeat.local"),
        ]
    );
    assert_eq!(sql_num(&data, "SELECT count(*) FROM dead_letters"), 0);
}

/// `<Data Name="NAME">value</Data>` of a rendered record ("" when empty or absent).
fn data(record: &str, name: &str) -> String {
    let open = format!("<Data Name=\"{name}\">");
    record
        .find(&open)
        .map(|at| {
            let rest = &record[at + open.len()..];
            rest[..rest.find("</Data>").unwrap_or(0)].to_string()
        })
        .unwrap_or_default()
}

/// The built-in windows pack saw the same replay: its failed-logon alerts fire for every
/// account and source address with at least 10 failures in a sliding minute (the pack's
/// defaults: windows of 1 min every 10 s), with the count of the first such window,
/// both counted here from the records' own XML and times; and the log-clearing alert
/// fires for the System log (104) and the Security log (1102).
fn check_pack(alerts_log: &Path, failed: &[String]) {
    // Event times in seconds after 10:00:00, per key (the replay puts failure i at 2 + 2i).
    let mut by_account = std::collections::BTreeMap::<String, Vec<i64>>::new();
    let mut by_address = std::collections::BTreeMap::<String, Vec<i64>>::new();
    for (i, r) in failed.iter().cycle().take(20).enumerate() {
        let t = 2 + 2 * i as i64;
        let domain = data(r, "TargetDomainName");
        let user = data(r, "TargetUserName");
        let account = if domain.is_empty() || domain == "-" {
            user
        } else {
            format!("{domain}\\{user}")
        };
        by_account.entry(account).or_default().push(t);
        by_address.entry(data(r, "IpAddress")).or_default().push(t);
    }
    // Windows [s, s + 60) for s every 10 s close in start order; the first one holding
    // 10 or more of a key's failures fires with that count.
    let first_firing = |times: &[i64]| -> Option<f64> {
        (-50..=40).step_by(10).find_map(|s: i64| {
            let n = times.iter().filter(|&&t| s <= t && t < s + 60).count();
            (n >= 10).then_some(n as f64)
        })
    };
    let expect = |m: &std::collections::BTreeMap<String, Vec<i64>>| -> Vec<(String, f64)> {
        m.iter()
            .filter_map(|(k, times)| Some((k.clone(), first_firing(times)?)))
            .collect()
    };
    let (accounts, addresses) = (expect(&by_account), expect(&by_address));
    assert!(!accounts.is_empty() && !addresses.is_empty());
    let fired = |rule: &str, label: &str| -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = alert_transitions(alerts_log)
            .iter()
            .filter(|a| a["rule"] == rule && a["state"] == "firing")
            .map(|a| {
                (
                    a["labels"][label].as_str().unwrap_or_default().to_string(),
                    a["value"].as_f64().unwrap_or_default(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let pack = wait_for(Duration::from_secs(30), || {
        let a = fired("WindowsFailedLogonsByAccount", "account");
        let b = fired("WindowsFailedLogonsByAddress", "address");
        let c = fired("WindowsLogCleared", "channel");
        (a.len() >= accounts.len() && b.len() >= addresses.len() && c.len() >= 2)
            .then_some((a, b, c))
    })
    .unwrap_or_else(|| panic!("pack alerts: {:#?}", alert_transitions(alerts_log)));
    assert_eq!(pack.0, accounts);
    assert_eq!(pack.1, addresses);
    let channels: Vec<&str> = pack.2.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(channels, vec!["Security", "System"]);
}
