//! Every built-in class, with the exact facts it extracts.

use super::*;

fn check(line: &str, class: &str, severity: &str, facts: &[(&str, &str)]) {
    let c = Catalogue::builtin()
        .classify(line.as_bytes())
        .unwrap_or_else(|| panic!("unclassified: {line}"));
    assert_eq!((&*c.class, c.severity), (class, severity), "{line}");
    let got: Vec<(&str, &str)> = c.facts.iter().map(|(k, v)| (&**k, v.as_str())).collect();
    assert_eq!(got, facts, "{line}");
    agrees_with_regex(c.row, line.as_bytes());
}

/// The row's capture program finds what the regex crate finds (match or not, every group's
/// span) on `line` and on variants of it: cut short, cut at the front, a byte replaced.
fn agrees_with_regex(row: usize, line: &[u8]) {
    let row = &Catalogue::builtin().rows[row];
    let p = row.program.as_ref().expect("built-in rows compile");
    let mut variants = vec![line.to_vec()];
    for at in 0..line.len() {
        variants.push(line[..at].to_vec());
        variants.push(line[at..].to_vec());
        for b in [b'x', b' ', b':', b'0', 0xff] {
            let mut v = line.to_vec();
            v[at] = b;
            variants.push(v);
        }
    }
    let mut slots = vec![super::capture::NONE; p.slot_count()];
    for v in &variants {
        let want = row.regex.captures(v);
        let got = match (&want, p.finds_start()) {
            (_, true) => p.captures(v, &mut slots),
            (Some(c), false) => p.captures_at(v, c.get(0).unwrap().start(), &mut slots),
            (None, false) => continue,
        };
        let shown = String::from_utf8_lossy(v);
        assert_eq!(got, Ok(want.is_some()), "{}: {shown}", row.name);
        for (g, m) in want.iter().flat_map(|c| c.iter().enumerate()) {
            let span =
                (slots[2 * g] != super::capture::NONE).then(|| slots[2 * g]..slots[2 * g + 1]);
            assert_eq!(
                span,
                m.map(|m| m.range()),
                "{} group {g}: {shown}",
                row.name
            );
        }
    }
}

#[test]
fn memory() {
    check(
        "python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "oom_invoked",
        "medium",
        &[
            ("invoker", "python3"),
            ("gfp_mask", "0xcc0"),
            ("gfp_flags", "GFP_KERNEL"),
            ("order", "0"),
            ("oom_score_adj", "0"),
        ],
    );
    check(
        "Out of memory: Killed process 4242 (java) total-vm:8000000kB, anon-rss:6000000kB, file-rss:1200kB, shmem-rss:0kB, UID:1000 pgtables:12000kB oom_score_adj:0",
        "oom_kill",
        "critical",
        &[
            ("pid", "4242"),
            ("comm", "java"),
            ("total_vm_kb", "8000000"),
            ("anon_rss_kb", "6000000"),
            ("file_rss_kb", "1200"),
            ("shmem_rss_kb", "0"),
            ("uid", "1000"),
            ("pgtables_kb", "12000"),
            ("oom_score_adj", "0"),
        ],
    );
    check(
        "Memory cgroup out of memory: Killed process 21671 (python3) total-vm:50488kB, anon-rss:40576kB, file-rss:6604kB, shmem-rss:0kB, UID:0 pgtables:140kB oom_score_adj:0",
        "oom_kill",
        "high",
        &[
            ("pid", "21671"),
            ("comm", "python3"),
            ("total_vm_kb", "50488"),
            ("anon_rss_kb", "40576"),
            ("file_rss_kb", "6604"),
            ("shmem_rss_kb", "0"),
            ("uid", "0"),
            ("pgtables_kb", "140"),
            ("oom_score_adj", "0"),
        ],
    );
    check(
        "oom_reaper: reaped process 4242 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
        "oom_reaper",
        "low",
        &[
            ("pid", "4242"),
            ("comm", "java"),
            ("anon_rss_kb", "0"),
            ("file_rss_kb", "0"),
            ("shmem_rss_kb", "0"),
        ],
    );
    check(
        "kworker/u16:3: page allocation failure: order:4, mode:0x40cc0(GFP_KERNEL|__GFP_COMP), nodemask=(null)",
        "page_alloc_failure",
        "medium",
        &[
            ("comm", "kworker/u16:3"),
            ("order", "4"),
            ("mode", "0x40cc0"),
        ],
    );
    check(
        "unreferenced object 0xffff88007658a9e0 (size 944):",
        "memory_leak",
        "medium",
        &[("addr", "0xffff88007658a9e0"), ("size", "944")],
    );
}

#[test]
fn user_crashes() {
    check(
        "segv-demo[21581]: segfault at 10 ip 00005593a6225139 sp 00007ffc2a161bc0 error 4 in segv-demo[1139,5593a6225000+1000] likely on CPU 0 (core 0, socket 0)",
        "segfault",
        "medium",
        &[
            ("comm", "segv-demo"),
            ("pid", "21581"),
            ("addr", "10"),
            ("ip", "00005593a6225139"),
            ("sp", "00007ffc2a161bc0"),
            ("error", "4"),
            ("object", "segv-demo"),
            ("cpu", "0"),
            ("core", "0"),
            ("socket", "0"),
        ],
    );
    check(
        "traps: a.out[1234] trap invalid opcode ip:401136 sp:7ffd6b0c6f00 error:0 in a.out[401000+1000]",
        "trap",
        "medium",
        &[
            ("comm", "a.out"),
            ("pid", "1234"),
            ("trap", "invalid opcode"),
            ("ip", "401136"),
            ("sp", "7ffd6b0c6f00"),
            ("error", "0"),
            ("object", "a.out"),
        ],
    );
    check(
        "traps: node[99] general protection fault ip:7f00 sp:7ffc error:0 in libc.so.6[7f00+1000]",
        "trap",
        "medium",
        &[
            ("comm", "node"),
            ("pid", "99"),
            ("trap", "general protection fault"),
            ("ip", "7f00"),
            ("sp", "7ffc"),
            ("error", "0"),
            ("object", "libc.so.6"),
        ],
    );
}

#[test]
fn stalls_and_crashes() {
    check(
        "INFO: task jbd2/sda1-8:312 blocked for more than 122 seconds.",
        "hung_task",
        "high",
        &[("comm", "jbd2/sda1-8"), ("pid", "312"), ("secs", "122")],
    );
    check(
        "watchdog: BUG: soft lockup - CPU#1 stuck for 134s! [syz-executor4:4588]",
        "soft_lockup",
        "critical",
        &[
            ("cpu", "1"),
            ("secs", "134"),
            ("comm", "syz-executor4"),
            ("pid", "4588"),
        ],
    );
    check(
        "NMI watchdog: Watchdog detected hard LOCKUP on cpu 3",
        "hard_lockup",
        "critical",
        &[("cpu", "3")],
    );
    check(
        "rcu: INFO: rcu_preempt self-detected stall on CPU",
        "rcu_stall",
        "critical",
        &[("flavor", "preempt"), ("kind", "self-detected")],
    );
    check(
        "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!",
        "workqueue_lockup",
        "high",
        &[("cpus", "0"), ("secs", "31")],
    );
    check(
        "Kernel panic - not syncing: Fatal machine check",
        "kernel_panic",
        "critical",
        &[("reason", "Fatal machine check")],
    );
    check(
        "BUG: kernel NULL pointer dereference, address: 0000000000000008",
        "oops",
        "critical",
        &[("addr", "0000000000000008")],
    );
    check(
        "kernel BUG at fs/ext4/inode.c:1234!",
        "oops",
        "critical",
        &[("location", "fs/ext4/inode.c:1234")],
    );
    check(
        "Oops: general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT SMP KASAN NOPTI",
        "oops",
        "critical",
        &[
            ("addr", "0xdffffc0000000000"),
            ("code", "0000"),
            ("oops_count", "1"),
        ],
    );
    check(
        "BUG: KASAN: use-after-free in tcp_retransmit_timer+0x2a/0x1f0",
        "memory_corruption",
        "critical",
        &[
            ("tool", "KASAN"),
            ("bug", "use-after-free"),
            ("location", "tcp_retransmit_timer+0x2a/0x1f0"),
        ],
    );
    check(
        "WARNING: CPU: 0 PID: 0 at net/sched/sch_generic.c:316 dev_watchdog+0x648/0x770",
        "warning",
        "medium",
        &[
            ("cpu", "0"),
            ("pid", "0"),
            ("location", "net/sched/sch_generic.c:316"),
            ("function", "dev_watchdog"),
        ],
    );
    check(
        "WARNING: possible circular locking dependency detected",
        "lockdep",
        "medium",
        &[("what", "possible circular locking dependency detected")],
    );
    check(
        "BUG: scheduling while atomic: swapper/0/0/0x00000002",
        "kernel_bug",
        "high",
        &[("what", "scheduling while atomic")],
    );
}

#[test]
fn storage() {
    check(
        "blk_update_request: I/O error, dev sdb, sector 123456 op 0x1:(WRITE) flags 0x800 phys_seg 4 prio class 0",
        "io_error",
        "high",
        &[
            ("status", "I/O"),
            ("device", "sdb"),
            ("sector", "123456"),
            ("op", "WRITE"),
            ("phys_seg", "4"),
        ],
    );
    check(
        "critical space allocation error, dev dm-3, sector 8 op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 2",
        "io_error",
        "high",
        &[
            ("status", "critical space allocation"),
            ("device", "dm-3"),
            ("sector", "8"),
            ("op", "WRITE"),
            ("phys_seg", "1"),
        ],
    );
    check(
        "Buffer I/O error on dev sdb1, logical block 0, lost async page write",
        "buffer_io_error",
        "high",
        &[
            ("device", "sdb1"),
            ("block", "0"),
            ("what", "lost async page write"),
        ],
    );
    check(
        "sd 2:0:0:0: [sdb] tag#5 Sense Key : Medium Error [current]",
        "scsi_error",
        "critical",
        &[
            ("hctl", "2:0:0:0"),
            ("device", "sdb"),
            ("what", "Medium Error"),
        ],
    );
    check(
        "sd 2:0:0:0: [sdb] tag#5 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_OK cmd_age=0s",
        "scsi_error",
        "high",
        &[
            ("hctl", "2:0:0:0"),
            ("device", "sdb"),
            (
                "what",
                "FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_OK",
            ),
        ],
    );
    check(
        "ata1.00: failed command: READ FPDMA QUEUED",
        "ata_error",
        "high",
        &[("device", "ata1.00"), ("what", "failed command: READ")],
    );
    check(
        "nvme nvme0: I/O 123 QID 4 timeout, aborting",
        "nvme_error",
        "high",
        &[
            ("controller", "0"),
            ("what", "I/O 123 QID 4 timeout, aborting"),
            ("cid", "123"),
            ("qid", "4"),
            ("action", "aborting"),
        ],
    );
    check(
        "nvme0n1: I/O Cmd(0x2) @ LBA 1000, 8 blocks, I/O Error (sct 0x2 / sc 0x81) MORE DNR",
        "nvme_error",
        "high",
        &[
            ("device", "nvme0n1"),
            ("lba", "1000"),
            ("blocks", "8"),
            ("sct", "0x2"),
            ("sc", "0x81"),
        ],
    );
    check(
        "md/raid1:md0: Disk failure on sdb1, disabling device.",
        "md_degraded",
        "critical",
        &[("md", "md0"), ("device", "sdb1")],
    );
}

#[test]
fn file_systems() {
    check(
        "EXT4-fs error (device sda1): ext4_lookup:1785: inode #1234: comm ls: deleted inode referenced: 5678",
        "ext4_error",
        "high",
        &[
            ("device", "sda1"),
            ("function", "ext4_lookup"),
            ("line", "1785"),
            ("inode", "1234"),
            ("comm", "ls"),
            ("detail", "deleted inode referenced: 5678"),
        ],
    );
    check(
        "EXT4-fs (sda1): Remounting filesystem read-only",
        "fs_readonly",
        "critical",
        &[
            ("fs", "EXT4-fs"),
            ("device", "sda1"),
            ("what", "Remounting filesystem read-only"),
        ],
    );
    check(
        "Aborting journal on device sda1-8.",
        "fs_readonly",
        "critical",
        &[("device", "sda1-8")],
    );
    check(
        "EXT4-fs (vdb): error count since last fsck: 7",
        "ext4_warning",
        "low",
        &[("device", "vdb"), ("count", "7")],
    );
    check(
        "XFS (dm-0): Filesystem has been shut down due to log error (0x2).",
        "xfs_error",
        "critical",
        &[
            ("device", "dm-0"),
            (
                "what",
                "Filesystem has been shut down due to log error (0x2).",
            ),
        ],
    );
    check(
        "BTRFS error (device sdc): bdev /dev/sdc errs: wr 1, rd 2, flush 0, corrupt 3, gen 0",
        "btrfs_error",
        "high",
        &[
            ("device", "sdc"),
            ("bdev", "/dev/sdc"),
            ("write_errs", "1"),
            ("read_errs", "2"),
            ("flush_errs", "0"),
            ("corrupt_errs", "3"),
            ("gen_errs", "0"),
        ],
    );
}

#[test]
fn hardware() {
    check(
        "mce: [Hardware Error]: CPU 2: Machine Check Exception: 5 Bank 4: b200000000070f0f",
        "mce_fatal",
        "critical",
        &[
            ("cpu", "2"),
            ("mcgstatus", "5"),
            ("bank", "4"),
            ("status", "b200000000070f0f"),
        ],
    );
    check(
        "mce: [Hardware Error]: Machine check events logged",
        "mce_corrected",
        "medium",
        &[],
    );
    check(
        "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x12345)",
        "memory_ecc",
        "medium",
        &[
            ("mc", "MC0"),
            ("count", "1"),
            ("kind", "CE"),
            (
                "detail",
                "memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x12345)",
            ),
        ],
    );
    check(
        "EDAC MC1: 1 UE memory scrubbing error on DIMM_A1",
        "memory_ecc",
        "critical",
        &[
            ("mc", "MC1"),
            ("count", "1"),
            ("kind", "UE"),
            ("detail", "memory scrubbing error on DIMM_A1"),
        ],
    );
    check(
        "{1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 0",
        "hardware_error",
        "high",
        &[("record", "1"), ("source", "0")],
    );
    check(
        "Memory failure: 0x12345: recovery action for dirty LRU page: Recovered",
        "memory_failure",
        "high",
        &[
            ("pfn", "0x12345"),
            ("detail", "recovery action for dirty LRU page: Recovered"),
        ],
    );
    check(
        "mce: CPU3: Package temperature above threshold, cpu clock throttled (total events = 1234)",
        "thermal_throttle",
        "medium",
        &[("cpu", "3"), ("scope", "Package"), ("events", "1234")],
    );
}

#[test]
fn network() {
    check(
        "NETDEV WATCHDOG: eth0 (e1000): transmit queue 0 timed out",
        "netdev_watchdog",
        "high",
        &[("device", "eth0"), ("driver", "e1000"), ("queue", "0")],
    );
    check(
        "e1000e 0000:00:19.0 eth0: NIC Link is Down",
        "nic_link_down",
        "high",
        &[("device", "eth0")],
    );
    check(
        "r8169 0000:02:00.0 enp2s0: Link is Down",
        "nic_link_down",
        "high",
        &[("device", "enp2s0")],
    );
    check(
        "bond0: (slave eth1): link status definitely down, disabling slave",
        "nic_link_down",
        "high",
        &[("device", "bond0"), ("slave", "eth1")],
    );
    check(
        "igb 0000:01:00.0 eth0: igb: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX",
        "nic_link_up",
        "low",
        &[
            ("device", "eth0"),
            ("speed", "1000 Mbps"),
            ("duplex", "Full"),
        ],
    );
    check(
        "r8169 0000:02:00.0 enp2s0: Link is Up - 1Gbps/Full - flow control rx/tx",
        "nic_link_up",
        "low",
        &[("device", "enp2s0"), ("speed", "1Gbps"), ("duplex", "Full")],
    );
    check(
        "nf_conntrack: nf_conntrack: table full, dropping packet",
        "conntrack_full",
        "critical",
        &[],
    );
    check(
        "nf_conntrack: table full in netns 4026532289, dropping packet",
        "conntrack_full",
        "critical",
        &[("netns", "4026532289")],
    );
    check(
        "TCP: request_sock_TCP: Possible SYN flooding on port [::]:443. Sending cookies.  Check SNMP counters.",
        "syn_flood",
        "medium",
        &[
            ("addr", "[::]"),
            ("port", "443"),
            ("action", "Sending cookies"),
        ],
    );
    check(
        "TCP: out of memory -- consider tuning tcp_mem",
        "tcp_memory_pressure",
        "high",
        &[],
    );
    check("TCP: too many orphaned sockets", "tcp_orphans", "high", &[]);
    check("Out of socket memory", "socket_memory", "high", &[]);
    check(
        "neighbour: arp_cache: neighbor table overflow!",
        "neighbour_overflow",
        "high",
        &[("table", "arp_cache")],
    );
    check(
        "unregister_netdevice: waiting for lo to become free. Usage count = 5",
        "netdev_unregister_wait",
        "medium",
        &[("device", "lo"), ("usage_count", "5")],
    );
}

#[test]
fn security_loss_and_markers() {
    check(
        r#"audit: type=1400 audit(1700000000.123:45): apparmor="DENIED" operation="open" class="file" profile="docker-default" name="/etc/shadow" pid=4321 comm="cat" requested_mask="r" denied_mask="r" fsuid=0 ouid=0"#,
        "apparmor_denied",
        "medium",
        &[
            ("operation", "open"),
            ("profile", "docker-default"),
            ("name", "/etc/shadow"),
            ("pid", "4321"),
            ("comm", "cat"),
            ("requested_mask", "r"),
        ],
    );
    check(
        r#"audit: type=1400 audit(1700000000.1:2): avc:  denied  { read } for  pid=812 comm="httpd" name="index.html" dev="sda1" ino=123 scontext=system_u:system_r:httpd_t:s0 tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=0"#,
        "selinux_denied",
        "medium",
        &[
            ("permissions", "read"),
            ("pid", "812"),
            ("comm", "httpd"),
            ("scontext", "system_u:system_r:httpd_t:s0"),
            ("tcontext", "unconfined_u:object_r:user_home_t:s0"),
            ("tclass", "file"),
        ],
    );
    check(
        "audit: audit_lost=12 audit_rate_limit=0 audit_backlog_limit=64",
        "audit_loss",
        "high",
        &[("lost", "12")],
    );
    check(
        "cgroup: fork rejected by pids controller in /kubepods.slice/pod1.slice",
        "pids_limit",
        "medium",
        &[("cgroup", "/kubepods.slice/pod1.slice")],
    );
    check(
        "blk_print_req_error: 15 callbacks suppressed",
        "suppressed",
        "medium",
        &[("function", "blk_print_req_error"), ("count", "15")],
    );
    check(
        "printk: python3: 15 output lines suppressed due to ratelimiting",
        "suppressed",
        "medium",
        &[("comm", "python3"), ("count", "15")],
    );
    check(
        "Linux version 6.18.44-fc-v669 (builder@sandboxing) (gcc (GCC) 15.3.0) #1 SMP",
        "boot",
        "low",
        &[("kernel_version", "6.18.44-fc-v669")],
    );
    check(
        "reboot: Restarting system",
        "shutdown",
        "low",
        &[("action", "Restarting system")],
    );
    check(
        "reboot: Power down",
        "shutdown",
        "low",
        &[("action", "Power down")],
    );
}

#[test]
fn ordinary_lines_are_not_classified() {
    let cat = Catalogue::builtin();
    for l in [
        "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
        "usb 1-1: new high-speed USB device number 2 using xhci_hcd",
        "XFS (dm-0): Mounting V5 Filesystem",
        "nvme nvme0: 4/0/0 default/read/poll queues",
        "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready",
        "[Firmware Bug]: TSC doesn't count with P0 frequency!",
        "EDAC MC: Ver: 3.0.0",
        "ata1: SATA link up 6.0 Gbps (SStatus 133 SControl 300)",
    ] {
        assert_eq!(cat.classify(l.as_bytes()).map(|c| c.class), None, "{l}");
    }
}

#[test]
fn user_rows_come_first_and_bad_ones_are_named() {
    let spec = ClassSpec {
        name: "my_driver_fault".into(),
        severity: "high".into(),
        needles: vec!["mydrv".into()],
        pattern: r"^mydrv (?P<unit>\d+): fault (?P<code>0x[0-9a-f]+)".into(),
    };
    let cat = Catalogue::with(std::slice::from_ref(&spec)).unwrap();
    let c = cat.classify(b"mydrv 3: fault 0x1f").unwrap();
    assert_eq!((&*c.class, c.severity), ("my_driver_fault", "high"));
    assert_eq!((c.fact("unit"), c.fact("code")), (Some("3"), Some("0x1f")));
    // Built-in classes still work behind it.
    assert!(cat.classify(b"Kernel panic - not syncing: x").is_some());
    // A row without needles is always tried.
    let any = ClassSpec {
        needles: vec![],
        ..spec.clone()
    };
    let cat = Catalogue::with(&[any]).unwrap();
    assert!(cat.classify(b"mydrv 3: fault 0x1f").is_some());
    // Errors name the row.
    let bad = ClassSpec {
        pattern: "(unclosed".into(),
        ..spec.clone()
    };
    let e = Catalogue::with(&[bad]).unwrap_err();
    assert!(
        e.contains("my_driver_fault") && e.contains("(unclosed"),
        "{e}"
    );
    let bad = ClassSpec {
        severity: "urgent".into(),
        ..spec.clone()
    };
    assert!(Catalogue::with(&[bad]).unwrap_err().contains("severity"));
    let bad = ClassSpec {
        name: "has space".into(),
        ..spec
    };
    assert!(Catalogue::with(&[bad]).unwrap_err().contains("name"));
    assert!(Catalogue::builtin().class_names().len() >= 30);
}

#[test]
fn start_gated_rows_keep_needle_semantics() {
    let row = |needles: &[&str], pattern: &str| ClassSpec {
        name: "mine".into(),
        severity: "low".into(),
        needles: needles.iter().map(|n| n.to_string()).collect(),
        pattern: pattern.into(),
    };
    // Anchored: selected by its start, but the needle must still occur.
    let cat = Catalogue::from_specs([row(&["bar"], r"^foo (?P<x>\d+)")]).unwrap();
    assert!(cat.classify(b"foo 1").is_none());
    assert_eq!(cat.classify(b"foo 1 bar").unwrap().fact("x"), Some("1"));
    assert!(cat.classify(b"xfoo 1 bar").is_none());
    // Case-insensitive starts, and a start with many spellings.
    let cat = Catalogue::from_specs([row(&[], r"(?i)^foo[0-9a-f]{2} (?P<x>\w+)")]).unwrap();
    assert_eq!(cat.classify(b"FoOa9 z").unwrap().fact("x"), Some("z"));
    assert!(cat.classify(b"foog9 z").is_none());
    // `(?m)^` is not a start anchor: a later line matches.
    let cat = Catalogue::from_specs([row(&[], r"(?m)^foo (?P<x>\d+)")]).unwrap();
    assert_eq!(cat.classify(b"x\nfoo 2").unwrap().fact("x"), Some("2"));
    // Only some branches anchored: selected by needles, matched anywhere.
    let cat = Catalogue::from_specs([row(&["foo"], r"^bar|foo (?P<x>\d+)")]).unwrap();
    assert_eq!(cat.classify(b"x foo 3").unwrap().fact("x"), Some("3"));
}
