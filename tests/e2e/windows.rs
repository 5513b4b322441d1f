//! Windows events end to end (formats `evtx`, `windows-xml`, `winlogbeat-json`, table
//! `windows_events`): the public .evtx samples (clean, dirty with a stale header, a bad
//! chunk, a zero-size record, damaged VSS carvings) and the Winlogbeat / Elastic samples,
//! read in place from ../shared/samples/windows, imported with the real binary and checked
//! with `serversage sql` against `evtx_dump`, the evtx crate's own CLI (`cargo install evtx
//! --version 0.15.1`, see tests/setup.sh).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::*;

fn evtx(name: &str) -> PathBuf {
    shared(&format!("windows/evtx/{name}"))
}

/// `evtx_dump -o json`: every record it reads (header record id → JSON) and how many
/// records or chunks it reports it could not read.
fn evtx_dump(path: &Path) -> (BTreeMap<u64, Vec<Value>>, usize) {
    let out = Command::new("evtx_dump")
        .args(["-o", "json", "--no-indent", "-t", "1"])
        .arg(path)
        .output()
        .expect("evtx_dump on PATH (cargo install evtx --version 0.15.1; tests/setup.sh)");
    let mut records: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    while let Some(l) = lines.next() {
        let Some(id) = l.strip_prefix("Record ") else {
            continue;
        };
        let json = serde_json::from_str(lines.next().unwrap()).unwrap();
        records
            .entry(id.trim().parse().unwrap())
            .or_default()
            .push(json);
    }
    let errors = text(&out.stderr)
        .matches("Failed to dump the next record")
        .count();
    (records, errors)
}

fn num(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        Value::Object(o) => o.get("#text").and_then(num),
        _ => None,
    }
}

fn import(data: &Path, format: &str, source: &str, file: &Path) -> String {
    let out = ok(&[
        "import",
        "--format",
        format,
        "--source",
        source,
        "--host",
        "collector",
        "--data",
        data.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    text(&out.stderr)
}

/// One record as `evtx_dump` gives it, reduced to what the table's columns say.
fn dumped(id: u64, j: &Value) -> Value {
    let sys = &j["Event"]["System"];
    // No TimeCreated, or FILETIME 0: not an event time (the row's clock says `written`).
    let ts = sys["TimeCreated"]["#attributes"]["SystemTime"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.timestamp_micros())
        .filter(|&us| us != -11_644_473_600_000_000);
    serde_json::json!({
        "evtx_record_id": id,
        // The event's own id; without one, the record's id in this file.
        "record_id": num(&sys["EventRecordID"]).unwrap_or(id),
        "event_id": num(&sys["EventID"]),
        "qualifiers": num(&sys["EventID"]["#attributes"]["Qualifiers"]),
        "ts": ts,
        "channel": sys["Channel"].as_str().filter(|s| !s.is_empty()),
        "provider": sys["Provider"]["#attributes"]["Name"].as_str(),
        "computer": sys["Computer"].as_str(),
    })
}

#[test]
fn evtx_files_clean_dirty_and_corrupted_match_evtx_dump() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let files = [
        ("clean", "security.evtx"),
        ("dirty", "2-vss_7-System.evtx"),
        ("bad_chunk", "sample_with_a_bad_chunk_magic.evtx"),
        ("zero_size_record", "sample-with-zero-data-size-event.evtx"),
        (
            "carved",
            "2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
        ),
        ("forwarded", "MSExchange_Management_wec.evtx"),
    ];
    for (source, file) in files {
        let path = evtx(file);
        let stderr = import(&data, "evtx", source, &path);
        let (dump, dump_errors) = evtx_dump(&path);
        let mut want: Vec<Value> = dump
            .iter()
            .flat_map(|(id, js)| js.iter().map(|j| dumped(*id, j)))
            .collect();
        want.sort_by_key(|v| (v["evtx_record_id"].as_u64(), v["ts"].as_i64()));
        let got = sql_rows(
            &data,
            &format!(
                "SELECT evtx_record_id, record_id, event_id, qualifiers, \
                 CASE WHEN clock = 'time_created' THEN CAST(ts AS BIGINT) END AS ts, \
                 channel, provider, computer FROM windows_events WHERE source = '{source}' \
                 ORDER BY evtx_record_id, ts"
            ),
        );
        let strip_nulls = |v: &Value| {
            let o: serde_json::Map<String, Value> = v
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect();
            Value::Object(o)
        };
        let got: Vec<Value> = got.iter().map(strip_nulls).collect();
        let want: Vec<Value> = want.iter().map(strip_nulls).collect();
        assert_eq!(
            got.len(),
            want.len(),
            "{file}: rows against evtx_dump's records\n{stderr}"
        );
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{file}");
        }
        // What evtx_dump cannot read is in dead_letters: one row per damaged chunk, naming
        // the chunk (its source_offset is the chunk's) and each record's id or offset.
        let dead = sql_rows(
            &data,
            &format!(
                "SELECT source_offset, error_type, reason FROM dead_letters WHERE source = '{source}' \
                 ORDER BY source_offset"
            ),
        );
        let mut listed = 0;
        for d in &dead {
            let at = d["source_offset"].as_u64().unwrap();
            let reason = d["reason"].as_str().unwrap();
            assert_eq!((at - 4096) % 65536, 0, "{file}: {reason}");
            let chunk = (at - 4096) / 65536;
            assert!(
                reason.contains(&format!("chunk {chunk} (file offset {at:#x})")),
                "{reason}"
            );
            listed += match reason.split_once(" unreadable record(s)") {
                Some((head, _)) => head.rsplit(' ').next().unwrap().parse::<usize>().unwrap(),
                None => 1,
            };
        }
        assert_eq!(listed, dump_errors, "{file}: {dead:#?}");
        if source == "zero_size_record" {
            assert!(
                dead[0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("chunk offset 0x820")
            );
        }
        if source == "clean" || source == "forwarded" {
            assert!(dead.is_empty(), "{file}: {dead:?}");
        }
    }
    // Positional <Data> of a classic provider: param1.. in the map (30 in the Exchange record,
    // the empty ones not stored).
    let rows = sql_rows(
        &data,
        "SELECT event_data['param1'] AS cmdlet, event_data['param27'] AS culture, \
         cardinality(event_data) AS n FROM windows_events WHERE source = 'forwarded'",
    );
    assert_eq!(rows[0]["cmdlet"], "Set-Mailbox");
    assert_eq!(rows[0]["culture"], "fr-FR");
    assert_eq!(rows[0]["n"], 16);

    // A second import of the same file adds nothing.
    let before = sql_num(&data, "SELECT count(*) FROM windows_events");
    let stderr = import(&data, "evtx", "clean", &evtx("security.evtx"));
    assert!(stderr.contains("already stored"), "{stderr}");
    assert_eq!(
        sql_num(&data, "SELECT count(*) FROM windows_events"),
        before
    );
}

#[test]
fn security_audit_fields_with_sql() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = evtx("security.evtx");
    import(&data, "evtx", "sec", &path);
    let (dump, _) = evtx_dump(&path);
    // Failed and successful logons, by the keywords' audit bits, against the dump.
    let mut by_outcome: BTreeMap<&str, i64> = BTreeMap::new();
    let mut logon_types: BTreeMap<String, i64> = BTreeMap::new();
    for js in dump.values().flatten() {
        let sys = &js["Event"]["System"];
        let k = u64::from_str_radix(
            sys["Keywords"].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap();
        if k & 0x0010_0000_0000_0000 != 0 {
            *by_outcome.entry("audit_failure").or_default() += 1;
        } else if k & 0x0020_0000_0000_0000 != 0 {
            *by_outcome.entry("audit_success").or_default() += 1;
        }
        if num(&sys["EventID"]) == Some(4624) {
            let t = js["Event"]["EventData"]["LogonType"].to_string();
            *logon_types
                .entry(t.trim_matches('"').to_string())
                .or_default() += 1;
        }
    }
    for (outcome, n) in &by_outcome {
        let q = format!("SELECT count(*) FROM windows_events WHERE outcome = '{outcome}'");
        assert_eq!(sql_num(&data, &q), *n, "{outcome}");
    }
    let rows = sql_rows(
        &data,
        "SELECT event_data['LogonType'] AS t, count(*) AS n FROM windows_events \
         WHERE event_id = 4624 GROUP BY 1 ORDER BY 1",
    );
    let got: BTreeMap<String, i64> = rows
        .iter()
        .map(|r| {
            (
                r["t"].as_str().unwrap().to_string(),
                r["n"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, logon_types);
    // The table's host is the event's Computer, not the importing host.
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(*) FROM windows_events WHERE host = 'collector'"
        ),
        0
    );
}

#[test]
fn forwarded_xml_of_a_log_gives_the_rows_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = evtx("system.evtx");
    let xml = dir.path().join("system.xml");
    let out = Command::new("evtx_dump")
        .args(["-o", "xml", "--dont-show-record-number", "-t", "1"])
        .arg(&path)
        .output()
        .expect("evtx_dump on PATH");
    std::fs::write(&xml, &out.stdout).unwrap();
    import(&data, "evtx", "file", &path);
    import(&data, "windows-xml", "forwarded", &xml);
    let q = |source: &str| {
        sql_rows(
            &data,
            &format!(
                "SELECT record_id, event_id, qualifiers, level, keywords, CAST(ts AS BIGINT) AS ts, \
                 provider, event_data['param1'] AS p1, cardinality(event_data) AS n \
                 FROM windows_events WHERE source = '{source}' ORDER BY record_id"
            ),
        )
    };
    let (file, fwd) = (q("file"), q("forwarded"));
    assert_eq!(file.len(), 1881);
    assert_eq!(fwd, file);
    assert_eq!(
        sql_num(
            &data,
            "SELECT count(*) FROM dead_letters WHERE source = 'forwarded'"
        ),
        0
    );
}

#[test]
fn winlogbeat_and_elastic_agent_samples() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    import(
        &data,
        "winlogbeat-json",
        "winlogbeat",
        &shared("windows/winlogbeat/beats-x-pack-security-4742.evtx.golden.json"),
    );
    import(
        &data,
        "winlogbeat-json",
        "agent",
        &shared("windows/winlogbeat/integrations-system-security-test-1102.json"),
    );
    let rows = sql_rows(
        &data,
        "SELECT source, event_id, record_id, channel, host, outcome, user_data_name, \
         CAST(ts AS VARCHAR) AS ts, event_data['SubjectUserName'] AS subject \
         FROM windows_events ORDER BY event_id",
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["event_id"], 1102);
    assert_eq!(rows[0]["record_id"], 14224);
    assert_eq!(rows[0]["user_data_name"], "LogFileCleared");
    assert_eq!(rows[0]["subject"], "Administrator");
    assert_eq!(rows[0]["host"], "WIN-41OB2LO92CR.wlbeat.local");
    assert!(
        rows[0]["ts"]
            .as_str()
            .unwrap()
            .starts_with("2019-11-07T10:34:29.055")
    );
    assert_eq!(rows[1]["event_id"], 4742);
    assert_eq!(rows[1]["record_id"], 3699934);
    assert_eq!(rows[1]["subject"], "at_adm");
    assert_eq!(rows[1]["outcome"], "audit_success");
    assert!(
        rows[1]["ts"]
            .as_str()
            .unwrap()
            .starts_with("2019-12-18T16:22:12.342508")
    );
    assert_eq!(sql_num(&data, "SELECT count(*) FROM dead_letters"), 0);
}
