//! Deterministic synthetic kernel logs for benches and tests.
//!
//! The mix is modelled on real `dmesg` output and on kernel console logs: mostly ordinary
//! driver, network, storage and file-system lines that name a subsystem and a device, about
//! 1% of lines that report problems (OOM kills, segfaults, I/O errors, hung tasks, soft
//! lockups, link down, file-system errors: [`INTERESTING_CLASSES`]), a few multi-line records (dmesg form only; continuation
//! lines are indented with 15 spaces, the width of `[ssssss.uuuuuu] `), and now and then a
//! byte that is not valid UTF-8. Timestamps only move forward. The same seed always gives
//! the same bytes, on every platform: the generator has its own PRNG (splitmix64).
//!
//! The built-in catalogue also classifies routine events that ordinary lines carry (link up,
//! AppArmor denials, the pids limit, SYN flooding: [`ORDINARY_CLASSIFIED`]), so about 19% of
//! records get a class in all; [`expected_classified_share`] gives the exact expectation.
//!
//! Every record written is one the kernel parser accepts and none is blank, so
//! [`CorpusStats::records`] is exactly the number of rows the kernel decoder produces.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

/// `write!` into a `Vec<u8>`, which cannot fail.
macro_rules! put {
    ($buf:expr, $($arg:tt)*) => {{
        let _ = write!($buf, $($arg)*);
    }};
}

/// The text form the corpus is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelForm {
    /// `dmesg`: `[ 1234.567890] text`, with multi-line records.
    Dmesg,
    /// `dmesg --time-format=iso`: `2026-11-23T12:19:35,123456+00:00 text`.
    DmesgIso,
    /// rsyslog's kern.log (RSYSLOG_FileFormat):
    /// `2026-11-22T17:10:40.242860+00:00 host kernel: [   12.345678] text`.
    KernLog,
    /// `/dev/kmsg` records (`cat /dev/kmsg > f`): `6,1234,12345678,-;text`, bytes below
    /// 0x20, from 0x7f and `\` escaped as `\xNN`. Read with the `kmsg` decoder.
    Kmsg,
}

impl KernelForm {
    /// All forms, for benches that cover each one.
    pub const ALL: [KernelForm; 4] = [
        KernelForm::Dmesg,
        KernelForm::DmesgIso,
        KernelForm::KernLog,
        KernelForm::Kmsg,
    ];

    /// Short name, as accepted by [`FromStr`] and used as a bench id.
    pub fn name(self) -> &'static str {
        match self {
            KernelForm::Dmesg => "dmesg",
            KernelForm::DmesgIso => "dmesg-iso",
            KernelForm::KernLog => "kern-log",
            KernelForm::Kmsg => "kmsg",
        }
    }

    /// The decoder format (`decoder::for_format`) that reads this form.
    pub fn format(self) -> &'static str {
        match self {
            KernelForm::Kmsg => "kmsg",
            _ => "kernel",
        }
    }
}

impl fmt::Display for KernelForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KernelForm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "dmesg" => Ok(KernelForm::Dmesg),
            "dmesg-iso" | "iso" => Ok(KernelForm::DmesgIso),
            "kern-log" | "kernlog" | "syslog" => Ok(KernelForm::KernLog),
            "kmsg" => Ok(KernelForm::Kmsg),
            other => Err(format!(
                "unknown kernel form `{other}` (expected dmesg, dmesg-iso, kern-log or kmsg)"
            )),
        }
    }
}

/// What [`kernel_corpus`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CorpusStats {
    /// Bytes written.
    pub bytes: u64,
    /// Records written: rows the kernel decoder will produce (a multi-line record is one).
    pub records: u64,
}

/// Wall-clock time of the first record: 2026-11-22T17:10:40Z, µs since the epoch.
pub const BASE_WALL_US: i64 = 1_795_367_440_000_000;

/// Writes about `target_bytes` of kernel messages in `form` (it stops after the record that
/// reaches the target, so the total is at most one record longer), deterministically from
/// `seed`. `out` need not be buffered: records are written in 64 KiB blocks.
pub fn kernel_corpus(
    target_bytes: u64,
    form: KernelForm,
    seed: u64,
    out: &mut impl Write,
) -> io::Result<CorpusStats> {
    let mut generator = Generator::new(form, seed);
    let mut block = Vec::with_capacity(BLOCK + 4096);
    let mut stats = CorpusStats::default();
    while stats.bytes < target_bytes {
        let before = block.len();
        generator.record(&mut block);
        stats.bytes += (block.len() - before) as u64;
        stats.records += 1;
        if block.len() >= BLOCK {
            out.write_all(&block)?;
            block.clear();
        }
    }
    out.write_all(&block)?;
    Ok(stats)
}

/// [`kernel_corpus`] into memory.
pub fn kernel_corpus_vec(target_bytes: u64, form: KernelForm, seed: u64) -> (Vec<u8>, CorpusStats) {
    let mut buf = Vec::with_capacity(usize::try_from(target_bytes).unwrap_or(0) + 4096);
    let stats =
        kernel_corpus(target_bytes, form, seed, &mut buf).expect("writing to a Vec does not fail");
    (buf, stats)
}

const BLOCK: usize = 64 * 1024;

/// Records per million that come from the problem templates ([`INTERESTING_CLASSES`]).
pub const INTERESTING_PER_MILLION: u64 = 10_000;
/// Records per million that are multi-line (`Mem-Info:`, `Call Trace:`; dmesg form only,
/// unclassified).
pub const MULTI_LINE_PER_MILLION: u64 = 2_000;
/// Ordinary templates, picked uniformly for the remaining records.
pub const ORDINARY_TEMPLATES: u64 = 28;
/// The classes of the problem templates, one each, picked uniformly.
pub const INTERESTING_CLASSES: [&str; 7] = [
    "oom_kill",
    "segfault",
    "io_error",
    "hung_task",
    "soft_lockup",
    "nic_link_down",
    "ext4_error",
];
/// The ordinary templates (by index) that the built-in catalogue classifies, and the class.
pub const ORDINARY_CLASSIFIED: [(u64, &str); 5] = [
    (5, "nic_link_up"),
    (6, "nic_link_up"),
    (9, "apparmor_denied"),
    (22, "pids_limit"),
    (27, "syn_flood"),
];

/// Share of records (0..1) the built-in catalogue classifies in a `form` corpus, from the
/// generator's rates: every problem record plus the classified ordinary templates' share of
/// the ordinary ones. (A rare non-UTF-8 byte can break a match; that is well below 0.1%.)
pub fn expected_classified_share(form: KernelForm) -> f64 {
    let multi = if form == KernelForm::Dmesg {
        MULTI_LINE_PER_MILLION
    } else {
        0
    };
    let ordinary = 1e6 - (INTERESTING_PER_MILLION + multi) as f64;
    let classified_ordinary = ORDINARY_CLASSIFIED.len() as f64 / ORDINARY_TEMPLATES as f64;
    (INTERESTING_PER_MILLION as f64 + ordinary * classified_ordinary) / 1e6
}

/// splitmix64: tiny, fast, statistically fine for test data, and the same everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`); Lemire's multiply-shift, bias irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_million` / 1 000 000.
    pub fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

struct Generator {
    form: KernelForm,
    rng: SplitMix64,
    /// µs since boot of the last record.
    uptime_us: i64,
    host: &'static str,
    /// Scratch for one record's message text.
    text: Vec<u8>,
    /// Continuation lines of the current record.
    cont: Vec<Vec<u8>>,
    /// Sequence number of the last kmsg record.
    seq: u64,
}

const HOSTS: &[&str] = &["web1", "db-primary", "ci-runner-07", "k8s-node-3"];

impl Generator {
    fn new(form: KernelForm, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let host = *rng.pick(HOSTS);
        Generator {
            form,
            rng,
            uptime_us: 0,
            host,
            text: Vec::with_capacity(512),
            cont: Vec::new(),
            seq: 0,
        }
    }

    /// Appends one whole record (with its terminating newline) to `out`.
    fn record(&mut self, out: &mut Vec<u8>) {
        // Time: mostly bursts a few µs apart, sometimes seconds of quiet.
        let step = if self.rng.chance(20_000) {
            self.rng.range(1_000_000, 30_000_000)
        } else if self.rng.chance(300_000) {
            self.rng.range(1_000, 900_000)
        } else {
            self.rng.range(1, 400)
        };
        self.uptime_us += step as i64;

        self.text.clear();
        self.cont.clear();
        let roll = self.rng.below(1_000_000);
        if roll < INTERESTING_PER_MILLION {
            self.interesting();
        } else if roll < INTERESTING_PER_MILLION + MULTI_LINE_PER_MILLION
            && self.form == KernelForm::Dmesg
        {
            self.multi_line();
        } else {
            self.ordinary();
        }
        // An occasional byte that is not UTF-8, as broken USB descriptors and odd task names give.
        if self.rng.chance(500) && self.text.len() > 8 {
            let at = self.rng.range(4, self.text.len() as u64 - 1) as usize;
            self.text[at] = *self.rng.pick(&[0xff, 0xfe, 0xc3, 0xe9, 0x80]);
        }

        match self.form {
            KernelForm::Dmesg => push_uptime(out, self.uptime_us),
            KernelForm::DmesgIso => {
                push_wall(out, BASE_WALL_US + self.uptime_us, b',');
                out.push(b' ');
            }
            KernelForm::KernLog => {
                // rsyslog's reception time trails the kernel's stamp by a little.
                let lag = self.rng.range(20, 3_000) as i64;
                push_wall(out, BASE_WALL_US + self.uptime_us + lag, b'.');
                out.push(b' ');
                out.extend_from_slice(self.host.as_bytes());
                out.extend_from_slice(b" kernel: ");
                push_uptime(out, self.uptime_us);
            }
            KernelForm::Kmsg => {
                // kern.info mostly; the level does not matter to the decoder's cost.
                let pri = *self.rng.pick(&[6, 6, 6, 5, 4, 3]);
                self.seq += 1;
                put!(out, "{pri},{},{},-;", self.seq, self.uptime_us);
                for &b in &self.text {
                    if !(0x20..0x7f).contains(&b) || b == b'\\' {
                        put!(out, "\\x{b:02x}");
                    } else {
                        out.push(b);
                    }
                }
                out.push(b'\n');
                return;
            }
        }
        out.extend_from_slice(&self.text);
        out.push(b'\n');
        for line in &self.cont {
            out.extend_from_slice(b"               ");
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }

    /// One of [`ORDINARY_TEMPLATES`] routine lines; the catalogue classifies the ones in
    /// [`ORDINARY_CLASSIFIED`].
    fn ordinary(&mut self) {
        let r = &mut self.rng;
        let t = &mut self.text;
        let disk = *r.pick(&["sda", "sdb", "nvme0n1", "vda", "xvda"]);
        let part = r.range(1, 3);
        let p = if disk.starts_with("nvme") { "p" } else { "" };
        let nic = *r.pick(&["eth0", "eth1", "enp3s0", "ens5"]);
        let n = r.below(ORDINARY_TEMPLATES);
        match n {
            0 => put!(
                t,
                "EXT4-fs ({disk}{p}{part}): mounted filesystem {} r/w with ordered data mode. Quota mode: none.",
                uuid(r)
            ),
            1 => put!(
                t,
                "EXT4-fs ({disk}{p}{part}): re-mounted {}. Quota mode: none.",
                uuid(r)
            ),
            2 => put!(
                t,
                "usb {}-{}: new high-speed USB device number {} using xhci_hcd",
                r.range(1, 4),
                r.range(1, 8),
                r.range(2, 40)
            ),
            3 => put!(
                t,
                "usb {}-{}.{}: New USB device found, idVendor={:04x}, idProduct={:04x}, bcdDevice={:2}.{:02}",
                r.range(1, 4),
                r.range(1, 8),
                r.range(1, 4),
                r.below(0x10000),
                r.below(0x10000),
                r.range(1, 40),
                r.below(100)
            ),
            4 => put!(
                t,
                "usb {}-{}: Product: {}",
                r.range(1, 4),
                r.range(1, 8),
                r.pick(&["USB Receiver", "DataTraveler 3.0", "USB2.0 Hub", "Integrated Camera"])
            ),
            5 => put!(
                t,
                "e1000e 0000:00:{:02x}.0 {nic}: NIC Link is Up {} Mbps Full Duplex, Flow Control: {}",
                r.range(0x19, 0x1f),
                r.pick(&[100, 1000, 10000]),
                r.pick(&["Rx/Tx", "None", "Rx"])
            ),
            6 => put!(
                t,
                "r8169 0000:{:02x}:00.0 {nic}: Link is Up - {} - flow control rx/tx",
                r.range(1, 6),
                r.pick(&["1Gbps/Full", "100Mbps/Full", "2.5Gbps/Full"])
            ),
            7 => put!(t, "IPv6: ADDRCONF(NETDEV_CHANGE): {nic}: link becomes ready"),
            8 => {
                let (a, b) = (r.below(256), r.below(256));
                put!(
                    t,
                    "[UFW BLOCK] IN={nic} OUT= MAC=52:54:00:{:02x}:{:02x}:01 SRC=10.0.{a}.{b} DST=10.0.{a}.255 LEN={} TOS=0x00 PREC=0x00 TTL=64 ID={} PROTO=UDP SPT={} DPT={} LEN={}",
                    r.below(256),
                    r.below(256),
                    r.range(40, 1500),
                    r.below(65536),
                    r.range(1024, 65535),
                    r.pick(&[137, 138, 1900, 5353, 57621]),
                    r.range(20, 1480)
                )
            }
            9 => put!(
                t,
                "audit: type=1400 audit({}.{:03}:{}): apparmor=\"DENIED\" operation=\"open\" profile=\"{}\" name=\"/proc/{}/mounts\" pid={} comm=\"{}\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0",
                1_795_367_440 + r.below(86_400),
                r.below(1000),
                r.range(100, 99_999),
                r.pick(&["snap.lxd.daemon", "cri-containerd.apparmor.d", "docker-default"]),
                r.range(1, 32768),
                r.range(1, 32768),
                r.pick(&["runc", "containerd-shim", "lxd", "node"])
            ),
            10 => put!(
                t,
                "sd {}:0:0:0: [{}] {} 512-byte logical blocks: ({} GB/{} GiB)",
                r.below(4),
                r.pick(&["sda", "sdb", "sdc"]),
                r.range(1_000_000, 4_000_000_000),
                r.range(1, 2000),
                r.range(1, 1863)
            ),
            11 => put!(
                t,
                "sd {}:0:0:0: [{}] {}",
                r.below(4),
                r.pick(&["sda", "sdb", "sdc"]),
                r.pick(&[
                    "Attached SCSI removable disk",
                    "Write cache: enabled, read cache: enabled, doesn't support DPO or FUA",
                    "Mode Sense: 43 00 00 00",
                ])
            ),
            12 => {
                let br = r.below(0x1_0000_0000);
                let veth = r.below(0x1000_0000);
                let state = *r.pick(&["blocking", "forwarding", "disabled"]);
                put!(
                    t,
                    "br-{br:08x}: port {}(veth{veth:07x}) entered {state} state",
                    r.range(1, 9)
                )
            }
            13 => put!(
                t,
                "device veth{:07x} {} promiscuous mode",
                r.below(0x1000_0000),
                r.pick(&["entered", "left"])
            ),
            14 => put!(
                t,
                "XFS (dm-{}): {}",
                r.below(4),
                r.pick(&[
                    "Mounting V5 Filesystem",
                    "Ending clean mount",
                    "Unmounting Filesystem",
                ])
            ),
            15 => put!(
                t,
                "nvme nvme{}: {}/0/0 default/read/poll queues",
                r.below(2),
                r.range(2, 64)
            ),
            16 => {
                let took = r.range(2501, 9000);
                put!(
                    t,
                    "perf: interrupt took too long ({took} > {}), lowering kernel.perf_event_max_sample_rate to {}",
                    took - r.range(1, 500),
                    r.range(20_000, 80_000)
                )
            }
            17 => put!(
                t,
                "ata{}.00: configured for UDMA/{}",
                r.range(1, 6),
                r.pick(&[33, 100, 133])
            ),
            18 => put!(
                t,
                "i915 0000:00:02.0: [drm] GuC firmware i915/tgl_guc_{}.bin version {}.{}.{}",
                r.range(60, 70),
                r.range(60, 70),
                r.below(10),
                r.below(10)
            ),
            19 => put!(
                t,
                "loop{}: detected capacity change from 0 to {}",
                r.below(40),
                r.range(8, 2_000_000)
            ),
            20 => put!(
                t,
                "systemd-journald[{}]: {}",
                r.range(200, 900),
                r.pick(&[
                    "Received client request to flush runtime journal.",
                    "Data hash table of /var/log/journal/system.journal has a fill level at 75.0, suggesting rotation.",
                    "/var/log/journal/system.journal: Journal header limits reached or header out-of-date, rotating.",
                ])
            ),
            21 => put!(
                t,
                "kvm: vcpu {}: requested {} ns lapic timer period limited to {} ns",
                r.below(64),
                r.range(1_000, 100_000),
                r.range(100_000, 200_000)
            ),
            22 => put!(
                t,
                "cgroup: fork rejected by pids controller in /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{:016x}{:016x}{:016x}{:016x}.scope",
                uuid(r).replace('-', "_"),
                r.next_u64(),
                r.next_u64(),
                r.next_u64(),
                r.next_u64()
            ),
            23 => put!(
                t,
                "nf_conntrack: default automatic helper assignment has been turned off for security reasons and CT-based firewall rule not found. Use the iptables CT target to attach helpers instead."
            ),
            24 => put!(
                t,
                "overlayfs: upperdir is in-use as upperdir/workdir of another mount, accessing files from both mounts will result in undefined behavior."
            ),
            25 => put!(
                t,
                "BTRFS info (device {disk}{p}{part}): first mount of filesystem {}",
                uuid(r)
            ),
            26 => put!(
                t,
                "IPVS: rr: {} 10.{}.{}.{}:{} - no destination available",
                r.pick(&["TCP", "UDP"]),
                r.range(96, 111),
                r.below(256),
                r.below(256),
                r.pick(&[53, 443, 8443, 9153])
            ),
            _ => put!(
                t,
                "TCP: request_sock_TCP: Possible SYN flooding on port {}. Sending cookies.  Check SNMP counters.",
                r.pick(&[80, 443, 8080, 5432])
            ),
        }
    }

    /// About 1% of lines: problems the catalogue classifies and rules alert on, one template
    /// per entry of [`INTERESTING_CLASSES`], in that order.
    fn interesting(&mut self) {
        let r = &mut self.rng;
        let t = &mut self.text;
        let comm = *r.pick(&["java", "postgres", "python3", "node", "mysqld", "chrome"]);
        let pid = r.range(300, 4_000_000);
        match r.below(INTERESTING_CLASSES.len() as u64) {
            0 => put!(
                t,
                "Out of memory: Killed process {pid} ({comm}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:0kB, UID:{} pgtables:{}kB oom_score_adj:{}",
                r.range(1_000_000, 64_000_000),
                r.range(500_000, 30_000_000),
                r.below(100_000),
                r.pick(&[0, 33, 999, 1000]),
                r.range(1_000, 120_000),
                r.pick(&[0, 0, 200, 900, 1000])
            ),
            1 => {
                let base = 0x7f00_0000_0000 + (r.below(0xff_ffff) << 12);
                put!(
                    t,
                    "{comm}[{pid}]: segfault at {:x} ip {:016x} sp {:016x} error {} in {}[{base:x}+{:x}] likely on CPU {} (core {}, socket 0)",
                    r.pick(&[0u64, 8, 0x10, 0x7ffd_0000_1000]),
                    base + r.below(0x19_5000),
                    0x7ffc_0000_0000 + r.below(0xffff_ffff),
                    r.pick(&[4, 6, 14, 15]),
                    r.pick(&[
                        "libc.so.6",
                        "libjvm.so",
                        "libstdc++.so.6.0.30",
                        "python3.11"
                    ]),
                    r.range(0x1000, 0x19_5000),
                    r.below(16),
                    r.below(8)
                )
            }
            2 => put!(
                t,
                "blk_update_request: I/O error, dev {}, sector {} op 0x{}:({}) flags 0x{:x} phys_seg {} prio class 0",
                r.pick(&["sda", "sdb", "nvme0n1", "loop0"]),
                r.below(4_000_000_000),
                r.below(2),
                r.pick(&["READ", "WRITE"]),
                r.pick(&[0x0, 0x800, 0x80700]),
                r.range(1, 32)
            ),
            3 => put!(
                t,
                "INFO: task {}:{pid} blocked for more than {} seconds.",
                r.pick(&["kworker/0:1", "jbd2/sda1-8", "postgres", "kworker/u16:3"]),
                r.pick(&[120, 122, 143, 245])
            ),
            4 => put!(
                t,
                "watchdog: BUG: soft lockup - CPU#{} stuck for {}s! [{comm}:{pid}]",
                r.below(16),
                r.range(22, 60)
            ),
            5 => put!(
                t,
                "e1000e 0000:00:{:02x}.0 {}: NIC Link is Down",
                r.range(0x19, 0x1f),
                r.pick(&["eth0", "eth1", "enp3s0", "ens5"])
            ),
            _ => put!(
                t,
                "EXT4-fs error (device {}): ext4_lookup:{}: inode #{}: comm {comm}: deleted inode referenced: {}",
                r.pick(&["sda1", "sdb1", "nvme0n1p2"]),
                r.range(1_700, 1_900),
                r.range(2, 9_000_000),
                r.range(2, 9_000_000)
            ),
        }
    }

    /// A message with embedded newlines: dmesg prints its later lines indented.
    fn multi_line(&mut self) {
        let r = &mut self.rng;
        let t = &mut self.text;
        if r.below(2) == 0 {
            put!(t, "Mem-Info:");
            let mut l = Vec::new();
            put!(
                l,
                "active_anon:{} inactive_anon:{} isolated_anon:0",
                r.below(4_000_000),
                r.below(4_000_000)
            );
            self.cont.push(l);
            let mut l = Vec::new();
            put!(
                l,
                "active_file:{} inactive_file:{} isolated_file:0",
                r.below(1_000_000),
                r.below(1_000_000)
            );
            self.cont.push(l);
            let mut l = Vec::new();
            put!(
                l,
                "free:{} free_pcp:{} free_cma:0",
                r.below(100_000),
                r.below(10_000)
            );
            self.cont.push(l);
        } else {
            put!(t, "Call Trace:");
            self.cont.push(b"<TASK>".to_vec());
            let frames = r.range(3, 8);
            for _ in 0..frames {
                let mut l = Vec::new();
                put!(
                    l,
                    "{}+0x{:x}/0x{:x}",
                    r.pick(&[
                        "__schedule",
                        "schedule",
                        "schedule_timeout",
                        "__wait_for_common",
                        "io_schedule",
                        "jbd2_log_wait_commit",
                        "ext4_sync_file",
                        "do_fsync",
                        "__x64_sys_fsync",
                        "do_syscall_64",
                    ]),
                    r.range(0x10, 0x800),
                    r.range(0x800, 0x1000)
                );
                self.cont.push(l);
            }
            self.cont.push(b"</TASK>".to_vec());
        }
    }
}

fn uuid(r: &mut SplitMix64) -> String {
    let a = r.next_u64();
    let b = r.next_u64();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// `[%5u.%06u]` then a space: the dmesg stamp, 15 bytes while uptime < 100000 s.
fn push_uptime(out: &mut Vec<u8>, us: i64) {
    let _ = write!(out, "[{:5}.{:06}] ", us / 1_000_000, us % 1_000_000);
}

/// `YYYY-MM-DDTHH:MM:SS<sep>ffffff+00:00`.
fn push_wall(out: &mut Vec<u8>, us: i64, sep: u8) {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{}{micros:06}+00:00",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        sep as char
    );
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_format() {
        let mut s = Vec::new();
        push_wall(&mut s, BASE_WALL_US + 242_860, b'.');
        assert_eq!(s, b"2026-11-22T17:10:40.242860+00:00");
        s.clear();
        push_wall(&mut s, 951_782_400_000_000, b','); // 2000-02-29
        assert_eq!(s, b"2000-02-29T00:00:00,000000+00:00");
        s.clear();
        push_uptime(&mut s, 12_345_678);
        assert_eq!(s, b"[   12.345678] ");
    }

    #[test]
    fn deterministic_and_sized() {
        for form in KernelForm::ALL {
            let (a, sa) = kernel_corpus_vec(200_000, form, 7);
            let (b, sb) = kernel_corpus_vec(200_000, form, 7);
            let (c, _) = kernel_corpus_vec(200_000, form, 8);
            assert_eq!(a, b);
            assert_eq!(sa, sb);
            assert_ne!(a, c);
            assert_eq!(sa.bytes, a.len() as u64);
            assert!(sa.bytes >= 200_000 && sa.bytes < 201_000, "{sa:?}");
        }
    }

    #[test]
    fn form_names_round_trip() {
        for form in KernelForm::ALL {
            assert_eq!(form.name().parse::<KernelForm>(), Ok(form));
        }
        assert!("nope".parse::<KernelForm>().is_err());
    }
}
