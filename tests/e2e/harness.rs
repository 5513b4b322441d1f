//! Helpers: locating the binary and the sample logs, running verbs, polling.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serversage"))
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A file under sample-logs/.
pub fn sample(rel: &str) -> PathBuf {
    repo().join("sample-logs").join(rel)
}

/// A file under ../shared/samples (public data read in place).
pub fn shared(rel: &str) -> PathBuf {
    repo()
        .parent()
        .unwrap()
        .join("shared")
        .join("samples")
        .join(rel)
}

/// Runs the binary with `args`; panics with its output if it fails.
pub fn ok(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("run serversage");
    assert!(
        out.status.success(),
        "serversage {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Lossy text of bytes.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `serversage sql --output csv` → rows of fields (header dropped).
pub fn sql(data: &Path, query: &str) -> Vec<Vec<String>> {
    let out = ok(&[
        "sql",
        "--data",
        data.to_str().unwrap(),
        "--output",
        "csv",
        query,
    ]);
    text(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// `serversage sql --output json`: one JSON object per row.
pub fn sql_rows(data: &Path, query: &str) -> Vec<serde_json::Value> {
    let out = ok(&[
        "sql",
        "--data",
        data.to_str().unwrap(),
        "--output",
        "json",
        query,
    ]);
    text(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The alert transitions of an `alerts.log`, one JSON object per complete line (a line
/// still being written is left for the next read); none while the file does not exist.
pub fn alert_transitions(log: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The `firing` transitions of `rule` in an `alerts.log`.
pub fn firings(log: &Path, rule: &str) -> Vec<serde_json::Value> {
    alert_transitions(log)
        .into_iter()
        .filter(|a| a["rule"] == rule && a["state"] == "firing")
        .collect()
}

/// Firing transitions expected of a tumbling one-minute rule that alerts on any event:
/// `rows` are (group values..., minute number); per group, a new firing at each minute
/// whose previous minute had none (an alert stays firing across consecutive minutes).
pub fn expected_firings(rows: &[Vec<String>]) -> usize {
    use std::collections::{BTreeMap, BTreeSet};
    let mut minutes: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for r in rows {
        let (group, minute) = (r[..r.len() - 1].join("|"), r[r.len() - 1].parse().unwrap());
        minutes.entry(group).or_default().insert(minute);
    }
    minutes
        .values()
        .map(|m| m.iter().filter(|t| !m.contains(&(**t - 1))).count())
        .sum()
}

/// The sum of every series of `family` in an OpenMetrics text (`family{...} v` and
/// `family v` lines).
pub fn series_sum(metrics: &str, family: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} ")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A single number from a one-cell query.
pub fn sql_num(data: &Path, query: &str) -> i64 {
    let rows = sql(data, query);
    rows[0][0]
        .parse()
        .unwrap_or_else(|_| panic!("{query} -> {rows:?}"))
}

/// Records of a dmesg text file, counted independently of the parser: lines that start a
/// record (not indented continuations, not blank).
pub fn dmesg_records(path: &Path) -> usize {
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l[0].is_ascii_whitespace())
        .count()
}

/// Lines of `path` containing `needle`.
pub fn grep_count(path: &Path, needle: &str) -> usize {
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| l.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .count()
}

/// Polls `f` until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// A `serversage run` child; killed (SIGKILL) on drop if still running.
pub struct Running {
    pub child: Child,
    pub metrics_url: String,
}

impl Running {
    /// Starts `serversage run --config CONFIG --listen 127.0.0.1:0` and waits for its address.
    pub fn start(config: &Path) -> Running {
        let mut child = bin()
            .args([
                "run",
                "--config",
                config.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn serversage run");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[serversage] {line}");
                if let Some(rest) = line.split("metrics on ").nth(1) {
                    let _ = tx.send(rest.trim().to_string());
                }
            }
        });
        let metrics_url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serversage run printed its metrics address");
        Running { child, metrics_url }
    }

    /// GET /metrics.
    pub fn metrics(&self) -> String {
        http_get(&self.metrics_url).unwrap_or_default()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = wait_for(Duration::from_secs(60), || self.child.try_wait().unwrap())
            .expect("exit after SIGTERM");
        assert!(status.success(), "serversage run exited with {status}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one series in an OpenMetrics text, e.g. `name{a="b"}`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|v| v.trim().split(' ').next()?.parse().ok())
    })
}

/// A plain HTTP/1.0 GET of a loopback URL; the body on status 200.
pub fn http_get(url: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}
