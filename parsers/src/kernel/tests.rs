use super::*;

fn parse(s: &str) -> KernelRecord<'_> {
    parse_record(s.as_bytes(), 2026).unwrap()
}

#[test]
fn dmesg_default() {
    let r = parse("[ 8121.883813] EXT4-fs (sda1): mounted filesystem\n");
    assert_eq!(r.uptime_us, Some(8_121_883_813));
    assert_eq!(r.text, b"EXT4-fs (sda1): mounted filesystem");
    assert_eq!(r.wall_us, None);
}

#[test]
fn dmesg_x_and_raw() {
    let r = parse("kern  :info  : [    0.000000] Command line: x");
    assert_eq!(
        (r.facility_name, r.level_name),
        (Some("kern"), Some("info"))
    );
    assert_eq!(r.uptime_us, Some(0));
    assert_eq!(r.text, b"Command line: x");
    let r = parse("<6>[  754327.005193] e1000e: eth0 NIC Link is Up");
    assert_eq!(r.pri, Some(6));
    assert_eq!(r.uptime_us, Some(754_327_005_193));
}

#[test]
fn dmesg_wall_clock_forms() {
    let r = parse("[Mon Nov 23 12:19:35 2026] Linux version 6.18");
    assert_eq!(
        r.wall_us,
        Some(crate::time::civil_to_us(2026, 11, 23, 12, 19, 35, 0).unwrap())
    );
    assert!(!r.wall_is_syslog);
    assert_eq!(r.text, b"Linux version 6.18");
    let r = parse("2026-11-23T12:19:35,123456+00:00 Linux version 6.18");
    assert_eq!(
        r.wall_us,
        Some(crate::time::civil_to_us(2026, 11, 23, 12, 19, 35, 123_456).unwrap())
    );
    assert_eq!(r.text, b"Linux version 6.18");
}

#[test]
fn dmesg_delta_and_caller() {
    let r = parse("[  303.034235 <    0.000016>] tun: driver");
    assert_eq!(r.uptime_us, Some(303_034_235));
    assert_eq!(r.text, b"tun: driver");
    let r = parse("[  147.467058][T10579] syz-executor846[10579]: segfault at 0");
    assert_eq!(r.caller, Some("T10579"));
    assert_eq!(r.text, b"syz-executor846[10579]: segfault at 0");
}

#[test]
fn syslog_forms() {
    let r = parse("Nov  2 17:10:40 vm kernel: [    0.000000] Linux version 6.1");
    assert!(r.wall_is_syslog);
    assert_eq!(
        r.wall_us,
        Some(crate::time::civil_to_us(2026, 11, 2, 17, 10, 40, 0).unwrap())
    );
    assert_eq!(r.host, Some("vm"));
    assert_eq!(r.uptime_us, Some(0));
    assert_eq!(r.text, b"Linux version 6.1");
    let r = parse("2026-11-22T17:10:40.242860+00:00 vm kernel: [   12.5] usb 1-1: new");
    assert!(r.wall_is_syslog);
    assert_eq!(r.host, Some("vm"));
    assert_eq!(r.uptime_us, Some(12_500_000));
    assert_eq!(r.text, b"usb 1-1: new");
    let r = parse("<5>1 2026-11-22T17:10:40.242860+00:00 vm kernel - - - [    1.000000] hello");
    assert_eq!(r.pri, Some(5));
    assert_eq!(r.host, Some("vm"));
    assert_eq!(r.text, b"hello");
    // Old klogd: no kernel timestamp at all.
    let r = parse("Jul 27 14:41:57 combo kernel: klogd 1.4.1, log source = /proc/kmsg started.");
    assert_eq!(r.uptime_us, None);
    assert_eq!(r.text, b"klogd 1.4.1, log source = /proc/kmsg started.");
}

#[test]
fn no_timestamp_is_plain_text() {
    let r = parse("*** stack smashing detected ***: terminated");
    assert_eq!(r.uptime_us, None);
    assert_eq!(r.wall_us, None);
    assert_eq!(r.text, b"*** stack smashing detected ***: terminated");
}

#[test]
fn errors_carry_offsets() {
    let e = parse_record(b"[ 12.x4] oops", 2026).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadTimestamp);
    assert_eq!(e.offset, 2);
    let e = parse_record(b"[ 1.0] a\0b", 2026).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::NulByte, 8));
    // In a continuation line, and before the first line's end.
    let e = parse_record(b"[ 1.0] a\n  b\0", 2026).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::NulByte, 12));
    let e = parse_record(b"\0[ 1.0] a\n", 2026).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::NulByte, 0));
    let e = parse_record(b"Nov 99 17:10:40 vm kernel: x", 2026).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadTimestamp);
    let e = parse_record(
        b"[   12.000000 never closed .........................................",
        2026,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed);
}

#[test]
fn framing_joins_indented_continuations() {
    let buf = b"[    1.0] first\n               second\n[    2.0] next\n";
    assert_eq!(frame(buf, false), Some(buf.len() - 15));
    let r = parse_record(&buf[..buf.len() - 15], 2026).unwrap();
    assert_eq!(r.continuation, vec![&b"second"[..]]);
    // The end of the buffer could still be followed by a continuation: wait unless eof.
    assert_eq!(frame(b"[    1.0] first\n", false), None);
    assert_eq!(frame(b"[    1.0] first\n", true), Some(16));
    assert_eq!(frame(b"[    1.0] partial", false), None);
    assert_eq!(frame(b"\n[ 1.0] x\n", false), Some(1));
}

#[test]
fn invalid_utf8_is_kept() {
    let rec = b"[ 100.000000] INFO: task syz\xff\xfe:123 blocked for more than 143 seconds.\n";
    let r = parse_record(rec, 2026).unwrap();
    assert_eq!(r.text, &rec[14..rec.len() - 1]);
    assert_eq!(
        Catalogue::builtin().classify(r.text).map(|c| c.class),
        Some("hung_task".into())
    );
}

#[test]
fn padded_caller_id() {
    let r = parse("[ 1052.080846][   T41] INFO: task x:1 blocked");
    assert_eq!(r.caller, Some("T41"));
    assert_eq!(r.text, b"INFO: task x:1 blocked");
    let r = parse("[ 1.0][Tx] text");
    assert_eq!(r.caller, None);
    assert_eq!(r.text, b"[Tx] text");
}

#[test]
fn an_uptime_that_overflows_the_boot_clock_is_not_a_panic() {
    use crate::{Decoder, RecordMeta, SourceContext};
    // Found by the kernel_text fuzz target (fuzz/artifacts/kernel_text/crash-boot-uptime-overflow).
    let ctx = SourceContext {
        boot_time_us: Some(1_795_000_000_000_000),
        ..Default::default()
    };
    let mut dec = KernelDecoder::new(ctx);
    dec.decode(
        b"[9223372036854.775807] x\n",
        &RecordMeta {
            offset: 0,
            ingest_ts_us: 7,
        },
    )
    .unwrap();
    let batch = dec.finish().unwrap();
    let clock = batch.column_by_name("clock").unwrap();
    let clock = clock
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    assert_ne!(clock.value(0), "boot");
}
