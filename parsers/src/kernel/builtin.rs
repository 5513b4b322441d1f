//! The built-in kernel alert catalogue (formats doc K8): one row per wording, most specific
//! first. Each row: class name, default severity (critical = page someone, high = ticket
//! now, medium = trend / rate, low = informational), literal needles (the prefilter: at
//! least one must occur in the message) and a regex whose named groups become facts.
//!
//! Fact names are shared across classes where they mean the same thing: `comm`, `pid`,
//! `cpu`, `secs`, `device`, `sector`, `addr`, `ip`, `object`, `detail`, `count`.

/// One built-in row; see [`super::ClassSpec`] for the owned, user-supplied form.
pub(crate) struct Builtin {
    pub name: &'static str,
    pub severity: &'static str,
    pub needles: &'static [&'static str],
    pub pattern: &'static str,
}

const fn row(
    name: &'static str,
    severity: &'static str,
    needles: &'static [&'static str],
    pattern: &'static str,
) -> Builtin {
    Builtin {
        name,
        severity,
        needles,
        pattern,
    }
}

/// The built-in rows, in matching order.
pub(crate) const BUILTIN: &[Builtin] = &[
    // ---- memory: OOM (a multi-line report, see `reports.rs`) ----
    row(
        "oom_invoked",
        "medium",
        &["invoked oom-killer"],
        r"^(?P<invoker>.+?) invoked oom-killer: gfp_mask=(?P<gfp_mask>0x[0-9a-f]+)(?:\((?P<gfp_flags>[^)]*)\))?, (?:nodemask=(?P<nodemask>[^,]+), )?order=(?P<order>-?\d+), oom_score_adj=(?P<oom_score_adj>-?\d+)",
    ),
    row(
        "oom_kill",
        "high",
        &["Killed process"],
        r"^Memory cgroup out of memory: Killed process (?P<pid>\d+) \((?P<comm>.*)\) total-vm:(?P<total_vm_kb>\d+)kB, anon-rss:(?P<anon_rss_kb>\d+)kB, file-rss:(?P<file_rss_kb>\d+)kB, shmem-rss:(?P<shmem_rss_kb>\d+)kB(?:, UID:(?P<uid>\d+) pgtables:(?P<pgtables_kb>\d+)kB oom_score_adj:(?P<oom_score_adj>-?\d+))?",
    ),
    row(
        "oom_kill",
        "critical",
        &["Killed process"],
        r"^(?:Out of memory: )?Killed process (?P<pid>\d+) \((?P<comm>.*)\),? total-vm:(?P<total_vm_kb>\d+)kB, anon-rss:(?P<anon_rss_kb>\d+)kB, file-rss:(?P<file_rss_kb>\d+)kB(?:, shmem-rss:(?P<shmem_rss_kb>\d+)kB)?(?:, UID:(?P<uid>\d+) pgtables:(?P<pgtables_kb>\d+)kB oom_score_adj:(?P<oom_score_adj>-?\d+))?",
    ),
    row(
        "oom_reaper",
        "low",
        &["reaped process"],
        r"^oom_reaper: reaped process (?P<pid>\d+) \((?P<comm>.*)\), now anon-rss:(?P<anon_rss_kb>\d+)kB, file-rss:(?P<file_rss_kb>\d+)kB, shmem-rss:(?P<shmem_rss_kb>\d+)kB",
    ),
    row(
        "page_alloc_failure",
        "medium",
        &["page allocation failure"],
        r"^(?P<comm>.+?): page allocation failure: order:(?P<order>\d+), mode:(?P<mode>0x[0-9a-f]+)",
    ),
    // ---- user-space crashes ----
    row(
        "segfault",
        "medium",
        &["segfault at"],
        r"^(?P<comm>.+?)\[(?P<pid>\d+)\]: segfault at (?P<addr>[0-9a-f]+) ip (?P<ip>[0-9a-f]+) sp (?P<sp>[0-9a-f]+) error (?P<error>[0-9a-f]+)(?: in (?P<object>[^\[]+)\[[^\]]*\])?(?: likely on CPU (?P<cpu>\d+) \(core (?P<core>\d+), socket (?P<socket>\d+)\))?",
    ),
    row(
        "trap",
        "medium",
        &["traps: "],
        r"^traps: (?P<comm>.+?)\[(?P<pid>\d+)\] (?:trap )?(?P<trap>[a-z][a-z0-9 ]*?) ip:(?P<ip>[0-9a-f]+) sp:(?P<sp>[0-9a-f]+) error:(?P<error>[0-9a-f]+)(?: in (?P<object>[^\[]+)\[[^\]]*\])?",
    ),
    // ---- stalls and lockups ----
    row(
        "hung_task",
        "high",
        &["INFO: task "],
        r"(?s)^INFO: task (?P<comm>.+):(?P<pid>\d+) blocked for more than (?P<secs>\d+) seconds\.",
    ),
    row(
        "soft_lockup",
        "critical",
        &["BUG"],
        r"^(?:NMI )?watchdog: BUG: soft lockup - CPU#(?P<cpu>\d+) stuck for (?P<secs>\d+)s! \[(?P<comm>.+):(?P<pid>\d+)\]",
    ),
    row(
        "hard_lockup",
        "critical",
        &["hard LOCKUP"],
        r"^(?:NMI watchdog|watchdog): (?:Watchdog detected hard LOCKUP on cpu|BUG: hard LOCKUP on cpu) (?P<cpu>\d+)",
    ),
    row(
        "rcu_stall",
        "critical",
        &["detected stall", "detected expedited stall"],
        r"^(?:rcu: )?INFO: rcu_(?P<flavor>sched|preempt|bh) (?P<kind>self-detected|detected) (?:expedited )?stalls? on CPUs?",
    ),
    row(
        "workqueue_lockup",
        "high",
        &["BUG"],
        r"^BUG: workqueue lockup - pool cpus=(?P<cpus>\S+) .*stuck for (?P<secs>\d+)s!",
    ),
    // ---- kernel crashes ----
    row(
        "kernel_panic",
        "critical",
        &["Kernel panic - not syncing"],
        r"^Kernel panic - not syncing: (?P<reason>.*)",
    ),
    row(
        "kernel_panic",
        "critical",
        &["PANIC: "],
        r"^PANIC: (?P<reason>.*)",
    ),
    row(
        "oops",
        "critical",
        &["BUG"],
        r"^BUG: kernel NULL pointer dereference, address: (?P<addr>[0-9a-fx]+)",
    ),
    row(
        "oops",
        "critical",
        &["BUG"],
        r"^BUG: unable to handle (?:kernel )?(?P<what>NULL pointer dereference|paging request|page fault)(?: for address:?| at) (?P<addr>[0-9a-fx]+)",
    ),
    row(
        "oops",
        "critical",
        &["BUG"],
        r"^kernel BUG at (?P<location>[^\s!]+)",
    ),
    row(
        "oops",
        "critical",
        &["general protection fault"],
        r"^(?:Oops: )?general protection fault(?:, probably for non-canonical address (?P<addr>0x[0-9a-f]+))?(?:: (?P<code>[0-9a-f]+)(?: \[#(?P<oops_count>\d+)\])?)?",
    ),
    row(
        "oops",
        "critical",
        &["Oops: "],
        r"^Oops: (?P<code>[0-9a-fx]+) \[#(?P<oops_count>\d+)\]",
    ),
    row(
        "memory_corruption",
        "critical",
        &["BUG", "UBSAN: "],
        r"^(?:BUG: )?(?P<tool>KASAN|KFENCE|KMSAN|UBSAN): (?P<bug>.+?) in (?P<location>\S+)",
    ),
    row(
        "memory_leak",
        "medium",
        &["unreferenced object 0x"],
        r"^unreferenced object (?P<addr>0x[0-9a-f]+) \(size (?P<size>\d+)\):",
    ),
    row(
        "warning",
        "medium",
        &["WARNING: "],
        r"^WARNING: CPU: (?P<cpu>\d+) PID: (?P<pid>\d+) at (?P<location>\S+)(?: (?P<function>[\w.]+))?",
    ),
    row(
        "lockdep",
        "medium",
        &["WARNING: "],
        r"^WARNING: (?P<what>possible circular locking dependency detected|possible recursive locking detected|inconsistent lock state|suspicious RCU usage|bad unlock balance detected!|possible irq lock inversion dependency detected)",
    ),
    row(
        "kernel_bug",
        "high",
        &["BUG"],
        r"^BUG: (?P<what>[^:\n]+?)(?: in (?P<location>\S+))?(?:[:,]|$)",
    ),
    // ---- storage ----
    row(
        "io_error",
        "high",
        &[" error, dev "],
        r"^(?:blk_update_request: |end_request: )?(?P<status>I/O|critical medium|critical target|critical nexus|critical space allocation|recoverable transport|timeout|protection|[\w ]+?) error, dev (?P<device>[^,\s]+), sector (?P<sector>\d+)(?: op 0x[0-9a-f]+:\((?P<op>\w+)\) flags 0x[0-9a-f]+ phys_seg (?P<phys_seg>\d+) prio class \d+)?",
    ),
    row(
        "buffer_io_error",
        "high",
        &["Buffer I/O error"],
        r"^Buffer I/O error on dev(?:ice)? (?P<device>[^,\s]+), logical block (?P<block>\d+)(?:, (?P<what>lost async page write|async page read|lost sync page write))?",
    ),
    row(
        "scsi_error",
        "critical",
        &["Sense Key"],
        r"^sd (?P<hctl>\d+:\d+:\d+:\d+): \[(?P<device>sd\w+)\] (?:tag#\d+ )?Sense Key : (?P<what>Medium Error|Hardware Error)",
    ),
    row(
        "scsi_error",
        "high",
        &["FAILED Result", "timing out command", "offline device"],
        r"^sd (?P<hctl>\d+:\d+:\d+:\d+): \[(?P<device>sd\w+)\] (?:tag#\d+ )?(?P<what>FAILED Result: hostbyte=\w+ driverbyte=\w+|timing out command|rejecting I/O to offline device)",
    ),
    row(
        "ata_error",
        "high",
        &[
            "failed command: ",
            "hard resetting link",
            "SError: ",
            "exception Emask",
        ],
        r"^(?P<device>ata\d+(?:\.\d+)?): (?P<what>failed command: \w+|hard resetting link|SError: .*|exception Emask .*)",
    ),
    row(
        "nvme_error",
        "high",
        &["nvme nvme"],
        r"^nvme nvme(?P<controller>\d+): (?P<what>I/O (?:tag )?(?P<cid>\d+) (?:\(\w+\) )?(?:opcode 0x[0-9a-f]+ \(\w+\) )?QID (?P<qid>\d+) timeout, (?P<action>aborting|reset controller|completion polled|disable controller)|controller is down; will reset: CSTS=0x[0-9a-f]+|Removing after probe failure|Device not ready; aborting reset)",
    ),
    row(
        "nvme_error",
        "high",
        &["I/O Error (sct"],
        r"^(?P<device>nvme\d+n\d+): I/O Cmd\(0x[0-9a-f]+\) @ LBA (?P<lba>\d+), (?P<blocks>\d+) blocks, I/O Error \(sct (?P<sct>0x[0-9a-f]+) / sc (?P<sc>0x[0-9a-f]+)\)",
    ),
    row(
        "md_degraded",
        "critical",
        &["md/raid"],
        r"^md/raid\d+:(?P<md>md\d+): (?:Disk failure on (?P<device>\S+), disabling device|Operation continuing on (?P<devices>\d+) devices)",
    ),
    // ---- file systems ----
    row(
        "fs_readonly",
        "critical",
        &[
            "Remounting filesystem read-only",
            "potential data loss",
            "I/O error to superblock",
        ],
        r"^(?P<fs>EXT[234]-fs) \((?P<device>[^)]+)\): (?P<what>Remounting filesystem read-only|failed to convert unwritten extents.*potential data loss|previous I/O error to superblock detected)",
    ),
    row(
        "fs_readonly",
        "critical",
        &["Aborting journal"],
        r"^Aborting journal on device (?P<device>[^\s.]+(?:\.\S+?)?)\.?$",
    ),
    row(
        "ext4_error",
        "high",
        &["EXT4-fs error"],
        r"^EXT4-fs error \(device (?P<device>[^)]+)\): (?P<function>\w+):(?P<line>\d+): (?:inode #(?P<inode>\d+): )?(?:block (?P<block>\d+): )?(?:comm (?P<comm>.+?): )?(?P<detail>.*)",
    ),
    row(
        "ext4_warning",
        "low",
        &["EXT4-fs warning"],
        r"^EXT4-fs warning \(device (?P<device>[^)]+)\): (?P<function>\w+)",
    ),
    row(
        "ext4_warning",
        "low",
        &["since last fsck"],
        r"^EXT4-fs \((?P<device>[^)]+)\): error count since last fsck: (?P<count>\d+)",
    ),
    row(
        "xfs_error",
        "critical",
        &["XFS ("],
        r#"^XFS \((?P<device>[^)]+)\): (?P<what>Metadata corruption detected at .*|Corruption (?:of in-memory data|detected).*|metadata I/O error in "[^"]+" at daddr 0x[0-9a-f]+ len \d+ error \d+|log I/O error -?\d+|Filesystem has been shut down due to .*|Please unmount the filesystem and rectify the problem\(s\))"#,
    ),
    row(
        "btrfs_error",
        "high",
        &["BTRFS "],
        r"^BTRFS \w+ \(device (?P<device>[^)]+)\): bdev (?P<bdev>\S+) errs: wr (?P<write_errs>\d+), rd (?P<read_errs>\d+), flush (?P<flush_errs>\d+), corrupt (?P<corrupt_errs>\d+), gen (?P<gen_errs>\d+)",
    ),
    row(
        "btrfs_error",
        "high",
        &["BTRFS "],
        r"^BTRFS (?P<level>error|critical|warning) \(device (?P<device>[^)]+)\)(?:: | )(?P<detail>.*)",
    ),
    // ---- hardware ----
    row(
        "mce_fatal",
        "critical",
        &["[Hardware Error]"],
        r"^mce: \[Hardware Error\]: (?:CPU (?P<cpu>\d+): Machine Check Exception: (?P<mcgstatus>[0-9a-f]+) Bank (?P<bank>\d+): (?P<status>[0-9a-f]+)|Machine check: (?P<reason>.*))",
    ),
    row(
        "mce_corrected",
        "medium",
        &["[Hardware Error]"],
        r"^mce: \[Hardware Error\]: (?:Machine check events logged|CPU (?P<cpu>\d+): Machine Check: (?P<mcgstatus>[0-9a-f]+) Bank (?P<bank>\d+): (?P<status>[0-9a-f]+))",
    ),
    row(
        "memory_ecc",
        "critical",
        &["EDAC "],
        r"^EDAC (?P<mc>MC\d+|\w+): (?P<count>\d+) (?P<kind>UE) (?P<detail>.*)",
    ),
    row(
        "memory_ecc",
        "medium",
        &["EDAC "],
        r"^EDAC (?P<mc>MC\d+|\w+): (?P<count>\d+) (?P<kind>CE) (?P<detail>.*)",
    ),
    row(
        "hardware_error",
        "high",
        &["[Hardware Error]"],
        r"^\{(?P<record>\d+)\}\[Hardware Error\]: Hardware error from APEI Generic Hardware Error Source: (?P<source>\d+)",
    ),
    row(
        "memory_failure",
        "high",
        &["Memory failure: "],
        r"^Memory failure: (?P<pfn>0x[0-9a-f]+): (?P<detail>.*)",
    ),
    row(
        "thermal_throttle",
        "medium",
        &["above threshold"],
        r"^(?:mce: )?CPU(?P<cpu>\d+): (?P<scope>Core|Package) temperature (?:is )?above threshold, cpu clock (?:is )?throttled \(total events = (?P<events>\d+)\)",
    ),
    // ---- network ----
    row(
        "netdev_watchdog",
        "high",
        &["NETDEV WATCHDOG"],
        r"^NETDEV WATCHDOG: (?P<device>\S+) \((?P<driver>[^)]+)\): transmit queue (?P<queue>\d+) timed out",
    ),
    row(
        "nic_link_down",
        "high",
        &["ink is ", "link status definitely"],
        r"(?P<device>[^\s:()]+):? (?:\(slave (?P<slave>[^)]+)\): )?(?i:nic link is down|link is down|link status definitely down)",
    ),
    row(
        "nic_link_up",
        "low",
        &["ink is ", "link status definitely"],
        r"(?P<device>[^\s:()]+): Link is Up - (?P<speed>[\d.]+ ?[MG]bps)/(?P<duplex>Full|Half)",
    ),
    row(
        "nic_link_up",
        "low",
        &["ink is ", "link status definitely"],
        r"(?P<device>[^\s:()]+):? (?:\(slave (?P<slave>[^)]+)\): )?(?i:nic link is up|link is up|link status definitely up)(?: (?:at )?(?P<speed>\d+(?:\.\d+)? ?[MG]bps)(?:,? (?P<duplex>Full|Half) Duplex)?)?",
    ),
    row(
        "conntrack_full",
        "critical",
        &["nf_conntrack: table full"],
        r"^nf_conntrack: (?:nf_conntrack: )?table full(?:, | in netns (?P<netns>\d+), )dropping packet",
    ),
    row(
        "syn_flood",
        "medium",
        &["Possible SYN flooding"],
        r"^TCP: (?:request_sock_TCP: |request_sock_TCPv6: )?Possible SYN flooding on port (?:(?P<addr>\S+):)?(?P<port>\d+)\. (?P<action>Sending cookies|Dropping request)",
    ),
    row(
        "tcp_memory_pressure",
        "high",
        &["consider tuning tcp_mem"],
        r"^TCP: out of memory -- consider tuning tcp_mem",
    ),
    row(
        "tcp_orphans",
        "high",
        &["too many orphaned sockets"],
        r"^TCP: too many orphaned sockets",
    ),
    row(
        "socket_memory",
        "high",
        &["ut of socket memory"],
        r"^(?:TCP: )?[Oo]ut of socket memory",
    ),
    row(
        "neighbour_overflow",
        "high",
        &["table overflow"],
        r"(?:^neighbour: (?P<table>\w+): neighbor table overflow!|Neighbour table overflow)",
    ),
    row(
        "netdev_unregister_wait",
        "medium",
        &["unregister_netdevice: waiting"],
        r"^unregister_netdevice: waiting for (?P<device>\S+) to become free\. Usage count = (?P<usage_count>-?\d+)",
    ),
    // ---- security and cgroups ----
    row(
        "apparmor_denied",
        "medium",
        &[r#"apparmor="DENIED""#],
        r#"apparmor="DENIED" operation="(?P<operation>[^"]*)"(?:.*? profile="(?P<profile>[^"]*)")?(?:.*? name="(?P<name>[^"]*)")?(?:.*? pid=(?P<pid>\d+))?(?:.*? comm="(?P<comm>[^"]*)")?(?:.*? requested_mask="(?P<requested_mask>[^"]*)")?"#,
    ),
    row(
        "selinux_denied",
        "medium",
        &["avc:  denied"],
        r#"avc:  denied  \{ (?P<permissions>[^}]+) \} for (?:.*?pid=(?P<pid>\d+))?(?:.*? comm="(?P<comm>[^"]*)")?(?:.*? scontext=(?P<scontext>\S+))?(?:.*? tcontext=(?P<tcontext>\S+))?(?:.*? tclass=(?P<tclass>\S+))?"#,
    ),
    row(
        "audit_loss",
        "high",
        &["audit: backlog limit", "audit_lost="],
        r"^audit: (?:(?P<what>backlog limit exceeded)|audit_lost=(?P<lost>\d+))",
    ),
    row(
        "pids_limit",
        "medium",
        &["fork rejected by pids"],
        r"^cgroup: fork rejected by pids controller in (?P<cgroup>\S+)",
    ),
    // ---- loss of evidence (rate limits) ----
    row(
        "suppressed",
        "medium",
        &[" suppressed"],
        r"^(?P<function>[\w.]+): (?P<count>\d+) callbacks suppressed",
    ),
    row(
        "suppressed",
        "medium",
        &[" suppressed"],
        r"^printk: (?P<comm>.+?): (?P<count>\d+) output lines suppressed due to ratelimiting",
    ),
    row(
        "suppressed",
        "medium",
        &[" suppressed"],
        r"^printk: (?P<count>\d+) messages suppressed",
    ),
    row(
        "suppressed",
        "medium",
        &[" suppressed"],
        r"^(?P<function>Future hung task reports) are suppressed",
    ),
    row(
        "suppressed",
        "medium",
        &["kernel messages"],
        r"^Missed (?P<count>\d+) kernel messages",
    ),
    // ---- boot and shutdown markers ----
    row(
        "boot",
        "low",
        &["Linux version "],
        r"^Linux version (?P<kernel_version>\S+)",
    ),
    row(
        "shutdown",
        "low",
        &["reboot: "],
        r"^reboot: (?P<action>Restarting system|Power down|System halted)",
    ),
];
