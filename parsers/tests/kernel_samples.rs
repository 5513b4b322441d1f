//! The kernel decoder over real logs: syzkaller console logs (read in place from
//! ../shared/samples, never copied), this machine's dmesg in sample-logs/, and small
//! captures of this machine's /dev/kmsg and `dmesg --json` in tests/fixtures/.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, MapArray, RecordBatch};
use serversage_parsers::decoder::for_format;
use serversage_parsers::{RecordMeta, SourceContext};

#[derive(Debug, Clone)]
struct Ev {
    class: Option<String>,
    severity: Option<String>,
    facts: BTreeMap<String, String>,
    message: String,
    raw: Option<Vec<u8>>,
    caller: Option<String>,
    seq: Option<u64>,
    device: Option<String>,
    subsystem: Option<String>,
    clock: String,
}

impl Ev {
    fn fact(&self, k: &str) -> &str {
        self.facts
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no fact {k} in {:?} ({})", self.facts, self.message))
    }
}

fn ctx() -> SourceContext {
    SourceContext {
        host: "h".into(),
        source: "s".into(),
        boot_time_us: None,
        boot_id: None,
        default_year: 2026,
        ..Default::default()
    }
}

fn rows(b: &RecordBatch) -> Vec<Ev> {
    let s = |name: &str, i: usize| {
        let c = b.column_by_name(name).unwrap().as_string::<i32>();
        c.is_valid(i).then(|| c.value(i).to_string())
    };
    let facts = b
        .column_by_name("facts")
        .unwrap()
        .as_any()
        .downcast_ref::<MapArray>()
        .unwrap();
    let raw = b.column_by_name("message_raw").unwrap().as_binary::<i32>();
    let seq = b
        .column_by_name("seq")
        .unwrap()
        .as_primitive::<UInt64Type>();
    (0..b.num_rows())
        .map(|i| {
            let mut f = BTreeMap::new();
            if facts.is_valid(i) {
                let e = facts.value(i);
                let k = e.column(0).as_string::<i32>();
                let v = e.column(1).as_string::<i32>();
                for j in 0..e.len() {
                    f.insert(k.value(j).to_string(), v.value(j).to_string());
                }
            }
            Ev {
                class: s("class", i),
                severity: s("severity", i),
                facts: f,
                message: s("message", i).unwrap(),
                raw: raw.is_valid(i).then(|| raw.value(i).to_vec()),
                caller: s("caller", i),
                seq: seq.is_valid(i).then(|| seq.value(i)),
                device: s("device", i),
                subsystem: s("subsystem", i),
                clock: s("clock", i).unwrap(),
            }
        })
        .collect()
}

/// Decodes `input` in `format`, in batches of `batch` rows; every record must parse.
fn decode(format: &str, input: &[u8], ctx: &SourceContext, batch: usize) -> Vec<Ev> {
    let (evs, errors) = decode_lossy(format, input, ctx, batch);
    assert!(errors.is_empty(), "{format}: {:?}", errors.first());
    evs
}

/// Like [`decode`], returning the parse errors (dead letters) instead of failing on them.
fn decode_lossy(
    format: &str,
    input: &[u8],
    ctx: &SourceContext,
    batch: usize,
) -> (Vec<Ev>, Vec<serversage_parsers::ParseError>) {
    let mut errors = Vec::new();
    let mut dec = for_format(format, ctx).unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let n = dec.frame(&input[pos..], true).unwrap();
        let meta = RecordMeta {
            offset: pos as u64,
            ingest_ts_us: 7,
        };
        if let Err(e) = dec.decode(&input[pos..pos + n], &meta) {
            errors.push(e);
        }
        pos += n;
        if dec.pending_rows() >= batch {
            out.extend(rows(&dec.finish().unwrap()));
        }
    }
    if let Some(b) = dec.finish() {
        out.extend(rows(&b));
    }
    (out, errors)
}

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A syzkaller report's console output: everything after the first blank line.
fn syz(n: u32) -> Vec<Ev> {
    let (evs, errors) = syz_lossy(n);
    assert!(errors.is_empty(), "{n}: {:?}", errors.first());
    evs
}

fn syz_lossy(n: u32) -> (Vec<Ev>, Vec<serversage_parsers::ParseError>) {
    let p = repo_path(&format!(
        "../../shared/samples/kernel/syzkaller-reports/{n}"
    ));
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let start = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(0, |i| i + 2);
    decode_lossy("kernel", &bytes[start..], &ctx(), 1 << 20)
}

fn classified<'a>(evs: &'a [Ev], class: &str) -> Vec<&'a Ev> {
    evs.iter()
        .filter(|e| e.class.as_deref() == Some(class))
        .collect()
}

fn one<'a>(evs: &'a [Ev], class: &str) -> &'a Ev {
    let c = classified(evs, class);
    assert!(!c.is_empty(), "no {class}");
    c[0]
}

#[test]
fn syz_264_soft_lockup() {
    let evs = syz(264);
    let e = one(&evs, "soft_lockup");
    assert_eq!(e.severity.as_deref(), Some("critical"));
    assert_eq!(
        (e.fact("cpu"), e.fact("secs"), e.fact("comm"), e.fact("pid")),
        ("1", "134", "syz-executor4", "4588")
    );
    assert!(e.facts.contains_key("kernel_version"), "{:?}", e.facts);
}

#[test]
fn syz_rcu_stalls() {
    let e = syz(277);
    let r = one(&e, "rcu_stall");
    assert_eq!(
        (r.fact("flavor"), r.fact("kind")),
        ("sched", "self-detected")
    );
    let e = syz(145);
    let r = one(&e, "rcu_stall");
    assert_eq!((r.fact("flavor"), r.fact("kind")), ("sched", "detected"));
}

#[test]
fn syz_334_oom_invoked_then_panic() {
    let evs = syz(334);
    let e = one(&evs, "oom_invoked");
    assert_eq!(e.fact("invoker"), "syz-executor642");
    assert_eq!(e.fact("gfp_mask"), "0x6202c2");
    assert_eq!(e.fact("gfp_flags"), "GFP_HIGHUSER|__GFP_NOWARN");
    assert_eq!((e.fact("order"), e.fact("oom_score_adj")), ("0", "1000"));
    let p = one(&evs, "kernel_panic");
    assert_eq!(
        p.fact("reason"),
        "corrupted stack end detected inside scheduler"
    );
}

#[test]
fn syz_23_netdev_watchdog_and_warning() {
    let evs = syz(23);
    let w = one(&evs, "warning");
    assert_eq!(
        (w.fact("cpu"), w.fact("pid"), w.fact("location")),
        ("0", "0", "net/sched/sch_generic.c:316")
    );
    assert_eq!(w.fact("function"), "dev_watchdog");
    let n = one(&evs, "netdev_watchdog");
    assert_eq!(
        (n.fact("device"), n.fact("driver"), n.fact("queue")),
        ("eth0", "e1000", "0")
    );
    assert_eq!(n.device.as_deref(), Some("eth0"));
}

#[test]
fn syz_5_io_error() {
    let evs = syz(5);
    let e = one(&evs, "io_error");
    assert_eq!(
        (e.fact("status"), e.fact("device"), e.fact("sector")),
        ("I/O", "loop0", "0")
    );
    let k = one(&evs, "memory_corruption");
    assert_eq!(k.fact("tool"), "KASAN");
    assert_eq!(k.fact("bug"), "double-free or invalid-free");
}

#[test]
fn syz_620_segfaults_with_callers() {
    let (evs, errors) = syz_lossy(620);
    // The console also caught binary garbage with NUL bytes: dead letters, nothing else.
    assert!(
        errors
            .iter()
            .all(|e| e.kind == serversage_parsers::ErrorKind::NulByte)
    );
    let segv = classified(&evs, "segfault");
    assert!(segv.len() >= 5, "{}", segv.len());
    let first = segv[0];
    assert_eq!(first.caller.as_deref(), Some("T10579"));
    assert_eq!(
        (
            first.fact("comm"),
            first.fact("pid"),
            first.fact("addr"),
            first.fact("ip"),
            first.fact("error"),
            first.fact("object")
        ),
        (
            "syz-executor846",
            "10579",
            "4cb420",
            "00000000004cb420",
            "15",
            "syz-executor846382544"
        )
    );
    assert!(
        segv.iter()
            .all(|e| e.caller.as_deref().is_some_and(|c| c.starts_with('T')))
    );
    // Userspace lines interleaved on the console are rows too, unclassified.
    assert!(
        evs.iter()
            .any(|e| e.message.contains("stack smashing detected") && e.class.is_none())
    );
    // The report's non-UTF-8 bytes are all on those NUL-laden lines (kept whole as dead
    // letters by the pipeline).
    assert!(!errors.is_empty());
}

#[test]
fn syz_1001_hung_task_split_comm() {
    let evs = syz(1001);
    let h = one(&evs, "hung_task");
    assert_eq!(h.caller.as_deref(), Some("T41"));
    assert_eq!((h.fact("pid"), h.fact("secs")), ("18088", "143"));
    assert!(h.fact("comm").contains('\n'), "{:?}", h.fact("comm"));
    assert!(h.fact("comm").contains('!'), "{:?}", h.fact("comm"));
    assert_eq!(h.fact("tainted"), "GL");
    assert!(h.facts.contains_key("blocked_in"), "{:?}", h.facts);
}

#[test]
fn syz_176_and_221_hung_tasks() {
    let evs = syz(176);
    let h = one(&evs, "hung_task");
    assert!(h.facts.contains_key("blocked_in"), "{:?}", h.facts);
    let evs = syz(221);
    assert_eq!(
        one(&evs, "kernel_panic").fact("reason"),
        "hung_task: blocked tasks"
    );
}

#[test]
fn syz_233_unregister_netdevice() {
    let evs = syz(233);
    let e = one(&evs, "netdev_unregister_wait");
    assert_eq!((e.fact("device"), e.fact("usage_count")), ("lo", "5"));
}

#[test]
fn syz_oops_reports() {
    let evs = syz(10);
    let e = one(&evs, "oops");
    assert_eq!(
        (e.fact("what"), e.fact("addr")),
        ("paging request", "00000000ffffff8a")
    );
    // The `Oops: …` line right after the header is folded into it, not counted twice.
    assert_eq!(classified(&evs, "oops").len(), 1);
    let evs = syz(12);
    let e = one(&evs, "oops");
    assert_eq!((e.fact("code"), e.fact("oops_count")), ("0000", "1"));
    assert!(e.facts.contains_key("task_comm"), "{:?}", e.facts);
    one(&syz(450), "oops");
    assert_eq!(
        one(&syz(313), "kernel_panic").fact("reason"),
        "double fault, error_code: 0x0"
    );
    one(&syz(152), "lockdep");
    // kmemleak (the console's `BUG: memory leak` lines are syz-manager's, not the kernel's).
    let leaks = syz(151);
    let l = one(&leaks, "memory_leak");
    assert_eq!(
        (l.fact("addr"), l.fact("size")),
        ("0xffff88007658a9e0", "944")
    );
}

#[test]
fn syz_317_normal_boot_raises_nothing_urgent() {
    let evs = syz(317);
    assert!(evs.len() > 1000);
    let urgent: Vec<_> = evs
        .iter()
        .filter(|e| matches!(e.severity.as_deref(), Some("critical" | "high")))
        .map(|e| (&e.class, &e.message))
        .collect();
    assert!(urgent.is_empty(), "{urgent:#?}");
}

#[test]
fn this_machine_dmesg_oom_and_segfault() {
    let bytes = std::fs::read(repo_path("../sample-logs/kernel/dmesg.log")).unwrap();
    // Small batches: the report spans several batches and must still come together.
    let evs = decode("kernel", &bytes, &ctx(), 16);
    let kills = classified(&evs, "oom_kill");
    assert_eq!(kills.len(), 1);
    let k = kills[0];
    assert_eq!(k.severity.as_deref(), Some("high"), "memcg OOM");
    assert_eq!((k.fact("pid"), k.fact("comm")), ("21671", "python3"));
    assert_eq!(k.fact("constraint"), "CONSTRAINT_MEMCG");
    assert_eq!(k.fact("task_memcg"), "/ssdemo");
    assert_eq!(k.fact("oom_memcg"), "/ssdemo");
    assert_eq!(k.fact("anon_rss_kb"), "40576");
    assert_eq!(k.fact("invoker"), "python3");
    assert_eq!((k.fact("gfp_mask"), k.fact("order")), ("0xcc0", "0"));
    assert_eq!(k.fact("memcg_limit_kb"), "40960");
    assert_eq!(classified(&evs, "oom_invoked").len(), 1);
    let s = one(&evs, "segfault");
    assert_eq!(
        (
            s.fact("comm"),
            s.fact("pid"),
            s.fact("object"),
            s.fact("cpu")
        ),
        ("segv-demo", "21581", "segv-demo", "0")
    );
    let b = one(&evs, "boot");
    assert!(b.fact("kernel_version").starts_with("6.18"));
    // Nothing else of the boot is urgent.
    assert!(
        evs.iter()
            .filter(|e| matches!(e.severity.as_deref(), Some("critical")))
            .count()
            == 0
    );
}

#[test]
fn this_machine_kmsg_capture() {
    let bytes = std::fs::read(repo_path("tests/fixtures/kmsg-capture.txt")).unwrap();
    let mut c = ctx();
    c.boot_time_us = Some(1_795_000_000_000_000);
    c.boot_id = Some("2f1c0a34-0d3e-4c55-9a51-4b8bbd0c2a11".into());
    let evs = decode("kmsg", &bytes, &c, 1 << 20);
    assert!(evs.iter().all(|e| e.seq.is_some() && e.clock == "boot"));
    let acpi = evs
        .iter()
        .find(|e| e.subsystem.as_deref() == Some("acpi"))
        .unwrap();
    assert_eq!(acpi.device.as_deref(), Some("+acpi:PNP0A08:00"));
    assert!(evs.iter().any(|e| e.message.starts_with("rcu: \tRCU")));
    let bytes_row = evs
        .iter()
        .find(|e| e.message.contains("ssdemo: bytes"))
        .unwrap();
    assert_eq!(
        bytes_row.raw.as_deref().unwrap(),
        b"ssdemo: bytes \xff\xfe ctl\x01 tab\there utf8 \xc3\xa9 backslash \\ quote \" end"
    );
    let k = one(&evs, "oom_kill");
    assert_eq!(k.fact("task_memcg"), "/ssdemo");
    assert_eq!(k.fact("constraint"), "CONSTRAINT_MEMCG");
    one(&evs, "segfault");
    one(&evs, "boot");
}

#[test]
fn this_machine_dmesg_json_capture() {
    let bytes = std::fs::read(repo_path("tests/fixtures/dmesg-capture.json")).unwrap();
    let evs = decode("dmesg-json", &bytes, &ctx(), 1 << 20);
    assert!(evs.len() > 10);
    assert!(evs.iter().all(|e| e.clock == "ingest"));
    let bytes_row = evs
        .iter()
        .find(|e| e.message.contains("ssdemo: bytes"))
        .unwrap();
    assert_eq!(
        bytes_row.raw.as_deref().unwrap(),
        b"ssdemo: bytes \xff\xfe ctl\x01 tab\there utf8 \xc3\xa9 backslash \\ quote \" end"
    );
    let k = one(&evs, "oom_kill");
    assert_eq!(k.fact("anon_rss_kb"), "40576");
    assert_eq!(k.fact("task_memcg"), "/ssdemo");
}

#[test]
fn oom_report_interleaved_by_caller_in_kmsg() {
    // Two tasks' OOM reports interleave; each kill gets its own report's facts.
    let input = b"4,10,1000,-,caller=T1;a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
4,11,1001,-,caller=T2;b invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=2, oom_score_adj=0\n\
6,12,1002,-,caller=T1;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/x,task=va,pid=100,uid=0\n\
6,13,1003,-,caller=T2;oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/b,task=vb,pid=200,uid=0\n\
3,14,1004,-,caller=T2;Out of memory: Killed process 200 (vb) total-vm:10kB, anon-rss:5kB, file-rss:1kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0\n\
3,15,1005,-,caller=T1;Memory cgroup out of memory: Killed process 100 (va) total-vm:10kB, anon-rss:7kB, file-rss:1kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0\n";
    let evs = decode("kmsg", input, &ctx(), 2);
    assert_eq!(evs.len(), 6);
    let kills = classified(&evs, "oom_kill");
    assert_eq!(kills.len(), 2);
    let (b, a) = (kills[0], kills[1]);
    assert_eq!(
        (b.fact("invoker"), b.fact("order"), b.fact("pid")),
        ("b", "2", "200")
    );
    assert_eq!(b.severity.as_deref(), Some("critical"));
    assert_eq!(
        (b.fact("constraint"), b.fact("task_memcg")),
        ("CONSTRAINT_NONE", "/b")
    );
    assert_eq!(
        (a.fact("invoker"), a.fact("task_memcg"), a.fact("oom_memcg")),
        ("a", "/a/x", "/a")
    );
    assert_eq!(a.fact("constraint"), "CONSTRAINT_MEMCG");
    // The middle lines stay unclassified rows.
    assert!(evs[2].class.is_none() && evs[3].class.is_none());
    assert_eq!(evs[4].seq, Some(14));
}

#[test]
fn journald_json_clock_and_fields() {
    let boot = "01234567-89ab-cdef-0123-456789abcdef";
    let input = br#"{"MESSAGE":"usb 1-1: new","PRIORITY":"6","SYSLOG_FACILITY":"0","_SOURCE_MONOTONIC_TIMESTAMP":"1500000","__REALTIME_TIMESTAMP":"1795367440242860","_BOOT_ID":"0123456789abcdef0123456789abcdef","_HOSTNAME":"vm","_KERNEL_SUBSYSTEM":"usb","_KERNEL_DEVICE":"+usb:1-1"}
{"MESSAGE":[115,121,122,91,49,93,58,32,115,101,103,102,97,117,108,116,32,97,116,32,48,32,105,112,32,49,32,115,112,32,50,32,101,114,114,111,114,32,52,255],"PRIORITY":"6","__REALTIME_TIMESTAMP":"1795367440242861","_BOOT_ID":"ffffffffffffffffffffffffffffffff"}
"#;
    let mut c = ctx();
    c.boot_time_us = Some(1_795_000_000_000_000);
    c.boot_id = Some(boot.into());
    let evs = decode("journald-json", input, &c, 100);
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].clock, "boot");
    assert_eq!(evs[0].device.as_deref(), Some("+usb:1-1"));
    assert_eq!(evs[0].subsystem.as_deref(), Some("usb"));
    // Another boot: the configured boot time does not apply; reception time does.
    assert_eq!(evs[1].clock, "journal");
    assert_eq!(evs[1].class.as_deref(), Some("segfault"));
    assert_eq!(
        evs[1].raw.as_deref().map(|r| r.last().copied()),
        Some(Some(0xff))
    );
}

#[test]
fn oops_header_collects_its_report() {
    let input = b"[   10.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008\n\
[   10.000001] #PF: supervisor read access in kernel mode\n\
[   10.000002] Oops: 0000 [#1] PREEMPT SMP NOPTI\n\
[   10.000003] CPU: 3 PID: 812 Comm: modprobe Tainted: G           OE      6.1.0-13-amd64 #1 Debian 6.1.55-1\n\
[   10.000004] ---[ end trace 0000000000000000 ]---\n\
[   11.000000] Oops: 0002 [#2] SMP\n";
    let evs = decode("kernel", input, &ctx(), 100);
    let oops = classified(&evs, "oops");
    // The header and, after the report ended, a second, separate Oops.
    assert_eq!(oops.len(), 2);
    let h = oops[0];
    assert_eq!(h.fact("addr"), "0000000000000008");
    assert_eq!(h.fact("oops"), "Oops: 0000 [#1] PREEMPT SMP NOPTI");
    assert_eq!(
        (h.fact("task_comm"), h.fact("task_pid"), h.fact("task_cpu")),
        ("modprobe", "812", "3")
    );
    assert_eq!(
        (h.fact("tainted"), h.fact("kernel_version")),
        ("GOE", "6.1.0-13-amd64")
    );
    assert!(evs[2].class.is_none());
    assert_eq!(oops[1].fact("oops_count"), "2");
}
