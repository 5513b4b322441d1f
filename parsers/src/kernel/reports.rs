//! Multi-line kernel reports (formats doc K7): the state a decoder keeps per source.
//!
//! Every record stays one row; this layer only changes *which* row is classified and what
//! facts it carries, so counts stay honest and nothing is lost:
//!
//! * **OOM**: `<comm> invoked oom-killer: …` opens a report (that row is `oom_invoked`);
//!   `memory: usage …kB, limit …kB` and `oom-kill:constraint=…,task_memcg=…,task=…,pid=…`
//!   add facts (those rows stay unclassified); the closing `… Killed process …` row is the
//!   one `oom_kill` event and carries the facts of the whole report.
//! * **Split hung-task line**: a task name with a newline splits `INFO: task <comm>` from
//!   `<rest>:<pid> blocked for more than …` (syzkaller report 1001); the two lines are joined
//!   and the second row is the `hung_task` event.
//! * **Crash reports** (oops, BUG, WARNING, lockups, stalls, hung task, panic): later lines
//!   add facts to the header row while it is still in the batch being built: the
//!   `CPU: n PID: n Comm: c Tainted: …` / `Not tainted` line gives `task_comm`, `task_pid`,
//!   `tainted`, `kernel_version`; a hung task's call trace gives `blocked_in` (the first
//!   frame that is not scheduler or locking plumbing); an `Oops: 0000 [#1] …` line right
//!   after a `BUG:` header is folded into it (fact `oops`) instead of counting twice.
//!
//! Reports are keyed by printk caller id (`T123`/`C2`) when the source has them, so lines of
//! other tasks may interleave; without caller ids all lines share one key. A report is
//! dropped after [`MAX_AGE`] records of its key or [`MAX_GAP_US`] of kernel time without a
//! record of its key. Facts cannot reach a row already handed out in an earlier batch.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use memchr::memmem;
use regex::bytes::Regex;

use super::catalogue::{Catalogue, Classified};
use super::columns::{FactList, Facts};

/// Records of one key after which an open report is abandoned.
pub const MAX_AGE: u32 = 2000;
/// Kernel-time gap (µs) after which an open report is abandoned.
pub const MAX_GAP_US: i64 = 10_000_000;
/// Caller keys tracked at once (oldest evicted).
const MAX_KEYS: usize = 256;

const CRASH_CLASSES: &[&str] = &[
    "oops",
    "kernel_bug",
    "memory_corruption",
    "warning",
    "lockdep",
    "soft_lockup",
    "hard_lockup",
    "rcu_stall",
    "hung_task",
    "kernel_panic",
    "workqueue_lockup",
];

static OOM_KILL_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^oom-kill:constraint=(?P<constraint>[^,]*),nodemask=(?P<nodemask>[^,]*),cpuset=(?P<cpuset>[^,]*),mems_allowed=(?P<mems_allowed>[^,]*)(?:,oom_memcg=(?P<oom_memcg>[^,]*)|,global_oom)?,task_memcg=(?P<task_memcg>[^,]*),task=(?P<task>.*),pid=(?P<task_pid>\d+),uid=(?P<task_uid>\d+)$",
    )
    .expect("valid")
});
static MEMCG_USAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^memory: usage (?P<memcg_usage_kb>\d+)kB, limit (?P<memcg_limit_kb>\d+)kB, failcnt (?P<memcg_failcnt>\d+)")
        .expect("valid")
});
static CPU_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:CPU: (?P<task_cpu>\d+) (?:UID: \d+ )?PID: (?P<task_pid>\d+) Comm: (?P<task_comm>.*?) )?(?:Not tainted|Tainted: (?P<tainted>[A-Z](?:[A-Z ]*[A-Z])?)) +(?P<kernel_version>\S+)",
    )
    .expect("valid")
});

/// Frames that say where a task waits, not why: skipped when naming `blocked_in`.
fn is_plumbing(f: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "__schedule",
        "schedule",
        "io_schedule",
        "__mutex_lock",
        "mutex_lock",
        "__down",
        "down_",
        "down",
        "rwsem_down",
        "__rwsem",
        "wait_for_completion",
        "__wait_for_common",
        "do_wait_for_common",
        "wait_for_common",
        "__flush_work",
        "flush_work",
        "__switch_to",
        "context_switch",
        "preempt_schedule",
        "_raw_spin",
        "__wait_on_bit",
        "out_of_line_wait_on_bit",
        "bit_wait",
        "wait_on_page_bit",
        "folio_wait",
        "__lock_",
        "lock_",
        "ret_from_fork",
        "kthread",
    ];
    PREFIXES.iter().any(|p| f.starts_with(p))
}

/// `  [<ffffffff81>] ? foo_bar+0x12/0x40 [mod]` → `foo_bar`.
fn frame_function(text: &[u8]) -> Option<&str> {
    let mut t = text.trim_ascii_start();
    if t.starts_with(b"[<") {
        let close = memchr::memchr(b']', t)?;
        t = t[close + 1..].trim_ascii_start();
    }
    if t.starts_with(b"? ") {
        return None; // unreliable frame: a stale address on the stack
    }
    let plus = memmem::find(t, b"+0x")?;
    let name = std::str::from_utf8(&t[..plus]).ok()?;
    (!name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
    .then_some(name)
}

struct OpenReport {
    class: Arc<str>,
    /// Row of the header in the pending batch (None once the batch was handed out).
    row: Option<usize>,
    age: u32,
    taint_done: bool,
    blocked_in_done: bool,
}

#[derive(Default)]
struct KeyState {
    key: Box<str>,
    last_use: u64,
    last_uptime: Option<i64>,
    oom: Option<(FactList, u32)>,
    open: Option<OpenReport>,
    hung_head: Option<Vec<u8>>,
}

/// Per-source report state.
#[derive(Default)]
pub(crate) struct Reports {
    keys: Vec<KeyState>,
    /// Position in `keys` by key: a stream with caller ids has up to [`MAX_KEYS`] of
    /// them, and every record looks its key up.
    index: HashMap<Box<str>, usize>,
    /// The key of the previous record: most records share their predecessor's (all of
    /// them in logs without caller ids), and a comparison is cheaper than a hash.
    last: Option<usize>,
    tick: u64,
}

fn key_name(k: &str) -> Arc<str> {
    Arc::from(k)
}

fn merge(into: &mut FactList, from: impl IntoIterator<Item = (Arc<str>, String)>) {
    for (k, v) in from {
        if !into.iter().any(|(x, _)| *x == k) {
            into.push((k, v));
        }
    }
}

fn captures_to_facts(re: &Regex, text: &[u8]) -> Option<FactList> {
    let caps = re.captures(text)?;
    Some(
        re.capture_names()
            .enumerate()
            .filter_map(|(i, n)| {
                let m = caps.get(i)?;
                Some((
                    key_name(n?),
                    String::from_utf8_lossy(m.as_bytes()).into_owned(),
                ))
            })
            .collect(),
    )
}

impl Reports {
    fn state(&mut self, caller: Option<&str>, uptime: Option<i64>) -> &mut KeyState {
        self.tick += 1;
        let key = caller.unwrap_or("");
        let cached = self.last.filter(|&i| {
            self.keys
                .get(i)
                .is_some_and(|k| k.key.len() == key.len() && &*k.key == key)
        });
        let i = match cached.or_else(|| self.index.get(key).copied()) {
            Some(i) => i,
            None => {
                if self.keys.len() >= MAX_KEYS {
                    let oldest = (0..self.keys.len())
                        .min_by_key(|&i| self.keys[i].last_use)
                        .unwrap_or(0);
                    let gone = self.keys.swap_remove(oldest);
                    self.index.remove(&gone.key);
                    if let Some(moved) = self.keys.get(oldest) {
                        self.index.insert(moved.key.clone(), oldest);
                    }
                }
                self.keys.push(KeyState {
                    key: key.into(),
                    ..Default::default()
                });
                self.index.insert(key.into(), self.keys.len() - 1);
                self.keys.len() - 1
            }
        };
        self.last = Some(i);
        let st = &mut self.keys[i];
        st.last_use = self.tick;
        let gap = matches!((st.last_uptime, uptime), (Some(a), Some(b)) if b - a > MAX_GAP_US);
        if let Some(u) = uptime {
            st.last_uptime = Some(u);
        }
        if let Some((_, age)) = &mut st.oom {
            *age += 1;
            if *age > MAX_AGE || gap {
                st.oom = None;
            }
        }
        if let Some(o) = &mut st.open {
            o.age += 1;
            if o.age > MAX_AGE || gap {
                st.open = None;
            }
        }
        st
    }

    /// Before the row is appended: may replace `cls`, and returns facts to add to an
    /// earlier row of the pending batch.
    pub fn before(
        &mut self,
        caller: Option<&str>,
        uptime: Option<i64>,
        text: &[u8],
        cls: &mut Option<Classified>,
        cat: &Catalogue,
    ) -> Option<(usize, FactList)> {
        let st = self.state(caller, uptime);

        // A hung-task line split by a newline in the task name.
        if let Some(head) = st.hung_head.take()
            && cls.is_none()
        {
            let mut joined = head;
            joined.push(b'\n');
            joined.extend_from_slice(text);
            if let Some(c) = cat.classify(&joined)
                && &*c.class == "hung_task"
            {
                *cls = Some(c);
            }
        }
        if cls.is_none() && text.starts_with(b"INFO: task ") && text.len() < 512 {
            st.hung_head = Some(text.to_vec());
        }

        // OOM report.
        match cls.as_ref().map(|c| &*c.class) {
            Some("oom_invoked") => {
                let c = cls.as_ref().expect("matched");
                let facts = c
                    .facts
                    .iter()
                    .map(|(k, v)| {
                        let k = match &**k {
                            "oom_score_adj" => key_name("invoker_oom_score_adj"),
                            "nodemask" => key_name("invoker_nodemask"),
                            _ => k.clone(),
                        };
                        (k, v.clone())
                    })
                    .collect();
                st.oom = Some((facts, 0));
            }
            Some("oom_kill") => {
                if let Some((facts, _)) = st.oom.take() {
                    merge(&mut cls.as_mut().expect("matched").facts, facts);
                }
            }
            None if text.starts_with(b"oom-kill:") => {
                if let Some(f) = captures_to_facts(&OOM_KILL_LINE, text) {
                    let (facts, _) = st.oom.get_or_insert_with(|| (Vec::new(), 0));
                    merge(facts, f);
                }
            }
            None if st.oom.is_some() && text.starts_with(b"memory: usage ") => {
                if let Some(f) = captures_to_facts(&MEMCG_USAGE, text) {
                    merge(&mut st.oom.as_mut().expect("open").0, f);
                }
            }
            _ => {}
        }

        // Crash reports: facts for the header row.
        let open = st.open.as_mut()?;
        if cls.is_some() {
            let is_oops_line = text.starts_with(b"Oops: ");
            if is_oops_line && open.age <= 20 && CRASH_CLASSES.contains(&&*open.class) {
                let line = String::from_utf8_lossy(text).into_owned();
                *cls = None;
                return open.row.map(|r| (r, vec![(key_name("oops"), line)]));
            }
            return None;
        }
        if text.starts_with(b"---[ end trace") {
            st.open = None;
            return None;
        }
        let row = open.row?;
        if !open.taint_done
            && memmem::find(text, b"ainted").is_some()
            && let Some(mut f) = captures_to_facts(&CPU_LINE, text)
        {
            open.taint_done = true;
            // Taint flags without the padding (`G             L` → `GL`); "" = not tainted.
            for (k, v) in &mut f {
                if &**k == "tainted" {
                    *v = v.split_whitespace().collect();
                }
            }
            if !f.iter().any(|(k, _)| &**k == "tainted") {
                f.push((key_name("tainted"), String::new()));
            }
            return Some((row, f));
        }
        if &*open.class == "hung_task"
            && !open.blocked_in_done
            && let Some(func) = frame_function(text)
            && !is_plumbing(func)
        {
            open.blocked_in_done = true;
            return Some((row, vec![(key_name("blocked_in"), func.to_string())]));
        }
        None
    }

    /// After the row is appended at `row`.
    pub fn after(&mut self, caller: Option<&str>, cls: Option<&Classified>, row: usize) {
        let Some(c) = cls else { return };
        if !CRASH_CLASSES.contains(&&*c.class) {
            return;
        }
        let key = caller.unwrap_or("");
        if let Some(st) = self.index.get(key).map(|&i| &mut self.keys[i]) {
            st.open = Some(OpenReport {
                class: c.class.clone(),
                row: Some(row),
                age: 0,
                taint_done: false,
                blocked_in_done: false,
            });
        }
    }

    /// The pending batch was handed out: row indexes no longer point anywhere.
    pub fn batch_finished(&mut self) {
        for k in &mut self.keys {
            if let Some(o) = &mut k.open {
                o.row = None;
            }
        }
    }
}

/// Adds `facts` to staged row `row` (a classified row always has `Some` facts).
pub(crate) fn add_facts(staged: &mut [Facts], row: usize, facts: FactList) {
    if let Some(Some(existing)) = staged.get_mut(row) {
        merge(existing, facts);
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn keys_are_found_again_and_the_oldest_is_evicted() {
        let mut r = Reports::default();
        for i in 0..MAX_KEYS + 10 {
            r.state(Some(&format!("T{i}")), Some(i as i64)).hung_head = Some(vec![1]);
            // The first key stays in use, so it is never the oldest.
            r.state(Some("T0"), None);
        }
        assert_eq!(r.keys.len(), MAX_KEYS);
        assert_eq!(r.index.len(), MAX_KEYS);
        for (k, &i) in &r.index {
            assert_eq!(&r.keys[i].key, k, "index points at its key");
        }
        assert!(r.index.contains_key("T0"));
        assert!(
            !r.index.contains_key("T1"),
            "the least recently used went first"
        );
        assert!(r.state(Some("T0"), None).hung_head.is_some());
    }
}
