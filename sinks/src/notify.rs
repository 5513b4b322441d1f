//! Notifiers: where alert transitions go besides the `alerts` table.
//!
//! A [`Notifier`] receives every transition (pending, firing, resolved) in order; it decides
//! itself which states it delivers. The first one is the log notifier: a JSON line per
//! transition in a file (and in the process log), which is what an operator tails and what
//! later notifiers (email, SMS, webhooks, Alertmanager) are checked against.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serversage_rules::AlertEvent;

/// Something that delivers alert transitions.
pub trait Notifier: Send {
    /// Short name, used as the `notifier` label of the error metric.
    fn name(&self) -> &'static str;
    /// Delivers the transitions, in order.
    fn notify(&mut self, events: &[AlertEvent]) -> std::io::Result<()>;
}

/// Writes each transition as one JSON line to a file and to the process log.
pub struct LogNotifier {
    path: PathBuf,
    out: BufWriter<File>,
}

impl LogNotifier {
    /// Appends to `path`, creating it and its parent directory.
    pub fn open(path: &Path) -> std::io::Result<LogNotifier> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(LogNotifier {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The JSON object written for one transition.
pub fn alert_json(e: &AlertEvent) -> serde_json::Value {
    let labels: serde_json::Map<String, serde_json::Value> = e
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let ts = |us: i64| chrono::DateTime::from_timestamp_micros(us).map(|t| t.to_rfc3339());
    serde_json::json!({
        "ts": ts(e.ts_us),
        "rule": e.rule,
        "state": e.state.as_str(),
        "severity": e.severity,
        "labels": labels,
        "value": e.value,
        "threshold": e.threshold,
        "window_start": ts(e.window_start_us),
        "window_end": ts(e.window_end_us),
        "active_since": e.active_since_us.and_then(ts),
        "summary": e.summary,
    })
}

impl Notifier for LogNotifier {
    fn name(&self) -> &'static str {
        "log"
    }

    fn notify(&mut self, events: &[AlertEvent]) -> std::io::Result<()> {
        for e in events {
            let line = alert_json(e);
            tracing::warn!(target: "serversage::alert", rule = %e.rule, state = e.state.as_str(), "{}", e.summary);
            serde_json::to_writer(&mut self.out, &line)?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }
}
