//! The Windows decoders over real data, read in place from ../shared/samples/windows: every
//! .evtx sample against the evtx crate's own reading of it (its record iterator with JSON
//! output, what `evtx_dump -o json` prints), the Winlogbeat / Elastic samples, and the same
//! real records in all four forms.

mod windows_common;

use std::collections::BTreeMap;

use evtx::err::EvtxError;
use serversage_parsers::ParseError;
use windows_common::*;

/// Our row for reference record `e`, compared field by field; `Err` says what differs.
fn compare(r: &Row, e: &Expected) -> Result<(), String> {
    let mut diffs = Vec::new();
    macro_rules! eq {
        ($ours:expr, $theirs:expr, $what:literal) => {
            if $ours != $theirs {
                diffs.push(format!(
                    "{}: ours {:?}, reference {:?}",
                    $what, $ours, $theirs
                ));
            }
        };
    }
    eq!(r.evtx_record_id, Some(e.record_id), "evtx_record_id");
    eq!(
        r.record_id,
        e.event_record_id.or(Some(e.record_id)),
        "record_id"
    );
    eq!(r.event_id, e.event_id, "event_id");
    eq!(r.qualifiers, e.qualifiers, "qualifiers");
    match e.time_us {
        Some(t) => {
            eq!(r.ts, t, "ts");
            eq!(r.clock.as_str(), "time_created", "clock");
        }
        None => eq!(r.clock.as_str(), "written", "clock"),
    }
    eq!(r.channel, e.channel, "channel");
    eq!(r.provider, e.provider, "provider");
    eq!(
        r.provider_guid,
        e.provider_guid.as_deref().map(lower_guid),
        "provider_guid"
    );
    eq!(r.computer, e.computer, "computer");
    eq!(r.level, e.level, "level");
    eq!(r.task, e.task, "task");
    eq!(r.opcode, e.opcode, "opcode");
    eq!(r.version, e.version, "version");
    eq!(r.keywords, e.keywords, "keywords");
    eq!(r.process_id, e.process_id, "process_id");
    eq!(r.thread_id, e.thread_id, "thread_id");
    eq!(r.user_sid, e.user_sid, "user_sid");
    eq!(r.user_data_name, e.user_data_name, "user_data_name");
    eq!(r.data, e.data, "event_data");
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("\n  "))
    }
}

/// Ids and locations the reference gives for what it cannot read.
fn describe_ref_error(e: &EvtxError) -> (Option<u64>, Option<u64>, Option<u64>) {
    match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => (Some(*chunk_id), None, None),
        EvtxError::FailedToReadRecordAt { chunk, offset, .. } => (*chunk, Some(*offset), None),
        EvtxError::FailedToParseRecord { record_id, .. } => (None, None, Some(*record_id)),
        other => panic!("unexpected reference error kind: {other}"),
    }
}

#[test]
fn every_evtx_sample_matches_the_crates_own_reading() {
    let files = evtx_files();
    assert_eq!(
        files.len(),
        23,
        "the 23 samples of shared/samples/windows/evtx"
    );
    let mut total = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let reference = reference(path);
        let (rows, dead) = decode("evtx", &ctx(), &bytes);
        total += rows.len();
        assert_eq!(rows.len(), reference.records.len(), "{name}: row count");
        // Match each reference record with one of our rows of the same id.
        let mut by_id: BTreeMap<u64, Vec<&Row>> = BTreeMap::new();
        for r in &rows {
            by_id.entry(r.evtx_record_id.unwrap()).or_default().push(r);
            assert_eq!(r.format, "evtx");
            assert!(r.written_ts.is_some(), "{name}: written_ts");
            assert_eq!(
                r.offset % 8,
                0,
                "{name}: records are 8-byte aligned: {}",
                r.offset
            );
            assert_eq!(
                &bytes[r.offset as usize..r.offset as usize + 4],
                b"\x2a\x2a\x00\x00",
                "{name}: source_offset points at the record"
            );
        }
        for e in &reference.records {
            let candidates = by_id
                .get_mut(&e.record_id)
                .unwrap_or_else(|| panic!("{name}: record {} is not in our rows", e.record_id));
            match candidates.iter().position(|r| compare(r, e).is_ok()) {
                Some(i) => {
                    candidates.swap_remove(i);
                }
                None => panic!(
                    "{name}: record {} differs:\n  {}",
                    e.record_id,
                    compare(candidates[0], e).unwrap_err()
                ),
            }
        }
        // What the reference cannot read is in our dead letters, and nothing else is.
        let reasons: Vec<String> = dead.iter().map(|(_, e)| e.reason.clone()).collect();
        let mut listed = 0;
        for (_, e) in &dead {
            listed += match e.reason.split_once(" unreadable record(s)") {
                Some((head, _)) => head.rsplit(' ').next().unwrap().parse::<usize>().unwrap(),
                None => 1,
            };
        }
        assert_eq!(
            listed,
            reference.errors.len(),
            "{name}: our dead letters {reasons:#?} against the reference's errors {:#?}",
            reference
                .errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        );
        for err in &reference.errors {
            let (chunk, offset, record) = describe_ref_error(err);
            let found = dead.iter().any(|(at, d)| {
                chunk.is_none_or(|c| {
                    *at == 4096 + c * 65536 && d.reason.starts_with(&format!("chunk {c} "))
                }) && offset.is_none_or(|o| d.reason.contains(&format!("chunk offset {o:#x}")))
                    && record.is_none_or(|id| d.reason.contains(&format!("record {id} ")))
            });
            assert!(
                found,
                "{name}: `{err}` is not in our dead letters {reasons:#?}"
            );
        }
    }
    eprintln!(
        "{} files, {total} records, all as the crate reads them",
        files.len()
    );
}

#[test]
fn corrupted_samples_keep_the_readable_records() {
    // Known damage in the samples (W1): a bad chunk magic, a zero-size record, VSS carvings.
    let cases = [
        ("sample_with_a_bad_chunk_magic.evtx", 2),
        ("sample-with-zero-data-size-event.evtx", 1),
        (
            "2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
            2,
        ),
    ];
    for (file, letters) in cases {
        let path = samples("windows/evtx").join(file);
        let bytes = std::fs::read(&path).unwrap();
        let (rows, dead) = decode("evtx", &ctx(), &bytes);
        assert!(!rows.is_empty(), "{file}");
        assert!(
            dead.len() >= letters,
            "{file}: {:#?}",
            dead.iter().map(|d| &d.1.reason).collect::<Vec<_>>()
        );
        for (at, e) in &dead {
            assert!(e.reason.starts_with("chunk "), "{file}: {}", e.reason);
            assert_eq!((at - 4096) % 65536, 0, "{file}: a dead letter is a chunk");
        }
    }
    // The zero-size record: its chunk keeps every other record and names the offset.
    let path = samples("windows/evtx/sample-with-zero-data-size-event.evtx");
    let (_, dead) = decode("evtx", &ctx(), &std::fs::read(path).unwrap());
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].1.reason.contains("chunk 0 ") && dead[0].1.reason.contains("chunk offset 0x820"),
        "{}",
        dead[0].1.reason
    );
    assert_eq!(dead[0].1.offset, 0x820);
}

#[test]
fn skip_through_record_id_never_re_emits() {
    let path = samples("windows/evtx/security.evtx");
    let bytes = std::fs::read(&path).unwrap();
    let (all, _) = decode("evtx", &ctx(), &bytes);
    let mid = all[all.len() / 2].evtx_record_id.unwrap();
    let mut c = ctx();
    c.options
        .insert("skip_through_record_id".into(), mid.to_string());
    let (rest, dead) = decode("evtx", &c, &bytes);
    assert!(dead.is_empty());
    let expected: Vec<u64> = all
        .iter()
        .filter_map(|r| r.evtx_record_id)
        .filter(|&id| id > mid)
        .collect();
    let got: Vec<u64> = rest.iter().filter_map(|r| r.evtx_record_id).collect();
    assert_eq!(got, expected);
    // The header the follower reads: this file is dirty, and its next id follows the last.
    let h = serversage_parsers::windows::evtx::read_file_header(&bytes).unwrap();
    assert!(h.dirty);
    assert_eq!(h.version, (3, 1));
    let last = all.iter().filter_map(|r| r.evtx_record_id).max().unwrap();
    assert!(h.next_record_id <= last + 1, "{h:?} vs last record {last}");
    let ch = serversage_parsers::windows::evtx::read_chunk_header(&bytes[4096..])
        .unwrap()
        .unwrap();
    assert_eq!(ch.first_record_id, all[0].evtx_record_id.unwrap());
}

#[test]
fn winlogbeat_golden_4742() {
    let path = samples("windows/winlogbeat/beats-x-pack-security-4742.evtx.golden.json");
    let (rows, dead) = decode("winlogbeat-json", &ctx(), &std::fs::read(path).unwrap());
    assert!(dead.is_empty(), "{dead:?}");
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.event_id, 4742);
    assert_eq!(r.channel.as_deref(), Some("Security"));
    assert_eq!(
        r.provider.as_deref(),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(
        r.provider_guid.as_deref(),
        Some("{54849625-5478-4994-a5ba-3e3b0328c30d}")
    );
    assert_eq!(r.computer.as_deref(), Some("DC_TEST2k12.TEST.SAAS"));
    assert_eq!(r.host, "DC_TEST2k12.TEST.SAAS");
    assert_eq!(r.record_id, Some(3_699_934));
    assert_eq!((r.process_id, r.thread_id), (Some(492), Some(664)));
    assert_eq!(r.outcome.as_deref(), Some("audit_success"));
    assert_eq!(r.level, Some(0));
    // 2019-12-18T16:22:12.3425087Z, sub-second kept.
    assert_eq!(r.ts, 1_576_686_132_342_508);
    let d: BTreeMap<_, _> = r.data.iter().cloned().collect();
    assert_eq!(d["TargetUserName"], "TESTCOMPUTEROBJ$");
    assert_eq!(
        d["SubjectUserSid"],
        "S-1-5-21-1717121054-434620538-60925301-2794"
    );
    assert_eq!(d["NewUacValue"], "0x84");
    assert_eq!(d["NewUACList"], "ENCRYPTED_TEXT_PWD_ALLOWED");
    assert_eq!(d.len(), 30);
}

#[test]
fn elastic_agent_1102_user_data() {
    let path = samples("windows/winlogbeat/integrations-system-security-test-1102.json");
    let (rows, dead) = decode("winlogbeat-json", &ctx(), &std::fs::read(path).unwrap());
    assert!(dead.is_empty(), "{dead:?}");
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.event_id, 1102);
    assert_eq!(r.user_data_name.as_deref(), Some("LogFileCleared"));
    assert_eq!(
        r.data,
        [
            (
                "SubjectUserSid".to_string(),
                "S-1-5-21-101361758-2486510592-3018839910-500".to_string()
            ),
            ("SubjectUserName".to_string(), "Administrator".to_string()),
            ("SubjectDomainName".to_string(), "WLBEAT".to_string()),
            ("SubjectLogonId".to_string(), "0x50e87".to_string()),
        ]
    );
    // winlog.time_created (the event) wins over @timestamp (when the test pipeline ran).
    assert_eq!(r.ts, 1_573_122_869_055_000);
    assert_eq!(r.record_id, Some(14_224));
    assert_eq!(r.outcome.as_deref(), Some("audit_success"));
}

/// Keyword names Windows renders for the standard bits of `mask` (what Winlogbeat sends).
fn keyword_names(mask: u64) -> Vec<&'static str> {
    [
        (0x0010_0000_0000_0000u64, "Audit Failure"),
        (0x0020_0000_0000_0000, "Audit Success"),
        (0x0080_0000_0000_0000, "Classic"),
        (0x0040_0000_0000_0000, "Correlation Hint"),
    ]
    .into_iter()
    .filter(|(bit, _)| mask & bit != 0)
    .map(|(_, n)| n)
    .collect()
}

fn level_name(level: Option<u32>) -> &'static str {
    match level {
        Some(1) => "critical",
        Some(2) => "error",
        Some(3) => "warning",
        Some(5) => "verbose",
        _ => "information",
    }
}

fn audit(e: &Expected) -> Option<&'static str> {
    let k = e.keywords.unwrap_or(0);
    if k & 0x0010_0000_0000_0000 != 0 {
        Some("AUDIT_FAILURE")
    } else if k & 0x0020_0000_0000_0000 != 0 {
        Some("AUDIT_SUCCESS")
    } else {
        None
    }
}

/// The record as Winlogbeat 8 ships it.
fn winlogbeat_json(e: &Expected, time: &str) -> serde_json::Value {
    let mut winlog = serde_json::json!({
        "api": "wineventlog",
        "event_id": e.event_id.to_string(),
        "record_id": e.event_record_id.unwrap_or(e.record_id),
        "opcode": "Info",
        "keywords": keyword_names(e.keywords.unwrap_or(0)),
    });
    let w = winlog.as_object_mut().unwrap();
    let mut put = |k: &str, v: Option<serde_json::Value>| {
        if let Some(v) = v {
            w.insert(k.to_string(), v);
        }
    };
    put("channel", e.channel.clone().map(Into::into));
    put("provider_name", e.provider.clone().map(Into::into));
    put(
        "provider_guid",
        e.provider_guid
            .as_ref()
            .map(|g| g.to_ascii_lowercase().into()),
    );
    put("computer_name", e.computer.clone().map(Into::into));
    put("version", e.version.map(Into::into));
    put(
        "user",
        e.user_sid
            .clone()
            .map(|s| serde_json::json!({"identifier": s, "type": "User"})),
    );
    let mut process = serde_json::Map::new();
    if let Some(p) = e.process_id {
        process.insert("pid".into(), p.into());
    }
    if let Some(t) = e.thread_id {
        process.insert("thread".into(), serde_json::json!({"id": t}));
    }
    put("process", (!process.is_empty()).then(|| process.into()));
    let data: serde_json::Map<String, serde_json::Value> = e
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    match &e.user_data_name {
        Some(n) => {
            let mut d = data;
            d.insert("xml_name".into(), n.clone().into());
            put("user_data", Some(d.into()));
        }
        None if !data.is_empty() => put("event_data", Some(data.into())),
        None => {}
    }
    serde_json::json!({
        "@timestamp": time,
        "event": {"code": e.event_id.to_string(), "kind": "event"},
        "log": {"level": level_name(e.level)},
        "message": "rendered on the source host",
        "winlog": winlog,
    })
}

/// NXLog's system field names: event data named like one cannot travel in NXLog JSON.
const NXLOG_FIELDS: &[&str] = &[
    "EventTime",
    "Hostname",
    "Keywords",
    "EventType",
    "SeverityValue",
    "Severity",
    "EventID",
    "SourceName",
    "ProviderGuid",
    "Version",
    "Task",
    "TaskValue",
    "OpcodeValue",
    "Opcode",
    "RecordNumber",
    "ActivityID",
    "RelatedActivityID",
    "ExecutionProcessID",
    "ExecutionThreadID",
    "ProcessID",
    "ThreadID",
    "Channel",
    "UserID",
    "Domain",
    "AccountName",
    "AccountType",
    "Category",
    "Message",
    "Level",
    "EventReceivedTime",
    "SourceModuleName",
    "SourceModuleType",
    "ERRORCODE",
];

/// The record as NXLog EE writes it (`to_json()`, ISO time with offset, signed keywords).
fn nxlog_json(e: &Expected, time: &str) -> Option<String> {
    if e.data
        .iter()
        .any(|(k, _)| NXLOG_FIELDS.contains(&k.as_str()))
    {
        return None;
    }
    let mut o = serde_json::Map::new();
    o.insert("EventTime".into(), time.into());
    let mut put = |k: &str, v: Option<serde_json::Value>| {
        if let Some(v) = v {
            o.insert(k.to_string(), v);
        }
    };
    put("Hostname", e.computer.clone().map(Into::into));
    put("Keywords", e.keywords.map(|k| (k as i64).into()));
    let event_type = audit(e).unwrap_or(match e.level {
        Some(1) => "CRITICAL",
        Some(2) => "ERROR",
        Some(3) => "WARNING",
        Some(5) => "VERBOSE",
        _ => "INFO",
    });
    put("EventType", Some(event_type.into()));
    put("SeverityValue", Some(2.into()));
    put("EventID", Some(e.event_id.into()));
    put("SourceName", e.provider.clone().map(Into::into));
    put(
        "ProviderGuid",
        e.provider_guid
            .as_deref()
            .map(|g| g.to_ascii_uppercase().into()),
    );
    put("Version", e.version.map(Into::into));
    put("TaskValue", e.task.map(Into::into));
    put("OpcodeValue", e.opcode.map(Into::into));
    put(
        "RecordNumber",
        Some(e.event_record_id.unwrap_or(e.record_id).into()),
    );
    put("ExecutionProcessID", e.process_id.map(Into::into));
    put("ExecutionThreadID", e.thread_id.map(Into::into));
    put("Channel", e.channel.clone().map(Into::into));
    put("UserID", e.user_sid.clone().map(Into::into));
    put("Category", Some("a task name".into()));
    put("Opcode", Some("Info".into()));
    put("Message", Some("rendered\r\n\ton the source host".into()));
    for (k, v) in &e.data {
        o.insert(k.clone(), v.clone().into());
    }
    o.insert("EventReceivedTime".into(), time.into());
    o.insert("SourceModuleType".into(), "im_msvistalog".into());
    Some(serde_json::to_string(&o).unwrap())
}

/// What a form that sends level names gives for `level`: "information" names both 0
/// (LogAlways) and 4, taken as 0 for an audit event (security audits are level 0) and as
/// 4 otherwise, which is wrong for the few level-4 audit events (1100, 1102).
fn named_level(e: &Expected) -> Option<u32> {
    match level_name(e.level) {
        "information" if audit(e).is_some() => Some(0),
        "information" => Some(4),
        _ => e.level,
    }
}

/// What NXLog's `EventType` gives for `level`: it names the audit outcome instead of the
/// level when the event has one (level 0, as security audits are), else the level.
fn event_type_level(e: &Expected) -> Option<u32> {
    match (audit(e), e.level) {
        (Some(_), _) => Some(0),
        (None, Some(l @ 1..=3 | l @ 5)) => Some(l),
        (None, _) => Some(4),
    }
}

#[test]
fn the_same_records_in_all_four_forms_give_the_same_rows() {
    let files = [
        "security.evtx",
        "system.evtx",
        "sysmon.evtx",
        "MSExchange_Management_wec.evtx",
        "new-user-security.evtx",
        "E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
    ];
    let mut checked = [0usize; 3];
    for file in files {
        let path = samples("windows/evtx").join(file);
        let (evtx_rows, _) = decode("evtx", &ctx(), &std::fs::read(&path).unwrap());
        let reference = reference(&path);
        let xml = reference_xml(&path);
        // One stream per form, in the reference's record order.
        let mut xml_in = String::new();
        let mut wlb_in = String::from("[\n");
        let mut nx_in = String::new();
        let mut nx_ids = Vec::new();
        for (i, e) in reference.records.iter().enumerate() {
            let time = attr_time(&e.json);
            xml_in.push_str(&xml[&e.record_id]);
            xml_in.push('\n');
            if i > 0 {
                wlb_in.push_str(",\n");
            }
            wlb_in.push_str(&serde_json::to_string_pretty(&winlogbeat_json(e, &time)).unwrap());
            if let Some(line) = nxlog_json(e, &time.replace('Z', "+00:00")) {
                nx_in.push_str(&line);
                nx_in.push('\n');
                nx_ids.push(e.record_id);
            }
        }
        wlb_in.push_str("\n]\n");
        let by_id: BTreeMap<u64, &Row> = evtx_rows
            .iter()
            .map(|r| (r.evtx_record_id.unwrap(), r))
            .collect();
        let (xml_rows, e1) = decode("windows-xml", &ctx(), xml_in.as_bytes());
        let (wlb_rows, e2) = decode("winlogbeat-json", &ctx(), wlb_in.as_bytes());
        let (nx_rows, e3) = decode("nxlog-json", &ctx(), nx_in.as_bytes());
        assert!(
            e1.is_empty() && e2.is_empty() && e3.is_empty(),
            "{file}: {e1:?} {e2:?} {e3:?}"
        );
        assert_eq!(xml_rows.len(), reference.records.len(), "{file}");
        assert_eq!(wlb_rows.len(), reference.records.len(), "{file}");
        assert_eq!(nx_rows.len(), nx_ids.len(), "{file}");
        for (r, e) in xml_rows.iter().zip(&reference.records) {
            let base = by_id[&e.record_id];
            let mut want = base.clone();
            want.format = "windows-xml".into();
            want.offset = r.offset;
            want.written_ts = None;
            want.evtx_record_id = None;
            if base.clock == "written" {
                (want.ts, want.clock) = (1, "ingest".into());
            }
            assert_eq!(r, &want, "{file}: XML of record {}", e.record_id);
            checked[0] += 1;
        }
        for (r, e) in wlb_rows.iter().zip(&reference.records) {
            let base = by_id[&e.record_id];
            let mut want = base.clone();
            want.format = "winlogbeat-json".into();
            want.offset = r.offset;
            want.written_ts = None;
            want.evtx_record_id = None;
            want.message = Some("rendered on the source host".into());
            // Not in Winlogbeat's output: the mask, qualifiers, numeric task/opcode, ids of
            // the activity (not set in these records' JSON above).
            want.keywords = None;
            want.qualifiers = None;
            want.task = None;
            want.opcode = None;
            want.activity_id = None;
            want.related_activity_id = None;
            want.level = named_level(e);
            assert_eq!(
                r, &want,
                "{file}: Winlogbeat JSON of record {}",
                e.record_id
            );
            checked[1] += 1;
        }
        for (r, id) in nx_rows.iter().zip(&nx_ids) {
            let base = by_id[id];
            let e = reference
                .records
                .iter()
                .find(|e| e.record_id == *id)
                .unwrap();
            let mut want = base.clone();
            want.format = "nxlog-json".into();
            want.offset = r.offset;
            want.written_ts = None;
            want.evtx_record_id = None;
            want.message = Some("rendered\r\n\ton the source host".into());
            // NXLog flattens UserData like EventData and has no field for qualifiers.
            want.user_data_name = None;
            want.qualifiers = None;
            want.activity_id = None;
            want.related_activity_id = None;
            want.level = event_type_level(e);
            assert_eq!(r, &want, "{file}: NXLog JSON of record {id}");
            checked[2] += 1;
        }
    }
    assert!(checked.iter().all(|&n| n > 4000), "{checked:?}");
}

/// `TimeCreated/@SystemTime` as sent by an agent (µs precision, as both agents keep it).
fn attr_time(json: &serde_json::Value) -> String {
    let t = json["Event"]["System"]["TimeCreated"]["#attributes"]["SystemTime"]
        .as_str()
        .unwrap_or("1601-01-01T00:00:00Z");
    let d = chrono::DateTime::parse_from_rfc3339(t).unwrap();
    d.to_utc().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[test]
fn both_xml_readers_agree_on_every_rendered_sample_record() {
    let mut n = 0;
    for path in evtx_files() {
        for (id, xml) in reference_xml(&path) {
            let name = path.file_name().unwrap().to_string_lossy();
            // The crate's rendering takes the fast reader, which reads it as quick-xml does.
            assert_eq!(
                serversage_parsers::windows::readers_agree(&xml),
                Some(true),
                "{name}: record {id}"
            );
            // As WEF sends it: single quotes, one line; and with a comment, which only the
            // general reader takes.
            let wef = xml.replace('"', "'").replace('\n', "");
            assert_ne!(
                serversage_parsers::windows::readers_agree(&wef),
                Some(false),
                "{name}: {id}"
            );
            let commented = xml.replacen("<System>", "<System><!-- c -->", 1);
            assert_eq!(serversage_parsers::windows::readers_agree(&commented), None);
            n += 1;
        }
    }
    assert!(n > 18_000, "{n}");
}

#[test]
fn template_replay_reads_every_sample_record_as_its_xml_rendering_does() {
    use serversage_parsers::windows::EvtxDecoder;
    let (mut replayed, mut total) = (0, 0);
    for path in evtx_files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let mut fast = EvtxDecoder::new(ctx());
        let (rows, errs) = decode_with(&mut fast, &bytes);
        let (want_rows, want_errs) = decode_with(&mut EvtxDecoder::new(ctx()).xml_only(), &bytes);
        assert_eq!(rows.len(), want_rows.len(), "{name}");
        for (got, want) in rows.iter().zip(&want_rows) {
            assert_eq!(got, want, "{name}: record {:?}", want.evtx_record_id);
        }
        let describe = |e: &[(u64, ParseError)]| -> Vec<String> {
            e.iter().map(|(o, e)| format!("{o}: {e}")).collect()
        };
        assert_eq!(describe(&errs), describe(&want_errs), "{name}");
        replayed += fast.replayed();
        total += rows.len() as u64;
    }
    // Replay must be the usual path, not a rarely taken one.
    eprintln!("{replayed} of {total} records replayed");
    assert!(
        replayed * 10 > total * 9,
        "{replayed} of {total} records replayed"
    );
}
