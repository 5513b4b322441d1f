//! The catalogue of kernel events worth paging on: one table, data not code, so adding a
//! class is one line. Matching is by literal needles on the message text (memchr's SIMD
//! substring search), first class wins, so more specific classes come first.

use std::sync::LazyLock;

use memchr::memmem::Finder;

/// One class of kernel event.
#[derive(Debug, Clone, Copy)]
pub struct Class {
    /// Stable name, stored in `class` and used as a metric label.
    pub name: &'static str,
    /// Default severity: critical (page), high (ticket now), medium (trend), low (info).
    pub severity: &'static str,
    /// Any of these substrings selects the class.
    pub needles: &'static [&'static str],
}

/// The built-in catalogue, most specific first.
pub const CLASSES: &[Class] = &[
    Class {
        name: "oom_kill",
        severity: "critical",
        needles: &[
            "out of memory: Killed process",
            "Out of memory: Killed process",
            "Out of memory: Kill process",
        ],
    },
    Class {
        name: "kernel_panic",
        severity: "critical",
        needles: &["Kernel panic - not syncing"],
    },
    Class {
        name: "soft_lockup",
        severity: "critical",
        needles: &["BUG: soft lockup", "BUG: hard lockup"],
    },
    Class {
        name: "oops",
        severity: "critical",
        needles: &[
            "BUG: unable to handle",
            "BUG: kernel NULL pointer dereference",
            "general protection fault",
            "kernel BUG at ",
        ],
    },
    Class {
        name: "hung_task",
        severity: "high",
        needles: &[" blocked for more than "],
    },
    Class {
        name: "rcu_stall",
        severity: "high",
        needles: &[
            "detected stall on CPU",
            "detected stalls on CPU",
            "self-detected stall on CPU",
        ],
    },
    Class {
        name: "io_error",
        severity: "high",
        needles: &["I/O error, dev ", "critical medium error, dev "],
    },
    Class {
        name: "fs_error",
        severity: "high",
        needles: &[
            "EXT4-fs error",
            "Remounting filesystem read-only",
            "XFS: Corruption",
            "BTRFS error",
        ],
    },
    Class {
        name: "netdev_watchdog",
        severity: "high",
        needles: &["NETDEV WATCHDOG"],
    },
    Class {
        name: "conntrack_full",
        severity: "high",
        needles: &["nf_conntrack: table full"],
    },
    Class {
        name: "hardware_error",
        severity: "critical",
        needles: &["[Hardware Error]", "EDAC MC"],
    },
    Class {
        name: "warning",
        severity: "medium",
        needles: &["WARNING: CPU: "],
    },
    Class {
        name: "segfault",
        severity: "medium",
        needles: &["]: segfault at "],
    },
    Class {
        name: "link_down",
        severity: "medium",
        needles: &["Link is Down", "NIC Link is Down"],
    },
    Class {
        name: "boot",
        severity: "low",
        needles: &["Linux version "],
    },
];

static FINDERS: LazyLock<Vec<(usize, Finder<'static>)>> = LazyLock::new(|| {
    CLASSES
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.needles
                .iter()
                .map(move |n| (i, Finder::new(n.as_bytes())))
        })
        .collect()
});

/// The first class whose needle occurs in `text`.
pub fn classify(text: &[u8]) -> Option<&'static Class> {
    FINDERS
        .iter()
        .find(|(_, f)| f.find(text).is_some())
        .map(|(i, _)| &CLASSES[*i])
}
