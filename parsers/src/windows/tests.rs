//! Unit tests of the Windows forms: framing and the traps of W2/W6–W8/W10 on small inputs
//! (the real files are read by tests/windows_samples.rs).

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, MapArray, RecordBatch};

use crate::decoder::{self, RecordMeta, SourceContext};
use crate::error::ParseError;

fn ctx() -> SourceContext {
    SourceContext {
        host: "collector".into(),
        source: "test".into(),
        ..Default::default()
    }
}

/// Frames and decodes `input` whole; the batch and the errors.
fn run(format: &str, c: &SourceContext, input: &[u8]) -> (Option<RecordBatch>, Vec<ParseError>) {
    let mut dec = decoder::for_format(format, c).unwrap();
    let mut pos = 0;
    let mut errs = Vec::new();
    while pos < input.len() {
        let n = dec.frame(&input[pos..], true).unwrap();
        let meta = RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 7,
        };
        if let Err(e) = dec.decode(&input[pos..pos + n], &meta) {
            errs.push(e);
        }
        pos += n;
    }
    (dec.finish(), errs)
}

fn s(b: &RecordBatch, col: &str, row: usize) -> Option<String> {
    let a = b.column_by_name(col).unwrap().as_string::<i32>();
    a.is_valid(row).then(|| a.value(row).to_string())
}

fn u32c(b: &RecordBatch, col: &str, row: usize) -> Option<u32> {
    let a = b.column_by_name(col).unwrap().as_primitive::<UInt32Type>();
    a.is_valid(row).then(|| a.value(row))
}

fn u64c(b: &RecordBatch, col: &str, row: usize) -> Option<u64> {
    let a = b.column_by_name(col).unwrap().as_primitive::<UInt64Type>();
    a.is_valid(row).then(|| a.value(row))
}

fn ts(b: &RecordBatch, row: usize) -> i64 {
    b.column_by_name("ts")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>()
        .value(row)
}

fn data(b: &RecordBatch, row: usize) -> Vec<(String, String)> {
    let m: &MapArray = b.column_by_name("event_data").unwrap().as_map();
    if m.is_null(row) {
        return Vec::new();
    }
    let e = m.value(row);
    let k = e.column(0).as_string::<i32>();
    let v = e.column(1).as_string::<i32>();
    (0..e.len())
        .map(|i| (k.value(i).to_string(), v.value(i).to_string()))
        .collect()
}

/// A forwarded 4625 as WEF delivers it: single quotes, one line, RenderingInfo, CR LF as
/// character references.
const WEF_4625: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4625</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='2015-08-23T10:53:26.1378630Z'/><EventRecordID>5281368</EventRecordID><Correlation ActivityID='{a1b2c3d4-0000-1111-2222-333344445555}'/><Execution ProcessID='500' ThreadID='3052'/><Channel>Security</Channel><Computer>dc1.corp.local</Computer><Security/></System><EventData><Data Name='TargetUserName'>Student</Data><Data Name='TargetDomainName'>CORP</Data><Data Name='Status'>0xc000006d</Data><Data Name='WorkstationName'></Data><Data Name='IpAddress'>10.0.0.7</Data></EventData><RenderingInfo Culture='en-US'><Message>An account failed to log on.&#xD;&#xA;&#9;Subject: &lt;x&gt;</Message><Level>Information</Level></RenderingInfo></Event>\n";

#[test]
fn wef_xml_event() {
    let (b, errs) = run("windows-xml", &ctx(), WEF_4625.as_bytes());
    assert!(errs.is_empty(), "{errs:?}");
    let b = b.unwrap();
    assert_eq!(b.num_rows(), 1);
    assert_eq!(u32c(&b, "event_id", 0), Some(4625));
    assert_eq!(u32c(&b, "qualifiers", 0), None);
    assert_eq!(u32c(&b, "level", 0), Some(0));
    assert_eq!(u32c(&b, "task", 0), Some(12544));
    assert_eq!(u64c(&b, "keywords", 0), Some(0x8010_0000_0000_0000));
    assert_eq!(s(&b, "outcome", 0).as_deref(), Some("audit_failure"));
    assert_eq!(u64c(&b, "record_id", 0), Some(5_281_368));
    assert_eq!(u32c(&b, "process_id", 0), Some(500));
    assert_eq!(u32c(&b, "thread_id", 0), Some(3052));
    assert_eq!(s(&b, "channel", 0).as_deref(), Some("Security"));
    assert_eq!(s(&b, "host", 0).as_deref(), Some("dc1.corp.local"));
    assert_eq!(
        s(&b, "provider_guid", 0).as_deref(),
        Some("{54849625-5478-4994-a5ba-3e3b0328c30d}")
    );
    assert_eq!(
        s(&b, "activity_id", 0).as_deref(),
        Some("{a1b2c3d4-0000-1111-2222-333344445555}")
    );
    assert_eq!(s(&b, "user_sid", 0), None);
    assert_eq!(s(&b, "clock", 0).as_deref(), Some("time_created"));
    // 2015-08-23T10:53:26.137863Z
    assert_eq!(ts(&b, 0), 1_440_327_206_137_863);
    assert_eq!(
        data(&b, 0),
        [
            ("TargetUserName".into(), "Student".into()),
            ("TargetDomainName".into(), "CORP".into()),
            ("Status".into(), "0xc000006d".into()),
            ("IpAddress".into(), "10.0.0.7".into()),
        ]
    );
    assert_eq!(
        s(&b, "message", 0).as_deref(),
        Some("An account failed to log on.\r\n\tSubject: <x>")
    );
}

#[test]
fn xml_framing_many_per_line_split_wrapped_and_truncated() {
    let one = WEF_4625.trim_end();
    let split = one
        .replace("</Data><", "</Data>\r\n    <")
        .replace("/><", "/>\r\n  <")
        .replace("</System><", "</System>\r\n<");
    let input = format!(
        "<?xml version=\"1.0\"?>\n<Events>{one}{one}\n{split}\ngarbage line\n<Event xmlns='x'><System><EventID>1</EventID>\n{one}</Events>\n"
    );
    let (b, errs) = run("windows-xml", &ctx(), input.as_bytes());
    let b = b.unwrap();
    assert_eq!(b.num_rows(), 4, "{errs:?}");
    // The truncated event and the garbage line, each alone.
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].reason.contains("not an <Event>"), "{}", errs[0]);
    assert!(errs[1].reason.contains("not closed"), "{}", errs[1]);
    for r in 0..4 {
        assert_eq!(u32c(&b, "event_id", r), Some(4625));
        assert_eq!(data(&b, r).len(), 4);
    }
}

#[test]
fn classic_provider_positional_data_and_user_data() {
    let xml = concat!(
        "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>",
        "<Provider Name=\"Service Control Manager\" Guid=\"{555908d1-a6d7-4695-8e1e-26931d2012f4}\" EventSourceName=\"Service Control Manager\"/>",
        "<EventID Qualifiers=\"49152\">7034</EventID><Level>2</Level><Keywords>0x8080000000000000</Keywords>",
        "<TimeCreated SystemTime=\"1601-01-01T00:00:00.0000000Z\"/><EventRecordID>12</EventRecordID>",
        "<Channel>System</Channel><Computer>web1</Computer><Security UserID=\"S-1-5-18\"/></System>",
        "<EventData><Data>Print Spooler</Data><Data></Data><Data>1</Data><Binary>5300700</Binary></EventData></Event>",
        "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>",
        "<Provider Name=\"Microsoft-Windows-Eventlog\"/><EventID>1102</EventID><Keywords>0x4020000000000000</Keywords>",
        "<TimeCreated SystemTime=\"2019-11-07T10:34:29.055Z\"/><Channel>Security</Channel></System>",
        "<UserData><LogFileCleared xmlns=\"http://manifests.microsoft.com/win/2004/08/windows/eventlog\">",
        "<SubjectUserSid>S-1-5-21-1-500</SubjectUserSid><SubjectUserName>Administrator</SubjectUserName>",
        "<Nested><Inner>x</Inner></Nested></LogFileCleared></UserData></Event>"
    );
    let (b, errs) = run("windows-xml", &ctx(), xml.as_bytes());
    assert!(errs.is_empty(), "{errs:?}");
    let b = b.unwrap();
    assert_eq!(b.num_rows(), 2);
    assert_eq!(u32c(&b, "event_id", 0), Some(7034));
    assert_eq!(u32c(&b, "qualifiers", 0), Some(49152));
    assert_eq!(s(&b, "outcome", 0), None);
    assert_eq!(s(&b, "user_sid", 0).as_deref(), Some("S-1-5-18"));
    // FILETIME 0 is no time: ingest time, and the clock says so.
    assert_eq!(s(&b, "clock", 0).as_deref(), Some("ingest"));
    assert_eq!(ts(&b, 0), 7);
    assert_eq!(
        data(&b, 0),
        [
            ("param1".into(), "Print Spooler".into()),
            ("param3".into(), "1".into()),
            ("Binary".into(), "5300700".into()),
        ]
    );
    assert_eq!(
        s(&b, "user_data_name", 1).as_deref(),
        Some("LogFileCleared")
    );
    assert_eq!(s(&b, "outcome", 1).as_deref(), Some("audit_success"));
    assert_eq!(s(&b, "host", 1).as_deref(), Some("collector"));
    assert_eq!(
        data(&b, 1),
        [
            ("SubjectUserSid".into(), "S-1-5-21-1-500".into()),
            ("SubjectUserName".into(), "Administrator".into()),
            ("Nested.Inner".into(), "x".into()),
        ]
    );
}

/// NXLog CE lines as public fixtures show them (W7): signed keywords, zone-less time,
/// numeric ProcessID, EventData at the top level; and the newer form with execution ids,
/// decimal-string keywords and an offset in the time; and one inside a syslog header.
const NXLOG: &str = concat!(
    r#"{"EventTime":"2017-12-19 17:45:02","Hostname":"fake-hostname","Keywords":-9214364837600034816,"EventType":"AUDIT_SUCCESS","SeverityValue":2,"Severity":"INFO","EventID":4656,"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","Version":1,"Task":12804,"OpcodeValue":0,"RecordNumber":7613465324,"ProcessID":892,"ThreadID":908,"Channel":"Security","AccessReason":"-","AccessMask":"0x2","PrivilegeList":"-","RestrictedSidCount":"0","ProcessName":"C:\\Windows\\System32\\svchost.exe","EventReceivedTime":"2017-12-19 17:52:27","SourceModuleName":"eventlog","SourceModuleType":"im_msvistalog"}"#,
    "\n",
    r#"{"EventTime":"2021-03-31T12:03:46.974060+03:00","Hostname":"hostname3","Keywords":"9232379236109516800","EventType":"AUDIT_SUCCESS","SeverityValue":2,"Severity":"INFO","EventID":4769,"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"54849625-5478-4994-A5BA-3E3B0328C30D","Version":0,"TaskValue":14337,"OpcodeValue":0,"RecordNumber":152410252,"ExecutionProcessID":596,"ExecutionThreadID":1748,"Channel":"Security","Category":"Kerberos Service Ticket Operations","Opcode":"Info","TargetUserName":"user1$@DOMAIN.RU","ServiceName":"SRV1$","Status":"0x0","TransmittedServices":"-","EventReceivedTime":"2021-03-31T12:03:56.514071+03:00","SourceModuleName":"in","SourceModuleType":"im_msvistalog"}"#,
    "\n",
    r#"<14>Dec 13 17:45:02 HOST nxWinEvt[123]: {"EventTime":"2021-04-05 12:11:16","Hostname":"h","EventType":"INFO","EventID":25,"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","ProcessID":11220,"ThreadID":4416,"UserID":"S-1-5-18","ProcessId":"13636","Message":"Process Tampering:\r\nRuleName: -"}"#,
    "\n",
    "{\"EventTime\":\"2021-04-05 12:11:16\",\"EventID\":\n",
);

#[test]
fn nxlog_lines() {
    let mut c = ctx();
    c.options.insert("utc_offset".into(), "+01:00".into());
    let (b, errs) = run("nxlog-json", &c, NXLOG.as_bytes());
    let b = b.unwrap();
    assert_eq!(b.num_rows(), 3);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(u64c(&b, "keywords", 0), Some(0x8020_0000_0000_0000));
    assert_eq!(s(&b, "outcome", 0).as_deref(), Some("audit_success"));
    assert_eq!(u32c(&b, "level", 0), Some(0));
    assert_eq!(u32c(&b, "process_id", 0), Some(892));
    assert_eq!(u32c(&b, "task", 0), Some(12804));
    assert_eq!(u64c(&b, "record_id", 0), Some(7_613_465_324));
    // 2017-12-19 17:45:02 at +01:00 = 16:45:02Z.
    assert_eq!(ts(&b, 0), 1_513_701_902_000_000);
    assert_eq!(s(&b, "clock", 0).as_deref(), Some("time_created_local"));
    assert_eq!(
        data(&b, 0),
        [
            ("AccessReason".into(), "-".into()),
            ("AccessMask".into(), "0x2".into()),
            ("PrivilegeList".into(), "-".into()),
            ("RestrictedSidCount".into(), "0".into()),
            (
                "ProcessName".into(),
                "C:\\Windows\\System32\\svchost.exe".into()
            ),
        ]
    );
    assert_eq!(u32c(&b, "process_id", 1), Some(596));
    assert_eq!(u32c(&b, "task", 1), Some(14337));
    assert_eq!(
        s(&b, "provider_guid", 1).as_deref(),
        Some("{54849625-5478-4994-a5ba-3e3b0328c30d}")
    );
    // 12:03:46.974060+03:00 = 09:03:46.974060Z (2021-03-31)
    assert_eq!(ts(&b, 1), 1_617_181_426_974_060);
    assert_eq!(s(&b, "clock", 1).as_deref(), Some("time_created"));
    assert_eq!(
        s(&b, "channel", 2).as_deref(),
        Some("Microsoft-Windows-Sysmon/Operational")
    );
    assert_eq!(u32c(&b, "level", 2), Some(4));
    assert_eq!(data(&b, 2), [("ProcessId".into(), "13636".into())]);
    assert_eq!(
        s(&b, "message", 2).as_deref(),
        Some("Process Tampering:\r\nRuleName: -")
    );
}

#[test]
fn winlogbeat_lines_and_event_id_forms() {
    let input = concat!(
        r#"{"@timestamp":"2019-12-18T16:22:12.3425087Z","event":{"code":"4625"},"log":{"level":"information"},"winlog":{"event_id":"4625","channel":"Security","keywords":["Audit Failure"],"record_id":42,"process":{"pid":500,"thread":{"id":7}},"event_data":{"TargetUserName":"bob","WorkstationName":"","PrivilegeList":["SeA","SeB"]}}}"#,
        "\n",
        r#"{"@timestamp":"2019-12-18T16:22:13Z","winlog":{"event_id":7036,"channel":"System","provider_name":"Service Control Manager","event_data":{"param1":"Spooler","param2":"running"}},"log":{"level":"information"}}"#,
        "\n",
        r#"{"@timestamp":"2019-12-18T16:22:13Z","winlog":{"channel":"System"}}"#,
        "\n",
    );
    let (b, errs) = run("winlogbeat-json", &ctx(), input.as_bytes());
    let b = b.unwrap();
    assert_eq!(b.num_rows(), 2);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].reason.contains("EventID"));
    assert_eq!(u32c(&b, "event_id", 0), Some(4625));
    assert_eq!(s(&b, "outcome", 0).as_deref(), Some("audit_failure"));
    assert_eq!(u32c(&b, "level", 0), Some(0));
    assert_eq!(u64c(&b, "keywords", 0), None);
    assert_eq!(
        data(&b, 0),
        [
            ("TargetUserName".into(), "bob".into()),
            ("PrivilegeList".into(), "SeA\nSeB".into()),
        ]
    );
    assert_eq!(u32c(&b, "event_id", 1), Some(7036));
    assert_eq!(u32c(&b, "level", 1), Some(4));
}

#[test]
fn options_are_checked() {
    let mut o = std::collections::BTreeMap::new();
    o.insert("utc_offset".to_string(), "+03:00".to_string());
    assert_eq!(super::check_options("nxlog-json", &o), Some(vec![]));
    assert_eq!(super::check_options("evtx", &o).unwrap().len(), 1);
    o.insert("utc_offset".to_string(), "three".to_string());
    assert_eq!(super::check_options("nxlog-json", &o).unwrap().len(), 1);
    assert_eq!(super::check_options("kernel", &o), None);
    let mut e = std::collections::BTreeMap::new();
    e.insert("skip_through_record_id".to_string(), "12".to_string());
    assert_eq!(super::check_options("evtx", &e), Some(vec![]));
}

#[test]
fn evtx_framing_is_positional() {
    use super::evtx::frame;
    let mut file = vec![0u8; 4096 + 65536 * 2];
    file[..8].copy_from_slice(b"ElfFile\0");
    file[4096..4104].copy_from_slice(b"ElfChnk\0");
    assert_eq!(frame(&file, false), Some(4096));
    assert_eq!(frame(&file[4096..], false), Some(65536));
    assert_eq!(frame(&file[4096..4096 + 100], false), None);
    assert_eq!(frame(&file[4096..4096 + 100], true), Some(100));
    // A damaged header magic: the chunk magic 4 KiB on says where the header ends.
    file[..8].copy_from_slice(b"XXXXXXXX");
    assert_eq!(frame(&file, false), Some(4096));
    // A damaged chunk: 64 KiB.
    assert_eq!(frame(&file[4096 + 65536..], false), Some(65536));
    assert_eq!(frame(&file[..100], false), None);
}
