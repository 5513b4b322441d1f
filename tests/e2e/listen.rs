//! A `listen` source: real Winlogbeat JSON (../shared/samples/windows/winlogbeat, read in
//! place) sent over TCP (twice: at once, and after 3 s of silence on a connection opened
//! early) and POSTed over HTTP to the same port of `serversage run`; the
//! rows in SQL must be what `serversage parse --format winlogbeat-json` gives for the same
//! bytes, malformed records included (as dead letters, and in the HTTP reply's count).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The two samples (a pretty-printed JSON array, an `{"events": [...]}` document), each
/// event also once more as a compact line, and one line that is not an event.
fn payload() -> Vec<u8> {
    let mut out = Vec::new();
    for f in [
        "windows/winlogbeat/beats-x-pack-security-4742.evtx.golden.json",
        "windows/winlogbeat/integrations-system-security-test-1102.json",
    ] {
        let bytes = std::fs::read(shared(f)).unwrap();
        out.extend_from_slice(&bytes);
        out.push(b'\n');
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let events = match &v {
            Value::Array(a) => a.clone(),
            Value::Object(o) => o["events"].as_array().unwrap().clone(),
            _ => unreachable!(),
        };
        for e in events {
            out.extend_from_slice(serde_json::to_string(&e).unwrap().as_bytes());
            out.push(b'\n');
        }
    }
    out.extend_from_slice(b"{\"winlog\": {\"event_id\": \n");
    out
}

/// `serversage parse` of the payload: rows as JSON objects, and the malformed records'
/// offsets.
fn parsed(dir: &Path, bytes: &[u8]) -> (Vec<Value>, Vec<u64>) {
    let f = dir.join("payload.json");
    std::fs::write(&f, bytes).unwrap();
    let out = bin()
        .args(["parse", "--format", "winlogbeat-json", "--host", "h"])
        .arg(&f)
        .output()
        .unwrap();
    let rows = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let malformed = text(&out.stderr)
        .lines()
        .filter_map(|l| l.split(": offset ").nth(1)?.split(':').next()?.parse().ok())
        .collect();
    (rows, malformed)
}

/// The compared columns of a row (parse output or SQL JSON output).
fn key(v: &Value) -> Value {
    let ts = match &v["ts"] {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_micros())
            .ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    serde_json::json!({
        "source_offset": v["source_offset"],
        "ts": ts,
        "event_id": v["event_id"],
        "record_id": v["record_id"],
        "channel": v["channel"],
        "provider": v["provider"],
        "computer": v["computer"],
        "outcome": v["outcome"],
        "user_data_name": v["user_data_name"],
    })
}

fn http_post(port: u16, body: &[u8]) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

#[test]
fn winlogbeat_json_over_tcp_and_http_gives_the_rows_of_parse() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let cfg = dir.path().join("serversage.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"data\"\n[store]\nflush_interval = \"1s\"\n\
             [[sources]]\nname = \"fwd\"\nformat = \"winlogbeat-json\"\nhost = \"h\"\n\
             listen = \"127.0.0.1:{port}\"\npartial_record_timeout = \"300ms\"\n"
        ),
    )
    .unwrap();
    let bytes = payload();
    let (want, want_malformed) = parsed(dir.path(), &bytes);
    assert_eq!(want.len(), 4, "two sample events, twice each");
    assert_eq!(want_malformed.len(), 1, "the cut line");

    let run = Running::start(&cfg);
    // A forwarder that connects early and stays silent for a while is still read.
    let mut early = wait_for(Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("the listener accepts");
    let silent_since = std::time::Instant::now();
    // TCP: one connection, written in small pieces (records cut across reads), then closed.
    let mut s = wait_for(Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("the listener accepts");
    for piece in bytes.chunks(97) {
        s.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(s);
    // HTTP: the same bytes as one POST body.
    let (head, body) = http_post(port, &bytes);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let reply: Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({"events": want.len(), "malformed": want_malformed.len()})
    );
    // Anything but a POST is refused.
    let mut g = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(g, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    g.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 405"), "{resp}");

    std::thread::sleep(Duration::from_secs(3).saturating_sub(silent_since.elapsed()));
    early.write_all(&bytes).unwrap();
    drop(early);

    let streams = 3;
    let total = streams * want.len() as i64;
    let rows = wait_for(Duration::from_secs(30), || {
        if !data.join("windows_events").exists() {
            return None;
        }
        let n = sql_num(&data, "SELECT count(*) FROM windows_events");
        (n >= total).then_some(n)
    });
    let m = run.metrics();
    run.stop();
    assert_eq!(rows, Some(total));
    assert_eq!(
        sql_num(&data, "SELECT count(*) FROM windows_events"),
        total,
        "nothing twice after shutdown"
    );
    let got = sql_rows(
        &data,
        "SELECT source_offset, CAST(ts AS BIGINT) AS ts, event_id, record_id, channel, \
         provider, computer, outcome, user_data_name FROM windows_events \
         ORDER BY source_offset",
    );
    let mut want_keys: Vec<Value> = want.iter().flat_map(|r| [key(r), key(r), key(r)]).collect();
    want_keys.sort_by_key(|v| v["source_offset"].as_u64());
    let got_keys: Vec<Value> = got.iter().map(key).collect();
    assert_eq!(got_keys, want_keys);
    // The malformed line, once per stream, is a dead letter at its offset in the stream.
    let dead = sql_rows(
        &data,
        "SELECT source, format, source_offset FROM dead_letters",
    );
    assert_eq!(
        dead.len(),
        streams as usize * want_malformed.len(),
        "{dead:?}"
    );
    for d in &dead {
        assert_eq!(d["source"], "fwd");
        assert_eq!(d["format"], "winlogbeat-json");
        assert_eq!(d["source_offset"].as_u64(), Some(want_malformed[0]));
    }
    assert_eq!(
        metric(
            &m,
            "serversage_events_parsed_total{source=\"fwd\",kind=\"windows\"}"
        ),
        Some(total as f64),
        "{m}"
    );
}

#[test]
fn rendered_event_xml_over_tcp_gives_the_rows_of_parse() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let cfg = dir.path().join("serversage.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"data\"\n[store]\nflush_interval = \"1s\"\n\
             [[sources]]\nname = \"wef\"\nformat = \"windows-xml\"\n\
             listen = \"127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    // system.evtx as evtx_dump renders it: 1881 events, multi-line XML documents.
    let out = std::process::Command::new("evtx_dump")
        .args(["-o", "xml", "--dont-show-record-number", "-t", "1"])
        .arg(shared("windows/evtx/system.evtx"))
        .output()
        .expect("evtx_dump on PATH (cargo install evtx --version 0.15.1; tests/setup.sh)");
    let bytes = out.stdout;
    let f = dir.path().join("system.xml");
    std::fs::write(&f, &bytes).unwrap();
    let parsed = bin()
        .args(["parse", "--format", "windows-xml", "--host", "h"])
        .arg(&f)
        .output()
        .unwrap();
    let mut want: Vec<(u64, u64)> = text(&parsed.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["source_offset"].as_u64().unwrap(),
                v["record_id"].as_u64().unwrap(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(want.len(), 1881);

    let run = Running::start(&cfg);
    let mut s = wait_for(Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .expect("the listener accepts");
    for piece in bytes.chunks(64 * 1024 + 17) {
        s.write_all(piece).unwrap();
    }
    drop(s);
    let n = wait_for(Duration::from_secs(60), || {
        if !data.join("windows_events").exists() {
            return None;
        }
        let n = sql_num(&data, "SELECT count(*) FROM windows_events");
        (n >= want.len() as i64).then_some(n)
    });
    run.stop();
    assert_eq!(n, Some(want.len() as i64));
    let got: Vec<(u64, u64)> = sql_rows(
        &data,
        "SELECT source_offset, record_id FROM windows_events ORDER BY source_offset",
    )
    .iter()
    .map(|v| {
        (
            v["source_offset"].as_u64().unwrap(),
            v["record_id"].as_u64().unwrap(),
        )
    })
    .collect();
    assert_eq!(got, want);
    assert_eq!(sql_num(&data, "SELECT count(*) FROM dead_letters"), 0);
}

#[test]
fn a_taken_port_stops_run_at_start_naming_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let cfg = dir.path().join("serversage.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = \"data\"\n[[sources]]\nname = \"fwd\"\nformat = \"nxlog-json\"\n\
             listen = \"127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let mut child = bin()
        .args([
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for(Duration::from_secs(30), || child.try_wait().unwrap());
    if status.is_none() {
        let _ = child.kill();
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.is_some_and(|s| !s.success()), "{stderr}");
    assert!(
        stderr.contains(&format!("source `fwd`: cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    drop(taken);
}
