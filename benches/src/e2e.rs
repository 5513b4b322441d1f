//! Measurement helpers of the end-to-end bench binary: sizes, running a child while
//! recording its wall time and peak RSS, reading `serversage sql --output csv` output, and
//! the summary block.

use std::fmt;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// Parses a byte size: a number (decimals allowed) and an optional unit. `KB`/`MB`/`GB`/`TB`
/// are powers of 1000, `KiB`/`MiB`/`GiB`/`TiB` and the bare letters `K`/`M`/`G`/`T` powers
/// of 1024; `B` or no unit is bytes. Case-insensitive, spaces and `_` ignored.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (expected e.g. 100MB, 1GiB, 4096)"))?;
    let mult: u64 = match unit {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "unknown size unit `{unit}` in `{s}` (use B, KB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = (n * mult as f64).round();
    if !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(format!("size `{s}` is out of range"));
    }
    Ok(bytes as u64)
}

/// How a measured child ran.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Its exit status.
    pub status: ExitStatus,
    /// From spawn to exit.
    pub wall: Duration,
    /// Peak resident set size of the child, in bytes (`ru_maxrss`).
    pub peak_rss_bytes: u64,
}

/// Spawns `cmd`, waits for it with `wait4` and returns its wall time and peak RSS. The
/// child's stdio is whatever `cmd` says (inherited by default).
pub fn run_measured(cmd: &mut Command) -> io::Result<Measured> {
    let start = Instant::now();
    let child = cmd.spawn()?;
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own un-reaped child; the out-pointers are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let wall = start.elapsed();
    // The child is reaped: `Child` must not wait for it again (dropping it does not).
    drop(child);
    Ok(Measured {
        status: ExitStatus::from_raw(status),
        wall,
        // Linux reports ru_maxrss in KiB.
        peak_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}

/// The single number in `SELECT count(*) ...` output as CSV: an optional header line, then
/// the value (possibly quoted). `None` if the last non-empty line is not a number.
pub fn parse_count_csv(out: &str) -> Option<u64> {
    let last = out.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    last.trim_matches('"').parse().ok()
}

/// The summary block the bench prints.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Input format description, e.g. `kernel (dmesg)`.
    pub what: String,
    /// Input bytes.
    pub bytes: u64,
    /// Records the corpus holds.
    pub records: u64,
    /// Wall time of the import.
    pub wall: Duration,
    /// Peak RSS of the import process.
    pub peak_rss_bytes: u64,
    /// Rows `kernel_events` holds afterwards.
    pub stored_rows: u64,
}

impl Summary {
    /// Input MB/s (10^6 bytes).
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.wall.as_secs_f64()
    }

    /// Records per second.
    pub fn events_per_s(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64()
    }

    /// True when every generated record was stored, once.
    pub fn rows_match(&self) -> bool {
        self.stored_rows == self.records
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "serversage import: {}", self.what)?;
        writeln!(
            f,
            "  input MB      {:.1} ({} bytes)",
            self.bytes as f64 / 1e6,
            self.bytes
        )?;
        writeln!(f, "  records       {}", self.records)?;
        writeln!(f, "  seconds       {:.3}", self.wall.as_secs_f64())?;
        writeln!(f, "  MB/s          {:.1}", self.mb_per_s())?;
        writeln!(f, "  events/s      {:.0}", self.events_per_s())?;
        writeln!(f, "  peak RSS MB   {:.1}", self.peak_rss_bytes as f64 / 1e6)?;
        write!(
            f,
            "  stored rows   {} ({})",
            self.stored_rows,
            if self.rows_match() {
                "match"
            } else {
                "MISMATCH"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1gib"), Ok(1 << 30));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("1.5 GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("10_000B"), Ok(10_000));
        assert!(parse_size("").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("1PB").is_err());
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn count_csv() {
        assert_eq!(parse_count_csv("count(*)\n12345\n"), Some(12345));
        assert_eq!(parse_count_csv("\"count(*)\"\n\"7\"\n\n"), Some(7));
        assert_eq!(parse_count_csv("42"), Some(42));
        assert_eq!(parse_count_csv("count(*)\n"), None);
        assert_eq!(parse_count_csv(""), None);
    }

    #[test]
    fn measures_exit_status_and_time() {
        let m = run_measured(Command::new("sh").args(["-c", "sleep 0.2; exit 3"])).unwrap();
        assert_eq!(m.status.code(), Some(3));
        assert!(m.wall >= Duration::from_millis(200), "{:?}", m.wall);
        assert!(m.peak_rss_bytes > 0);
    }

    #[test]
    fn measures_the_childs_peak_rss() {
        // dd touches its whole 64 MiB block: its peak RSS is at least that.
        let m = run_measured(
            Command::new("dd")
                .args(["if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
                .stderr(std::process::Stdio::null()),
        )
        .unwrap();
        assert!(m.status.success());
        assert!(
            m.peak_rss_bytes >= 64 << 20,
            "peak RSS {}",
            m.peak_rss_bytes
        );
        assert!(m.peak_rss_bytes < 1 << 30, "peak RSS {}", m.peak_rss_bytes);
    }

    #[test]
    fn summary_block() {
        let s = Summary {
            what: "kernel (dmesg)".into(),
            bytes: 200_000_000,
            records: 1_000_000,
            wall: Duration::from_secs(2),
            peak_rss_bytes: 150_000_000,
            stored_rows: 1_000_000,
        };
        assert!((s.mb_per_s() - 100.0).abs() < 1e-9);
        assert!((s.events_per_s() - 500_000.0).abs() < 1e-9);
        let text = s.to_string();
        assert!(text.contains("MB/s          100.0"), "{text}");
        assert!(text.contains("peak RSS MB   150.0"), "{text}");
        assert!(text.ends_with("(match)"), "{text}");
        assert!(
            !Summary {
                stored_rows: 3,
                ..s
            }
            .rows_match()
        );
    }
}
