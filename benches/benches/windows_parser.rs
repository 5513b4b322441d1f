//! Windows event decoding: frame + parse + append to Arrow (the pipeline's decode stage),
//! in bytes/s and events/s, over in-memory corpora built from the public .evtx samples in
//! `../shared/samples/windows/evtx/` (read at bench time):
//!
//! - `evtx`: the used chunks of the samples that read without a dead letter (each file's
//!   header block, then its chunks that are not all-zero preallocated space, so that skipped
//!   space does not inflate the figure), repeated to 64 MiB;
//! - `evtx-crate-iterate` and `evtx-crate-render-xml`: the same bytes through the evtx
//!   crate alone, chunk by chunk: building each record (the crate's IR), and building plus
//!   rendering it to XML (what the `evtx` decoder then reads). The ceiling of the decoder;
//! - `windows-xml`: the same records as the crate renders them, one event per line as WEF
//!   delivers them; `winlogbeat-json` and `nxlog-json`: the same records shaped as those
//!   agents write them (built here from the decoded rows), one object per line; each ~32 MiB.
//!
//! `cargo bench -p benches --bench windows_parser` (add `-- evtx` to filter). Set
//! `SERVERSAGE_EVTX_SAMPLES` to read the .evtx files from another directory.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, MapArray, RecordBatch};
use benches::decode::{BATCH_ROWS, bench_context, decode_all};
use benches::evtx_corpus::{CHUNK, HEADER, repeat, used_chunks};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use evtx::{EvtxChunkData, ParserSettings};
use serde_json::{Map, Value, json};
use serversage_parsers::SourceContext;
use serversage_parsers::decoder::for_format;

const EVTX_BYTES: usize = 64 << 20;
const TEXT_BYTES: usize = 32 << 20;

fn ctx() -> SourceContext {
    bench_context("windows")
}

/// The chunks of an evtx corpus (header blocks skipped).
fn chunks(corpus: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < corpus.len() {
            let rest = &corpus[pos..];
            if rest.starts_with(b"ElfFile\0") {
                pos += HEADER;
                continue;
            }
            pos += CHUNK;
            return Some(&rest[..CHUNK.min(rest.len())]);
        }
        None
    })
}

/// The crate alone: every record built (and rendered to XML with `render`).
fn crate_pass(corpus: &[u8], render: bool) -> u64 {
    let settings = Arc::new(ParserSettings::default().indent(false));
    let mut n = 0;
    for c in chunks(corpus) {
        let mut data = EvtxChunkData::new(c.to_vec(), false).expect("a clean chunk");
        let mut chunk = data.parse(Arc::clone(&settings)).expect("a clean chunk");
        for r in chunk.iter() {
            let r = r.expect("a clean record");
            if render {
                black_box(r.into_xml_bytes().expect("renders"));
            } else {
                black_box(&r);
            }
            n += 1;
        }
    }
    n
}

/// The rows of one pass of `format` over `input`, all of them.
fn decode_rows(format: &str, input: &[u8]) -> Vec<RecordBatch> {
    let mut dec = for_format(format, &ctx()).expect("decoder");
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let n = dec.frame(&input[pos..], true).unwrap();
        let meta = serversage_parsers::RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 0,
        };
        dec.decode(&input[pos..pos + n], &meta)
            .expect("clean input");
        pos += n;
    }
    out.extend(dec.finish());
    out
}

/// The records as the crate renders them, one event per line as WEF sends them.
fn xml_lines(corpus: &[u8]) -> Vec<u8> {
    let settings = Arc::new(ParserSettings::default().indent(false));
    let mut out = Vec::new();
    for c in chunks(corpus) {
        let mut data = EvtxChunkData::new(c.to_vec(), false).unwrap();
        let mut chunk = data.parse(Arc::clone(&settings)).unwrap();
        for r in chunk.iter() {
            let x = r.unwrap().into_xml_bytes().unwrap().data;
            let start = x.windows(6).position(|w| w == b"<Event").unwrap();
            out.extend_from_slice(&x[start..]);
            out.push(b'\n');
        }
    }
    out
}

/// Decoded rows shaped as Winlogbeat (`nxlog` false) or NXLog (`nxlog` true) JSON lines.
fn agent_lines(batches: &[RecordBatch], nxlog: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for b in batches {
        let s = |c: &str, i: usize| {
            let a = b.column_by_name(c).unwrap().as_string::<i32>();
            a.is_valid(i).then(|| Value::from(a.value(i)))
        };
        let u32c = |c: &str, i: usize| {
            let a = b.column_by_name(c).unwrap().as_primitive::<UInt32Type>();
            a.is_valid(i).then(|| Value::from(a.value(i)))
        };
        let u64c = |c: &str, i: usize| {
            let a = b.column_by_name(c).unwrap().as_primitive::<UInt64Type>();
            a.is_valid(i).then(|| a.value(i))
        };
        let ts = b
            .column_by_name("ts")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        let m: &MapArray = b.column_by_name("event_data").unwrap().as_map();
        for i in 0..b.num_rows() {
            let mut data = Map::new();
            if m.is_valid(i) {
                let e = m.value(i);
                let (k, v) = (
                    e.column(0).as_string::<i32>(),
                    e.column(1).as_string::<i32>(),
                );
                for j in 0..e.len() {
                    data.insert(k.value(j).into(), v.value(j).into());
                }
            }
            let secs = ts.value(i).div_euclid(1_000_000);
            let time = format!(
                "{}.{:06}Z",
                chrono_like(secs),
                ts.value(i).rem_euclid(1_000_000)
            );
            let v = if nxlog {
                let mut o = data;
                for (k, v) in [
                    ("EventTime", Some(Value::from(time))),
                    ("Hostname", s("computer", i)),
                    (
                        "Keywords",
                        u64c("keywords", i).map(|k| Value::from(k as i64)),
                    ),
                    ("EventType", Some("INFO".into())),
                    ("EventID", u32c("event_id", i)),
                    ("SourceName", s("provider", i)),
                    ("ProviderGuid", s("provider_guid", i)),
                    ("TaskValue", u32c("task", i)),
                    ("RecordNumber", u64c("record_id", i).map(Value::from)),
                    ("ExecutionProcessID", u32c("process_id", i)),
                    ("ExecutionThreadID", u32c("thread_id", i)),
                    ("Channel", s("channel", i)),
                ] {
                    if let Some(v) = v {
                        o.insert(k.into(), v);
                    }
                }
                Value::Object(o)
            } else {
                json!({
                    "@timestamp": time,
                    "event": {"code": u32c("event_id", i), "kind": "event"},
                    "log": {"level": "information"},
                    "winlog": {
                        "event_id": u32c("event_id", i).map(|v| v.to_string()),
                        "channel": s("channel", i), "provider_name": s("provider", i),
                        "provider_guid": s("provider_guid", i), "computer_name": s("computer", i),
                        "record_id": u64c("record_id", i),
                        "process": {"pid": u32c("process_id", i), "thread": {"id": u32c("thread_id", i)}},
                        "keywords": ["Audit Success"], "opcode": "Info",
                        "event_data": data,
                    },
                })
            };
            out.extend_from_slice(serde_json::to_string(&v).unwrap().as_bytes());
            out.push(b'\n');
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS` of epoch seconds (Howard Hinnant's civil_from_days).
fn chrono_like(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

struct Input {
    name: &'static str,
    format: &'static str,
    bytes: Vec<u8>,
    events: u64,
}

fn inputs() -> Vec<Input> {
    let unit = used_chunks();
    let evtx = repeat(&unit, EVTX_BYTES);
    let unit_rows = decode_rows("evtx", &unit);
    let xml = repeat(&xml_lines(&unit), TEXT_BYTES);
    let wlb = repeat(&agent_lines(&unit_rows, false), TEXT_BYTES);
    let nx = repeat(&agent_lines(&unit_rows, true), TEXT_BYTES);
    let mut v = vec![
        Input {
            name: "evtx",
            format: "evtx",
            bytes: evtx,
            events: 0,
        },
        Input {
            name: "windows-xml",
            format: "windows-xml",
            bytes: xml,
            events: 0,
        },
        Input {
            name: "winlogbeat-json",
            format: "winlogbeat-json",
            bytes: wlb,
            events: 0,
        },
        Input {
            name: "nxlog-json",
            format: "nxlog-json",
            bytes: nx,
            events: 0,
        },
    ];
    // Check once, outside the timing, that the benches measure parsing, not dead letters.
    for i in &mut v {
        let mut dec = for_format(i.format, &ctx()).unwrap();
        let got = decode_all(dec.as_mut(), &i.bytes, BATCH_ROWS);
        assert!(
            got.errors.is_empty(),
            "{}: {:?}",
            i.name,
            got.errors.first()
        );
        i.events = got.rows;
        eprintln!("{}: {} bytes, {} events", i.name, i.bytes.len(), got.rows);
    }
    v
}

fn decode_pass(format: &str, input: &[u8]) -> u64 {
    let mut dec = for_format(format, &ctx()).expect("decoder");
    decode_all(dec.as_mut(), input, BATCH_ROWS).rows
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
}

fn decode_stage(c: &mut Criterion) {
    let inputs = inputs();
    let evtx = &inputs[0];
    for (group_name, bytes) in [
        ("windows_decode_bytes", true),
        ("windows_decode_events", false),
    ] {
        let mut group = c.benchmark_group(group_name);
        configure(&mut group);
        for i in &inputs {
            group.throughput(if bytes {
                Throughput::Bytes(i.bytes.len() as u64)
            } else {
                Throughput::Elements(i.events)
            });
            group.bench_function(i.name, |b| {
                b.iter(|| decode_pass(i.format, black_box(&i.bytes)))
            });
        }
        group.throughput(if bytes {
            Throughput::Bytes(evtx.bytes.len() as u64)
        } else {
            Throughput::Elements(evtx.events)
        });
        group.bench_function("evtx-crate-iterate", |b| {
            b.iter(|| crate_pass(black_box(&evtx.bytes), false))
        });
        group.bench_function("evtx-crate-render-xml", |b| {
            b.iter(|| crate_pass(black_box(&evtx.bytes), true))
        });
        group.finish();
    }
}

criterion_group!(benches, decode_stage);
criterion_main!(benches);
